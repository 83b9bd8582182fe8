#!/bin/bash
# The client TLS key is keyd's (issue 16, item 1): workers hold the
# certificate, keyd signs.  Handshakes with RSA (PKCS#1 v1.5 and PSS) and
# ECDSA keys over TLS 1.2 and 1.3, resumption, no RSA key exchange, a
# renewal on disk to a key of another type, keyd killed while a handshake
# waits for its signature, and the key's private numbers (not only the
# PEM) in the memory of the keyds and of no worker.
. "$(dirname "$0")/lib.sh"
require_root
# One worker: a session (ticket key, cache) is its worker's, and the
# resumption below must land where the session was made.
WORKERS=1
SCAN=$TOP_BUILD/tests/integration/memscan

mkcert() {	# mkcert NAME ALG OPT: a self-signed certificate for 127.0.0.1
	openssl req -x509 -newkey "$2" -pkeyopt "$3" -nodes \
	    -keyout "$T/$1.key" -out "$T/$1.crt" -days 2 -subj "/CN=$1" \
	    -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null ||
		fail "openssl req $1"
	chmod 600 "$T/$1.key"
}
mkcert rsa rsa rsa_keygen_bits:2048
mkcert ec ec ec_paramgen_curve:P-384
mkcert ec256 ec ec_paramgen_curve:P-256
cp "$T/rsa.crt" "$T/live.crt"
cp "$T/rsa.key" "$T/live.key"
printf 'tls_cert %s\ntls_key %s\n' "$T/live.crt" "$T/live.key" | pm_config

"$PM_BIN" -d -f "$PM_CONF" >"$PM_LOG" 2>&1 &
PM_PID=$!
wait_for "listener" grep -q "listening on 127.0.0.1:" "$PM_LOG"
PM_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$PM_LOG" | head -1)

# handshake CA [s_client options]: a verified handshake, /healthz over it
# (s_client's status says only how the connection ended).
handshake() {
	local ca=$1
	shift
	printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	    timeout 20 openssl s_client -connect "127.0.0.1:$PM_PORT" \
	    -CAfile "$T/$ca.crt" -verify_ip 127.0.0.1 -verify_return_error \
	    -ign_eof "$@" > "$T/${HS:-hs}" 2>&1
	grep -q "Verify return code: 0 (ok)" "$T/${HS:-hs}" &&
	    grep -q "HTTP/1.1 200" "$T/${HS:-hs}"
}
wait_for "HTTPS with the RSA key" handshake rsa
wait_for "pairs up" all_children_up

# RSA: TLS 1.3 (PSS), TLS 1.2 with PSS and with PKCS#1 v1.5.
handshake rsa -tls1_3 || fail "RSA, TLS 1.3: $(tail -5 "$T/hs")"
grep -q "Peer signature type: RSA-PSS" "$T/hs" || fail "TLS 1.3 without PSS"
for sa in rsa_pss_rsae_sha256 rsa_pss_rsae_sha384 rsa_pss_rsae_sha512 \
    rsa_pkcs1_sha256 rsa_pkcs1_sha384 rsa_pkcs1_sha512; do
	handshake rsa -tls1_2 -sigalgs "$sa" ||
		fail "RSA, TLS 1.2, $sa: $(tail -5 "$T/hs")"
done
# Nothing keyd does not sign, and no RSA key exchange at all.
handshake rsa -tls1_2 -sigalgs rsa_pkcs1_sha1 &&
	fail "a SHA-1 signature was made"
handshake rsa -tls1_2 -cipher AES128-GCM-SHA256 &&
	fail "an RSA key exchange suite was accepted"

# Resumption: no signature, so it works whatever keyd does.
for v in -tls1_2 -tls1_3; do
	rm -f "$T/sess"
	handshake rsa "$v" -sess_out "$T/sess" || fail "first $v connection"
	handshake rsa "$v" -sess_in "$T/sess" || fail "resumed $v connection"
	grep -q "^Reused" "$T/hs" || fail "$v session not resumed"
done

