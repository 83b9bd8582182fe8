#!/bin/sh
# make soak: see bench/README.md ("soak").
#   soak.sh TOP_SRCDIR DAEMON NODE
# Runs as root (the daemon drops to its user; the memory scan reads
# /proc/<pid>/mem of non-dumpable processes).  SOAK_MINUTES (default 30)
# and the other SOAK_* variables are read by soak.mjs.
set -eu
top=${1:?srcdir}
daemon=${2:?daemon binary}
node=${3:-$(command -v node || true)}
[ -n "$node" ] || { echo "soak: node not found" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "soak: run as root" >&2; exit 1; }
# The simulator's AMD chain is trusted only with test_trust_any_amd_root,
# which a build without --enable-test-hooks refuses.
"$daemon" -V | grep -q "test hooks" ||
	{ echo "soak: $daemon has no test hooks: use a build configured with --enable-test-hooks" >&2; exit 1; }
[ -f "$top/tests/node_modules/@hpke/core/package.json" ] ||
	{ echo "soak: run 'cd tests && npm ci' first (the simulator needs it)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || :
exec "$node" "$top/bench/soak/soak.mjs" "$top" "$daemon"
