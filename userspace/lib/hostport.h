/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The one parser of the socket addresses every program takes on its
 * command line ("[2001:db8::1]:61628", "192.0.2.1:61628"), so that every
 * tool accepts the same forms and refuses the same mistakes with the same
 * words. Numeric addresses only: a name would make a test or a load tool
 * depend on the resolver.
 *
 * Accepted, with default_port the port used when the string has none
 * (-1: a port is required):
 *   [V6]:PORT    V4:PORT
 *   [V6]  V6  V4           (only with a default port)
 * PORT is decimal digits, 0..65535 (0 is what bind(2) takes for "any";
 * a caller that needs a real destination refuses it itself). A bare V6
 * never carries a port: "2001:db8::1:5683" is one address.
 */
#ifndef LIBCSMP_HOSTPORT_H
#define LIBCSMP_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * Parse s into *ss (zeroed first) and *len. Returns 0, or -EINVAL for a
 * string none of the forms above describes; then, when err is not NULL,
 * err gets the reason in words ("port 70000 out of range 0..65535").
 */
int csmp_hostport_parse(const char *s, int default_port,
			struct sockaddr_storage *ss, socklen_t *len,
			char *err, size_t errlen);

/* The port of an AF_INET/AF_INET6 address in host order (0 otherwise). */
uint16_t csmp_hostport_port(const struct sockaddr_storage *ss);

#endif /* LIBCSMP_HOSTPORT_H */
