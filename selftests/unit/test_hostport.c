// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command-line address parser every program shares (hostport.h):
 * the forms it takes, the default port, and the mistakes it refuses with
 * a reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "kselftest_harness.h"
#include "csmp.h"

static const char *v6_of(const struct sockaddr_storage *ss, char *b)
{
	return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr,
			 b, INET6_ADDRSTRLEN);
}

static const char *v4_of(const struct sockaddr_storage *ss, char *b)
{
	return inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
			 b, INET6_ADDRSTRLEN);
}

TEST(v6_in_brackets_with_port)
{
	struct sockaddr_storage ss;
	char a[INET6_ADDRSTRLEN];
	socklen_t len;

	ASSERT_EQ(0, csmp_hostport_parse("[2001:db8::1]:61628", -1, &ss, &len,
					 NULL, 0));
	EXPECT_EQ(AF_INET6, ss.ss_family);
	EXPECT_EQ(sizeof(struct sockaddr_in6), len);
	EXPECT_EQ(61628, csmp_hostport_port(&ss));
	EXPECT_STREQ("2001:db8::1", v6_of(&ss, a));
	ASSERT_EQ(0, csmp_hostport_parse("[::1]:1", -1, &ss, &len, NULL, 0));
	EXPECT_STREQ("::1", v6_of(&ss, a));
	EXPECT_EQ(1, csmp_hostport_port(&ss));
	/* A mapped IPv4 address stays IPv6: the caller asked for that. */
	ASSERT_EQ(0, csmp_hostport_parse("[::ffff:192.0.2.1]:5683", -1, &ss,
					 &len, NULL, 0));
	EXPECT_EQ(AF_INET6, ss.ss_family);
}

TEST(v4_with_port)
{
	struct sockaddr_storage ss;
	char a[INET6_ADDRSTRLEN];
	socklen_t len;

	ASSERT_EQ(0, csmp_hostport_parse("192.0.2.10:65535", -1, &ss, &len,
					 NULL, 0));
	EXPECT_EQ(AF_INET, ss.ss_family);
	EXPECT_EQ(sizeof(struct sockaddr_in), len);
	EXPECT_EQ(65535, csmp_hostport_port(&ss));
	EXPECT_STREQ("192.0.2.10", v4_of(&ss, a));
}

TEST(port_zero_is_a_port)
{
	struct sockaddr_storage ss;
	socklen_t len;

	ASSERT_EQ(0, csmp_hostport_parse("127.0.0.1:0", -1, &ss, &len, NULL, 0));
	EXPECT_EQ(0, csmp_hostport_port(&ss));
	ASSERT_EQ(0, csmp_hostport_parse("[::]:0", 7, &ss, &len, NULL, 0));
	EXPECT_EQ(0, csmp_hostport_port(&ss));
}

TEST(port_out_of_range_or_not_decimal)
{
	static const char *const bad[] = {
		"127.0.0.1:65536", "127.0.0.1:70000", "[::1]:99999999999999999999",
		"127.0.0.1:-1", "127.0.0.1:+5", "127.0.0.1: 5", "127.0.0.1:0x10",
		"[::1]:5x", "127.0.0.1:", "[::1]:",
	};
	struct sockaddr_storage ss;
	char err[128];
	socklen_t len = 99;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		EXPECT_EQ(-EINVAL, csmp_hostport_parse(bad[i], 61628, &ss, &len,
						       err, sizeof(err)));
		EXPECT_EQ(0u, len);
		EXPECT_EQ(0, ss.ss_family);
		/* The reason names the argument. */
		EXPECT_EQ(0, strncmp(err, bad[i], strlen(bad[i])));
	}
	csmp_hostport_parse("1.2.3.4:70000", -1, &ss, &len, err, sizeof(err));
	EXPECT_STREQ("1.2.3.4:70000: port 70000 out of range 0..65535", err);
}

TEST(missing_port_takes_the_default)
{
	struct sockaddr_storage ss;
	char a[INET6_ADDRSTRLEN];
	socklen_t len;

	ASSERT_EQ(0, csmp_hostport_parse("[2001:db8::5]", 61628, &ss, &len,
					 NULL, 0));
	EXPECT_EQ(61628, csmp_hostport_port(&ss));
	EXPECT_STREQ("2001:db8::5", v6_of(&ss, a));
	/* A bare IPv6 address never carries a port: all of it is address. */
	ASSERT_EQ(0, csmp_hostport_parse("2001:db8::1:5683", 61624, &ss, &len,
					 NULL, 0));
	EXPECT_EQ(61624, csmp_hostport_port(&ss));
	EXPECT_STREQ("2001:db8::1:5683", v6_of(&ss, a));
	ASSERT_EQ(0, csmp_hostport_parse("10.1.2.3", 0, &ss, &len, NULL, 0));
	EXPECT_EQ(AF_INET, ss.ss_family);
	EXPECT_EQ(0, csmp_hostport_port(&ss));
	/* An explicit port wins over the default. */
	ASSERT_EQ(0, csmp_hostport_parse("10.1.2.3:9", 0, &ss, &len, NULL, 0));
	EXPECT_EQ(9, csmp_hostport_port(&ss));
}

TEST(missing_port_without_default_is_refused)
{
	static const char *const bad[] = { "[::1]", "::1", "2001:db8::1",
					   "192.0.2.1" };
	struct sockaddr_storage ss;
	char err[128];
	socklen_t len;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, csmp_hostport_parse(bad[i], -1, &ss, &len,
						       err, sizeof(err)));
		EXPECT_NE(NULL, strstr(err, "wants [IPv6]:PORT or IPv4:PORT"));
	}
}

TEST(garbage_is_refused_with_a_reason)
{
	static const char *const bad[] = {
		"", "localhost:61628", "[localhost]:1", "[::1]9628", "[::1",
		"::1]:5", "[192.0.2.1]:5", "1.2.3:5", "1.2.3.4.5:5",
		"[]:5", ":5", "[::1]:5:6", "[2001:db8::1%eth0]:5",
		"[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001]:5",
	};
	struct sockaddr_storage ss;
	char err[256];
	socklen_t len;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		EXPECT_EQ(-EINVAL, csmp_hostport_parse(bad[i], 61628, &ss, &len,
						       err, sizeof(err)));
		EXPECT_NE(0, err[0]);
	}
	EXPECT_EQ(-EINVAL, csmp_hostport_parse(NULL, 1, &ss, &len, err,
					       sizeof(err)));
	EXPECT_STREQ("empty address", err);
	/* err may be NULL or too short; the result is the same. */
	EXPECT_EQ(-EINVAL, csmp_hostport_parse("x", 1, &ss, &len, NULL, 0));
	EXPECT_EQ(-EINVAL, csmp_hostport_parse("x", 1, &ss, &len, err, 2));
	EXPECT_EQ(1u, strlen(err));
}

TEST_HARNESS_MAIN
