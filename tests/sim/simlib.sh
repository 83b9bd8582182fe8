# Shell helpers around the simulator, sourced (POSIX sh) by tests/sim/demo.sh
# and the shell tests that drive a daemon against it.
#
#   sim_start NODE TOPSRC OUT [sim.mjs options]
#	Starts tests/sim/sim.mjs in the background with its JSON line going
#	to OUT (stderr is the caller's: redirect the call); sets SIM_PID and
#	SIM_OUT.  Returns 0 once the line is there, 1 if the simulator exits
#	first or takes over 10 minutes.  The first start generates the PKI
#	(three RSA-4096 keys): seconds on an idle machine, over a minute on a
#	loaded one, so the wait is on the simulator, not a short clock.
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
	_sim_i=0
	while [ ! -s "$SIM_OUT" ]; do
		kill -0 "$SIM_PID" 2>/dev/null || return 1
		_sim_i=$((_sim_i + 1))
		[ "$_sim_i" -lt 6000 ] || return 1
		sleep 0.1
	done
}

sim_field() {
	"$SIM_NODE" -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0]);
	    const v = process.argv[2].split(".").reduce((o, k) => o?.[k], j);
	    process.stdout.write(v == null ? "" : String(v));' "$SIM_OUT" "$1"
}
