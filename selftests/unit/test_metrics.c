// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Prometheus endpoint (userspace/csmpd/http/metrics.c) over real TCP on
 * loopback: GET /metrics returns the text format with HELP/TYPE lines and
 * labelled samples, other paths 404, other methods 405; address parsing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "http/metrics.h"

static void render(void *ctx, struct csmp_buf *b)
{
	unsigned int w;
	char l[64];

	(*(int *)ctx)++;
	csmp_metric_family(b, "csmp_rx_datagrams_total", "counter",
			   "Datagrams received.");
	for (w = 0; w < 2; w++) {
		snprintf(l, sizeof(l), "worker=\"%u\"", w);
		csmp_metric_sample(b, "csmp_rx_datagrams_total", l, 1000 + w);
	}
	csmp_metric_family(b, "csmp_devices", "gauge", "Devices known.");
	csmp_metric_sample(b, "csmp_devices", "", 7);
}

static char *http(int port, const char *req)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	static char buf[8192];
	size_t len = 0;
	ssize_t n;
	int fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return NULL;
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return NULL;
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	close(fd);
	return buf;
}

TEST(metrics_endpoint_serves_text_format)
{
	struct csmp_metrics *m;
	char err[256];
	int renders = 0, port;
	char *r;

	ASSERT_EQ(0, csmp_metrics_open("127.0.0.1:0", render, &renders, &m,
				       err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	ASSERT_EQ(0, csmp_metrics_start(m));
	port = csmp_metrics_port(m);
	ASSERT_LT(0, port);

	r = http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, strncmp(r, "HTTP/1.0 200 OK\r\n", 17));
	EXPECT_NE(NULL, strstr(r, "Content-Type: text/plain; version=0.0.4"));
	EXPECT_NE(NULL, strstr(r, "# HELP csmp_rx_datagrams_total Datagrams received.\n"
				  "# TYPE csmp_rx_datagrams_total counter\n"
				  "csmp_rx_datagrams_total{worker=\"0\"} 1000\n"
				  "csmp_rx_datagrams_total{worker=\"1\"} 1001\n"));
	EXPECT_NE(NULL, strstr(r, "# TYPE csmp_devices gauge\ncsmp_devices 7\n"));

	r = http(port, "GET /nothing HTTP/1.0\r\n\r\n");
	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, strncmp(r, "HTTP/1.0 404", 12));
	r = http(port, "POST /metrics HTTP/1.0\r\n\r\n");
	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, strncmp(r, "HTTP/1.0 405", 12));
	EXPECT_EQ(1, renders);
	csmp_metrics_close(m);
}

TEST(port_in_use_is_an_error)
{
	struct csmp_metrics *a, *b = NULL;
	char err[256] = "", addr[32];
	int r = 0;

	ASSERT_EQ(0, csmp_metrics_open("127.0.0.1:0", render, &r, &a, err,
				       sizeof(err)));
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", csmp_metrics_port(a));
	EXPECT_EQ(-EADDRINUSE, csmp_metrics_open(addr, render, &r, &b, err,
						 sizeof(err)));
	EXPECT_NE(NULL, strstr(err, addr));
	csmp_metrics_close(a);
}

TEST_HARNESS_MAIN
