# --- tests: unit (C), integration (shell, as root), node peers ----------
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = bash
AM_TESTS_ENVIRONMENT = \
	PM_TOP_SRCDIR='$(abs_top_srcdir)'; export PM_TOP_SRCDIR; \
	PM_TOP_BUILDDIR='$(abs_top_builddir)'; export PM_TOP_BUILDDIR; \
	PM_VECTORS=$${PM_VECTORS:-'$(abs_top_srcdir)/tests/vectors'}; export PM_VECTORS; \
	PM_NODE='$(NODE)'; export PM_NODE;

include $(srcdir)/tests/unit/unit.mk
include $(srcdir)/tests/integration/integration.mk
include $(srcdir)/tests/sim/sim.mk
include $(srcdir)/tests/ops/ops.mk
include $(srcdir)/tests/e2e/e2e.mk
include $(srcdir)/tests/k8s/k8s.mk
TESTS += tests/lint/cppcheck.sh
EXTRA_DIST += tests/lint/cppcheck.sh
# Official test vectors, copied verbatim (tests/vectors/README.md: source,
# version, SHA-256 of each); data_sha256.sh checks them against it.
EXTRA_DIST += tests/vectors/README.md \
	tests/vectors/hpke-pq-test-vectors.json \
	tests/vectors/rfc9180-A7-export-only-base.txt \
	tests/vectors/xwing-draft-test-vectors.json \
	tests/vectors/wycheproof/mlkem_768_encaps_test.json \
	tests/vectors/wycheproof/mlkem_768_keygen_seed_test.json \
	tests/vectors/wycheproof/mlkem_768_semi_expanded_decaps_test.json \
	tests/vectors/wycheproof/mlkem_768_test.json
TESTS += tests/lint/data_sha256.sh
EXTRA_DIST += tests/lint/data_sha256.sh
TESTS += tests/lint/layering.sh
EXTRA_DIST += tests/lint/layering.sh
# Node 18 (Debian 12) support for every wrapper that runs node.
EXTRA_DIST += tests/nodecompat.sh tests/node18.cjs
# The whole daemon under Valgrind; runs only in a --with-sandbox=none build.
TESTS += tests/valgrind/valgrind.sh
EXTRA_DIST += tests/valgrind/valgrind.sh
