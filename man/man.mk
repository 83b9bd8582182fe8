# --- man/: mdoc pages, installed by make install and by the package -----
# make check lints them (tests/ops/man_lint.sh) and compares the key list
# of privatemode.conf(5) with the daemon's (tests/ops/conf_keys.sh).
dist_man_MANS = \
	man/privatemoded.8 \
	man/privatemode.conf.5 \
	man/privatemode-keyd.8
