#!/bin/bash
# The whole daemon under Valgrind (memcheck, every process: the parent and,
# through --trace-children, every worker and keyd it runs) against the
# simulated deployment over TLS: attestation, secret exchange, every
# endpoint, a few bad requests, a SIGHUP reload (the old generation exits
# and is checked too) and a graceful drain.  Every process must end with no
# memcheck error and no definitely lost block.
#
# Tier "valgrind": selected in PM_TEST_TIERS, or by default.  It needs a
# build without the keyd sandbox (Valgrind's own system calls are not on
# the allow-list) and without sanitizers: scripts/test-all makes one.
. "$(dirname "$0")/../integration/lib.sh"

case " ${PM_TEST_TIERS:-valgrind} " in
*" valgrind "*) ;;
*) skip "tier valgrind not selected (PM_TEST_TIERS=$PM_TEST_TIERS)" ;;
esac
require_root
"$PM_BIN" -V | grep -q "sandbox none" ||
	skip "needs a --with-sandbox=none build without sanitizers ($("$PM_BIN" -V))"
"$PM_BIN" -V | grep -q "test hooks" || skip "needs --enable-test-hooks (test trust anchors)"
command -v valgrind >/dev/null || fail "valgrind not installed (scripts/install-deps installs it)"
. "$TOP_SRC/tests/nodecompat.sh"
node_find || fail "node not found (the simulator needs it)"
[ -f "$TOP_SRC/tests/node_modules/@hpke/core/package.json" ] ||
	fail "run 'cd tests && npm ci' first"

# The simulator, with its JSON line in sim.json.
. "$TOP_SRC/tests/sim/simlib.sh"
trap '[ -z "${SIM_PID:-}" ] || kill "$SIM_PID" 2>/dev/null; cleanup' EXIT
sim_start "$NODE" "$TOP_SRC" "$T/sim.json" --state-dir "${PM_VG_SIM_STATE:-$T/sim}" \
    --quiet --stream-chunks 6 2>"$T/sim.err" ||
	{ cat "$T/sim.err" >&2; fail "simulator did not start"; }

# Logs from processes that dropped to `privatemode' land here too.
VG=$T/vg
mkdir -p "$VG" "$T/empty"
chmod 1777 "$VG"
printf '%s\n' "$(sim_field api_key)" >"$T/api-key"
chmod 600 "$T/api-key"
cat >"$T/vgwrap" <<EOF
#!/bin/sh
exec valgrind --trace-children=yes --leak-check=full \\
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \\
    --num-callers=30 --log-file=$VG/%p.log "$PM_BIN" "\$@"
EOF
chmod 755 "$T/vgwrap"
PM_BIN=$T/vgwrap
WORKERS=1
pm_config <<EOF
api_key @$T/api-key
api_endpoint $(sim_field api_endpoint)
cdn_base_url $(sim_field cdn_base_url)
ca_file $(sim_field ca_file)
chroot_dir $T/empty
max_body_size 64k
amd_cert_chain_genoa $(sim_field trust_anchors.Genoa.cert_chain)
test_trust_any_amd_root yes
test_kds_base_url $(sim_field kds_base_url)
EOF
chown privatemode "$T/ws"
pm_start

# Attestation and the secret exchange, under Valgrind (slow): up to 2 min.
ready() { curl -sf -o /dev/null --max-time 5 "$(pm_url /readyz)"; }
wait_ready() {
	local i
	for i in $(seq 1 240); do ready && return; sleep 0.5; done
	fail "not ready after 2 minutes under valgrind ($1)"
}
wait_ready "start"

# post PATH STATUS BODY [content-type]: the answer must have that status.
post() {
	local st
	st=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 60 \
	    -H "Content-Type: ${4:-application/json}" --data-binary "$3" \
	    "$(pm_url "$1")") || fail "POST $1: curl failed"
	[ "$st" = "$2" ] || fail "POST $1: status $st, want $2: $(head -c 300 "$T/body")"
}
exercise() {
	post /v1/chat/completions 200 \
	    '{"model":"m","messages":[{"role":"user","content":"unary"}]}'
	grep -q 'Echo: unary' "$T/body" || fail "chat answer not decrypted"
	post /v1/chat/completions 200 \
	    '{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"streamed"}]}'
	grep -q '^data: \[DONE\]' "$T/body" || fail "stream did not end with [DONE]"
	post /v1/completions 200 '{"model":"m","prompt":"def f(","suffix":")"}'
	post /v1/embeddings 200 '{"model":"m","input":["a","b"]}'
	post /v1/messages 200 \
	    '{"model":"m","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}'
	grep -q '^event: message_stop' "$T/body" || fail "Anthropic stream incomplete"
	curl -sf -o /dev/null --max-time 60 "$(pm_url /v1/models)" || fail "GET /v1/models"
	curl -s -o "$T/body" --max-time 60 -F model=whisper \
	    -F "file=@$T/sim.json;filename=a.wav;type=audio/wav" \
	    "$(pm_url /v1/audio/transcriptions)" || fail "transcription upload"
	grep -q '"text"' "$T/body" || fail "transcription: $(head -c 300 "$T/body")"
	# Bad input: each a clean error, no process harmed.
	post /v1/chat/completions 400 '{"model":'
	post /v1/chat/completions 400 '{"model":"m","model":"n","messages":[]}'
	post /v1/chat/completions 415 'model=m' application/x-www-form-urlencoded
	post /v1/chat/completions 413 "$(head -c 70000 /dev/zero | tr '\0' a)"
	post /v1/nowhere 404 '{}'
}
exercise

# A reload: a new generation serves, the old one drains and exits.
old=$(children worker)
kill -HUP "$PM_PID"
wait_for "old worker gone after SIGHUP" sh -c "! kill -0 $old 2>/dev/null"
wait_ready "after the reload"
exercise

# Drain; leak checking at exit is slow under Valgrind.
pm_stop 60
[ "$PM_STATUS" -eq 0 ] || fail "exit status $PM_STATUS"

# One log per process: parent, and two generations of worker and keyd.
nlogs=$(ls "$VG"/*.log | wc -l)
[ "$nlogs" -ge 5 ] || fail "$nlogs valgrind logs, want >= 5 (parent, 2 x worker+keyd)"
bad=0
for f in "$VG"/*.log; do
	if ! grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
		echo "--- $f" >&2
		grep -v '^==[0-9]*== *$' "$f" | head -80 >&2
		bad=1
	fi
done
[ "$bad" -eq 0 ] || fail "memcheck errors or definite leaks (logs above)"
pass "$nlogs processes under valgrind: 0 errors, 0 bytes definitely lost"
