# --- keyd/attest: Contrast/SEV-SNP attestation verifier (pure, no I/O) ---
libkeyd_a_SOURCES += \
	keyd/attest/attest.h keyd/attest/attest_int.h \
	keyd/attest/chain.c keyd/attest/codec.c keyd/attest/coord.c \
	keyd/attest/idkey.c keyd/attest/manifest.c keyd/attest/proto.c \
	keyd/attest/reason.c keyd/attest/report.c keyd/attest/validate.c \
	keyd/attest/vcek.c keyd/attest/verify.c keyd/attest/tdx_quote.c \
	keyd/attest/tdx_pck.c keyd/attest/tdx_coll.c keyd/attest/tdx_verify.c \
	keyd/attest/tdx_trust.c
EXTRA_DIST += keyd/attest/README.md
include $(srcdir)/tests/attest/attest.mk
include $(srcdir)/fuzz/attest/fuzz.mk
