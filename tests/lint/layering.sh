#!/bin/bash
# The tree's layering, checked on every #include "...": common/ is shared
# by every process and includes only common/; daemon/ (parent, worker)
# includes common/ and daemon/; keyd/ includes common/ and keyd/; the
# crypto core (keyd/crypto/) and the attestation verifier (keyd/attest/)
# are leaves that include common/, themselves and (attest) the crypto
# core.  A header is found where the build's -I order finds it: the
# including file's folder first, then common, daemon, keyd, keyd/crypto,
# keyd/attest.  Two inclusions cross on purpose, listed below with why.
case " ${PM_TEST_TIERS:-lint} " in
*" lint "*) ;;
*) echo "SKIP: lint tier not selected"; exit 77 ;;
esac
top=${PM_TOP_SRCDIR:?run from make check}
cd "$top" || exit 1

# "file -> folder of the header": the reasons are in ARCHITECTURE.md.
ALLOWED="
daemon/privatemoded.c -> keyd
daemon/amdchain.h -> keyd/attest
"

layer() {
	case $1 in
	keyd/crypto/*) echo keyd/crypto ;;
	keyd/attest/*) echo keyd/attest ;;
	*) echo "${1%%/*}" ;;
	esac
}

may_include() { # from to
	case "$1:$2" in
	*:common|common:common) return 0 ;;
	daemon:daemon|keyd:keyd|keyd:keyd/crypto|keyd:keyd/attest) return 0 ;;
	keyd/crypto:keyd/crypto|keyd/attest:keyd/attest) return 0 ;;
	keyd/attest:keyd/crypto) return 0 ;;
	esac
	return 1
}

errors=0 checked=0
for f in $(find common daemon keyd -name '*.[ch]' | sort); do
	from=$(layer "$f")
	for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
		[ "$h" = config.h ] && continue
		to=
		for d in "$(dirname "$f")" common daemon keyd keyd/crypto keyd/attest; do
			if [ -f "$d/$h" ]; then
				to=$(layer "$d/$h")
				break
			fi
		done
		if [ -z "$to" ]; then
			echo "FAIL layering: $f includes \"$h\", found nowhere" >&2
			errors=$((errors + 1))
			continue
		fi
		checked=$((checked + 1))
		may_include "$from" "$to" && continue
		printf '%s\n' "$ALLOWED" | grep -qxF "$f -> $to" && continue
		echo "FAIL layering: $f ($from) includes $h ($to)" >&2
		errors=$((errors + 1))
	done
done
[ "$checked" -gt 100 ] || { echo "FAIL layering: only $checked includes seen" >&2; exit 1; }
[ "$errors" -eq 0 ] || exit 1
echo "ok layering: $checked includes, none crossing a layer but the two listed"
