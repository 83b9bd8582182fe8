#!/bin/bash
# The unit's SystemCallFilter= lets the daemon work: start the built
# daemon the way the unit does (as its User=, with only the capabilities
# the unit grants, no_new_privs) under strace -f, against the simulated
# deployment (tests/sim), through start-up (chroot, keyd's sandbox,
# attestation, key exchange, manifest log, KDS cache), requests (models,
# chat, streams, metrics), a reload and a drain, and check that every
# system call any of its processes made is in the unit's filter (groups
# expanded with systemd-analyze syscall-filter).  Under systemd a call
# outside it would fail with EPERM (SystemCallErrorNumber=).  Tier
# "package" (root: strace of a process that changes its ids).
. "$PM_TOP_SRCDIR/tests/ops/lib.sh"
. "$PM_TOP_SRCDIR/tests/sim/simlib.sh"
require_tier package
require_debian
[ "$(id -u)" -eq 0 ] || skip "needs root (starts the daemon as the unit's user)"
require_tool strace
require_tool setpriv
require_tool systemd-analyze "package systemd"
require_tool curl
[ -x "$PM_BIN" ] || fail "$PM_BIN not built"
"$PM_BIN" -V | grep -q "sandbox seccomp" ||
	skip "not a production-shaped build ($("$PM_BIN" -V)): sanitizer builds make other system calls"
# The simulated deployment's AMD chain needs test_trust_any_amd_root, which
# a build without test hooks refuses.
"$PM_BIN" -V | grep -q "test hooks" ||
	skip "needs a --enable-test-hooks build to attest the simulated deployment"
. "$TOP_SRC/tests/nodecompat.sh"
node_find || skip "node not found (the simulated deployment needs it)"
[ -f "$TOP_SRC/tests/node_modules/@hpke/core/package.json" ] ||
	fail "tests/node_modules missing: run 'cd tests && npm ci'"
RUN_USER=$(unit_get User)
[ -n "$RUN_USER" ] || fail "the unit has no User="
id "$RUN_USER" >/dev/null 2>&1 ||
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin "$RUN_USER" || fail "cannot create user $RUN_USER"

