#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Bench suite "crypto": signature rates on one core, raw (OpenSSL P-256 with
# a prepared EVP_PKEY_CTX over a digest; libsodium Ed25519 detached) and
# through libcsmp's signature API (csmp_verify_batch on whole payloads,
# csmp_sig_append with the signature cache off and on, and from the P-256
# nonce pool), all measured side by side in one csmp-cryptobench run.
# Writes build/bench/crypto.json (the flat figures) and build/bench/crypto.md
# (the ratios and how to reproduce them).
#   scripts/bench/crypto.sh   (CRYPTO_SECONDS, CRYPTO_ROUNDS to change the run)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/bench
bin=build/bin/csmp-cryptobench
seconds=${CRYPTO_SECONDS:-0.5}
rounds=${CRYPTO_ROUNDS:-3}
mkdir -p "$out"
[ -x "$bin" ] || make --no-print-directory "$bin"

cmd="$bin --seconds $seconds --rounds $rounds"
$cmd > "$out/crypto.json.tmp"
jq -e . "$out/crypto.json.tmp" >/dev/null
mv "$out/crypto.json.tmp" "$out/crypto.json"

j() { jq -r "$1" "$out/crypto.json"; }
fmt() { printf "%'.0f" "$1"; }
ratio() { printf "%.3f" "$1"; }

{
	echo "## crypto: signatures on one core"
	echo
	echo "Operations per CPU-second on CPU $(j .cpu), medians of $(j .rounds) alternating rounds of"
	echo "$(j .seconds) s; payload body $(j .body_bytes) bytes before the signature TLVs. \"Raw\" is the"
	echo "library alone with everything prepared (P-256: \`EVP_PKEY_sign/verify\` on a ready context over"
	echo "a 32-byte digest, as \`openssl speed\`; Ed25519: libsodium detached over the region). \"API\" is"
	echo "libcsmp per message: \`csmp_verify_batch\` ($(j .batch) per call; TLV walk, DER parse, window,"
	echo "SHA-256, replay-cache lookup that never hits, verify) and \`csmp_sig_append\` (validity TLV,"
	echo "SHA-256, sign, DER, Signature TLV); \"cached\" signs one body repeatedly within one window."
	echo
	echo "| suite | raw sign/s | API sign/s | cached sign/s | raw verify/s | API verify/s | verify, new ctx/s | replayed verify/s |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for s in p256 ed25519; do
		echo "| $s | $(fmt "$(j ".${s}_raw_sign_per_s")") | $(fmt "$(j ".${s}_api_sign_per_s")")" \
		     "| $(fmt "$(j ".${s}_api_sign_cached_per_s")") | $(fmt "$(j ".${s}_raw_verify_per_s")")" \
		     "| $(fmt "$(j ".${s}_api_verify_per_s")") | $(fmt "$(j ".${s}_api_verify_newctx_per_s")")" \
		     "| $(fmt "$(j ".${s}_api_verify_replay_per_s")") |"
	done
	echo
	echo "| ratio | P-256 | Ed25519 |"
	echo "| --- | ---: | ---: |"
	echo "| API verify / raw verify | $(ratio "$(j .p256_verify_ratio)") | $(ratio "$(j .ed25519_verify_ratio)") |"
	echo "| API sign / raw sign | $(ratio "$(j .p256_sign_ratio)") | $(ratio "$(j .ed25519_sign_ratio)") |"
	echo "| cached sign / raw sign | $(ratio "$(j .p256_sign_cached_ratio)") | $(ratio "$(j .ed25519_sign_cached_ratio)") |"
	echo
	echo "Nonce pool (P-256): a low-priority thread precomputes (k^-1, r) pairs; a signer holding one"
	echo "computes only s = k^-1 (z + r d) mod n. \"refill\" is the idle-time cost of one pair"
	echo "(\`csmp_sigpool_refill\` into an empty ring), \"pooled sign\" is \`csmp_sig_append\` taking every"
	echo "nonce from a full ring (a storm burst), both timed over bursts of 16,384 pairs."
	echo
	echo "| pool | per CPU-second | ratio | goal |"
	echo "| --- | ---: | ---: | --- |"
	echo "| refill, pairs | $(fmt "$(j .p256_pool_refill_per_s)") | $(ratio "$(j .p256_pool_refill_over_sign)") × a raw signature's cost | ≤ 1.05 |"
	echo "| pooled sign (storm) | $(fmt "$(j .p256_api_sign_pooled_per_s)") | $(ratio "$(j .p256_pool_sign_ratio)") × raw sign rate | — |"
	echo
	echo "No batch algorithm is used: ECDSA has none in practice and libsodium 1.0.18 has no Ed25519"
	echo "batch API, so the batch verifies item by item and its gain is in what it does not repeat."
	echo "\"new ctx\" is the same check with an \`EVP_PKEY_CTX\` made per message (\`csmp_sig_check\` without"
	echo "a verifier); \"replayed\" is a retransmission answered from the replay cache."
	echo
	echo "Reproduce:"
	echo
	echo '```'
	echo "make build/bin/csmp-cryptobench && $cmd"
	echo "scripts/bench/run.sh crypto"
	echo '```'
} > "$out/crypto.md"
echo "crypto: wrote $out/crypto.json and $out/crypto.md"
