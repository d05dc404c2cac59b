// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * LB control (see lbctl.h): the state file, loading and pinning csmp_lb,
 * attaching it, and writing state into its pinned maps with an atomic
 * Maglev table swap (two tables in csmp_table, the config says which).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sodium.h>

#include "lbctl.h"
#include "csmp/reply.h"
#include "maglev.h"
#include "csmp_lb.skel.h"
#include <csmp/kfuncs.h>

#define LB_PROG_PIN	"csmp_lb_prog"

void csmp_lb_key_words(const uint8_t key[16], uint64_t *k0, uint64_t *k1)
{
	uint64_t a = 0, b = 0;
	int i;

	for (i = 7; i >= 0; i--) {
		a = a << 8 | key[i];
		b = b << 8 | key[8 + i];
	}
	*k0 = a;
	*k1 = b;
}

int csmp_lb_state_init(struct csmp_lb_state *st)
{
	memset(st, 0, sizeof(*st));
	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(st->key, sizeof(st->key));
	st->mode = CSMP_LB_MODE_ENCAP;
	st->port = CSMP_PORT;
	st->port_alt = CSMP_PORT_ALT;
	st->reply_lo = CSMP_REPLY_RANGE_LO;
	st->reply_hi = CSMP_REPLY_RANGE_HI;
	/* A device may register 3 times at once, then once per 5 s. */
	st->eid_rate = 200;
	st->eid_burst = 3000;
	st->global_rate = 0;
	st->global_burst = 0;
	st->learn = true;
	return 0;
}

struct csmp_lb_be *csmp_lb_state_be(struct csmp_lb_state *st, uint16_t id)
{
	unsigned int i;

	for (i = 0; i < st->n_be; i++)
		if (st->be[i].id == id)
			return &st->be[i];
	return NULL;
}

int csmp_lb_parse_addr(const char *s, struct in6_addr *a)
{
	struct in_addr v4;

	if (inet_pton(AF_INET6, s, a) == 1)
		return 0;
	if (inet_pton(AF_INET, s, &v4) == 1) {
		memset(a, 0, sizeof(*a));
		a->s6_addr[10] = 0xff;
		a->s6_addr[11] = 0xff;
		memcpy(&a->s6_addr[12], &v4, 4);
		return 0;
	}
	return -EINVAL;
}

void csmp_lb_format_addr(const struct in6_addr *a, char *out, size_t len)
{
	if (IN6_IS_ADDR_V4MAPPED(a))
		inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a, out, (socklen_t)len);
}

static const char *const be_state_names[] = {
	[CSMP_BE_DOWN] = "down",
	[CSMP_BE_ACTIVE] = "active",
	[CSMP_BE_DRAINING] = "draining",
};

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_eid(const char *s, uint64_t *eid)
{
	uint64_t v = 0;
	int i;

	if (strlen(s) != 16)
		return -EINVAL;
	for (i = 0; i < 16; i++) {
		int c = s[i], h;

		if (c >= '0' && c <= '9')
			h = c - '0';
		else if (c >= 'a' && c <= 'f')
			h = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			h = c - 'A' + 10;
		else
			return -EINVAL;
		v = v << 4 | (uint64_t)h;
	}
	*eid = v;
	return 0;
}

