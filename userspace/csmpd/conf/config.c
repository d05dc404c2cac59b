// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The INI parser for csmpd.conf (config.h) and the policy snapshots it
 * produces, with their publication to the workers. Every value is checked
 * where it is read so an error names the file and line it came from.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"

struct parser {
	const char *path;
	unsigned int line;
	char *err;
	size_t errlen;
	struct csmp_conf *c;
	struct csmp_policy *p;
	struct csmp_group *group;	/* current [group NAME], or NULL */
	enum { SEC_NONE, SEC_CSMPD, SEC_POLICY, SEC_GROUP } sec;
	size_t cap_allow;
	bool group_sig_set;		/* current group set uplink-signature */
	bool *sig_set;			/* per group, for the default */
};

static int perr(struct parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int perr(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(ps->err, ps->errlen, "%s:%u: ", ps->path, ps->line);
	if (n < 0 || (size_t)n >= ps->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *csmp_sigpol_name(enum csmp_sigpol p)
{
	switch (p) {
	case CSMP_SIGPOL_OFF:
		return "off";
	case CSMP_SIGPOL_OPTIONAL:
		return "optional";
	case CSMP_SIGPOL_REQUIRED:
		return "required";
	}
	return "?";
}

static int parse_uint(struct parser *ps, const char *key, const char *v,
		      unsigned long min, unsigned long max, unsigned int *out)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 0);
	if (!*v || *end || errno || v[0] == '-' || n < min || n > max)
		return perr(ps, "%s: '%s' is not a number in %lu..%lu", key, v,
			    min, max);
	*out = (unsigned int)n;
	return 0;
}

static int parse_sigpol(struct parser *ps, const char *key, const char *v,
			enum csmp_sigpol *out)
{
	if (!strcmp(v, "off"))
		*out = CSMP_SIGPOL_OFF;
	else if (!strcmp(v, "optional"))
		*out = CSMP_SIGPOL_OPTIONAL;
	else if (!strcmp(v, "required"))
		*out = CSMP_SIGPOL_REQUIRED;
	else
		return perr(ps, "%s: '%s' is not off, optional or required",
			    key, v);
	return 0;
}

static int parse_bool(struct parser *ps, const char *key, const char *v,
		      bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return perr(ps, "%s: '%s' is not true or false", key, v);
	return 0;
}

static int set_str(struct parser *ps, const char *key, const char *v,
		   char **out)
{
	char *s;

	if (!*v)
		return perr(ps, "%s: empty value", key);
	s = strdup(v);
	if (!s)
		return perr(ps, "out of memory");
	free(*out);
	*out = s;
	return 0;
}

/* "0A0027FFFE3B2AB2" (exact) or "00078108*" (prefix of 1..15 digits). */
static int parse_eid_match(struct parser *ps, const char *key, const char *w,
			   struct csmp_eid_match *m, bool prefix_ok)
{
	size_t n = strlen(w), digits = n, i;
	uint64_t v = 0;

	if (prefix_ok && n && w[n - 1] == '*')
		digits = n - 1;
	if (!digits || digits > 16 || (digits < 16 && digits == n))
		goto bad;
	for (i = 0; i < digits; i++) {
		if (!isxdigit((unsigned char)w[i]))
			goto bad;
		v = v << 4 | (uint64_t)(isdigit((unsigned char)w[i]) ?
			      w[i] - '0' : (tolower((unsigned char)w[i]) - 'a' + 10));
	}
	m->mask = digits == 16 ? ~0ull : ~0ull << (4 * (16 - digits));
	m->value = digits == 16 ? v : v << (4 * (16 - digits));
	return 0;
bad:
	return perr(ps, "%s: '%s' is not an EID (16 hex digits)%s", key, w,
		    prefix_ok ? " or an EID prefix (hex digits then '*')" : "");
}

static int add_allow(struct parser *ps, const char *key, const char *w)
{
	struct csmp_eid_match m;
	int ret;

	ret = parse_eid_match(ps, key, w, &m, false);
	if (ret)
		return ret;
	if (ps->p->n_allow == ps->cap_allow) {
		size_t cap = ps->cap_allow ? ps->cap_allow * 2 : 64;
		uint64_t *a = realloc(ps->p->allow, cap * sizeof(*a));

		if (!a)
			return perr(ps, "out of memory");
		ps->p->allow = a;
		ps->cap_allow = cap;
	}
	ps->p->allow[ps->p->n_allow++] = m.value;
	return 0;
}

/* Each whitespace-separated word of v through fn. */
static int each_word(struct parser *ps, const char *key, char *v,
		     int (*fn)(struct parser *, const char *, const char *))
{
	char *save = NULL, *w;
	int ret;

	for (w = strtok_r(v, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
		ret = fn(ps, key, w);
		if (ret)
			return ret;
	}
	return 0;
}

static int add_member(struct parser *ps, const char *key, const char *w)
{
	struct csmp_group *g = ps->group;
	struct csmp_eid_match m, *a;
	int ret;

	ret = parse_eid_match(ps, key, w, &m, true);
	if (ret)
		return ret;
	a = realloc(g->members, (g->n_members + 1) * sizeof(*a));
	if (!a)
		return perr(ps, "out of memory");
	g->members = a;
	g->members[g->n_members++] = m;
	return 0;
}

static int read_allow_file(struct parser *ps, const char *key, const char *path)
{
	struct parser sub = *ps;
	char line[256];
	FILE *f;
	int ret = 0;

	f = fopen(path, "re");
	if (!f)
		return perr(ps, "%s: cannot open %s: %s", key, path,
			    strerror(errno));
	sub.path = path;
	sub.line = 0;
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *e;

		sub.line++;
		while (isspace((unsigned char)*s))
			s++;
		e = s + strcspn(s, "#;\r\n");
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		*e = 0;
		if (!*s)
			continue;
		ret = add_allow(&sub, "allow-file", s);
		if (ret)
			break;
	}
	fclose(f);
	ps->cap_allow = sub.cap_allow;
	return ret;
}

#define SET(bit) (ps->c->set |= 1ull << (bit))

static int key_csmpd(struct parser *ps, const char *k, char *v)
{
	struct csmp_conf *c = ps->c;
	unsigned int n;
	int ret;

	if (!strcmp(k, "listen")) {
		if (!(c->set & (1ull << CSMP_CONF_LISTEN))) {
			while (c->n_listen)
				free(c->listen[--c->n_listen]);
		}
		if (c->n_listen == CSMP_CONF_MAX_LISTEN)
			return perr(ps, "listen: at most %d addresses",
				    CSMP_CONF_MAX_LISTEN);
		if (!*v || !strchr(v, ':'))
			return perr(ps, "listen: '%s' is not ADDR:PORT", v);
		c->listen[c->n_listen] = strdup(v);
		if (!c->listen[c->n_listen])
			return perr(ps, "out of memory");
		c->n_listen++;
		SET(CSMP_CONF_LISTEN);
		return 0;
	}
	if (!strcmp(k, "workers")) {
		ret = parse_uint(ps, k, v, 1, 256, &c->workers);
		SET(CSMP_CONF_WORKERS);
		return ret;
	}
	if (!strcmp(k, "io")) {
		if (strcmp(v, "auto") && strcmp(v, "uring") && strcmp(v, "mmsg"))
			return perr(ps, "io: '%s' is not auto, uring or mmsg", v);
		SET(CSMP_CONF_IO);
		return set_str(ps, k, v, &c->io);
	}
	if (!strcmp(k, "backend-id")) {
		ret = parse_uint(ps, k, v, 0, 0xffff, &c->backend_id);
		SET(CSMP_CONF_BACKEND_ID);
		return ret;
	}
	if (!strcmp(k, "reply-ports")) {
		unsigned int lo, hi;
		int end = 0;

		if (sscanf(v, "%u-%u%n", &lo, &hi, &end) != 2 || v[end] ||
		    !lo || lo > hi || hi > 65535)
			return perr(ps, "reply-ports: '%s' is not LO-HI with 1 <= LO <= HI <= 65535",
				    v);
		c->reply_lo = lo;
		c->reply_hi = hi;
		SET(CSMP_CONF_REPLY_PORTS);
		return 0;
	}
	if (!strcmp(k, "db")) {
		SET(CSMP_CONF_DB);
		return set_str(ps, k, v, &c->db);
	}
	if (!strcmp(k, "db-sync")) {
		if (strcmp(v, "normal") && strcmp(v, "full"))
			return perr(ps, "db-sync: '%s' is not normal or full", v);
		c->db_sync_full = !strcmp(v, "full");
		SET(CSMP_CONF_DB_SYNC);
		return 0;
	}
	if (!strcmp(k, "commit-interval-ms")) {
		ret = parse_uint(ps, k, v, 1, 10000, &c->commit_interval_ms);
		SET(CSMP_CONF_COMMIT_INTERVAL);
		return ret;
	}
	if (!strcmp(k, "commit-batch")) {
		ret = parse_uint(ps, k, v, 1, 1000000, &c->commit_batch);
		SET(CSMP_CONF_COMMIT_BATCH);
		return ret;
	}
	if (!strcmp(k, "ack-after-commit")) {
		ret = parse_bool(ps, k, v, &c->ack_after_commit);
		SET(CSMP_CONF_ACK_AFTER_COMMIT);
		return ret;
	}
	if (!strcmp(k, "nms-key")) {
		SET(CSMP_CONF_NMS_KEY);
		return set_str(ps, k, v, &c->nms_key);
	}
	if (!strcmp(k, "device-keys")) {
		SET(CSMP_CONF_DEVICE_KEYS);
		return set_str(ps, k, v, &c->device_keys);
	}
	if (!strcmp(k, "control")) {
		SET(CSMP_CONF_CONTROL);
		return set_str(ps, k, v, &c->control);
	}
	if (!strcmp(k, "metrics")) {
		if (!strchr(v, ':'))
			return perr(ps, "metrics: '%s' is not ADDR:PORT", v);
		SET(CSMP_CONF_METRICS);
		return set_str(ps, k, v, &c->metrics);
	}
	if (!strcmp(k, "events")) {
		SET(CSMP_CONF_EVENTS);
		return set_str(ps, k, v, &c->events);
	}
	if (!strcmp(k, "user")) {
		SET(CSMP_CONF_USER);
		return set_str(ps, k, v, &c->user);
	}
	if (!strcmp(k, "log-level")) {
		ret = parse_uint(ps, k, v, 0, 7, &n);
		c->log_level = (int)n;
		SET(CSMP_CONF_LOG_LEVEL);
		return ret;
	}
	if (!strcmp(k, "report-interval")) {
		ret = parse_uint(ps, k, v, 1, 86400, &c->report_interval);
		SET(CSMP_CONF_REPORT_INTERVAL);
		return ret;
	}
	if (!strcmp(k, "signature-lifetime")) {
		ret = parse_uint(ps, k, v, 1, 86400 * 365, &c->sig_lifetime);
		SET(CSMP_CONF_SIG_LIFETIME);
		return ret;
	}
	return perr(ps, "unknown option '%s' in [csmpd]", k);
}

static int key_policy(struct parser *ps, const char *k, char *v)
{
	struct csmp_policy *p = ps->p;

	if (!strcmp(k, "devices")) {
		if (!strcmp(v, "open"))
			p->allowlist = false;
		else if (!strcmp(v, "allowlist"))
			p->allowlist = true;
		else
			return perr(ps, "devices: '%s' is not open or allowlist",
				    v);
		return 0;
	}
	if (!strcmp(k, "allow"))
		return each_word(ps, k, v, add_allow);
	if (!strcmp(k, "allow-file")) {
		if (!*v)
			return perr(ps, "allow-file: empty value");
		return read_allow_file(ps, k, v);
	}
	if (!strcmp(k, "uplink-signature"))
		return parse_sigpol(ps, k, v, &p->uplink_sig);
	if (!strcmp(k, "signature-skew"))
		return parse_uint(ps, k, v, 0, 86400, &p->sig_skew);
	return perr(ps, "unknown option '%s' in [policy]", k);
}

static int key_group(struct parser *ps, const char *k, char *v)
{
	struct csmp_group *g = ps->group;

	if (!strcmp(k, "members"))
		return each_word(ps, k, v, add_member);
	if (!strcmp(k, "config-group"))
		return parse_uint(ps, k, v, 1, UINT32_MAX, &g->config_group);
	if (!strcmp(k, "uplink-signature")) {
		ps->sig_set[g - ps->p->groups] = true;
		return parse_sigpol(ps, k, v, &g->uplink_sig);
	}
	return perr(ps, "unknown option '%s' in [group %s]", k, g->name);
}

static int section(struct parser *ps, char *s)
{
	struct csmp_policy *p = ps->p;
	struct csmp_group *g;
	bool *ss;
	size_t i;
	char *name;

	if (!strcmp(s, "csmpd")) {
		ps->sec = SEC_CSMPD;
		return 0;
	}
	if (!strcmp(s, "policy")) {
		ps->sec = SEC_POLICY;
		return 0;
	}
	if (strncmp(s, "group", 5) || !isspace((unsigned char)s[5]))
		return perr(ps, "unknown section [%s] (csmpd, policy, group NAME)",
			    s);
	name = s + 5;
	while (isspace((unsigned char)*name))
		name++;
	if (!*name || strlen(name) >= CSMP_CONF_NAME_MAX)
		return perr(ps, "group name must be 1..%d characters",
			    CSMP_CONF_NAME_MAX - 1);
	for (i = 0; name[i]; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_' && name[i] != '.')
			return perr(ps, "group name '%s': use letters, digits, "
				    "'-', '_' or '.'", name);
	for (i = 0; i < p->n_groups; i++)
		if (!strcmp(p->groups[i].name, name))
			return perr(ps, "group '%s' defined twice", name);
	g = realloc(p->groups, (p->n_groups + 1) * sizeof(*g));
	if (!g)
		return perr(ps, "out of memory");
	p->groups = g;
	ss = realloc(ps->sig_set, (p->n_groups + 1) * sizeof(*ss));
	if (!ss)
		return perr(ps, "out of memory");
	ps->sig_set = ss;
	ss[p->n_groups] = false;
	g = &p->groups[p->n_groups++];
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	ps->group = g;
	ps->sec = SEC_GROUP;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int defaults(struct csmp_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->io = strdup("auto");
	c->db = strdup(CSMP_DEF_DB);
	c->nms_key = strdup(CSMP_DEF_NMS_KEY);
	c->device_keys = strdup(CSMP_DEF_DEVICE_KEYS);
	c->control = strdup(CSMP_DEF_CONTROL);
	c->listen[0] = strdup("[::]:61628");
	c->listen[1] = strdup("[::]:61624");
	c->n_listen = 2;
	c->workers = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	c->db_sync_full = true;
	c->ack_after_commit = true;
	c->commit_interval_ms = CSMP_DEF_COMMIT_INTERVAL_MS;
	c->commit_batch = CSMP_DEF_COMMIT_BATCH;
	c->log_level = CSMP_DEF_LOG_LEVEL;
	c->report_interval = 900;
	c->sig_lifetime = 3600;
	c->policy = calloc(1, sizeof(*c->policy));
	if (!c->io || !c->db || !c->nms_key || !c->device_keys ||
	    !c->control || !c->listen[0] || !c->listen[1] || !c->policy)
		return -ENOMEM;
	c->policy->sig_skew = CSMP_DEF_SIG_SKEW;
	return 0;
}

int csmp_conf_load(const char *path, struct csmp_conf *c, char *err,
		   size_t errlen)
{
	struct parser ps = { .path = path, .err = err, .errlen = errlen, .c = c };
	char *line = NULL;
	size_t cap = 0, i;
	FILE *f;
	int ret;

	ret = defaults(c);
	if (ret) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto err_free;
	}
	ps.p = c->policy;
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto err_free;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *s = line, *e, *eq, *k, *v;

		ps.line++;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#' || *s == ';')
			continue;
		/* Comments run to the end of the line; '#' inside a value
		 * would be an odd path, so it is simply not allowed. */
		e = s + strcspn(s, "#;\r\n");
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		*e = 0;
		if (*s == '[') {
			if (e[-1] != ']') {
				ret = perr(&ps, "section header without ']'");
				goto err_close;
			}
			e[-1] = 0;
			ret = section(&ps, s + 1);
			if (ret)
				goto err_close;
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			ret = perr(&ps, "expected 'key = value' or '[section]'");
			goto err_close;
		}
		k = s;
		for (e = eq; e > k && isspace((unsigned char)e[-1]); e--)
			;
		*e = 0;
		v = eq + 1;
		while (isspace((unsigned char)*v))
			v++;
		if (!*k) {
			ret = perr(&ps, "missing key before '='");
			goto err_close;
		}
		switch (ps.sec) {
		case SEC_NONE:
			ret = perr(&ps, "'%s' outside a section", k);
			break;
		case SEC_CSMPD:
			ret = key_csmpd(&ps, k, v);
			break;
		case SEC_POLICY:
			ret = key_policy(&ps, k, v);
			break;
		case SEC_GROUP:
			ret = key_group(&ps, k, v);
			break;
		}
		if (ret)
			goto err_close;
	}
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto err_close;
	}
	fclose(f);
	free(line);

	/* Groups without their own signature policy take [policy]'s. */
	for (i = 0; i < ps.p->n_groups; i++)
		if (!ps.sig_set[i])
			ps.p->groups[i].uplink_sig = ps.p->uplink_sig;
	free(ps.sig_set);
	if (ps.p->n_allow)
		qsort(ps.p->allow, ps.p->n_allow, sizeof(uint64_t), cmp_u64);
	return 0;

err_close:
	fclose(f);
err_free:
	free(line);
	free(ps.sig_set);
	csmp_conf_free(c);
	return ret;
}

