#!/bin/bash
# debian/ agrees with the daemon:
#  * the unit's ExecStart (with %d pointing at a credentials directory
#    holding api-key) is a command line "privatemoded -t" accepts;
#  * LoadCredential=, the %d path and AssertPathExists= name the same
#    credential and key file (a missing key fails "systemctl start"; a
#    ConditionPathExists= would skip the unit without a word);
#  * User=/Group=, the sysusers user, StateDirectory= and the tmpfiles.d
#    chroot match the daemon's defaults (privatemoded -K): the unit starts
#    the daemon as that user, so the chroot must come root-owned from
#    tmpfiles.d (not a RuntimeDirectory=, which the user would own);
#  * CapabilityBoundingSet= and AmbientCapabilities= are exactly what the
#    daemon keeps when started as the user (child_caps in
#    common/privdrop.c); the system call filter lets through what the
#    children and keyd's sandbox call outside @system-service (chroot,
#    seccomp);
#  * TimeoutStopSec= exceeds the default shutdown_timeout plus the
#    parent's 2 s kill grace; KillMode=mixed, Type=notify, NotifyAccess=main;
#  * WatchdogSec= is set (the parent sends WATCHDOG=1 every half of it,
#    daemon/parent.c reads WATCHDOG_USEC), long enough for a loaded
#    machine, and Restart= restarts the service when it fires;
#  * Documentation= names pages that exist in man/.
. "$PM_TOP_SRCDIR/tests/ops/lib.sh"
require_tier lint
require_debian
[ -x "$PM_BIN" ] || fail "$PM_BIN not built"
D=$TOP_SRC/debian
T=$(mktemp -d "${TMPDIR:-/tmp}/pm-unitcons.XXXXXX")
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"

default_of() {
	"$PM_BIN" -K | awk -F'\t' -v k="$1" '$1 == k { print $3 }'
}
seconds_of() {	# 30s, 2m, 40 -> seconds
	case $1 in
	*ms) echo $(( ${1%ms} / 1000 )) ;;
	*min) echo $(( ${1%min} * 60 )) ;;
	*m) echo $(( ${1%m} * 60 )) ;;
	*s) echo "${1%s}" ;;
	*h) echo $(( ${1%h} * 3600 )) ;;
	*) echo "$1" ;;
	esac
}

user=$(default_of user)
ws=$(default_of workspace)
chroot=$(default_of chroot_dir)
[ -n "$user" ] && [ -n "$ws" ] && [ -n "$chroot" ] || fail "privatemoded -K lacks user/workspace/chroot_dir"

