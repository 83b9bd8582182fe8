#!/bin/bash
# Third-party data committed verbatim (test vectors, AMD's certificates
# and sample evidence) is what its README says it is: every row
#   | `file` | source | version | <sha256> |
# names a file of that directory whose SHA-256 is the one recorded, and
# every file of the directory (but the README) has a row.  A file edited,
# truncated by a bad checkout or added without provenance fails.
case " ${PM_TEST_TIERS:-lint} " in
*" lint "*) ;;
*) echo "SKIP: lint tier not selected"; exit 77 ;;
esac
top=${PM_TOP_SRCDIR:?run from make check}
DIRS="tests/vectors tests/attest/amd data/amd tests/attest/intel data/intel"
errors=0 files=0

bad() {
	echo "FAIL data_sha256: $*" >&2
	errors=$((errors + 1))
}

# The rows of a README: "file<TAB>sha256", one per line.
rows() {
	sed -n 's/^| `\([^`]*\)` |.*| \([0-9a-f]\{64\}\) |$/\1\t\2/p' "$1"
}

for d in $DIRS; do
	readme=$top/$d/README.md
	[ -f "$readme" ] || { bad "$d/README.md is missing"; continue; }
	listed=$(rows "$readme")
	[ -n "$listed" ] || { bad "$d/README.md has no file rows"; continue; }
	while IFS=$'\t' read -r f want; do
		files=$((files + 1))
		if [ ! -f "$top/$d/$f" ]; then
			bad "$d/$f is listed in its README but missing"
			continue
		fi
		got=$(sha256sum <"$top/$d/$f" | cut -d' ' -f1)
		[ "$got" = "$want" ] ||
			bad "$d/$f: SHA-256 $got, its README records $want"
	done <<<"$listed"
	# Every file there has a row (the README and git's attributes aside).
	while IFS= read -r f; do
		printf '%s\n' "$listed" | cut -f1 | grep -qxF "$f" ||
			bad "$d/$f has no row (source, version, SHA-256) in its README"
	done < <(cd "$top/$d" && find . -type f ! -name README.md \
	    ! -name .gitattributes | sed 's|^\./||' | sort)
done
[ "$errors" -eq 0 ] || { echo "FAIL data_sha256: $errors problem(s)"; exit 1; }
echo "ok data_sha256: $files file(s) match their recorded SHA-256"
