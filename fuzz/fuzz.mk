# --- fuzz: libFuzzer targets for the JSON walk, the field cipher and the
# HTTP and multipart parsers ------------------------------------------------
# Built with clang's sanitizers straight from the sources (not from
# libkeyd.a, whose gcc objects carry no coverage), only when configure
# found clang.  fuzz/run.sh runs each for PM_FUZZ_SECONDS (default 20).
EXTRA_DIST += fuzz/fuzz_json.c fuzz/json_ref.c fuzz/fuzz_fieldmsg.c \
	fuzz/fuzz_http.c fuzz/fuzz_multipart.c fuzz/fuzz_h2.c \
	fuzz/make-h2-seeds.py fuzz/run.sh fuzz/campaign.sh fuzz/README.md \
	fuzz/corpus

if HAVE_CLANG
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -Wall -Wextra -Wno-unused-parameter
FUZZ_CPPFLAGS = -I$(top_builddir) -I$(top_srcdir)/common -I$(top_srcdir)/keyd \
	-I$(top_srcdir)/tests/unit \
	-I$(top_srcdir)/keyd/crypto $(OPENSSL_CFLAGS) $(SODIUM_CFLAGS)
FUZZ_COMMON = $(srcdir)/common/buf.c $(srcdir)/common/util.c \
	$(srcdir)/common/log.c $(srcdir)/keyd/crypto/cerr.c
FUZZ_JSON_SRC = $(srcdir)/fuzz/fuzz_json.c $(srcdir)/fuzz/json_ref.c \
	$(srcdir)/common/json.c \
	$(srcdir)/keyd/crypto/jsonmut.c $(FUZZ_COMMON)
FUZZ_FIELD_SRC = $(srcdir)/fuzz/fuzz_fieldmsg.c \
	$(srcdir)/keyd/crypto/fieldcipher.c $(FUZZ_COMMON)
FUZZ_HTTP_SRC = $(srcdir)/fuzz/fuzz_http.c $(srcdir)/common/http.c \
	$(srcdir)/keyd/resp.c $(FUZZ_COMMON)
FUZZ_MULTIPART_SRC = $(srcdir)/fuzz/fuzz_multipart.c \
	$(srcdir)/common/multipart.c $(FUZZ_COMMON)
FUZZ_H2_SRC = $(srcdir)/fuzz/fuzz_h2.c $(srcdir)/keyd/h2.c \
	$(srcdir)/common/http.c $(FUZZ_COMMON)
FUZZ_HDRS = $(srcdir)/common/buf.h $(srcdir)/common/json.h \
	$(srcdir)/common/http.h $(srcdir)/keyd/resp.h $(srcdir)/common/multipart.h \
	$(srcdir)/tests/unit/resp_trace.h \
	$(srcdir)/common/util.h $(srcdir)/common/log.h \
	$(srcdir)/keyd/crypto/cerr.h $(srcdir)/keyd/crypto/jsonmut.h \
	$(srcdir)/keyd/crypto/fieldcipher.h

fuzz/fuzz_json: $(FUZZ_JSON_SRC) $(FUZZ_HDRS) config.h
	@$(MKDIR_P) fuzz
	$(AM_V_CC)$(CLANG) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ \
	    $(FUZZ_JSON_SRC) $(OPENSSL_LIBS) $(SODIUM_LIBS)
fuzz/fuzz_fieldmsg: $(FUZZ_FIELD_SRC) $(FUZZ_HDRS) config.h
	@$(MKDIR_P) fuzz
	$(AM_V_CC)$(CLANG) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ \
	    $(FUZZ_FIELD_SRC) $(OPENSSL_LIBS) $(SODIUM_LIBS)

fuzz/fuzz_http: $(FUZZ_HTTP_SRC) $(FUZZ_HDRS) config.h
	@$(MKDIR_P) fuzz
	$(AM_V_CC)$(CLANG) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ \
	    $(FUZZ_HTTP_SRC) $(OPENSSL_LIBS) $(SODIUM_LIBS)
fuzz/fuzz_h2: $(FUZZ_H2_SRC) $(FUZZ_HDRS) $(srcdir)/keyd/kd.h config.h
	@$(MKDIR_P) fuzz
	$(AM_V_CC)$(CLANG) $(FUZZ_CPPFLAGS) $(NGHTTP2_CFLAGS) $(FUZZ_CFLAGS) \
	    -o $@ $(FUZZ_H2_SRC) $(NGHTTP2_LIBS) $(OPENSSL_LIBS) $(SODIUM_LIBS)
fuzz/fuzz_multipart: $(FUZZ_MULTIPART_SRC) $(FUZZ_HDRS) config.h
	@$(MKDIR_P) fuzz
	$(AM_V_CC)$(CLANG) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ \
	    $(FUZZ_MULTIPART_SRC) $(OPENSSL_LIBS) $(SODIUM_LIBS)

check_SCRIPTS = fuzz/fuzz_json fuzz/fuzz_fieldmsg fuzz/fuzz_http fuzz/fuzz_h2 \
	fuzz/fuzz_multipart
TESTS += fuzz/run.sh
CLEANFILES += fuzz/fuzz_json fuzz/fuzz_fieldmsg fuzz/fuzz_http \
	fuzz/fuzz_multipart fuzz/fuzz_h2
endif
