# --- keyd: key daemon, crypto core, attestation -------------------------
noinst_LIBRARIES += libkeyd.a
libkeyd_a_SOURCES = keyd/keyd.c keyd/keyd.h keyd/kd.h \
	keyd/fetch.c keyd/h2.c keyd/ktun.c \
	keyd/relay.c keyd/resp.c keyd/resp.h keyd/seal.c keyd/seal.h \
	keyd/secret.c keyd/tunnel.c keyd/tunnel.h
include $(srcdir)/keyd/crypto/crypto.mk
include $(srcdir)/keyd/attest/attest.mk
