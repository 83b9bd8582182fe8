#!/bin/bash
# The Debian package, end to end, on this machine (tier "package", root,
# about three minutes):
#  1. build privatemoded_*.deb with dpkg-buildpackage from a copy of the
#     source tree (the tree itself is not touched); lintian: no E: or W:;
#  2. apt-get install it; check the user, the files and directories
#     (/etc/privatemode, the tmpfiles.d chroot, AMD's chains in
#     /usr/share/privatemoded/amd), the conffile (listed in
#     DEBIAN/conffiles, equal to what the installed binary generates), the
#     enabled unit, a production build, "privatemoded -t" naming the
#     shipped chains;
#  3. run the unit's ExecStart line the way systemd would (systemd is not
#     PID 1 here), from the unit's own settings: User=/Group= with their
#     groups, the bounding and ambient capability sets, NoNewPrivileges=,
#     UMask=, PrivateUsers= (a user namespace mapping only root and the
#     user, set up before the id switch as systemd does), ProtectSystem=
#     strict (everything read-only but the StateDirectory=), a credentials
#     directory owned by the user for LoadCredential= and %d,
#     NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID; with
#     /etc/privatemode.conf pointed at the simulated deployment
#     (tests/sim).  The installed binary (a production build) refuses the
#     simulator's AMD chain as an override and test_trust_any_amd_root,
#     so
#     a. it runs with the shipped chains, unattested: the process tree
#        (ids, capabilities, chroot, seccomp), READY=1 with no key daemon
#        attested, /readyz 503 in one line, WATCHDOG=1 (WatchdogSec=), a
#        drain on SIGTERM;
#     b. this tree's --enable-test-hooks build (PM_BIN) runs in ExecStart's
#        place, with the simulator's chain as the Genoa override and
#        test_trust_any_amd_root, attested: the process tree again, the
#        API (/v1/models, a chat completion), a reload (ExecReload=), a
#        drain on SIGTERM (KillMode=mixed) with a stream in flight
#        (skipped, with a note, if PM_BIN has no test hooks);
#  4. the same with the documented drop-in for a port below 1024
#     (examples/low-port.conf), and without its PrivateUsers=no (refused);
#  5. apt-get purge it; check that only the system user (and the volatile
#     /run/privatemoded) is left.
# KEEP_TMP=1 keeps the work directory.
. "$PM_TOP_SRCDIR/tests/ops/lib.sh"
. "$PM_TOP_SRCDIR/tests/sim/simlib.sh"
require_tier package
[ "$(id -u)" -eq 0 ] || skip "needs root (installs a package)"
require_debian
for t in dpkg-buildpackage apt-get lintian setpriv unshare mount curl openssl flock python3; do
	require_tool "$t"
done
. "$TOP_SRC/tests/nodecompat.sh"
node_find || skip "node not found (the simulated deployment needs it)"
[ -f "$TOP_SRC/tests/node_modules/@hpke/core/package.json" ] ||
	fail "tests/node_modules missing: run 'cd tests && npm ci'"
export DEBIAN_FRONTEND=noninteractive
# PrivateUsers= is emulated with a user namespace, which the kernel
# refuses inside a chroot (and some containers): that cannot be tested
# here, and passing without it would be a lie.
unshare --user true 2>/dev/null ||
	skip "cannot create a user namespace here (a chroot?): the unit's PrivateUsers= cannot be run; use a machine, a VM or systemd-nspawn"

T=$(mktemp -d "${TMPDIR:-/tmp}/pm-install.XXXXXX")
chmod 755 "$T"
MARK=/run/lock/privatemoded-install-test.installed
PM_PID=
SIM_PID=
NOTIFY_PID=
CURL_PID=

