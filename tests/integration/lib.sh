# Shared helpers for the integration tests: each test starts its own
# daemon on an ephemeral loopback port with its own config, workspace and
# log, drives it, and asserts on its processes, answers and log lines.
# Sourced by bash; every failure ends the test with a message.

set -u
# A peer that closes early must fail a test's assertion, not kill bash.
trap '' PIPE
TOP_SRC=${PM_TOP_SRCDIR:?run from make check}
TOP_BUILD=${PM_TOP_BUILDDIR:?run from make check}
PM_BIN=$TOP_BUILD/privatemoded
T=$(mktemp -d "${TMPDIR:-/tmp}/pmtest.XXXXXX")
chmod 755 "$T"
PM_PID=
PM_PORT=
PM_LOG=$T/daemon.log
PM_CONF=$T/privatemode.conf
TEST_NAME=$(basename "$0" .sh)

fail() {
	echo "FAIL $TEST_NAME: $*" >&2
	if [ -f "$PM_LOG" ]; then
		echo "--- daemon log (last 40 lines) ---" >&2
		tail -40 "$PM_LOG" >&2
	fi
	exit 1
}

skip() {
	echo "SKIP $TEST_NAME: $*" >&2
	exit 77
}

pass() {
	echo "ok $TEST_NAME: $*"
}

# The daemon's default user must exist for a configuration to pass -t; a
# fresh machine has it only once some test has made it.
ensure_user() {
	id privatemode >/dev/null 2>&1 ||
		useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin privatemode ||
		fail "cannot create user privatemode"
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (privilege drop, chroot)"
	ensure_user
}

require_test_hooks() {
	"$PM_BIN" -V | grep -q "test hooks" ||
		skip "built without --enable-test-hooks"
}

cleanup() {
	local st=$?
	if [ -n "$PM_PID" ] && kill -0 "$PM_PID" 2>/dev/null; then
		kill -KILL "$PM_PID" 2>/dev/null
		pkill -KILL -P "$PM_PID" 2>/dev/null
	fi
	# Any sanitizer report from any process fails the test.
	if [ -f "$PM_LOG" ] && grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|Sanitizer has encountered' \
	    "$PM_LOG"; then
		echo "FAIL $TEST_NAME: sanitizer report in the daemon log" >&2
		grep -A20 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|Sanitizer has encountered' \
		    "$PM_LOG" | head -60 >&2
		st=1
	fi
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
	exit $st
}
trap cleanup EXIT

# Write the base config (+ extra lines from stdin if any).  The AMD chains
# are the tree's (data/amd), named explicitly: by default the daemon takes
# /etc/privatemode/amd/ first, which is the machine's, and tests/ops/
# install.sh puts the simulator's Genoa chain there while it runs (also
# beside these tests in one make -j2 check); a daemon refuses to start on
# a chain that is not AMD's.  A line from stdin may name others.
pm_config() {
	mkdir -p "$T/ws"
	{
		echo "listen 127.0.0.1:0"
		echo "metrics_listen 127.0.0.1:0"
		echo "workers ${WORKERS:-2}"
		echo "workspace $T/ws"
		echo "shutdown_timeout ${SHUTDOWN_TIMEOUT:-10s}"
		for p in genoa milan turin; do
			echo "amd_cert_chain_$p $TOP_SRC/data/amd/$p-cert-chain.pem"
		done
		[ -t 0 ] || cat
	} > "$PM_CONF"
}

# Start the daemon in the foreground (debug log to $PM_LOG); wait until a
# listener is up and /healthz answers.
pm_start() {
	[ -f "$PM_CONF" ] || pm_config </dev/null
	# Empty the log here, not only in the background child's redirection:
	# the waits below must not read the previous daemon's lines (its port,
	# its children) before that child has run.
	: >"$PM_LOG"
	"$PM_BIN" -d -f "$PM_CONF" "$@" >>"$PM_LOG" 2>&1 &
	PM_PID=$!
	wait_for "the listener" listening
	PM_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	    "$PM_LOG" | head -1)
	PM_MPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (metrics).*/\1/p' \
	    "$PM_LOG" | head -1)
	wait_for "healthz answers" healthz_ok
	wait_for "all workers configured" all_children_up
}

pm_url() {
	echo "http://127.0.0.1:$PM_PORT$1"
}

listening() {
	kill -0 "$PM_PID" 2>/dev/null || fail "daemon exited at start-up"
	grep -q 'listening on 127\.0\.0\.1:[0-9]' "$PM_LOG"
}

healthz_ok() {
	curl -sf -o /dev/null --max-time 2 "$(pm_url /healthz)"
}

# wait_for "description" command...: poll until the command succeeds.  Wait
# on the event, never on a clock: the bound (PM_WAIT_SECONDS, default 180)
# is only for a real hang, generous for a loaded machine and an ASan build.
wait_for() {
	local what=$1 end=$((SECONDS + ${PM_WAIT_SECONDS:-180}))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] ||
			fail "nothing after ${PM_WAIT_SECONDS:-180} s waiting for: $what"
		sleep 0.05
	done
}

# Client connections to $PM_PORT a process accepted (the kernel's backlog
# has none of them); with "read": only those whose request the process
# has read (bytes came in, none left unread).  An established TCP
# connection alone says neither.
served_conns() {
	ss -Htnpi state established "( sport = :$PM_PORT )" | awk -v read="${1:-}" '
	    /^[0-9]/ { own = /users:\(/; rq = $1; next }
	    own && (read == "" || (rq == 0 && /bytes_received:[1-9]/)) { n++ }
	    END { print n + 0 }'
}

# PIDs of the daemon's children with a given role (worker|keyd).
children() {
	local pid
	for pid in $(pgrep -P "$PM_PID" 2>/dev/null); do
		if tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null |
		    grep -q -- "-T $1 "; then
			echo "$pid"
		fi
	done
}

count_children() {
	children "$1" | wc -l
}

all_children_up() {
	[ "$(count_children worker)" -eq "${WORKERS:-2}" ] &&
	    [ "$(count_children keyd)" -eq "${WORKERS:-2}" ] &&
	    [ "$(grep -c 'keyd\[[0-9]*\]: sandbox .* on' "$PM_LOG")" -ge \
	      "${WORKERS:-2}" ]
}

# Field of /proc/<pid>/status, e.g. status_field 123 Seccomp
status_field() {
	sed -n "s/^$2:[[:space:]]*//p" /proc/$1/status
}

log_has() {
	grep -q -- "$1" "$PM_LOG"
}

# pm_stop [SECONDS]: SIGTERM, then wait for the exit, up to SECONDS (default
# 10: the default shutdown_timeout) plus a minute for a loaded machine (the
# processes' own exit, an ASan build's leak checks); its status lands in
# PM_STATUS.
pm_stop() {
	[ -n "$PM_PID" ] || return 0
	kill -TERM "$PM_PID" 2>/dev/null
	local end=$((SECONDS + ${1:-10} + 60))
	while kill -0 "$PM_PID" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do
		sleep 0.05
	done
	if kill -0 "$PM_PID" 2>/dev/null; then
		fail "daemon did not exit within $((${1:-10} + 60)) s of SIGTERM"
	fi
	wait "$PM_PID"
	PM_STATUS=$?
	PM_PID=
}

# Send raw bytes (printf format) and print the reply; $1 = seconds to wait.
raw_http() {
	local secs=$1
	shift
	exec 3<>/dev/tcp/127.0.0.1/"$PM_PORT" || fail "connect"
	printf "$@" >&3
	timeout "$secs" cat <&3
	exec 3<&- 3>&-
}

status_of() {
	head -1 | awk '{print $2}'
}
