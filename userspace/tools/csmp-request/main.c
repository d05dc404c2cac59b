// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmp-request: one head-end-initiated GET or POST to one device, through
 * csmpd's control socket, so it leaves from the worker that owns the
 * device, with the address the device registered to as its source and
 * from that worker's reply port (the answer comes back to it through
 * csmp_lb). Prints each TLV of the answer as `[75/FirmwareImageInfo]:
 * {json}`, optionally its raw bytes, or the whole answer as JSON; the exit
 * status follows the CoAP code.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "csmp.h"
#include "ctl_client.h"

#define DEFAULT_CONTROL "/run/csmpd/control.sock"

/* Exit status. */
enum {
	RC_OK = 0,		/* 2.xx */
	RC_ERROR = 1,		/* not sent, csmpd unreachable, other */
	RC_USAGE = 2,
	RC_TIMEOUT = 3,		/* no answer in time */
	RC_CLIENT = 4,		/* 4.xx */
	RC_SERVER = 5,		/* 5.xx */
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: csmp-request [OPTIONS] TARGET [TLVID...]\n"
"\n"
"Sends a CON GET /c?q=TLVID... (or, with --post, a signed CON POST /c) to one\n"
"device through csmpd's control socket and prints each TLV of the device's\n"
"answer as `[75/FirmwareImageInfo]: {json}`. TARGET is an EID (16 hex digits,\n"
"csmpd sends to the device's registered address) or an address ([v6]:port,\n"
"v6, a.b.c.d). With no TLVID a GET asks for the TlvIndex.\n"
"\n"
"  -r, --raw              also print each TLV's bytes in hex\n"
"  --json                 print csmpd's whole answer as one JSON object\n"
"  --control PATH         csmpd control socket (default %s)\n"
"  --post TLVID=JSON      POST this TLV (repeatable, in order), e.g.\n"
"                         --post 'ReportSubscribe={\"interval\":300,\"tlvid\":[\"22\"]}'\n"
"                         csmpd adds SignatureValidity and Signature (NMS key)\n"
"  --path c/ID[/INDEX]    GET one TLV by path instead of ?q= (4.04 if unknown)\n"
"  --timeout S            seconds to wait for the answer (default 5)\n"
"  --retries N            resend the same CON N times within the timeout\n"
"                         (default 0: CSMP forbids CoAP retransmission)\n"
"  --port P               the device's CSMP port (default 61628)\n"
"  -v, --verbose          print the CoAP code, source port and RTT on stderr\n"
"  -h, --help             this text\n"
"  --version              print the version\n"
"\n"
"Exit status: 0 for a 2.xx answer, 4 for 4.xx, 5 for 5.xx, 3 on timeout,\n"
"1 when the request could not be sent, 2 on bad usage.\n"
"\n"
"Example (csmpd with --control ./ctl.sock, a device registered):\n"
"  csmp-request --control ./ctl.sock 00C5000000000001 1 11 75\n"
"  csmp-request --control ./ctl.sock --post 'GroupAssign={\"type\":1,\"id\":7}' \\\n"
"               00C5000000000001\n",
		DEFAULT_CONTROL);
}

static int add_post(json_t *post, const char *arg)
{
	const char *eq = strchr(arg, '=');
	json_error_t jerr;
	char id[64];
	json_t *v;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(id)) {
		fprintf(stderr, "csmp-request: --post wants TLVID=JSON, got '%s'\n",
			arg);
		return -EINVAL;
	}
	memcpy(id, arg, (size_t)(eq - arg));
	id[eq - arg] = 0;
	v = json_loads(eq + 1, JSON_DECODE_ANY, &jerr);
	if (!v) {
		fprintf(stderr, "csmp-request: --post %s: not JSON: %s\n", id,
			jerr.text);
		return -EINVAL;
	}
	/* An array of one-member objects keeps the order and repeats. */
	json_array_append_new(post, json_pack("{s:o}", id, v));
	return 0;
}

