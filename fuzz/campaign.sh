#!/bin/sh
# A fuzz campaign (issue 16, item 9): every parser target for a fixed
# number of inputs, not a time, from the committed seeds; one line per
# target with its count, time, coverage and corpus size.  Not part of
# "make check" (hours of CPU); run it by hand and put the table in
# fuzz/README.md.
#
#   fuzz/campaign.sh BUILD_DIR [RUNS] [TARGET...]
#
# RUNS defaults to 10000000.  The binaries are copied first, so a rebuild
# of BUILD_DIR during the campaign changes nothing.  Work corpora and any
# crash reproducer go to ${PM_FUZZ_CAMPAIGN_DIR:-/tmp/pm-fuzz-campaign}.
# PM_FUZZ_JOBS=N runs a target as N processes sharing one corpus (each
# picks up what the others add), RUNS/N inputs each, for the slow targets
# on a machine with N cores to spare; the line sums their counts.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: campaign.sh BUILD_DIR [RUNS] [TARGET...]}
runs=${2:-10000000}
[ $# -ge 2 ] && shift 2 || shift $#
dir=${PM_FUZZ_CAMPAIGN_DIR:-/tmp/pm-fuzz-campaign}
jobs=${PM_FUZZ_JOBS:-1}
parallel=
[ "$jobs" -gt 1 ] && parallel="-jobs=$jobs -workers=$jobs"
all="json fieldmsg http multipart h2 attest/proto attest/report attest/json attest/tdx_quote attest/tdx_coll"
targets=${*:-$all}
status=0

mkdir -p "$dir" || exit 1
printf '%-16s %12s %8s %8s %8s  %s\n' target runs seconds cov corpus result
for t in $targets; do
	name=$(echo "$t" | tr / -)
	case $t in
	attest/*)
		bin=$build/fuzz/attest/fuzz_${t#attest/}
		seeds=$src/fuzz/attest/corpus/${t#attest/} ;;
	*)
		bin=$build/fuzz/fuzz_$t
		seeds=$src/fuzz/corpus/$t ;;
	esac
	if [ ! -x "$bin" ]; then
		echo "campaign: $bin not built" >&2
		status=1
		continue
	fi
	# The JSON walk costs time in proportion to the input, and at
	# 65536 the fuzzer spends itself mutating its 25 KB seed at 0.2 s a
	# run: 557 inputs a second and less coverage after 25 s than at 4096
	# (7706 a second).  fuzz/run.sh still runs that seed whole.
	case $t in
	json)	max_len=4096 ;;
	*)	max_len=65536 ;;
	esac
	work=$dir/$name
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	cp "$bin" "$work/fuzz" || exit 1
	start=$(date +%s)
	# With -jobs, libFuzzer writes each job's log to fuzz-N.log in the
	# working directory.
	# shellcheck disable=SC2086
	if (cd "$work" && ./fuzz -runs=$((runs / jobs)) $parallel -timeout=10 \
	    -rss_limit_mb=2048 -max_len=$max_len -print_final_stats=1 \
	    -artifact_prefix="$work/artifacts/" \
	    "$work/corpus" "$seeds" >"$work/log" 2>&1); then
		result=clean
	else
		result="FAILED, see $work/artifacts"
		status=1
	fi
	secs=$(( $(date +%s) - start ))
	# The jobs' own logs (the main log repeats them), or the one log.
	logs=$work/log
	[ "$jobs" -gt 1 ] && logs=$(ls "$work"/fuzz-*.log 2>/dev/null)
	# shellcheck disable=SC2086
	done_runs=$(cat $logs | sed -n 's/^stat::number_of_executed_units: *//p' |
	    awk '{ n += $1 } END { if (NR) print n }')
	# shellcheck disable=SC2086
	cov=$(cat $logs | grep -o 'cov: [0-9]*' | cut -d' ' -f2 | sort -n |
	    tail -1)
	corpus=$(ls "$work/corpus" | wc -l)
	printf '%-16s %12s %8s %8s %8s  %s\n' "$t" "${done_runs:-?}" "$secs" \
	    "${cov:-?}" "$corpus" "$result"
done
exit $status
