#!/bin/bash
# Client limits (privatemode.conf(5), "Limits and timeouts"):
#  1. client_body_deadline: a body trickled a byte at a time, each pause
#     well inside client_body_timeout, gets 408 naming the deadline: reads
#     do not move it.
#  2. max_body_buffer: partial bodies count against the worker's budget
#     from their head on; the next body that does not fit gets 503 with
#     Retry-After in its route's error shape (OpenAI, Anthropic), a small
#     one that fits is served, the partial ones complete undisturbed, and
#     memory follows the bytes that arrived, not the announced lengths.
#  3. max_connections_per_address: one address opening one connection too
#     many gets 429 too_many_connections_from_address; another address and
#     the metrics listener are served meanwhile; closing one lets it in.
. "$(dirname "$0")/lib.sh"
require_root
require_test_hooks
WORKERS=1

# Metric value from the metrics listener (0 if absent).
metric() {
	curl -s --max-time 5 "http://127.0.0.1:$PM_MPORT/metrics" |
	    awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'
}

expect_error() {	# STATUS CODE FILE WHAT: an OpenAI-shaped error
	[ "$(status_of < "$3")" = "$1" ] || fail "$4: status $(status_of < "$3"), want $1: $(head -c 400 "$3")"
	grep -q "\"code\":\"$2\"" "$3" || fail "$4: no code $2: $(cat "$3")"
	grep -q '"error":{"message":' "$3" || fail "$4: not OpenAI error JSON: $(cat "$3")"
}

# --- 1. trickle ----------------------------------------------------------
# client_body_timeout is far longer than the deadline and than any pause
# below, so only the deadline can end the request.
printf 'client_body_timeout 60s\nclient_body_deadline 2s\n' | pm_config
pm_start
exec 3<>/dev/tcp/127.0.0.1/"$PM_PORT" || fail "connect"
printf 'POST /__test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' >&3
sent=0
status_line=
# A byte every 0.2 s for up to 60 s; a deadline that reads moved would
# never answer.  The answer, not a clock, ends the loop.
for i in $(seq 1 300); do
	printf x >&3 2>/dev/null || break
	sent=$((sent + 1))
	if IFS= read -r -t 0.2 status_line <&3; then
		break
	fi
done
[ -n "$status_line" ] || fail "trickled body: no answer after $sent bytes sent"
{ echo "$status_line"; timeout 5 cat <&3; } > "$T/r"
exec 3<&- 3>&-
expect_error 408 request_timeout "$T/r" "trickled body"
grep -q 'client_body_deadline' "$T/r" || fail "trickled body: the 408 does not name client_body_deadline: $(cat "$T/r")"
[ "$sent" -ge 3 ] || fail "trickled body: answered after $sent bytes (the trickle never started)"
[ "$(metric 'privatemode_limit_refusals_total{limit="client_body_deadline"}')" -ge 1 ] ||
	fail "deadline refusal not counted"
# A body that arrives in time is served, pauses and all.
exec 3<>/dev/tcp/127.0.0.1/"$PM_PORT" || fail "connect"
printf 'POST /__test/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\na' >&3
read -r -t 0.3 _ <&3
printf 'bc' >&3
timeout 5 cat <&3 > "$T/r"
exec 3<&- 3>&-
grep -q '"bytes":3' "$T/r" || fail "a paced body within the deadline: $(cat "$T/r")"
pm_stop

# --- 2. many partial bodies against the budget ---------------------------
BIG=$((32 * 1024 * 1024))
printf 'max_body_size 32M\nmax_body_buffer 80M\nmax_connections_per_address 0\n' | pm_config
pm_start
worker=$(children worker)
vmdata() { awk '/^VmData:/ { print $2 }' /proc/"$worker"/status; }	# kB
data0=$(vmdata)
# Two partial bodies of an announced 32 MiB each: 64 of 80 MiB counted.
exec 4<>/dev/tcp/127.0.0.1/"$PM_PORT" || fail "connect"
exec 5<>/dev/tcp/127.0.0.1/"$PM_PORT" || fail "connect"
for fd in 4 5; do
	printf 'POST /__test/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n' "$BIG" >&$fd
	head -c 1000 /dev/zero >&$fd
done
counted() { [ "$(metric privatemode_request_body_bytes)" -ge $((2 * BIG)) ]; }
wait_for "both partial bodies counted" counted
# Memory follows what arrived: 2 KB, not 64 MiB (or the 128 MiB a
# reservation of each announced length would have mapped).
grown=$(( $(vmdata) - data0 ))
[ "$grown" -lt $((8 * 1024)) ] ||
	fail "the worker's data segment grew by $grown kB for 2 KB of partial bodies"
# A third 32 MiB body does not fit: 503 before its body is read.
curl -s -i --max-time 10 -X POST -H 'Expect:' --data-binary @<(head -c "$BIG" /dev/zero) \
    "$(pm_url /__test/echo)" > "$T/r"
