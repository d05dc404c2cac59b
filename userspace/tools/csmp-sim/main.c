// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmp-sim: a fleet of simulated CSMP devices that behave like the OpenCSMP
 * agent (csmp-agent-lib), for demos, integration tests and load. This file
 * holds the command line, the set-up order (sockets and the local route
 * first, then keys, then the loop) and the exit summary.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "cli.h"
#include "hostport.h"
#include "sig.h"
#include "sim.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: csmp-sim --target ADDR:PORT --nms-pubkey PEM [options]\n"
"\n"
"Simulates N OpenCSMP devices: each registers (CON POST /r, the agent's TLVs\n"
"and padded lengths, a new MID per attempt, randomised backoff), verifies the\n"
"head-end's signed ACK with the NMS public key, then sends a report right away\n"
"and one per ReportSubscribe interval (NON POST /c). An ACK that fails\n"
"verification makes the device send CGMSNotification code 2 and keep retrying,\n"
"as the agent does.\n"
"\n"
"Options:\n"
"  --target ADDR:PORT     head-end address (default [::1]:61628)\n"
"  --devices N            number of devices (default 1000)\n"
"  --duration S           stop after S seconds (default 60; 0 = no limit)\n"
"  --until-registered     stop once every device registered (see --linger)\n"
"  --linger S             keep running S seconds after that (default 0)\n"
"  --drain S              after the end, S seconds sending nothing new but\n"
"                         taking the answers in flight (default 0.3)\n"
"  --nms-pubkey PEM       NMS public (or private) key, PEM, P-256\n"
"  --reg-min S            registration interval min: first attempt at a random\n"
"                         0..S, then waits in [I/2, I] (default 2)\n"
"  --reg-max S            I doubles up to S (default 20)\n"
"  --report-interval S    override the ReportSubscribe interval (0 = no reports)\n"
"  --rate R               open loop: R registration attempts/s over the devices\n"
"                         in turn, whatever the answers (load generation)\n"
"  --report-rate R        open loop: R reports/s over the registered devices in\n"
"                         turn (load), from --report-start S (default 0)\n"
"  --verify-every N       verify 1 ACK in N (default 1 = every ACK; 0 = none)\n"
"  --sockets N            shared sockets in prefix mode (default 4)\n"
"  --src auto|prefix|ports  source addressing (default auto: prefix when root\n"
"                         and the target is IPv6 loopback or --src-prefix given)\n"
"  --src-prefix P         device /64 (default fd00:c5:0:<pid>::), added as a\n"
"                         local route on lo and removed at exit\n"
"  --eid-base HEX         EID of device 0 (default 00C5000000000000)\n"
"  --seed N               PRNG seed (default 1)\n"
"  --serve                each device answers head-end requests (GET/POST /c)\n"
"                         on port 61628 at its own address, like the agent's\n"
"                         CoAP server; POSTs must be signed by --nms-pubkey's\n"
"                         key (4.01 bad, 4.03 unsigned); needs prefix mode\n"
"  --serve-port P         port of that server (default 61628)\n"
"  --serve-log FILE       one JSON line per request served (requester address\n"
"                         and port, method, path, query, answer code)\n"
"  --uplink-sign ed25519|p256  every device signs what it sends with a key\n"
"                         of its own (csmpd's uplink-signature policy)\n"
"  --uplink-key-dir DIR   device keys: DIR/private/<EID>.pem, made when absent,\n"
"                         and the public DIR/<EID>.pem for csmpd --device-keys\n"
"  --bad-signature-rate F  spoil that fraction of the signed reports\n"
"\n"
"Firmware (with --serve; the agent's slots 1 RUN, 2 UPLOAD, 3 BACKUP):\n"
"  --fw-version V[,V...]  starting image of each device in turn (default\n"
"                         1.0.0); its hash is SHA-256(\"csmp-sim firmware V\")\n"
"  --fw-hwid S            hwId of the starting images (default OPENCSMP)\n"
"  --fw-slot-size BYTES   largest image a slot takes (default 30720)\n"
"  --fw-transfer-response  answer TransferRequest with TransferResponse (71)\n"
"                         as the draft says (the Linux agent sends none)\n"
"Radio (head-end requests and answers):\n"
"  --loss P               drop each datagram with probability P, both ways\n"
"  --link-rate B          bytes/s of each device's link (default unlimited)\n"
"  --pan-rate B           bytes/s shared by the devices of one PAN\n"
"  --pan-size N           devices per PAN (default 1000)\n"
"  --pan-queue N          datagrams a PAN holds waiting (default 64)\n"
"  --group-mcast PREFIX   firmware group address: PREFIX with the group id\n"
"                         in the low 32 bits (default ff05::c5:0:0)\n"
"  --mcast-if IFNAME      interface the groups are joined on (default lo; a\n"
"                         netns's lo does not loop multicast back, a veth does)\n"
"Fleet shares:\n"
"  --stop-after S         devices of --stop-share go silent after S seconds\n"
"  --stop-share F         that share of the fleet (default 1)\n"
"  --wrong-key-share F    that share verifies with another NMS key: they\n"
"                         refuse every ACK (CGMSNotification code 2) and\n"
"                         signed POST (4.01), and never register\n"
"  --json                 print the summary as JSON on stdout; reg_latency_ms is\n"
"                         first attempt -> ACK verified (includes the sim's\n"
"                         own work), rtt_ms attempt -> ACK in the kernel\n"
"  --quiet                no progress lines on stderr\n"
"  -h, --help             this help (and nothing else)\n"
"  --version              the build's version\n"
"\n"
"NON requests are answered as the agent does: a NON POST /c to the NMS after\n"
"a random wait up to a= seconds (20 when absent), or for a NON POST with no\n"
"output a CGMSNotification (code 0, or 3 with the TLVs that failed).\n"
"\n"
"Exit status: 0 when every device registered (always in --rate mode; the\n"
"wrong-key share is not counted),\n"
"3 when some did not, 1 on errors, 2 on bad usage.\n"
"\n"
"Example (csmpd on loopback, key made by `csmpctl keygen` or openssl):\n"
"  openssl ecparam -name prime256v1 -genkey -noout -out nms.key\n"
"  openssl ec -in nms.key -pubout -out nms.pub\n"
"  csmpd --listen [::1]:61628 --nms-key nms.key &\n"
"  csmp-sim --target [::1]:61628 --nms-pubkey nms.pub --devices 10000 \\\n"
"           --until-registered --json\n");
}