/* One directive; returns 0 or a static message. */
static const char *state_line(struct csmp_lb_state *st, char **w, int n)
{
	uint32_t a, b;

	if (!strcmp(w[0], "key")) {
		int i;

		if (n != 2 || strlen(w[1]) != 32)
			return "key needs 32 hex digits";
		for (i = 0; i < 16; i++) {
			unsigned int byte;

			if (!isxdigit((unsigned char)w[1][2 * i]) ||
			    !isxdigit((unsigned char)w[1][2 * i + 1]) ||
			    sscanf(w[1] + 2 * i, "%2x", &byte) != 1)
				return "key needs 32 hex digits";
			st->key[i] = (uint8_t)byte;
		}
	} else if (!strcmp(w[0], "iface")) {
		if (n != 2 || strlen(w[1]) >= IF_NAMESIZE)
			return "iface needs an interface name";
		strcpy(st->iface, w[1]);
	} else if (!strcmp(w[0], "mode")) {
		if (n == 2 && !strcmp(w[1], "encap"))
			st->mode = CSMP_LB_MODE_ENCAP;
		else if (n == 2 && !strcmp(w[1], "local"))
			st->mode = CSMP_LB_MODE_LOCAL;
		else
			return "mode is encap or local";
	} else if (!strcmp(w[0], "vip")) {
		if (n != 2 || st->n_vips == CSMP_LB_MAX_VIPS ||
		    csmp_lb_parse_addr(w[1], &st->vips[st->n_vips]))
			return "vip needs an address (at most 64 VIPs)";
		st->n_vips++;
	} else if (!strcmp(w[0], "lb-addr")) {
		if (n != 2 || csmp_lb_parse_addr(w[1], &st->lb_addr))
			return "lb-addr needs an IPv6 address";
	} else if (!strcmp(w[0], "ports")) {
		if (n != 3 || parse_u32(w[1], 65535, &a) ||
		    parse_u32(w[2], 65535, &b) || !a || !b)
			return "ports needs two UDP ports";
		st->port = (uint16_t)a;
		st->port_alt = (uint16_t)b;
	} else if (!strcmp(w[0], "reply-ports")) {
		if (n != 3 || parse_u32(w[1], 65535, &a) ||
		    parse_u32(w[2], 65535, &b) || a > b)
			return "reply-ports needs LO HI";
		st->reply_lo = (uint16_t)a;
		st->reply_hi = (uint16_t)b;
	} else if (!strcmp(w[0], "eid-rate")) {
		if (n != 3 || parse_u32(w[1], UINT32_MAX, &st->eid_rate) ||
		    parse_u32(w[2], UINT32_MAX, &st->eid_burst))
			return "eid-rate needs RATE BURST (milli)";
	} else if (!strcmp(w[0], "global-rate")) {
		if (n != 3 || parse_u32(w[1], UINT32_MAX, &st->global_rate) ||
		    parse_u32(w[2], UINT32_MAX, &st->global_burst))
			return "global-rate needs RATE BURST (milli)";
	} else if (!strcmp(w[0], "learn")) {
		if (n != 2 || (strcmp(w[1], "on") && strcmp(w[1], "off")))
			return "learn is on or off";
		st->learn = !strcmp(w[1], "on");
	} else if (!strcmp(w[0], "generation")) {
		if (n != 2 || parse_u32(w[1], UINT32_MAX, &st->generation))
			return "generation needs a number";
	} else if (!strcmp(w[0], "backend")) {
		struct csmp_lb_be be = {};
		uint32_t s;

		if (n != 5 && n != 7)
			return "backend ID ADDR STATE WEIGHT [PORT_LO PORT_HI]";
		if (parse_u32(w[1], CSMP_LB_MAX_BACKENDS - 1, &a) || !a)
			return "backend id must be 1..4095";
		be.id = (uint16_t)a;
		if (csmp_lb_parse_addr(w[2], &be.addr))
			return "backend address does not parse";
		for (s = 0; s < 3; s++)
			if (!strcmp(w[3], be_state_names[s]))
				break;
		if (s == 3)
			return "backend state is active, draining or down";
		be.state = s;
		if (parse_u32(w[4], CSMP_MAGLEV_MAX_WEIGHT, &be.weight) ||
		    !be.weight)
			return "backend weight must be 1..1000";
		if (n == 7) {
			if (parse_u32(w[5], 65535, &a) ||
			    parse_u32(w[6], 65535, &b) || a > b)
				return "backend reply ports need LO HI";
			be.port_lo = (uint16_t)a;
			be.port_hi = (uint16_t)b;
		}
		if (csmp_lb_state_be(st, be.id))
			return "duplicate backend id";
		if (st->n_be == CSMP_LB_STATE_MAX_BE)
			return "too many backends";
		st->be[st->n_be++] = be;
	} else if (!strcmp(w[0], "pin")) {
		uint64_t eid;

		if (n != 3 || parse_eid(w[1], &eid) ||
		    parse_u32(w[2], CSMP_LB_MAX_BACKENDS - 1, &a) || !a)
			return "pin EID(16 hex) BACKEND";
		if (st->n_pins == CSMP_LB_STATE_MAX_PINS)
			return "too many pins";
		st->pins[st->n_pins].eid = eid;
		st->pins[st->n_pins].backend = (uint16_t)a;
		st->n_pins++;
	} else {
		return "unknown directive";
	}
	return NULL;
}

