# --- tests/e2e: the real daemon against the simulator and the SDKs -------
# One wrapper (node's test runner, one file at a time); see tests/e2e/README.md.
TESTS += tests/e2e/e2e.sh
EXTRA_DIST += tests/e2e/e2e.sh tests/e2e/README.md tests/e2e/lib/harness.mjs tests/e2e/lib/simconf.mjs \
	tests/e2e/attest.test.mjs tests/e2e/tdx.test.mjs tests/e2e/api.test.mjs \
	tests/e2e/sdk.test.mjs tests/e2e/badinput.test.mjs \
	tests/e2e/load.test.mjs tests/e2e/features.test.mjs \
	tests/e2e/boundary.test.mjs tests/e2e/egress.test.mjs \
	tests/e2e/h2.test.mjs tests/e2e/clients.test.mjs
