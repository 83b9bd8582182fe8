# Attestation verifier tests: unit tests, the end-to-end matrix on
# generated fixtures, and the benchmark (built, not run).
ATTEST_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/keyd/attest \
	-I$(top_srcdir)/tests/unit -I$(top_srcdir)/tests/attest
ATTEST_TEST_LDADD = libkeyd.a libcommon.a $(PM_LIBS)
ATTEST_FIXTURE = tests/attest/fixture.c tests/attest/fixture.h
EXTRA_DIST += tests/attest/sim-crosscheck.sh
# A real Milan VCEK and the report it signed (provenance in the README).
EXTRA_DIST += tests/attest/amd/README.md tests/attest/amd/vcek.testcer \
	tests/attest/amd/attestation.bin

# Intel's TDX samples (go-tdx-guest test data) and Intel's SGX root.
EXTRA_DIST += tests/attest/intel/README.md \
	tests/attest/intel/tdx_prod_quote_SPR_E4.dat \
	tests/attest/intel/quote_v5_sample.dat \
	tests/attest/intel/sample_tcbInfo_response \
	tests/attest/intel/sample_qeIdentity_response \
	tests/attest/intel/pckcrl tests/attest/intel/rootcrl.der \
	tests/attest/intel/tcbinfo-issuer-chain \
	tests/attest/intel/qeidentity-issuer-chain \
	tests/attest/intel/pckcrl-issuer-chain
ATTEST_TDX_FIXTURE = tests/attest/tdx_fixture.c tests/attest/tdx_fixture.h

check_PROGRAMS += tests/attest/test_attest_units \
	tests/attest/test_attest_verify tests/attest/bench_attest \
	tests/attest/attest_cli tests/attest/test_attest_intel \
	tests/attest/test_attest_tdx
TESTS += tests/attest/test_attest_units tests/attest/test_attest_verify \
	tests/attest/test_attest_intel tests/attest/test_attest_tdx

tests_attest_test_attest_tdx_SOURCES = tests/attest/test_attest_tdx.c \
	$(ATTEST_TDX_FIXTURE)
tests_attest_test_attest_tdx_CPPFLAGS = $(ATTEST_TEST_CPPFLAGS)
tests_attest_test_attest_tdx_LDADD = $(ATTEST_TEST_LDADD)

tests_attest_test_attest_intel_SOURCES = tests/attest/test_attest_intel.c \
	$(ATTEST_TDX_FIXTURE)
tests_attest_test_attest_intel_CPPFLAGS = $(ATTEST_TEST_CPPFLAGS) \
	-DPM_INTEL_SAMPLE_DIR='"$(abs_top_srcdir)/tests/attest/intel"' \
	-DPM_INTEL_ROOT_DIR='"$(abs_top_srcdir)/data/intel"'
tests_attest_test_attest_intel_LDADD = $(ATTEST_TEST_LDADD)

tests_attest_test_attest_units_SOURCES = tests/attest/test_attest_units.c
# AMD's chains as shipped and go-sev-guest's real Milan sample, in place.
tests_attest_test_attest_units_CPPFLAGS = $(ATTEST_TEST_CPPFLAGS) \
	-DPM_AMD_CHAIN_SRCDIR='"$(abs_top_srcdir)/data/amd"' \
	-DPM_AMD_SAMPLE_DIR='"$(abs_top_srcdir)/tests/attest/amd"'

tests_attest_test_attest_units_LDADD = $(ATTEST_TEST_LDADD)

tests_attest_test_attest_verify_SOURCES = \
	tests/attest/test_attest_verify.c $(ATTEST_FIXTURE)
tests_attest_test_attest_verify_CPPFLAGS = $(ATTEST_TEST_CPPFLAGS)
tests_attest_test_attest_verify_LDADD = $(ATTEST_TEST_LDADD)

tests_attest_bench_attest_SOURCES = tests/attest/bench_attest.c \
	$(ATTEST_FIXTURE) $(ATTEST_TDX_FIXTURE)
tests_attest_bench_attest_CPPFLAGS = $(ATTEST_TEST_CPPFLAGS)
tests_attest_bench_attest_LDADD = $(ATTEST_TEST_LDADD)

tests_attest_attest_cli_SOURCES = tests/attest/attest_cli.c
tests_attest_attest_cli_CPPFLAGS = $(ATTEST_TEST_CPPFLAGS)
tests_attest_attest_cli_LDADD = $(ATTEST_TEST_LDADD)
