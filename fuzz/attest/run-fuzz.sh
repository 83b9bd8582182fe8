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
for t in proto report json; do
	mkdir -p "$bin/work/$t" || exit 1
	if ! "$bin/fuzz_$t" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix="$bin/crash-$t-" \
	    -print_final_stats=1 "$bin/work/$t" "$src/corpus/$t" \
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
