# Benchmarks (not tests: neither make check nor CI runs them).
#   make bench          all of them (bench-crypto is in keyd/crypto/crypto.mk)
#   make bench-proxy    privatemoded vs nginx in front of tests/sim
#   make bench-attest   start-up time, keyd CPU per exchange/attestation
#   make bench-tls      client TLS connections per second, new and resumed
#                       (BENCH_TLS_BEFORE=<binary> adds a column for it)
#   make soak           SOAK_MINUTES (30) of mixed traffic while workers and
#                       keyds are killed, the config reloaded and the
#                       simulator injects faults; not part of make bench
# They need node and tests/node_modules (cd tests && npm ci); bench-proxy
# also needs nginx and wrk (bench/proxy/bench.sh installs them with
# apt-get when run as root and they are missing).  See bench/README.md.
EXTRA_DIST += bench/README.md bench/lib/common.mjs bench/proxy/bench.sh \
	bench/proxy/bench.mjs bench/proxy/post.lua bench/attest/bench.sh \
	bench/attest/bench.mjs bench/tls/bench.sh \
	bench/soak/soak.sh bench/soak/soak.mjs

bench-proxy: privatemoded
	$(SHELL) $(srcdir)/bench/proxy/bench.sh '$(abs_top_srcdir)' \
	    '$(abs_top_builddir)/privatemoded' '$(NODE)'
bench-attest: privatemoded tests/attest/bench_attest
	$(SHELL) $(srcdir)/bench/attest/bench.sh '$(abs_top_srcdir)' \
	    '$(abs_top_builddir)/privatemoded' '$(NODE)' \
	    '$(abs_top_builddir)/tests/attest/bench_attest'
bench-tls: privatemoded
	$(SHELL) $(srcdir)/bench/tls/bench.sh \
	    '$(abs_top_builddir)/privatemoded' 5 '$(BENCH_TLS_BEFORE)'
soak: privatemoded
	$(SHELL) $(srcdir)/bench/soak/soak.sh '$(abs_top_srcdir)' \
	    '$(abs_top_builddir)/privatemoded' '$(NODE)'
bench: bench-crypto bench-proxy bench-attest bench-tls
.PHONY: bench bench-proxy bench-attest bench-tls soak
