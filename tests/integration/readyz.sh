#!/bin/bash
# /readyz: the API port says ready or not and why in a few fixed words;
# the detail (and any upstream error text in it) only on metrics_listen.
. "$(dirname "$0")/lib.sh"
require_root

mreadyz() { curl -s -i --max-time 10 "http://127.0.0.1:$PM_MPORT/readyz"; }
body_of() { tail -1; }

# 1. No API key: keyd's own reason, in both places.
pm_start
curl -s -i --max-time 10 "$(pm_url /readyz)" > "$T/api"
[ "$(status_of < "$T/api")" = 503 ] || fail "API port: $(cat "$T/api")"
grep -qi '^retry-after: 1' "$T/api" || fail "API port 503 without Retry-After"
[ "$(body_of < "$T/api")" = '{"ready":false,"reason":"no API key yet"}' ] ||
	fail "API port body: $(body_of < "$T/api")"
mreadyz > "$T/m"
[ "$(status_of < "$T/m")" = 503 ] || fail "metrics port: $(cat "$T/m")"
grep -q '"reason":"no API key yet: configure api_key' "$T/m" ||
	fail "metrics port detail: $(body_of < "$T/m")"
curl -s -I --max-time 10 "http://127.0.0.1:$PM_MPORT/readyz" > "$T/h"
[ "$(status_of < "$T/h")" = 503 ] || fail "HEAD /readyz on the metrics port: $(cat "$T/h")"
curl -sf -o /dev/null "http://127.0.0.1:$PM_MPORT/healthz" || fail "/healthz on the metrics port"
pm_stop

# 2. A key and an API that refuses connections: the attestation fails with
# the resolver's or connect's text, which the metrics port shows and the
# API port does not.
: > "$PM_LOG"
printf 'api_key k-unreachable\napi_endpoint 127.0.0.1:1\n' | pm_config
pm_start
final_reason() {
	mreadyz > "$T/m"
	grep -q '"reason":' "$T/m" &&
	    ! grep -Eq '"reason":"(attestation (pending|in progress)|keyd starting)' "$T/m"
}
wait_for "a failed attestation round" final_reason
reason=$(sed -n 's/.*"reason":"\([^"]*\)".*/\1/p' "$T/m")
[ -n "$reason" ] || fail "no reason on the metrics port: $(cat "$T/m")"
# Each worker answers for its own keyd, and a keyd that failed tries
# again (in progress once more): the API port's line is waited for, not
# read once.  Any answer on the way must be one of the fixed lines.
not_attested='{"ready":false,"reason":"not attested: the reason is on the metrics listener'"'"'s /readyz and in the log"}'
api_not_attested() {
	curl -s -i --max-time 10 "$(pm_url /readyz)" > "$T/api"
	[ "$(status_of < "$T/api")" = 503 ] || fail "API port: $(cat "$T/api")"
	body=$(body_of < "$T/api")
	case $body in
	"$not_attested") return 0 ;;
	'{"ready":false,"reason":"attestation in progress"}') return 1 ;;
	*) fail "API port body: $body" ;;
	esac
}
wait_for "the API port's not-attested line" api_not_attested
case $body in
*"$reason"*|*127.0.0.1*|*refused*) fail "API port shows the upstream error: $body" ;;
esac
[ "$(wc -l < "$T/api")" -gt 0 ] && [ "$(printf '%s' "$body" | wc -l)" -eq 0 ] ||
	fail "API port body is not one line"
pm_stop
pass "/readyz: one line on the API port, detail on the metrics listener"
