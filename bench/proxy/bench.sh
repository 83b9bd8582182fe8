#!/bin/sh
# make bench-proxy: see bench/README.md.
#   bench.sh TOP_SRCDIR DAEMON NODE
# Needs nginx and wrk: installed with apt-get (Debian packages nginx-light
# or nginx, and wrk) when missing and running as root; otherwise it fails
# and says so.
set -eu
top=${1:?srcdir}
daemon=${2:?daemon binary}
node=${3:-$(command -v node || true)}
[ -n "$node" ] || { echo "bench-proxy: node not found" >&2; exit 1; }
# The simulator's AMD chain is trusted only with test_trust_any_amd_root,
# which a build without --enable-test-hooks refuses.
"$daemon" -V | grep -q "test hooks" ||
	{ echo "bench-proxy: $daemon has no test hooks: benchmark a build configured with --enable-test-hooks (same code, plus the hooks)" >&2; exit 1; }
[ -f "$top/tests/node_modules/@hpke/core/package.json" ] ||
	{ echo "bench-proxy: run 'cd tests && npm ci' first (the simulator needs it)" >&2; exit 1; }
need=
command -v wrk >/dev/null 2>&1 || need="$need wrk"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$need nginx-light"
if [ -n "$need" ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "bench-proxy: installing$need (apt-get)" >&2
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >&2
	else
		echo "bench-proxy: needs$need (Debian: apt-get install$need)" >&2
		exit 1
	fi
fi
PATH=$PATH:/usr/sbin
export PATH
# 1000 idle streams: two descriptors each in the proxy, more in the
# simulator and the client.  The daemon raises its own soft limit to the
# hard limit at start; the client and the simulator inherit this one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || :
exec "$node" "$top/bench/proxy/bench.mjs" "$top" "$daemon"
