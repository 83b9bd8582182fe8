# Read together with the build's Makefile by debian/rules: prints the
# tests the package build runs (the C unit tests and tests/ops, whose
# scripts skip themselves unless their tier is in PM_TEST_TIERS).
print-build-tests:
	@echo $(filter tests/unit/% tests/ops/%,$(TESTS))