# --- ExecStart and the credential --------------------------------------
exec_start=$(unit_get ExecStart)
[ "$(printf '%s\n' "$exec_start" | wc -l)" -eq 1 ] || bad "want exactly one ExecStart="
set -- $exec_start
[ "$1" = /usr/sbin/privatemoded ] || bad "ExecStart runs $1, the package installs /usr/sbin/privatemoded"
shift
cred=$(unit_get LoadCredential)
cred_id=${cred%%:*}
cred_src=${cred#*:}
[ -n "$cred_id" ] && [ "$cred_src" != "$cred" ] || bad "LoadCredential= is not ID:PATH: $cred"
printf '%s\n' "$exec_start" | grep -q -- "--apiKey=@%d/$cred_id\\( \\|$\\)" ||
	bad "ExecStart does not read the key from %d/$cred_id"
[ "$(unit_get AssertPathExists)" = "$cred_src" ] ||
	bad "AssertPathExists= is not the credential's source $cred_src"
unit_get ConditionPathExists | grep -q . &&
	bad "ConditionPathExists= skips the unit silently; a missing key must fail the start (AssertPathExists=)"
mkdir -m 0700 "$T/cred"
echo "test-key-$$" >"$T/cred/$cred_id"
runas=nobody
id nobody >/dev/null 2>&1 || runas=$(id -un)
echo "user $runas" >"$T/privatemode.conf"
args=()
for a in "$@"; do
	args+=("${a//%d/$T/cred}")
done
out=$("$PM_BIN" -t -f "$T/privatemode.conf" "${args[@]}" 2>&1)
printf '%s\n' "$out" | grep -q "configuration OK" || {
	bad "privatemoded -t does not accept the unit's command line ${args[*]}:"
	printf '%s\n' "$out" | sed 's/^/    /' >&2
}

# --- user, workspace, chroot -------------------------------------------
[ "$(unit_get User)" = "$user" ] || bad "User= is \"$(unit_get User)\", the daemon's default user is \"$user\""
[ "$(unit_get Group)" = "$user" ] || bad "Group= is \"$(unit_get Group)\", want the user's group \"$user\""
unit_get DynamicUser | grep -qi '^yes' && bad "DynamicUser= would not be the sysusers user"
read -r t name id gecos <<<"$(grep -v '^#' "$D/privatemoded.sysusers" | grep '^u ')"
[ "$name" = "$user" ] || bad "sysusers creates \"$name\", the daemon's default user is \"$user\""
home=$(grep -v '^#' "$D/privatemoded.sysusers" | grep '^u ' | sed 's/.*" *\([^ ]*\) .*/\1/')
[ "$home" = "$ws" ] || bad "sysusers home $home is not the default workspace $ws"
# The workspace: StateDirectory= (created owned by User=, writable under
# ProtectSystem=strict), not tmpfiles.d or ReadWritePaths=.
sd=$(unit_get StateDirectory)
[ "/var/lib/$sd" = "$ws" ] || bad "StateDirectory=$sd is not the default workspace $ws"
case $(unit_get StateDirectoryMode) in
0750|0700) ;;
*) bad "StateDirectoryMode=$(unit_get StateDirectoryMode): the workspace must not be readable by others" ;;
esac
grep -v '^#' "$D/privatemoded.tmpfiles" | grep -q " $ws " &&
	bad "tmpfiles.d also creates the workspace $ws (StateDirectory= owns it)"
# The chroot: every directory from /run down to chroot_dir created by
# tmpfiles.d as root, writable by nobody else; no RuntimeDirectory=.
unit_get RuntimeDirectory | grep -q . &&
	bad "RuntimeDirectory= would be owned by $user; the chroot must be root's (tmpfiles.d)"
case $chroot in
/run/*) ;;
*) bad "the default chroot_dir $chroot is not below /run: tmpfiles.d handling needs updating" ;;
esac
d=$chroot
while [ "$d" != /run ] && [ -n "$d" ]; do
	read -r t path mode owner group age <<<"$(grep -v '^#' "$D/privatemoded.tmpfiles" | awk -v p="$d" '$2 == p')"
	if [ "$t" != d ]; then
		bad "tmpfiles.d does not create $d (parent of or the default chroot_dir)"
	else
		[ "$owner:$group" = root:root ] || bad "tmpfiles.d creates $d as $owner:$group, want root:root"
		[ "$mode" = 0755 ] ||
			bad "tmpfiles.d creates $d with mode $mode, want 0755 (searchable by $user, writable by root only)"
	fi
	d=${d%/*}
done

# --- capabilities and system calls ----------------------------------------
# Started as the user, the daemon keeps exactly child_caps (handed to
# every child as ambient capabilities) and drops the rest.
keep=
for c in $(sed -n 's/.*child_caps\[\] = {\(.*\)}.*/\1/p' "$TOP_SRC/common/privdrop.c" | tr ',' ' '); do
	keep="$keep $c"
done
[[ $keep == *CAP_SYS_CHROOT* ]] || bad "could not read child_caps from common/privdrop.c"
sorted() { tr ' ' '\n' | grep . | sort -u | tr '\n' ' '; }
[ "$(unit_get CapabilityBoundingSet | sorted)" = "$(echo $keep | sorted)" ] ||
	bad "CapabilityBoundingSet=$(unit_get CapabilityBoundingSet) is not what the daemon keeps as the user:$keep"
[ "$(unit_get AmbientCapabilities | sorted)" = "$(echo $keep | sorted)" ] ||
	bad "AmbientCapabilities=$(unit_get AmbientCapabilities) is not what the daemon keeps as the user:$keep"
