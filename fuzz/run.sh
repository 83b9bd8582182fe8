#!/bin/sh
# Run each libFuzzer target for a bounded time (PM_FUZZ_SECONDS, default
# 20) from the committed seed corpus.  New inputs go to a scratch corpus
# in the build tree, never into the source tree; a crash fails the test
# and leaves its reproducer in the build tree.
set -u
src=${PM_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${PM_TOP_BUILDDIR:-$src/build}
secs=${PM_FUZZ_SECONDS:-20}
status=0

# The fuzzers carry their own ASan/UBSan; a tier list without "fuzz"
# (distcheck, the sanitizer pass of scripts/test-all) skips them.
case " ${PM_TEST_TIERS:-fuzz} " in
*" fuzz "*) ;;
*) echo "fuzz tier not selected (PM_TEST_TIERS=$PM_TEST_TIERS)"; exit 77 ;;
esac

for t in json fieldmsg http multipart h2; do
	bin=$build/fuzz/fuzz_$t
	work=$build/fuzz/work-$t
	if [ ! -x "$bin" ]; then
		echo "fuzz: $bin not built" >&2
		exit 1
	fi
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	echo "fuzz: $t for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$work/artifacts/" \
	    "$work/corpus" "$src/fuzz/corpus/$t" 2>"$work/log"; then
		tail -40 "$work/log" >&2
		echo "fuzz: $t FAILED; reproducers in $work/artifacts" >&2
		status=1
	else
		grep -E "^(stat::number_of_executed_units|Done)" "$work/log"
	fi
done
exit $status
