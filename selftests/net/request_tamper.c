// SPDX-License-Identifier: GPL-2.0-only
/*
 * A head-end POST that csmpd would never send, for request_*.sh: CON POST
 * /c {GroupAssign{1, 9}} signed with the NMS key, then spoiled per mode,
 * sent straight to a device's CoAP server; prints the answer's code
 * ("4.01") or "timeout". csmpd checks its own signatures before sending,
 * so a tampered request can only come from outside it.
 *
 *   request_tamper --target [ADDR]:PORT --key NMS.pem --mode good|sig|payload|unsigned
 *                  [--sport PORT]   (its source port; default ephemeral)
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "csmp.h"
#include "sig.h"

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "target", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },
		{ "mode", required_argument, NULL, 'm' },
		{ "sport", required_argument, NULL, 's' },
		{ 0 },
	};
	const char *target = NULL, *keyp = NULL, *mode = "good";
	Csmp__GroupAssign ga = CSMP__GROUP_ASSIGN__INIT;
	struct sockaddr_in6 to;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct sockaddr_in6 from = { .sin6_family = AF_INET6 };
	struct csmp_signer *signer = NULL;
	struct csmp_key *key = NULL;
	struct csmp_coap_enc e;
	struct csmp_coap_msg m;
	struct csmp_tlvw w;
	uint8_t buf[1024], ans[1024];
	uint32_t now = (uint32_t)time(NULL);
	char err[160], code[8];
	struct pollfd p;
	int opt, fd, n, at;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (opt == 't')
			target = optarg;
		else if (opt == 'k')
			keyp = optarg;
		else if (opt == 'm')
			mode = optarg;
		else if (opt == 's')
			from.sin6_port = htons((uint16_t)atoi(optarg));
		else
			return 2;
	}
	if (!target || !keyp) {
		fprintf(stderr, "usage: request_tamper --target [ADDR]:PORT --key PEM --mode good|sig|payload|unsigned\n");
		return 2;
	}
	/* IPv6 only: the socket below is bound to an IPv6 source port. */
	if (csmp_hostport_parse(target, -1, &ss, &sl, err, sizeof(err)) ||
	    ss.ss_family != AF_INET6) {
		fprintf(stderr, "request_tamper: --target %s\n",
			ss.ss_family ? "wants [IPv6]:PORT" : err);
		return 2;
	}
	memcpy(&to, &ss, sizeof(to));
	if (csmp_key_load_pem(keyp, &key) || csmp_signer_new(key, 0, &signer))
		return 1;

	csmp_coap_enc_init(&e, buf, sizeof(buf), CSMP_COAP_CON, CSMP_COAP_POST,
			   (uint16_t)getpid(), NULL, 0);
	csmp_coap_enc_path(&e, "c");
	csmp_coap_enc_payload_begin(&e, &w, 0);
	ga.type = 1;
	ga.id = 9;
	csmp_pb_set_present(&ga.base, 1);
	csmp_pb_set_present(&ga.base, 2);
	csmp_tlvw_put(&w, CSMP_TLV_GROUP_ASSIGN, &ga.base);
	at = (int)w.len - 1;		/* last byte of GroupAssign.id */
	if (strcmp(mode, "unsigned")) {
		n = csmp_sig_append(signer, w.buf, w.len, w.cap, now - 60,
				    now + 3600);
		if (n < 0)
			return 1;
		w.len = (size_t)n;
	}
	if (!strcmp(mode, "sig"))
		w.buf[w.len - 1] ^= 0x01;
	else if (!strcmp(mode, "payload"))
		w.buf[at] ^= 0x01;
	csmp_coap_enc_payload_end(&e, &w);
	n = csmp_coap_enc_finish(&e);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (n < 0 || fd < 0 ||
	    bind(fd, (struct sockaddr *)&from, sizeof(from)) ||
	    sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return 1;
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 2000) != 1) {
		printf("timeout\n");
		return 0;
	}
	n = (int)recv(fd, ans, sizeof(ans), 0);
	if (n < 0 || csmp_coap_parse(ans, (uint32_t)n, &m))
		return 1;
	printf("%s\n", csmp_coap_code_str(m.code, code));
	csmp_signer_free(signer);
	csmp_key_put(key);
	close(fd);
	return 0;
}
