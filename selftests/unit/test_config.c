// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmpd's configuration (userspace/csmpd/conf/): one option table behind
 * the command line and the config file. Every option is set once on the
 * command line and once in the file and must come out the same; every
 * ranged option refuses the value past each end in both places with the
 * same words; bad files are refused with FILE:LINE; the defaults are the
 * same with and without a file; the shipped example and the README name
 * every option with the table's default; an allow file's long comment is
 * a comment; no error path leaks (LeakSanitizer); reloads read root-only
 * files after a privilege drop through the config reader; the policy
 * publication frees old snapshots only after every reader moved on.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sanitizer/lsan_interface.h>

#include "kselftest_harness.h"
#include "csmpd.h"
#include "conf/config.h"
#include "version.h"

#define MAXARGS 16

static char *write_file(const char *dir, const char *text)
{
	static char paths[4][256];
	static unsigned int next;
	char *path = paths[next++ % 4];
	int fd;

	snprintf(path, 256, "%s/csmp-test-conf-XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return NULL;
	}
	close(fd);
	return path;
}

static const char *top_file(const char *name)
{
	static char p[2][512];
	static unsigned int next;
	const char *top = getenv("CSMP_TOP");
	char *out = p[next++ % 2];

	snprintf(out, 512, "%s/%s", top ? top : ".", name);
	return out;
}

/*
 * csmpd_conf_init over "csmpd" + the NULL-terminated words; stderr goes
 * to errbuf (what csmpd would print). Returns its result.
 */
static int conf_argv(struct csmpd_config *c, char *errbuf, size_t errlen,
		     bool *done, const char *const *words)
{
	char *argv[MAXARGS + 2];
	char tmpl[] = "/tmp/csmp-test-err-XXXXXX";
	int argc = 0, saved, saved_out, fd, ret;
	ssize_t n;

	argv[argc++] = "csmpd";
	while (*words && argc <= MAXARGS)
		argv[argc++] = (char *)*words++;
	argv[argc] = NULL;
	fd = mkstemp(tmpl);
	unlink(tmpl);
	fflush(stdout);
	fflush(stderr);
	saved = dup(2);
	saved_out = dup(1);
	dup2(fd, 2);
	dup2(fd, 1);
	ret = csmpd_conf_init(c, argc, argv, done);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, 2);
	dup2(saved_out, 1);
	close(saved);
	close(saved_out);
	n = pread(fd, errbuf, errlen - 1, 0);
	errbuf[n > 0 ? n : 0] = 0;
	close(fd);
	return ret;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Every option's value, one "name=value" line each. */
static void render_all(const struct csmpd_config *c, char *out, size_t len)
{
	struct csmpd_conf_option o;
	size_t i, n = 0;
	char v[4096];

	out[0] = 0;
	for (i = 0; i < csmpd_conf_n_options() && n < len; i++) {
		csmpd_conf_option(i, &o);
		if (csmpd_conf_value(c, i, v, sizeof(v)))
			snprintf(v, sizeof(v), "?");
		n += (size_t)snprintf(out + n, len - n, "%s=%s\n", o.name, v);
	}
}

/* ---- defaults ------------------------------------------------------------ */

/* Defect 6: the registry, control socket, device keys (and every other
 * option) default the same with and without --config. */
TEST(defaults_are_the_same_with_and_without_a_file)
{
	static char none[8192], empty[8192], example[8192];
	struct csmpd_config c;
	char err[1024];
	const char *emptyf = write_file(NULL, "[csmpd]\n[policy]\n");
	bool done;

	ASSERT_NE(NULL, emptyf);
	ASSERT_EQ(0, conf_argv(&c, err, sizeof(err), &done, ARGS("--unsigned"))) {
		TH_LOG("%s", err);
	}
	render_all(&c, none, sizeof(none));
	EXPECT_EQ(NULL, c.db_path);
	EXPECT_EQ(NULL, c.control_path);
	EXPECT_EQ(NULL, c.device_keys);
	EXPECT_EQ(NULL, c.nms_key_path);
	csmpd_config_free(&c);

	ASSERT_EQ(0, conf_argv(&c, err, sizeof(err), &done,
			       ARGS("--config", emptyf, "--unsigned"))) {
		TH_LOG("%s", err);
	}
	render_all(&c, empty, sizeof(empty));
	EXPECT_STREQ(emptyf, c.config_path);
	csmpd_config_free(&c);

	/* The shipped example has every option commented out. */
	ASSERT_EQ(0, conf_argv(&c, err, sizeof(err), &done,
			       ARGS("--config", top_file("csmpd.conf.example"),
				    "--unsigned"))) {
		TH_LOG("%s", err);
	}
	render_all(&c, example, sizeof(example));
	EXPECT_EQ((unsigned int)CSMPD_DB_SYNC_FULL, c.db_sync);
	EXPECT_TRUE(c.ack_after_commit);
	EXPECT_EQ(2u, c.n_listen);
	EXPECT_STREQ("[::]:61628", c.listen[0].text);
	EXPECT_EQ(900u, c.report_interval);
	EXPECT_EQ(1u, c.backend_id);
	EXPECT_FALSE(c.policy->allowlist);
	EXPECT_EQ(30u, c.policy->sig_skew);
	csmpd_config_free(&c);

	EXPECT_STREQ(none, empty);
	EXPECT_STREQ(none, example);
	unlink(emptyf);
}

