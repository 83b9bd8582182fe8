#!/bin/bash
# SIGTERM drains: listeners close, the in-flight request completes with
# 200, then every process exits and the parent exits 0.  A request that
# outlives shutdown_timeout is cut off.
. "$(dirname "$0")/lib.sh"
require_root
require_test_hooks
pm_start
curl -s -o "$T/body" -w '%{http_code}' --max-time 10 \
    "$(pm_url '/__test/sleep?ms=2000')" > "$T/code" &
client=$!
in_flight() {
	ss -Htn state established "( sport = :$PM_PORT )" | grep -q .
}
wait_for "the request in flight" in_flight
sleep 0.3
kill -TERM "$PM_PID"
wait "$client"
[ "$(cat "$T/code")" = 200 ] || fail "in-flight request got $(cat "$T/code")"
grep -q slept "$T/body" || fail "in-flight body: $(cat "$T/body")"
# New connections are refused once draining started.
curl -s -o /dev/null --max-time 2 "$(pm_url /healthz)" &&
	fail "accepted a new connection while draining"
for i in $(seq 1 100); do
	kill -0 "$PM_PID" 2>/dev/null || break
	sleep 0.05
done
kill -0 "$PM_PID" 2>/dev/null && fail "daemon still running after drain"
wait "$PM_PID"
st=$?
PM_PID=
[ "$st" -eq 0 ] || fail "exit status $st"
log_has "draining" || fail "no drain log line"

# shutdown_timeout bounds the wait.
: > "$PM_LOG"
SHUTDOWN_TIMEOUT=1s pm_config </dev/null
pm_start
curl -s -o /dev/null --max-time 10 "$(pm_url '/__test/sleep?ms=8000')" &
in_flight() {
	ss -Htn state established "( sport = :$PM_PORT )" | grep -q .
}
wait_for "the request in flight" in_flight
sleep 0.3
start=$(date +%s)
kill -TERM "$PM_PID"
wait "$PM_PID"
st=$?
PM_PID=
[ "$st" -eq 0 ] || fail "exit status $st after timeout"
log_has "shutdown timeout: closing 1 connection" || fail "timeout not logged"
pass "in-flight request completed, exit 0; shutdown_timeout enforced"