static int code_rc(const char *code)
{
	switch (code ? code[0] : 0) {
	case '2':
		return RC_OK;
	case '4':
		return RC_CLIENT;
	case '5':
		return RC_SERVER;
	default:
		return RC_ERROR;
	}
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "control", required_argument, NULL, 'c' },
		{ "post", required_argument, NULL, 'p' },
		{ "path", required_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 't' },
		{ "retries", required_argument, NULL, 'R' },
		{ "port", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *control = DEFAULT_CONTROL, *path = NULL;
	bool raw = false, as_json = false, verbose = false;
	json_t *req, *resp = NULL, *post, *tlvs, *t;
	double timeout = 5;
	long retries = 0, port = 0;
	struct sockaddr_storage ss;
	char err[512], *end;
	socklen_t sslen;
	uint64_t eid;
	size_t i;
	int opt, ret, rc;

	if (csmp_cli_answered(argc, argv, "csmp-request", usage))
		return 0;
	post = json_array();
	tlvs = json_array();
	if (!post || !tlvs)
		return RC_ERROR;
	while ((opt = getopt_long(argc, argv, "rvh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			raw = true;
			break;
		case 'j':
			as_json = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'c':
			control = optarg;
			break;
		case 'p':
			if (add_post(post, optarg))
				return RC_USAGE;
			break;
		case 'P':
			path = optarg;
			break;
		case 't':
			timeout = strtod(optarg, &end);
			if (*end || timeout <= 0 || timeout > 600) {
				fprintf(stderr, "csmp-request: --timeout wants seconds in (0, 600]\n");
				return RC_USAGE;
			}
			break;
		case 'R':
			retries = strtol(optarg, &end, 10);
			if (*end || retries < 0 || retries > 5) {
				fprintf(stderr, "csmp-request: --retries wants 0..5\n");
				return RC_USAGE;
			}
			break;
		case 'o':
			port = strtol(optarg, &end, 10);
			if (*end || port < 1 || port > 65535) {
				fprintf(stderr, "csmp-request: --port wants 1..65535\n");
				return RC_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return RC_OK;
		default:
			usage(stderr);
			return RC_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return RC_USAGE;
	}
	/* An address target is checked here, by the parser every tool
	 * shares, so a typo is a usage error that never reaches csmpd. */
	if (csmp_eid_parse(argv[optind], &eid) &&
	    csmp_hostport_parse(argv[optind], port ? (int)port : CSMP_PORT,
				&ss, &sslen, err, sizeof(err))) {
		fprintf(stderr, "csmp-request: TARGET is an EID (16 hex digits) or an address: %s\n",
			err);
		return RC_USAGE;
	}
	for (int k = optind + 1; k < argc; k++)
		json_array_append_new(tlvs, json_string(argv[k]));
	if (json_array_size(post) && json_array_size(tlvs)) {
		fprintf(stderr, "csmp-request: TLV ids to GET and --post do not mix\n");
		return RC_USAGE;
	}

	req = json_pack("{s:s,s:s,s:s,s:I,s:I}", "cmd", "request", "target",
			argv[optind], "method", json_array_size(post) ? "post" : "get",
			"timeout_ms", (json_int_t)(timeout * 1000), "retries",
			(json_int_t)retries);
	if (!req)
		return RC_ERROR;
	if (json_array_size(post))
		json_object_set(req, "post", post);
	else
		json_object_set(req, "tlvs", tlvs);
	if (path)
		json_object_set_new(req, "path", json_string(path));
	if (port)
		json_object_set_new(req, "port", json_integer(port));

	ret = csmp_ctl_call(control, req, &resp,
			    (unsigned int)(timeout * 1000) + 3000, err,
			    sizeof(err));
	json_decref(req);
	json_decref(post);
	json_decref(tlvs);
	if (ret) {
		fprintf(stderr, "csmp-request: %s\n", err);
		return RC_ERROR;
	}
	if (as_json) {
		json_dumpf(resp, stdout, JSON_COMPACT);
		putchar('\n');
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *e = json_string_value(json_object_get(resp, "error"));

		fprintf(stderr, "csmp-request: %s\n", e ? e : "request failed");
		rc = json_is_true(json_object_get(resp, "timeout")) ? RC_TIMEOUT :
								       RC_ERROR;
		json_decref(resp);
		return rc;
	}
	rc = code_rc(json_string_value(json_object_get(resp, "code")));
	if (verbose || rc != RC_OK)
		fprintf(stderr, "%s %s from %s (source port %lld, worker %lld, %lld us)\n",
			json_string_value(json_object_get(resp, "code")),
			json_string_value(json_object_get(resp, "code_name")),
			json_string_value(json_object_get(resp, "addr")),
			(long long)json_integer_value(json_object_get(resp, "src_port")),
			(long long)json_integer_value(json_object_get(resp, "worker")),
			(long long)json_integer_value(json_object_get(resp, "rtt_us")));
	if (!as_json) {
		json_array_foreach(json_object_get(resp, "tlvs"), i, t) {
			const char *line = json_string_value(json_object_get(t, "line"));

			printf("%s\n", line ? line : "(TLV too large to print)");
			if (raw)
				printf("  raw: %s\n",
				       json_string_value(json_object_get(t, "raw")));
		}
		if (json_object_get(resp, "tlv_error"))
			fprintf(stderr, "csmp-request: the answer's TLVs stop early: %s\n",
				json_string_value(json_object_get(resp, "tlv_error")));
	}
	json_decref(resp);
	return rc;
}
