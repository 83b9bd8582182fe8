#!/bin/bash
# The Debian package, end to end, on this machine (tier "package", root,
# about two minutes):
#  1. build privatemoded_*.deb with dpkg-buildpackage from a copy of the
#     source tree (the tree itself is not touched); lintian: no E: or W:;
#  2. apt-get install it; check the user, the files, the conffile (listed
#     in DEBIAN/conffiles, equal to what the installed binary generates),
#     the workspace owner, the enabled unit, a production build;
#  3. run the unit's ExecStart line the way systemd would (systemd is not
#     PID 1 here): a credentials directory holding the API key for %d,
#     NOTIFY_SOCKET, UMask=0077, the RuntimeDirectory, NoNewPrivileges= and
#     the unit's CapabilityBoundingSet= (setpriv), with /etc/privatemode.conf
#     pointed at the simulated deployment (tests/sim); probe it, reload it
#     (ExecReload), stop it with SIGTERM (KillMode=mixed);
#  4. apt-get purge it; check that only the system user is left.
# Routes and readiness the daemon does not have yet are reported as TODO
# (see "todo" below) and become hard checks as soon as the daemon serves
# them.  KEEP_TMP=1 keeps the work directory.
. "$PM_TOP_SRCDIR/tests/ops/lib.sh"
require_tier package
[ "$(id -u)" -eq 0 ] || skip "needs root (installs a package)"
require_debian
for t in dpkg-buildpackage apt-get lintian setpriv curl openssl flock; do
	require_tool "$t"
done
NODE=${PM_NODE:-}
[ -n "$NODE" ] || NODE=$(command -v node || true)
[ -n "$NODE" ] || skip "node not found (the simulated deployment needs it)"
[ -f "$TOP_SRC/tests/node_modules/@hpke/core/package.json" ] ||
	fail "tests/node_modules missing: run 'cd tests && npm ci'"
export DEBIAN_FRONTEND=noninteractive

T=$(mktemp -d "${TMPDIR:-/tmp}/pm-install.XXXXXX")
chmod 755 "$T"
MARK=/run/lock/privatemoded-install-test.installed
PM_PID=
SIM_PID=
NOTIFY_PID=
TODO=()

todo() {
	echo "TODO $TEST_NAME: $*"
	TODO+=("$*")
}