/*
 * The state file holds the Maglev key and decides where every device goes:
 * only a regular file of our own that nobody else may write is one. Its
 * directory may be world-writable (the README's /tmp example), so a file
 * there may be anybody's, or a link to anything.
 */
static int state_check(const struct stat *sb, const char *path, char *err,
		       size_t errlen)
{
	if (S_ISLNK(sb->st_mode)) {
		snprintf(err, errlen, "%s: a symbolic link, refused as the LB state",
			 path);
		return -ELOOP;
	}
	if (!S_ISREG(sb->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file, refused as the LB state",
			 path);
		return -EINVAL;
	}
	if (sb->st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by us (uid %u): refused as the LB state",
			 path, (unsigned int)sb->st_uid, (unsigned int)geteuid());
		return -EPERM;
	}
	if (sb->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s: writable by others (mode %04o): refused as the LB state",
			 path, (unsigned int)(sb->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* Open the state file to read: an fd, or -errno with err set. */
static int state_open(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd, ret;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ELOOP)
			snprintf(err, errlen, "%s: a symbolic link, refused as the LB state",
				 path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &sb)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		goto err_close;
	}
	ret = state_check(&sb, path, err, errlen);
	if (ret)
		goto err_close;
	return fd;

err_close:
	close(fd);
	return ret;
}

int csmp_lb_state_load(const char *path, struct csmp_lb_state *out,
		       char *err, size_t errlen)
{
	struct csmp_lb_state *st;
	char line[512];
	unsigned int lineno = 0;
	bool have_key = false;
	FILE *f;
	int fd, ret = 0;

	fd = state_open(path, err, errlen);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "r");
	if (!f) {
		ret = -errno;
		close(fd);
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	st = malloc(sizeof(*st));
	if (!st) {
		ret = -ENOMEM;
		goto out_close;
	}
	csmp_lb_state_init(st);
	while (fgets(line, sizeof(line), f)) {
		char *w[8], *save = NULL, *tok, *p = line;
		const char *why;
		int n = 0;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			ret = -EINVAL;
			goto out_free;
		}
		if ((tok = strchr(p, '#')))
			*tok = 0;
		while (n < 8 && (tok = strtok_r(p, " \t\r\n", &save))) {
			w[n++] = tok;
			p = NULL;
		}
		if (!n)
			continue;
		if (n == 8) {
			snprintf(err, errlen, "%s:%u: too many words", path, lineno);
			ret = -EINVAL;
			goto out_free;
		}
		why = state_line(st, w, n);
		if (why) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			ret = -EINVAL;
			goto out_free;
		}
		if (!strcmp(w[0], "key"))
			have_key = true;
	}
	if (!have_key) {
		snprintf(err, errlen, "%s:%u: no key line", path, lineno);
		ret = -EINVAL;
		goto out_free;
	}
	memcpy(out, st, sizeof(*st));
out_free:
	free(st);
out_close:
	fclose(f);
	return ret;
}

