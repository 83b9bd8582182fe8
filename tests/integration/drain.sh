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
# In flight: a worker has read the request (an established connection
# may still sit in the listener's backlog, or its request be unread).
in_flight() {
	[ "$(served_conns read)" -ge 1 ]
}
wait_for "a worker to read the request" in_flight
kill -TERM "$PM_PID"
wait "$client"
[ "$(cat "$T/code")" = 200 ] || fail "in-flight request got $(cat "$T/code")"
grep -q slept "$T/body" || fail "in-flight body: $(cat "$T/body")"
# New connections are refused once draining started.
curl -s -o /dev/null --max-time 2 "$(pm_url /healthz)" &&
	fail "accepted a new connection while draining"
exited() { ! kill -0 "$PM_PID" 2>/dev/null; }
wait_for "the exit after the drain" exited
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
wait_for "a worker to read the request" in_flight
kill -TERM "$PM_PID"
wait "$PM_PID"
st=$?
PM_PID=
[ "$st" -eq 0 ] || fail "exit status $st after timeout"
log_has "shutdown timeout: closing 1 connection" || fail "timeout not logged"
pass "in-flight request completed, exit 0; shutdown_timeout enforced"
