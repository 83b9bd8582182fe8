#!/bin/sh
# make check: deploy/k8s against the Kubernetes API schemas and the daemon
# (tests/k8s/manifests.test.mjs, node's test runner, TAP output).  Tier
# "node".  Exit 77 (skip) only when node itself is missing or the tier is
# not selected; missing npm packages are a failure (CI installs them:
# scripts/install-deps).
set -u
top=${PM_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/nodecompat.sh"
node_find || { echo "SKIP: node not found"; exit 77; }
case " ${PM_TEST_TIERS:-node} " in
*" node "*) ;;
*) echo "SKIP: node tier not selected (PM_TEST_TIERS=$PM_TEST_TIERS)"; exit 77 ;;
esac
build=${PM_TOP_BUILDDIR:-$top/build}
for m in kubernetes-models yaml; do
	if [ ! -f "$top/tests/node_modules/$m/package.json" ]; then
		echo "FAIL: $top/tests/node_modules/$m is missing: run 'cd tests && npm ci'" >&2
		exit 1
	fi
done
[ -x "$build/privatemoded" ] || { echo "FAIL: $build/privatemoded not built" >&2; exit 1; }
PM_TOP_SRCDIR=$top PM_TOP_BUILDDIR=$build \
	exec "$NODE" --test --test-reporter=tap "$top/tests/k8s/manifests.test.mjs"