static int mkdir_parents(const char *path)
{
	char dir[PATH_MAX], *s;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	for (s = dir + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

/* Split path into its directory (opened) and its last component. */
static int state_dir_open(const char *path, char *base, size_t baselen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	if (!slash) {
		strcpy(dir, ".");
	} else {
		dir[slash - path] = 0;
		if (slash == path)
			strcpy(dir, "/");
	}
	if (snprintf(base, baselen, "%s", slash ? slash + 1 : path) >=
	    (int)baselen)
		return -ENAMETOOLONG;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return -EISDIR;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void state_write(FILE *f, const struct csmp_lb_state *st)
{
	char a[INET6_ADDRSTRLEN];
	unsigned int i;

	fprintf(f, "# csmp_lb state, written by csmpctl lb (lbctl.h)\nkey ");
	for (i = 0; i < 16; i++)
		fprintf(f, "%02x", st->key[i]);
	fprintf(f, "\n");
	if (st->iface[0])
		fprintf(f, "iface %s\n", st->iface);
	fprintf(f, "mode %s\n", st->mode == CSMP_LB_MODE_LOCAL ? "local" : "encap");
	for (i = 0; i < st->n_vips; i++) {
		csmp_lb_format_addr(&st->vips[i], a, sizeof(a));
		fprintf(f, "vip %s\n", a);
	}
	csmp_lb_format_addr(&st->lb_addr, a, sizeof(a));
	fprintf(f, "lb-addr %s\n", a);
	fprintf(f, "ports %u %u\n", st->port, st->port_alt);
	fprintf(f, "reply-ports %u %u\n", st->reply_lo, st->reply_hi);
	fprintf(f, "eid-rate %u %u\n", st->eid_rate, st->eid_burst);
	fprintf(f, "global-rate %u %u\n", st->global_rate, st->global_burst);
	fprintf(f, "learn %s\n", st->learn ? "on" : "off");
	fprintf(f, "generation %u\n", st->generation);
	for (i = 0; i < st->n_be; i++) {
		const struct csmp_lb_be *be = &st->be[i];

		csmp_lb_format_addr(&be->addr, a, sizeof(a));
		fprintf(f, "backend %u %s %s %u", be->id, a,
			be_state_names[be->state % 3], be->weight);
		if (be->port_lo || be->port_hi)
			fprintf(f, " %u %u", be->port_lo, be->port_hi);
		fprintf(f, "\n");
	}
	for (i = 0; i < st->n_pins; i++)
		fprintf(f, "pin %016llX %u\n",
			(unsigned long long)st->pins[i].eid, st->pins[i].backend);
}

/*
 * Write atomically and safely in a directory others may write to: a
 * temporary name nobody can predict, created exclusively (O_EXCL also
 * refuses a symlink planted there) as 0600 in the same directory, written,
 * fsync'ed, renamed over the state (rename replaces a link, it never
 * writes through one), and the directory fsync'ed so the rename survives a
 * crash. Every step is relative to one opened directory, and an existing
 * state file that is not ours (state_check) is refused, not replaced.
 */
int csmp_lb_state_save(const char *path, const struct csmp_lb_state *st,
		       char *err_msg, size_t errlen)
{
	char base[NAME_MAX + 1], tmp[NAME_MAX + 1];
	struct stat sb;
	int err, dfd, fd = -1, i;
	FILE *f;

	snprintf(err_msg, errlen, "%s", path);
	err = mkdir_parents(path);
	if (err)
		goto err_msg;
	dfd = state_dir_open(path, base, sizeof(base));
	if (dfd < 0) {
		err = dfd;
		goto err_msg;
	}
	if (!fstatat(dfd, base, &sb, AT_SYMLINK_NOFOLLOW)) {
		err = state_check(&sb, path, err_msg, errlen);
		if (err) {
			close(dfd);
			return err;	/* err_msg says why */
		}
	} else if (errno != ENOENT) {
		err = -errno;
		goto err_close_dir;
	}
	if (sodium_init() < 0) {
		err = -EIO;
		goto err_close_dir;
	}
	for (i = 0; i < 16 && fd < 0; i++) {
		if (snprintf(tmp, sizeof(tmp), ".%.200s.%08x%08x.tmp", base,
			     randombytes_random(), randombytes_random()) >=
		    (int)sizeof(tmp)) {
			err = -ENAMETOOLONG;
			goto err_close_dir;
		}
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				      O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			err = -errno;
			goto err_close_dir;
		}
	}
	if (fd < 0) {
		err = -EEXIST;
		goto err_close_dir;
	}
	/* 0600 whatever the umask: the file holds the Maglev key. */
	if (fchmod(fd, 0600)) {
		err = -errno;
		close(fd);
		goto err_unlink;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		goto err_unlink;
	}
	state_write(f, st);
	if (fflush(f) || fsync(fileno(f))) {
		err = -errno;
		fclose(f);
		goto err_unlink;
	}
	if (fclose(f)) {
		err = -errno;
		goto err_unlink;
	}
	if (renameat(dfd, tmp, dfd, base)) {
		err = -errno;
		goto err_unlink;
	}
	if (fsync(dfd)) {
		err = -errno;
		goto err_close_dir;
	}
	close(dfd);
	return 0;

err_unlink:
	unlinkat(dfd, tmp, 0);
err_close_dir:
	close(dfd);
err_msg:
	snprintf(err_msg, errlen, "%s: %s", path, strerror(-err));
	return err;
}

static int flock_wait(int fd, unsigned int timeout_ms)
{
	unsigned int waited = 0;

	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK || waited >= timeout_ms)
			return -errno;
		usleep(10000);
		waited += 10;
	}
	return 0;
}

