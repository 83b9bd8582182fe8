# shellcheck shell=sh
# Sourced (POSIX sh) by the shell wrappers that run Node.js: the demo,
# the simulator's, end-to-end, Kubernetes and crypto interop tests, and
# the shell tests that start the simulated deployment.
#
#   node_find
#	Sets NODE to the Node.js to run: PM_NODE when that runs, else node
#	on PATH.  Returns 1 when neither runs (the caller skips or fails).
#
#   node_compat NODE TOP_SRCDIR
#	Returns 1 (with a message) for a Node.js older than 18.  Below 20
#	(Debian 12's nodejs is 18) it adds "--require
#	TOP_SRCDIR/tests/node18.cjs" to NODE_OPTIONS, which every node
#	process the caller starts inherits.
#
# Why: the simulator runs on Node 18 as it is, but two test peers expect
# globals Node 18 lacks: @noble/post-quantum (the spec-written test
# client, the interop peer) globalThis.crypto, and the openai SDK's file
# uploads globalThis.File; tests/node18.cjs defines both from Node 18's
# own node:crypto and node:buffer.  The @noble packages declare "node >=
# 20.19" because that is where CommonJS code can load an ESM-only package
# (their README); our tests are ES modules and import them.  With the
# preload, every test tier passes on Node 18.

node_find() {
	NODE=${PM_NODE:-}
	if [ -z "$NODE" ] || ! "$NODE" --version >/dev/null 2>&1; then
		NODE=$(command -v node 2>/dev/null || true)
	fi
	[ -n "$NODE" ] && "$NODE" --version >/dev/null 2>&1
}

node_compat() {
	_nc_major=$("$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null) ||
		_nc_major=0
	if [ "$_nc_major" -lt 18 ]; then
		echo "Node.js $("$1" --version 2>/dev/null || echo '(not runnable)') at $1 is too old: 18 or newer is needed" >&2
		return 1
	fi
	[ "$_nc_major" -lt 20 ] || return 0
	case ${NODE_OPTIONS:-} in
	*/tests/node18.cjs*) ;;
	*)
		# Quoted for node, which splits NODE_OPTIONS on blanks
		# outside double quotes.
		# shellcheck disable=SC2089,SC2090
		NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--require \"$2/tests/node18.cjs\""
		# shellcheck disable=SC2090
		export NODE_OPTIONS
		;;
	esac
}
