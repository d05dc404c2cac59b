// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmpdump: decode CSMP from a pcap file or a live interface (libpcap).
 * Every UDP datagram to or from port 61628 or 61624, IPv6 or IPv4, over
 * Ethernet (VLAN), Linux cooked or raw IP, goes through the same parser
 * csmpd uses; see dump.c for what is printed.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "dump.h"
#include "sig.h"

#define LIVE_FILTER	"udp port 61628 or udp port 61624 or " \
			"(vlan and (udp port 61628 or udp port 61624))"

static pcap_t *live;

static void usage(FILE *f)
{
	fprintf(f,
"usage: csmpdump -r FILE.pcap [options]\n"
"       csmpdump -i IFACE [options]\n"
"\n"
"Decode CSMP (CoAP Simple Management Protocol) datagrams: UDP 61628/61624,\n"
"either direction, IPv6 or IPv4, Ethernet/VLAN/Linux-cooked/raw captures.\n"
"For each: addresses and ports, CoAP type/code/MID/token/path/query, every\n"
"TLV with its name and decoded fields, the signature region and validity\n"
"window, and anomalies (unknown TLVs, padded varints, a window that does\n"
"not contain the capture time, Signature not last, malformed with reason).\n"
"\n"
"  -r, --read FILE        read a pcap/pcapng file ('-' for stdin)\n"
"  -i, --interface IFACE  capture live (needs CAP_NET_RAW)\n"
"  -c, --count N          stop after N CSMP datagrams\n"
"  -j, --json             one JSON object per datagram (JSON Lines)\n"
"  -k, --nms-pubkey PEM   verify Signature TLVs with this NMS public key\n"
"                         (P-256 or Ed25519, PEM) at the capture time\n"
"  -x, --extract DIR      also write each CSMP UDP payload to DIR/<n>.bin\n"
"  -q, --quiet            print only the summary (with -x: nothing)\n"
"  -h, --help             this text\n"
"  --version              print the version\n"
"\n"
"Exit status: 0 when every datagram parsed, 1 when some were malformed or\n"
"failed verification, 2 on a usage or capture error.\n"
"\n"
"Example (the OpenCSMP registration capture shipped with the sources):\n"
"  csmpdump -r ../shared/fixtures/opencsmp-register.pcap\n"
"  csmpdump -r ../shared/fixtures/opencsmp-get.pcap --json | jq -r .coap.path\n");
}

static void on_signal(int sig)
{
	if (live)
		pcap_breakloop(live);
}

