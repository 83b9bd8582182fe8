#!/bin/bash
# systemd readiness (Type=notify): READY=1 once the workers serve (and,
# with a key, once the first attestation has finished, even failing: an
# unreachable API must not fail the start), RELOADING=1 then READY=1 on
# SIGHUP, STOPPING=1 on SIGTERM.
. "$(dirname "$0")/lib.sh"
require_root
RECV=$TOP_BUILD/tests/integration/notifyrecv

# 1. No API key: ready when serving.
"$RECV" "$T/notify" 30 > "$T/n1" &
recv=$!
wait_for "receiver" test -S "$T/notify"
NOTIFY_SOCKET=$T/notify pm_start
wait_for "READY=1" grep -q "READY=1" "$T/n1"
grep -q "STATUS=serving; no API key configured" "$T/n1" || fail "status: $(cat "$T/n1")"
kill -HUP "$PM_PID"
wait_for "RELOADING=1" grep -q "RELOADING=1" "$T/n1"
two_readies() { [ "$(grep -c 'READY=1' "$T/n1")" -ge 2 ]; }
wait_for "READY=1 after reload" two_readies
pm_stop
wait "$recv"
grep -q "STOPPING=1" "$T/n1" || fail "no STOPPING=1"
# No WATCHDOG_USEC, no watchdog (watchdog.sh has the other case).
grep -q "WATCHDOG=1" "$T/n1" && fail "WATCHDOG=1 without WATCHDOG_USEC"

# 2. A key and an unreachable API: READY=1 still comes, after the first
# attestation round failed, and the status says so.
: > "$PM_LOG"
printf 'api_key k-unreachable\napi_endpoint 127.0.0.1:1\n' | pm_config
"$RECV" "$T/notify" 60 > "$T/n2" &
recv=$!
wait_for "receiver" test -S "$T/notify"
NOTIFY_SOCKET=$T/notify pm_start
grep -q "READY=1" "$T/n2" && fail "READY=1 before the first attestation"
for i in $(seq 1 30); do grep -q "READY=1" "$T/n2" && break; sleep 0.5; done
grep -q "READY=1" "$T/n2" || fail "never READY with an unreachable API"
grep -q "STATUS=serving; 0 of 2 key daemons attested" "$T/n2" ||
	fail "status: $(cat "$T/n2")"
curl -s "$(pm_url /readyz)" | grep -q '"ready":false' || fail "readyz not 503"
pm_stop
wait "$recv"
pass "READY/RELOADING/STOPPING sent as documented"
