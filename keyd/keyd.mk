# --- keyd: key daemon, crypto core, attestation -------------------------
noinst_LIBRARIES += libkeyd.a
libkeyd_a_SOURCES = keyd/keyd.c keyd/keyd.h keyd/sandbox.h
if SANDBOX_SECCOMP
libkeyd_a_SOURCES += keyd/sandbox-seccomp.c
else
libkeyd_a_SOURCES += keyd/sandbox-null.c
endif
EXTRA_DIST += keyd/sandbox-seccomp.c keyd/sandbox-null.c
include $(srcdir)/keyd/crypto/crypto.mk
include $(srcdir)/keyd/attest/attest.mk
