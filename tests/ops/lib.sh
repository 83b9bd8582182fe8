# Shared helpers of the packaging and documentation tests (tests/ops).
# Sourced by bash.  Tiers: "lint" (no root, no daemon left running) and
# "package" (root: builds and installs the .deb, runs the daemon).  A test
# runs when its tier is in PM_TEST_TIERS (space-separated) or the variable
# is unset, and exits 77 otherwise.

set -u
TOP_SRC=${PM_TOP_SRCDIR:?run from make check}
TOP_BUILD=${PM_TOP_BUILDDIR:?run from make check}
PM_BIN=$TOP_BUILD/privatemoded
TEST_NAME=$(basename "$0" .sh)
UNIT=$TOP_SRC/debian/privatemoded.service
ERRORS=0

fail() {
	echo "FAIL $TEST_NAME: $*" >&2
	exit 1
}

# A failed check that lets the test go on, so one run lists them all.
bad() {
	echo "FAIL $TEST_NAME: $*" >&2
	ERRORS=$((ERRORS + 1))
}

skip() {
	echo "SKIP $TEST_NAME: $*" >&2
	exit 77
}

note() {
	echo "$TEST_NAME: $*"
}

finish() {
	[ "$ERRORS" -eq 0 ] || fail "$ERRORS check(s) failed"
	echo "ok $TEST_NAME: $*"
	exit 0
}

# kill_tree PID: the daemon PID and its children, at once (a test's EXIT
# trap: nothing may outlive it).
kill_tree() {
	local p
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
	for p in $(pgrep -P "$1"); do kill -KILL "$p" 2>/dev/null; done
	kill -KILL "$1" 2>/dev/null
}

# cleanup_tmp STATUS: the end of a daemon test's EXIT trap, once its
# processes are gone: on failure the daemon log's tail, then T removed
# (unless KEEP_TMP is set), then exit with STATUS.
cleanup_tmp() {
	if [ "$1" -ne 0 ] && [ -f "$T/daemon.log" ]; then
		echo "--- daemon log (last 30 lines) ---" >&2
		tail -30 "$T/daemon.log" >&2
	fi
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
	exit "$1"
}

# wait_until DESCRIPTION SECONDS COMMAND...: run COMMAND every 0.1 s until
# it succeeds.  Wait on the event (a log line, a process, an answer), not
# on a count of tries: under strace -f on a loaded machine a step can take
# many times what it takes alone.  SECONDS is the bound for a real hang,
# generous; when it passes, the description goes to stderr and the status
# is 1, so the caller adds what it knows (fail/bad with a diagnostic).
wait_until() {
	local what=$1 secs=$2 end=$((SECONDS + $2))
	shift 2
	until "$@"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "$TEST_NAME: gave up after $secs s waiting for $what" >&2
			return 1
		fi
		sleep 0.1
	done
}

# build_deb DIR DEB_BUILD_OPTIONS: the .deb of the source tree as it is
# (a git work tree without its ignored files, builds and caches; else the
# tree without them), built in DIR/src by dpkg-buildpackage; sets DEB to
# its path, the log in DIR/build.log.  A clean environment: make check's
# MAKEFLAGS carry command-line variables (TEST_LOGS=...) that would leak
# into the package's own test run.
build_deb() {
	local dir=$1 opts=$2
	mkdir "$dir/src"
	if git -C "$TOP_SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$TOP_SRC" && git ls-files -z -co --exclude-standard |
		    tar --null -T - -cf - 2>/dev/null) | tar -xf - -C "$dir/src" ||
			fail "cannot copy the source tree"
	else
		tar -C "$TOP_SRC" --exclude='./build*' --exclude=./autom4te.cache \
		    --exclude=node_modules --exclude=./debian/privatemoded \
		    --exclude=./debian/.debhelper -cf - . | tar -xf - -C "$dir/src"
	fi
	(cd "$dir/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	    -u PM_TEST_TIERS -u PM_TOP_SRCDIR -u PM_TOP_BUILDDIR \
	    DEB_BUILD_OPTIONS="$opts" dpkg-buildpackage -us -uc -b) \
	    >"$dir/build.log" 2>&1 || { tail -60 "$dir/build.log" >&2; fail "dpkg-buildpackage failed"; }
	DEB=$(ls "$dir"/privatemoded_*_*.deb 2>/dev/null | head -1)
	[ -n "$DEB" ] || fail "no privatemoded_*.deb built"
}

require_tier() {
	case " ${PM_TEST_TIERS:-$1} " in
	*" $1 "*) ;;
	*) skip "tier $1 not selected (PM_TEST_TIERS=$PM_TEST_TIERS)" ;;
	esac
}

require_tool() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 not installed${2:+ ($2)}"
}

# The value(s) of a directive in the unit, e.g. unit_get ExecStart.
unit_get() {
	sed -n "s/^$1=//p" "$UNIT"
}

# Fields of "privatemoded -K": key kind default flag (tab-separated).
pm_keys() {
	"$PM_BIN" -K
}

# A release tarball (make dist) carries no debian/.
require_debian() {
	[ -f "$UNIT" ] || skip "no debian/ in this source tree (release tarball)"
}
