# Sourced (POSIX sh) by the shell wrappers that run Node.js: the demo
# (tests/sim/demo.sh), the simulator's self-tests (tests/sim/sim.sh), the
# end-to-end tests (tests/e2e/e2e.sh) and the crypto interop
# (tests/crypto/interop.sh).
#
#   node_compat NODE
#	Returns 1 (with a message) for a Node.js older than 18.  On Node 18
#	(Debian 12's nodejs) it adds --experimental-global-webcrypto to
#	NODE_OPTIONS, which every node process the caller starts inherits.
#
# Why: the simulator runs on Node 18 as it is, but @noble/post-quantum
# and its @noble/* dependencies (the spec-written test client, the
# interop peer) take their randomness from globalThis.crypto, which Node
# 18 defines only behind that flag (Node 19 turned it on for good).  They
# declare "node >= 20.19" because that is where CommonJS code can load an
# ESM-only package (their README); our tests are ES modules and import
# them.  With the flag, every test tier passes on Node 18.

node_compat() {
	_nc_major=$("$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null) ||
		_nc_major=0
	if [ "$_nc_major" -lt 18 ]; then
		echo "Node.js $("$1" --version 2>/dev/null || echo '(not runnable)') at $1 is too old: 18 or newer is needed" >&2
		return 1
	fi
	[ "$_nc_major" -lt 19 ] || return 0
	case " ${NODE_OPTIONS:-} " in
	*" --experimental-global-webcrypto "*) ;;
	*)
		NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--experimental-global-webcrypto"
		export NODE_OPTIONS
		;;
	esac
}