void csmp_policy_free(struct csmp_policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_groups; i++)
		free(p->groups[i].members);
	free(p->groups);
	free(p->allow);
	free(p);
}

void csmp_conf_free(struct csmp_conf *c)
{
	unsigned int i;

	if (!c)
		return;
	for (i = 0; i < c->n_listen; i++)
		free(c->listen[i]);
	free(c->io);
	free(c->db);
	free(c->nms_key);
	free(c->device_keys);
	free(c->control);
	free(c->metrics);
	free(c->events);
	free(c->user);
	csmp_policy_free(c->policy);
	memset(c, 0, sizeof(*c));
}

const struct csmp_group *csmp_policy_group(const struct csmp_policy *p,
					   uint64_t eid)
{
	size_t i, j;

	for (i = 0; i < p->n_groups; i++)
		for (j = 0; j < p->groups[i].n_members; j++) {
			const struct csmp_eid_match *m = &p->groups[i].members[j];

			if ((eid & m->mask) == m->value)
				return &p->groups[i];
		}
	return NULL;
}

bool csmp_policy_allowed(const struct csmp_policy *p, uint64_t eid)
{
	if (!p->allowlist)
		return true;
	if (p->n_allow && bsearch(&eid, p->allow, p->n_allow, sizeof(uint64_t), cmp_u64))
		return true;
	/* Listing a device in a group is enrolling it. */
	return csmp_policy_group(p, eid) != NULL;
}

