// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Command-line socket addresses (hostport.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "hostport.h"

#define fail(...)                                                              \
	({                                                                     \
		if (err && errlen)                                             \
			snprintf(err, errlen, __VA_ARGS__);                    \
		-EINVAL;                                                       \
	})

/* Decimal digits only: strtoul would take " +7", "-1" and "0x10". */
static int parse_port(const char *p, const char *s, char *err, size_t errlen)
{
	unsigned long v = 0;
	const char *q;

	if (!*p)
		return fail("%s: no port after ':'", s);
	for (q = p; *q; q++) {
		if (*q < '0' || *q > '9')
			return fail("%s: port '%s' is not a number", s, p);
		v = v * 10 + (unsigned long)(*q - '0');
		if (v > 65535)
			return fail("%s: port %s out of range 0..65535", s, p);
	}
	return (int)v;
}

int csmp_hostport_parse(const char *s, int default_port,
			struct sockaddr_storage *ss, socklen_t *len,
			char *err, size_t errlen)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN];
	const char *h = s, *ps = NULL, *c;
	bool bracket = false;
	size_t hl;
	int port = default_port;

	memset(ss, 0, sizeof(*ss));
	*len = 0;
	if (!s || !*s)
		return fail("empty address");
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb)
			return fail("%s: no ']' after the IPv6 address", s);
		if (rb[1] && rb[1] != ':')
			return fail("%s: ':PORT' or nothing must follow ']'", s);
		h = s + 1;
		hl = (size_t)(rb - h);
		ps = rb[1] ? rb + 2 : NULL;
		bracket = true;
	} else if ((c = strchr(s, ':')) && !strchr(c + 1, ':')) {
		/* One colon: V4:PORT. Two or more: a bare IPv6 address. */
		hl = (size_t)(c - s);
		ps = c + 1;
	} else {
		hl = strlen(s);
	}
	if (ps) {
		port = parse_port(ps, s, err, errlen);
		if (port < 0)
			return port;
	} else if (default_port < 0) {
		return fail("%s: wants [IPv6]:PORT or IPv4:PORT", s);
	}
	if (!hl || hl >= sizeof(host))
		return fail("%s: not an IPv6 or IPv4 address", s);
	memcpy(host, h, hl);
	host[hl] = 0;
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	/* Brackets are for IPv6 only, as in a URI. */
	if (!bracket && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	return fail("%s: '%s' is not an %s address", s, host,
		    bracket ? "IPv6" : "IPv6 or IPv4");
}

uint16_t csmp_hostport_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return 0;
}
