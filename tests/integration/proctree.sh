#!/bin/bash
# Process tree and privileges of a running daemon: one parent, N workers
# and N keyds; children unprivileged, without capabilities, under their
# seccomp filters with no_new_privs, none of them dumpable; the parent
# can never be root again.
. "$(dirname "$0")/lib.sh"
require_root
WORKERS=3 pm_config </dev/null
# The children's environment: OpenSSL's configuration is passed on, the
# caller's other variables are not.
cnf="$(openssl version -d | sed 's/^OPENSSLDIR: "\(.*\)"$/\1/')/openssl.cnf"
[ -r "$cnf" ] || fail "no $cnf"
WORKERS=3 OPENSSL_CONF=$cnf PM_TEST_LEAK=leaked pm_start
WORKERS=3

[ "$(count_children worker)" -eq 3 ] || fail "expected 3 workers"
[ "$(count_children keyd)" -eq 3 ] || fail "expected 3 keyds"
nchildren=$(pgrep -P "$PM_PID" | wc -l)
[ "$nchildren" -eq 6 ] || fail "parent has $nchildren children, want 6"

uid=$(id -u privatemode)
sandbox=$(sed -n 's/.*keyd\[0\]: sandbox \([a-z]*\) on.*/\1/p' "$PM_LOG" | head -1)

check_child() {
	local pid=$1 role=$2
	set -- $(status_field "$pid" Uid)
	[ "$1" = "$uid" ] && [ "$2" = "$uid" ] && [ "$3" = "$uid" ] &&
	    [ "$4" = "$uid" ] || fail "$role $pid uids: $*"
	[ "$(status_field "$pid" CapEff)" = 0000000000000000 ] ||
		fail "$role $pid has effective capabilities"
	[ "$(status_field "$pid" CapPrm)" = 0000000000000000 ] ||
		fail "$role $pid has permitted capabilities"
	[ "$(status_field "$pid" CapAmb)" = 0000000000000000 ] ||
		fail "$role $pid has ambient capabilities"
	[ "$(status_field "$pid" NoNewPrivs)" = 1 ] ||
		fail "$role $pid lacks no_new_privs"
	tr '\0' '\n' </proc/$pid/environ >"$T/env.$pid"
	grep -qx "OPENSSL_CONF=$cnf" "$T/env.$pid" ||
		fail "$role $pid: OPENSSL_CONF not passed on"
	! grep -q "^PM_TEST_LEAK=" "$T/env.$pid" ||
		fail "$role $pid inherited the caller's environment"
	# chroot: the process root is the empty directory, not /.  (The
	# sanitizer build has no sandbox and turns chroot into chdir.)
	[ "$sandbox" = seccomp ] || return 0
	[ "$(readlink /proc/$pid/root)" = /run/privatemoded/empty ] ||
		fail "$role $pid root is $(readlink /proc/$pid/root)"
	[ -z "$(ls -A /proc/$pid/root/)" ] || fail "$role $pid chroot not empty"
}

# A process that is not dumpable has its /proc/<pid> files owned by root.
check_not_dumpable() {
	[ "$sandbox" = seccomp ] || return 0
	[ "$(stat -c %u /proc/$1/environ)" = 0 ] ||
		fail "$2 $1 is dumpable"
}

for pid in $(children worker); do
	check_child "$pid" worker
	check_not_dumpable "$pid" worker
	if [ "$sandbox" = seccomp ]; then
		[ "$(status_field "$pid" Seccomp)" = 2 ] ||
			fail "worker $pid Seccomp: $(status_field "$pid" Seccomp)"
	fi
done
for pid in $(children keyd); do
	check_child "$pid" keyd
	check_not_dumpable "$pid" keyd
	if [ "$sandbox" = seccomp ]; then
		[ "$(status_field "$pid" Seccomp)" = 2 ] ||
			fail "keyd $pid Seccomp: $(status_field "$pid" Seccomp)"
		# keyd has no outlet but its channels: stdio is /dev/null
		# (without the sandbox it keeps stderr for sanitizer reports).
		[ "$(readlink /proc/$pid/fd/2)" = /dev/null ] ||
			fail "keyd $pid stderr is $(readlink /proc/$pid/fd/2)"
	fi
done

# The parent: the unprivileged user for good, with only CAP_SYS_CHROOT
# (bit 18) and CAP_DAC_READ_SEARCH (bit 2).
set -- $(status_field "$PM_PID" Uid)
[ "$1" = "$uid" ] && [ "$3" = "$uid" ] || fail "parent uids: $*"
[ "$(status_field "$PM_PID" CapEff)" = 0000000000040004 ] ||
	fail "parent CapEff $(status_field "$PM_PID" CapEff)"
[ "$(status_field "$PM_PID" CapAmb)" = 0000000000040000 ] ||
	fail "parent CapAmb $(status_field "$PM_PID" CapAmb)"
[ "$(status_field "$PM_PID" NoNewPrivs)" = 1 ] || fail "parent lacks NNP"
check_not_dumpable "$PM_PID" parent

[ "$sandbox" = seccomp ] || [ "$sandbox" = none ] || fail "sandbox: $sandbox"
pm_stop
[ "$PM_STATUS" -eq 0 ] || fail "exit status $PM_STATUS"
pass "1 parent, 3 workers, 3 keyds (sandbox $sandbox), privileges dropped, none dumpable, environment clean"
