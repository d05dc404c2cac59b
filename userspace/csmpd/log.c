// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Log lines in the network-device message format operators grep for:
 * `%CSMP-<severity 0-7>-<MNEMONIC>: text`, one line per write(2) to
 * stderr. Every mnemonic has its own token bucket (a burst, then a steady
 * rate), so a flood of bad datagrams cannot turn the log into the
 * bottleneck; what a bucket suppressed is reported with its next line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "csmpd.h"

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

void csmpd_log_init(int level)
{
	log_level = level;
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

void csmpd_log_emit(int sev, const char *mnemonic, __u64 suppressed,
		    const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, m;

	n = snprintf(line, sizeof(line), "%%CSMP-%d-%s: ", sev, mnemonic);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	n = m < 0 ? n : n + m;
	if (n > (int)sizeof(line) - 64)
		n = (int)sizeof(line) - 64;
	if (suppressed)
		n += snprintf(line + n, sizeof(line) - (size_t)n,
			      " (%llu similar messages suppressed)",
			      (unsigned long long)suppressed);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
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
