# libFuzzer targets for the attestation parsers, built with clang when
# configure found it, and a bounded run of each from "make check".
EXTRA_DIST += fuzz/attest/fuzz_proto.c fuzz/attest/fuzz_report.c \
	fuzz/attest/fuzz_json.c fuzz/attest/fuzz_tdx_quote.c \
	fuzz/attest/fuzz_tdx_coll.c fuzz/attest/run-fuzz.sh \
	fuzz/attest/make-seeds.py fuzz/attest/corpus

if HAVE_CLANG
ATTEST_FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined -I$(abs_top_builddir) \
	-I$(abs_top_srcdir)/keyd/attest -I$(abs_top_srcdir)/common \
	-I$(abs_top_srcdir)/keyd/crypto \
	$(OPENSSL_CFLAGS) $(JSONC_CFLAGS) $(NETTLE_CFLAGS) \
	-DPM_INTEL_SAMPLE_DIR='"$(abs_top_srcdir)/tests/attest/intel"'
ATTEST_FUZZ_LIBS = $(OPENSSL_LIBS) $(JSONC_LIBS) $(NETTLE_LIBS) $(GMP_LIBS)
ATTEST_FUZZ_SRC = chain.c codec.c coord.c idkey.c manifest.c proto.c \
	reason.c report.c validate.c vcek.c verify.c tdx_quote.c tdx_pck.c \
	tdx_coll.c tdx_verify.c tdx_trust.c
ATTEST_FUZZ_DEPS = $(ATTEST_FUZZ_SRC:%=$(top_srcdir)/keyd/attest/%) \
	$(top_srcdir)/keyd/attest/attest.h $(top_srcdir)/keyd/attest/attest_int.h \
	$(top_srcdir)/common/util.h $(top_srcdir)/keyd/crypto/p384.c \
	$(top_srcdir)/keyd/crypto/p384.h $(top_srcdir)/common/attest_reason.c \
	$(top_srcdir)/common/attest_reason.h
ATTEST_FUZZERS = fuzz/attest/fuzz_proto fuzz/attest/fuzz_report \
	fuzz/attest/fuzz_json fuzz/attest/fuzz_tdx_quote fuzz/attest/fuzz_tdx_coll

fuzz/attest/libattest-fuzz.a: $(ATTEST_FUZZ_DEPS)
	$(AM_V_GEN)rm -rf fuzz/attest/obj && $(MKDIR_P) fuzz/attest/obj && \
	(cd fuzz/attest/obj && $(CLANG) $(ATTEST_FUZZ_CFLAGS) -c \
	    $(ATTEST_FUZZ_SRC:%=$(abs_top_srcdir)/keyd/attest/%) \
	    $(abs_top_srcdir)/keyd/crypto/p384.c \
	    $(abs_top_srcdir)/common/attest_reason.c) && \
	rm -f $@ && $(AR) cr $@ fuzz/attest/obj/*.o && $(RANLIB) $@

fuzz/attest/fuzz_proto: $(top_srcdir)/fuzz/attest/fuzz_proto.c \
    fuzz/attest/libattest-fuzz.a
	$(AM_V_CCLD)$(CLANG) $(ATTEST_FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ \
	    $(top_srcdir)/fuzz/attest/fuzz_proto.c \
	    fuzz/attest/libattest-fuzz.a $(ATTEST_FUZZ_LIBS)
fuzz/attest/fuzz_report: $(top_srcdir)/fuzz/attest/fuzz_report.c \
    fuzz/attest/libattest-fuzz.a
	$(AM_V_CCLD)$(CLANG) $(ATTEST_FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ \
	    $(top_srcdir)/fuzz/attest/fuzz_report.c \
	    fuzz/attest/libattest-fuzz.a $(ATTEST_FUZZ_LIBS)
fuzz/attest/fuzz_json: $(top_srcdir)/fuzz/attest/fuzz_json.c \
    fuzz/attest/libattest-fuzz.a
	$(AM_V_CCLD)$(CLANG) $(ATTEST_FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ \
	    $(top_srcdir)/fuzz/attest/fuzz_json.c \
	    fuzz/attest/libattest-fuzz.a $(ATTEST_FUZZ_LIBS)

fuzz/attest/fuzz_tdx_quote: $(top_srcdir)/fuzz/attest/fuzz_tdx_quote.c \
    fuzz/attest/libattest-fuzz.a
	$(AM_V_CCLD)$(CLANG) $(ATTEST_FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ \
	    $(top_srcdir)/fuzz/attest/fuzz_tdx_quote.c \
	    fuzz/attest/libattest-fuzz.a $(ATTEST_FUZZ_LIBS)
fuzz/attest/fuzz_tdx_coll: $(top_srcdir)/fuzz/attest/fuzz_tdx_coll.c \
    fuzz/attest/libattest-fuzz.a
	$(AM_V_CCLD)$(CLANG) $(ATTEST_FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ \
	    $(top_srcdir)/fuzz/attest/fuzz_tdx_coll.c \
	    fuzz/attest/libattest-fuzz.a $(ATTEST_FUZZ_LIBS)

# The test is a copy of the runner that depends on the fuzzers, so that
# "make check" builds them first.
fuzz/attest/attest-fuzz.sh: $(top_srcdir)/fuzz/attest/run-fuzz.sh \
    $(ATTEST_FUZZERS)
	$(AM_V_GEN)cp $(top_srcdir)/fuzz/attest/run-fuzz.sh $@ && chmod +x $@

TESTS += fuzz/attest/attest-fuzz.sh
CLEANFILES += fuzz/attest/attest-fuzz.sh $(ATTEST_FUZZERS) \
	fuzz/attest/libattest-fuzz.a fuzz/attest/obj/*.o fuzz/attest/*.log
endif
