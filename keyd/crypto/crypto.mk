# --- keyd/crypto: pure cryptographic primitives (no I/O) ----------------
libkeyd_a_SOURCES += \
	keyd/crypto/keccak.c keyd/crypto/keccak.h \
	keyd/crypto/mlkem.c keyd/crypto/mlkem.h \
	keyd/crypto/xwing.c keyd/crypto/xwing.h \
	keyd/crypto/hpke.c keyd/crypto/hpke.h \
	keyd/crypto/cerr.c keyd/crypto/cerr.h \
	keyd/crypto/fieldcipher.c keyd/crypto/fieldcipher.h \
	keyd/crypto/jsonmut.c keyd/crypto/jsonmut.h \
	keyd/crypto/sx.c keyd/crypto/sx.h \
	keyd/crypto/shardkey.c keyd/crypto/shardkey.h \
	keyd/crypto/ocsp.c keyd/crypto/ocsp.h \
	keyd/crypto/p384.c keyd/crypto/p384.h
# The JSON scanner lives in common/ but only keyd links it for now.
libkeyd_a_SOURCES += common/json.c common/json.h
EXTRA_DIST += keyd/crypto/README

# C tests for the crypto core.  The helpers in tc.c parse the vector files
# (tests/vectors, or PM_VECTORS when set) with json-c.
CRYPTO_TEST_LDADD = libkeyd.a libcommon.a $(PM_LIBS)
CRYPTO_TC = tests/crypto/tc.c tests/crypto/tc.h
CRYPTO_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/keyd/crypto \
	-I$(top_srcdir)/tests/unit -I$(top_srcdir)/tests/crypto \
	-DPM_VECTORS_DIR='"$(abs_top_srcdir)/tests/vectors"'

CRYPTO_TESTS = \
	tests/crypto/test_keccak \
	tests/crypto/test_mlkem \
	tests/crypto/test_xwing \
	tests/crypto/test_json \
	tests/crypto/test_jsonmut \
	tests/crypto/test_fieldcipher \
	tests/crypto/test_misc \
	tests/crypto/test_sx \
	tests/crypto/test_p384
check_PROGRAMS += $(CRYPTO_TESTS)
TESTS += $(CRYPTO_TESTS)

tests_crypto_test_keccak_SOURCES = tests/crypto/test_keccak.c $(CRYPTO_TC)
tests_crypto_test_keccak_CPPFLAGS = $(CRYPTO_TEST_CPPFLAGS)
tests_crypto_test_keccak_LDADD = $(CRYPTO_TEST_LDADD)
tests_crypto_test_mlkem_SOURCES = tests/crypto/test_mlkem.c $(CRYPTO_TC)
tests_crypto_test_mlkem_CPPFLAGS = $(CRYPTO_TEST_CPPFLAGS)
tests_crypto_test_mlkem_LDADD = $(CRYPTO_TEST_LDADD)
tests_crypto_test_xwing_SOURCES = tests/crypto/test_xwing.c $(CRYPTO_TC)
tests_crypto_test_xwing_CPPFLAGS = $(CRYPTO_TEST_CPPFLAGS)
tests_crypto_test_xwing_LDADD = $(CRYPTO_TEST_LDADD)
tests_crypto_test_json_SOURCES = tests/crypto/test_json.c fuzz/json_ref.c
tests_crypto_test_json_CPPFLAGS = $(CRYPTO_TEST_CPPFLAGS)
tests_crypto_test_json_LDADD = $(CRYPTO_TEST_LDADD)
tests_crypto_test_jsonmut_SOURCES = tests/crypto/test_jsonmut.c
tests_crypto_test_jsonmut_CPPFLAGS = $(CRYPTO_TEST_CPPFLAGS)
tests_crypto_test_jsonmut_LDADD = $(CRYPTO_TEST_LDADD)
tests_crypto_test_fieldcipher_SOURCES = tests/crypto/test_fieldcipher.c \
	$(CRYPTO_TC)
tests_crypto_test_fieldcipher_CPPFLAGS = $(CRYPTO_TEST_CPPFLAGS)
tests_crypto_test_fieldcipher_LDADD = $(CRYPTO_TEST_LDADD)
tests_crypto_test_misc_SOURCES = tests/crypto/test_misc.c
tests_crypto_test_misc_CPPFLAGS = $(CRYPTO_TEST_CPPFLAGS)
tests_crypto_test_misc_LDADD = $(CRYPTO_TEST_LDADD)
tests_crypto_test_sx_SOURCES = tests/crypto/test_sx.c $(CRYPTO_TC)
tests_crypto_test_sx_CPPFLAGS = $(CRYPTO_TEST_CPPFLAGS)
tests_crypto_test_sx_LDADD = $(CRYPTO_TEST_LDADD)
tests_crypto_test_p384_SOURCES = tests/crypto/test_p384.c
tests_crypto_test_p384_CPPFLAGS = $(CRYPTO_TEST_CPPFLAGS)
tests_crypto_test_p384_LDADD = $(CRYPTO_TEST_LDADD)
# Interop with independent JavaScript peers (tests/package.json): a C
# driver of the core, and node scripts run by interop.sh.
check_PROGRAMS += tests/crypto/kemtool
tests_crypto_kemtool_SOURCES = tests/crypto/kemtool.c $(CRYPTO_TC)
tests_crypto_kemtool_CPPFLAGS = $(CRYPTO_TEST_CPPFLAGS)
tests_crypto_kemtool_LDADD = $(CRYPTO_TEST_LDADD)
TESTS += tests/crypto/interop.sh
EXTRA_DIST += tests/crypto/interop.sh tests/crypto/interop_kem.mjs \
	tests/crypto/interop_field.mjs

# The Go accumulated ML-KEM-768 test at 10 000 iterations (CI runs 100).
check-long: tests/crypto/test_mlkem
	tests/crypto/test_mlkem --accumulated 10000
.PHONY: check-long

# Benchmark (not a test): make bench-crypto.
noinst_PROGRAMS += bench/crypto/bench
bench_crypto_bench_SOURCES = bench/crypto/bench.c
bench_crypto_bench_CPPFLAGS = $(CRYPTO_TEST_CPPFLAGS)
bench_crypto_bench_LDADD = $(CRYPTO_TEST_LDADD)
EXTRA_DIST += bench/crypto/bench.sh bench/crypto/noble.mjs
bench-crypto: bench/crypto/bench
	$(SHELL) $(srcdir)/bench/crypto/bench.sh '$(abs_top_srcdir)' \
	    bench/crypto/bench '$(NODE)'
.PHONY: bench-crypto

include $(srcdir)/fuzz/fuzz.mk
