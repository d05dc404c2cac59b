// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Log lines in the network-device message format operators grep for:
 * `%CSMP-<severity 0-7>-<MNEMONIC>: text`. Every mnemonic has its own
 * token bucket (a burst, then a steady rate), so a flood of bad datagrams
 * cannot turn the log into the bottleneck; what a bucket suppressed is
 * reported with its next line.
 *
 * Where a line goes (sd.h): to the journal when systemd started csmpd,
 * with PRIORITY = the severity, CSMP_MNEMONIC and, when the text names a
 * device, CSMP_EID as fields an operator can select by; else one write(2)
 * per line to stderr, prefixed with an RFC 3339 UTC timestamp; or to
 * syslog(3) (facility daemon) when asked.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/uio.h>
#define SD_JOURNAL_SUPPRESS_LOCATION	/* the call site is always here */
#include <systemd/sd-journal.h>

#include "csmpd.h"
#include "sd.h"

#define LOG_SLOTS	128
#define LOG_BURST	20	/* lines at once per mnemonic */
#define LOG_RATE	5	/* lines per second afterwards */

struct log_bucket {
	const char *mnemonic;	/* string literals: compared by content */
	double tokens;
	__u64 last_ns;
	__u64 suppressed;
};

static struct log_bucket buckets[LOG_SLOTS];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_level = CSMPD_INFO;
/* Set once at start, before any thread logs. */
static enum csmpd_log_target log_sink = CSMPD_LOG_STDERR;

void csmpd_log_init(int level)
{
	log_level = level;
}

/* systemd sets JOURNAL_STREAM=<dev>:<inode> of the stream it connected;
 * stderr is that stream only if the numbers match (a shell started from
 * a unit inherits the variable with another stderr). */
bool csmpd_log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

enum csmpd_log_target csmpd_log_target(enum csmpd_log_target t)
{
	if (t == CSMPD_LOG_AUTO)
		t = csmpd_log_stderr_is_journal() ? CSMPD_LOG_JOURNAL :
						    CSMPD_LOG_STDERR;
	/* libsystemd drops entries silently when no journald listens:
	 * without its socket the lines go to stderr instead. */
	if (t == CSMPD_LOG_JOURNAL &&
	    access("/run/systemd/journal/socket", F_OK) < 0)
		t = CSMPD_LOG_STDERR;
	if (t == CSMPD_LOG_SYSLOG)
		openlog("csmpd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_sink = t;
	return t;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static struct log_bucket *bucket_of(const char *m)
{
	unsigned int h = 5381, i;

	for (const char *p = m; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (i = 0; i < LOG_SLOTS; i++) {
		struct log_bucket *b = &buckets[(h + i) % LOG_SLOTS];

		if (!b->mnemonic) {
			b->mnemonic = m;
			b->tokens = LOG_BURST;
			return b;
		}
		if (b->mnemonic == m || !strcmp(b->mnemonic, m))
			return b;
	}
	return NULL;	/* table full: never limit an unknown mnemonic */
}

bool csmpd_log_admit(int sev, const char *mnemonic, __u64 *suppressed)
{
	struct log_bucket *b;
	__u64 now;
	bool ok = true;

	*suppressed = 0;
	if (sev > log_level)
		return false;
	now = mono_ns();
	pthread_mutex_lock(&log_lock);
	b = bucket_of(mnemonic);
	if (b) {
		b->tokens += (double)(now - b->last_ns) * LOG_RATE / 1e9;
		if (b->tokens > LOG_BURST)
			b->tokens = LOG_BURST;
		b->last_ns = now;
		if (b->tokens < 1) {
			b->suppressed++;
			ok = false;
		} else {
			b->tokens -= 1;
			*suppressed = b->suppressed;
			b->suppressed = 0;
		}
	}
	pthread_mutex_unlock(&log_lock);
	return ok;
}

/* The first device EID the text names: 16 upper-case hex digits on their
 * own (the %016llX of every device line; SessionIDs are lower case). */
static const char *find_eid(const char *s)
{
	const char *p, *start = NULL;

	for (p = s;; p++) {
		bool hex = isdigit((unsigned char)*p) ||
			   (*p >= 'A' && *p <= 'F');

		if (hex && !start)
			start = p;
		if (hex)
			continue;
		if (start && p - start == 16 && !isalnum((unsigned char)*p) &&
		    (start == s || !isalnum((unsigned char)start[-1])))
			return start;
		start = NULL;
		if (!*p)
			return NULL;
	}
}

static bool emit_journal(int sev, const char *mnemonic, const char *line,
			 int len)
{
	char prio[16], mn[80], eid[32];
	const char *e = find_eid(line);
	struct iovec iov[5];
	int n = 0, msg_len = len + 8;
	char msg[1100];

	snprintf(msg, sizeof(msg), "MESSAGE=%.*s", len, line);
	if (msg_len > (int)sizeof(msg) - 1)
		msg_len = (int)sizeof(msg) - 1;
	iov[n++] = (struct iovec){ msg, (size_t)msg_len };
	iov[n].iov_base = prio;
	iov[n++].iov_len = (size_t)snprintf(prio, sizeof(prio), "PRIORITY=%d",
					    sev);
	iov[n].iov_base = mn;
	iov[n++].iov_len = (size_t)snprintf(mn, sizeof(mn), "CSMP_MNEMONIC=%.60s",
					    mnemonic);
	if (e) {
		iov[n].iov_base = eid;
		iov[n++].iov_len = (size_t)snprintf(eid, sizeof(eid),
						    "CSMP_EID=%.16s", e);
	}
	iov[n++] = (struct iovec){ "SYSLOG_IDENTIFIER=csmpd", 23 };
	return sd_journal_sendv(iov, n) == 0;
}

/* "2026-12-04T18:15:02.123Z " */
static int rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	return (int)n + snprintf(buf + n, len - n, ".%03ldZ ",
				 ts.tv_nsec / 1000000);
}

void csmpd_log_emit(int sev, const char *mnemonic, __u64 suppressed,
		    const char *fmt, ...)
{
	char buf[1100], *line;
	va_list ap;
	int t, n, m;

	/* The timestamp goes in front only on stderr; the journal and
	 * syslog stamp lines themselves. */
	t = log_sink == CSMPD_LOG_STDERR ? rfc3339(buf, 40) : 0;
	line = buf + t;
	n = snprintf(line, 1024, "%%CSMP-%d-%s: ", sev, mnemonic);
	va_start(ap, fmt);
	m = vsnprintf(line + n, 1024 - (size_t)n, fmt, ap);
	va_end(ap);
	n = m < 0 ? n : n + m;
	if (n > 1024 - 64)
		n = 1024 - 64;
	if (suppressed)
		n += snprintf(line + n, 1024 - (size_t)n,
			      " (%llu similar messages suppressed)",
			      (unsigned long long)suppressed);
	if (log_sink == CSMPD_LOG_JOURNAL &&
	    emit_journal(sev, mnemonic, line, n))
		return;
	if (log_sink == CSMPD_LOG_SYSLOG) {
		syslog(LOG_DAEMON | (sev & 7), "%.*s", n, line);
		return;
	}
	/* stderr, or journald refused the line: not lost. */
	line[n++] = '\n';
	if (write(STDERR_FILENO, buf, (size_t)(t + n)) < 0) {
		/* nowhere left to report it */
	}
}

const char *csmpd_addr_str(const struct csmpd_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(a->in6.sin6_port));
	} else if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in.sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(a->in.sin_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}
