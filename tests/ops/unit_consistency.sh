#!/bin/bash
# debian/ agrees with the daemon:
#  * the unit's ExecStart (with %d pointing at a credentials directory
#    holding api-key) is a command line "privatemoded -t" accepts;
#  * LoadCredential=, the %d path and ConditionPathExists= name the same
#    credential and key file;
#  * the sysusers user, the tmpfiles workspace, ReadWritePaths= and the
#    RuntimeDirectory= chroot match the daemon's defaults (privatemoded -K);
#  * the bounding set holds every capability the parent keeps
#    (parent_caps in common/privdrop.c) and the drop needs, nothing else;
#  * the system call filter lets through what the drop and keyd's sandbox
#    call outside @system-service (chroot, seccomp);
#  * TimeoutStopSec= exceeds the default shutdown_timeout plus the
#    parent's 2 s kill grace; KillMode=mixed, Type=notify, NotifyAccess=main;
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
[ "$(unit_get ConditionPathExists)" = "$cred_src" ] ||
	bad "ConditionPathExists= is not the credential's source $cred_src"
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
read -r t name id gecos <<<"$(grep -v '^#' "$D/privatemoded.sysusers" | grep '^u ')"
[ "$name" = "$user" ] || bad "sysusers creates \"$name\", the daemon's default user is \"$user\""
home=$(grep -v '^#' "$D/privatemoded.sysusers" | grep '^u ' | sed 's/.*" *\([^ ]*\) .*/\1/')
[ "$home" = "$ws" ] || bad "sysusers home $home is not the default workspace $ws"
read -r t path mode owner group age <<<"$(grep -v '^#' "$D/privatemoded.tmpfiles" | grep '^d ')"
[ "$path" = "$ws" ] && [ "$owner" = "$user" ] && [ "$group" = "$user" ] ||
	bad "tmpfiles.d does not create $ws owned by $user:$user (it has: $path $owner:$group)"
[ "$mode" = 0750 ] || [ "$mode" = 0700 ] || bad "workspace mode $mode is readable by others"
unit_get ReadWritePaths | tr ' ' '\n' | grep -qx -- "$ws" ||
	bad "ReadWritePaths= does not include the workspace $ws"
unit_get StateDirectory | grep -q . &&
	bad "StateDirectory= would chown the workspace to root (the unit has no User=)"
rt_ok=0
for r in $(unit_get RuntimeDirectory); do
	[ "/run/$r" = "$chroot" ] && rt_ok=1
done
[ $rt_ok -eq 1 ] || bad "RuntimeDirectory= does not create the default chroot_dir $chroot"
[ "$(unit_get RuntimeDirectoryMode)" = 0755 ] ||
	bad "RuntimeDirectoryMode= must be 0755: the unprivileged children must be able to chroot into it"

# --- capabilities and system calls ----------------------------------------
bset=" $(unit_get CapabilityBoundingSet) "
need="CAP_SETUID CAP_SETGID CAP_SETPCAP"	# setresuid/setresgid/setgroups, PR_CAPBSET_DROP
for c in $(sed -n 's/.*parent_caps\[\] = {\(.*\)}.*/\1/p' "$TOP_SRC/common/privdrop.c" | tr ',' ' '); do
	need="$need $c"
done
printf '%s\n' "$need" | grep -q CAP_SYS_CHROOT || bad "could not read parent_caps from common/privdrop.c"
for c in $need; do
	[[ $bset == *" $c "* ]] || bad "CapabilityBoundingSet= lacks $c, which the privilege drop needs"
done
for c in $bset; do
	[[ " $need " == *" $c "* ]] || bad "CapabilityBoundingSet= has $c, which the daemon does not use"
done
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
