#!/bin/sh
# make check: the simulator's self-tests (node's test runner, TAP output).
# Exit 77 (skip) only when node itself is missing; missing npm packages are
# a failure, because CI installs them (scripts/install-deps).
set -u
top=${PM_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/nodecompat.sh"
node_find || { echo "SKIP: node not found"; exit 77; }
case " ${PM_TEST_TIERS:-node} " in
*" node "* | *" sim "*) ;;
*) echo "SKIP: node tier not selected (PM_TEST_TIERS=$PM_TEST_TIERS)"; exit 77 ;;
esac
node_compat "$NODE" "$top" || exit 1
for m in @hpke/core @hpke/hybridkem-x-wing @noble/post-quantum; do
	if [ ! -f "$top/tests/node_modules/$m/package.json" ]; then
		echo "FAIL: $top/tests/node_modules/$m is missing: run 'cd tests && npm ci'" >&2
		exit 1
	fi
done
command -v openssl >/dev/null 2>&1 || { echo "FAIL: openssl CLI not found (the simulator's PKI needs it)" >&2; exit 1; }

state=$(mktemp -d "${TMPDIR:-/tmp}/pm-sim-test.XXXXXX")
trap 'rm -rf "$state"' EXIT
trap 'exit 130' INT TERM
# Generate the PKI once before the test files start simulators in parallel.
"$NODE" "$top/tests/sim/sim.mjs" --state-dir "$state" --setup-only --quiet >/dev/null || exit 1
SIM_STATE_DIR=$state PM_VECTORS=${PM_VECTORS:-$top/tests/vectors} \
	"$NODE" --test --test-concurrency=2 --test-reporter=tap "$top"/tests/sim/test/*.test.mjs
