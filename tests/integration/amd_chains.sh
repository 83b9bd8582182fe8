#!/bin/bash
# AMD's certificate chains: -t names the chain of each product line (path,
# override or shipped copy) and fails with a clear message on a garbage,
# empty, unreadable or wrong-line chain file, and so does the start; an
# override that does not exist falls back to the shipped copy (or, in a
# build tree where nothing is installed, is reported missing).  No root
# needed: the checks run before anything is bound.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/amd"
for l in genoa milan turin; do
	cp "$TOP_SRC/data/amd/$l-cert-chain.pem" "$T/amd/"
done
conf() {
	printf 'listen 127.0.0.1:0\nmetrics_listen 127.0.0.1:0\n'
	printf 'workspace %s\n' "$T"
	for l in genoa milan turin; do
		printf 'amd_cert_chain_%s %s\n' "$l" "$1/$l-cert-chain.pem"
	done
}

# Overrides that exist are what -t names, one line per product line.
conf "$T/amd" >"$T/ok.conf"
"$PM_BIN" -t -f "$T/ok.conf" >"$T/out" 2>&1 || fail "good chains refused: $(cat "$T/out")"
for L in Genoa Milan Turin; do
	l=$(printf '%s' "$L" | tr '[:upper:]' '[:lower:]')
	grep -qxF "$L: AMD certificate chain $T/amd/$l-cert-chain.pem (override), AMD's fingerprints" "$T/out" ||
		fail "-t does not name the $L override: $(cat "$T/out")"
done
grep -qxF "$T/ok.conf: configuration OK" "$T/out" || fail "no OK line"

# Overrides set but absent: the shipped copy if installed, else none;
# either way -t says which, and the explicit key's absence is logged.
conf "$T/nowhere" >"$T/absent.conf"
"$PM_BIN" -t -f "$T/absent.conf" >"$T/out" 2>&1 || fail "absent overrides refused: $(cat "$T/out")"
for L in Genoa Milan Turin; do
	l=$(printf '%s' "$L" | tr '[:upper:]' '[:lower:]')
	if grep -q "^$L: AMD certificate chain .*/$l-cert-chain.pem (shipped with the daemon), AMD's fingerprints$" "$T/out"; then
		grep -qF "amd_cert_chain_$l $T/nowhere/$l-cert-chain.pem does not exist: using the $L chain shipped with the daemon" "$T/out" ||
			fail "fallback for $L not logged: $(cat "$T/out")"
	else
		grep -qF "$L: no AMD certificate chain ($T/nowhere/$l-cert-chain.pem and " "$T/out" ||
			fail "-t says nothing of the missing $L chain: $(cat "$T/out")"
	fi
done
grep -q "configuration OK" "$T/out" || fail "absent overrides: no OK line"

# expect_refused WHAT MESSAGE: with bad.conf, -t and the start fail with
# MESSAGE (naming the file and why), and nothing claims all is fine.
expect_refused() {
	local what=$1 msg=$2
	"$PM_BIN" -t -f "$T/bad.conf" >"$T/out" 2>&1 && fail "$what: -t accepted it"
	grep -qF "$msg" "$T/out" || fail "$what: -t message: $(cat "$T/out")"
	grep -qF "$T/bad.conf: configuration invalid" "$T/out" || fail "$what: no summary"
	grep -q "configuration OK" "$T/out" && fail "$what: -t also said OK"
	timeout 120 "$PM_BIN" -d -f "$T/bad.conf" >"$T/out" 2>&1
	[ $? -eq 1 ] || fail "$what: start did not exit 1"
	grep -qF "$msg" "$T/out" || fail "$what: start message: $(cat "$T/out")"
}
mkdir -p "$T/bad"
cp "$T/amd/"*.pem "$T/bad/"
conf "$T/bad" >"$T/bad.conf"
printf '<html><body>404 Not Found</body></html>\n' >"$T/bad/genoa-cert-chain.pem"
expect_refused "HTML page" "AMD certificate chain (Genoa) $T/bad/genoa-cert-chain.pem refused: expected exactly two PEM certificates (ASK, ARK)"
: >"$T/bad/genoa-cert-chain.pem"
expect_refused "empty file" "AMD certificate chain (Genoa) $T/bad/genoa-cert-chain.pem refused: empty PEM"
cp "$T/amd/genoa-cert-chain.pem" "$T/bad/"
cp "$T/amd/milan-cert-chain.pem" "$T/bad/turin-cert-chain.pem"
expect_refused "Milan's chain as Turin's" "AMD certificate chain (Turin) $T/bad/turin-cert-chain.pem refused: ASK SHA-256 fingerprint 67D303BD3905FD38DB8B20E0793699870E7FA612EAAD5DEC358293FD8C0BAC1B is not AMD's Turin ASK"
rm "$T/bad/turin-cert-chain.pem"
mkdir "$T/bad/turin-cert-chain.pem"
expect_refused "a directory" "AMD certificate chain (Turin) $T/bad/turin-cert-chain.pem: "
pass "-t names the chains (override or shipped), bad chain files fail -t and the start"
