#!/bin/bash
# SIGHUP with a valid config replaces every worker without failing a
# request under a concurrent request loop; with a broken config the old
# workers keep serving and the error is logged with file:line.
. "$(dirname "$0")/lib.sh"
require_root
pm_start
old=$(children worker | sort | tr '\n' ' ')

# Concurrent loop: every request must succeed across the reload.
(
	n=0
	while [ ! -f "$T/stop" ]; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		    "$(pm_url /healthz)")
		[ "$code" = 200 ] || echo "request $n: $code" >> "$T/failures"
		n=$((n + 1))
	done
	echo "$n" > "$T/count"
) &
loop=$!
sleep 0.5
sed -i 's/^workers .*/workers 3/' "$PM_CONF"
kill -HUP "$PM_PID"
wait_for "reload logged" log_has "configuration reloaded (generation 2)"
WORKERS=3
wait_for "3 new workers" all_children_up
sleep 0.5
touch "$T/stop"
wait "$loop"
[ -f "$T/failures" ] && fail "requests failed during reload: $(cat "$T/failures")"
[ "$(cat "$T/count")" -gt 5 ] || fail "request loop too short"
new=$(children worker | sort | tr '\n' ' ')
for pid in $old; do
	echo "$new" | grep -qw "$pid" && fail "old worker $pid still running"
done

# A broken config: rejected with file:line, the running workers stay.
echo "bogus_key 1" >> "$PM_CONF"
kill -HUP "$PM_PID"
wait_for "reload failure logged" log_has "reload failed: keeping the current configuration"
log_has "$PM_CONF:[0-9]*: unknown key \"bogus_key\"" || fail "no file:line in the error"
sleep 0.3
[ "$(children worker | sort | tr '\n' ' ')" = "$new" ] ||
	fail "workers changed after a failed reload"
healthz_ok || fail "healthz after failed reload"

# An AMD chain override that turns into garbage (an HTTP error page saved
# by a download) fails the reload too, naming the file.
sed -i '/^bogus_key/d' "$PM_CONF"
printf '<html>502 Bad Gateway</html>\n' >"$T/genoa.pem"
sed -i "s|^amd_cert_chain_genoa .*|amd_cert_chain_genoa $T/genoa.pem|" "$PM_CONF"
grep -q "^amd_cert_chain_genoa $T/genoa.pem$" "$PM_CONF" || fail "no Genoa chain line to replace"
failed=$(grep -c "reload failed" "$PM_LOG")
another_failure() {
	[ "$(grep -c "reload failed" "$PM_LOG")" -gt "$failed" ]
}
kill -HUP "$PM_PID"
wait_for "second reload failure logged" another_failure
log_has "AMD certificate chain (Genoa) $T/genoa.pem refused: expected exactly two PEM certificates" ||
	fail "the refused chain is not named"
[ "$(children worker | sort | tr '\n' ' ')" = "$new" ] ||
	fail "workers changed after a reload with a bad chain"
healthz_ok || fail "healthz after the bad-chain reload"
pm_stop
[ "$PM_STATUS" -eq 0 ] || fail "exit status $PM_STATUS"
pass "reload: $(cat "$T/count") requests without failure; broken config and bad AMD chain rejected"