enum csmp_sigpol csmp_policy_uplink(const struct csmp_policy *p, uint64_t eid)
{
	const struct csmp_group *g = csmp_policy_group(p, eid);

	return g ? g->uplink_sig : p->uplink_sig;
}

/* ---- publication ------------------------------------------------------- */

#define GP_IDLE UINT64_MAX

int csmp_policy_ref_init(struct csmp_policy_ref *r, unsigned int n_readers,
			 struct csmp_policy *initial)
{
	unsigned int i;

	r->readers = aligned_alloc(64, sizeof(*r->readers) *
					   (n_readers ? n_readers : 1));
	if (!r->readers)
		return -ENOMEM;
	r->n_readers = n_readers;
	for (i = 0; i < n_readers; i++)
		atomic_init(&r->readers[i].seen, GP_IDLE);
	atomic_init(&r->gp, 1);
	initial->generation = 1;
	atomic_init(&r->cur, initial);
	return 0;
}

void csmp_policy_ref_fini(struct csmp_policy_ref *r)
{
	if (!r)
		return;
	csmp_policy_free(atomic_load(&r->cur));
	free(r->readers);
	r->readers = NULL;
}

struct csmp_policy *csmp_policy_get(struct csmp_policy_ref *r, unsigned int i)
{
	/* Announce first, then load: a publisher that swapped before our
	 * load waits for this reader's next announcement. */
	atomic_store(&r->readers[i].seen, atomic_load(&r->gp));
	return atomic_load(&r->cur);
}

void csmp_policy_idle(struct csmp_policy_ref *r, unsigned int i)
{
	atomic_store(&r->readers[i].seen, GP_IDLE);
}

int csmp_policy_publish(struct csmp_policy_ref *r, struct csmp_policy *p,
			unsigned int timeout_ms)
{
	struct csmp_policy *old;
	struct timespec t0, t;
	uint64_t gp;
	unsigned int i;

	p->generation = atomic_load(&r->gp) + 1;
	old = atomic_exchange(&r->cur, p);
	gp = atomic_fetch_add(&r->gp, 1) + 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < r->n_readers;) {
		uint64_t s = atomic_load(&r->readers[i].seen);

		if (s >= gp) {
			i++;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000 >= (long)timeout_ms)
			return -ETIMEDOUT;	/* old is leaked on purpose */
		usleep(1000);
	}
	csmp_policy_free(old);
	return 0;
}