cleanup() {
	local st=$? p
	kill_tree "$PM_PID"
	for p in "$SIM_PID" "$NOTIFY_PID" "$CURL_PID"; do
		[ -z "$p" ] || kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ -f "$MARK" ]; then
		apt-get purge -y -q -o DPkg::Lock::Timeout=300 privatemoded \
		    >"$T/purge-cleanup.log" 2>&1 || cat "$T/purge-cleanup.log" >&2
		rm -f "$MARK"
	fi
	cleanup_tmp $st
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One install test at a time on this machine.  (/run/lock comes from
# the boot; a container that did not boot has none.)
mkdir -p /run/lock
exec 9>/run/lock/privatemoded-install-test.lock
flock -w 900 9 || fail "another install test holds the lock"

# Never replace an installation this test did not make.
if dpkg-query -W -f='${Status}' privatemoded 2>/dev/null | grep -qE " (installed|config-files)$"; then
	[ -f "$MARK" ] ||
		fail "privatemoded is installed (not by this test): refusing to replace and purge it"
	note "purging the package a previous run left behind"
	apt-get purge -y -q -o DPkg::Lock::Timeout=300 privatemoded >/dev/null 2>&1 ||
		fail "could not purge the leftover package"
	rm -f "$MARK"
fi
# An empty /var/lib/privatemode is what any daemon started as root with the
# default workspace leaves behind (other tests on this machine): no data.
if [ -d /var/lib/privatemode ] && [ -z "$(ls -A /var/lib/privatemode)" ]; then
	note "removing an empty /var/lib/privatemode left by a daemon started as root"
	rmdir /var/lib/privatemode
fi
for f in /etc/privatemode /var/lib/privatemode; do
	[ ! -e "$f" ] || fail "$f exists without the package: refusing to touch it (a purge removes it)"
done

# --- 1. build ------------------------------------------------------------
t0=$(date +%s)
build_deb "$T" "parallel=2"
deb=$DEB
note "built $(basename "$deb") in $(( $(date +%s) - t0 ))s"
grep -q "^PASS: tests/unit/" "$T/build.log" || bad "the package build ran no unit test"
grep -q "^PASS: tests/integration/\|^PASS: tests/ops/install" "$T/build.log" &&
	bad "the package build ran root-only tests"
lintian --pedantic -I "$T"/privatemoded_*.changes >"$T/lintian.log" 2>&1
if grep -E '^[EW]: ' "$T/lintian.log"; then
	bad "lintian reports errors or warnings (above)"
fi
note "lintian: $(grep -cE '^[IP]: ' "$T/lintian.log") info/pedantic tag(s): $(grep -E '^[IP]: ' "$T/lintian.log" | awk '{print $3}' | sort -u | tr '\n' ' ')"

# --- 2. install ------------------------------------------------------------
t2=$(date +%s)
user_existed=0
id privatemode >/dev/null 2>&1 && user_existed=1
touch "$MARK"
apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 \
    "$deb" >"$T/install.log" 2>&1 || { cat "$T/install.log" >&2; fail "apt-get install failed"; }
dpkg-query -W -f='${Status}' privatemoded | grep -q "install ok installed" ||
	fail "privatemoded is not installed after apt-get install"

uid=$(id -u privatemode 2>/dev/null) || fail "the package did not create the user privatemode"
[ "$uid" -lt 1000 ] && [ "$uid" -ne 0 ] || bad "privatemode has uid $uid, not a system uid"
ent=$(getent passwd privatemode)
if [ $user_existed -eq 0 ]; then
	[ "$(echo "$ent" | cut -d: -f6)" = /var/lib/privatemode ] || bad "home of privatemode: $ent"
	[ "$(echo "$ent" | cut -d: -f7)" = /usr/sbin/nologin ] || bad "shell of privatemode: $ent"
	getent group privatemode >/dev/null || bad "no group privatemode"
else
	# Another test made the user first; show on copies of the account
	# files what the installed sysusers.d file creates on a fresh system.
	note "user privatemode existed before the install; checking the sysusers.d file on copies of /etc/passwd and /etc/group"
	mkdir -p "$T/sysroot/etc"
	for f in passwd group shadow gshadow; do
		grep -v '^privatemode:' /etc/$f >"$T/sysroot/etc/$f" 2>/dev/null
	done
	systemd-sysusers --root="$T/sysroot" /usr/lib/sysusers.d/privatemoded.conf >/dev/null 2>&1 ||
		bad "systemd-sysusers --root fails on /usr/lib/sysusers.d/privatemoded.conf"
	ent=$(grep '^privatemode:' "$T/sysroot/etc/passwd")
	[ "$(echo "$ent" | cut -d: -f6)" = /var/lib/privatemode ] || bad "sysusers.d home: $ent"
	[ "$(echo "$ent" | cut -d: -f7)" = /usr/sbin/nologin ] || bad "sysusers.d shell: $ent"
	[ "$(echo "$ent" | cut -d: -f3)" -lt 1000 ] || bad "sysusers.d uid is not a system uid: $ent"
	grep -q '^privatemode:' "$T/sysroot/etc/group" || bad "sysusers.d creates no group privatemode"
fi

check_file() {	# path mode owner:group
	local got
	got=$(stat -c '%a %U:%G' "$1" 2>/dev/null) || { bad "$1 is missing"; return; }
	[ "$got" = "$2 $3" ] || bad "$1 is $got, want $2 $3"
}
check_file /usr/sbin/privatemoded 755 root:root
check_file /lib/systemd/system/privatemoded.service 644 root:root
cmp -s /lib/systemd/system/privatemoded.service "$UNIT" || bad "the installed unit differs from debian/privatemoded.service"
for m in man8/privatemoded.8 man8/privatemode-keyd.8 man5/privatemode.conf.5; do
	check_file "/usr/share/man/$m.gz" 644 root:root
	zcat "/usr/share/man/$m.gz" 2>/dev/null | cmp -s - "$TOP_SRC/man/$(basename "$m")" ||
		bad "/usr/share/man/$m.gz is not man/$(basename "$m")"
done
check_file /usr/lib/sysusers.d/privatemoded.conf 644 root:root
check_file /usr/lib/tmpfiles.d/privatemoded.conf 644 root:root
check_file /etc/privatemode.conf 644 root:root
grep -qx /etc/privatemode.conf /var/lib/dpkg/info/privatemoded.conffiles ||
	bad "/etc/privatemode.conf is not a conffile"
dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles | grep -qx /etc/privatemode.conf ||
	bad "DEBIAN/conffiles of the .deb does not list /etc/privatemode.conf"
sh "$TOP_SRC/scripts/gen-conffile" /usr/sbin/privatemoded "$TOP_SRC/common/conf.h" >"$T/expected.conf" ||
	bad "gen-conffile fails on the installed binary"
cmp -s "$T/expected.conf" /etc/privatemode.conf ||
	bad "/etc/privatemode.conf is not what the installed binary's key table generates"
# The unit starts the daemon as privatemode: /etc/privatemode must let it
# reach amd/; the API key stays root's (LoadCredential= reads it as root).
check_file /etc/privatemode 750 root:privatemode
check_file /etc/privatemode/amd 755 root:root
# AMD's chains come with the package, byte for byte data/amd/.
for l in genoa milan turin; do
	f=/usr/share/privatemoded/amd/$l-cert-chain.pem
	check_file "$f" 644 root:root
	cmp -s "$f" "$TOP_SRC/data/amd/$l-cert-chain.pem" ||
		bad "$f is not data/amd/$l-cert-chain.pem"
done
[ ! -e /etc/privatemode/api-key ] || bad "the package ships an API key file"
# tmpfiles.d, run by the postinst: the default chroot_dir, root's.
check_file /run/privatemoded 755 root:root
check_file /run/privatemoded/empty 755 root:root
[ -z "$(ls -A /run/privatemoded/empty 2>/dev/null)" ] || bad "/run/privatemoded/empty is not empty"
# The workspace is the unit's StateDirectory=: created at the first start.
[ ! -e /var/lib/privatemode ] || bad "the package created /var/lib/privatemode (StateDirectory= does)"
lowport=$(ls /usr/share/doc/privatemoded/examples/low-port.conf* 2>/dev/null | head -1)
[ -n "$lowport" ] || bad "/usr/share/doc/privatemoded/examples/low-port.conf is missing"
[ -L /etc/systemd/system/multi-user.target.wants/privatemoded.service ] ||
	bad "the unit is not enabled (no multi-user.target.wants link)"
v=$(/usr/sbin/privatemoded -V)
[[ $v == *"sandbox seccomp"* ]] || bad "installed binary: $v (want the seccomp sandbox)"
[[ $v == *"test hooks"* ]] && bad "installed binary has test hooks: $v"
out=$(/usr/sbin/privatemoded -t 2>&1)
[[ $out == *"configuration OK"* ]] || bad "privatemoded -t on the shipped conffile: $out"
# With no override in /etc/privatemode/amd/, the shipped chains, checked.
for L in Genoa Milan Turin; do
	[[ $out == *"$L: AMD certificate chain /usr/share/privatemoded/amd/${L,,}-cert-chain.pem (shipped with the daemon), AMD's fingerprints"* ]] ||
		bad "privatemoded -t does not name the shipped $L chain: $out"
done
note "installed and checked the files in $(( $(date +%s) - t2 ))s"

# --- 3. run it as the unit does ------------------------------------------
t3=$(date +%s)
mkdir -p "$T/sim"
# Streams slow enough to be in flight when SIGTERM comes.
sim_start "$NODE" "$TOP_SRC" "$T/sim.json" --state-dir "$T/sim" --quiet \
    --stream-chunks 6 --chunk-interval-ms 300 2>"$T/sim.err" ||
	{ cat "$T/sim.err" >&2; fail "simulator did not start"; }
# The parent reads the CA file as privatemode.
chmod -R a+rX "$T/sim"

# The admin's part: the key file and the conffile.  AMD's chains are the
# ones shipped with the daemon.
install -m 0600 /dev/null /etc/privatemode/api-key
sim_field api_key >/etc/privatemode/api-key
{
	echo
	echo "# Added by tests/ops/install.sh: the simulated deployment."
	echo "api_endpoint $(sim_field api_endpoint)"
	echo "cdn_base_url $(sim_field cdn_base_url)"
	echo "ca_file $(sim_field ca_file)"
	echo "test_kds_base_url $(sim_field kds_base_url)"
	echo "listen 127.0.0.1:0"
	echo "metrics_listen 127.0.0.1:0"
	echo "workers 1"
} >>/etc/privatemode.conf
out=$(/usr/sbin/privatemoded -t 2>&1)
[[ $out == *"configuration OK"* ]] || fail "privatemoded -t on the edited conffile: $out"
# The simulator's chain is not AMD's: the installed (production) binary
# refuses it as an override, and refuses test_trust_any_amd_root, which
# would let it pass.
sim_chain=$(sim_field trust_anchors.Genoa.cert_chain)
install -m 0644 "$sim_chain" /etc/privatemode/amd/genoa-cert-chain.pem
out=$(/usr/sbin/privatemoded -t 2>&1)
[[ $out == *"genoa-cert-chain.pem refused"* && $out == *"configuration invalid"* ]] ||
	bad "the installed binary takes a Genoa override that is not AMD's: $out"
{ cat /etc/privatemode.conf; echo "test_trust_any_amd_root yes"; } >"$T/test-trust.conf"
out=$(/usr/sbin/privatemoded -t -f "$T/test-trust.conf" 2>&1)
[[ $out == *"test_trust_any_amd_root: test-only setting refused"* && $out == *"configuration invalid"* ]] ||
	bad "the installed binary does not refuse test_trust_any_amd_root: $out"
rm -f /etc/privatemode/amd/genoa-cert-chain.pem
# So the run that needs an attested simulator (chat, stream, reload) uses
# this tree's --enable-test-hooks build in the unit's place, as
# unit_syscalls.sh does; the installed binary runs first, unattested.
TEST_BIN=
if "$PM_BIN" -V 2>/dev/null | grep -q "test hooks"; then
	TEST_BIN=$T/privatemoded-test-hooks
	install -m 0755 "$PM_BIN" "$TEST_BIN"
fi
RUN_BIN=

# systemd's part, from the installed unit and the drop-ins in DROPINS.
INSTALLED_UNIT=/lib/systemd/system/privatemoded.service
DROPINS=()
# eff NAME [list]: NAME's value in the unit and its drop-ins; a list
# setting (capability sets) accumulates, an empty assignment resets it.
eff() {
	local f
	for f in "$INSTALLED_UNIT" "${DROPINS[@]}"; do zcat -f "$f"; echo; done |
	awk -v k="$1" -v list="${2:-}" '
		index($0, k "=") == 1 {
			v = substr($0, length(k) + 2)
			if (list != "" && v != "") out = out (out == "" ? "" : " ") v
			else out = v
		}
		END { print out }'
}
capnames() {	# CAP_A CAP_B -> +a,+b
	local c out=
	for c in "$@"; do c=${c#CAP_}; out="$out${out:+,}+${c,,}"; done
	echo "$out"
}
capmask() {	# CAP_A CAP_B -> the 16-digit hex mask of /proc/PID/status
	local c m=0 n
	for c in "$@"; do
		case $c in
		CAP_NET_BIND_SERVICE) n=10 ;;
		CAP_SYS_CHROOT) n=18 ;;
		*) fail "capmask: add $c" ;;
		esac
		m=$((m | (1 << n)))
	done
	printf '%016x\n' "$m"
}