cleanup() {
	local st=$? p
	if [ -n "$PM_PID" ] && kill -0 "$PM_PID" 2>/dev/null; then
		for p in $(pgrep -P "$PM_PID"); do kill -KILL "$p" 2>/dev/null; done
		kill -KILL "$PM_PID" 2>/dev/null
	fi
	[ -z "$SIM_PID" ] || kill "$SIM_PID" 2>/dev/null
	[ -z "$NOTIFY_PID" ] || kill "$NOTIFY_PID" 2>/dev/null
	wait 2>/dev/null
	if [ -f "$MARK" ]; then
		apt-get purge -y -q -o DPkg::Lock::Timeout=300 privatemoded \
		    >"$T/purge-cleanup.log" 2>&1 || cat "$T/purge-cleanup.log" >&2
		rm -f "$MARK"
	fi
	if [ $st -ne 0 ] && [ -f "$T/daemon.log" ]; then
		echo "--- daemon log (last 30 lines) ---" >&2
		tail -30 "$T/daemon.log" >&2
	fi
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
	exit $st
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One install test at a time on this machine.
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
[ ! -e /etc/privatemode/api-key ] ||
	fail "/etc/privatemode/api-key exists without the package: refusing to touch it"

# --- 1. build ------------------------------------------------------------
t0=$(date +%s)
mkdir "$T/src"
if git -C "$TOP_SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# The working tree as it is, without ignored files (builds, caches).
	(cd "$TOP_SRC" && git ls-files -z -co --exclude-standard |
	    tar --null -T - -cf - 2>/dev/null) | tar -xf - -C "$T/src" ||
		fail "cannot copy the source tree"
else
	tar -C "$TOP_SRC" --exclude='./build*' --exclude=./autom4te.cache \
	    --exclude=node_modules --exclude=./debian/privatemoded \
	    --exclude=./debian/.debhelper -cf - . | tar -xf - -C "$T/src"
fi
# A clean environment: make check's MAKEFLAGS carry command-line variables
# (TEST_LOGS=...) that would leak into the package's own test run.
(cd "$T/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
    -u PM_TEST_TIERS -u PM_TOP_SRCDIR -u PM_TOP_BUILDDIR \
    DEB_BUILD_OPTIONS="parallel=2" dpkg-buildpackage -us -uc -b) \
    >"$T/build.log" 2>&1 || { tail -60 "$T/build.log" >&2; fail "dpkg-buildpackage failed"; }
deb=$(ls "$T"/privatemoded_*_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no privatemoded_*.deb built"
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
check_file /etc/privatemode 700 root:root
[ ! -e /etc/privatemode/api-key ] || bad "the package ships an API key file"
check_file /var/lib/privatemode 750 privatemode:privatemode
[ -L /etc/systemd/system/multi-user.target.wants/privatemoded.service ] ||
	bad "the unit is not enabled (no multi-user.target.wants link)"
v=$(/usr/sbin/privatemoded -V)
[[ $v == *"sandbox seccomp"* ]] || bad "installed binary: $v (want the seccomp sandbox)"
[[ $v == *"test hooks"* ]] && bad "installed binary has test hooks: $v"
out=$(/usr/sbin/privatemoded -t 2>&1)
[[ $out == *"configuration OK"* ]] || bad "privatemoded -t on the shipped conffile: $out"

# --- 3. run it as the unit does ------------------------------------------
mkdir -p "$T/sim"
"$NODE" "$TOP_SRC/tests/sim/sim.mjs" --state-dir "$T/sim" --quiet >"$T/sim.json" 2>"$T/sim.err" &
SIM_PID=$!
for i in $(seq 1 300); do
	[ -s "$T/sim.json" ] && break
	kill -0 "$SIM_PID" 2>/dev/null || { cat "$T/sim.err" >&2; fail "simulator exited"; }
	sleep 0.1
done
[ -s "$T/sim.json" ] || fail "simulator did not start"
sj() { "$NODE" -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8").split("\n")[0]);const v=process.argv[2].split(".").reduce((o,k)=>o?.[k],j);process.stdout.write(v==null?"":String(v))' "$T/sim.json" "$1"; }
# The key daemons read the CA file as the unprivileged user.
chmod -R a+rX "$T/sim"

# The admin's part: the key file and the conffile.
install -m 0600 /dev/null /etc/privatemode/api-key
sj api_key >/etc/privatemode/api-key
cat >>/etc/privatemode.conf <<EOF

# Added by tests/ops/install.sh: the simulated deployment.
api_endpoint $(sj api_endpoint)
cdn_base_url $(sj cdn_base_url)
ca_file $(sj ca_file)
listen 127.0.0.1:0
metrics_listen 127.0.0.1:0
workers 1
EOF
out=$(/usr/sbin/privatemoded -t 2>&1)
[[ $out == *"configuration OK"* ]] || fail "privatemoded -t on the edited conffile: $out"

# systemd's part.  LoadCredential=: a root-only copy of the key file.
cred=$(sed -n 's/^LoadCredential=//p' /lib/systemd/system/privatemoded.service)
cred_id=${cred%%:*}
mkdir -m 0700 "$T/credentials"
install -m 0400 "${cred#*:}" "$T/credentials/$cred_id"
chmod 0500 "$T/credentials"
# RuntimeDirectory=privatemoded privatemoded/empty, RuntimeDirectoryMode=0755
install -d -m 0755 /run/privatemoded /run/privatemoded/empty
# CapabilityBoundingSet= as setpriv's list.
bset=-all
for c in $(sed -n 's/^CapabilityBoundingSet=//p' /lib/systemd/system/privatemoded.service); do
	c=${c#CAP_}
	bset="$bset,+${c,,}"
done
read -r -a cmd <<<"$(sed -n 's/^ExecStart=//p' /lib/systemd/system/privatemoded.service)"
cmd=("${cmd[@]//%d/$T/credentials}")
# Type=notify: listen where the daemon reports readiness.
NOTIFY=
if [ -x /usr/bin/python3 ]; then
	/usr/bin/python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(4096) + b"\n")
' "$T/notify.sock" "$T/notify.log" &
	NOTIFY_PID=$!
	for i in $(seq 1 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
	[ -S "$T/notify.sock" ] && NOTIFY=$T/notify.sock
fi
(
	umask 0077
	cd /
	exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C \
	    CREDENTIALS_DIRECTORY="$T/credentials" ${NOTIFY:+NOTIFY_SOCKET=$NOTIFY} \
	    setpriv --bounding-set "$bset" --no-new-privs -- "${cmd[@]}"
) >"$T/daemon.log" 2>&1 &
PM_PID=$!
note "started: ${cmd[*]} (bounding set $bset, pid $PM_PID)"
port=
for i in $(seq 1 100); do
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/daemon.log" | head -1)
	[ -n "$port" ] && break
	kill -0 "$PM_PID" 2>/dev/null || fail "the daemon exited at start-up"
	sleep 0.1
done
[ -n "$port" ] || fail "the daemon never listened"
url="http://127.0.0.1:$port"

# /healthz
for i in $(seq 1 100); do
	curl -sf -o /dev/null --max-time 2 "$url/healthz" && break
	sleep 0.1
done
body=$(curl -s --max-time 5 "$url/healthz")
[ "$body" = '{"status":"ok"}' ] || bad "/healthz answered: $body"

# The process tree under the unit's bounding set.
ppid_uid=$(awk '/^Uid:/{print $2}' /proc/$PM_PID/status)
[ "$ppid_uid" = "$uid" ] || bad "the parent runs as uid $ppid_uid after start-up, not privatemode ($uid)"
kids=$(pgrep -P "$PM_PID" | wc -l)
[ "$kids" -eq 2 ] || bad "the parent has $kids children, want a worker and a keyd"
for p in $(pgrep -P "$PM_PID"); do
	role=$(tr '\0' ' ' </proc/$p/cmdline | sed -n 's/.*-T \([a-z]*\).*/\1/p')
	[ "$(awk '/^Uid:/{print $2}' /proc/$p/status)" = "$uid" ] || bad "$role runs as another uid"
	[ "$(awk '/^CapEff:/{print $2}' /proc/$p/status)" = 0000000000000000 ] || bad "$role has capabilities"
	[ "$(readlink /proc/$p/root)" = /run/privatemoded/empty ] || bad "$role is not chrooted into /run/privatemoded/empty"
	if [ "$role" = keyd ]; then
		[ "$(awk '/^Seccomp:/{print $2}' /proc/$p/status)" = 2 ] || bad "keyd has no seccomp filter"
	fi
done

# /readyz answers in either state; 200 needs attestation.
rz=$(curl -s -o "$T/readyz" -w '%{http_code}' --max-time 10 "$url/readyz")
case $rz in
200|503) grep -q '"ready"' "$T/readyz" || bad "/readyz $rz without a ready member: $(cat "$T/readyz")" ;;
*) bad "/readyz answered $rz" ;;
esac

# Unknown routes: the daemon's own JSON error, with a request id.
code=$(curl -s -D "$T/h404" -o "$T/b404" -w '%{http_code}' --max-time 5 "$url/no/such/route")
[ "$code" = 404 ] || bad "unknown route answered $code"
grep -q '"error"' "$T/b404" || bad "404 body is not an error object: $(cat "$T/b404")"
grep -qi '^x-request-id: ' "$T/h404" || bad "404 has no x-request-id"

# Waits for readiness when the daemon can become ready (TODO otherwise).
wait_ready() {
	local i
	for i in $(seq 1 60); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/readyz")" = 200 ] && return 0
		sleep 0.5
	done
	return 1
}
not_routed() {	# $1 = body file: the daemon's "no route" 404?
	grep -q "no route for" "$1"
}

# /v1/models: the simulated deployment's list, passed through.
code=$(curl -s -o "$T/models" -w '%{http_code}' --max-time 30 "$url/v1/models")
if [ "$code" = 404 ] && not_routed "$T/models"; then
	todo "GET /v1/models is not routed yet (404 no route): then assert 200 and the simulator's model ids"
else
	[ "$code" = 200 ] || bad "/v1/models answered $code: $(head -c 300 "$T/models")"
	curl -s --max-time 10 --cacert "$(sj ca_file)" -H "Authorization: Bearer $(sj api_key)" \
	    "$(sj base_url)/v1/models" >"$T/models.sim"
	want=$("$NODE" -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(j.data.map(m=>m.id).sort().join(","))' "$T/models.sim")
	got=$("$NODE" -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(j.object+":"+j.data.map(m=>m.id).sort().join(","))' "$T/models" 2>&1)
	[ "$got" = "list:$want" ] || bad "/v1/models: got $got, want list:$want"
fi

# A chat completion through the whole path.
chat='{"model":"gpt-oss-120b","messages":[{"role":"user","content":"Hello from the install test"}]}'
code=$(curl -s -o "$T/chat" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' -d "$chat" "$url/v1/chat/completions")
if [ "$code" = 404 ] && not_routed "$T/chat"; then
	todo "POST /v1/chat/completions is not routed yet: then assert 200 and \"Echo: Hello from the install test\""
else
	wait_ready || bad "/readyz never became 200 against the simulated deployment"
	code=$(curl -s -o "$T/chat" -w '%{http_code}' --max-time 60 -H 'Content-Type: application/json' -d "$chat" "$url/v1/chat/completions")
	[ "$code" = 200 ] || bad "chat completion answered $code: $(head -c 300 "$T/chat")"
	grep -q 'Echo: Hello from the install test' "$T/chat" ||
		bad "chat completion did not carry the echo: $(head -c 300 "$T/chat")"
	# CDN mode logs the manifest in the workspace, written under UMask=0077.
	if [ -f /var/lib/privatemode/manifests/log.txt ]; then
		check_file /var/lib/privatemode/manifests/log.txt 600 privatemode:privatemode
	else
		todo "no manifest log in /var/lib/privatemode/manifests after an attested request"
	fi
fi

# Type=notify readiness.
if grep -aq 'READY=1' /usr/sbin/privatemoded; then
	if [ -z "$NOTIFY" ]; then
		todo "no python3 to listen on NOTIFY_SOCKET; readiness not checked"
	else
		for i in $(seq 1 300); do grep -q '^READY=1' "$T/notify.log" 2>/dev/null && break; sleep 0.1; done
		grep -q '^READY=1' "$T/notify.log" 2>/dev/null ||
			bad "the daemon sent no READY=1 on NOTIFY_SOCKET (got: $(tr '\n' ' ' <"$T/notify.log" 2>/dev/null))"
	fi
else
	todo "the daemon does not send READY=1 yet (Type=notify would time out under systemd)"
fi

# ExecReload=/bin/kill -HUP $MAINPID
kill -HUP "$PM_PID"
for i in $(seq 1 100); do grep -q "configuration reloaded" "$T/daemon.log" && break; sleep 0.1; done
grep -q "configuration reloaded" "$T/daemon.log" || bad "SIGHUP did not reload the configuration"
sleep 0.5
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/healthz")
[ "$code" = 200 ] || bad "/healthz answered $code after the reload"

# KillMode=mixed: SIGTERM to the parent only; it must be gone well within
# TimeoutStopSec=, children included.
kids=$(pgrep -P "$PM_PID" | tr '\n' ' ')
kill -TERM "$PM_PID"
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' /lib/systemd/system/privatemoded.service)
for i in $(seq 1 $(( ${stop:-40} * 10 ))); do kill -0 "$PM_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PM_PID" 2>/dev/null; then
	bad "the daemon did not exit within TimeoutStopSec=${stop}s of SIGTERM"
else
	wait "$PM_PID"
	st=$?
	[ $st -eq 0 ] || bad "the daemon exited with status $st after SIGTERM"
	PM_PID=
fi
for p in $kids; do
	kill -0 "$p" 2>/dev/null && bad "child $p outlived the parent"
done
kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; SIM_PID=

# --- 4. purge ---------------------------------------------------------------
apt-get purge -y -q -o DPkg::Lock::Timeout=300 privatemoded >"$T/purge.log" 2>&1 ||
	{ cat "$T/purge.log" >&2; fail "apt-get purge failed"; }
rm -f "$MARK"
dpkg-query -W -f='${Status}' privatemoded 2>/dev/null | grep -qE " (installed|config-files)$" &&
	bad "dpkg still knows privatemoded after the purge"
for f in /usr/sbin/privatemoded /lib/systemd/system/privatemoded.service \
    /usr/share/man/man8/privatemoded.8.gz /usr/share/man/man8/privatemode-keyd.8.gz \
    /usr/share/man/man5/privatemode.conf.5.gz /usr/lib/sysusers.d/privatemoded.conf \
    /usr/lib/tmpfiles.d/privatemoded.conf /usr/share/doc/privatemoded \
    /etc/privatemode.conf /etc/privatemode /var/lib/privatemode \
    /etc/systemd/system/multi-user.target.wants/privatemoded.service; do
	[ ! -e "$f" ] && [ ! -L "$f" ] || bad "$f is left after the purge"
done
ls /var/lib/dpkg/info/privatemoded.* >/dev/null 2>&1 && bad "dpkg info files are left"
id privatemode >/dev/null 2>&1 || bad "the purge removed the system user (Debian keeps it)"

if [ ${#TODO[@]} -gt 0 ]; then
	note "${#TODO[@]} check(s) wait for daemon features (TODO lines above)"
fi
finish "built, linted, installed, ran as the unit does, purged in $(( $(date +%s) - t0 ))s"