int csmp_lb_lock(struct csmp_lb_lock *lk, const char *state_path,
		 const char *pin_dir, unsigned int timeout_ms, char *err,
		 size_t errlen)
{
	char base[NAME_MAX + 1];
	struct stat a, b;
	const char *what;
	int ret;

	lk->state_dir_fd = lk->pin_dir_fd = -1;
	what = state_path;
	ret = mkdir_parents(state_path);
	if (ret)
		goto err;
	ret = state_dir_open(state_path, base, sizeof(base));
	if (ret < 0)
		goto err;
	lk->state_dir_fd = ret;
	ret = flock_wait(lk->state_dir_fd, timeout_ms);
	if (ret)
		goto err_unlock;
	lk->pin_dir_fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lk->pin_dir_fd < 0) {
		/* Nothing pinned yet: no maps to race on. */
		if (errno == ENOENT)
			return 0;
		ret = -errno;
		what = pin_dir;
		goto err_unlock;
	}
	/* One directory for both: its first lock is the lock. */
	if (!fstat(lk->state_dir_fd, &a) && !fstat(lk->pin_dir_fd, &b) &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		close(lk->pin_dir_fd);
		lk->pin_dir_fd = -1;
		return 0;
	}
	what = pin_dir;
	ret = flock_wait(lk->pin_dir_fd, timeout_ms);
	if (ret)
		goto err_unlock;
	return 0;

err_unlock:
	csmp_lb_unlock(lk);
err:
	if (ret == -EWOULDBLOCK)
		snprintf(err, errlen, "%s: locked by another csmpctl lb for %u ms; try again",
			 what, timeout_ms);
	else
		snprintf(err, errlen, "%s: lock: %s", what, strerror(-ret));
	return ret;
}

void csmp_lb_unlock(struct csmp_lb_lock *lk)
{
	/* Closing the last fd of a flock(2) releases it. */
	if (lk->pin_dir_fd >= 0)
		close(lk->pin_dir_fd);
	if (lk->state_dir_fd >= 0)
		close(lk->state_dir_fd);
	lk->state_dir_fd = lk->pin_dir_fd = -1;
}

int csmp_lb_state_table(const struct csmp_lb_state *st, uint32_t *table)
{
	struct csmp_maglev_backend mb[CSMP_LB_STATE_MAX_BE];
	unsigned int i, n = 0;
	uint64_t k0, k1;

	for (i = 0; i < st->n_be; i++)
		if (st->be[i].state == CSMP_BE_ACTIVE)
			mb[n++] = (struct csmp_maglev_backend){ st->be[i].id,
								st->be[i].weight };
	csmp_lb_key_words(st->key, &k0, &k1);
	return csmp_maglev_build(k0, k1, mb, n, table);
}

/*
 * bpffs is not mounted on a fresh host, nor inside `ip netns exec` (which
 * mounts a new /sys): mount it when the pin directory lives under it.
 */
static int ensure_bpffs(const char *pin_dir)
{
	struct statfs sf;

	if (strncmp(pin_dir, "/sys/fs/bpf/", 12) && strcmp(pin_dir, "/sys/fs/bpf"))
		return 0;
	if (!statfs("/sys/fs/bpf", &sf) && sf.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL))
		return -errno;
	return 0;
}

