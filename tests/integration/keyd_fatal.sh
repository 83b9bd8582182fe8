#!/bin/bash
# keyd's fatal path under its seccomp filter: a fatal error while its log
# channel to the parent is full (the parent stopped) still gets its reason
# into the log once the parent reads again, and keyd exits of the error,
# not of a forbidden syscall while it waits (it used to poll(2) outside its
# allow-list and die of SIGSYS with the reason lost).
. "$(dirname "$0")/lib.sh"
require_root
require_test_hooks
WORKERS=1
pm_start
log_has "sandbox seccomp" || skip "built without the seccomp sandbox"
keyd=$(children keyd)
kill -STOP "$PM_PID"
curl -s -o /dev/null --max-time 5 -X POST \
    "$(pm_url "/__test/keyd-forbidden-syscall?call=fatal")"
# keyd fills the channel and blocks on it (or is already dead: then the
# reason must still arrive).
sleep 0.3
kill -CONT "$PM_PID"
wait_for "the fatal reason in the log" log_has "keyd\[0\].*test hook: fatal error on request"
wait_for "keyd gone" sh -c "! kill -0 $keyd 2>/dev/null"
log_has "line 3999 of 4000" || fail "log lines before the fatal error were lost"
log_has "keyd\[0\] .*killed by signal 31" && fail "keyd died of a forbidden syscall"
wait_for "keyd's exit logged" log_has "keyd\[0\] (pid $keyd) exited with status 1"
pm_stop
pass "a fatal error with the parent's channel full: reason and every line before it logged, exit 1, no SIGSYS"
