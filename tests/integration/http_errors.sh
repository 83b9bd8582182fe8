#!/bin/bash
# The HTTP layer under bad input: each case gets its documented status
# and an OpenAI-style error body, and no worker crashes.
. "$(dirname "$0")/lib.sh"
require_root
require_test_hooks
WORKERS=1
printf 'max_header_size 2k\nmax_body_size 4k\nclient_header_timeout 1s\nclient_body_timeout 1s\nmax_connections 3\n' |
	pm_config
pm_start
worker=$(children worker)

expect() {	# expect STATUS CODE-IN-BODY reply-file description
	local st
	st=$(status_of < "$3")
	[ "$st" = "$1" ] || fail "$4: status $st, want $1: $(head -c 300 "$3")"
	if [ -n "$2" ]; then
		grep -q "\"code\":\"$2\"" "$3" || fail "$4: no code $2: $(cat "$3")"
		grep -q '"error":{"message":' "$3" || fail "$4: not OpenAI error JSON"
	fi
}

raw_http 2 'GARBAGE\r\n\r\n' > "$T/r"
expect 400 bad_request "$T/r" "malformed request line"
raw_http 2 'GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n' > "$T/r"
expect 505 bad_request "$T/r" "HTTP/2.0 request line"
raw_http 2 'GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n' > "$T/r"
expect 400 bad_request "$T/r" "absolute-form target"
raw_http 2 'GET /healthz HTTP/1.1\r\n\r\n' > "$T/r"
expect 400 bad_request "$T/r" "missing Host"
raw_http 2 'GET /healthz HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n' > "$T/r"
expect 400 bad_request "$T/r" "obsolete line folding"

flood=$(for i in $(seq 1 101); do printf 'X-H%d: v\\r\\n' "$i"; done)
raw_http 2 "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n$flood\\r\\n" > "$T/r"
expect 431 "" "$T/r" "header flood (101 fields)"
big=$(head -c 3000 /dev/zero | tr '\0' a)
raw_http 2 "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-Big: $big\\r\\n\\r\\n" > "$T/r"
expect 431 header_too_large "$T/r" "header over max_header_size"

curl -s -i "$(pm_url /v1/nowhere)" > "$T/r"
expect 404 not_found "$T/r" "unknown path"
grep -qi '^x-request-id: ' "$T/r" || fail "no x-request-id on errors"
curl -s -i -X DELETE "$(pm_url /healthz)" > "$T/r"
expect 405 method_not_allowed "$T/r" "wrong method"
curl -s -i -H 'X-Request-ID: my-id.1' "$(pm_url /healthz)" > "$T/r"
grep -qi '^x-request-id: my-id.1' "$T/r" || fail "client request id not echoed"

# Bodies: exact lengths, chunked, 100-continue, limits, framing errors.
curl -s -i -X POST --data-binary @<(head -c 1000 /dev/zero) \
    "$(pm_url /__test/echo)" > "$T/r"
expect 200 "" "$T/r" "content-length body"
grep -q '"bytes":1000' "$T/r" || fail "body length: $(cat "$T/r")"
curl -s -i -X POST -H 'Transfer-Encoding: chunked' \
    --data-binary @<(head -c 3000 /dev/zero) "$(pm_url /__test/echo)" > "$T/r"
grep -q '"bytes":3000' "$T/r" || fail "chunked body: $(cat "$T/r")"
curl -s -i -X POST -H 'Expect: 100-continue' \
    --data-binary @<(head -c 2000 /dev/zero) "$(pm_url /__test/echo)" > "$T/r"
grep -q '"bytes":2000' "$T/r" || fail "100-continue body"
grep -q '100 Continue' "$T/r" || fail "no 100 Continue"
curl -s -i -X POST --data-binary @<(head -c 5000 /dev/zero) \
    "$(pm_url /__test/echo)" > "$T/r"
expect 413 body_too_large "$T/r" "content-length over max_body_size"
curl -s -i -X POST -H 'Transfer-Encoding: chunked' \
    --data-binary @<(head -c 5000 /dev/zero) "$(pm_url /__test/echo)" > "$T/r"
expect 413 body_too_large "$T/r" "chunked body over max_body_size"
raw_http 2 'POST /__test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' > "$T/r"
expect 400 bad_transfer_encoding "$T/r" "CL and TE together"
raw_http 2 'POST /__test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd' > "$T/r"
expect 400 bad_content_length "$T/r" "conflicting Content-Length"
raw_http 2 'POST /__test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n' > "$T/r"
expect 400 invalid_chunked_body "$T/r" "malformed chunk size"
# Chunk extensions (RFC 9112 7.1.1): ";name=value" and quoted values are
# read and dropped; anything else after the size is refused.
raw_http 2 'POST /__test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2 junk\r\nab\r\n0\r\n\r\n' > "$T/r"
expect 400 invalid_chunked_body "$T/r" "chunk extension without ';'"
raw_http 2 'POST /__test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2;name=value\r\nab\r\n3 ; q="a;\\" b"\r\ncde\r\n0\r\n\r\n' > "$T/r"
expect 200 "" "$T/r" "valid chunk extensions"
grep -q '"bytes":5' "$T/r" || fail "chunk extensions: body length: $(cat "$T/r")"
raw_http 2 'POST /__test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n' > "$T/r"
expect 501 unsupported_transfer_encoding "$T/r" "unknown transfer coding"
raw_http 2 'POST /__test/echo HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 1\r\n\r\nx' > "$T/r"
expect 417 expectation_failed "$T/r" "unknown expectation"

# Keep-alive and pipelining: two answers on one connection.
raw_http 2 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' > "$T/r"
[ "$(grep -o 'HTTP/1.1 200' "$T/r" | wc -l)" -eq 2 ] || fail "pipelined requests: $(cat "$T/r")"

# Slowloris: a head that never ends gets 408 after client_header_timeout;
# a body that stalls likewise after client_body_timeout.
raw_http 4 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' > "$T/r"
expect 408 request_timeout "$T/r" "slow header"
raw_http 4 'POST /__test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc' > "$T/r"
expect 408 request_timeout "$T/r" "stalled body"

# Over max_connections (3 per worker): the next connection gets 429.
exec 4<>/dev/tcp/127.0.0.1/"$PM_PORT"
exec 5<>/dev/tcp/127.0.0.1/"$PM_PORT"
exec 6<>/dev/tcp/127.0.0.1/"$PM_PORT"
# The worker counts connections it accepted, not those in the backlog.
three_accepted() { [ "$(served_conns)" -eq 3 ]; }
wait_for "the worker to accept the three connections" three_accepted
curl -s -i --max-time 3 "$(pm_url /healthz)" > "$T/r"
expect 429 too_many_connections "$T/r" "over max_connections"
grep -qi '^retry-after: 1' "$T/r" || fail "429 without Retry-After"
exec 4<&- 5<&- 6<&-
# The worker has closed its side of all three (it read their EOF).
none_left() { [ "$(served_conns)" -eq 0 ]; }
wait_for "the worker to close the three connections" none_left
healthz_ok || fail "healthz after connections closed"

[ "$(children worker)" = "$worker" ] || fail "the worker was replaced (crashed?)"
log_has "killed by signal" && fail "a process died"
pm_stop
pass "bad input: every case answered with its status, no crash"