int csmp_lb_map_fd(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	ensure_bpffs(pin_dir);
	if (snprintf(path, sizeof(path), "%s/%s", pin_dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int csmp_lb_kfuncs_present(void)
{
	struct btf *vmlinux, *mod;
	int present = 0;

	if (access("/sys/kernel/btf/csmp", R_OK))
		return 0;
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return 0;
	mod = btf__parse_split("/sys/kernel/btf/csmp", vmlinux);
	if (mod) {
		present = btf__find_by_name_kind(mod, CSMP_KFUNC_CLASSIFY,
						 BTF_KIND_FUNC) > 0 &&
			  btf__find_by_name_kind(mod, CSMP_KFUNC_EID_HASH,
						 BTF_KIND_FUNC) > 0;
		btf__free(mod);
	}
	btf__free(vmlinux);
	return present;
}

int csmp_lb_load(const char *pin_dir, int use_kfuncs, bool *kfuncs_used)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin_dir);
	struct csmp_lb *skel;
	char path[PATH_MAX];
	int err, fd;

	err = ensure_bpffs(pin_dir) ?: mkdir_parents(pin_dir) ?:
	      (mkdir(pin_dir, 0700) && errno != EEXIST ? -errno : 0);
	if (err)
		return err;
	if (use_kfuncs < 0)
		use_kfuncs = csmp_lb_kfuncs_present();
	skel = csmp_lb__open_opts(&oo);
	if (!skel)
		return -errno;
	skel->rodata->use_kfuncs = use_kfuncs > 0;
	err = csmp_lb__load(skel);
	if (err)
		goto out_destroy;
	if (snprintf(path, sizeof(path), "%s/%s", pin_dir, LB_PROG_PIN) >=
	    (int)sizeof(path)) {
		err = -ENAMETOOLONG;
		goto out_destroy;
	}
	unlink(path);
	err = bpf_program__pin(skel->progs.csmp_lb, path);
	if (err)
		goto out_destroy;
	fd = dup(bpf_program__fd(skel->progs.csmp_lb));
	if (fd < 0) {
		err = -errno;
		goto out_destroy;
	}
	if (kfuncs_used)
		*kfuncs_used = use_kfuncs > 0;
	csmp_lb__destroy(skel);
	return fd;

out_destroy:
	csmp_lb__destroy(skel);
	return err;
}

int csmp_lb_attach(const char *pin_dir, unsigned int ifindex, bool generic)
{
	char path[PATH_MAX];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, LB_PROG_PIN);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_xdp_attach((int)ifindex, fd,
			     generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE,
			     NULL);
	close(fd);
	return err;
}

int csmp_lb_detach(unsigned int ifindex)
{
	int err = bpf_xdp_detach((int)ifindex, XDP_FLAGS_DRV_MODE, NULL);

	if (err)
		err = bpf_xdp_detach((int)ifindex, XDP_FLAGS_SKB_MODE, NULL);
	return err;
}

int csmp_lb_count_sum(int fd, uint32_t idx, struct csmp_count *out)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	struct csmp_count *v;

	if (ncpu < 0)
		return ncpu;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, &idx, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	for (i = 0; i < ncpu; i++) {
		out->packets += v[i].packets;
		out->bytes += v[i].bytes;
	}
	free(v);
	return 0;
}

/* The csmp_table half csmp_lb reads now (lb.h): table_half of the config. */
static int table_half(int cfg_fd, uint32_t *half)
{
	struct csmp_lb_config cfg;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(cfg_fd, &zero, &cfg))
		return -errno;
	*half = cfg.table_half ? 1 : 0;
	return 0;
}

/* Read one half of csmp_table into table[CSMP_MAGLEV_M]. */
static int table_read(int tbl, uint32_t half, uint32_t *table)
{
	uint32_t i, k;

	for (i = 0; i < CSMP_MAGLEV_M; i++) {
		k = half * CSMP_MAGLEV_M + i;
		if (bpf_map_lookup_elem(tbl, &k, &table[i]))
			return -errno;
	}
	return 0;
}

