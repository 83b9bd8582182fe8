#!/bin/sh
# Crypto interop with the pinned JavaScript peers (tests/package.json).
# Skips (77) only when Node.js is absent or PM_TEST_TIERS names neither
# "node" nor "crypto" (make distcheck's tarball has no node_modules);
# missing node_modules is a failure, so a skipped tier can never hide a
# broken setup.
set -u
src=${PM_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${PM_TOP_BUILDDIR:-$src/build}
rounds=${PM_INTEROP_ROUNDS:-1000}
tool=$build/tests/crypto/kemtool

. "$src/tests/nodecompat.sh"
node_find || { echo "interop: node not found, skipping"; exit 77; }
node=$NODE
case " ${PM_TEST_TIERS:-node} " in
*" node "* | *" crypto "*) ;;
*) echo "interop: node tier not selected (PM_TEST_TIERS=$PM_TEST_TIERS)"; exit 77 ;;
esac
node_compat "$node" "$src" || exit 1
for m in @hpke/core @hpke/hybridkem-x-wing @noble/post-quantum; do
	if [ ! -f "$src/tests/node_modules/$m/package.json" ]; then
		echo "interop: $m missing: run 'cd tests && npm ci'" >&2
		exit 1
	fi
done
if [ ! -x "$tool" ]; then
	echo "interop: $tool not built" >&2
	exit 1
fi
"$node" "$src/tests/crypto/interop_kem.mjs" "$tool" "$rounds" || exit 1
"$node" "$src/tests/crypto/interop_field.mjs" "$tool" 200 || exit 1