T=$(mktemp -d "${TMPDIR:-/tmp}/pm-syscalls.XXXXXX")
chmod 755 "$T"
PM_PID=
STRACE_PID=
SIM_PID=
cleanup() {
	local st=$?
	kill_tree "$PM_PID"
	[ -z "$STRACE_PID" ] || kill "$STRACE_PID" 2>/dev/null
	[ -z "$SIM_PID" ] || kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	cleanup_tmp $st
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

# --- run the daemon under strace, started as the unit starts it -----------
# The simulated deployment, so that attestation, the key exchange, the
# manifest log and the KDS cache run too.
mkdir -p "$T/sim" "$T/ws" "$T/empty" "$T/amd"
chmod 755 "$T/empty"
cp "$TOP_SRC"/data/amd/milan-cert-chain.pem "$TOP_SRC"/data/amd/turin-cert-chain.pem "$T/amd/"
chmod 755 "$T/amd"
chmod 644 "$T"/amd/*
chown "$RUN_USER:$RUN_USER" "$T/ws"
sim_start "$NODE" "$TOP_SRC" "$T/sim.json" --state-dir "$T/sim" --quiet 2>"$T/sim.err" ||
	{ cat "$T/sim.err" >&2; fail "simulator did not start"; }
chmod -R a+rX "$T/sim"
sim_field api_key >"$T/api-key"
chown "$RUN_USER" "$T/api-key"
chmod 0400 "$T/api-key"
{
	echo "api_key @$T/api-key"
	echo "api_endpoint $(sim_field api_endpoint)"
	echo "cdn_base_url $(sim_field cdn_base_url)"
	echo "ca_file $(sim_field ca_file)"
	echo "amd_cert_chain_genoa $(sim_field trust_anchors.Genoa.cert_chain)"
	# Not /etc/privatemode/amd/ (the machine's; install.sh writes
	# there), and copies of the tree's: a clone below a 0700 home is
	# not the daemon user's to read.
	echo "amd_cert_chain_milan $T/amd/milan-cert-chain.pem"
	echo "amd_cert_chain_turin $T/amd/turin-cert-chain.pem"
	echo "test_trust_any_amd_root yes"
	echo "test_kds_base_url $(sim_field kds_base_url)"
	echo "listen 127.0.0.1:0"
	echo "metrics_listen 127.0.0.1:0"
	echo "workers 2"
	echo "workspace $T/ws"
	echo "chroot_dir $T/empty"
	echo "shutdown_timeout 5s"
} >"$T/privatemode.conf"
chmod 0644 "$T/privatemode.conf"

# As the unit: the user, only the capabilities the unit grants (bounding
# and ambient), no_new_privs, UMask=.  strace also sees setpriv's own
# calls before it executes the daemon; those are dropped below.
bset=-all
for c in $(unit_get CapabilityBoundingSet); do c=${c#CAP_}; bset="$bset,+${c,,}"; done
amb=
for c in $(unit_get AmbientCapabilities); do c=${c#CAP_}; amb="$amb${amb:+,}+${c,,}"; done
(
	umask "$(unit_get UMask)"
	cd /
	exec strace -f -qq -o "$T/trace" -- setpriv --reuid="$RUN_USER" --regid="$RUN_USER" \
	    --init-groups --inh-caps="-all${amb:+,$amb}" ${amb:+--ambient-caps="$amb"} \
	    --bounding-set="$bset" --no-new-privs -- \
	    "$PM_BIN" -F -f "$T/privatemode.conf"
) >"$T/daemon.log" 2>&1 &
STRACE_PID=$!
# Every step below waits for its event with a bound only a hang reaches:
# under strace -f every system call stops the process for the tracer, and
# on a loaded machine start-up and attestation take many times their
# usual second (issue 16: a fixed 30 s for /readyz ran out while the log
# showed the keyds attested).
alive() { kill -0 "$STRACE_PID" 2>/dev/null; }
listening() {
	alive || fail "the daemon exited at start-up"
	grep -q 'listening on 127\.0\.0\.1:[0-9]*$' "$T/daemon.log"
}
wait_until "the listener" 180 listening || fail "the daemon never listened"
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/daemon.log" | head -1)
mport=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (metrics).*/\1/p' "$T/daemon.log" | head -1)
PM_PID=$(sed -n 's/.*parent pid \([0-9]*\).*/\1/p' "$T/daemon.log" | head -1)
[ -n "$PM_PID" ] || PM_PID=$(pgrep -P "$STRACE_PID" | head -1)
[ "$(awk '/^Uid:/ { print $2 }' /proc/$PM_PID/status)" = "$(id -u "$RUN_USER")" ] ||
	fail "the daemon does not run as $RUN_USER"
url="http://127.0.0.1:$port"
# /readyz asks the keyd of the worker that took the connection: ready once
# every keyd of the generation logged its secret (N of them in all so far).
established() {
	alive || fail "the daemon exited"
	[ "$(grep -c 'inference secret .* established' "$T/daemon.log")" -ge "$1" ]
}
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$url/readyz")" = 200 ]; }
# Why not ready: the keyds' attestation lines and /readyz's detail.
not_ready() {
	bad "$1"
	grep -E 'secret|attest|keyd\[[0-9]*\].*(fail|error)' "$T/daemon.log" | tail -20 >&2
	[ -z "$mport" ] ||
		echo "metrics /readyz: $(curl -s --max-time 30 "http://127.0.0.1:$mport/readyz")" >&2
}
if wait_until "both keyds' secrets" 300 established 2; then
	# The keyds answer for themselves: ready at once (a few tries cover
	# a worker between accept and its keyd's answer, not a clock).
	wait_until "/readyz 200" 60 ready ||
		not_ready "/readyz not 200 although both keyds logged their secret"
