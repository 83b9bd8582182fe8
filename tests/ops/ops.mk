# --- tests/ops: packaging, unit and documentation checks ---------------
# Tiers (PM_TEST_TIERS, unset = all): lint (no root), package (root:
# builds and installs the .deb).  See tests/ops/lib.sh.
AM_TESTS_ENVIRONMENT += PM_MANDOC='$(MANDOC)'; export PM_MANDOC;
OPS_TESTS = \
	tests/ops/man_lint.sh \
	tests/ops/conf_keys.sh \
	tests/ops/test_switches.sh \
	tests/ops/unit_consistency.sh \
	tests/ops/unit_security.sh \
	tests/ops/unit_syscalls.sh \
	tests/ops/install.sh \
	tests/ops/image.sh
TESTS += $(OPS_TESTS)
EXTRA_DIST += $(OPS_TESTS) tests/ops/lib.sh
