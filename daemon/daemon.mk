# --- the privatemoded binary: parent, network workers, keyd -------------
sbin_PROGRAMS = privatemoded
privatemoded_SOURCES = \
	common/metrics.c common/metrics.h \
	daemon/amdchain.c daemon/amdchain.h \
	daemon/bevio.c daemon/bevio.h \
	daemon/parent.c daemon/parent.h \
	daemon/privatemoded.c daemon/privatemoded.h \
	daemon/proxy.c daemon/proxy.h \
	daemon/route.c daemon/route.h \
	daemon/server.c daemon/server.h \
	daemon/tls.c daemon/tls.h \
	daemon/upstream.c daemon/upstream.h \
	daemon/worker.c daemon/worker.h \
	daemon/workspace.c daemon/workspace.h
privatemoded_LDADD = libkeyd.a libcommon.a $(PM_LIBS)
