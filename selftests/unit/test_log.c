// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmpd's log sinks (userspace/csmpd/log.c): stderr lines carry an RFC
 * 3339 UTC timestamp; JOURNAL_STREAM is trusted only when it names the
 * stderr csmpd has, and the journal is chosen only where its socket is; journal entries, read off a journal socket in a
 * private mount namespace with the native protocol libsystemd speaks,
 * have PRIORITY from the severity, CSMP_MNEMONIC and CSMP_EID (only for a
 * device EID, not a SessionID); syslog(3) lines have facility daemon and
 * the severity as their priority.
 */
#include <fcntl.h>
#include <regex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "csmpd.h"
#include "sd.h"

/* Run f's lines with stderr sent to a temporary file; its text in buf. */
static void capture_stderr(void (*f)(void), char *buf, size_t len)
{
	char path[] = "/tmp/csmp-test-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	unlink(path);
	dup2(fd, STDERR_FILENO);
	f();
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, len - 1, 0);
	buf[n < 0 ? 0 : n] = 0;
	close(fd);
}

static void two_lines(void)
{
	csmpd_log(CSMPD_ERR, "TEST_TS", "disk %d full", 3);
	csmpd_log(CSMPD_DEBUG, "TEST_TS", "not at level 6");
}

TEST(stderr_lines_have_an_rfc3339_timestamp)
{
	char buf[4096];
	regex_t re;

	csmpd_log_init(CSMPD_INFO);
	ASSERT_EQ((int)CSMPD_LOG_STDERR, (int)csmpd_log_target(CSMPD_LOG_STDERR));
	capture_stderr(two_lines, buf, sizeof(buf));
	ASSERT_EQ(0, regcomp(&re, "^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z "
				  "%CSMP-3-TEST_TS: disk 3 full\n$", REG_EXTENDED));
	EXPECT_EQ(0, regexec(&re, buf, 0, NULL, 0)) {
		TH_LOG("got '%s'", buf);
	}
	regfree(&re);
}

TEST(journal_stream_is_trusted_only_for_our_stderr)
{
	char v[64];
	struct stat st;

	ASSERT_EQ(0, fstat(STDERR_FILENO, &st));
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	EXPECT_TRUE(csmpd_log_stderr_is_journal());
	/* A process started from a unit's shell: another stderr. */
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", v, 1);
	EXPECT_FALSE(csmpd_log_stderr_is_journal());
	EXPECT_EQ((int)CSMPD_LOG_STDERR, (int)csmpd_log_target(CSMPD_LOG_AUTO));
	setenv("JOURNAL_STREAM", "garbage", 1);
	EXPECT_FALSE(csmpd_log_stderr_is_journal());
	unsetenv("JOURNAL_STREAM");
	EXPECT_FALSE(csmpd_log_stderr_is_journal());
}

/*
 * A private tmpfs on MNT with a datagram socket bound at PATH (its
 * directories made): what libsystemd and glibc send there is ours, the
 * host's journal and syslog never see it. -1: not root, no namespaces.
 */
static int private_socket(const char *mnt, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[108], *p;
	int fd;

	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "mode=0755") < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	for (p = dir + strlen(mnt) + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return fd;
}

/* The field KEY of a native-protocol entry (KEY=value lines), or "". */
static const char *field(const char *entry, const char *key, char *out,
			 size_t len)
{
	size_t k = strlen(key);
	const char *p = entry;

	*out = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);

		if (l > k && !strncmp(p, key, k) && p[k] == '=') {
			snprintf(out, len, "%.*s", (int)(l - k - 1), p + k + 1);
			break;
		}
		p += l + (nl ? 1 : 0);
	}
	return out;
}

TEST(journal_entries_have_priority_mnemonic_and_eid)
{
	char e1[2048], e2[2048], v[512];
	ssize_t n;
	int fd;

	fd = private_socket("/run", "/run/systemd/journal/socket");
	if (fd < 0)
		SKIP(return, "needs root and mount namespaces");
	csmpd_log_init(CSMPD_INFO);
	{
		/* auto picks the journal for systemd's stream on stderr */
		char js[64];
		struct stat st;

		ASSERT_EQ(0, fstat(STDERR_FILENO, &st));
		snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", js, 1);
		EXPECT_EQ((int)CSMPD_LOG_JOURNAL, (int)csmpd_log_target(CSMPD_LOG_AUTO));
		unsetenv("JOURNAL_STREAM");
	}
	ASSERT_EQ((int)CSMPD_LOG_JOURNAL, (int)csmpd_log_target(CSMPD_LOG_JOURNAL));
	csmpd_log(CSMPD_INFO, "REGISTERED",
		  "device %016llX at [::1]:4000 registered, session %s",
		  0x00C5000000000001ull, "0001a5b6c7d8e9f0");
	csmpd_log(CSMPD_WARNING, "CONFIG_RELOAD",
		  "session 0001a5b6c7d8e9f0 and 123 only");
	n = recv(fd, e1, sizeof(e1) - 1, MSG_DONTWAIT);
	ASSERT_LT(0, n);
	e1[n] = 0;
	n = recv(fd, e2, sizeof(e2) - 1, MSG_DONTWAIT);
	ASSERT_LT(0, n);
	e2[n] = 0;

	EXPECT_STREQ("%CSMP-6-REGISTERED: device 00C5000000000001 at [::1]:4000 registered, session 0001a5b6c7d8e9f0",
		     field(e1, "MESSAGE", v, sizeof(v)));
	EXPECT_STREQ("6", field(e1, "PRIORITY", v, sizeof(v)));
	EXPECT_STREQ("REGISTERED", field(e1, "CSMP_MNEMONIC", v, sizeof(v)));
	EXPECT_STREQ("00C5000000000001", field(e1, "CSMP_EID", v, sizeof(v)));
	EXPECT_STREQ("csmpd", field(e1, "SYSLOG_IDENTIFIER", v, sizeof(v)));

	EXPECT_STREQ("4", field(e2, "PRIORITY", v, sizeof(v)));
	EXPECT_STREQ("CONFIG_RELOAD", field(e2, "CSMP_MNEMONIC", v, sizeof(v)));
	/* A SessionID is lower-case hex: no device named. */
	EXPECT_STREQ("", field(e2, "CSMP_EID", v, sizeof(v)));
	close(fd);
}

TEST(syslog_lines_have_facility_daemon_and_the_severity)
{
	char buf[2048];
	ssize_t n;
	int fd;

	fd = private_socket("/dev", "/dev/log");
	if (fd < 0)
		SKIP(return, "needs root and mount namespaces");
	csmpd_log_init(CSMPD_INFO);
	ASSERT_EQ((int)CSMPD_LOG_SYSLOG, (int)csmpd_log_target(CSMPD_LOG_SYSLOG));
	csmpd_log(CSMPD_ERR, "DB_WRITE", "registry write failed");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ASSERT_LT(0, n);
	buf[n] = 0;
	/* <LOG_DAEMON | LOG_ERR> = <27> */
	EXPECT_EQ(0, strncmp(buf, "<27>", 4)) {
		TH_LOG("got '%s'", buf);
	}
	EXPECT_NE(NULL, strstr(buf, "csmpd["));
	EXPECT_NE(NULL, strstr(buf, ": %CSMP-3-DB_WRITE: registry write failed"));
	close(fd);
}

TEST_HARNESS_MAIN
