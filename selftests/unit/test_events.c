// SPDX-License-Identifier: GPL-2.0-only
/*
 * The event stream (userspace/csmpd/events.c): lines written to a real
 * file by the writer thread from two producers are each valid JSON with
 * ts/event/eid, nothing is lost below the ring size, and a full ring
 * drops (counted) instead of blocking the producer.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "events.h"

TEST(events_are_json_lines_in_a_file)
{
	char path[] = "/tmp/csmp-test-events-XXXXXX", line[2048], err[256];
	struct csmp_events *ev;
	unsigned int i, n = 0, regs = 0;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, csmp_events_open(path, 2, &ev, err, sizeof(err)));
	ASSERT_EQ(0, csmp_events_start(ev));
	for (i = 0; i < 500; i++) {
		char sid[8];

		snprintf(sid, sizeof(sid), "%04x", i);
		ASSERT_EQ(0, csmp_event(ev, i & 1, "registration",
					0x0A0027FFFE3B2AB2ull + i,
					json_pack("{s:s}", "session", sid)));
		if (i % 100 == 99)
			usleep(20000);
	}
	ASSERT_EQ(0, csmp_event(ev, 0, "signature_failure", 1,
				json_pack("{s:s}", "reason", "expired")));
	csmp_events_close(ev);

	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);

		ASSERT_NE(NULL, j) {
			TH_LOG("line %u: %s", n, je.text);
		}
		EXPECT_NE(NULL, json_string_value(json_object_get(j, "ts")));
		EXPECT_EQ(16u, strlen(json_string_value(json_object_get(j, "eid"))));
		if (!strcmp(json_string_value(json_object_get(j, "event")),
			    "registration"))
			regs++;
		json_decref(j);
		n++;
	}
	fclose(f);
	EXPECT_EQ(501u, n);
	EXPECT_EQ(500u, regs);
	unlink(path);
}

TEST(full_ring_drops_and_counts)
{
	char err[256];
	struct csmp_events *ev;
	unsigned int i, dropped = 0;

	/* Not started: nothing drains the 1024-slot ring. */
	ASSERT_EQ(0, csmp_events_open("/dev/null", 1, &ev, err, sizeof(err)));
	for (i = 0; i < 1100; i++)
		if (csmp_event(ev, 0, "report", i, NULL))
			dropped++;
	EXPECT_EQ(76u, dropped);
	EXPECT_EQ(76u, csmp_events_dropped(ev));
	csmp_events_close(ev);
}

TEST_HARNESS_MAIN
