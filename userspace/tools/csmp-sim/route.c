// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The device prefix: a `local` route for a /64 on lo (what
 * `ip -6 route add local PREFIX/64 dev lo` does), so every address in it
 * is this host's. Each simulated device then sends from its own address,
 * whose interface identifier is its modified EUI-64, and the head-end's
 * per-device steering sees as many sources as there are devices. One
 * rtnetlink request, acknowledged; -errno on failure (-EEXIST included, so
 * the caller knows not to delete a route it did not add).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "sim.h"

struct rt_req {
	struct nlmsghdr nh;
	struct rtmsg rt;
	char attrs[64];
};

static void add_attr(struct rt_req *r, unsigned short type, const void *data,
		     unsigned short len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

int sim_route_local(const struct in6_addr *prefix, int plen, bool add)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct rt_req r;
	union {
		struct nlmsghdr nh;
		char buf[512];
	} ans;
	unsigned int lo;
	int fd, err;
	ssize_t n;

	lo = if_nametoindex("lo");
	if (!lo)
		return -ENODEV;
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.nh.nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
			   (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	r.nh.nlmsg_seq = 1;
	r.rt.rtm_family = AF_INET6;
	r.rt.rtm_dst_len = (unsigned char)plen;
	r.rt.rtm_table = RT_TABLE_LOCAL;
	r.rt.rtm_protocol = RTPROT_BOOT;
	r.rt.rtm_scope = RT_SCOPE_HOST;
	r.rt.rtm_type = RTN_LOCAL;
	add_attr(&r, RTA_DST, prefix, sizeof(*prefix));
	add_attr(&r, RTA_OIF, &lo, sizeof(lo));

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &r, r.nh.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0) {
		err = -errno;
		goto out_close;
	}
	n = recv(fd, &ans, sizeof(ans), 0);
	if (n < 0) {
		err = -errno;
		goto out_close;
	}
	if ((size_t)n < NLMSG_LENGTH(sizeof(struct nlmsgerr)) ||
	    ans.nh.nlmsg_type != NLMSG_ERROR) {
		err = -EPROTO;
		goto out_close;
	}
	err = ((struct nlmsgerr *)NLMSG_DATA(&ans.nh))->error;
out_close:
	close(fd);
	return err;
}
