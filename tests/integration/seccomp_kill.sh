#!/bin/bash
# A keyd that makes a syscall outside its allow-list is killed by the
# kernel (SIGSYS) before the call runs, the parent names the cause, and
# the worker/keyd pair is respawned.
. "$(dirname "$0")/lib.sh"
require_root
require_test_hooks
pm_start
log_has "sandbox seccomp on" || skip "built without the seccomp sandbox"
curl -sf -o /dev/null -X POST "$(pm_url /__test/keyd-forbidden-syscall)" ||
	fail "test hook request failed"
wait_for "keyd killed by SIGSYS" log_has "killed by signal 31 (Bad system call): seccomp violation"
log_has "socket(2) returned" && fail "the forbidden syscall returned"
wait_for "pair respawned" log_has "respawning worker"
wait_for "4 children again" all_children_up
healthz_ok || fail "healthz after respawn"
pm_stop
pass "SIGSYS on a forbidden syscall, pair respawned"
