#!/bin/bash
# A new worker whose keyd speaks first: keyd starts attesting as soon as it
# is set up and asks its worker for an API connection (MSG_NET_OPEN); on a
# loaded machine that can happen before the worker has read its own
# MSG_CONFIG, and a worker that read keyd then died of SIGSEGV (bench/soak,
# 2026-12-07).  The test hook PM_TEST_WORKER_SETUP_DELAY_MS holds the
# worker's set-up back until keyd has asked: the worker must live, open
# the connection once configured, and serve.
. "$(dirname "$0")/lib.sh"
require_root
require_test_hooks
# Port 1 on loopback: nothing listens there, every attempt (the manifest
# first) is refused.
WORKERS=1
pm_config <<CONF
api_key test-key-startup-order
api_endpoint 127.0.0.1:1
cdn_base_url http://127.0.0.1:1
CONF
PM_TEST_WORKER_SETUP_DELAY_MS=2000 pm_start
worker=$(children worker)
# keyd asked before the worker was set up; the worker answered after.
wait_for "keyd's first connection, opened by the worker, refused" \
    grep -Eq "worker\[0\] pid $worker: .*for keyd: .*Connection refused" "$PM_LOG"
log_has "killed by signal" && fail "a child died: $(grep 'killed by signal' "$PM_LOG")"
[ "$(children worker)" = "$worker" ] || fail "the worker was replaced"
healthz_ok || fail "healthz"
pm_stop
[ "$PM_STATUS" -eq 0 ] || fail "exit status $PM_STATUS"
pass "a worker set up after its keyd asked for a connection lives and serves"
