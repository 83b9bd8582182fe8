#!/bin/bash
# A keyd or a worker that makes a syscall outside its allow-list is killed
# by the kernel (SIGSYS) before the call runs, the parent names the cause,
# and the worker/keyd pair is respawned.  Every call each allow-list keeps
# out is tried, each on a fresh daemon (the respawn back-off grows with
# every death of a pair).
. "$(dirname "$0")/lib.sh"
require_root
require_test_hooks
WORKERS=1

KEYD_CALLS="socket connect bind listen accept open exec ptrace kill tgkill
	setown async setuid vmread"
WORKER_CALLS="open exec ptrace kill tgkill setown async setuid vmread"

# try ROLE CALL: the call kills the process of that role, nothing returns.
try() {
	local role=$1 call=$2
	pm_start
	log_has "sandbox seccomp" || skip "built without the seccomp sandbox"
	curl -s -o /dev/null --max-time 5 -X POST \
	    "$(pm_url "/__test/$role-forbidden-syscall?call=$call")"
	wait_for "$role killed by SIGSYS on $call" log_has \
	    "$role\[0\] .*killed by signal 31 (Bad system call): seccomp violation"
	log_has "test hook: $call returned" &&
		fail "$role: the forbidden $call returned"
	log_has "test hook: attempting $call" ||
		fail "$role never attempted $call"
}

for call in $KEYD_CALLS; do
	try keyd "$call"
	pm_stop
done
for call in $WORKER_CALLS; do
	try worker "$call"
	pm_stop
done

# The pair comes back and serves.
try keyd socket
wait_for "pair respawned" log_has "respawning worker"
wait_for "2 children again" all_children_up
healthz_ok || fail "healthz after respawn"
pm_stop
try worker open
wait_for "pair respawned" log_has "respawning worker"
wait_for "2 children again" all_children_up
healthz_ok || fail "healthz after respawn"
pm_stop
n=$(echo $KEYD_CALLS | wc -w)
m=$(echo $WORKER_CALLS | wc -w)
pass "SIGSYS on each of $n forbidden keyd and $m worker syscalls, pair respawned"
