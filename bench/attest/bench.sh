#!/bin/sh
# make bench-attest: see bench/README.md.
#   bench.sh TOP_SRCDIR DAEMON NODE [BENCH_ATTEST_BINARY]
set -eu
top=${1:?srcdir}
daemon=${2:?daemon binary}
node=${3:-$(command -v node || true)}
[ -n "$node" ] || { echo "bench-attest: node not found" >&2; exit 1; }
# The simulator's AMD chain is trusted only with test_trust_any_amd_root,
# which a build without --enable-test-hooks refuses.
"$daemon" -V | grep -q "test hooks" ||
	{ echo "bench-attest: $daemon has no test hooks: benchmark a build configured with --enable-test-hooks (same code, plus the hooks)" >&2; exit 1; }
[ -f "$top/tests/node_modules/@hpke/core/package.json" ] ||
	{ echo "bench-attest: run 'cd tests && npm ci' first (the simulator needs it)" >&2; exit 1; }
exec "$node" "$top/bench/attest/bench.mjs" "$top" "$daemon" ${4:+"$4"}
