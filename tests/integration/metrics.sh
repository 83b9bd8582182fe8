#!/bin/bash
# Prometheus metrics on metrics_listen: every process's counters summed by
# the parent, served by the workers; never on the API port.
. "$(dirname "$0")/lib.sh"
require_root
pm_start
[ -n "$PM_MPORT" ] || fail "no metrics listener"
for i in 1 2 3 4 5; do curl -s -o /dev/null "$(pm_url /healthz)"; done
curl -s -o /dev/null "$(pm_url /v1/nowhere)"
curl -s -o /dev/null -X DELETE "$(pm_url /healthz)"
curl -s -i "$(pm_url /metrics)" > "$T/r"
[ "$(status_of < "$T/r")" = 404 ] || fail "/metrics served on the API port"
curl -s -i "http://127.0.0.1:$PM_MPORT/v1/models" > "$T/r"
[ "$(status_of < "$T/r")" = 404 ] || fail "API served on the metrics port"
curl -sf "http://127.0.0.1:$PM_MPORT/metrics" > "$T/m" || fail "scrape failed"
m() { grep -v '^#' "$T/m" | grep -F "$1" | awk '{print $2}'; }
[ "$(m 'privatemode_http_requests_total{route="health",code="200"}')" -ge 5 ] ||
	fail "health requests not counted: $(grep requests_total "$T/m")"
[ "$(m 'privatemode_http_requests_total{route="other",code="404"}')" -ge 1 ] ||
	fail "404 not counted"
[ "$(m 'privatemode_http_requests_total{route="health",code="405"}')" -ge 1 ] ||
	fail "405 not counted"
# Two workers and two keyds answered.
[ "$(m 'privatemode_processes ')" = 4 ] ||
	fail "processes: $(m 'privatemode_processes ')"
for name in privatemode_build_info privatemode_keyd_ipc_seconds_bucket \
    privatemode_attestations_total privatemode_secret_age_seconds \
    privatemode_active_connections privatemode_retries_total \
    privatemode_bytes_total privatemode_stream_chunks_total; do
	grep -q "^$name" "$T/m" || fail "$name missing"
done
grep -q '^# TYPE privatemode_http_requests_total counter' "$T/m" ||
	fail "TYPE line missing"
# A worker death does not break scraping; its counters go with it.
kill -KILL "$(children worker | head -1)"
curl -sf --max-time 5 "http://127.0.0.1:$PM_MPORT/metrics" > "$T/m" ||
	fail "scrape after a worker died"
pm_stop
pass "metrics summed across processes, separate listener"
