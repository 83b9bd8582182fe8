# Integration tests: shell scripts driving the real daemon on loopback,
# as root (they skip, exit 77, otherwise).
check_PROGRAMS += tests/integration/memscan tests/integration/notifyrecv
tests_integration_memscan_SOURCES = tests/integration/memscan.c
tests_integration_notifyrecv_SOURCES = tests/integration/notifyrecv.c
INTEGRATION_TESTS = \
	tests/integration/config_check.sh \
	tests/integration/amd_chains.sh \
	tests/integration/demo_chains.sh \
	tests/integration/proctree.sh \
	tests/integration/seccomp_kill.sh \
	tests/integration/respawn.sh \
	tests/integration/startup_order.sh \
	tests/integration/reload.sh \
	tests/integration/drain.sh \
	tests/integration/memscan.sh \
	tests/integration/http_errors.sh \
	tests/integration/limits.sh \
	tests/integration/tls.sh \
	tests/integration/tls_keyd.sh \
	tests/integration/metrics.sh \
	tests/integration/sdnotify.sh \
	tests/integration/keyd_fatal.sh \
	tests/integration/watchdog.sh \
	tests/integration/readyz.sh \
	tests/integration/private_tree.sh \
	tests/integration/unprivileged.sh
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh
