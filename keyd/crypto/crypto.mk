# --- keyd/crypto: pure cryptographic primitives (no I/O) ----------------
libkeyd_a_SOURCES += keyd/crypto/README
