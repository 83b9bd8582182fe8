#!/bin/bash
# Test switches stay out of production.  For the binary under test:
#  * a production build (configured without --enable-test-hooks; the
#    package build runs this tier with one) refuses insecure_api_connection,
#    test_trust_any_amd_root and a non-https cdn_base_url, from the file or
#    the command line, with an error naming the key, both at "privatemoded
#    -t" and at start (before it binds anything);
#  * a --enable-test-hooks build accepts them (the tests need them), says
#    so in --version and at every start, and "make install" refuses it
#    unless ALLOW_TEST_HOOKS_INSTALL=yes, leaving no binary behind;
#  * a production build installs, and says nothing of test hooks.
. "$PM_TOP_SRCDIR/tests/ops/lib.sh"
require_tier lint
[ -x "$PM_BIN" ] || fail "$PM_BIN not built"
T=$(mktemp -d "${TMPDIR:-/tmp}/pm-switches.XXXXXX")
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"

if "$PM_BIN" -V | grep -q "test hooks"; then
	shape="test hooks"
else
	shape=production
fi
note "binary: $("$PM_BIN" -V | head -1) -> $shape"

runas=nobody
id nobody >/dev/null 2>&1 || runas=$(id -un)
# Nothing in it can start serving: ca_file is missing, so a start that
# passes validation ends at "CA bundle", after the start-up warnings.
base() {
	printf 'user %s\nworkspace %s/ws\nlisten 127.0.0.1:0\nmetrics_listen none\nworkers 1\nca_file %s/no-such-ca.pem\n' \
	    "$runas" "$T" "$T"
}

# case: label | config line | command-line flag | what the error names
cat >"$T/cases" <<'EOF'
insecure_api_connection in the file|insecure_api_connection yes||insecure_api_connection: test-only setting refused
insecure_api_connection on the command line||--insecureAPIConnection|command line: insecure_api_connection: test-only setting refused
test_trust_any_amd_root in the file|test_trust_any_amd_root yes||test_trust_any_amd_root: test-only setting refused
http:// cdn_base_url in the file|cdn_base_url http://cdn.example/privatemode/v2||cdn_base_url: must be an https:// URL
http:// cdn_base_url on the command line||--cdnBaseURL=http://cdn.example/privatemode/v2|command line: cdn_base_url: must be an https:// URL
EOF

while IFS='|' read -r label line flag msg; do
	{ base; [ -z "$line" ] || echo "$line"; } >"$T/c.conf"
	args=()
	[ -z "$flag" ] || args=("$flag")
	out=$("$PM_BIN" -t -f "$T/c.conf" "${args[@]}" 2>&1)
	st=$?
	if [ "$shape" = production ]; then
		[ "$st" -eq 1 ] && printf '%s\n' "$out" | grep -qF "$msg" &&
		    printf '%s\n' "$out" | grep -q "configuration invalid" ||
			bad "$label: -t did not refuse it (status $st): $out"
		out=$(timeout 120 "$PM_BIN" -d -f "$T/c.conf" "${args[@]}" 2>&1)
		st=$?
		[ "$st" -eq 1 ] && printf '%s\n' "$out" | grep -qF "$msg" ||
			bad "$label: the start did not refuse it (status $st): $out"
		printf '%s\n' "$out" | grep -q "listening on" &&
			bad "$label: the refused start bound a listener"
	else
		[ "$st" -eq 0 ] && printf '%s\n' "$out" | grep -q "configuration OK" ||
			bad "$label: a test build refused it (status $st): $out"
	fi
done <"$T/cases"

# An https cdn_base_url passes in both.
{ base; echo "cdn_base_url https://cdn.example/privatemode/v2"; } >"$T/c.conf"
"$PM_BIN" -t -f "$T/c.conf" >/dev/null 2>&1 || bad "an https cdn_base_url was refused"

# Every start says whether this is a test build; --version too.
base >"$T/c.conf"
out=$(timeout 120 "$PM_BIN" -d -f "$T/c.conf" 2>&1)
printf '%s\n' "$out" | grep -q "CA bundle" || bad "the probe start did not get as far as the CA bundle: $out"
v=$("$PM_BIN" -V)
if [ "$shape" = production ]; then
	printf '%s\n' "$out" | grep -qi "test hooks" && bad "a production build warns of test hooks: $out"
	printf '%s\n' "$v" | grep -qi "test hooks" && bad "a production build's --version: $v"
else
	printf '%s\n' "$out" | grep -q "warning: THIS BUILD HAS TEST HOOKS" ||
		bad "a test build starts without its warning: $out"
	printf '%s\n' "$v" | grep -q "^WARNING: built with --enable-test-hooks" ||
		bad "a test build's --version does not warn: $v"
fi

# make install from this build tree, into a directory of ours.
inst() {	# DESTDIR [VAR=value]: make install's status; its output in $T/inst.log
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} -s -C "$TOP_BUILD" \
	    install DESTDIR="$1" "${@:2}" >"$T/inst.log" 2>&1
}
installed() { find "$1" -type f -name privatemoded | grep -q .; }
if [ ! -f "$TOP_BUILD/Makefile" ]; then
	note "no Makefile in $TOP_BUILD: make install not checked"
elif [ "$shape" = production ]; then
	inst "$T/d1" || bad "make install of a production build failed: $(tail -5 "$T/inst.log")"
	installed "$T/d1" || bad "make install of a production build installed no binary"
else
	# An empty ALLOW_TEST_HOOKS_INSTALL overrides what configure recorded
	# (make distcheck configures its build with =yes).
	inst "$T/d1" ALLOW_TEST_HOOKS_INSTALL= &&
		bad "make install of a test build succeeded: $(tail -5 "$T/inst.log")"
	grep -q "refusing to install a build configured with --enable-test-hooks" "$T/inst.log" ||
		bad "make install of a test build: no clear refusal: $(tail -5 "$T/inst.log")"
	installed "$T/d1" && bad "the refused make install left a binary behind"
	inst "$T/d2" ALLOW_TEST_HOOKS_INSTALL=yes ||
		bad "make install ALLOW_TEST_HOOKS_INSTALL=yes failed: $(tail -5 "$T/inst.log")"
	installed "$T/d2" || bad "make install ALLOW_TEST_HOOKS_INSTALL=yes installed no binary"
fi
finish "$shape build: test switches $([ "$shape" = production ] && echo refused || echo accepted), start and --version say so, make install as intended"
