#!/bin/bash
# The parent and its children's answers (privatemoded(8), SYSTEMD):
#  1. With WATCHDOG_USEC (systemd's WatchdogSec=), the parent sends
#     WATCHDOG=1 every half period while its children answer its pings; a
#     stopped worker, then a stopped keyd, is killed with its pair and
#     respawned while WATCHDOG=1 goes on and the other pair is untouched;
#     a stopped parent sends nothing.
#  2. MSG_METRICS_ANS only when asked: a keyd that answers a scrape after
#     it timed out is not punished; a worker that sends counters nobody
#     asked for is refused, logged, and its pair replaced.
. "$(dirname "$0")/lib.sh"
require_root
require_test_hooks
RECV=$TOP_BUILD/tests/integration/notifyrecv

count_wd() { grep -c 'WATCHDOG=1' "$T/n"; }
wd_at_least() { [ "$(count_wd)" -ge "$1" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

# The pid of a child's partner: the log names the pair's instance.
instance_of() {	# ROLE PID
	sed -n "s/.*$1\[\([0-9]*\)\] pid $2:.*/\1/p" "$PM_LOG" | head -1
}

# stop_and_replaced ROLE PID: SIGSTOP it, then wait for the watchdog to
# kill its pair and for a full set of children again.
stop_and_replaced() {
	local role=$1 pid=$2 i
	i=$(instance_of "$role" "$pid")
	[ -n "$i" ] || fail "no instance for $role pid $pid in the log"
	kill -STOP "$pid"
	wait_for "the watchdog to notice $role[$i] (pid $pid)" \
	    log_has "watchdog: $role\[$i\] (pid $pid) did not answer"
	wait_for "$role pid $pid gone" gone "$pid"
	# The partner is SIGKILLed right after; a keyd may already be on its
	# way out by then (its worker's channel closed), and then exits 0.
	wait_for "its partner killed too" grep -qE \
	    "$([ "$role" = worker ] && echo keyd || echo worker)\[$i\] \(pid [0-9]*\) (killed by signal 9|exited unexpectedly)" "$PM_LOG"
	wait_for "the pair respawned" all_children_up
}

# --- 1. the watchdog ---------------------------------------------------
"$RECV" "$T/notify" 900 > "$T/n" &
recv=$!
wait_for "receiver" test -S "$T/notify"
NOTIFY_SOCKET=$T/notify WATCHDOG_USEC=4000000 pm_start
log_has "watchdog: WATCHDOG=1 every 2000 ms" || fail "watchdog not enabled"
wait_for "WATCHDOG=1 twice" wd_at_least 2

set -- $(children worker)
w0=$1 w1=$2
stop_and_replaced worker "$w0"
kill -0 "$w1" 2>/dev/null || fail "the other worker (pid $w1) died too"
n=$(count_wd)
wait_for "WATCHDOG=1 after the worker was replaced" wd_at_least $((n + 2))

# The keyd of the pair left alone so far: long ready, so pinged (a keyd
# respawned a moment ago is asked nothing until it holds its secrets).
i1=$(instance_of worker "$w1")
k0=
for k in $(children keyd); do
	[ "$(instance_of keyd "$k")" = "$i1" ] && k0=$k
done
[ -n "$k0" ] || fail "no keyd for worker[$i1]"
stop_and_replaced keyd "$k0"
n=$(count_wd)
wait_for "WATCHDOG=1 after the keyd was replaced" wd_at_least $((n + 2))

# A stopped parent sends nothing for over two periods.  Once it is stopped
# (state T), the receiver prints what was queued and a mark; what the
# parent sent before the stop is counted then, not after a guessed delay.
stopped() { [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ]; }
mark() {	# mark N: every datagram queued so far is in $T/n
	kill -USR1 "$recv"
	wait_for "the receiver's mark $1" grep -q "^MARK $1\$" "$T/n"
}
kill -STOP "$PM_PID"
wait_for "the parent stopped" stopped "$PM_PID"
mark 1
n=$(count_wd)
sleep 5
mark 2
m=$(count_wd)
kill -CONT "$PM_PID"
[ "$m" -eq "$n" ] || fail "WATCHDOG=1 while the parent was stopped ($n, then $m)"
wait_for "WATCHDOG=1 once the parent runs again" wd_at_least $((m + 1))
log_has "no longer notifying systemd" && fail "the parent gave up on a child it killed"
pm_stop
wait "$recv"

# --- 2. MSG_METRICS_ANS only when asked ----------------------------------
: > "$PM_LOG"
WORKERS=1
pm_config </dev/null
pm_start
processes() {
	curl -s --max-time 10 "http://127.0.0.1:$PM_MPORT/metrics" |
	    awk '$1 == "privatemode_processes" { print $2 }'
}
worker=$(children worker)
keyd=$(children keyd)
# A keyd stopped during a scrape: the scrape ends after its 1 s without
# it; resumed, it answers late, which is dropped, not refused.
kill -STOP "$keyd"
[ "$(processes)" = 1 ] || { kill -CONT "$keyd"; fail "scrape with a stopped keyd: processes $(processes)"; }
kill -CONT "$keyd"
# Its answer to a scrape comes after the late one, on the same channel; a
# resumed keyd on a loaded machine may still miss the next scrape's 1 s,
# so scrape until it answers (the pair must be the same, below).
both_answer() { [ "$(processes)" = 2 ]; }
wait_for "a scrape answered by the resumed keyd" both_answer
log_has "unsolicited" && fail "a late answer was taken for an unsolicited one"
[ "$(children worker)" = "$worker" ] && [ "$(children keyd)" = "$keyd" ] ||
	fail "a late answer cost the pair"
# Counters nobody asked for.
curl -s -X POST "$(pm_url /__test/metrics-ans)" > "$T/r"
grep -q '"sent":true' "$T/r" || fail "test hook: $(cat "$T/r")"
wait_for "the parent to refuse it" \
    log_has "worker\[0\] (pid $worker): unsolicited MSG_METRICS_ANS (id 0, never asked): refused"
wait_for "the worker gone" gone "$worker"
wait_for "the pair respawned" all_children_up
# The new keyd answers once it holds its secrets (the scrape asks only
# ready children): wait for that, not for a time.
wait_for "both new processes answering a scrape" both_answer
pm_stop
pass "watchdog pets only while children answer, replaces a stopped pair; MSG_METRICS_ANS only when asked"
