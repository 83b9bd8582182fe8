# C unit tests, one program per module.
UNIT_LDADD = libkeyd.a libcommon.a $(PM_LIBS)
EXTRA_DIST += tests/unit/t.h tests/unit/resp_trace.h

check_PROGRAMS += tests/unit/test_ipc tests/unit/test_chan tests/unit/test_conf \
	tests/unit/test_util tests/unit/test_http tests/unit/test_dpmsg \
	tests/unit/test_egress tests/unit/test_clients tests/unit/test_access \
	tests/unit/test_tlsmsg tests/unit/test_apierr tests/unit/test_sockio
TESTS += tests/unit/test_ipc tests/unit/test_chan tests/unit/test_conf \
	tests/unit/test_util tests/unit/test_http tests/unit/test_dpmsg \
	tests/unit/test_egress tests/unit/test_clients tests/unit/test_access \
	tests/unit/test_tlsmsg tests/unit/test_apierr tests/unit/test_sockio
tests_unit_test_ipc_SOURCES = tests/unit/test_ipc.c
tests_unit_test_ipc_LDADD = $(UNIT_LDADD)
tests_unit_test_chan_SOURCES = tests/unit/test_chan.c
tests_unit_test_chan_LDADD = $(UNIT_LDADD)
tests_unit_test_sockio_SOURCES = tests/unit/test_sockio.c
tests_unit_test_sockio_LDADD = $(UNIT_LDADD)
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_LDADD = $(UNIT_LDADD)
tests_unit_test_util_SOURCES = tests/unit/test_util.c
tests_unit_test_util_LDADD = $(UNIT_LDADD)
tests_unit_test_http_SOURCES = tests/unit/test_http.c
tests_unit_test_http_LDADD = $(UNIT_LDADD)
tests_unit_test_dpmsg_SOURCES = tests/unit/test_dpmsg.c common/metrics.c
tests_unit_test_dpmsg_LDADD = $(UNIT_LDADD)
# test_tlsmsg makes PSS encodings with OpenSSL's deprecated RSA padding
# function, which is what the worker's RSA_METHOD receives.
tests_unit_test_tlsmsg_SOURCES = tests/unit/test_tlsmsg.c
tests_unit_test_tlsmsg_CPPFLAGS = $(AM_CPPFLAGS) -DOPENSSL_SUPPRESS_DEPRECATED
tests_unit_test_tlsmsg_LDADD = $(UNIT_LDADD)
tests_unit_test_egress_SOURCES = tests/unit/test_egress.c
tests_unit_test_egress_LDADD = $(UNIT_LDADD)
tests_unit_test_clients_SOURCES = tests/unit/test_clients.c
# usage.c (libcommon) reads JSON with common/json.c, which libkeyd holds.
tests_unit_test_clients_LDADD = libcommon.a $(UNIT_LDADD)
tests_unit_test_access_SOURCES = tests/unit/test_access.c daemon/access.c \
	common/metrics.c
tests_unit_test_access_LDADD = libcommon.a $(UNIT_LDADD)
tests_unit_test_apierr_SOURCES = tests/unit/test_apierr.c daemon/apierr.c
tests_unit_test_apierr_LDADD = $(UNIT_LDADD)

# AMD's chains as the parent picks and checks them (daemon/amdchain.c),
# against the copies in data/amd/: the build-time fingerprint check.
check_PROGRAMS += tests/unit/test_amdchain
TESTS += tests/unit/test_amdchain
tests_unit_test_amdchain_SOURCES = tests/unit/test_amdchain.c \
	daemon/amdchain.c daemon/amdchain.h
tests_unit_test_amdchain_CPPFLAGS = $(AM_CPPFLAGS) \
	-DPM_AMD_CHAIN_SRCDIR='"$(abs_top_srcdir)/data/amd"'
tests_unit_test_amdchain_LDADD = $(UNIT_LDADD)
