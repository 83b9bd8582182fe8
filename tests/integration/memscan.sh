#!/bin/bash
# Secret-memory scan: start with a distinctive API key (in the config
# file and, separately, on the command line), serve requests, then read
# the memory of every process.  The key must be in keyd and nowhere else.
. "$(dirname "$0")/lib.sh"
require_root
SCAN=$TOP_BUILD/tests/integration/memscan
KEY=pmtest-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')-secret
SALT=salt-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')-x

scan_all() {
	local pid rc
	for pid in "$PM_PID" $(children worker); do
		"$SCAN" "$pid" "$1" > "$T/scan" 2>&1
		rc=$?
		[ $rc -eq 0 ] &&
			fail "$2 found in non-keyd process $pid: $(cat "$T/scan")"
		[ $rc -eq 1 ] || fail "scan of $pid failed: $(cat "$T/scan")"
	done
	for pid in $(children keyd); do
		"$SCAN" "$pid" "$1" > "$T/scan" 2>&1 ||
			fail "$2 not found in keyd $pid: $(cat "$T/scan")"
	done
}

exercise() {
	local i
	for i in $(seq 1 20); do
		curl -s -o /dev/null "$(pm_url /healthz)"
		curl -s -o /dev/null "$(pm_url /readyz)"
		curl -s -o /dev/null -H "Authorization: Bearer x" \
		    "$(pm_url /nope)"
	done
}

# 1. Key and salt as literals in the config file.
printf 'api_key %s\nshared_prompt_cache yes\nprompt_cache_salt %s\n' \
    "$KEY" "$SALT" | pm_config
pm_start
exercise
scan_all "$KEY" "API key (config literal)"
scan_all "$SALT" "cache salt"
# A respawned keyd gets the key again; the parent still holds none.
kill -KILL "$(children keyd | head -1)"
wait_for "respawn" log_has "respawning worker"
wait_for "pairs up" all_children_up
exercise
scan_all "$KEY" "API key (after respawn)"
pm_stop

# 2. Key from a root-only file, then a reload that re-reads it.
: > "$PM_LOG"
echo "$KEY" > "$T/api-key"
chmod 600 "$T/api-key"
printf 'api_key @%s\n' "$T/api-key" | pm_config
pm_start
exercise
scan_all "$KEY" "API key (@file)"
kill -HUP "$PM_PID"
wait_for "reload" log_has "configuration reloaded"
wait_for "pairs up" all_children_up
exercise
scan_all "$KEY" "API key (@file, after reload)"
pm_stop

# 3. Key on the command line: scrubbed from argv as well.
: > "$PM_LOG"
pm_config </dev/null
pm_start --apiKey="$KEY"
exercise
tr '\0' ' ' < /proc/$PM_PID/cmdline | grep -q "$KEY" &&
	fail "key visible in /proc/$PM_PID/cmdline"
scan_all "$KEY" "API key (command line)"
pm_stop
pass "API key and salt found only in keyd (config, file, reload, argv)"