static int parse_double(const char *s, double min, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || v < min)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_u64(const char *s, int base, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || end == s)
		return -EINVAL;
	*out = v;
	return 0;
}

enum {
	OPT_TARGET = 256, OPT_DEVICES, OPT_DURATION, OPT_PUBKEY, OPT_REG_MIN,
	OPT_REG_MAX, OPT_REPORT, OPT_RATE, OPT_VERIFY, OPT_SOCKETS, OPT_SRC,
	OPT_SRC_PREFIX, OPT_EID_BASE, OPT_SEED, OPT_JSON, OPT_QUIET,
	OPT_UNTIL, OPT_LINGER, OPT_DRAIN, OPT_REPORT_RATE, OPT_REPORT_START,
	/* devserver.c, uplink.c */
	OPT_SERVE, OPT_SERVE_PORT, OPT_SERVE_LOG, OPT_UPLINK_SIGN,
	OPT_UPLINK_KEY_DIR, OPT_BAD_SIG_RATE,
	/* firmware.c, radio.c, fleet shares */
	OPT_FW_VERSION, OPT_FW_HWID, OPT_FW_SLOT, OPT_FW_XFER_RESP, OPT_LOSS,
	OPT_LINK_RATE, OPT_PAN_RATE, OPT_PAN_SIZE, OPT_PAN_QUEUE,
	OPT_GROUP_MCAST, OPT_MCAST_IF, OPT_STOP_AFTER, OPT_STOP_SHARE,
	OPT_WRONG_KEY,
};

