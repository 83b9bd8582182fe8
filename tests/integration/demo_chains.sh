#!/bin/bash
# make demo's script (tests/sim/demo.sh) starts the simulated deployment
# and the daemon, which attests and answers, and says nothing about a
# missing or refused AMD chain: the simulator's test PKI stands in for
# Genoa's, AMD's own chains from data/amd/ serve Milan and Turin.
. "$(dirname "$0")/lib.sh"
. "$TOP_SRC/tests/nodecompat.sh"
node_find || skip "node not found (the simulated deployment needs it)"
# make distcheck's tarball has no node_modules and selects no node tier:
# say so; anywhere else their absence is a broken set-up.
if [ ! -f "$TOP_SRC/tests/node_modules/@hpke/core/package.json" ]; then
	case " ${PM_TEST_TIERS-node} " in
	*" node "*) fail "tests/node_modules missing: run 'cd tests && npm ci'" ;;
	*) skip "no tests/node_modules and the node tier is not selected (PM_TEST_TIERS=$PM_TEST_TIERS): the demo's simulator cannot run" ;;
	esac
fi

# The demo takes a port and uses the next one for metrics: two free ones,
# below the kernel's ephemeral range, which the simulator's listeners and
# every outgoing connection draw from (a free port there can be taken
# before the demo binds it: "Address already in use" in a fresh root).
port=$(python3 -c '
import os, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
base = max(1024, lo - 10000)
half = max(1, (lo - 2 - base) // 2)
start = base + (os.getpid() % half) * 2
for p in list(range(start, lo - 1, 2)) + list(range(base, start, 2)):
    try:
        for q in (p, p + 1):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
        print(p); break
    except OSError:
        pass
') || fail "no free port pair"
PM_LOG=$T/demo.out
DEMO_STATE=$T/demo DEMO_PORT=$port PM_NODE=$NODE PM_TOP_SRCDIR=$TOP_SRC \
    PM_TOP_BUILDDIR=$TOP_BUILD sh "$TOP_SRC/tests/sim/demo.sh" >"$PM_LOG" 2>&1 &
demo=$!
PM_PORT=$port

ready() {
	[ -z "$PM_PID" ] && PM_PID=$(pgrep -P "$demo" -x privatemoded)
	kill -0 "$demo" 2>/dev/null || fail "the demo exited"
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$(pm_url /readyz)")" = 200 ]
}
# The demo generates its simulator's PKI first (three RSA-4096 keys):
# minutes on a loaded machine.
PM_WAIT_SECONDS=900 wait_for "the demo's daemon attests (/readyz 200)" ready
answer=$(curl -s --max-time 120 "$(pm_url /v1/chat/completions)" \
    -H 'Content-Type: application/json' \
    -d '{"model":"gpt-oss-120b","messages":[{"role":"user","content":"Hello"}]}')
[[ $answer == *'"content":"Echo: Hello"'* ]] || fail "chat completion: $answer"

for L in Genoa Milan Turin; do
	grep -q "info: $L: AMD certificate chain " "$PM_LOG" ||
		fail "the demo's daemon does not name its $L chain"
done
grep -E "no AMD certificate chain|AMD certificate chain .*refused|amd_cert_chain_[a-z]* .* does not exist" "$PM_LOG" &&
	fail "the demo warns about an AMD chain (above)"

[ -n "$PM_PID" ] || fail "no daemon under the demo"
kill -TERM "$PM_PID"
wait "$demo"
st=$?
PM_PID=
[ $st -eq 0 ] || fail "the demo ended with status $st after SIGTERM to the daemon"
pass "the demo attests and answers; its three AMD chains load without a warning"
