#!/bin/bash
# The unit's SystemCallFilter= lets the daemon work: run the built daemon
# under strace -f through start-up (privilege drop, chroot, keyd's
# sandbox), requests, a reload and a drain, and check that every system
# call any of its processes made is in the unit's filter (groups expanded
# with systemd-analyze syscall-filter).  Under systemd a call outside it
# would fail with EPERM (SystemCallErrorNumber=).  Tier "package" (root).
. "$PM_TOP_SRCDIR/tests/ops/lib.sh"
require_tier package
require_debian
[ "$(id -u)" -eq 0 ] || skip "needs root (privilege drop, chroot)"
require_tool strace
require_tool systemd-analyze "package systemd"
require_tool curl
[ -x "$PM_BIN" ] || fail "$PM_BIN not built"
"$PM_BIN" -V | grep -q "sandbox seccomp" ||
	skip "not a production-shaped build ($("$PM_BIN" -V)): sanitizer builds make other system calls"
id privatemode >/dev/null 2>&1 ||
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin privatemode || fail "cannot create user privatemode"

T=$(mktemp -d "${TMPDIR:-/tmp}/pm-syscalls.XXXXXX")
chmod 755 "$T"
PM_PID=
STRACE_PID=
cleanup() {
	local st=$? p
	if [ -n "$PM_PID" ] && kill -0 "$PM_PID" 2>/dev/null; then
		for p in $(pgrep -P "$PM_PID"); do kill -KILL "$p" 2>/dev/null; done
		kill -KILL "$PM_PID" 2>/dev/null
	fi
	[ -z "$STRACE_PID" ] || kill "$STRACE_PID" 2>/dev/null
	wait 2>/dev/null
	if [ $st -ne 0 ] && [ -f "$T/daemon.log" ]; then
		echo "--- daemon log (last 30 lines) ---" >&2
		tail -30 "$T/daemon.log" >&2
	fi
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
	exit $st
}
trap cleanup EXIT

# --- the unit's filter, expanded -----------------------------------------
systemd-analyze syscall-filter --no-pager >"$T/groups" 2>/dev/null ||
	fail "systemd-analyze syscall-filter failed"
# group<TAB>member lines (member: a syscall or @group)
awk '/^@/ { g = $1; next } g != "" && $1 !~ /^#/ && NF == 1 { print g "\t" $1 }' \
    "$T/groups" >"$T/members"
expand() {	# expand @group... or syscall... to syscalls
	awk -F'\t' -v want="$*" '
	{ m[$1] = m[$1] " " $2 }
	function ex(x,   n, a, i) {
		if (x !~ /^@/) { out[x] = 1; return }
		if (seen[x]++) return
		n = split(m[x], a, " ")
		for (i = 1; i <= n; i++) ex(a[i])
	}
	END { n = split(want, w, " "); for (i = 1; i <= n; i++) ex(w[i])
	      for (s in out) print s }' "$T/members" | sort -u
}
: >"$T/allowed"
first=1
while read -r line; do
	if [[ $line == "~"* ]]; then
		expand ${line#\~} >"$T/deny"
		comm -23 "$T/allowed" "$T/deny" >"$T/allowed.new"
		mv "$T/allowed.new" "$T/allowed"
	else
		[ $first -eq 1 ] || note "note: more than one allow line"
		expand $line >>"$T/allowed"
		sort -u -o "$T/allowed" "$T/allowed"
	fi
	first=0
done < <(unit_get SystemCallFilter)
[ "$(wc -l <"$T/allowed")" -gt 100 ] || fail "could not expand the unit's SystemCallFilter= ($(wc -l <"$T/allowed") calls)"

# --- run the daemon under strace ---------------------------------------------
mkdir -p "$T/ws"
cat >"$T/privatemode.conf" <<EOF
listen 127.0.0.1:0
workers 2
workspace $T/ws
shutdown_timeout 5s
metrics_listen 127.0.0.1:0
EOF
(umask 0077; exec strace -f -qq -o "$T/trace" "$PM_BIN" -F -f "$T/privatemode.conf") \
    >"$T/daemon.log" 2>&1 &
STRACE_PID=$!
port=
for i in $(seq 1 200); do
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/daemon.log" | head -1)
	[ -n "$port" ] && break
	kill -0 "$STRACE_PID" 2>/dev/null || fail "the daemon exited at start-up"
	sleep 0.1
done
[ -n "$port" ] || fail "the daemon never listened"
PM_PID=$(sed -n 's/.*parent pid \([0-9]*\).*/\1/p' "$T/daemon.log" | head -1)
[ -n "$PM_PID" ] || PM_PID=$(pgrep -P "$STRACE_PID" | head -1)
url="http://127.0.0.1:$port"
up() {	# every pair configured and keyd sandboxed
	[ "$(grep -c 'keyd\[[0-9]*\]: sandbox .* on' "$T/daemon.log")" -ge "$1" ] 2>/dev/null ||
	    [ "$(pgrep -P "$PM_PID" | wc -l)" -ge 4 ]
}
for i in $(seq 1 200); do
	curl -sf -o /dev/null --max-time 2 "$url/healthz" && break
	sleep 0.1
done
curl -sf -o /dev/null --max-time 5 "$url/healthz" || fail "/healthz does not answer"
for i in 1 2 3; do
	curl -s -o /dev/null --max-time 5 "$url/healthz"
	curl -s -o /dev/null --max-time 10 "$url/readyz"
	curl -s -o /dev/null --max-time 5 "$url/no/such/route"
	curl -s -o /dev/null --max-time 5 -H 'Content-Type: application/json' -d '{"model":"m"}' "$url/v1/chat/completions"
done
kill -HUP "$PM_PID"
for i in $(seq 1 200); do grep -q "configuration reloaded" "$T/daemon.log" && break; sleep 0.1; done
grep -q "configuration reloaded" "$T/daemon.log" || bad "no reload"
sleep 1
curl -s -o /dev/null --max-time 5 "$url/healthz"
curl -s -o /dev/null --max-time 10 "$url/readyz"
kill -TERM "$PM_PID"
for i in $(seq 1 300); do kill -0 "$STRACE_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$STRACE_PID" 2>/dev/null && fail "the daemon did not exit after SIGTERM"
wait "$STRACE_PID"
st=$?
STRACE_PID=
PM_PID=
[ $st -eq 0 ] || bad "the daemon exited with status $st"
grep -q "seccomp violation" "$T/daemon.log" && bad "a child died of a seccomp violation"

# --- compare -----------------------------------------------------------------
sed -n 's/^[0-9]\{1,\} \{1,\}\([a-z_][a-z0-9_]*\)(.*/\1/p' "$T/trace" | sort -u >"$T/used"
[ "$(wc -l <"$T/used")" -gt 20 ] || fail "strace recorded only $(wc -l <"$T/used") system calls"
missing=$(comm -23 "$T/used" "$T/allowed" | tr '\n' ' ')
[ -z "$missing" ] ||
	bad "system calls the daemon made that the unit's SystemCallFilter= refuses: $missing"
note "used: $(tr '\n' ' ' <"$T/used")"
finish "$(wc -l <"$T/used") distinct system calls, all within the unit's filter ($(wc -l <"$T/allowed") allowed)"
