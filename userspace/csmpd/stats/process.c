// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Build, process and reload metrics (process.h). The process figures come
 * from getrusage(2), /proc/self and getrlimit(2) at scrape time, with the
 * names and units Prometheus' client libraries use, so stock dashboards
 * and alerts apply to csmpd unchanged.
 */
#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include "csmpd.h"
#include "http/metrics.h"
#include "stats/process.h"
#include "version.h"

/* 1: the last load of the configuration was applied; the start-up load
 * counts (main notes it once csmpd is up), as in Prometheus' own
 * prometheus_config_last_reload_* pair. */
static atomic_int last_reload_ok = 1;
static _Atomic long long last_success_time;

void csmpd_reload_note(bool ok)
{
	atomic_store(&last_reload_ok, ok);
	if (ok)
		atomic_store(&last_success_time, (long long)time(NULL));
}

static long long count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	long long n = 0;

	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - 1;	/* the directory's own descriptor */
}

/* Seconds since the epoch at which this process started: boot time
 * (/proc/stat btime) plus the start time in /proc/self/stat (field 22,
 * clock ticks after boot). -1 if either cannot be read. */
static double start_time(void)
{
	char buf[1024], *p;
	unsigned long long start = 0, btime = 0;
	FILE *f;
	size_t n;
	int i;

	f = fopen("/proc/self/stat", "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* After the command name in parentheses, which may hold spaces. */
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return -1;
	f = fopen("/proc/stat", "re");
	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	if (!btime)
		return -1;
	return (double)btime + (double)start / (double)sysconf(_SC_CLK_TCK);
}

static void gauge(struct csmp_buf *b, const char *name, const char *type,
		  const char *help, double v)
{
	csmp_metric_family(b, name, type, help);
	csmp_buf_printf(b, "%s %.15g\n", name, v);
}

void csmpd_process_prometheus(const struct csmpd_daemon *d, struct csmp_buf *b)
{
	long pages_total = 0, pages_res = 0;
	struct rusage ru;
	struct rlimit rl;
	long long fds;
	double st;
	FILE *f;

	csmp_metric_family(b, "csmp_build_info", "gauge",
			   "csmpd's version and I/O backend; the value is 1.");
	csmp_buf_printf(b, "csmp_build_info{version=\"%s\",io=\"%s\"} 1\n",
			csmp_version(), d->io ? d->io->name : "none");

	if (!getrusage(RUSAGE_SELF, &ru))
		gauge(b, "process_cpu_seconds_total", "counter",
		      "User and system CPU time spent in seconds.",
		      (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages_total, &pages_res) == 2) {
			long pg = sysconf(_SC_PAGESIZE);

			gauge(b, "process_resident_memory_bytes", "gauge",
			      "Resident memory size in bytes.",
			      (double)pages_res * (double)pg);
			gauge(b, "process_virtual_memory_bytes", "gauge",
			      "Virtual memory size in bytes.",
			      (double)pages_total * (double)pg);
		}
		fclose(f);
	}
	fds = count_fds();
	if (fds >= 0)
		gauge(b, "process_open_fds", "gauge",
		      "Number of open file descriptors.", (double)fds);
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		gauge(b, "process_max_fds", "gauge",
		      "Maximum number of open file descriptors.",
		      (double)rl.rlim_cur);
	st = start_time();
	if (st >= 0)
		gauge(b, "process_start_time_seconds", "gauge",
		      "Start time of the process since unix epoch in seconds.",
		      st);
	gauge(b, "csmp_config_last_reload_successful", "gauge",
	      "1 if the last configuration reload was applied, 0 if it was refused.",
	      atomic_load(&last_reload_ok));
	gauge(b, "csmp_config_last_reload_success_timestamp_seconds", "gauge",
	      "When the configuration was last loaded successfully, at start or by a reload.",
	      (double)atomic_load(&last_success_time));
}