/* Every option of the example, uncommented, is accepted as written. */
TEST(shipped_example_uncommented_parses)
{
	const char *allow = write_file(NULL, "0A0027FFFE3B2AB3\n");
	static char text[1 << 16];
	char line[512], path[256], err[1024];
	struct csmpd_config c;
	size_t len = 0;
	bool done;
	FILE *f;

	snprintf(path, sizeof(path), "%s", allow);
	f = fopen(top_file("csmpd.conf.example"), "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		const char *l = line;

		if (line[0] == '#' && (line[1] == '[' ||
				       (line[1] >= 'a' && line[1] <= 'z')))
			l = line + 1;
		if (!strncmp(l, "allow-file", 10)) {
			snprintf(line, sizeof(line), "allow-file = %s\n", path);
			l = line;
		}
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s", l);
	}
	fclose(f);
	allow = write_file(NULL, text);
	ASSERT_EQ(0, conf_argv(&c, err, sizeof(err), &done, ARGS("--config", allow))) {
		TH_LOG("%s", err);
	}
	EXPECT_EQ(2u, c.workers);
	EXPECT_STREQ("127.0.0.1:9628", c.metrics_addr);
	EXPECT_EQ(3u, c.policy->n_allow);
	ASSERT_EQ(1u, c.policy->n_groups);
	EXPECT_STREQ("meters", c.policy->groups[0].name);
	EXPECT_EQ(17u, c.policy->groups[0].config_group);
	EXPECT_EQ((unsigned int)CSMP_SIGPOL_REQUIRED, c.policy->groups[0].uplink_sig);
	csmpd_config_free(&c);
	unlink(allow);
	unlink(path);
}

/* The packaged service names what a bare csmpd does not have. */
TEST(service_config_names_registry_control_socket_and_key)
{
	struct csmpd_config c;
	char err[1024];
	bool done;

	ASSERT_EQ(0, conf_argv(&c, err, sizeof(err), &done,
			       ARGS("--config", top_file("dist/csmpd.conf")))) {
		TH_LOG("%s", err);
	}
	EXPECT_STREQ("/var/lib/csmpd/registry.db", c.db_path);
	EXPECT_STREQ("/run/csmpd/control.sock", c.control_path);
	EXPECT_STREQ("/etc/csmpd/nms-key.pem", c.nms_key_path);
	EXPECT_STREQ("/etc/csmpd/device-keys", c.device_keys);
	csmpd_config_free(&c);
}

/* ---- every option in both places ------------------------------------------ */

/* A value for option o that is not its default, as it would be written. */
static void sample_value(const struct csmpd_conf_option *o, const char *allow,
			 char *v, size_t len)
{
	static const struct { const char *name, *value; } fixed[] = {
		{ "listen", "[::1]:7001 127.0.0.1:7002" },
		{ "backend-id", "00a1" },
		{ "reply-ports", "40000-40009" },
		{ "node-addr", "2001:db8::a1" },
		{ "metrics", "127.0.0.1:9628" },
		{ "report-tlvs", "22,23" },
		{ "allow", "0A0027FFFE3B2AB2,0007810800E76FDA" },
		{ "uring-buffers", "1024" },
	};
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcmp(o->name, fixed[i].name)) {
			snprintf(v, len, "%s", fixed[i].value);
			return;
		}
	if (o->is_file)
		snprintf(v, len, "%s", allow);
	else if (o->boolean)
		snprintf(v, len, "%s", o->def && !strcmp(o->def, "true") ?
				       "false" : "true");
	else if (o->enumerated) {	/* the first name not the default */
		const char *e = o->arg;
		size_t n = strcspn(e, "|");

		if (o->def && strlen(o->def) == n && !strncmp(e, o->def, n)) {
			e += n + 1;
			n = strcspn(e, "|");
		}
		snprintf(v, len, "%.*s", (int)n, e);
	}
	else if (o->ranged)
		snprintf(v, len, "%lu", o->def && strtoul(o->def, NULL, 10) == o->max ?
				   o->min : o->max);
	else
		snprintf(v, len, "/tmp/csmp-test-%s", o->name);
}

