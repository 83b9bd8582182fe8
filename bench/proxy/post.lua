-- wrk script for bench/proxy: POST the body in $BENCH_BODY (a file) with
-- the headers in $BENCH_HEADERS ("Name: value" lines); print one JSON line
-- with the counts and latency percentiles (microseconds) when done.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
	local k, v = string.match(line, "^([^:]+):%s*(.*)$")
	if k then wrk.headers[k] = v end
end

-- $BENCH_DELAY_MS: a pause before every request on each connection, so
-- that both proxies get the same offered rate (connections / (delay + latency)).
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause and pause > 0 then
	function delay() return pause end
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
	    '{"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
	    summary.requests, summary.duration, summary.bytes, e.connect, e.read,
	    e.write, e.status, e.timeout, latency:percentile(50),
	    latency:percentile(90), latency:percentile(99), latency.mean,
	    latency.max))
end
