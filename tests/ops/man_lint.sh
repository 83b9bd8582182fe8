#!/bin/bash
# Every manual page in man/ is clean under "mandoc -Tlint -Wwarning" (any
# warning, error or unsupported construct fails), is installed (listed in
# man/man.mk), and its .Dt names the file.
. "$PM_TOP_SRCDIR/tests/ops/lib.sh"
require_tier lint
MANDOC=${PM_MANDOC:-}
[ -n "$MANDOC" ] || MANDOC=$(command -v mandoc || true)
[ -n "$MANDOC" ] && [ -x "$MANDOC" ] || skip "mandoc not installed (package mandoc)"

pages=$(cd "$TOP_SRC" && ls man/*.[1-9] 2>/dev/null)
[ -n "$pages" ] || fail "no manual pages in $TOP_SRC/man"
n=0
for p in $pages; do
	n=$((n + 1))
	out=$("$MANDOC" -Tlint -Wwarning "$TOP_SRC/$p" 2>&1)
	st=$?
	if [ $st -ne 0 ] || [ -n "$out" ]; then
		bad "$p: mandoc -Tlint -Wwarning (status $st):"
		printf '%s\n' "$out" >&2
	fi
	# Also render it: a page that lints but renders empty is broken too.
	lines=$("$MANDOC" -Tascii "$TOP_SRC/$p" 2>/dev/null | wc -l)
	[ "$lines" -ge 20 ] || bad "$p renders to only $lines lines"
	base=$(basename "$p")
	name=${base%.*}
	sect=${base##*.}
	dt=$(sed -n 's/^\.Dt \([^ ]*\) \([0-9]\).*/\1 \2/p' "$TOP_SRC/$p")
	want="$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]') $sect"
	[ "$dt" = "$want" ] || bad "$p: .Dt is \"$dt\", want \"$want\""
	grep -q "^[[:space:]]*$p\( \\\\\)\?$" "$TOP_SRC/man/man.mk" ||
		bad "$p is not listed in man/man.mk (it would not be installed)"
done
finish "$n page(s) lint-clean"
