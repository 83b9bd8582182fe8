# --- keyd: key daemon, crypto core, attestation -------------------------
noinst_LIBRARIES += libkeyd.a
libkeyd_a_SOURCES =
include $(srcdir)/keyd/crypto/crypto.mk
include $(srcdir)/keyd/attest/attest.mk
