// SPDX-License-Identifier: GPL-2.0-only
/*
 * The events file after logrotate moved it (csmp_events_reopen, called on
 * SIGHUP): lines before the reopen are in the moved file, lines after it
 * in a new file at the configured path; standard output and a NULL stream
 * have nothing to reopen; a path that can no longer be opened is an error
 * with the reason, and the stream writes on to the old file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "events.h"

static unsigned int lines(const char *path, const char *needle)
{
	char line[2048];
	unsigned int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

TEST(reopen_follows_a_rotated_file)
{
	char dir[] = "/tmp/csmp-test-rotate-XXXXXX", path[256], moved[256];
	char err[256];
	struct csmp_events *ev;
	unsigned int i;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/events.jsonl", dir);
	snprintf(moved, sizeof(moved), "%s/events.jsonl.1", dir);
	ASSERT_EQ(0, csmp_events_open(path, 1, &ev, err, sizeof(err)));
	ASSERT_EQ(0, csmp_events_start(ev));
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, csmp_event(ev, 0, "registration", 1 + i, json_pack("{s:i}", "n", i)));
	/* The writer thread has written them once written counts them. */
	for (i = 0; i < 200 && csmp_events_written(ev) < 10; i++)
		usleep(10000);
	ASSERT_EQ(10u, csmp_events_written(ev));
	ASSERT_EQ(0, rename(path, moved));
	ASSERT_EQ(0, csmp_events_reopen(ev, err, sizeof(err)));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, csmp_event(ev, 0, "report", 100 + i, json_pack("{s:i}", "n", i)));
	csmp_events_close(ev);

	EXPECT_EQ(10u, lines(moved, "\"registration\""));
	EXPECT_EQ(0u, lines(moved, "\"report\""));
	EXPECT_EQ(5u, lines(path, "\"report\""));
	EXPECT_EQ(0u, lines(path, "\"registration\""));
	unlink(path);
	unlink(moved);
	rmdir(dir);
}

TEST(reopen_failure_keeps_the_old_file)
{
	char dir[] = "/tmp/csmp-test-rotate-XXXXXX", path[256], moved[256];
	char err[256];
	struct csmp_events *ev;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/events.jsonl", dir);
	snprintf(moved, sizeof(moved), "%s/sub", dir);
	ASSERT_EQ(0, mkdir(moved, 0755));
	ASSERT_EQ(0, csmp_events_open(path, 1, &ev, err, sizeof(err)));
	/* The directory goes: the path cannot be opened again. */
	ASSERT_EQ(0, unlink(path));
	ASSERT_EQ(0, rmdir(moved));
	EXPECT_EQ(-ENOENT, csmp_events_reopen(ev, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "cannot reopen"));
	EXPECT_EQ(0, csmp_event(ev, 0, "registration", 1, json_pack("{s:i}", "n", 0)));
	csmp_events_close(ev);
	rmdir(dir);
}

TEST(nothing_to_reopen_on_stdout_or_null)
{
	char err[64];
	struct csmp_events *ev;

	EXPECT_EQ(0, csmp_events_reopen(NULL, err, sizeof(err)));
	ASSERT_EQ(0, csmp_events_open("-", 1, &ev, err, sizeof(err)));
	EXPECT_EQ(0, csmp_events_reopen(ev, err, sizeof(err)));
	csmp_events_close(ev);
}

TEST_HARNESS_MAIN
