# --- tests/sim: the simulated Privatemode deployment (Node >= 18) -------
# Self-tests run under make check (tests/sim/sim.sh); `make demo` starts the
# simulator and the daemon together (tests/sim/demo.sh).
TESTS += tests/sim/sim.sh
EXTRA_DIST += tests/sim/sim.sh tests/sim/demo.sh tests/sim/simlib.sh tests/sim/sim.mjs \
	tests/sim/pki.sh tests/sim/manifest.template.json \
	tests/sim/coordinator-policy.toml tests/sim/README.md \
	tests/sim/lib/coordinator.mjs tests/sim/lib/faults.mjs \
	tests/sim/lib/fieldcipher.mjs tests/sim/lib/h2.mjs tests/sim/lib/http.mjs \
	tests/sim/lib/idkey.mjs tests/sim/lib/inference.mjs \
	tests/sim/lib/multipart.mjs tests/sim/lib/protobuf.mjs \
	tests/sim/lib/secretsvc.mjs tests/sim/lib/server.mjs \
	tests/sim/lib/snp.mjs tests/sim/lib/sse.mjs tests/sim/lib/state.mjs \
	tests/sim/lib/traverse.mjs tests/sim/lib/replay.mjs tests/sim/lib/tdx.mjs \
	tests/sim/test/asn1.mjs tests/sim/test/client.mjs \
	tests/sim/test/harness.mjs tests/sim/test/pbdecode.mjs \
	tests/sim/test/attest.test.mjs tests/sim/test/faults.test.mjs \
	tests/sim/test/http.test.mjs tests/sim/test/inference.test.mjs \
	tests/sim/test/vectors.test.mjs tests/sim/test/refproxy.mjs \
	tests/sim/test/sdk.test.mjs tests/sim/test/h2.test.mjs \
	tests/sim/test/h2client.mjs tests/sim/test/h2frames.mjs \
	tests/sim/test/tdx.test.mjs tests/sim/test/tdxclient.mjs

# DEMO_PORT (default 8080), DEMO_MODE (https|http), PM_DAEMON override.
.PHONY: demo
demo: all
	PM_TOP_SRCDIR='$(abs_top_srcdir)' PM_TOP_BUILDDIR='$(abs_top_builddir)' \
	PM_NODE='$(NODE)' $(SHELL) '$(abs_top_srcdir)/tests/sim/demo.sh'