# The key's private numbers, big-endian (DER) and as OpenSSL's BIGNUM
# limbs hold them (little-endian on x86-64): 24 bytes of each.
component() {	# component KEYFILE LABEL: the number's hex, big-endian
	openssl pkey -in "$1" -text -noout | awk -v n="$2:" '
		$1 == n { on = 1; next }
		on && /^ / { gsub(/[ :]/, ""); h = h $0; next }
		on { exit }
		END { sub(/^(00)+/, "", h); print h }'
}
needles() {	# needles KEYFILE LABEL...: hex:BE and hex:LE of each
	local l h
	for l in "${@:2}"; do
		h=$(component "$1" "$l")
		[ ${#h} -ge 96 ] || fail "no $l in $1"
		echo "hex:${h:0:48}"
		echo "hex:$(printf %s "$h" | tail -c 48 | fold -w2 | tac | tr -d '\n')"
	done
}
# scan_key KEYFILE LABEL...: in every keyd, in no worker (nor the parent).
scan_key() {
	local pid n found rc
	needles "$@" > "$T/needles"
	for pid in $(children worker) "$PM_PID"; do
		while read -r n; do
			"$SCAN" "$pid" "$n" > "$T/scan" 2>&1
			rc=$?
			[ $rc -eq 0 ] && fail "TLS key bytes ($n) in process $pid" \
			    "($(tr '\0' ' ' < /proc/$pid/cmdline))"
			[ $rc -eq 1 ] || fail "scan of $pid: $(cat "$T/scan")"
		done < "$T/needles"
	done
	for pid in $(children keyd); do
		found=0
		while read -r n; do
			"$SCAN" "$pid" "$n" > /dev/null 2>&1 && found=$((found + 1))
		done < "$T/needles"
		[ $found -gt 0 ] || fail "TLS key not found in keyd $pid"
	done
}
scan_key "$T/rsa.key" privateExponent prime1 prime2

# Renewal on disk (no SIGHUP) to an ECDSA P-384 key.
cp "$T/ec.key" "$T/live.key"
cp "$T/ec.crt" "$T/live.crt"
wait_for "renewal" log_has "TLS certificate $T/live.crt renewed"
wait_for "HTTPS with the renewed certificate" handshake ec
handshake rsa && fail "the previous certificate after the renewal"
handshake ec -tls1_3 || fail "ECDSA, TLS 1.3: $(tail -5 "$T/hs")"
for sa in ecdsa_secp384r1_sha384 ECDSA+SHA256 ECDSA+SHA512; do
	handshake ec -tls1_2 -sigalgs "$sa" ||
		fail "ECDSA, TLS 1.2, $sa: $(tail -5 "$T/hs")"
done
scan_key "$T/ec.key" priv

# A SIGHUP reload with another key (P-256): the new generation has it.
cp "$T/ec256.key" "$T/live.key"
cp "$T/ec256.crt" "$T/live.crt"
kill -HUP "$PM_PID"
wait_for "reload" log_has "configuration reloaded"
wait_for "HTTPS after the reload" handshake ec256
wait_for "pairs up" all_children_up

# keyd stopped while handshakes wait for its signature: the worker goes
# on serving (a resumed session needs no signature); then keyd killed:
# the waiting handshakes fail at once (not at a timeout), the pair is
# respawned and serves again.
rm -f "$T/sess"
handshake ec256 -tls1_2 -sess_out "$T/sess" || fail "session for later"
keyds=$(children keyd)
kill -STOP $keyds
HS=hs1 handshake ec256 & h1=$!
HS=hs2 handshake ec256 & h2=$!
sleep 1
handshake ec256 -tls1_2 -sess_in "$T/sess" && grep -q "^Reused" "$T/hs" ||
	fail "the worker stopped serving while a handshake waits for keyd"
start=$(date +%s)
kill -KILL $keyds
wait $h1 && fail "a handshake succeeded without its keyd"
wait $h2 && fail "a handshake succeeded without its keyd"
[ $(( $(date +%s) - start )) -lt 10 ] || fail "handshakes hung on a dead keyd"
wait_for "respawn" log_has "respawning worker"
wait_for "HTTPS after the respawn" handshake ec256
log_has "keyd did not sign" || fail "the failed signature was not logged"
pm_stop
[ "$PM_STATUS" -eq 0 ] || fail "exit status $PM_STATUS"
pass "RSA (PKCS#1, PSS) and ECDSA handshakes, TLS 1.2 and 1.3, resumption, renewal and reload, keyd loss; key bytes in keyds only"
