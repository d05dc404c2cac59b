// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Key commands: `csmpctl keygen` writes a key pair (the NMS key that signs
 * downlink messages, or a device key for uplink signing), `csmpctl enroll
 * EID KEYFILE` gives csmpd a device's public key for uplink verification,
 * and `csmpctl reload` makes csmpd re-read its config file's policy.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_common.h"
#include "sig.h"

static void keygen_usage(FILE *f)
{
	fprintf(f, "usage: csmpctl keygen [--suite p256|ed25519] [PRIVATE.pem [PUBLIC.pem]]\n"
		   "Writes a new key pair: the private key (0600, never overwritten;\n"
		   "default nms-key.pem) and its public key (default PRIVATE with .pub.pem).\n"
		   "Example: csmpctl keygen /etc/csmpd/nms-key.pem\n");
}

static void enroll_usage(FILE *f)
{
	fprintf(f, "usage: csmpctl enroll EID KEYFILE\n"
		   "Enrolls a device's public key (PEM, P-256 or Ed25519) for uplink\n"
		   "signature verification; csmpd keeps it in its registry.\n"
		   "Example: csmpctl enroll 0A0027FFFE3B2AB2 device.pub.pem\n");
}

static void reload_usage(FILE *f)
{
	fprintf(f, "usage: csmpctl reload\n"
		   "Makes csmpd re-read its config file's policy, as SIGHUP does, and\n"
		   "prints the new policy generation.\n"
		   "Example: csmpctl --control ./run/control.sock reload\n");
}

static int cmd_keygen(int argc, char **argv, const struct csmpctl_opts *o)
{
	static const struct option lo[] = {
		{ "suite", required_argument, NULL, 's' },
		{ 0 },
	};
	enum csmp_sig_suite suite = CSMP_SUITE_P256;
	const char *priv = "nms-key.pem", *pub = NULL;
	char pubbuf[4096];
	struct csmp_key *k;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (!strcmp(optarg, "p256"))
				suite = CSMP_SUITE_P256;
			else if (!strcmp(optarg, "ed25519"))
				suite = CSMP_SUITE_ED25519;
			else {
				fprintf(stderr, "csmpctl keygen: --suite p256 or ed25519\n");
				return 2;
			}
			break;
		default:
			keygen_usage(stderr);
			return 2;
		}
	}
	if (argc - optind > 2) {
		keygen_usage(stderr);
		return 2;
	}
	if (optind < argc)
		priv = argv[optind++];
	if (optind < argc) {
		pub = argv[optind++];
	} else {
		size_t n = strlen(priv);

		if (n > 4 && !strcmp(priv + n - 4, ".pem"))
			n -= 4;
		snprintf(pubbuf, sizeof(pubbuf), "%.*s.pub.pem", (int)n, priv);
		pub = pubbuf;
	}
	ret = csmp_key_generate(suite, &k);
	if (!ret)
		ret = csmp_key_write_pem(k, priv, pub);
	csmp_key_put(k);
	if (ret) {
		fprintf(stderr, "csmpctl keygen: %s: %s\n", priv,
			ret == -EEXIST ? "exists (never overwritten)" :
					 strerror(-ret));
		return 1;
	}
	if (!o->json)
		printf("private key %s, public key %s (%s)\n", priv, pub,
		       suite == CSMP_SUITE_P256 ? "ECDSA P-256" : "Ed25519");
	else
		printf("{\"private\":\"%s\",\"public\":\"%s\",\"suite\":\"%s\"}\n",
		       priv, pub, suite == CSMP_SUITE_P256 ? "p256" : "ed25519");
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = calloc(1, 65536);
	if (buf) {
		n = fread(buf, 1, 65535, f);
		buf[n] = 0;
	}
	fclose(f);
	return buf;
}

static int cmd_enroll(int argc, char **argv, const struct csmpctl_opts *o)
{
	json_t *resp;
	char *pem;
	int ret;

	if (argc != 3 || argv[1][0] == '-') {
		enroll_usage(stderr);
		return 2;
	}
	pem = slurp(argv[2]);
	if (!pem) {
		fprintf(stderr, "csmpctl enroll: %s: %s\n", argv[2],
			strerror(errno));
		return 1;
	}
	ret = csmpctl_call(o, json_pack("{s:s,s:s,s:s}", "cmd", "enroll",
					"eid", argv[1], "pem", pem), &resp);
	free(pem);
	if (ret)
		return ret;
	if (o->json)
		printf("{\"eid\":\"%s\",\"suite\":\"%s\",\"enrolled\":true}\n",
		       json_string_value(json_object_get(resp, "eid")),
		       json_string_value(json_object_get(resp, "suite")));
	else
		printf("%s: %s key enrolled\n",
		       json_string_value(json_object_get(resp, "eid")),
		       json_string_value(json_object_get(resp, "suite")));
	json_decref(resp);
	return 0;
}

static int cmd_reload(int argc, char **argv, const struct csmpctl_opts *o)
{
	json_t *resp;
	int ret;

	if (argc != 1) {
		reload_usage(stderr);
		return 2;
	}
	ret = csmpctl_call(o, json_pack("{s:s}", "cmd", "reload"), &resp);
	if (ret)
		return ret;
	printf(o->json ? "{\"policy_generation\":%lld}\n" :
			 "policy generation %lld\n",
	       (long long)json_integer_value(json_object_get(resp,
							     "policy_generation")));
	json_decref(resp);
	return 0;
}

CSMPCTL_COMMAND_HELP(keygen, "keygen", "keygen [--suite p256|ed25519] [PRIV [PUB]]",
		     "write a new key pair (NMS or device key)", cmd_keygen,
		     keygen_usage)
CSMPCTL_COMMAND_HELP(enroll, "enroll", "enroll EID KEYFILE",
		     "enroll a device public key for uplink verification",
		     cmd_enroll, enroll_usage)
CSMPCTL_COMMAND_HELP(reload, "reload", "reload",
		     "re-read the config file's policy (as SIGHUP)", cmd_reload,
		     reload_usage)