int csmp_lb_read_table(const char *pin_dir, uint32_t *table)
{
	uint32_t half = 0;
	int cfg_fd, tbl, err;

	cfg_fd = csmp_lb_map_fd(pin_dir, CSMP_STR(CSMP_MAP_CFG));
	if (cfg_fd < 0)
		return cfg_fd;
	tbl = csmp_lb_map_fd(pin_dir, CSMP_STR(CSMP_MAP_TABLE));
	if (tbl < 0) {
		err = tbl;
		goto out_close_cfg;
	}
	err = table_half(cfg_fd, &half);
	if (!err)
		err = table_read(tbl, half, table);
	close(tbl);
out_close_cfg:
	close(cfg_fd);
	return err;
}

/*
 * Write `table` whole into the csmp_table half not in use; the caller
 * then flips table_half in the config (lb.h: the swap is that update).
 */
static int table_write(int tbl, uint32_t half, const uint32_t *table)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	uint32_t *keys, n = CSMP_MAGLEV_M, i;
	int err;

	keys = malloc(sizeof(*keys) * CSMP_MAGLEV_M);
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < CSMP_MAGLEV_M; i++)
		keys[i] = half * CSMP_MAGLEV_M + i;
	err = bpf_map_update_batch(tbl, keys, table, &n, &bo);
	if (err) {
		/* Kernels without batch ops on arrays: one at a time. */
		for (i = 0, err = 0; i < CSMP_MAGLEV_M && !err; i++)
			if (bpf_map_update_elem(tbl, &keys[i], &table[i], BPF_ANY))
				err = -errno;
	}
	free(keys);
	return err;
}

int csmp_lb_kmod_set_key(const uint8_t key[16])
{
	char hex[34];
	int fd, i, err = 0;

	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	hex[32] = '\n';
	hex[33] = 0;
	fd = open(CSMP_KMOD_KEY_PATH, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, hex, 33) != 33)
		err = -errno ?: -EIO;
	close(fd);
	return err;
}