TEST(every_option_is_settable_on_the_command_line_and_in_the_file)
{
	char allow[256];
	struct csmpd_config def, a, f;
	size_t i, n = csmpd_conf_n_options();
	char err[1024];
	bool done;

	snprintf(allow, sizeof(allow), "%s",
		 write_file(NULL, "# two\n0A0027FFFE3B2AB2\n0A0027FFFE3B2AB3\n"));
	ASSERT_EQ(0, conf_argv(&def, err, sizeof(err), &done, ARGS("--unsigned")));
	for (i = 0; i < n; i++) {
		struct csmpd_conf_option o;
		char v[256], flag[300], text[512], dv[4096], av[4096], fv[4096];
		const char *file;
		int ra, rf;

		csmpd_conf_option(i, &o);
		sample_value(&o, allow, v, sizeof(v));
		snprintf(flag, sizeof(flag), "--%s=%s", o.name, v);
		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", o.section,
			 o.name, v);
		file = write_file(NULL, text);
		ASSERT_NE(NULL, file);
		/* unsigned given too, for the options that need a key. */
		ra = conf_argv(&a, err, sizeof(err), &done,
			       ARGS(flag, "--unsigned", "--db", "/tmp/x.db"));
		EXPECT_EQ(0, ra) {
			TH_LOG("%s: %s", flag, err);
		}
		rf = conf_argv(&f, err, sizeof(err), &done,
			       ARGS("--config", file, "--unsigned", "--db", "/tmp/x.db"));
		EXPECT_EQ(0, rf) {
			TH_LOG("%s", text);
			TH_LOG("%s", err);
		}
		unlink(file);
		if (ra || rf) {
			if (!ra)
				csmpd_config_free(&a);
			if (!rf)
				csmpd_config_free(&f);
			continue;
		}
		csmpd_conf_value(&def, i, dv, sizeof(dv));
		csmpd_conf_value(&a, i, av, sizeof(av));
		csmpd_conf_value(&f, i, fv, sizeof(fv));
		EXPECT_STREQ(av, fv) {
			TH_LOG("%s: command line '%s', file '%s'", o.name, av, fv);
		}
		if (strcmp(o.name, "unsigned"))	/* given on both sides */
			EXPECT_STRNE(dv, av) {
				TH_LOG("%s: '%s' did not change the default '%s'",
				       o.name, v, dv);
			}
		csmpd_config_free(&a);
		csmpd_config_free(&f);
	}
	csmpd_config_free(&def);
	unlink(allow);
}

/* The same bounds, refused with the same words, in both places. */
TEST(ranges_are_identical_on_the_command_line_and_in_the_file)
{
	size_t i, n = csmpd_conf_n_options(), checked = 0;

	for (i = 0; i < n; i++) {
		struct csmpd_conf_option o;
		unsigned long bad[2];
		unsigned int k;

		csmpd_conf_option(i, &o);
		if (!o.ranged || !strcmp(o.name, "reply-ports") ||
		    !strcmp(o.name, "report-tlvs"))
			continue;
		bad[0] = o.max + 1;
		bad[1] = o.min - 1;
		for (k = 0; k < (o.min ? 2u : 1u); k++) {
			char flag[128], text[256], ea[1024], ef[1024], ok[128];
			const char *file, *wa, *wf;
			struct csmpd_config c;
			bool done;

			snprintf(flag, sizeof(flag), "--%s=%lu", o.name, bad[k]);
			snprintf(text, sizeof(text), "[%s]\n%s = %lu\n",
				 o.section, o.name, bad[k]);
			file = write_file(NULL, text);
			EXPECT_EQ(-EINVAL, conf_argv(&c, ea, sizeof(ea), &done,
						     ARGS(flag, "--unsigned")));
			EXPECT_EQ(-EINVAL, conf_argv(&c, ef, sizeof(ef), &done,
						     ARGS("--config", file, "--unsigned")));
			unlink(file);
			/* "csmpd: --N: why" and "%CSMP-2-CONFIG: F:2: N: why" */
			wa = strstr(ea, ": '");
			wf = strstr(ef, ": '");
			ASSERT_NE(NULL, wa) {
				TH_LOG("%s", ea);
			}
			ASSERT_NE(NULL, wf) {
				TH_LOG("%s", ef);
			}
			EXPECT_STREQ(wa, wf);
			snprintf(ok, sizeof(ok), "%s:2: %s: '", file, o.name);
			EXPECT_NE(NULL, strstr(ef, ok)) {
				TH_LOG("%s", ef);
			}
			checked++;
		}
	}
	EXPECT_LE(15u, checked);
}

/* ---- documentation ---------------------------------------------------------- */

