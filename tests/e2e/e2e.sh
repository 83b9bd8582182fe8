#!/bin/bash
# make check: end-to-end tests.  The real daemon (as root) against the real
# simulator (tests/sim) and the official SDK clients, with node's test
# runner, one test file at a time (two daemons never compete for the CPUs).
# Exit 77 (skip) only when node is missing, PM_TEST_TIERS is set and does
# not name e2e, or the build has no test hooks; missing npm packages or not
# being root is a failure: CI installs the packages and runs as root.
set -u
top=${PM_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/nodecompat.sh"
node_find || { echo "SKIP: node not found"; exit 77; }
if [ -n "${PM_TEST_TIERS+set}" ]; then
	case " $PM_TEST_TIERS " in
	*" e2e "*) ;;
	*) echo "SKIP: e2e tier not selected (PM_TEST_TIERS=$PM_TEST_TIERS)"; exit 77 ;;
	esac
fi
build=${PM_TOP_BUILDDIR:-$top/build}
export PM_TOP_SRCDIR=$top PM_TOP_BUILDDIR=$build
fail() { echo "FAIL: $*" >&2; exit 1; }
node_compat "$NODE" "$top" || fail "unsupported Node.js"
for m in @hpke/core @hpke/hybridkem-x-wing @noble/post-quantum openai \
    @anthropic-ai/sdk anthropic-sdk-0; do
	[ -f "$top/tests/node_modules/$m/package.json" ] ||
		fail "$top/tests/node_modules/$m is missing: run 'cd tests && npm ci'"
done
[ "$(id -u)" -eq 0 ] || fail "the e2e tests start the daemon as root (privilege drop, chroot, /proc/<pid>/mem): run as root"
[ -x "$build/privatemoded" ] || fail "$build/privatemoded not built"
# Every daemon here trusts the simulator's AMD chain (test_trust_any_amd_root),
# which a build without --enable-test-hooks refuses.
"$build/privatemoded" -V | grep -q "test hooks" || {
	echo "SKIP: $build/privatemoded has no test hooks (configure --enable-test-hooks)"
	exit 77
}
command -v openssl >/dev/null 2>&1 || fail "openssl CLI not found (the simulator's PKI needs it)"
id privatemode >/dev/null 2>&1 ||
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin privatemode ||
	fail "cannot create user privatemode"

run=$(mktemp -d "${TMPDIR:-/tmp}/pm-e2e.XXXXXX") || fail "mktemp"
chmod 755 "$run"
export PM_E2E_TMP=$run PM_E2E_PIDFILE=$run/pids PM_E2E_SIM_STATE=$run/sim
: >"$PM_E2E_PIDFILE"
cleanup() {
	local st=$? pid
	# Whatever a crashed test file left running (recorded by pid).
	while read -r pid; do
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
		for c in $(pgrep -P "$pid" 2>/dev/null); do kill -KILL "$c" 2>/dev/null; done
		kill -KILL "$pid" 2>/dev/null
	done <"$PM_E2E_PIDFILE"
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$run"
	exit $st
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The simulator's PKI once for every file (~10 s); readable by the
# daemon's unprivileged children.
mkdir -m 755 "$PM_E2E_SIM_STATE"
"$NODE" "$top/tests/sim/sim.mjs" --state-dir "$PM_E2E_SIM_STATE" --setup-only --quiet >/dev/null ||
	fail "simulator setup"

# Node 18 has no --test-timeout: there each file runs on its own, bounded
# as a whole instead (a hung test must fail, not hold CI), every file run.
has_test_timeout=no
"$NODE" --test-timeout=1 -e 0 >/dev/null 2>&1 && has_test_timeout=yes
run_files() {
	local list=$1 f st=0
	set --
	for f in $list; do set -- "$@" "$top/tests/e2e/$f.test.mjs"; done
	if [ $has_test_timeout = yes ]; then
		# --test-timeout bounds each file as well as each test: only a
		# hang may reach it (180 s did not cover api.test.mjs under ASan
		# on a loaded machine, where the file alone takes minutes).
		"$NODE" --test --test-concurrency=1 --test-timeout=1800000 \
		    --test-reporter=tap "$@"
		return
	fi
	for f in "$@"; do
		timeout --kill-after=10 1800 "$NODE" --test --test-reporter=tap "$f" || {
			echo "# FAIL (status $?): $f"
			st=1
		}
	done
	return $st
}

# Every file against a simulator that offers HTTP/2 and HTTP/1.1 (keyd
# speaks HTTP/2 to it); then the API and SDK suites again against one that
# offers HTTP/1.1 only (keyd's fallback): a matrix, not a second copy.
files=${PM_E2E_FILES:-"attest tdx api sdk badinput load features boundary egress h2 clients"}
http1=${PM_E2E_HTTP1_FILES-"api sdk"}
[ -z "${PM_E2E_FILES+set}" ] || http1=${PM_E2E_HTTP1_FILES:-}
status=0
run_files "$files" || status=1
if [ -n "$http1" ]; then
	echo "# the same over HTTP/1.1 (simulator --no-h2): $http1"
	PM_E2E_SIM_ARGS=--no-h2 run_files "$http1" || status=1
fi
exit $status