# Type=notify: listen where the daemon reports readiness.
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(4096) + b"\n")
' "$T/notify.sock" "$T/notify.log" &
NOTIFY_PID=$!
# Every wait below is for its event, bounded only against a hang (a
# loaded machine stretches each step far past its usual time).
wait_until "the notify socket" 60 test -S "$T/notify.sock" ||
	fail "cannot listen on a notify socket"

# start_unit: the unit's ExecStart as systemd 252 runs it; sets uid, gid and PM_PID,
# the pid from the first wrapper to privatemoded (each one execs the next).
start_unit() {
	local user group groups bset amb state smode um cred cred_id pu i
	local -a cmd pre inner
	user=$(eff User); group=$(eff Group)
	[ -n "$user" ] && [ -n "$group" ] || fail "the unit has no User=/Group="
	uid=$(id -u "$user") || fail "no user $user"
	gid=$(getent group "$group" | cut -d: -f3)
	groups=$(id -G "$user" | tr ' ' ',')
	bset=$(capnames $(eff CapabilityBoundingSet list))
	amb=$(capnames $(eff AmbientCapabilities list))
	um=$(eff UMask)
	pu=$(eff PrivateUsers)
	[ "$(eff NoNewPrivileges)" = yes ] || fail "NoNewPrivileges= is not yes"
	[ "$(eff ProtectSystem)" = strict ] || fail "ProtectSystem= is not strict"
	# StateDirectory=: created and owned by the user.
	state=/var/lib/$(eff StateDirectory)
	[ "$state" != /var/lib/ ] || fail "the unit has no StateDirectory="
	smode=$(eff StateDirectoryMode)
	install -d -m "${smode:-0755}" -o "$user" -g "$group" "$state"
	# LoadCredential=: a copy owned by the user (ramfs has no ACLs).
	cred=$(eff LoadCredential)
	cred_id=${cred%%:*}
	rm -rf "$T/credentials"
	mkdir -m 0700 "$T/credentials"
	install -m 0400 -o "$user" "${cred#*:}" "$T/credentials/$cred_id"
	chmod 0500 "$T/credentials"
	chown "$user" "$T/credentials"
	read -r -a cmd <<<"$(eff ExecStart)"
	cmd=("${cmd[@]//%d/$T/credentials}")
	# A build tree's binary looks for its configuration below its own
	# prefix: name the package's.
	[ -z "$RUN_BIN" ] || cmd=("$RUN_BIN" -f /etc/privatemode.conf "${cmd[@]:1}")
	# WatchdogSec=: systemd passes it in microseconds, with the main pid.
	wd=$(eff WatchdogSec)
	wd_usec=
	case $wd in
	'') ;;
	*ms) wd_usec=$(( ${wd%ms} * 1000 )) ;;
	*min) wd_usec=$(( ${wd%min} * 60000000 )) ;;
	*s) wd_usec=$(( ${wd%s} * 1000000 )) ;;
	*) wd_usec=$(( wd * 1000000 )) ;;
	esac
	# The id switch with what the unit grants.
	inner=(--reuid="$uid" --inh-caps="-all${amb:+,$amb}")
	[ -z "$amb" ] || inner+=(--ambient-caps="$amb")
	inner+=(--bounding-set="-all${bset:+,$bset}" --no-new-privs --)
	if [ "$pu" = yes ]; then
		# Groups first (setgroups is denied in the namespace), then a
		# user namespace mapping root and the user, then the switch.
		rm -f "$T/go"
		mkfifo -m 0600 "$T/go"
		pre=(setpriv --regid="$gid" --groups="$groups" -- unshare --user --
		    /bin/sh -c 'read go <"$0" && exec "$@"' "$T/go" setpriv)
	else
		pre=(setpriv --regid="$gid" --init-groups)
	fi
	: >"$T/notify.log"
	# One log per start; daemon.log is the current one.
	[ ! -s "$T/daemon.log" ] || mv "$T/daemon.log" "$T/daemon.$(date +%s%N).log"
	(
		umask "${um:-0022}"
		cd /
		# ProtectSystem=strict: everything read-only but the state
		# directory (the daemon's own view; this mount namespace).
		exec unshare --mount --propagation private -- /bin/sh -c \
		    'mount --bind "$0" "$0" && mount -o remount,bind,ro / && exec "$@"' "$state" \
		    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C \
		    USER="$user" LOGNAME="$user" HOME="$state" SHELL=/usr/sbin/nologin \
		    CREDENTIALS_DIRECTORY="$T/credentials" STATE_DIRECTORY="$state" \
		    NOTIFY_SOCKET="$T/notify.sock" \
		    ${wd_usec:+WATCHDOG_USEC=$wd_usec WATCHDOG_PID=$BASHPID} \
		    "${pre[@]}" "${inner[@]}" "${cmd[@]}"
	) >"$T/daemon.log" 2>&1 &
	PM_PID=$!
	if [ "$pu" = yes ]; then
		own_userns() {
			kill -0 "$PM_PID" 2>/dev/null || fail "the start failed before the user namespace: $(cat "$T/daemon.log")"
			[ "$(readlink /proc/$PM_PID/ns/user)" != "$(readlink /proc/self/ns/user)" ]
		}
		wait_until "the user namespace" 60 own_userns
		# One write(2) per map, from outside the namespace, as systemd.
		python3 -c '