static char *slurp(const char *path)
{
	static char buf[1 << 18];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* The example shows every option in its section, with the table's
 * default; the README's flag table and --help name every option. */
TEST(example_readme_and_help_name_every_option)
{
	char *ex = slurp(top_file("csmpd.conf.example")), *help = NULL;
	size_t i, hl = 0;
	FILE *hf;

	ASSERT_NE(NULL, ex);
	ex = strdup(ex);
	hf = open_memstream(&help, &hl);
	csmpd_conf_usage(hf);
	fclose(hf);
	for (i = 0; i < csmpd_conf_n_options(); i++) {
		struct csmpd_conf_option o;
		char want[256], sect[32], flag[64], *at, *next;

		csmpd_conf_option(i, &o);
		snprintf(sect, sizeof(sect), "\n[%s]\n", o.section);
		at = strstr(ex, sect);
		ASSERT_NE(NULL, at);
		next = strstr(at + 1, "\n[");
		if (o.def)
			snprintf(want, sizeof(want), "\n#%s = %s\n", o.name, o.def);
		else
			snprintf(want, sizeof(want), "\n#%s = ", o.name);
		at = strstr(at, want);
		EXPECT_TRUE(at && (!next || at < next)) {
			TH_LOG("csmpd.conf.example: no '%s' in [%s]", want + 1,
			       o.section);
		}
		snprintf(flag, sizeof(flag), "`--%s", o.name);
		EXPECT_NE(NULL, strstr(slurp(top_file("README.md")), flag)) {
			TH_LOG("README.md: no %s", flag);
		}
		EXPECT_NE(NULL, strstr(help, flag + 1));
	}
	free(help);
	free(ex);
}

/* ---- errors ------------------------------------------------------------------- */

struct bad {
	const char *text;
	unsigned int line;
	const char *msg;
};

static const struct bad bads[] = {
	{ "[csmpd]\nworkers = 0\n", 2, "workers: '0' is not a number in 1..256" },
	{ "[csmpd]\n\nworkers = many\n", 3, "not a number" },
	{ "[csmpd]\nio = epoll\n", 2, "io: 'epoll' is not auto, uring or mmsg" },
	{ "[csmpd]\nbogus = 1\n", 2, "unknown option 'bogus' in [csmpd]" },
	{ "[csmpd]\ndevices = open\n", 2, "'devices' belongs in [policy], not [csmpd]" },
	{ "[csmpd]\nlisten = 61628\n", 2, "not ADDR:PORT" },
	{ "[csmpd]\nmetrics = nowhere\n", 2, "metrics: 'nowhere' is not ADDR:PORT" },
	{ "[csmpd]\ndb-sync = sometimes\n", 2, "not normal or full" },
	{ "[csmpd]\nack-after-commit = later\n", 2,
	  "ack-after-commit: 'later' is not true or false" },
	{ "[csmpd]\nbackend-id = 10000\n", 2, "'10000' is not 1 to 4 hex digits" },
	{ "[csmpd]\nuring-buffers = 100\n", 2, "not a power of 2" },
	{ "[csmpd]\nreply-ports = 41000-40000\n", 2, "reply-ports: '41000-40000' is not LO-HI" },
	{ "[csmpd]\nreport-tlvs = 22,x\n", 2, "report-tlvs: 'x' is not a TLV id" },
	{ "[csmpd]\ndb =\n", 2, "db: empty value" },
	{ "workers = 2\n", 1, "outside a section" },
	{ "[nope]\nx = 1\n", 1, "unknown section [nope]" },
	{ "[csmpd\n", 1, "without ']'" },
	{ "[csmpd]\nworkers = 2\n  [policy\n", 3, "without ']'" },
	{ "[csmpd]\nworkers\n", 2, "expected 'key = value'" },
	{ "[csmpd]\nworkers = 1 # a comment\nio = mmsg\nnope\n", 4, "expected 'key = value'" },
	{ "[policy]\ndevices = closed\n", 2, "not open or allowlist" },
	{ "[policy]\nallow = 0A0027FFFE3B2AB2 12345\n", 2, "'12345' is not an EID" },
	{ "[policy]\nuplink-signature = maybe\n", 2, "not off, optional or required" },
	{ "[group a]\nmembers = 00*\n[group a]\nmembers = 01*\n", 3, "defined twice" },
	{ "[group bad name!]\nmembers = 00*\n", 1, "use letters" },
	{ "[group g]\nmembers = 0007810G*\n", 2, "not an EID" },
	{ "[group g]\nconfig-group = 0\n", 2, "config-group: '0' is not a number in 1..4294967295" },
	{ "[group g]\ncolour = red\n", 2, "unknown option 'colour' in [group g]" },
	{ "[policy]\nallow-file = /nonexistent/csmp\n", 2, "cannot read /nonexistent/csmp" },
	{ "[policy]\nallow-file = /tmp\n", 2, "cannot read /tmp: not a regular file" },
	{ "[csmpd]\nuser = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  2, "line longer than 198 characters" },
};

TEST(bad_files_are_refused_with_file_and_line)
{
	unsigned int i;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const char *path = write_file(NULL, bads[i].text);
		struct csmpd_config c;
		char err[1024], want[300];
		bool done;

		ASSERT_NE(NULL, path);
		EXPECT_EQ(-EINVAL, conf_argv(&c, err, sizeof(err), &done,
					     ARGS("--config", path, "--unsigned")));
		snprintf(want, sizeof(want), "%%CSMP-2-CONFIG: %s:%u: ", path,
			 bads[i].line);
		EXPECT_EQ(0, strncmp(err, want, strlen(want))) {
			TH_LOG("case %u: got '%s', want prefix '%s'", i, err,
			       want);
		}
		EXPECT_NE(NULL, strstr(err, bads[i].msg)) {
			TH_LOG("case %u: got '%s', want '%s'", i, err,
			       bads[i].msg);
		}
		/* --check-config says the same and exits 2 (-EINVAL). */
		EXPECT_EQ(-EINVAL, conf_argv(&c, err, sizeof(err), &done,
					     ARGS("--check-config", path, "--unsigned")));
		EXPECT_NE(NULL, strstr(err, bads[i].msg));
		unlink(path);
	}
}

TEST(command_line_errors_name_the_option)
{
	const struct { const char *const *argv; const char *msg; } cases[] = {
		{ ARGS("--workers", "0", "--unsigned"), "csmpd: --workers: '0' is not a number in 1..256" },
		{ ARGS("--bogus", "--unsigned"), "csmpd: unknown option '--bogus'" },
		{ ARGS("--unsigned", "--listen"), "csmpd: --listen needs a value" },
		{ ARGS("--unsigned", "stray"), "csmpd: unexpected argument 'stray'" },
		{ ARGS("--workers", "2"), "csmpd: nms-key PEM is required" },
		{ ARGS("--unsigned", "--devices", "allowlist"), "every registration would be refused" },
		{ ARGS("--unsigned=perhaps"), "csmpd: --unsigned: 'perhaps' is not true or false" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct csmpd_config c;
		char err[1024];
		bool done;

		EXPECT_EQ(-EINVAL, conf_argv(&c, err, sizeof(err), &done,
					     cases[i].argv));
		EXPECT_NE(NULL, strstr(err, cases[i].msg)) {
			TH_LOG("case %u: got '%s', want '%s'", i, err,
			       cases[i].msg);
		}
	}
}

TEST(help_and_check_config_touch_nothing_and_say_done)
{
	const char *good = write_file(NULL, "[csmpd]\nworkers = 3\n");
	struct csmpd_config c;
	char err[1024];
	bool done;

	EXPECT_EQ(0, conf_argv(&c, err, sizeof(err), &done, ARGS("--help")));
	EXPECT_TRUE(done);
	EXPECT_EQ(0, conf_argv(&c, err, sizeof(err), &done, ARGS("-h", "--bogus")));
	EXPECT_TRUE(done);
	EXPECT_EQ(0, conf_argv(&c, err, sizeof(err), &done, ARGS("--version")));
	EXPECT_TRUE(done);
	EXPECT_EQ(0, strncmp(err, "csmpd ", 6)) {
		TH_LOG("%s", err);
	}
	EXPECT_NE(NULL, strstr(err, csmp_version()));
	EXPECT_EQ(0, conf_argv(&c, err, sizeof(err), &done,
			       ARGS("--check-config", good, "--unsigned")));
	EXPECT_TRUE(done);
	EXPECT_EQ(0, conf_argv(&c, err, sizeof(err), &done,
			       ARGS("--config", good, "--check-config", "--unsigned")));
	EXPECT_TRUE(done);
	/* A run: done stays false and c is filled. */
	ASSERT_EQ(0, conf_argv(&c, err, sizeof(err), &done,
			       ARGS("--config", good, "--unsigned", "--workers", "5")));
	EXPECT_FALSE(done);
	EXPECT_EQ(5u, c.workers);	/* the command line wins */
	csmpd_config_free(&c);
	unlink(good);
}

/* Issue 16 item 11: no error exit leaves memory behind. */
TEST(error_paths_leak_nothing)
{
	const char *bad = write_file(NULL, "[csmpd]\nlisten = [::1]:1\nuser = x\nnms-key = /k\n"
					   "[group a]\nmembers = 00*\n[policy]\nallow = 0A0027FFFE3B2AB2\n"
					   "devices = maybe\n");
	const char *allow = write_file(NULL, "0A0027FFFE3B2AB2\nnope\n");
	struct csmpd_config c;
	char err[1024], flag[300];
	bool done;

	snprintf(flag, sizeof(flag), "--allow-file=%s", allow);
	EXPECT_EQ(-EINVAL, conf_argv(&c, err, sizeof(err), &done,
				     ARGS("--config", bad, "--db", "/x")));
	EXPECT_EQ(-EINVAL, conf_argv(&c, err, sizeof(err), &done,
				     ARGS("--db", "/x", "--events", "-", flag, "--unsigned")));
	EXPECT_NE(NULL, strstr(err, ":2: not an EID (16 hex digits): 'nope'"));
	EXPECT_EQ(-EINVAL, conf_argv(&c, err, sizeof(err), &done,
				     ARGS("--control", "/c", "--workers", "x")));
	EXPECT_EQ(0, conf_argv(&c, err, sizeof(err), &done,
			       ARGS("--check-config", "--unsigned", "--db", "/x")));
	EXPECT_EQ(0, __lsan_do_recoverable_leak_check());
	unlink(bad);
	unlink(allow);
}

/* ---- the allow file -------------------------------------------------------------- */

/* Issue 16 item 10: a 4 KB comment line is one comment, whole. */
TEST(allow_file_lines_are_read_whole)
{
	static char text[8192];
	struct csmpd_config c;
	char err[1024], flag[300];
	const char *path;
	bool done;
	int n;

	n = snprintf(text, sizeof(text), "# ");
	memset(text + n, 'A', 4096);
	n += 4096;
	/* The EID after the A's is the comment's too. */
	snprintf(text + n, sizeof(text) - (size_t)n,
		 "0A0027FFFE3B2AB2\n  00078108000000ff  # meter\n\n"
		 "0A0027FFFE3B2AB3\n0A0027FFFE3B2AB3\n");
	path = write_file(NULL, text);
	snprintf(flag, sizeof(flag), "--allow-file=%s", path);
	ASSERT_EQ(0, conf_argv(&c, err, sizeof(err), &done,
			       ARGS("--unsigned", "--devices", "allowlist", flag))) {
		TH_LOG("%s", err);
	}
	/* The comment's tail was not an EID; the duplicate is one entry. */
	EXPECT_EQ(2u, c.policy->n_allow);
	EXPECT_TRUE(csmp_policy_allowed(c.policy, 0x00078108000000ffull));
	EXPECT_TRUE(csmp_policy_allowed(c.policy, 0x0A0027FFFE3B2AB3ull));
	EXPECT_FALSE(csmp_policy_allowed(c.policy, 0x0A0027FFFE3B2AB2ull));
	csmpd_config_free(&c);
	unlink(path);

	/* A long line that is not a comment is refused whole, once. */
	memset(text, '0', 300);
	snprintf(text + 300, sizeof(text) - 300, "\n0A0027FFFE3B2AB2\n");
	path = write_file(NULL, text);
	snprintf(flag, sizeof(flag), "--allow-file=%s", path);
	EXPECT_EQ(-EINVAL, conf_argv(&c, err, sizeof(err), &done,
				     ARGS("--unsigned", flag)));
	EXPECT_NE(NULL, strstr(err, ":1: not an EID")) {
		TH_LOG("%s", err);
	}
	unlink(path);
}

/* ---- the policy -------------------------------------------------------------------- */

static struct csmp_policy *policy_of(const char *text, char *err, size_t errlen)
{
	const char *path = write_file(NULL, text);
	char *argv[] = { "csmpd", "--config", (char *)path, "--unsigned", NULL };
	struct csmp_policy *p = NULL;
	int ret;

	ret = csmpd_conf_policy(4, argv, &p, err, errlen);
	unlink(path);
	return ret ? NULL : p;
}

TEST(groups_allowlist_and_signature_policy)
{
	static const char text[] =
		"[policy]\n"
		"devices = allowlist\n"
		"allow = 00000000000000AA, 00000000000000BB\n"
		"uplink-signature = optional\n"
		"config-group = 9\n"
		"[group lights]\n"
		"members = 0A0027FFFE3B2AB2\n"
		"uplink-signature = required\n"
		"[group meters]\n"
		"members = 00078108*  0A00*\n"
		"config-group = 17\n";
	const struct csmp_group *g;
	struct csmp_policy *p, *q;
	char err[512] = "";
	void *buf;
	size_t len;

	p = policy_of(text, err, sizeof(err));
	ASSERT_NE(NULL, p) {
		TH_LOG("%s", err);
	}
	/* First match in file order wins. */
	g = csmp_policy_group(p, 0x0A0027FFFE3B2AB2ull);
	ASSERT_NE(NULL, g);
	EXPECT_STREQ("lights", g->name);
	g = csmp_policy_group(p, 0x0A0027FFFE3B2AB3ull);
	ASSERT_NE(NULL, g);
	EXPECT_STREQ("meters", g->name);
	EXPECT_EQ(NULL, csmp_policy_group(p, 0x0007810900E76FDAull));
	EXPECT_EQ(17u, csmp_policy_config_group(p, 0x0007810800E76FDAull));
	EXPECT_EQ(9u, csmp_policy_config_group(p, 0x0A0027FFFE3B2AB2ull));
	EXPECT_EQ(9u, csmp_policy_config_group(p, 0xAA));

	EXPECT_EQ((unsigned int)CSMP_SIGPOL_REQUIRED,
		  csmp_policy_uplink(p, 0x0A0027FFFE3B2AB2ull));
	/* meters did not say: it inherits [policy]'s. */
	EXPECT_EQ((unsigned int)CSMP_SIGPOL_OPTIONAL,
		  csmp_policy_uplink(p, 0x0007810800000001ull));
	EXPECT_EQ((unsigned int)CSMP_SIGPOL_OPTIONAL, csmp_policy_uplink(p, 0xAA));

	EXPECT_TRUE(csmp_policy_allowed(p, 0xAA));
	EXPECT_TRUE(csmp_policy_allowed(p, 0xBB));
	EXPECT_TRUE(csmp_policy_allowed(p, 0x0007810800000001ull));
	EXPECT_FALSE(csmp_policy_allowed(p, 0xCC));

	/* The reader's byte form gives the same policy back. */
	ASSERT_EQ(0, csmp_policy_pack(p, &buf, &len));
	ASSERT_EQ(0, csmp_policy_unpack(buf, len, &q));
	EXPECT_EQ(p->n_allow, q->n_allow);
	EXPECT_EQ(p->n_groups, q->n_groups);
	EXPECT_STREQ("meters", q->groups[1].name);
	EXPECT_EQ(2u, q->groups[1].n_members);
	EXPECT_EQ(17u, csmp_policy_config_group(q, 0x0007810800E76FDAull));
	EXPECT_TRUE(q->allowlist);
	EXPECT_EQ(-EINVAL, csmp_policy_unpack(buf, len - 1, &q));
	csmp_policy_free(q);
	free(buf);
	csmp_policy_free(p);
}

/* A reload takes [policy] from the file and the command line and checks
 * [csmpd] without applying it. */
TEST(reload_policy_comes_from_file_and_command_line)
{
	const char *path = write_file(NULL, "[csmpd]\nworkers = 3\n[policy]\nuplink-signature = optional\n");
	char *argv[] = { "csmpd", "--config", (char *)path, "--unsigned",
			 "--allow", "0A0027FFFE3B2AB2", "--devices", "allowlist", NULL };
	struct csmp_policy *p = NULL;
	char err[512] = "";
	FILE *f;

	ASSERT_EQ(0, csmpd_conf_policy(8, argv, &p, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	EXPECT_TRUE(p->allowlist);
	EXPECT_EQ(1u, p->n_allow);
	EXPECT_EQ((unsigned int)CSMP_SIGPOL_OPTIONAL, p->uplink_sig);
	csmp_policy_free(p);
	f = fopen(path, "w");
	fputs("[csmpd]\nworkers = 0\n", f);
	fclose(f);
	EXPECT_EQ(-EINVAL, csmpd_conf_policy(8, argv, &p, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, ":2: workers: '0' is not a number"));
	unlink(path);
}

/*
 * Issue 16 item 5: once csmpd runs as nobody, a reload still reads a
 * root-only config (0600 in a 0700 directory), and sees the file an
 * editor put in its place.
 */
TEST(reader_reads_root_only_files_after_the_privilege_drop)
{
	char dir[] = "/tmp/csmp-test-root-XXXXXX", path[300], tmp[300];
	char *argv[] = { "csmpd", "--config", path, "--unsigned", NULL };
	struct csmpd_conf_reader *r;
	struct csmp_policy *p = NULL;
	struct passwd *pw = getpwnam("nobody");
	char err[512] = "";
	int go[2], done[2], status;
	char answer;
	pid_t editor;
	FILE *f;

	if (geteuid() != 0 || !pw)
		SKIP(return, "needs root and the user nobody");
	ASSERT_NE(NULL, mkdtemp(dir));
	chmod(dir, 0700);
	snprintf(path, sizeof(path), "%s/csmpd.conf", dir);
	snprintf(tmp, sizeof(tmp), "%s/csmpd.conf.new", dir);
	f = fopen(path, "w");
	fputs("[policy]\ndevices = allowlist\nallow = 0A0027FFFE3B2AB2\n", f);
	fclose(f);
	chmod(path, 0600);

	/* An editor that stays root, to replace the file later. */
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	editor = fork();
	ASSERT_LE(0, editor);
	if (!editor) {
		char c;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		f = fopen(tmp, "w");
		fputs("[policy]\ndevices = allowlist\nallow = 0A0027FFFE3B2AB2 0A0027FFFE3B2AB3\n", f);
		fclose(f);
		chmod(tmp, 0600);
		c = rename(tmp, path) ? 'e' : 'k';
		if (write(done[1], &c, 1) != 1)
			_exit(1);
		/* At the test's end (or its death): clean up as root. */
		while (read(go[0], &c, 1) > 0)
			;
		unlink(path);
		_exit(rmdir(dir) ? 1 : 0);
	}
	close(go[0]);
	close(done[1]);

	ASSERT_EQ(0, csmpd_conf_reader_start(4, argv, &r));
	/* As csmpd does once bound (this test runs in a process of its own). */
	ASSERT_EQ(0, setgroups(0, NULL));
	ASSERT_EQ(0, setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid));
	ASSERT_EQ(0, setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid));
	/* In place, the file is out of reach: the defect. */
	EXPECT_EQ(-EACCES, csmpd_conf_policy(4, argv, &p, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "Permission denied"));

	ASSERT_EQ(0, csmpd_conf_reader_policy(r, &p, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	EXPECT_TRUE(p->allowlist);
	EXPECT_EQ(1u, p->n_allow);
	csmp_policy_free(p);

	/* Replaced by rename, as editors and sed -i do: a descriptor kept
	 * from before the drop would still show the old file. */
	ASSERT_EQ(1, write(go[1], "x", 1));
	ASSERT_EQ(1, read(done[0], &answer, 1));
	ASSERT_EQ('k', answer);
	ASSERT_EQ(0, csmpd_conf_reader_policy(r, &p, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	EXPECT_EQ(2u, p->n_allow);
	csmp_policy_free(p);
	csmpd_conf_reader_stop(r);
	close(go[1]);
	ASSERT_EQ(editor, waitpid(editor, &status, 0));
	EXPECT_EQ(0, status);
}

TEST(reader_answers_with_a_replaced_file_and_its_errors)
{
	char dir[] = "/tmp/csmp-test-root-XXXXXX", path[300], tmp[300];
	char *argv[] = { "csmpd", "--config", path, "--unsigned", NULL };
	struct csmpd_conf_reader *r;
	struct csmp_policy *p = NULL;
	char err[512] = "";
	FILE *f;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/csmpd.conf", dir);
	snprintf(tmp, sizeof(tmp), "%s/csmpd.conf.new", dir);
	f = fopen(path, "w");
	fputs("[policy]\nuplink-signature = optional\n", f);
	fclose(f);
	ASSERT_EQ(0, csmpd_conf_reader_start(4, argv, &r));
	ASSERT_EQ(0, csmpd_conf_reader_policy(r, &p, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	EXPECT_EQ((unsigned int)CSMP_SIGPOL_OPTIONAL, p->uplink_sig);
	csmp_policy_free(p);
	/* Replaced by rename, as editors and sed -i do. */
	f = fopen(tmp, "w");
	fputs("[policy]\nuplink-signature = required\n", f);
	fclose(f);
	ASSERT_EQ(0, rename(tmp, path));
	ASSERT_EQ(0, csmpd_conf_reader_policy(r, &p, err, sizeof(err)));
	EXPECT_EQ((unsigned int)CSMP_SIGPOL_REQUIRED, p->uplink_sig);
	csmp_policy_free(p);
	/* A bad file: the reader's FILE:LINE comes back. */
	f = fopen(path, "w");
	fputs("[policy]\n\nuplink-signature = sometimes\n", f);
	fclose(f);
	EXPECT_EQ(-EINVAL, csmpd_conf_reader_policy(r, &p, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "csmpd.conf:3: uplink-signature: 'sometimes'")) {
		TH_LOG("%s", err);
	}
	csmpd_conf_reader_stop(r);
	unlink(path);
	rmdir(dir);
}

/* ---- publication under concurrent readers ------------------------------ */

#define MAGIC 0x5eed5eedu

struct rcu_ctx {
	struct csmp_policy_ref ref;
	atomic_int stop;
	atomic_ulong reads;
	unsigned int idx;
	atomic_int bad;
};

struct reader_arg {
	struct rcu_ctx *ctx;
	unsigned int i;
};

static struct csmp_policy *mk_policy(void)
{
	struct csmp_policy *p = calloc(1, sizeof(*p));

	p->allow = calloc(1, sizeof(uint64_t));
	p->allow[0] = MAGIC;
	p->n_allow = 1;
	return p;
}

static void *reader(void *arg)
{
	struct reader_arg *a = arg;
	struct rcu_ctx *ctx = a->ctx;

	while (!atomic_load(&ctx->stop)) {
		struct csmp_policy *p = csmp_policy_get(&ctx->ref, a->i);
		int k;

		/* Hold it for a "batch": it must stay intact. */
		for (k = 0; k < 50; k++)
			if (p->allow[0] != MAGIC)
				atomic_store(&ctx->bad, 1);
		atomic_fetch_add(&ctx->reads, 1);
		if ((atomic_load(&ctx->reads) & 255) == 0) {
			csmp_policy_idle(&ctx->ref, a->i);
			usleep(100);
		}
	}
	csmp_policy_idle(&ctx->ref, a->i);
	return NULL;
}

TEST(publish_frees_old_snapshot_only_after_readers_move_on)
{
	struct rcu_ctx ctx = { 0 };
	struct reader_arg args[2];
	pthread_t th[2];
	unsigned int i;

	ASSERT_EQ(0, csmp_policy_ref_init(&ctx.ref, 2, mk_policy()));
	for (i = 0; i < 2; i++) {
		args[i] = (struct reader_arg){ &ctx, i };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, reader, &args[i]));
	}
	for (i = 0; i < 200; i++)
		ASSERT_EQ(0, csmp_policy_publish(&ctx.ref, mk_policy(), 5000));
	atomic_store(&ctx.stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(0, atomic_load(&ctx.bad));
	EXPECT_EQ(201u, atomic_load(&ctx.ref.cur)->generation);
	csmp_policy_ref_fini(&ctx.ref);
}

TEST(publish_times_out_instead_of_freeing_a_held_snapshot)
{
	struct csmp_policy_ref ref;
	struct csmp_policy *held;

	ASSERT_EQ(0, csmp_policy_ref_init(&ref, 1, mk_policy()));
	held = csmp_policy_get(&ref, 0);	/* and never comes back */
	EXPECT_EQ(-ETIMEDOUT, csmp_policy_publish(&ref, mk_policy(), 20));
	EXPECT_EQ(MAGIC, held->allow[0]);	/* still valid: leaked */
	csmp_policy_free(held);
	csmp_policy_ref_fini(&ref);
}

TEST_HARNESS_MAIN
