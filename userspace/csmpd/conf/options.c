// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmpd's options from the one table of options.def: the command line
 * (getopt_long, built from the table), the config file (INI through
 * libinih, every key looked up in the same table) and `--help`. A value
 * goes through one parser whichever place it comes from, so names, syntax,
 * ranges and defaults cannot differ between the two.
 *
 * Order: the table's defaults, then the file, then the command line, each
 * overriding the one before. A list option (listen) given in a place
 * replaces the list of the place before; allow and allow-file add to it.
 *
 * libinih splits sections and key = value lines. Our reader hands it one
 * line at a time and keeps csmpd.conf's rules: a comment starts at '#' or
 * ';' anywhere, indentation means nothing (no continuation lines), and a
 * line too long for libinih's buffer is refused instead of being split
 * into two. Counting lines there is what gives every error its FILE:LINE.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <ini.h>

#include <linux/bpf.h>

#include "csmpd.h"
#include "csmp/lb.h"
#include "conf/config.h"
#include "version.h"

#define FILE_MAX	(256u << 20)	/* config or allow file */
#define ERR_MAX		512

enum opt_kind {
	K_UINT,		/* decimal in min..max */
	K_POW2,		/* K_UINT, a power of 2 */
	K_HEX16,	/* 1..4 hex digits, "0x" allowed */
	K_ENUM,		/* one of arg's '|'-separated names: its index */
	K_BOOL,		/* true/false, yes/no, 1/0 */
	K_STR,		/* a non-empty string */
	K_ADDR,		/* K_STR that is an ADDR:PORT */
	K_IP,		/* K_STR that is an IPv6 or IPv4 address */
	K_PORTS,	/* LO-HI */
	K_LISTEN,	/* ADDR:PORT words; replaces the list of the place before */
	K_TLVS,		/* comma-separated TLV ids in min..max */
	K_STEER,	/* a directory, and steering on */
	K_EIDS,		/* EIDs added to the allowlist */
	K_ALLOWFILE,	/* a file of EIDs added to the allowlist */
	K_MEMBERS,	/* [group]: EIDs or EID prefixes */
};

enum opt_sect { S_CSMPD, S_POLICY, S_GROUP };

struct opt {
	const char *name;
	enum opt_sect sect;
	enum opt_kind kind;
	size_t off, size;
	const char *def;
	unsigned long min, max;
	const char *arg, *help;
};

typedef struct csmpd_config sect_CSMPD;
typedef struct csmp_policy sect_POLICY;