static int parse_args(int argc, char **argv, struct sim_opts *o)
{
	static const struct option lopts[] = {
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "devices", required_argument, NULL, OPT_DEVICES },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "nms-pubkey", required_argument, NULL, OPT_PUBKEY },
		{ "reg-min", required_argument, NULL, OPT_REG_MIN },
		{ "reg-max", required_argument, NULL, OPT_REG_MAX },
		{ "report-interval", required_argument, NULL, OPT_REPORT },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "verify-every", required_argument, NULL, OPT_VERIFY },
		{ "sockets", required_argument, NULL, OPT_SOCKETS },
		{ "src", required_argument, NULL, OPT_SRC },
		{ "src-prefix", required_argument, NULL, OPT_SRC_PREFIX },
		{ "eid-base", required_argument, NULL, OPT_EID_BASE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "until-registered", no_argument, NULL, OPT_UNTIL },
		{ "linger", required_argument, NULL, OPT_LINGER },
		{ "drain", required_argument, NULL, OPT_DRAIN },
		{ "report-rate", required_argument, NULL, OPT_REPORT_RATE },
		{ "report-start", required_argument, NULL, OPT_REPORT_START },
		{ "serve", no_argument, NULL, OPT_SERVE },
		{ "serve-port", required_argument, NULL, OPT_SERVE_PORT },
		{ "serve-log", required_argument, NULL, OPT_SERVE_LOG },
		{ "uplink-sign", required_argument, NULL, OPT_UPLINK_SIGN },
		{ "uplink-key-dir", required_argument, NULL, OPT_UPLINK_KEY_DIR },
		{ "bad-signature-rate", required_argument, NULL, OPT_BAD_SIG_RATE },
		{ "fw-version", required_argument, NULL, OPT_FW_VERSION },
		{ "fw-hwid", required_argument, NULL, OPT_FW_HWID },
		{ "fw-slot-size", required_argument, NULL, OPT_FW_SLOT },
		{ "fw-transfer-response", no_argument, NULL, OPT_FW_XFER_RESP },
		{ "loss", required_argument, NULL, OPT_LOSS },
		{ "link-rate", required_argument, NULL, OPT_LINK_RATE },
		{ "pan-rate", required_argument, NULL, OPT_PAN_RATE },
		{ "pan-size", required_argument, NULL, OPT_PAN_SIZE },
		{ "pan-queue", required_argument, NULL, OPT_PAN_QUEUE },
		{ "group-mcast", required_argument, NULL, OPT_GROUP_MCAST },
		{ "mcast-if", required_argument, NULL, OPT_MCAST_IF },
		{ "stop-after", required_argument, NULL, OPT_STOP_AFTER },
		{ "stop-share", required_argument, NULL, OPT_STOP_SHARE },
		{ "wrong-key-share", required_argument, NULL, OPT_WRONG_KEY },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t v;
	int opt;

	csmp_hostport_parse("[::1]:61628", 61628, &o->target, &o->target_len,
			    NULL, 0);
	o->devices = 1000;
	o->duration = 60;
	o->drain = 0.3;
	o->reg_min = 2;
	o->reg_max = 20;
	o->report_interval = -1;
	o->verify_every = 1;
	o->sockets = 4;
	o->seed = 1;
	o->eid_base = 0x00C5000000000000ull;
	o->serve_port = 61628;
	o->fw_slot_size = 30720;
	o->pan_size = 1000;
	o->pan_queue = 64;
	o->stop_after = -1;
	o->stop_share = 1;
	inet_pton(AF_INET6, "ff05::c5:0:0", &o->group_mcast);

	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		const char *what = NULL;

		switch (opt) {
		case OPT_TARGET: {
			char why[128] = "port 0 is no destination";
			int bad = csmp_hostport_parse(optarg, 61628, &o->target,
						      &o->target_len, why,
						      sizeof(why));

			if (bad || !csmp_hostport_port(&o->target)) {
				fprintf(stderr, "csmp-sim: --target: %s, e.g. "
					"[::1]:61628\n", why);
				return -EINVAL;
			}
			break;
		}
		case OPT_DEVICES:
			if (parse_u64(optarg, 10, &v) || !v || v > 16000000)
				what = "--devices wants 1..16000000";
			else
				o->devices = (uint32_t)v;
			break;
		case OPT_DURATION:
			if (parse_double(optarg, 0, &o->duration))
				what = "--duration wants seconds >= 0";
			break;
		case OPT_PUBKEY:
			o->nms_pubkey = optarg;
			break;
		case OPT_REG_MIN:
			if (parse_double(optarg, 0.001, &o->reg_min))
				what = "--reg-min wants seconds > 0";
			break;
		case OPT_REG_MAX:
			if (parse_double(optarg, 0.001, &o->reg_max))
				what = "--reg-max wants seconds > 0";
			break;
		case OPT_REPORT:
			if (parse_double(optarg, 0, &o->report_interval))
				what = "--report-interval wants seconds >= 0";
			break;
		case OPT_RATE:
			if (parse_double(optarg, 0, &o->rate))
				what = "--rate wants attempts/s >= 0";
			break;
		case OPT_VERIFY:
			if (parse_u64(optarg, 10, &v) || v > UINT32_MAX)
				what = "--verify-every wants N >= 0";
			else
				o->verify_every = (uint32_t)v;
			break;
		case OPT_SOCKETS:
			if (parse_u64(optarg, 10, &v) || !v || v > SIM_MAX_SOCKS)
				what = "--sockets wants 1..64";
			else
				o->sockets = (uint32_t)v;
			break;
		case OPT_SRC:
			if (!strcmp(optarg, "auto"))
				o->src_mode = SIM_SRC_AUTO;
			else if (!strcmp(optarg, "prefix"))
				o->src_mode = SIM_SRC_PREFIX;
			else if (!strcmp(optarg, "ports"))
				o->src_mode = SIM_SRC_PORTS;
			else
				what = "--src wants auto, prefix or ports";
			break;
		case OPT_SRC_PREFIX: {
			char buf[INET6_ADDRSTRLEN + 4], *slash;

			snprintf(buf, sizeof(buf), "%s", optarg);
			slash = strchr(buf, '/');
			if (slash && strcmp(slash, "/64"))
				what = "--src-prefix must be a /64";
			if (slash)
				*slash = 0;
			if (!what && inet_pton(AF_INET6, buf, &o->src_prefix) != 1)
				what = "--src-prefix wants an IPv6 prefix, e.g. fd00:c5:1::";
			o->src_prefix_set = true;
			break;
		}
		case OPT_EID_BASE:
			if (parse_u64(optarg, 16, &v))
				what = "--eid-base wants 16 hex digits";
			else
				o->eid_base = v;
			break;
		case OPT_SEED:
			if (parse_u64(optarg, 0, &o->seed))
				what = "--seed wants a number";
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_UNTIL:
			o->until_registered = true;
			break;
		case OPT_LINGER:
			if (parse_double(optarg, 0, &o->linger))
				what = "--linger wants seconds >= 0";
			break;
		case OPT_REPORT_RATE:
			if (parse_double(optarg, 0, &o->report_rate))
				what = "--report-rate wants reports/s >= 0";
			break;
		case OPT_REPORT_START:
			if (parse_double(optarg, 0, &o->report_start))
				what = "--report-start wants seconds >= 0";
			break;
		case OPT_DRAIN:
			if (parse_double(optarg, 0, &o->drain))
				what = "--drain wants seconds >= 0";
			break;
		case OPT_SERVE:
			o->serve = true;
			break;
		case OPT_SERVE_PORT:
			if (parse_u64(optarg, 10, &v) || !v || v > 65535)
				what = "--serve-port wants 1..65535";
			else
				o->serve_port = (uint16_t)v;
			break;
		case OPT_SERVE_LOG:
			o->serve_log = optarg;
			break;
		case OPT_UPLINK_SIGN:
			if (!strcmp(optarg, "p256"))
				o->uplink_suite = CSMP_SUITE_P256;
			else if (!strcmp(optarg, "ed25519"))
				o->uplink_suite = CSMP_SUITE_ED25519;
			else
				what = "--uplink-sign wants ed25519 or p256";
			break;
		case OPT_UPLINK_KEY_DIR:
			o->uplink_key_dir = optarg;
			break;
		case OPT_BAD_SIG_RATE:
			if (parse_double(optarg, 0, &o->bad_sig_rate) ||
			    o->bad_sig_rate > 1)
				what = "--bad-signature-rate wants 0..1";
			break;
		case OPT_FW_VERSION:
			o->fw_versions = optarg;
			break;
		case OPT_FW_HWID:
			if (!*optarg || strlen(optarg) > 32)
				what = "--fw-hwid wants 1..32 characters";
			o->fw_hwid = optarg;
			break;
		case OPT_FW_SLOT:
			if (parse_u64(optarg, 10, &v) || !v || v > 64u << 20)
				what = "--fw-slot-size wants 1..67108864 bytes";
			else
				o->fw_slot_size = (uint32_t)v;
			break;
		case OPT_FW_XFER_RESP:
			o->fw_transfer_response = true;
			break;
		case OPT_LOSS:
			if (parse_double(optarg, 0, &o->loss) || o->loss >= 1)
				what = "--loss wants a probability in [0, 1)";
			break;
		case OPT_LINK_RATE:
			if (parse_double(optarg, 0, &o->link_rate))
				what = "--link-rate wants bytes/s >= 0";
			break;
		case OPT_PAN_RATE:
			if (parse_double(optarg, 0, &o->pan_rate))
				what = "--pan-rate wants bytes/s >= 0";
			break;
		case OPT_PAN_SIZE:
			if (parse_u64(optarg, 10, &v) || !v || v > UINT32_MAX)
				what = "--pan-size wants devices >= 1";
			else
				o->pan_size = (uint32_t)v;
			break;
		case OPT_PAN_QUEUE:
			if (parse_u64(optarg, 10, &v) || !v || v > 1000000)
				what = "--pan-queue wants 1..1000000 datagrams";
			else
				o->pan_queue = (uint32_t)v;
			break;
		case OPT_GROUP_MCAST:
			if (inet_pton(AF_INET6, optarg, &o->group_mcast) != 1 ||
			    o->group_mcast.s6_addr[0] != 0xff)
				what = "--group-mcast wants an IPv6 multicast prefix, e.g. ff05::c5:0:0";
			break;
		case OPT_MCAST_IF:
			o->mcast_if = optarg;
			break;
		case OPT_STOP_AFTER:
			if (parse_double(optarg, 0, &o->stop_after))
				what = "--stop-after wants seconds >= 0";
			break;
		case OPT_STOP_SHARE:
			if (parse_double(optarg, 0, &o->stop_share) ||
			    o->stop_share > 1)
				what = "--stop-share wants 0..1";
			break;
		case OPT_WRONG_KEY:
			if (parse_double(optarg, 0, &o->wrong_key_share) ||
			    o->wrong_key_share > 1)
				what = "--wrong-key-share wants 0..1";
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (what) {
			fprintf(stderr, "csmp-sim: %s (got '%s')\n", what, optarg);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "csmp-sim: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (o->reg_max < o->reg_min) {
		fprintf(stderr, "csmp-sim: --reg-max is below --reg-min\n");
		return -EINVAL;
	}
	if (!o->nms_pubkey && o->verify_every) {
		fprintf(stderr, "csmp-sim: --nms-pubkey PEM is required "
			"(or --verify-every 0 to accept ACKs unchecked)\n");
		return -EINVAL;
	}
	if (o->bad_sig_rate > 0 && !o->uplink_suite) {
		fprintf(stderr, "csmp-sim: --bad-signature-rate needs --uplink-sign\n");
		return -EINVAL;
	}
	if (o->uplink_suite && !o->uplink_key_dir) {
		fprintf(stderr, "csmp-sim: --uplink-sign needs --uplink-key-dir DIR\n");
		return -EINVAL;
	}
	if (o->wrong_key_share > 0 && !o->nms_pubkey) {
		fprintf(stderr, "csmp-sim: --wrong-key-share needs --nms-pubkey\n");
		return -EINVAL;
	}
	if (o->eid_base + o->devices < o->eid_base) {
		fprintf(stderr, "csmp-sim: --eid-base + --devices overflows\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct sim s;	/* large (histograms): not on the stack */
	int err, rc;

	/* Help and version before anything is parsed, opened or sent. */
	if (csmp_cli_answered(argc, argv, "csmp-sim", usage))
		return 0;
	if (parse_args(argc, argv, &s.o))
		return 2;
	err = sim_proto_init(&s);
	if (err) {
		rc = 1;
		goto out;
	}
	err = sim_setup(&s);
	if (err) {
		fprintf(stderr, "csmp-sim: set-up failed: %s\n", strerror(-err));
		rc = 1;
		goto out_teardown;
	}
	err = sim_run(&s);
	if (err) {
		fprintf(stderr, "csmp-sim: event loop: %s\n", strerror(-err));
		rc = 1;
		goto out_teardown;
	}
	if (s.o.json)
		sim_summary_json(&s, stdout);
	if (!s.o.quiet || !s.o.json)
		sim_summary_text(&s, s.o.json ? stderr : stdout);
	rc = s.st.registered == s.o.devices - s.n_wrong_key || s.o.rate > 0 ?
	     0 : 3;
out_teardown:
	sim_teardown(&s);
out:
	sim_proto_fini(&s);
	return rc;
}