filter=" $(unit_get SystemCallFilter | grep -v '^~' | tr '\n' ' ') "
for s in @system-service chroot seccomp; do
	[[ $filter == *" $s "* ]] || bad "SystemCallFilter= does not allow $s"
done
[ "$(unit_get NoNewPrivileges)" = yes ] || bad "NoNewPrivileges= is not yes"

# --- service type, stop -------------------------------------------------
[ "$(unit_get Type)" = notify ] || bad "Type= is not notify"
[ "$(unit_get NotifyAccess)" = main ] || bad "NotifyAccess= is not main"
[ "$(unit_get KillMode)" = mixed ] || bad "KillMode= is not mixed"
unit_get ExecReload | grep -q -- '-HUP \$MAINPID' || bad "ExecReload= does not send SIGHUP to \$MAINPID"
wd=$(unit_get WatchdogSec)
if [ -z "$wd" ]; then
	bad "no WatchdogSec=: a stopped parent would go unnoticed"
else
	[ "$(seconds_of "$wd")" -ge 10 ] ||
		bad "WatchdogSec=$wd: under 10s a loaded machine may miss a ping"
	grep -q 'WATCHDOG_USEC' "$TOP_SRC/daemon/parent.c" ||
		bad "WatchdogSec= is set but daemon/parent.c does not read WATCHDOG_USEC"
fi
case $(unit_get Restart) in
on-failure|on-abnormal|on-watchdog|always) ;;
*) bad "Restart=$(unit_get Restart) does not restart the service when the watchdog fires" ;;
esac
# READY=1 waits for the first attestation round: ATTEMPTS attempts, each
# ending at the latest in one fetch timeout, with retry-go's back-off of
# RETRY_BASE_MS, 2 * RETRY_BASE_MS, ... between them (keyd/secret.c,
# keyd/fetch.c).  A black-holed API must not fail the start.
attempts=$(sed -n 's/^#define[[:space:]]*ATTEMPTS[[:space:]]*\([0-9]*\).*/\1/p' "$TOP_SRC/keyd/secret.c")
retry_ms=$(sed -n 's/^#define[[:space:]]*RETRY_BASE_MS[[:space:]]*\([0-9]*\).*/\1/p' "$TOP_SRC/keyd/secret.c")
fetch_s=$(sed -n 's/^#define[[:space:]]*FETCH_TIMEOUT_S[[:space:]]*\([0-9]*\).*/\1/p' "$TOP_SRC/keyd/fetch.c")
if [ -z "$attempts" ] || [ -z "$retry_ms" ] || [ -z "$fetch_s" ]; then
	bad "could not read ATTEMPTS/RETRY_BASE_MS (keyd/secret.c) or FETCH_TIMEOUT_S (keyd/fetch.c)"
else
	round_ms=$((attempts * fetch_s * 1000))
	for ((i = 0; i < attempts - 1; i++)); do round_ms=$((round_ms + (retry_ms << i))); done
	start=$(seconds_of "$(unit_get TimeoutStartSec)")
	[ -n "$start" ] && [ "$((start * 1000))" -gt "$round_ms" ] ||
		bad "TimeoutStartSec=$(unit_get TimeoutStartSec) does not exceed the first attestation round (${round_ms} ms)"
fi
stop=$(seconds_of "$(unit_get TimeoutStopSec)")
drain=$(seconds_of "$(default_of shutdown_timeout)")
[ "$stop" -gt $((drain + 2)) ] ||
	bad "TimeoutStopSec= ${stop}s does not exceed shutdown_timeout ${drain}s + 2s"

# --- documentation --------------------------------------------------------
for m in $(unit_get Documentation); do
	page=${m#man:}
	name=${page%(*}
	sect=${page#*(}; sect=${sect%)}
	[ -f "$TOP_SRC/man/$name.$sect" ] || bad "Documentation= names $m, but man/$name.$sect does not exist"
done
finish "unit, sysusers and tmpfiles agree with the daemon"