expect_error 503 body_buffer_full "$T/r" "body over max_body_buffer"
grep -qi '^retry-after: 1' "$T/r" || fail "503 without Retry-After: $(head -20 "$T/r")"
# The same on /v1/messages, in Anthropic's error shape.
curl -s -i --max-time 10 -X POST -H 'Content-Type: application/json' -H 'Expect:' \
    --data-binary @<(printf '{"model":"m","pad":"'; head -c $((20 * 1024 * 1024)) /dev/zero | tr '\0' a; printf '"}') \
    "$(pm_url /v1/messages)" > "$T/r"
[ "$(status_of < "$T/r")" = 503 ] || fail "messages over max_body_buffer: $(head -c 400 "$T/r")"
grep -q '^{"type":"error","error":{"type":"api_error","message":' "$T/r" ||
	fail "messages: not Anthropic's error shape: $(tail -1 "$T/r")"
grep -qi '^retry-after: 1' "$T/r" || fail "messages 503 without Retry-After"
# A chunked body counts as it arrives: refused once it outgrows what is left.
curl -s -i --max-time 10 -X POST -H 'Transfer-Encoding: chunked' -H 'Expect:' \
    --data-binary @<(head -c $((20 * 1024 * 1024)) /dev/zero) "$(pm_url /__test/echo)" > "$T/r"
expect_error 503 body_buffer_full "$T/r" "chunked body outgrowing max_body_buffer"
# A small body still fits and is served meanwhile.
curl -s --max-time 10 -X POST --data-binary @<(head -c 4096 /dev/zero) \
    "$(pm_url /__test/echo)" > "$T/r"
grep -q '"bytes":4096' "$T/r" || fail "a small body next to the partial ones: $(cat "$T/r")"
[ "$(metric 'privatemode_limit_refusals_total{limit="max_body_buffer"}')" -ge 3 ] ||
	fail "budget refusals not counted"
# The partial bodies were never disturbed: both complete.
for fd in 4 5; do
	head -c $((BIG - 1000)) /dev/zero >&$fd
	timeout 10 cat <&$fd > "$T/r$fd"
	grep -q "\"bytes\":$BIG" "$T/r$fd" || fail "partial body on fd $fd did not complete: $(cat "$T/r$fd")"
done
exec 4<&- 4>&- 5<&- 5>&-
released() { [ "$(metric privatemode_request_body_bytes)" -eq 0 ]; }
wait_for "the budget released" released
# Now the 32 MiB body fits.
curl -s --max-time 20 -X POST -H 'Expect:' --data-binary @<(head -c "$BIG" /dev/zero) \
    "$(pm_url /__test/echo)" > "$T/r"
grep -q "\"bytes\":$BIG" "$T/r" || fail "a 32 MiB body once the others are done: $(cat "$T/r")"
[ "$(children worker)" = "$worker" ] || fail "the worker was replaced"
pm_stop

# --- 3. one address opening many connections -----------------------------
printf 'max_connections_per_address 3\nmax_connections 100\n' | pm_config
pm_start
exec 4<>/dev/tcp/127.0.0.1/"$PM_PORT" || fail "connect"
exec 5<>/dev/tcp/127.0.0.1/"$PM_PORT" || fail "connect"
exec 6<>/dev/tcp/127.0.0.1/"$PM_PORT" || fail "connect"
# The worker accepts in order: the fourth from 127.0.0.1 is one too many.
curl -s -i --max-time 5 "$(pm_url /healthz)" > "$T/r"
expect_error 429 too_many_connections_from_address "$T/r" "fourth connection from one address"
grep -qi '^retry-after: 1' "$T/r" || fail "429 without Retry-After"
# Another address is served meanwhile, and so is the metrics listener.
curl -s -i --max-time 5 --interface 127.0.0.2 "$(pm_url /healthz)" > "$T/r"
[ "$(status_of < "$T/r")" = 200 ] || fail "another address: $(head -c 300 "$T/r")"
[ "$(metric 'privatemode_limit_refusals_total{limit="max_connections_per_address"}')" -eq 1 ] ||
	fail "per-address refusal not counted once (the metrics listener must not count)"
# The three held connections still work.
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&4
IFS= read -r -t 5 line <&4
[[ $line == "HTTP/1.1 200"* ]] || fail "a held connection: $line"
# One closes: the address may open one again.
exec 5<&- 5>&-
healthz_again() { curl -sf -o /dev/null --max-time 5 "$(pm_url /healthz)"; }
wait_for "a connection from the address once one closed" healthz_again
exec 4<&- 4>&- 6<&- 6>&-
log_has "killed by signal" && fail "a process died"
pm_stop
pass "body deadline, body buffer budget and per-address cap enforced"
