#!/bin/bash
# The daemon runs from a tree its user cannot traverse, as a checkout
# under /root (mode 0700) is: the binary, the configuration, the API key,
# the chroot directory and the workspace are all below a mode 0700
# directory.  The children, which run as the unprivileged user, enter the
# chroot through the descriptor the parent opened as root: they serve,
# are chrooted into that directory, keep no descriptor to it, are never
# respawned; with the simulator (tests/sim) a chat completion goes through
# the demo's configuration.
# Then the other half: when every child of the first generation dies the
# same way during its set-up (here keyd cannot load a garbage CA bundle),
# the parent stops with one message saying so instead of respawning them
# for ever; after a reload into the same failure, the running generation
# keeps serving and the parent says why the new one cannot start.
. "$(dirname "$0")/lib.sh"
require_root
. "$TOP_SRC/tests/sim/simlib.sh"
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"

H=$T/home	# like /root
mkdir -m 700 "$H"
B=$H/src/privatemoded/build
mkdir -p "$B/demo/empty" "$B/demo/workspace"
chmod 755 "$B/demo/empty"
chown privatemode "$B/demo/workspace"
cp "$PM_BIN" "$B/privatemoded"
PM_BIN=$B/privatemoded
# The premise: the daemon's user cannot reach any of it by its path.
if setpriv --reuid=privatemode --regid=privatemode --clear-groups \
    test -e "$B/demo/empty"; then
	fail "privatemode can traverse $H: the test proves nothing"
fi
sandbox=$("$PM_BIN" -V | sed -n 's/.*sandbox \([a-z]*\).*/\1/p')

sim=no
. "$TOP_SRC/tests/nodecompat.sh"
if node_find && [ -f "$TOP_SRC/tests/node_modules/@hpke/hybridkem-x-wing/package.json" ]; then
	node_compat "$NODE" "$TOP_SRC" || fail "unsupported node"
	sim_start "$NODE" "$TOP_SRC" "$B/demo/sim.json" --state-dir "$B/demo/sim" \
	    2>"$T/sim.err" || fail "simulator did not start: $(cat "$T/sim.err")"
	sim=yes
	sim_stop() { kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; }
	trap 'st=$?; sim_stop; (exit $st); cleanup' EXIT
fi

PM_CONF=$B/demo/privatemode.conf
{
	echo "listen 127.0.0.1:0"
	echo "metrics_listen none"
	echo "workers 2"
	echo "workspace $B/demo/workspace"
	echo "chroot_dir $B/demo/empty"
	if [ $sim = yes ]; then
		sim_field api_key >"$B/demo/api-key"
		chmod 600 "$B/demo/api-key"
		echo "api_key @$B/demo/api-key"
		echo "api_endpoint $(sim_field api_endpoint)"
		echo "cdn_base_url $(sim_field cdn_base_url)"
		echo "ca_file $(sim_field ca_file)"
		echo "amd_cert_chain_genoa $(sim_field trust_anchors.Genoa.cert_chain)"
		echo "test_trust_any_amd_root yes"
		echo "test_kds_base_url $(sim_field kds_base_url)"
	fi
} >"$PM_CONF"
cp "$PM_CONF" "$T/good.conf"
pm_start

for pid in $(children worker) $(children keyd); do
	[ ! -e "/proc/$pid/fd/63" ] ||
		fail "child $pid still holds descriptor 63 ($(readlink "/proc/$pid/fd/63"))"
	# The sanitizer build has no sandbox and turns chroot into chdir.
	[ "$sandbox" = seccomp ] || continue
	[ "$(readlink "/proc/$pid/root")" = "$B/demo/empty" ] ||
		fail "child $pid root is $(readlink "/proc/$pid/root"), not $B/demo/empty"
done
chat=
if [ $sim = yes ]; then
	ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$(pm_url /readyz)")" = 200 ]; }
	wait_for "readyz 200 (attested through the simulator)" ready
	out=$(curl -s --max-time 30 "$(pm_url /v1/chat/completions)" \
	    -H 'Content-Type: application/json' \
	    -d '{"model":"gpt-oss-120b","messages":[{"role":"user","content":"from a 0700 tree"}]}')
	case $out in
	*'Echo: from a 0700 tree'*) ;;
	*) fail "chat completion: $out" ;;
	esac
	chat=", a chat completion through the simulator"
fi
log_has "respawning" && fail "children were respawned"
log_has "is not writable" && fail "the parent thinks it cannot write the workspace"
[ $sim = no ] || [ -s "$B/demo/workspace/manifests/log.txt" ] ||
	fail "no manifest log in the workspace"
log_has "chroot .*: " && fail "a chroot failed"

# A reload into a configuration every keyd dies of during set-up: the
# running generation keeps serving, and the parent says why.
echo "garbage" >"$T/bad-ca.pem"
grep -v '^ca_file ' "$T/good.conf" >"$PM_CONF"
echo "ca_file $T/bad-ca.pem" >>"$PM_CONF"
kill -HUP "$PM_PID"
wait_for "reload failure reported" log_has \
    "every worker/keyd pair of generation 2 exited with status 1 before it was ready, 3 times in a row; keyd: TLS client setup: .*: the previous generation keeps serving"
healthz_ok || fail "the running generation stopped serving"
pm_stop
[ "$PM_STATUS" -eq 0 ] || fail "exit status $PM_STATUS after the drain"

# The same failure at start: one fatal line, exit 1, no child left.
: >"$PM_LOG"
"$PM_BIN" -d -f "$PM_CONF" >"$PM_LOG" 2>&1 &
PM_PID=$!
for i in $(seq 1 300); do
	kill -0 "$PM_PID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$PM_PID" 2>/dev/null && fail "still running 30 s after its children started failing"
wait "$PM_PID"
st=$?
PM_PID=
[ "$st" -eq 1 ] || fail "exit status $st, want 1"
log_has "fatal: every worker/keyd pair exited with status 1 before it was ready, 3 times in a row; keyd: TLS client setup: .* giving up" ||
	fail "no fatal line naming the failure"
# Three attempts per pair; a fourth may have begun if the other pair's
# third death came late (a loaded machine), never more.
n=$(grep -c 'respawning worker\[0\]' "$PM_LOG")
[ "$n" -ge 2 ] && [ "$n" -le 3 ] || fail "pair 0 respawned $n times, want 2 (3 attempts)"
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/exe" 2>/dev/null)" != "$PM_BIN" ] ||
		fail "process ${p#/proc/} of $PM_BIN left behind"
done
pass "served from a mode 0700 tree (chroot by descriptor$chat); a set-up failure of every child stops the daemon at start and is reported after a reload"
