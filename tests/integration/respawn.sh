#!/bin/bash
# kill -9 of a worker: the other worker keeps answering, the parent logs
# why it died and respawns the pair; the same for keyd.  The daemon runs
# from a copy of the binary that is replaced on disk (as a package upgrade
# does) once it is up: respawned children must still be the running binary.
. "$(dirname "$0")/lib.sh"
require_root
cp "$PM_BIN" "$T/privatemoded"
PM_BIN=$T/privatemoded
pm_start
cp /bin/true "$T/privatemoded.new"
mv "$T/privatemoded.new" "$T/privatemoded"
victim=$(children worker | head -1)
old_keyds=$(children keyd | sort | tr '\n' ' ')
kill -KILL "$victim"
# Served by the surviving worker while the pair comes back.
for i in 1 2 3 4 5; do
	curl -sf -o /dev/null --max-time 30 "$(pm_url /healthz)" ||
		fail "healthz failed after killing a worker"
done
wait_for "worker death logged" log_has "pid $victim) killed by signal 9"
wait_for "pair respawned" log_has "respawning worker"
wait_for "2 workers and 2 keyds" all_children_up
children worker | grep -qx "$victim" && fail "dead worker still listed"
[ "$(children keyd | sort | tr '\n' ' ')" != "$old_keyds" ] ||
	fail "keyd of the dead worker was not replaced"
for pid in $(children worker) $(children keyd); do
	case $(readlink "/proc/$pid/exe") in
	*"(deleted)") ;;
	*) fail "child $pid runs $(readlink "/proc/$pid/exe"), not the old binary" ;;
	esac
done

# Now a keyd: its worker follows it, and both come back.
kvictim=$(children keyd | head -1)
kill -KILL "$kvictim"
wait_for "keyd death logged" log_has "pid $kvictim) killed by signal 9"
wait_for "2 pairs again" all_children_up
children keyd | grep -qx "$kvictim" && fail "dead keyd still listed"
healthz_ok || fail "healthz after keyd respawn"
pm_stop
[ "$PM_STATUS" -eq 0 ] || fail "exit status $PM_STATUS"
pass "worker and keyd respawned after SIGKILL"
