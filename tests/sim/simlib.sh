# Shell helpers around the simulator, sourced (POSIX sh) by tests/sim/demo.sh
# and the shell tests that drive a daemon against it.
#
#   sim_start NODE TOPSRC OUT [sim.mjs options]
#	Starts tests/sim/sim.mjs in the background with its JSON line going
#	to OUT (stderr is the caller's: redirect the call); sets SIM_PID and
#	SIM_OUT.  Returns 0 once the line is there, 1 if the simulator exits
#	first or has not written it after SIM_START_TIMEOUT seconds (default
#	600), saying which on stderr.  The wait is for the line: a fresh
#	state directory means three RSA-4096 keys, a few seconds alone and
#	minutes on a loaded machine (60 s ran out), so the bound is only for
#	a hang.
#   sim_field KEY
#	A field of that line, dotted for nesting (trust_anchors.Genoa.ark);
#	empty when absent.

sim_start() {
	SIM_NODE=$1
	SIM_OUT=$3
	_sim_js=$2/tests/sim/sim.mjs
	shift 3
	: >"$SIM_OUT"
	"$SIM_NODE" "$_sim_js" "$@" >"$SIM_OUT" &
	SIM_PID=$!
	_sim_end=$(($(date +%s) + ${SIM_START_TIMEOUT:-600}))
	while [ ! -s "$SIM_OUT" ]; do
		if ! kill -0 "$SIM_PID" 2>/dev/null; then
			wait "$SIM_PID"
			echo "sim_start: the simulator exited with status $? before its JSON line" >&2
			return 1
		fi
		if [ "$(date +%s)" -ge "$_sim_end" ]; then
			echo "sim_start: no JSON line from the simulator (pid $SIM_PID) after ${SIM_START_TIMEOUT:-600} s" >&2
			return 1
		fi
		sleep 0.1
	done
}

sim_field() {
	"$SIM_NODE" -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0]);
	    const v = process.argv[2].split(".").reduce((o, k) => o?.[k], j);
	    process.stdout.write(v == null ? "" : String(v));' "$SIM_OUT" "$1"
}