int csmp_lb_apply(const char *pin_dir, const struct csmp_lb_state *st,
		  unsigned int *moved)
{
	int cfg_fd = -1, vips = -1, bes = -1, ports = -1, pins = -1, tbl = -1;
	struct csmp_lb_config cfg = {};
	uint32_t *table = NULL, *old = NULL, zero = 0, i, p, half = 0;
	struct csmp_port none = {};
	unsigned int n_vip_old = 0;
	struct csmp_addr key, next, *stale = NULL;
	uint64_t eid, ekey, k0, k1;
	int err;

	cfg_fd = csmp_lb_map_fd(pin_dir, CSMP_STR(CSMP_MAP_CFG));
	vips = csmp_lb_map_fd(pin_dir, CSMP_STR(CSMP_MAP_VIPS));
	bes = csmp_lb_map_fd(pin_dir, CSMP_STR(CSMP_MAP_BACKENDS));
	ports = csmp_lb_map_fd(pin_dir, CSMP_STR(CSMP_MAP_PORTS));
	pins = csmp_lb_map_fd(pin_dir, CSMP_STR(CSMP_MAP_PINS));
	tbl = csmp_lb_map_fd(pin_dir, CSMP_STR(CSMP_MAP_TABLE));
	err = cfg_fd < 0 ? cfg_fd : vips < 0 ? vips : bes < 0 ? bes :
	      ports < 0 ? ports : pins < 0 ? pins : tbl < 0 ? tbl : 0;
	if (err)
		goto out_close;
	table = malloc(sizeof(*table) * CSMP_MAGLEV_M);
	old = malloc(sizeof(*old) * CSMP_MAGLEV_M);
	stale = calloc(CSMP_LB_MAX_VIPS, sizeof(*stale));
	if (!table || !old || !stale) {
		err = -ENOMEM;
		goto out_free;
	}
	err = csmp_lb_state_table(st, table);
	if (err)
		goto out_free;

	/* Backends first: a new table never names an unknown backend. */
	for (i = 1; i < CSMP_LB_MAX_BACKENDS; i++) {
		struct csmp_backend be = {};
		const struct csmp_lb_be *s = NULL;
		unsigned int j;

		for (j = 0; j < st->n_be; j++)
			if (st->be[j].id == i)
				s = &st->be[j];
		if (s) {
			memcpy(be.addr.a, &s->addr, 16);
			be.state = s->state;
			be.weight = s->weight;
		}
		if (bpf_map_update_elem(bes, &i, &be, BPF_ANY)) {
			err = -errno;
			goto out_free;
		}
	}
	for (p = st->reply_lo; p <= st->reply_hi && p <= 65535; p++) {
		struct csmp_port v = none;
		unsigned int j;

		/* The block layout csmpd's --reply-ports uses too. */
		for (j = 0; j < st->n_be; j++) {
			struct csmp_reply_block blk = {
				.lo = st->be[j].port_lo,
				.hi = st->be[j].port_hi,
			};

			if (csmp_reply_block_has(&blk, p))
				v.backend = st->be[j].id;
		}
		if (bpf_map_update_elem(ports, &p, &v, BPF_ANY)) {
			err = -errno;
			goto out_free;
		}
	}
	/* Pins: replace the whole set. */
	while (!bpf_map_get_next_key(pins, NULL, &ekey)) {
		if (bpf_map_delete_elem(pins, &ekey))
			break;
	}
	for (i = 0; i < st->n_pins; i++) {
		struct csmp_pin v = { .backend = st->pins[i].backend };

		eid = st->pins[i].eid;
		if (bpf_map_update_elem(pins, &eid, &v, BPF_ANY)) {
			err = -errno;
			goto out_free;
		}
	}
	err = table_half(cfg_fd, &half);
	if (!err)
		err = table_read(tbl, half, old);
	if (!err)
		err = table_write(tbl, !half, table);
	if (err)
		goto out_free;
	if (moved)
		*moved = csmp_maglev_moved(old, table);

	/* VIPs: add the new set, then remove the others. */
	for (i = 0; i < st->n_vips; i++) {
		uint32_t v = CSMP_VIP_F_ACTIVE;

		memcpy(key.a, &st->vips[i], 16);
		if (bpf_map_update_elem(vips, &key, &v, BPF_ANY)) {
			err = -errno;
			goto out_free;
		}
	}
	if (!bpf_map_get_next_key(vips, NULL, &next)) {
		do {
			bool keep = false;

			key = next;
			for (i = 0; i < st->n_vips; i++)
				keep |= !memcmp(key.a, &st->vips[i], 16);
			if (!keep && n_vip_old < CSMP_LB_MAX_VIPS)
				stale[n_vip_old++] = key;
		} while (!bpf_map_get_next_key(vips, &key, &next));
	}
	for (i = 0; i < n_vip_old; i++)
		bpf_map_delete_elem(vips, &stale[i]);

	memcpy(cfg.lb_addr.a, &st->lb_addr, 16);
	csmp_lb_key_words(st->key, &k0, &k1);
	cfg.k0 = k0;
	cfg.k1 = k1;
	cfg.port = st->port;
	cfg.port_alt = st->port_alt;
	cfg.reply_lo = st->reply_lo;
	cfg.reply_hi = st->reply_hi;
	cfg.mode = st->mode;
	cfg.flags = CSMP_LB_F_ENABLED | (st->learn ? CSMP_LB_F_LEARN : 0);
	cfg.eid_rate = st->eid_rate;
	cfg.eid_burst = st->eid_burst;
	cfg.global_rate = st->global_rate;
	cfg.global_burst = st->global_burst;
	cfg.generation = st->generation;
	cfg.hop_limit = 64;
	cfg.n_pins = st->n_pins;
	cfg.table_half = !half;	/* the new table, in one update */
	/* csmp.ko hashes with its own copy of the key: keep them equal. */
	err = csmp_lb_kmod_set_key(st->key);
	if (err && err != -ENOENT)
		goto out_free;
	err = 0;
	if (bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY))
		err = -errno;
out_free:
	free(stale);
	free(old);
	free(table);
out_close:
	if (cfg_fd >= 0)
		close(cfg_fd);
	if (vips >= 0)
		close(vips);
	if (bes >= 0)
		close(bes);
	if (ports >= 0)
		close(ports);
	if (pins >= 0)
		close(pins);
	if (tbl >= 0)
		close(tbl);
	return err;
}
