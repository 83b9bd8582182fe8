#!/bin/bash
# The configuration keys agree everywhere:
#  * every key "privatemoded -K" prints has an ".It Cm key" entry in
#    privatemode.conf(5), and every entry there is a key the daemon knows;
#  * each entry states the key's default and official flag as -K prints
#    them, is marked "restart" / "Test only" exactly when CONFIG_KEYS
#    flags it CF_RESTART / CF_TESTONLY, and has a ".Dl key value" example;
#  * the examples, all together, are a configuration "privatemoded -t"
#    accepts (with their secret files and user made to exist);
#  * the generated conffile (scripts/gen-conffile) lists every key once,
#    commented out at exactly its default, and uncommenting every default
#    gives a configuration "privatemoded -t" accepts; its examples for
#    keys without a default parse.
. "$PM_TOP_SRCDIR/tests/ops/lib.sh"
require_tier lint
[ -x "$PM_BIN" ] || fail "$PM_BIN not built"
MAN=$TOP_SRC/man/privatemode.conf.5
CONF_H=$TOP_SRC/common/conf.h
T=$(mktemp -d "${TMPDIR:-/tmp}/pm-confkeys.XXXXXX")
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"

pm_keys >"$T/keys" || fail "privatemoded -K failed"
[ -s "$T/keys" ] || fail "privatemoded -K printed nothing"
cut -f1 "$T/keys" | sort >"$T/k.sorted"

# Flags per key from CONFIG_KEYS (restart / testonly).
awk '/^[ \t]*X\(/ { s = $0; sub(/^[ \t]*X\(/, "", s); split(s, f, ",");
	k = f[1]; gsub(/[ \t]/, "", k); fl = f[6]; gsub(/[ \t]/, "", fl);
	print k "\t" fl }' "$CONF_H" >"$T/flags"
cut -f1 "$T/flags" | sort >"$T/f.sorted"
cmp -s "$T/k.sorted" "$T/f.sorted" ||
	bad "CONFIG_KEYS in common/conf.h and privatemoded -K disagree: $(diff "$T/f.sorted" "$T/k.sorted" | grep '^[<>]' | tr '\n' ' ')"

# The KEYS section of the man page, split into entries.
awk '/^\.Sh /{ inkeys = ($2 == "KEYS") } inkeys' "$MAN" >"$T/keys.5"
sed -n 's/^\.It Cm \([a-z_0-9]*\)\( .*\)\{0,1\}$/\1/p' "$T/keys.5" | sort >"$T/m.sorted"
[ -s "$T/m.sorted" ] || fail "no .It Cm entries in the KEYS section of $MAN"
dups=$(uniq -d "$T/m.sorted")
[ -z "$dups" ] || bad "privatemode.conf(5) documents twice: $dups"
for k in $(comm -23 "$T/k.sorted" "$T/m.sorted"); do
	bad "key $k (privatemoded -K) is not documented in privatemode.conf(5)"
done
for k in $(comm -13 "$T/k.sorted" "$T/m.sorted"); do
	bad "privatemode.conf(5) documents $k, which the daemon does not know"
done

# entry KEY: the lines of KEY's .It entry (to the next .It Cm or .El).
entry() {
	awk -v k="$1" '
	$0 ~ "^\\.It Cm " k "( |$)" { on = 1; next }
	on && (/^\.It Cm / || /^\.El/) { exit }
	on' "$T/keys.5"
}
# The subsection (.Ss) KEY's entry is in.
subsection() {
	awk -v k="$1" '/^\.Ss /{ ss = substr($0, 5) }
	$0 ~ "^\\.It Cm " k "( |$)" { print ss; exit }' "$T/keys.5"
}

: >"$T/examples"
hooks=no
"$PM_BIN" -V 2>&1 | grep -q 'test hooks' && hooks=yes
while IFS=$'\t' read -r key kind def flag; do
	grep -qx "$key" "$T/m.sorted" || continue
	e=$(entry "$key")
	fl=$(awk -F'\t' -v k="$key" '$1 == k { print $2 }' "$T/flags")
	# Default, as the entry's "Default:" paragraph states it.
	d=$(printf '%s\n' "$e" | awk '/^Default:/{ on = 1 } on { print } /^Official flag:/{ exit }')
	if [ "$def" = "-" ]; then
		printf '%s\n' "$d" | grep -q '^Default: unset' ||
			bad "$key: no default, but the man page does not say \"Default: unset\""
	else
		printf '%s\n' "$d" | grep -qxF ".Li $def ." ||
			bad "$key: default is \"$def\", the man page says: $(printf '%s' "$d" | tr '\n' ' ')"
	fi
	o=$(printf '%s\n' "$e" | awk '/^Official flag:/{ on = 1 } on { print } /^Example:/{ exit }')
	if [ "$flag" = "-" ]; then
		printf '%s\n' "$o" | grep -q '^Official flag: none' ||
			bad "$key: no official flag, but the man page names one"
	else
		printf '%s\n' "$o" | grep -q "^\\.Fl -${flag#--}\\( \\|$\\)" ||
			bad "$key: official flag $flag is not named in its entry"
	fi
	if [[ $fl == *CF_RESTART* ]]; then
		printf '%s\n' "$e" | grep -q '^\.Sy restart' ||
			bad "$key: CF_RESTART, but the entry does not say .Sy restart"
	else
		printf '%s\n' "$e" | grep -q '^\.Sy restart' &&
			bad "$key: marked restart, but a reload changes it"
	fi
	if [[ $fl == *CF_TESTONLY* ]]; then
		printf '%s\n' "$e" | grep -q '^\.Sy Test only' &&
		    [ "$(subsection "$key")" = "Test only" ] ||
			bad "$key: CF_TESTONLY, but not marked \"Test only\" in the Test only subsection"
	else
		[ "$(subsection "$key")" != "Test only" ] ||
			bad "$key: in the Test only subsection but not CF_TESTONLY"
	fi
	ex=$(printf '%s\n' "$e" | sed -n "s/^\\.Dl \\($key .*\\)/\\1/p")
	if [ -z "$ex" ]; then
		bad "$key: no \".Dl $key value\" example"
	elif [[ $fl == *CF_TESTONLY* ]] && [ "$hooks" = no ]; then
		# A production build refuses some test-only keys whatever
		# their value (a test root CA file): their examples are
		# checked by the builds with test hooks only.
		:
	else
		printf '%s\n' "$ex" >>"$T/examples"
	fi
