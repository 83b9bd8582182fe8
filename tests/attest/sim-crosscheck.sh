#!/bin/sh
# Cross-check the C verifier against the Node simulator (tests/sim), an
# independent implementation of the same spec: for the honest deployment
# and every attestation fault the simulator knows, fetch a fresh
# AttestationDoc for a random nonce, verify it with attest_cli (fetching
# VCEK/CRL from the simulator's KDS when asked) and compare the reason.
#
#   sim-crosscheck.sh <sim info JSON line file> [attest_cli]
#
# Not part of "make check": the simulator lives in another tree.  Needs
# curl and python3.
set -u
info=${1:?usage: sim-crosscheck.sh SIM_INFO_JSON [ATTEST_CLI]}
cli=${2:-tests/attest/attest_cli}
get() { python3 -c "import json,sys; d=json.load(open('$info')); print(eval('d'+sys.argv[1]))" "$1"; }
base=$(get '["base_url"]')
chain=$(get '["trust_anchors"]["Genoa"]["cert_chain"]')
manifest=$(get '["manifest_path"]')
work=$(mktemp -d)
trap 'rm -rf "$work"; curl -s -X DELETE "$base/__sim/faults" >/dev/null' EXIT
fail=0

# fault  expected-reason
cases="none ok
wrong-nonce report_data
wrong-measurement measurement
wrong-host-data host_data
wrong-id-key-digest id_key
tcb-too-low tcb
tcb-mismatch tcb
wrong-chip-id chip_id
chip-id-not-allowed chip_id_not_allowed
policy-debug policy
platform-smt platform_info
vmpl1 vmpl
signer-vlek signer
report-version-1 version
mitigation-vector-low mitigation
product-milan product
report-bitflip report_signature
vcek-expired cert_expired
ask-revoked revoked
vcek-foreign-ask cert_chain
crl-wrong-key crl
two-manifests manifest_count
manifest-mismatch manifest_mismatch
omit-vcek ok
omit-crl ok
attest-bad-base64 malformed
attest-bad-json malformed
attest-bad-protobuf malformed"

echo "$cases" | while read -r fault want; do
	if [ "$fault" = none ]; then
		curl -s -X DELETE "$base/__sim/faults" >/dev/null
	else
		curl -s -X PUT -d "{\"$fault\":true}" "$base/__sim/faults" \
		    >/dev/null
	fi
	nonce=$(python3 -c 'import os; print(os.urandom(32).hex())')
	b64=$(python3 -c "import base64,sys; print(base64.b64encode(bytes.fromhex('$nonce')).decode())")
	curl -s -X POST -d "{\"Nonce\":\"$b64\"}" \
	    "$base/privatemode/v1/attest" >"$work/body"
	extra=""
	out=$("$cli" -t "$chain" -n "$nonce" -d "$work/body" -m "$manifest" \
	    -k "$base")
	# Fetch what the verifier asks for from the simulator's KDS, once.
	if echo "$out" | grep -q '^need_fetch'; then
		url=$(echo "$out" | sed -n 's/^vcek_url //p')
		if [ -n "$url" ]; then
			curl -s -o "$work/vcek" "$url"
			extra="$extra -v $work/vcek"
		fi
		url=$(echo "$out" | sed -n 's/^crl_url //p')
		if [ -n "$url" ]; then
			curl -s -o "$work/crl" "$url"
			extra="$extra -c $work/crl"
		fi
		# shellcheck disable=SC2086
		out=$("$cli" -t "$chain" -n "$nonce" -d "$work/body" \
		    -m "$manifest" -k "$base" $extra)
	fi
	got=${out%% *}
	if [ "$got" = "$want" ]; then
		printf 'ok   %-24s %s\n' "$fault" "$got"
	else
		printf 'FAIL %-24s want %s, got: %s\n' "$fault" "$want" "$out"
		echo fail >>"$work/failed"
	fi
	[ -f "$work/failed" ] && fail=1
done
[ ! -f "$work/failed" ]
