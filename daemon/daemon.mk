# --- the privatemoded binary: parent, network workers, keyd -------------
sbin_PROGRAMS = privatemoded
privatemoded_SOURCES = \
	common/metrics.c common/metrics.h \
	daemon/access.c daemon/access.h \
	daemon/amdchain.c daemon/amdchain.h \
	daemon/apierr.c daemon/apierr.h \
	daemon/dump.c daemon/dump.h \
	daemon/parent.c daemon/parent.h \
	daemon/privatemoded.c daemon/privatemoded.h \
	daemon/proxy.c daemon/proxy.h \
	daemon/reqerr.c \
	daemon/route.c daemon/route.h \
	daemon/server.c daemon/server.h \
	daemon/tls.c daemon/tls.h \
	daemon/upstream.c daemon/upstream.h \
	daemon/worker.c daemon/worker.h \
	daemon/workspace.c daemon/workspace.h
privatemoded_LDADD = libkeyd.a libcommon.a $(PM_LIBS)

# A --enable-test-hooks build has unauthenticated /__test/ routes (one
# kills keyd on request) and accepts the test-only settings, so "make
# install" refuses it unless ALLOW_TEST_HOOKS_INSTALL=yes is given (make
# distcheck does, for its staging tree).  Automake runs this hook after it
# copied the binary; refusing removes that copy again.
install-exec-hook:
if TEST_HOOKS
	@if test "$(ALLOW_TEST_HOOKS_INSTALL)" != yes; then \
	    rm -f "$(DESTDIR)$(sbindir)/privatemoded$(EXEEXT)"; \
	    echo "privatemoded: refusing to install a build configured with" \
	        "--enable-test-hooks: it has unauthenticated /__test/ routes" \
	        "(one kills keyd on request) and accepts insecure test-only" \
	        "settings.  For an installation, configure without" \
	        "--enable-test-hooks (or build the Debian package:" \
	        "scripts/build-deb); on a test machine," \
	        "'make install ALLOW_TEST_HOOKS_INSTALL=yes'." >&2; \
	    exit 1; \
	fi; \
	echo "privatemoded: WARNING: installed a --enable-test-hooks build" \
	    "(ALLOW_TEST_HOOKS_INSTALL=yes): never run it in production" >&2
endif
