#!/bin/bash
# -t checks a configuration and exits 0/1 with a message naming file:line;
# start-up with a bad config fails the same way.
. "$(dirname "$0")/lib.sh"
# Not only the first test on a fresh machine: the user must exist.
if [ "$(id -u)" -eq 0 ]; then
	ensure_user
else
	printf 'user %s\n' "$(id -un)" >> "$T/user.conf"
fi
printf 'listen 127.0.0.1:0\nworkers 2\n' > "$T/good.conf"
# The tree's AMD chains, not /etc/privatemode/amd/ (see pm_config).
for p in genoa milan turin; do
	echo "amd_cert_chain_$p $TOP_SRC/data/amd/$p-cert-chain.pem"
done >> "$T/good.conf"
[ -f "$T/user.conf" ] && cat "$T/user.conf" >> "$T/good.conf"
"$PM_BIN" -t -f "$T/good.conf" > "$T/out" 2>&1 || fail "good config rejected: $(cat "$T/out")"
grep -q "configuration OK" "$T/out" || fail "no OK message"

printf 'workers 2\nworkers 3\nbogus yes\nmax_body_size huge\n' > "$T/bad.conf"
"$PM_BIN" -t -f "$T/bad.conf" > "$T/out" 2>&1 && fail "bad config accepted"
grep -q "bad.conf:2: duplicate key \"workers\" (first set at line 1)" "$T/out" ||
	fail "duplicate not reported: $(cat "$T/out")"
grep -q "bad.conf:3: unknown key \"bogus\"" "$T/out" || fail "unknown key not reported"
grep -q "bad.conf:4: max_body_size: bad value \"huge\"" "$T/out" || fail "bad value not reported"
grep -q "configuration invalid" "$T/out" || fail "no summary"

"$PM_BIN" -t -f "$T/missing.conf" > "$T/out" 2>&1 && fail "missing -f file accepted"
printf 'tls_cert /x\n' > "$T/tls.conf"
"$PM_BIN" -t -f "$T/tls.conf" > "$T/out" 2>&1 && fail "lone tls_cert accepted"
grep -q "TLS certificate and key must be provided together" "$T/out" || fail "tls pair message"
printf 'api_key @%s/nope\n' "$T" > "$T/key.conf"
"$PM_BIN" -t -f "$T/key.conf" > "$T/out" 2>&1 && fail "unreadable key file accepted"
grep -q "failed to read API key file" "$T/out" || fail "key file message: $(cat "$T/out")"

# Official flags override the file; unknown flags are refused.
"$PM_BIN" -t -f "$T/good.conf" --port=9999 --sharedPromptCache \
    --promptCacheSalt=p1234567890123456789012345678912 > "$T/out" 2>&1 ||
	fail "official flags rejected: $(cat "$T/out")"
"$PM_BIN" -t -f "$T/good.conf" --promptCacheSalt=abc > "$T/out" 2>&1 &&
	fail "salt without shared cache accepted"
grep -q "promptCacheSalt is set but sharedPromptCache is not enabled" "$T/out" ||
	fail "salt message: $(cat "$T/out")"
"$PM_BIN" -t -f "$T/good.conf" --noSuchFlag=1 > "$T/out" 2>&1 && fail "unknown flag accepted"
"$PM_BIN" -t -f "$T/good.conf" --ssEndpoint=x > "$T/out" 2>&1 || fail "deprecated flag refused"
grep -q "Flag --ssEndpoint has been deprecated" "$T/out" || fail "deprecation notice"
"$PM_BIN" -V | grep -q "privatemode-proxy version v" || fail "-V output"

# Start-up refuses a bad config with exit status 1.
"$PM_BIN" -d -f "$T/bad.conf" > "$T/out" 2>&1
[ $? -eq 1 ] || fail "start with bad config did not exit 1"
pass "config check and errors with file:line"