import os, sys
pid, uid, gid = sys.argv[1:4]
def w(f, data):
    fd = os.open("/proc/%s/%s" % (pid, f), os.O_WRONLY)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)
w("setgroups", "deny")
w("gid_map", "0 0 1\n%s %s 1\n" % (gid, gid))
w("uid_map", "0 0 1\n%s %s 1\n" % (uid, uid))
' "$PM_PID" "$uid" "$gid" || fail "cannot write the user namespace's maps"
		echo go >"$T/go"
	fi
	note "started as the unit does (User=$user, bounding set $bset, ambient $amb, PrivateUsers=${pu:-no}, UMask=$um): ${cmd[*]} (pid $PM_PID)"
}
# wait_listen: the port the daemon listens on, 0 if it exited.
wait_listen() {
	local port
	listening_or_gone() {
		grep -q 'listening on 127\.0\.0\.1:[0-9]*$' "$T/daemon.log" ||
		    ! kill -0 "$PM_PID" 2>/dev/null
	}
	wait_until "the listener" 180 listening_or_gone
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/daemon.log" | head -1)
	echo "${port:-0}"
}
# stop_unit: SIGTERM to the parent (KillMode=mixed); it must be gone
# within TimeoutStopSec=, children included.  Sets STOP_STATUS.
stop_unit() {
	local kids i stop p
	kids=$(pgrep -P "$PM_PID" | tr '\n' ' ')
	kill -TERM "$PM_PID"
	stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$INSTALLED_UNIT")
	for i in $(seq 1 $(( ${stop:-40} * 10 ))); do kill -0 "$PM_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$PM_PID" 2>/dev/null; then
		bad "the daemon did not exit within TimeoutStopSec=${stop}s of SIGTERM"
		STOP_STATUS=timeout
	else
		wait "$PM_PID"
		STOP_STATUS=$?
		PM_PID=
	fi
	for p in $kids; do
		kill -0 "$p" 2>/dev/null && bad "child $p outlived the parent"
	done
}
status_of() {	# pid field
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
ids_of() {	# pid Uid|Gid: the four ids, space-separated
	awk -v f="$2:" '$1 == f { print $2, $3, $4, $5 }' "/proc/$1/status"
}

check_tree() {
	# The process tree.  The parent: the unit's user and group, in a user
	# namespace that maps only root and that user, with exactly CAP_SYS_CHROOT
	# (effective, permitted, inheritable, ambient, bounding), no_new_privs.
	want=$(capmask $(eff AmbientCapabilities list))
	[ "$(ids_of "$PM_PID" Uid)" = "$uid $uid $uid $uid" ] ||
		bad "the parent's uids are $(ids_of "$PM_PID" Uid), want privatemode ($uid)"
	[ "$(ids_of "$PM_PID" Gid)" = "$gid $gid $gid $gid" ] ||
		bad "the parent's gids are $(ids_of "$PM_PID" Gid), want privatemode ($gid)"
	[ "$(awk '$1 == "Groups:" { $1 = ""; print }' /proc/$PM_PID/status | xargs)" = "$(id -G privatemode)" ] ||
		bad "the parent's groups: $(grep ^Groups: /proc/$PM_PID/status), want $(id -G privatemode)"
	for f in CapEff CapPrm CapInh CapAmb CapBnd; do
		[ "$(status_of "$PM_PID" $f)" = "$want" ] ||
			bad "the parent's $f is $(status_of "$PM_PID" $f), want $want (CAP_SYS_CHROOT only)"
	done
	[ "$(status_of "$PM_PID" NoNewPrivs)" = 1 ] || bad "the parent has no no_new_privs"
	[ "$(eff PrivateUsers)" = yes ] || bad "PrivateUsers= is not yes"
	[ "$(readlink /proc/$PM_PID/ns/user)" != "$(readlink /proc/self/ns/user)" ] ||
		bad "PrivateUsers=yes, but the parent is in the host's user namespace"
	[ "$(awk '{ print $1 "-" $2 "-" $3 }' /proc/$PM_PID/uid_map | xargs)" = "0-0-1 $uid-$uid-1" ] ||
		bad "the parent's uid_map: $(cat /proc/$PM_PID/uid_map)"
	kids=$(pgrep -P "$PM_PID" | wc -l)
	[ "$kids" -eq 2 ] || bad "the parent has $kids children, want a worker and a keyd"
	for p in $(pgrep -P "$PM_PID"); do
		role=$(tr '\0' ' ' </proc/$p/cmdline | sed -n 's/.*-T \([a-z]*\).*/\1/p')
		[ "$(ids_of "$p" Uid)" = "$uid $uid $uid $uid" ] || bad "$role runs as uids $(ids_of "$p" Uid)"
		for f in CapEff CapPrm CapInh CapAmb; do
			[ "$(status_of "$p" $f)" = 0000000000000000 ] || bad "$role has capabilities: $f $(status_of "$p" $f)"
		done
		[ "$(status_of "$p" NoNewPrivs)" = 1 ] || bad "$role has no no_new_privs"
		[ "$(readlink /proc/$p/root)" = /run/privatemoded/empty ] ||
			bad "$role is not chrooted into /run/privatemoded/empty (root: $(readlink /proc/$p/root))"
		if [ "$role" = keyd ]; then
			[ "$(status_of "$p" Seccomp)" = 2 ] || bad "keyd has no seccomp filter"
		fi
	done
}

# Start the unit and wait for it to serve: it listens, /healthz says ok,
# READY=1 comes once the worker serves and keyd's first attestation round
# is over, with STATUS= saying how many ($1) of 1 keyds attested; then the
# process tree as check_tree wants it.  Sets port and url.  $2 names the
# run in messages.
healthz() { curl -sf -o /dev/null --max-time 30 "$url/healthz"; }
unit_up() {
	start_unit
	port=$(wait_listen)
	[ "$port" != 0 ] || fail "$2: the daemon never listened"
	url="http://127.0.0.1:$port"
	wait_until "/healthz" 120 healthz
	body=$(curl -s --max-time 30 "$url/healthz")
	[ "$body" = '{"status":"ok"}' ] || bad "$2: /healthz answered: $body"
	wait_until "READY=1" 300 grep -q '^READY=1' "$T/notify.log"
	grep -q "^STATUS=serving; $1 of 1 key daemons attested" "$T/notify.log" ||
		bad "$2: no READY=1 with $1 of 1 key daemons attested (got: $(tr '\n' ' ' <"$T/notify.log"))"
	check_tree
}

# 3a. The installed binary as the unit runs it.  The simulator's chain is
# not AMD's, so it serves but does not attest: READY=1 after the first
# round, /readyz 503, and the sandbox as it will be in production.
unit_up 0 "the installed binary"
# /readyz on the API port: not ready, in fixed words (the next round may
# be under way), never the attestation's own error.
rz=$(curl -s -o "$T/readyz" -w '%{http_code}' --max-time 10 "$url/readyz")
[ "$rz" = 503 ] && grep -Eq '^\{"ready":false,"reason":"(not attested: |attestation in progress)' "$T/readyz" ||
	bad "the installed binary, unattested: /readyz answered $rz: $(cat "$T/readyz")"

# WatchdogSec=: WATCHDOG=1 every half of it while the children answer.
if [ -n "$(eff WatchdogSec)" ]; then
	for i in $(seq 1 $(( wd_usec / 100000 + 100 ))); do
		grep -q '^WATCHDOG=1' "$T/notify.log" && break
		sleep 0.1
	done
	grep -q '^WATCHDOG=1' "$T/notify.log" ||
		bad "no WATCHDOG=1 within WatchdogSec=$(eff WatchdogSec) (got: $(tr '\n' ' ' <"$T/notify.log"))"
	grep -q 'watchdog: WATCHDOG=1 every' "$T/daemon.log" ||
		bad "the daemon did not take WATCHDOG_USEC=$wd_usec"
fi

stop_unit
[ "$STOP_STATUS" = 0 ] || bad "the installed binary exited with status $STOP_STATUS after SIGTERM"
grep -q '^STOPPING=1' "$T/notify.log" || bad "the installed binary: no STOPPING=1 on SIGTERM"
note "the installed binary ran as the unit does, unattested, in $(( $(date +%s) - t3 ))s"

# 3b. Attested, with this tree's test-hooks build in ExecStart's place.
if [ -z "$TEST_BIN" ]; then
	note "$PM_BIN has no test hooks: the attested run (chat, stream, reload, drain) is skipped"
else
install -m 0644 "$sim_chain" /etc/privatemode/amd/genoa-cert-chain.pem
echo "test_trust_any_amd_root yes" >>/etc/privatemode.conf
out=$("$TEST_BIN" -t -f /etc/privatemode.conf 2>&1)
[[ $out == *"Genoa: AMD certificate chain /etc/privatemode/amd/genoa-cert-chain.pem (override), fingerprints not checked"* ]] ||
	bad "the test-hooks build's -t does not name the Genoa override: $out"
RUN_BIN=$TEST_BIN

unit_up 1 "the test-hooks build"

# /readyz: attested against the simulated deployment.
rz=$(curl -s -o "$T/readyz" -w '%{http_code}' --max-time 10 "$url/readyz")
[ "$rz" = 200 ] && grep -q '"ready":true' "$T/readyz" ||
	bad "/readyz answered $rz: $(cat "$T/readyz")"

# Unknown routes: the daemon's own JSON error, with a request id.
code=$(curl -s -D "$T/h404" -o "$T/b404" -w '%{http_code}' --max-time 5 "$url/no/such/route")
[ "$code" = 404 ] || bad "unknown route answered $code"
grep -q '"error"' "$T/b404" || bad "404 body is not an error object: $(cat "$T/b404")"
grep -qi '^x-request-id: ' "$T/h404" || bad "404 has no x-request-id"

# /v1/models: the simulated deployment's list, passed through.
code=$(curl -s -o "$T/models" -w '%{http_code}' --max-time 30 "$url/v1/models")
[ "$code" = 200 ] || bad "/v1/models answered $code: $(head -c 300 "$T/models")"
curl -s --max-time 10 --cacert "$(sim_field ca_file)" -H "Authorization: Bearer $(sim_field api_key)" \
    "$(sim_field base_url)/v1/models" >"$T/models.sim"
want_models=$("$NODE" -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(j.data.map(m=>m.id).sort().join(","))' "$T/models.sim")
got=$("$NODE" -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(j.object+":"+j.data.map(m=>m.id).sort().join(","))' "$T/models" 2>&1)
[ -n "$want_models" ] && [ "$got" = "list:$want_models" ] || bad "/v1/models: got $got, want list:$want_models"

# A chat completion through the whole path: sealed by keyd, answered by
# the simulator's echo, opened again.
chat='{"model":"gpt-oss-120b","messages":[{"role":"user","content":"Hello from the install test"}]}'
code=$(curl -s -o "$T/chat" -w '%{http_code}' --max-time 60 -H 'Content-Type: application/json' -d "$chat" "$url/v1/chat/completions")
[ "$code" = 200 ] || bad "chat completion answered $code: $(head -c 300 "$T/chat")"
grep -q '"content":"Echo: Hello from the install test"' "$T/chat" ||
	bad "chat completion did not carry the echo: $(head -c 300 "$T/chat")"
# CDN mode logs the manifest in the workspace, written under UMask=0077.
check_file /var/lib/privatemode 750 privatemode:privatemode
check_file /var/lib/privatemode/manifests/log.txt 600 privatemode:privatemode

# ExecReload=/bin/kill -HUP $MAINPID: RELOADING=1, then READY=1 again once
# the new generation serves.
[[ $(eff ExecReload) == *'-HUP $MAINPID'* ]] || bad "ExecReload= does not send SIGHUP to \$MAINPID"
kill -HUP "$PM_PID"
wait_until "the reload" 120 grep -q "configuration reloaded" "$T/daemon.log"
grep -q "configuration reloaded" "$T/daemon.log" || bad "SIGHUP did not reload the configuration"
reloaded() { sed -n '/^RELOADING=1$/,$p' "$T/notify.log" | grep -q '^READY=1'; }
wait_until "READY=1 after RELOADING=1" 300 reloaded
reloaded || bad "no RELOADING=1 then READY=1 for the reload (got: $(tr '\n' ' ' <"$T/notify.log"))"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/healthz")
[ "$code" = 200 ] || bad "/healthz answered $code after the reload"
code=$(curl -s -o "$T/chat2" -w '%{http_code}' --max-time 60 -H 'Content-Type: application/json' -d "$chat" "$url/v1/chat/completions")
[ "$code" = 200 ] && grep -q 'Echo: Hello from the install test' "$T/chat2" ||
	bad "chat completion after the reload answered $code: $(head -c 300 "$T/chat2")"

# KillMode=mixed: SIGTERM to the parent only.  The stream in flight is
# finished (drain), then everything exits 0.
stream='{"model":"gpt-oss-120b","stream":true,"messages":[{"role":"user","content":"Hello from the install test"}]}'
curl -sN --max-time 60 -o "$T/stream" -H 'Content-Type: application/json' -d "$stream" "$url/v1/chat/completions" &
CURL_PID=$!
wait_until "the stream's first event" 60 grep -qs '^data: ' "$T/stream"
grep -q '^data: ' "$T/stream" 2>/dev/null || bad "the stream did not start"
grep -q '^data: \[DONE\]' "$T/stream" && bad "the stream was over before SIGTERM: no drain to see"
stop_unit
[ "$STOP_STATUS" = 0 ] || bad "the daemon exited with status $STOP_STATUS after SIGTERM"
wait "$CURL_PID"
st=$?
CURL_PID=
[ $st -eq 0 ] && grep -q '^data: \[DONE\]' "$T/stream" ||
	bad "the stream in flight at SIGTERM was not finished (curl $st): $(tail -c 300 "$T/stream")"
grep -q '^STOPPING=1' "$T/notify.log" || bad "no STOPPING=1 on SIGTERM"
note "ran, reloaded and drained as the unit does in $(( $(date +%s) - t3 ))s"
RUN_BIN=
sed -i '/^test_trust_any_amd_root yes$/d' /etc/privatemode.conf
rm -f /etc/privatemode/amd/genoa-cert-chain.pem
fi	# 3b

# --- 4. the documented drop-in for a port below 1024 ---------------------
t4=$(date +%s)
low=$(python3 -c '
import socket
for p in range(1023, 899, -1):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
')
if [ -z "$lowport" ] || [ -z "$low" ]; then
	bad "no drop-in, or no free port below 1024 to try it on"
else
	sed -i "s/^listen 127\.0\.0\.1:0$/listen 127.0.0.1:$low/" /etc/privatemode.conf
	DROPINS=("$lowport")
	start_unit
	port=$(wait_listen)
	if [ "$port" != "$low" ]; then
		bad "with $(basename "$lowport"), the daemon does not listen on port $low: $(tail -3 "$T/daemon.log")"
	else
		curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:$low/healthz" ||
			bad "/healthz on port $low does not answer"
		# CAP_NET_BIND_SERVICE is gone once the listeners are bound.
		for f in CapEff CapPrm CapInh CapAmb; do
			[ "$(status_of "$PM_PID" $f)" = "$want" ] ||
				bad "with the drop-in, the parent's $f is $(status_of "$PM_PID" $f), want $want (CAP_SYS_CHROOT only)"
		done
	fi
	if [ -n "$PM_PID" ] && kill -0 "$PM_PID" 2>/dev/null; then
		stop_unit
		[ "$STOP_STATUS" = 0 ] || bad "with the drop-in, the daemon exited with status $STOP_STATUS after SIGTERM"
	fi
	# Without PrivateUsers=no the capability is the namespace's only: the
	# bind is refused and the start fails (unless this machine lets
	# anyone bind the port anyway).
	unpriv=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024)
	if [ "$unpriv" -le "$low" ]; then
		note "net.ipv4.ip_unprivileged_port_start is $unpriv: not checking that PrivateUsers=yes refuses port $low"
		DROPINS=()
	else
		grep -v '^PrivateUsers=' "$lowport" >"$T/low-port-userns.conf"
		DROPINS=("$T/low-port-userns.conf")
		start_unit
		gone() { ! kill -0 "$PM_PID" 2>/dev/null; }
		wait_until "the refused start to exit" 120 gone
		if kill -0 "$PM_PID" 2>/dev/null; then
			bad "with PrivateUsers=yes, the daemon started on port $low anyway"
			stop_unit
		else
			wait "$PM_PID"
			st=$?
			PM_PID=
			[ $st -ne 0 ] && grep -q "Permission denied" "$T/daemon.log" ||
				bad "with PrivateUsers=yes, port $low: status $st, want a refused bind: $(tail -3 "$T/daemon.log")"
		fi
	fi
	DROPINS=()
	sed -i "s/^listen 127\.0\.0\.1:$low$/listen 127.0.0.1:0/" /etc/privatemode.conf
	note "the low-port drop-in: port $low bound, then CAP_SYS_CHROOT only; refused under PrivateUsers=yes ($(( $(date +%s) - t4 ))s)"
fi
kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; SIM_PID=
kill "$NOTIFY_PID" 2>/dev/null; wait "$NOTIFY_PID" 2>/dev/null; NOTIFY_PID=

# --- 5. purge ---------------------------------------------------------------
apt-get purge -y -q -o DPkg::Lock::Timeout=300 privatemoded >"$T/purge.log" 2>&1 ||
	{ cat "$T/purge.log" >&2; fail "apt-get purge failed"; }
rm -f "$MARK"
dpkg-query -W -f='${Status}' privatemoded 2>/dev/null | grep -qE " (installed|config-files)$" &&
	bad "dpkg still knows privatemoded after the purge"
# Gone: the package's files (AMD's chains among them), the API key, the
# chain override at its default path, /etc/privatemode, the workspace.  Kept: the system user and the
# volatile /run/privatemoded (tmpfs; see the postrm).
for f in /usr/sbin/privatemoded /lib/systemd/system/privatemoded.service \
    /usr/share/man/man8/privatemoded.8.gz /usr/share/man/man8/privatemode-keyd.8.gz \
    /usr/share/man/man5/privatemode.conf.5.gz /usr/lib/sysusers.d/privatemoded.conf \
    /usr/lib/tmpfiles.d/privatemoded.conf /usr/share/doc/privatemoded \
    /usr/share/privatemoded \
    /etc/privatemode.conf /etc/privatemode /var/lib/privatemode \
    /etc/systemd/system/multi-user.target.wants/privatemoded.service; do
	[ ! -e "$f" ] && [ ! -L "$f" ] || bad "$f is left after the purge"
done
ls /var/lib/dpkg/info/privatemoded.* >/dev/null 2>&1 && bad "dpkg info files are left"
id privatemode >/dev/null 2>&1 || bad "the purge removed the system user (Debian keeps it)"

finish "built, linted, installed, ran as the unit does (PrivateUsers=yes, then the low-port drop-in), purged in $(( $(date +%s) - t0 ))s"