else
	not_ready "the keyds did not attest against the simulated deployment"
fi
chat='{"model":"gpt-oss-120b","messages":[{"role":"user","content":"syscalls"}]}'
stream='{"model":"gpt-oss-120b","stream":true,"messages":[{"role":"user","content":"syscalls"}]}'
# --max-time: only against a hang (strace and a loaded machine are slow).
exercise() {
	local i
	for i in 1 2 3; do
		curl -s -o /dev/null --max-time 60 "$url/healthz"
		curl -s -o /dev/null --max-time 60 "$url/readyz"
		curl -s -o /dev/null --max-time 60 "$url/no/such/route"
		curl -s -o /dev/null --max-time 120 "$url/v1/models"
		curl -s -o "$T/chat.$i" --max-time 120 -H 'Content-Type: application/json' -d "$chat" "$url/v1/chat/completions"
		curl -sN -o /dev/null --max-time 120 -H 'Content-Type: application/json' -d "$stream" "$url/v1/chat/completions"
		[ -z "$mport" ] || curl -s -o /dev/null --max-time 60 "http://127.0.0.1:$mport/metrics"
	done
}
exercise
for i in 1 2 3; do
	grep -q 'Echo: syscalls' "$T/chat.$i" ||
		bad "chat completion $i through the daemon: $(head -c 300 "$T/chat.$i")"
done
kill -HUP "$PM_PID"
reloaded() { grep -q "configuration reloaded" "$T/daemon.log"; }
wait_until "the reload" 120 reloaded || bad "no reload"
# The new generation's two keyds attest afresh; the old pairs drain once
# the new workers serve, so /readyz is the new keyds' from then on.
if wait_until "the new keyds' secrets" 300 established 4; then
	wait_until "/readyz 200 after the reload" 60 ready ||
		not_ready "/readyz not 200 after the reload"
else
	not_ready "the new generation's keyds did not attest"
fi
exercise
kill -TERM "$PM_PID"
exited() { ! kill -0 "$STRACE_PID" 2>/dev/null; }
# shutdown_timeout 5s bounds the drain; the rest is strace's pace.
wait_until "the exit after SIGTERM" 120 exited ||
	fail "the daemon did not exit after SIGTERM"
wait "$STRACE_PID"
st=$?
STRACE_PID=
PM_PID=
[ $st -eq 0 ] || bad "the daemon exited with status $st"
grep -q "seccomp violation" "$T/daemon.log" && bad "a child died of a seccomp violation"

# --- compare -----------------------------------------------------------------
# Everything after setpriv executed the daemon (the first process's calls
# before that execve are setpriv's, which systemd does itself).
awk -v bin="$PM_BIN" '
	NR == 1 { first = $1 }
	$1 == first && !started {
		if (index($0, "execve(\"" bin "\"") == 0) next
		started = 1
	}
	{ print }' "$T/trace" >"$T/trace.daemon"
grep -q . "$T/trace.daemon" || fail "no execve of $PM_BIN in the trace"
sed -n 's/^[0-9]\{1,\} \{1,\}\([a-z_][a-z0-9_]*\)(.*/\1/p' "$T/trace.daemon" | sort -u >"$T/used"
[ "$(wc -l <"$T/used")" -gt 20 ] || fail "strace recorded only $(wc -l <"$T/used") system calls"
missing=$(comm -23 "$T/used" "$T/allowed" | tr '\n' ' ')
[ -z "$missing" ] ||
	bad "system calls the daemon made that the unit's SystemCallFilter= refuses: $missing"
note "used: $(tr '\n' ' ' <"$T/used")"
finish "$(wc -l <"$T/used") distinct system calls, all within the unit's filter ($(wc -l <"$T/allowed") allowed)"