done <"$T/keys"

# Make the examples' secret files and user real, then the whole set must
# be a valid configuration.
printf 'test-secret-%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/secret"
runas=nobody
id nobody >/dev/null 2>&1 || runas=$(id -un)
[ "$(id -u "$runas")" -ne 0 ] || skip "no non-root user to test with"
# The client token file client_auth tokens reads (-t parses it).
"$PM_BIN" -G example >"$T/clients" 2>/dev/null || fail "privatemoded -G failed"
chmod 644 "$T/clients"
sed -e "s|@/[^ ]*|@$T/secret|" -e "s|^user .*|user $runas|" \
    -e "s|^client_tokens .*|client_tokens $T/clients|" \
    "$T/examples" >"$T/examples.conf"
out=$("$PM_BIN" -t -f "$T/examples.conf" 2>&1)
printf '%s\n' "$out" | grep -q "configuration OK" || {
	bad "the man page's examples together are not a valid configuration:"
	printf '%s\n' "$out" | sed 's/^/    /' >&2
}

# The conffile.
sh "$TOP_SRC/scripts/gen-conffile" "$PM_BIN" "$CONF_H" >"$T/privatemode.conf" 2>"$T/gen.err" ||
	{ cat "$T/gen.err" >&2; fail "scripts/gen-conffile failed"; }
grep -v '^#' "$T/privatemode.conf" | grep -q '[^[:space:]]' &&
	bad "the conffile sets something: $(grep -v '^#' "$T/privatemode.conf" | grep '[^[:space:]]' | head -3)"
: >"$T/defaults.conf"
: >"$T/unset.conf"
while IFS=$'\t' read -r key kind def flag; do
	n=$(grep -c "^#$key " "$T/privatemode.conf")
	[ "$n" -eq 1 ] || { bad "conffile: key $key appears $n times (want once, commented)"; continue; }
	line=$(grep "^#$key " "$T/privatemode.conf")
	if [ "$def" = "-" ]; then
		# The comment paragraph above the line, joined.
		awk -v k="$key" '/^$/{ para = ""; next }
		    $0 ~ "^#" k " " { print para; exit }
		    { sub(/^# ?/, ""); para = para " " $0 }' "$T/privatemode.conf" |
		    grep -q "Unset by default" ||
			bad "conffile: $key has no default but is not marked \"Unset by default\""
		printf '%s\n' "${line#\#}" >>"$T/unset.conf"
	else
		[ "$line" = "#$key $def" ] ||
			bad "conffile: \"$line\" is not \"#$key $def\""
		printf '%s\n' "${line#\#}" >>"$T/defaults.conf"
	fi
done <"$T/keys"
for k in $(sed -n 's/^#\([a-z_0-9]*\) .*/\1/p' "$T/privatemode.conf"); do
	grep -q "^$k	" "$T/keys" || bad "conffile mentions unknown key $k"
done
if ! id "$(sed -n 's/^user //p' "$T/defaults.conf")" >/dev/null 2>&1; then
	sed -i "s|^user .*|user $runas|" "$T/defaults.conf"
fi
out=$("$PM_BIN" -t -f "$T/defaults.conf" 2>&1)
printf '%s\n' "$out" | grep -q "configuration OK" || {
	bad "the conffile's defaults, uncommented, are not a valid configuration:"
	printf '%s\n' "$out" | sed 's/^/    /' >&2
}
out=$("$PM_BIN" -t -f "$T/unset.conf" 2>&1)
if printf '%s\n' "$out" | grep -E "unknown key|bad value|duplicate key"; then
	bad "the conffile's example values for keys without a default do not parse"
fi
finish "$(wc -l <"$T/keys") keys agree in -K, conf.h, privatemode.conf(5) and the conffile"
