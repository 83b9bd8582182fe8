#!/bin/bash
# Client-facing TLS: the workers serve HTTPS with the configured pair
# (TLS 1.2+, no TLS 1.1), and SIGHUP re-reads the certificate and key.
. "$(dirname "$0")/lib.sh"
require_root

mkcert() {	# mkcert NAME: a self-signed P-256 certificate for 127.0.0.1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/$1.key" -out "$T/$1.crt" -days 2 -subj "/CN=$1" \
	    -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null ||
		fail "openssl req"
	chmod 600 "$T/$1.key"
}
mkcert first
printf 'tls_cert %s\ntls_key %s\n' "$T/first.crt" "$T/first.key" | pm_config

# pm_start polls /healthz over plain HTTP; do it by hand here.
"$PM_BIN" -d -f "$PM_CONF" >"$PM_LOG" 2>&1 &
PM_PID=$!
wait_for "listener" grep -q "listening on 127.0.0.1:" "$PM_LOG"
PM_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$PM_LOG" | head -1)
https_ok() {
	curl -sf -o /dev/null --max-time 2 --cacert "$T/$1.crt" \
	    "https://127.0.0.1:$PM_PORT/healthz"
}
wait_for "HTTPS /healthz" https_ok first
curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$PM_PORT/healthz" &&
	fail "plain HTTP answered on the TLS port"
echo | openssl s_client -connect "127.0.0.1:$PM_PORT" -tls1_1 2>&1 |
	grep -q "BEGIN CERTIFICATE" && fail "TLS 1.1 accepted"
echo | openssl s_client -connect "127.0.0.1:$PM_PORT" -tls1_2 2>&1 |
	grep -q "BEGIN CERTIFICATE" || fail "TLS 1.2 refused"
curl -s -i --cacert "$T/first.crt" "https://127.0.0.1:$PM_PORT/v1/nope" > "$T/r"
grep -q '"code":"not_found"' "$T/r" || fail "error JSON over TLS"

# A new pair on disk, then SIGHUP: new connections see the new one.
mkcert second
cp "$T/second.crt" "$T/first.crt.new"
cp "$T/second.crt" "$T/first.crt"
cp "$T/second.key" "$T/first.key"
old_workers=$(children worker)
kill -HUP "$PM_PID"
wait_for "reload" log_has "configuration reloaded"
wait_for "HTTPS with the new certificate" https_ok second
# Until the old generation has drained (once every new pair is up, keyd
# included) its workers still accept, with the old certificate.
gone() {
	local p
	for p in $old_workers; do kill -0 "$p" 2>/dev/null && return 1; done
	return 0
}
wait_for "the old generation drained" gone

# A key that does not match its certificate: the reload is refused.
mkcert third
cp "$T/third.key" "$T/first.key"
kill -HUP "$PM_PID"
wait_for "reload refused" log_has "reload failed: keeping the current configuration"
log_has "private key does not match the certificate" || fail "mismatch not named"
https_ok second || fail "serving stopped after a refused reload"
pm_stop
[ "$PM_STATUS" -eq 0 ] || fail "exit status $PM_STATUS"
pass "HTTPS with TLS >= 1.2, certificate reloaded on SIGHUP, bad pair refused"
