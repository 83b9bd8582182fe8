#!/bin/sh
# Bounded libFuzzer runs of the attestation parsers, from "make check".
# PM_FUZZ_SECONDS (default 20) per target; 0 skips.  New inputs go to a
# work corpus in the build tree, crashes next to it as crash-<target>-*.
secs=${PM_FUZZ_SECONDS:-20}
src=${PM_TOP_SRCDIR:-.}/fuzz/attest
bin=${PM_TOP_BUILDDIR:-.}/fuzz/attest

[ "$secs" -gt 0 ] 2>/dev/null || { echo "fuzzing skipped"; exit 77; }
# The fuzzers carry their own ASan/UBSan; a tier list without "fuzz"
# (e.g. the sanitizer pass of scripts/test-all) skips them.
case " ${PM_TEST_TIERS:-fuzz} " in
*" fuzz "*) ;;
*) echo "fuzz tier not selected"; exit 77 ;;
esac
# The TDX targets also start from Intel's sample (tests/attest/intel):
# the quote as it is, each PCS answer behind the byte fuzz_tdx_coll reads
# to know which answer the input replaces.
intel=${PM_TOP_SRCDIR:-.}/tests/attest/intel
mkdir -p "$bin/work/tdx_coll-intel" || exit 1
i=0
for f in sample_tcbInfo_response sample_qeIdentity_response pckcrl \
    rootcrl.der tcbinfo-issuer-chain qeidentity-issuer-chain \
    pckcrl-issuer-chain; do
	{ printf "\\$(printf '%03o' "$i")"; cat "$intel/$f"; } \
	    >"$bin/work/tdx_coll-intel/$f" || exit 1
	i=$((i + 1))
done
for t in proto report json tdx_quote tdx_coll; do
	mkdir -p "$bin/work/$t" || exit 1
	seeds="$src/corpus/$t"
	case $t in
	tdx_quote) seeds="$seeds $intel" ;;
	tdx_coll) seeds="$seeds $bin/work/tdx_coll-intel" ;;
	esac
	# shellcheck disable=SC2086
	if ! "$bin/fuzz_$t" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix="$bin/crash-$t-" \
	    -print_final_stats=1 "$bin/work/$t" $seeds \
	    >"$bin/fuzz_$t.log" 2>&1; then
		tail -n 60 "$bin/fuzz_$t.log"
		echo "FAIL fuzz_$t"
		exit 1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
	    "$bin/fuzz_$t.log")
	echo "fuzz_$t: ${runs:-?} runs in ${secs}s, no crash"
done
exit 0
