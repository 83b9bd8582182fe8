# --- the privatemoded binary: parent and network workers ----------------
sbin_PROGRAMS = privatemoded
privatemoded_SOURCES = \
	daemon/privatemoded.c daemon/privatemoded.h
privatemoded_LDADD = libkeyd.a libcommon.a $(PM_LIBS)