#define CSMPD_OPT(n, s, k, f, d, lo, hi, a, h)				\
	{ n, S_##s, K_##k, offsetof(sect_##s, f),			\
	  sizeof(((sect_##s *)0)->f), d, lo, hi, a, h },
static const struct opt opts[] = {
#include "conf/options.def"
};
#undef CSMPD_OPT

#define N_OPTS		(sizeof(opts) / sizeof(opts[0]))

/* Options of the command line only: what to do rather than how. */
enum {
	OPT_CONFIG = 256 + N_OPTS, OPT_CHECK, OPT_VERSION, OPT_HELP = 'h',
};

/* Where a value comes from, in the order they override each other. */
enum src { SRC_DEFAULT = 1, SRC_FILE, SRC_ARGV };

struct pstate {
	struct csmpd_config *c;
	struct csmp_policy *p;
	bool apply_csmpd;		/* false: [csmpd] parsed, not kept */
	enum src src;
	unsigned char last[N_OPTS];	/* the place that last set a row */
	size_t cap_allow;
	/* The file being read (NULL: argv or defaults). */
	const char *path;
	const char *buf;
	size_t len, pos;
	unsigned int line;		/* of the line handed out last */
	unsigned int hdr_line;		/* of the last "[section]" line */
	bool hdr_pending;		/* no key read since that header */
	enum opt_sect sect;
	struct csmp_group *group;	/* current [group NAME] */
	bool *sig_set;			/* per group: uplink-signature given */
	/* The first error. */
	char *err;
	size_t errlen;
	bool failed;
	bool in_file;			/* it names a file */
	unsigned int fail_line;
};

static int perr(struct pstate *ps, const struct opt *o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Record the first error: "FILE:LINE: key: why" for a file, "--key: why"
 * for the command line.
 */
static int perr(struct pstate *ps, const struct opt *o, const char *fmt, ...)
{
	size_t n = 0;
	va_list ap;

	if (ps->failed)
		return -EINVAL;
	ps->failed = true;
	ps->in_file = ps->path != NULL;
	ps->fail_line = ps->line;
	if (ps->path)
		n = (size_t)snprintf(ps->err, ps->errlen, "%s:%u: ", ps->path,
				     ps->line);
	if (o && n < ps->errlen)
		n += (size_t)snprintf(ps->err + n, ps->errlen - n,
				      ps->path ? "%s: " : "--%s: ", o->name);
	if (n < ps->errlen) {
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static void *field(struct pstate *ps, const struct opt *o)
{
	char *base = o->sect == S_CSMPD ? (char *)ps->c :
		     o->sect == S_POLICY ? (char *)ps->p : (char *)ps->group;

	return base + o->off;
}

static void store_uint(void *f, size_t size, unsigned long v)
{
	switch (size) {
	case 1:
		*(uint8_t *)f = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)f = (uint16_t)v;
		break;
	default:
		*(uint32_t *)f = (uint32_t)v;
		break;
	}
}

static int parse_ulong(const char *v, int base, unsigned long *out)
{
	char *end;

	if (!isalnum((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	*out = strtoul(v, &end, base);
	return errno || *end ? -EINVAL : 0;
}

static int set_str(struct pstate *ps, const struct opt *o, const char *v)
{
	char **f = field(ps, o), *s;

	if (!*v)
		return perr(ps, o, "empty value");
	s = strdup(v);
	if (!s)
		return perr(ps, o, "out of memory");
	free(*f);
	*f = s;
	return 0;
}

/* "0A0027FFFE3B2AB2" (exact) or "00078108*" (prefix of 1..15 digits). */
static int parse_eid_match(const char *w, struct csmp_eid_match *m,
			   bool prefix_ok)
{
	size_t n = strlen(w), digits = n, i;
	uint64_t v = 0;

	if (prefix_ok && n && w[n - 1] == '*')
		digits = n - 1;
	if (!digits || digits > 16 || (digits < 16 && digits == n))
		return -EINVAL;
	for (i = 0; i < digits; i++) {
		int c = tolower((unsigned char)w[i]);

		if (!isxdigit(c))
			return -EINVAL;
		v = v << 4 | (uint64_t)(isdigit(c) ? c - '0' : c - 'a' + 10);
	}
	m->mask = digits == 16 ? ~0ull : ~0ull << (4 * (16 - digits));
	m->value = digits == 16 ? v : v << (4 * (16 - digits));
	return 0;
}

static int add_allow(struct pstate *ps, uint64_t eid)
{
	struct csmp_policy *p = ps->p;

	if (p->n_allow == ps->cap_allow) {
		size_t cap = ps->cap_allow ? ps->cap_allow * 2 : 64;
		uint64_t *a = realloc(p->allow, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		p->allow = a;
		ps->cap_allow = cap;
	}
	p->allow[p->n_allow++] = eid;
	return 0;
}

static int add_member(struct pstate *ps, const struct csmp_eid_match *m)
{
	struct csmp_group *g = ps->group;
	struct csmp_eid_match *a;

	a = realloc(g->members, (g->n_members + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	g->members = a;
	g->members[g->n_members++] = *m;
	return 0;
}

/*
 * A whole file in memory: regular files only (a FIFO would block csmpd
 * in open or read), at most FILE_MAX bytes, NUL-terminated.
 */
static int read_file(const char *path, char **out, size_t *lenp)
{
	size_t cap, len = 0;
	struct stat st;
	char *buf, *nb;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	ret = -errno;
	if (fstat(fd, &st))
		goto err_close;
	ret = -EINVAL;
	if (!S_ISREG(st.st_mode))
		goto err_close;
	ret = -EFBIG;
	if ((unsigned long long)st.st_size > FILE_MAX)
		goto err_close;
	ret = -ENOMEM;
	cap = (size_t)st.st_size + 4096;
	buf = malloc(cap);
	if (!buf)
		goto err_close;
	for (;;) {
		if (len + 1 == cap) {
			/* It grew while we read it. */
			ret = -EFBIG;
			if (cap > FILE_MAX)
				goto err_free;
			ret = -ENOMEM;
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto err_free;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		ret = -errno;
		if (n < 0)
			goto err_free;
		if (!n)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	close(fd);
	*out = buf;
	*lenp = len;
	return 0;

err_free:
	free(buf);
err_close:
	close(fd);
	return ret;
}

static const char *file_error(int err)
{
	switch (err) {
	case -EINVAL:
		return "not a regular file";
	case -EFBIG:
		return "larger than 256 MiB";
	default:
		return strerror(-err);
	}
}

/*
 * One EID per line, whole lines whatever their length; '#' starts a
 * comment. A bad line is refused with this file's name and line.
 */
static int read_allow_file(struct pstate *ps, const struct opt *o,
			   const char *path)
{
	size_t len, i = 0;
	unsigned int line = 0;
	char *buf;
	int ret;

	ret = read_file(path, &buf, &len);
	if (ret)
		return perr(ps, o, "cannot read %s: %s", path, file_error(ret));
	while (i < len) {
		char *s = buf + i, *e = memchr(s, '\n', len - i), *c;
		struct csmp_eid_match m;

		e = e ? e : buf + len;
		i = (size_t)(e - buf) + 1;
		*e = 0;
		line++;
		c = strchr(s, '#');
		if (c)
			*c = 0;
		while (isspace((unsigned char)*s))
			s++;
		for (c = s + strlen(s); c > s && isspace((unsigned char)c[-1]);)
			*--c = 0;
		if (!*s)
			continue;
		if (parse_eid_match(s, &m, false)) {
			/* This file's line, not the config file's. */
			const char *cpath = ps->path;
			unsigned int cline = ps->line;

			ps->path = path;
			ps->line = line;
			ret = perr(ps, NULL, "not an EID (16 hex digits): '%.40s'",
				   s);
			ps->path = cpath;
			ps->line = cline;
			break;
		}
		ret = add_allow(ps, m.value);
		if (ret) {
			ret = perr(ps, o, "out of memory");
			break;
		}
	}
	free(buf);
	return ret;
}

/* Call fn for every word of v (separated by blanks or commas). */
static int each_word(struct pstate *ps, const struct opt *o, const char *v,
		     int (*fn)(struct pstate *, const struct opt *,
			       const char *))
{
	char *copy = strdup(v), *save = NULL, *w;
	int ret = 0;

	if (!copy)
		return perr(ps, o, "out of memory");
	for (w = strtok_r(copy, " \t,", &save); w && !ret;
	     w = strtok_r(NULL, " \t,", &save))
		ret = fn(ps, o, w);
	free(copy);
	return ret;
}

static int word_listen(struct pstate *ps, const struct opt *o, const char *w)
{
	struct csmpd_config *c = ps->c;

	if (c->n_listen == CSMPD_MAX_LISTEN)
		return perr(ps, o, "at most %d addresses", CSMPD_MAX_LISTEN);
	if (csmpd_parse_listen(w, &c->listen[c->n_listen]))
		return perr(ps, o, "'%s' is not ADDR:PORT ([v6]:port or a.b.c.d:port)",
			    w);
	c->n_listen++;
	return 0;
}

static int word_tlv(struct pstate *ps, const struct opt *o, const char *w)
{
	struct csmpd_config *c = ps->c;
	unsigned long id;

	if (c->n_report_tlvs == CSMPD_MAX_REPORT_TLVS)
		return perr(ps, o, "at most %d ids (the agent keeps 15)",
			    CSMPD_MAX_REPORT_TLVS);
	if (parse_ulong(w, 10, &id) || id < o->min || id > o->max)
		return perr(ps, o, "'%s' is not a TLV id in %lu..%lu", w,
			    o->min, o->max);
	c->report_tlvs[c->n_report_tlvs++] = (__u32)id;
	return 0;
}

static int word_eid(struct pstate *ps, const struct opt *o, const char *w)
{
	struct csmp_eid_match m;

	if (parse_eid_match(w, &m, false))
		return perr(ps, o, "'%s' is not an EID (16 hex digits)", w);
	return add_allow(ps, m.value) ? perr(ps, o, "out of memory") : 0;
}

static int word_member(struct pstate *ps, const struct opt *o, const char *w)
{
	struct csmp_eid_match m;

	if (parse_eid_match(w, &m, true))
		return perr(ps, o, "'%s' is not an EID (16 hex digits) or an EID prefix (hex digits then '*')",
			    w);
	return add_member(ps, &m) ? perr(ps, o, "out of memory") : 0;
}

/* The index of v among the '|'-separated names of o->arg, or -1. */
static int enum_index(const struct opt *o, const char *v)
{
	const char *s = o->arg;
	size_t n = strlen(v);
	int i = 0;

	for (;;) {
		const char *bar = strchr(s, '|');
		size_t l = bar ? (size_t)(bar - s) : strlen(s);

		if (l == n && !strncmp(s, v, n))
			return i;
		if (!bar)
			return -1;
		s = bar + 1;
		i++;
	}
}

/* "'v' is not a, b or c" from o->arg's "a|b|c". */
static int enum_error(struct pstate *ps, const struct opt *o, const char *v)
{
	char names[128];
	const char *s = o->arg;
	size_t n = 0;

	while (*s && n < sizeof(names)) {
		size_t l = strcspn(s, "|");
		const char *sep = !s[l] ? "" : strchr(s + l + 1, '|') ? ", " : " or ";

		n += (size_t)snprintf(names + n, sizeof(names) - n, "%.*s%s",
				      (int)l, s, sep);
		s += l + (s[l] ? 1 : 0);
	}
	return perr(ps, o, "'%s' is not %s", v, names);
}

/* v == NULL: the option was given on the command line without a value. */
static int set_value(struct pstate *ps, const struct opt *o, const char *v)
{
	unsigned long n;
	size_t i = (size_t)(o - opts);
	bool first = i < N_OPTS && ps->last[i] != ps->src;
	int k, ret;

	if (i < N_OPTS)
		ps->last[i] = (unsigned char)ps->src;
	if (!v && o->kind == K_BOOL)
		v = "true";
	if (!v && o->kind == K_STEER)
		v = CSMP_LB_PIN_ROOT;
	if (!v)
		return perr(ps, o, "a value is required");
	switch (o->kind) {
	case K_UINT:
	case K_POW2:
		if (parse_ulong(v, 10, &n) || n < o->min || n > o->max)
			return perr(ps, o, "'%s' is not a number in %lu..%lu",
				    v, o->min, o->max);
		if (o->kind == K_POW2 && (n & (n - 1)))
			return perr(ps, o, "'%s' is not a power of 2", v);
		store_uint(field(ps, o), o->size, n);
		return 0;
	case K_HEX16: {
		const char *h = strncasecmp(v, "0x", 2) ? v : v + 2;

		if (!*h || strlen(h) > 4 || parse_ulong(h, 16, &n) ||
		    !isxdigit((unsigned char)*h))
			return perr(ps, o, "'%s' is not 1 to 4 hex digits", v);
		store_uint(field(ps, o), o->size, n);
		return 0;
	}
	case K_ENUM:
		k = enum_index(o, v);
		/* io_uring: the spelling --io accepted before. */
		if (k < 0 && !strcmp(o->name, "io") && !strcmp(v, "io_uring"))
			k = CSMPD_IO_URING;
		if (k < 0)
			return enum_error(ps, o, v);
		store_uint(field(ps, o), o->size, (unsigned long)k);
		return 0;
	case K_BOOL:
		if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
			n = 1;
		else if (!strcmp(v, "false") || !strcmp(v, "no") ||
			 !strcmp(v, "0"))
			n = 0;
		else
			return perr(ps, o, "'%s' is not true or false", v);
		store_uint(field(ps, o), o->size, n);
		return 0;
	case K_ADDR: {
		struct csmpd_listen l;

		if (csmpd_parse_listen(v, &l))
			return perr(ps, o, "'%s' is not ADDR:PORT ([v6]:port or a.b.c.d:port)",
				    v);
		return set_str(ps, o, v);
	}
	case K_IP: {
		struct in6_addr a;

		if (inet_pton(AF_INET6, v, &a) != 1 &&
		    inet_pton(AF_INET, v, &a) != 1)
			return perr(ps, o, "'%s' is not an IPv6 or IPv4 address",
				    v);
		return set_str(ps, o, v);
	}
	case K_STR:
		return set_str(ps, o, v);
	case K_STEER:
		ps->c->steer_workers = true;
		return set_str(ps, o, v);
	case K_PORTS: {
		unsigned int lo, hi;
		struct csmp_reply_block *b = field(ps, o);
		int end = 0;

		if (sscanf(v, "%u-%u%n", &lo, &hi, &end) != 2 || v[end] ||
		    !isdigit((unsigned char)*v) || lo < o->min || lo > hi ||
		    hi > o->max)
			return perr(ps, o, "'%s' is not LO-HI with %lu <= LO <= HI <= %lu",
				    v, o->min, o->max);
		b->lo = (__u16)lo;
		b->hi = (__u16)hi;
		return 0;
	}
	case K_LISTEN:
		if (first)
			ps->c->n_listen = 0;
		ret = each_word(ps, o, v, word_listen);
		if (!ret && !ps->c->n_listen)
			return perr(ps, o, "no address");
		return ret;
	case K_TLVS:
		ps->c->n_report_tlvs = 0;
		ret = each_word(ps, o, v, word_tlv);
		if (!ret && !ps->c->n_report_tlvs)
			return perr(ps, o, "no TLV id");
		return ret;
	case K_EIDS:
		return each_word(ps, o, v, word_eid);
	case K_ALLOWFILE:
		if (!*v)
			return perr(ps, o, "empty value");
		return read_allow_file(ps, o, v);
	case K_MEMBERS:
		return each_word(ps, o, v, word_member);
	}
	return perr(ps, o, "unknown kind of option");
}

/*
 * Apply v to the row; a reload (apply_csmpd false) only checks the value
 * of a [csmpd] row, on a scratch config it then throws away.
 */
static int take(struct pstate *ps, const struct opt *o, const char *v)
{
	struct csmpd_config scratch, *c = ps->c;
	int ret;

	if (o->sect != S_CSMPD || ps->apply_csmpd)
		return set_value(ps, o, v);
	memset(&scratch, 0, sizeof(scratch));
	ps->c = &scratch;
	ret = set_value(ps, o, v);
	csmpd_config_free(&scratch);
	ps->c = c;
	return ret;
}

/* ---- the file --------------------------------------------------------------- */

/* The row called name in section sect, or in any section (S_GROUP). */
static const struct opt *find(const char *name, enum opt_sect sect)
{
	size_t i;

	for (i = 0; i < N_OPTS; i++)
		if (!strcmp(opts[i].name, name) &&
		    (sect == S_GROUP || opts[i].sect == sect))
			return &opts[i];
	return NULL;
}

/*
 * The keys of [group NAME]: members, and the [policy] rows that a group
 * may set for itself, with their names, parsers and ranges.
 */
static int group_key(struct pstate *ps, const char *k, const char *v)
{
	static const struct opt members = {
		.name = "members", .sect = S_GROUP, .kind = K_MEMBERS,
	};
	const struct opt *po = find(k, S_POLICY);
	struct opt o;

	if (!strcmp(k, "members"))
		return set_value(ps, &members, v);
	if (po && !strcmp(k, "config-group")) {
		o = *po;
		o.off = offsetof(struct csmp_group, config_group);
		o.size = sizeof(ps->group->config_group);
	} else if (po && !strcmp(k, "uplink-signature")) {
		o = *po;
		o.off = offsetof(struct csmp_group, uplink_sig);
		o.size = sizeof(ps->group->uplink_sig);
		ps->sig_set[ps->group - ps->p->groups] = true;
	} else {
		return perr(ps, NULL, "unknown option '%s' in [group %s] (members, config-group, uplink-signature)",
			    k, ps->group->name);
	}
	o.sect = S_GROUP;
	return set_value(ps, &o, v);
}

static int new_group(struct pstate *ps, const char *name)
{
	struct csmp_policy *p = ps->p;
	struct csmp_group *g;
	size_t i;
	bool *ss;

	while (isspace((unsigned char)*name))
		name++;
	if (!*name || strlen(name) >= CSMP_CONF_NAME_MAX)
		return perr(ps, NULL, "group name must be 1..%d characters",
			    CSMP_CONF_NAME_MAX - 1);
	for (i = 0; name[i]; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_' && name[i] != '.')
			return perr(ps, NULL, "group name '%s': use letters, digits, '-', '_' or '.'",
				    name);
	for (i = 0; i < p->n_groups; i++)
		if (!strcmp(p->groups[i].name, name))
			return perr(ps, NULL, "group '%s' defined twice", name);
	g = realloc(p->groups, (p->n_groups + 1) * sizeof(*g));
	if (!g)
		return perr(ps, NULL, "out of memory");
	p->groups = g;
	ss = realloc(ps->sig_set, (p->n_groups + 1) * sizeof(*ss));
	if (!ss)
		return perr(ps, NULL, "out of memory");
	ps->sig_set = ss;
	ss[p->n_groups] = false;
	g = &p->groups[p->n_groups++];
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	ps->group = g;
	return 0;
}

/* The section of the key that follows a "[...]" line. */
static int enter_section(struct pstate *ps, const char *s)
{
	unsigned int line = ps->line;
	int ret = 0;

	ps->line = ps->hdr_line;	/* errors name the header */
	ps->hdr_pending = false;
	if (!strcmp(s, "csmpd")) {
		ps->sect = S_CSMPD;
	} else if (!strcmp(s, "policy")) {
		ps->sect = S_POLICY;
	} else if (!strncmp(s, "group", 5) && isspace((unsigned char)s[5])) {
		ps->sect = S_GROUP;
		ret = new_group(ps, s + 5);
	} else {
		ret = perr(ps, NULL, "unknown section [%s] (csmpd, policy, group NAME)",
			   s);
	}
	ps->line = line;
	return ret;
}

static int ini_key(void *user, const char *section, const char *k,
		   const char *v)
{
	struct pstate *ps = user;
	const struct opt *o;

	if (ps->failed)
		return 0;
	if (ps->hdr_pending && enter_section(ps, section))
		return 0;
	if (!*section)
		return !perr(ps, NULL, "'%s' outside a section", k);
	if (ps->sect == S_GROUP)
		return !group_key(ps, k, v);
	o = find(k, ps->sect);
	if (!o) {
		o = find(k, S_GROUP);
		if (o)
			return !perr(ps, NULL, "'%s' belongs in [%s], not [%s]", k,
				     o->sect == S_CSMPD ? "csmpd" : "policy",
				     section);
		return !perr(ps, NULL, "unknown option '%s' in [%s]", k,
			     section);
	}
	return !take(ps, o, v);
}

/* libinih's reader: one line of the file per call (see the top). */
static char *ini_line(char *str, int num, void *stream)
{
	struct pstate *ps = stream;
	const char *s, *e, *nl;
	size_t n;

	if (ps->failed || ps->pos >= ps->len)
		return NULL;
	s = ps->buf + ps->pos;
	nl = memchr(s, '\n', ps->len - ps->pos);
	e = nl ? nl : ps->buf + ps->len;
	ps->pos = (size_t)(e - ps->buf) + (nl ? 1 : 0);
	ps->line++;
	if (memchr(s, 0, (size_t)(e - s))) {
		perr(ps, NULL, "NUL byte in the line");
		return NULL;
	}
	n = strcspn(s, "#;\n");
	if (s + n < e)
		e = s + n;
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	n = (size_t)(e - s);
	if (n + 2 > (size_t)num) {
		perr(ps, NULL, "line longer than %d characters (repeat the key for more values)",
		     num - 2);
		return NULL;
	}
	if (n && *s == '[') {
		ps->hdr_line = ps->line;
		ps->hdr_pending = true;
	}
	memcpy(str, s, n);
	str[n] = '\n';
	str[n + 1] = 0;
	return str;
}

/* libinih found a line that is neither a section nor key = value. */
static void syntax_error(struct pstate *ps, unsigned int line)
{
	const char *s = ps->buf, *end = ps->buf + ps->len;
	unsigned int i;

	for (i = 1; i < line && s < end; i++) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));

		s = nl ? nl + 1 : end;
	}
	while (s < end && isspace((unsigned char)*s) && *s != '\n')
		s++;
	ps->failed = false;
	ps->line = line;
	perr(ps, NULL, *s == '[' ? "section header without ']'" :
				   "expected 'key = value' or '[section]'");
}

static int parse_file(struct pstate *ps, const char *path)
{
	char *buf;
	size_t len, i;
	int ret;

	ret = read_file(path, &buf, &len);
	if (ret) {
		snprintf(ps->err, ps->errlen, "%s: %s", path, file_error(ret));
		ps->failed = ps->in_file = true;
		return ret;
	}
	ps->path = path;
	ps->buf = buf;
	ps->len = len;
	ps->src = SRC_FILE;
	ret = ini_parse_stream(ini_line, ps, ini_key, ps);
	if (ret > 0 && (!ps->failed || (unsigned int)ret < ps->fail_line))
		syntax_error(ps, (unsigned int)ret);
	else if (ret < 0 && !ps->failed)
		perr(ps, NULL, "out of memory");
	/* Groups without their own signature policy take [policy]'s. */
	for (i = 0; !ps->failed && i < ps->p->n_groups; i++)
		if (!ps->sig_set[i])
			ps->p->groups[i].uplink_sig = ps->p->uplink_sig;
	ps->path = NULL;
	ps->buf = NULL;
	free(buf);
	return ps->failed ? -EINVAL : 0;
}

/* ---- the command line ------------------------------------------------------- */

static void long_opts(struct option *lo)
{
	size_t i;

	for (i = 0; i < N_OPTS; i++)
		lo[i] = (struct option){
			opts[i].name,
			opts[i].kind == K_BOOL || opts[i].kind == K_STEER ?
				optional_argument : required_argument,
			NULL, (int)(256 + i),
		};
	lo[i++] = (struct option){ "config", required_argument, NULL, OPT_CONFIG };
	lo[i++] = (struct option){ "check-config", optional_argument, NULL, OPT_CHECK };
	lo[i++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
	lo[i++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	lo[i] = (struct option){ NULL, 0, NULL, 0 };
}

struct cmdline {
	const char *config;
	bool check, help, version;
	int positional;			/* argv index of the first, or 0 */
	int n_positional;
};

/* First pass: what to do, and which file; nothing is applied. */
static void scan_args(int argc, char **argv, const struct option *lo,
		      struct cmdline *cl)
{
	int opt;

	memset(cl, 0, sizeof(*cl));
	optind = 0;	/* glibc: start over, whatever a previous pass did */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (opt == OPT_CONFIG) {
			cl->config = optarg;
		} else if (opt == OPT_CHECK) {
			cl->check = true;
			if (optarg)
				cl->config = optarg;
		} else if (opt == OPT_HELP) {
			cl->help = true;
		} else if (opt == OPT_VERSION) {
			cl->version = true;
		}
	}
	if (optind < argc) {
		cl->positional = optind;
		cl->n_positional = argc - optind;
	}
	/* --check-config FILE: getopt leaves an optional value's FILE. */
	if (cl->check && !cl->config && cl->n_positional == 1) {
		cl->config = argv[cl->positional];
		cl->n_positional = 0;
	}
}

static int apply_args(struct pstate *ps, int argc, char **argv,
		      const struct option *lo)
{
	int opt;

	ps->src = SRC_ARGV;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (opt == '?')
			return perr(ps, NULL, "unknown option '%s' (csmpd --help lists them)",
				    argv[optind - 1]);
		if (opt == ':')
			return perr(ps, NULL, "%s needs a value", argv[optind - 1]);
		if (opt >= 256 && opt < (int)(256 + N_OPTS) &&
		    take(ps, &opts[opt - 256], optarg))
			return -EINVAL;
	}
	return 0;
}

/* ---- together ------------------------------------------------------------------- */

static int defaults(struct pstate *ps)
{
	size_t i;

	ps->src = SRC_DEFAULT;
	for (i = 0; i < N_OPTS; i++)
		if (opts[i].def && set_value(ps, &opts[i], opts[i].def))
			return -EINVAL;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* What no single option can check. */
static int validate(struct pstate *ps)
{
	struct csmpd_config *c = ps->c;
	struct csmp_policy *p = ps->p;
	size_t i, j;

	if (p->n_allow) {
		qsort(p->allow, p->n_allow, sizeof(uint64_t), cmp_u64);
		for (i = j = 1; i < p->n_allow; i++)
			if (p->allow[i] != p->allow[j - 1])
				p->allow[j++] = p->allow[i];
		p->n_allow = j;
	}
	if (!ps->apply_csmpd)
		return 0;
	if (!c->workers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		c->workers = n < 1 ? 1 : n > CSMPD_MAX_WORKERS ?
			     CSMPD_MAX_WORKERS : (unsigned int)n;
	}
	if (!c->nms_key_path && !c->unsigned_ok)
		return perr(ps, NULL, "nms-key PEM is required (registration answers must be signed); unsigned to run without");
	if (p->allowlist && !p->n_allow && !p->n_groups && !c->db_path)
		return perr(ps, NULL, "devices = allowlist but no allow, allow-file or [group] lists a device: every registration would be refused");
	return 0;
}

/* Parse argv (and its file) into ps; the caller frees on error. */
static int parse(struct pstate *ps, int argc, char **argv,
		 struct cmdline *cl)
{
	struct option lo[N_OPTS + 5];
	int ret;

	long_opts(lo);
	scan_args(argc, argv, lo, cl);
	if (cl->help || cl->version)
		return 0;
	ps->p = calloc(1, sizeof(*ps->p));
	if (!ps->p)
		return perr(ps, NULL, "out of memory");
	ret = defaults(ps);
	if (!ret && cl->config)
		ret = parse_file(ps, cl->config);
	if (!ret)
		ret = apply_args(ps, argc, argv, lo);
	if (!ret && cl->n_positional)
		ret = perr(ps, NULL, "unexpected argument '%s'",
			   argv[cl->positional]);
	if (!ret)
		ret = validate(ps);
	return ret;
}

int csmpd_conf_init(struct csmpd_config *c, int argc, char **argv, bool *done)
{
	char err[ERR_MAX] = "";
	struct pstate ps = {
		.c = c, .apply_csmpd = true, .err = err, .errlen = sizeof(err),
	};
	struct cmdline cl;
	int ret;

	memset(c, 0, sizeof(*c));
	*done = false;
	ret = parse(&ps, argc, argv, &cl);
	free(ps.sig_set);
	if (!ret && cl.help) {
		csmpd_conf_usage(stdout);
		*done = true;
		return 0;
	}
	if (!ret && cl.version) {
		csmp_version_print("csmpd");
		*done = true;
		return 0;
	}
	if (ret) {
		fprintf(stderr, ps.in_file ? "%%CSMP-2-CONFIG: %s\n" :
					     "csmpd: %s\n", err);
		csmp_policy_free(ps.p);
		csmpd_config_free(c);
		return ret;
	}
	c->policy = ps.p;
	c->config_path = cl.config;
	c->exchange_lifetime = CSMPD_EXCHANGE_LIFETIME;
	if (cl.check) {
		printf("%s: configuration ok\n",
		       cl.config ? cl.config : "command line");
		csmpd_config_free(c);
		*done = true;
	}
	return 0;
}

int csmpd_conf_policy(int argc, char **argv, struct csmp_policy **out,
		      char *err, size_t errlen)
{
	struct csmpd_config scratch;
	struct pstate ps = {
		.c = &scratch, .apply_csmpd = false, .err = err,
		.errlen = errlen,
	};
	struct cmdline cl;
	int ret;

	memset(&scratch, 0, sizeof(scratch));
	ret = parse(&ps, argc, argv, &cl);
	free(ps.sig_set);
	csmpd_config_free(&scratch);
	if (ret) {
		csmp_policy_free(ps.p);
		return ret;
	}
	*out = ps.p;
	return 0;
}

void csmpd_config_free(struct csmpd_config *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < N_OPTS; i++)
		if (opts[i].sect == S_CSMPD &&
		    (opts[i].kind == K_STR || opts[i].kind == K_ADDR ||
		     opts[i].kind == K_IP || opts[i].kind == K_STEER))
			free(*(char **)((char *)c + opts[i].off));
	csmp_policy_free(c->policy);
	memset(c, 0, sizeof(*c));
}

/* ---- the table, read-only ------------------------------------------------------ */

size_t csmpd_conf_n_options(void)
{
	return N_OPTS;
}

void csmpd_conf_option(size_t i, struct csmpd_conf_option *out)
{
	const struct opt *o = &opts[i];

	*out = (struct csmpd_conf_option){
		.name = o->name,
		.section = o->sect == S_CSMPD ? "csmpd" : "policy",
		.def = o->def, .arg = o->arg, .min = o->min, .max = o->max,
		.ranged = o->kind == K_UINT || o->kind == K_POW2 ||
			  o->kind == K_TLVS || o->kind == K_PORTS,
		.enumerated = o->kind == K_ENUM,
		.boolean = o->kind == K_BOOL,
		.value_optional = o->kind == K_BOOL || o->kind == K_STEER,
		.is_file = o->kind == K_ALLOWFILE,
	};
}

/* The name of value k of an ENUM row. */
static int enum_name(const struct opt *o, unsigned long k, char *buf,
		     size_t len)
{
	const char *s = o->arg, *bar;

	for (; k && s; k--) {
		bar = strchr(s, '|');
		s = bar ? bar + 1 : NULL;
	}
	if (!s)
		return -EINVAL;
	bar = strchr(s, '|');
	snprintf(buf, len, "%.*s", (int)(bar ? (size_t)(bar - s) : strlen(s)), s);
	return 0;
}

static unsigned long load_uint(const void *f, size_t size)
{
	return size == 1 ? *(const uint8_t *)f : size == 2 ?
	       *(const uint16_t *)f : *(const uint32_t *)f;
}

int csmpd_conf_value(const struct csmpd_config *c, size_t i, char *buf,
		     size_t len)
{
	const struct opt *o = &opts[i];
	const struct csmp_policy *p = c->policy;
	const char *f;
	size_t n = 0, k;

	if (i >= N_OPTS || (o->sect == S_POLICY && !p))
		return -EINVAL;
	f = (o->sect == S_CSMPD ? (const char *)c : (const char *)p) + o->off;
	buf[0] = 0;
	switch (o->kind) {
	case K_UINT:
	case K_POW2:
		snprintf(buf, len, "%lu", load_uint(f, o->size));
		break;
	case K_HEX16:
		snprintf(buf, len, "%04lx", load_uint(f, o->size));
		break;
	case K_ENUM:
		return enum_name(o, load_uint(f, o->size), buf, len);
	case K_BOOL:
		snprintf(buf, len, "%s", load_uint(f, o->size) ? "true" : "false");
		break;
	case K_STR:
	case K_ADDR:
	case K_IP:
	case K_STEER:
		snprintf(buf, len, "%s", *(char *const *)f ? *(char *const *)f : "");
		break;
	case K_PORTS: {
		const struct csmp_reply_block *b = (const void *)f;

		if (b->lo)
			snprintf(buf, len, "%u-%u", b->lo, b->hi);
		break;
	}
	case K_LISTEN:
		for (k = 0; k < c->n_listen && n < len; k++)
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
					      k ? " " : "", c->listen[k].text);
		break;
	case K_TLVS:
		for (k = 0; k < c->n_report_tlvs && n < len; k++)
			n += (size_t)snprintf(buf + n, len - n, "%s%u",
					      k ? "," : "", c->report_tlvs[k]);
		break;
	case K_EIDS:
	case K_ALLOWFILE:
		/* Both fill the one allowlist: its EIDs, sorted. */
		for (k = 0; k < p->n_allow && n < len; k++)
			n += (size_t)snprintf(buf + n, len - n, "%s%016llX",
					      k ? " " : "",
					      (unsigned long long)p->allow[k]);
		break;
	case K_MEMBERS:
		return -EINVAL;
	}
	return 0;
}

/* ---- --help --------------------------------------------------------------------- */

/* text from column col, wrapped before column 80. */
static void wrapped(FILE *f, const char *text, int col, int at)
{
	const char *s = text;

	while (*s) {
		int room = 79 - at;
		const char *e = s, *brk = NULL;

		while (*e && e - s <= room) {
			if (*e == ' ')
				brk = e;
			e++;
		}
		if (!*e)
			brk = e;
		else if (!brk)
			brk = e;	/* one long word */
		fprintf(f, "%.*s\n", (int)(brk - s), s);
		s = *brk ? brk + 1 : brk;
		if (*s)
			fprintf(f, "%*s", col, "");
		at = col;
	}
}

static void usage_opt(FILE *f, const struct opt *o)
{
	char head[64], help[512];
	bool opt_val = o->kind == K_BOOL || o->kind == K_STEER;
	int n;

	n = snprintf(head, sizeof(head), "  --%s%s%s%s", o->name,
		     opt_val ? "[=" : " ", o->arg, opt_val ? "]" : "");
	if (o->kind == K_UINT || o->kind == K_POW2)
		snprintf(help, sizeof(help), "%s (%lu..%lu%s%s)", o->help,
			 o->min, o->max, o->def ? ", default " : "",
			 o->def ? o->def : "");
	else
		snprintf(help, sizeof(help), "%s%s%s%s", o->help,
			 o->def ? " (default " : "", o->def ? o->def : "",
			 o->def ? ")" : "");
	fputs(head, f);
	if (n >= 30) {
		fprintf(f, "\n%30s", "");
		n = 30;
	} else {
		fprintf(f, "%*s", 30 - n, "");
		n = 30;
	}
	wrapped(f, help, 30, n);
}

void csmpd_conf_usage(FILE *f)
{
	static const char *const sects[] = { "csmpd", "policy" };
	unsigned int s;
	size_t i;

	fputs("usage: csmpd [--config FILE] [OPTION...]\n"
	      "       csmpd --check-config [FILE] [OPTION...]\n"
	      "       csmpd --help | --version\n"
	      "The CSMP head-end daemon: answers device registrations (CON POST /r) with a\n"
	      "signed 2.03, keeps each device's session and latest report, logs\n"
	      "notifications. One worker thread and SO_REUSEPORT socket per listening\n"
	      "address per CPU.\n"
	      "\n"
	      "  --config FILE               read the options below from FILE (INI); the\n"
	      "                              command line overrides it\n"
	      "  --check-config[=FILE]       parse and check the options and FILE, open\n"
	      "                              nothing else, exit 0 (good) or 2 (bad)\n"
	      "  --version                   print csmpd's version\n"
	      "  -h, --help                  this text\n", f);
	for (s = 0; s < 2; s++) {
		fprintf(f, "\n[%s] options: --NAME VALUE, or NAME = VALUE in the file's [%s];\n%s\n",
			sects[s], sects[s], s ? "re-read by every reload (SIGHUP, csmpctl reload)" :
						"read at start");
		for (i = 0; i < N_OPTS; i++)
			if (opts[i].sect == s)
				usage_opt(f, &opts[i]);
	}
	fputs("\n[group NAME] sections of the file (see csmpd.conf.example): members (EIDs,\n"
	      "EID prefixes such as 00078108*), config-group, uplink-signature.\n"
	      "\n"
	      "Logs go to stderr as %CSMP-<severity>-<MNEMONIC>: text, rate-limited per\n"
	      "mnemonic. Exit status: 0 stopped by SIGTERM/SIGINT, 1 failed, 2 bad options.\n"
	      "\n"
	      "Example (a key from `csmpctl keygen nms.pem nms.pub`):\n"
	      "  csmpd --listen '[::1]:61628' --workers 2 --nms-key nms.pem --backend-id 00a1 \\\n"
	      "        --report-interval 900 --report-tlvs 22,23,35\n", f);
}