static int extract(const char *dir, uint64_t n, const uint8_t *pkt,
		   uint32_t caplen, int linktype)
{
	struct csmp_frame f;
	char path[PATH_MAX];
	FILE *fp;
	int len;

	if (csmp_frame_parse(linktype, pkt, caplen, &f) ||
	    !csmp_frame_is_csmp(&f))
		return 0;
	len = snprintf(path, sizeof(path), "%s/%llu.bin", dir,
		       (unsigned long long)n);
	if (len < 0 || (size_t)len >= sizeof(path))
		return -ENAMETOOLONG;
	fp = fopen(path, "wb");
	if (!fp)
		return -errno;
	if (fwrite(f.payload, 1, f.len, fp) != f.len) {
		fclose(fp);
		return -EIO;
	}
	return fclose(fp) ? -errno : 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "read", required_argument, 0, 'r' },
		{ "interface", required_argument, 0, 'i' },
		{ "count", required_argument, 0, 'c' },
		{ "json", no_argument, 0, 'j' },
		{ "nms-pubkey", required_argument, 0, 'k' },
		{ "extract", required_argument, 0, 'x' },
		{ "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	const char *file = NULL, *iface = NULL, *keyfile = NULL, *xdir = NULL;
	char errbuf[PCAP_ERRBUF_SIZE];
	struct dump_opts o = { 0 };
	struct dump_stats st = { 0 };
	struct csmp_key *key = NULL;
	struct bpf_program prog;
	struct pcap_pkthdr *h;
	const u_char *pkt;
	unsigned long long count = 0, n_csmp = 0;
	FILE *out = stdout;
	int opt, r, quiet = 0, ret = 2, linktype, err;
	uint64_t no = 0;
	pcap_t *p;

	if (csmp_cli_answered(argc, argv, "csmpdump", usage))
		return 0;
	while ((opt = getopt_long(argc, argv, "r:i:c:jk:x:qh", lo, NULL)) != -1) {
		switch (opt) {
		case 'r': file = optarg; break;
		case 'i': iface = optarg; break;
		case 'c': count = strtoull(optarg, NULL, 0); break;
		case 'j': o.json = 1; break;
		case 'k': keyfile = optarg; break;
		case 'x': xdir = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !file == !iface) {
		usage(stderr);
		return 2;
	}
	if (keyfile) {
		err = csmp_key_load_pem(keyfile, &key);
		if (err) {
			fprintf(stderr, "csmpdump: %s: %s\n", keyfile,
				strerror(-err));
			return 2;
		}
		o.nms_key = key;
	}
	if (xdir && mkdir(xdir, 0755) && errno != EEXIST) {
		fprintf(stderr, "csmpdump: %s: %s\n", xdir, strerror(errno));
		goto err_key;
	}
	if (quiet)
		out = fopen("/dev/null", "w");
	if (!out) {
		fprintf(stderr, "csmpdump: /dev/null: %s\n", strerror(errno));
		goto err_key;
	}

	if (file) {
		p = pcap_open_offline(file, errbuf);
	} else {
		p = pcap_open_live(iface, 65535, 0, 100, errbuf);
		if (p && (pcap_compile(p, &prog, LIVE_FILTER, 1,
				       PCAP_NETMASK_UNKNOWN) ||
			  pcap_setfilter(p, &prog))) {
			fprintf(stderr, "csmpdump: filter: %s\n", pcap_geterr(p));
			pcap_close(p);
			p = NULL;
			errbuf[0] = '\0';
		}
	}
	if (!p) {
		if (errbuf[0])
			fprintf(stderr, "csmpdump: %s: %s\n", file ?: iface,
				errbuf);
		goto err_out;
	}
	linktype = pcap_datalink(p);
	if (iface) {
		live = p;
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		fprintf(stderr, "csmpdump: listening on %s\n", iface);
	}

	while ((r = pcap_next_ex(p, &h, &pkt)) >= 0) {
		uint64_t before = st.datagrams;

		if (r == 0)
			continue;	/* live timeout */
		no++;
		dump_frame(out, &o, &st, linktype, pkt, h->caplen, no,
			   (uint64_t)h->ts.tv_sec * 1000000 +
			   (uint64_t)h->ts.tv_usec);
		if (st.datagrams == before)
			continue;
		fflush(out);
		if (xdir) {
			err = extract(xdir, no, pkt, h->caplen, linktype);
			if (err < 0) {
				fprintf(stderr, "csmpdump: %s: %s\n", xdir,
					strerror(-err));
				goto err_pcap;
			}
		}
		if (count && ++n_csmp >= count)
			break;
	}
	if (r == PCAP_ERROR) {
		fprintf(stderr, "csmpdump: %s\n", pcap_geterr(p));
		goto err_pcap;
	}
	if (!o.json && !(quiet && xdir))
		fprintf(quiet ? stdout : out,
			"%llu frames, %llu CSMP datagrams, %llu malformed, "
			"%llu anomalies, %llu fragments skipped%s",
			(unsigned long long)st.frames,
			(unsigned long long)st.datagrams,
			(unsigned long long)st.malformed,
			(unsigned long long)st.anomalies,
			(unsigned long long)st.fragments,
			key ? "" : "\n");
	if (!o.json && !(quiet && xdir) && key)
		fprintf(quiet ? stdout : out,
			", %llu signatures verified, %llu failed\n",
			(unsigned long long)st.sig_ok,
			(unsigned long long)st.sig_failed);
	ret = st.malformed || st.sig_failed ? 1 : 0;
err_pcap:
	pcap_close(p);
err_out:
	if (out != stdout)
		fclose(out);
err_key:
	csmp_key_put(key);
	return ret;
}
