#!/bin/sh
# make bench-crypto: our crypto core next to @noble/post-quantum (Node)
# and `openssl speed -evp aes-256-gcm`, measured in the same run.
# PM_BENCH_SECONDS sets the time per measurement (default 2).
set -u
src=${1:?srcdir}
bin=${2:?bench binary}
node=${3:-}
secs=${PM_BENCH_SECONDS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" "$secs" >"$tmp/c" || { echo "bench: $bin failed" >&2; exit 1; }
if [ -n "$node" ] && [ -d "$src/tests/node_modules/@noble/post-quantum" ]; then
	"$node" "$src/bench/crypto/noble.mjs" "$src/tests/node_modules" \
	    "$secs" >"$tmp/n" || : >"$tmp/n"
else
	echo "bench: no node or tests/node_modules; noble column empty" >&2
	: >"$tmp/n"
fi
# The 16 KiB column of openssl speed, converted from kB/s to MB/s; the
# best of three short runs, like the best-of-five rounds of the others.
for k in 1 2 3; do
	openssl speed -seconds "$secs" -evp aes-256-gcm 2>/dev/null
done | awk 'tolower($1) == "aes-256-gcm" { v = $NF; sub(/k$/, "", v);
	if (v > best) best = v }
	END { printf "openssl_gcm_mbps %.1f\n", best * 1000 / 1e6 }' >"$tmp/o"

cat "$tmp/c" "$tmp/n" "$tmp/o" | awk '
	function ratio(a, b) {
		if (a == "" || b == "" || b <= 0)
			return "-"
		return sprintf("%.1fx", a / b)
	}
	function pct(a, b) {
		if (a == "" || b == "" || b <= 0)
			return "-"
		return sprintf("%.0f%%", 100 * a / b)
	}
	function show(x) {
		return x == "" ? "-" : x
	}
	function row(name, ours, theirs, cmp) {
		printf "%-42s %12s %14s %8s\n", name, ours, theirs, cmp
	}
	{ v[$1] = $2 }
	END {
		row("operation", "privatemoded", "@noble (node)", "speedup")
		row("X-Wing keygen, us/op", v["xwing_keygen_us"],
		    show(v["noble_keygen_us"]),
		    ratio(v["noble_keygen_us"], v["xwing_keygen_us"]))
		row("X-Wing decaps (expanded key), us/op", v["xwing_decaps_us"],
		    show(v["noble_decaps_us"]),
		    ratio(v["noble_decaps_us"], v["xwing_decaps_us"]))
		row("X-Wing decaps from 32-byte seed, us/op",
		    v["xwing_seed_decaps_us"], show(v["noble_decaps_us"]),
		    ratio(v["noble_decaps_us"], v["xwing_seed_decaps_us"]))
		row("secret exchange client step, us/op", v["sx_client_us"],
		    "", "")
		print ""
		row("throughput, " v["json_body_bytes"] " B chat body", "MB/s",
		    "openssl MB/s", "share")
		row("JSON field encryption", v["json_encrypt_mbps"],
		    show(v["openssl_gcm_mbps"]),
		    pct(v["json_encrypt_mbps"], v["openssl_gcm_mbps"]))
		row("JSON field decryption (response)", v["json_decrypt_mbps"],
		    show(v["openssl_gcm_mbps"]),
		    pct(v["json_decrypt_mbps"], v["openssl_gcm_mbps"]))
		row("raw AES-256-GCM in process, 1 MB", v["gcm_raw_mbps"], "",
		    "")
		row("JSON encryption / in-process raw GCM", "", "",
		    pct(v["json_encrypt_mbps"], v["gcm_raw_mbps"]))
		print "(openssl column: openssl speed -evp aes-256-gcm, 16 KiB " \
		    "blocks, best of 3;"
		print " ours: best of 5 rounds; noble: best of 5 rounds after warm-up)"
	}'
