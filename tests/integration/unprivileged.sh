#!/bin/bash
# No silent unsafe mode.  The daemon started as a plain user (no root, no
# capability, as "privatemode" here):
#  1. with the default configuration it refuses to start, saying that its
#     children could not chroot and that "chroot no" is the way to accept
#     that;
#  2. with "chroot no" it starts and serves, its children unchrooted;
#  3. with an ambient CAP_SYS_CHROOT (what the systemd unit grants) it
#     starts with its children chrooted.
# In each running case and when started as root, the parent is not
# dumpable: its /proc files belong to root, and a process of its own user
# cannot read its environment.  (A process stays dumpable while its ids
# never change, which is the case for the user-started parent.)
. "$(dirname "$0")/lib.sh"
require_root
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
sandbox=$("$PM_BIN" -V | sed -n 's/.*sandbox \([a-z]*\).*/\1/p')
uid=$(id -u privatemode)
gid=$(id -g privatemode)
# A copy the user can reach (the build tree may be under a 0700 home).
cp "$PM_BIN" "$T/privatemoded"
REAL_BIN=$T/privatemoded
as_user() {
	setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"
}

# The parent's /proc entries belong to root when it is not dumpable, and
# the same user cannot read /proc/<pid>/environ.  Sanitizer builds keep
# every process dumpable (LeakSanitizer ptraces them): there it is only
# reported.
check_nodump() {
	local what=$1 owner
	owner=$(stat -c %u "/proc/$PM_PID/environ")
	if [ "$sandbox" != seccomp ]; then
		note_dump="; dumpable not checked (sandbox $sandbox: a sanitizer build stays dumpable)"
		return 0
	fi
	[ "$owner" = 0 ] || fail "$what: parent dumpable (/proc/$PM_PID owned by uid $owner)"
	if as_user cat "/proc/$PM_PID/environ" >/dev/null 2>&1; then
		fail "$what: uid $uid can read the parent's environment"
	fi
}
note_dump=

# A wrapper as PM_BIN: lib.sh starts it, it becomes the daemon (same pid).
wrap() {
	printf '#!/bin/sh\nexec setpriv --reuid=%s --regid=%s --clear-groups %s -- %s "$@"\n' \
	    "$uid" "$gid" "$1" "$REAL_BIN" >"$T/as-user"
	chmod 755 "$T/as-user"
	PM_BIN=$T/as-user
}

mkdir -p "$T/ws" "$T/empty" "$T/amd"
chown privatemode "$T/ws"
chmod 755 "$T/empty"
# AMD's chains where the user can read them: the shipped copy may be
# below a mode 0700 directory too (make distcheck's _inst under /root).
cp "$TOP_SRC"/data/amd/*-cert-chain.pem "$T/amd/"
chmod 644 "$T"/amd/*
base() {
	echo "listen 127.0.0.1:0"
	echo "metrics_listen none"
	echo "workers 2"
	echo "workspace $T/ws"
	echo "chroot_dir $T/empty"
	echo "shutdown_timeout 5s"
	for l in genoa milan turin; do
		echo "amd_cert_chain_$l $T/amd/$l-cert-chain.pem"
	done
}

# 0. Started as root: the parent (now privatemode) is not dumpable.
base >"$PM_CONF"
pm_start
check_nodump "started as root"
pm_stop

# 1. A plain user, default configuration: refused.
wrap "--inh-caps=-all --bounding-set=-all"
base >"$PM_CONF"
: >"$PM_LOG"
"$PM_BIN" -d -f "$PM_CONF" >"$PM_LOG" 2>&1 &
pid=$!
for i in $(seq 1 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; fail "a plain user's daemon started with chroot yes"; }
wait "$pid"
st=$?
[ "$st" -eq 1 ] || fail "exit status $st, want 1"
log_has "started as uid $uid without CAP_SYS_CHROOT: workers and keyd could not chroot into $T/empty; not starting" ||
	fail "no message saying why"
log_has 'set "chroot no"' || fail "the message does not name chroot no"
log_has "listening on" && fail "it bound its listeners before refusing"

# 2. The same user with "chroot no": serves, children unchrooted.
{ base; echo "chroot no"; } >"$PM_CONF"
: >"$PM_LOG"
pm_start
log_has "chroot no: workers and keyd run without a chroot" || fail "no warning about chroot no"
for pid in "$PM_PID" $(children worker) $(children keyd); do
	set -- $(status_field "$pid" Uid)
	[ "$1" = "$uid" ] && [ "$2" = "$uid" ] || fail "process $pid uids $*"
	[ "$(status_field "$pid" CapEff)" = 0000000000000000 ] ||
		fail "process $pid has capabilities"
done
for pid in $(children worker) $(children keyd); do
	[ "$(readlink "/proc/$pid/root")" = / ] ||
		fail "child $pid chrooted into $(readlink "/proc/$pid/root") with chroot no"
done
check_nodump "plain user, chroot no"
healthz_ok || fail "healthz"
pm_stop
[ "$PM_STATUS" -eq 0 ] || fail "exit status $PM_STATUS"

# 3. The user with an ambient CAP_SYS_CHROOT, default configuration.
wrap "--inh-caps=-all,+sys_chroot --ambient-caps=+sys_chroot --bounding-set=-all,+sys_chroot"
base >"$PM_CONF"
: >"$PM_LOG"
pm_start
log_has "chroot no" && fail "chroot no reported without it"
for pid in $(children worker) $(children keyd); do
	[ "$(status_field "$pid" CapEff)" = 0000000000000000 ] ||
		fail "child $pid kept capabilities"
	[ "$sandbox" = seccomp ] || continue
	[ "$(readlink "/proc/$pid/root")" = "$T/empty" ] ||
		fail "child $pid root is $(readlink "/proc/$pid/root")"
done
check_nodump "user with CAP_SYS_CHROOT"
healthz_ok || fail "healthz"
pm_stop
[ "$PM_STATUS" -eq 0 ] || fail "exit status $PM_STATUS"
pass "plain user refused without chroot no, served with it; with CAP_SYS_CHROOT chrooted; parent not dumpable as root, as user and with the capability$note_dump"
