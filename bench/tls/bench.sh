#!/bin/bash
# bench-tls: the cost of a new client TLS connection, with and without
# resumption, for an RSA-2048 and an ECDSA P-256 key, against one worker
# (the signature of a full handshake is its keyd's since issue 16).
#
#	bench/tls/bench.sh PRIVATEMODED [SECONDS] [PRIVATEMODED-BEFORE]
#
# openssl s_time opens connections one after another for SECONDS
# (default 5) per row; the table has connections per wall-clock second
# and microseconds per connection: "new" makes a
# full handshake each time, "resumed" reuses the first session (TLS 1.2
# session id).  Client and server share the machine, so a row is the
# whole round trip, client work included.  With a second binary, the
# table has a column for it (the same rows, run first).  Needs root (the
# daemon chroots) and openssl.
set -u
BIN=${1:?usage: bench.sh PRIVATEMODED [SECONDS] [PRIVATEMODED-BEFORE]}
SECS=${2:-5}
BEFORE=${3:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/pmbench-tls.XXXXXX")
chmod 755 "$T"
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

mkcert() {	# mkcert NAME ALG OPT
	openssl req -x509 -newkey "$2" -pkeyopt "$3" -nodes -days 2 \
	    -keyout "$T/$1.key" -out "$T/$1.crt" -subj "/CN=$1" \
	    -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null || exit 1
}
mkcert rsa rsa rsa_keygen_bits:2048
mkcert ec ec ec_paramgen_curve:P-256

start() {	# start BINARY KEY: the daemon up, PORT set
	mkdir -p "$T/ws"
	printf 'listen 127.0.0.1:0\nworkers 1\nworkspace %s\ntls_cert %s\ntls_key %s\nlog_level info\n' \
	    "$T/ws" "$T/$2.crt" "$T/$2.key" > "$T/conf"
	"$1" -d -f "$T/conf" > "$T/log" 2>&1 &
	PID=$!
	for _ in $(seq 1 200); do
		PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
		    "$T/log" | head -1)
		[ -n "$PORT" ] && curl -skf -o /dev/null --max-time 2 \
		    "https://127.0.0.1:$PORT/healthz" && return 0
		sleep 0.1
	done
	echo "bench-tls: $1 did not serve" >&2
	cat "$T/log" >&2
	exit 1
}

stop() {
	kill "$PID"
	wait "$PID" 2>/dev/null
	PID=
}

rate() {	# rate ARGS...: connections per wall-clock second
	local t0 t1 n
	t0=$(date +%s.%N)
	n=$(openssl s_time -connect "127.0.0.1:$PORT" -time "$SECS" "$@" \
	    2>/dev/null | awk '/connections in .* real seconds/ { n = $1 }
		END { print n + 0 }')
	t1=$(date +%s.%N)
	awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}

declare -A R
measure() {	# measure LABEL BINARY
	local key
	for key in rsa ec; do
		start "$2" "$key"
		R[$1,$key,new13]=$(rate -new -tls1_3)
		R[$1,$key,new12]=$(rate -new -tls1_2)
		R[$1,$key,reuse12]=$(rate -reuse -tls1_2)
		stop
	done
}

[ -n "$BEFORE" ] && measure before "$BEFORE"
measure after "$BIN"

us() {	# us RATE: microseconds per connection
	awk -v r="$1" 'BEGIN { if (r > 0) printf "%.0f", 1e6 / r; else print "-" }'
}
printf '%-10s %-22s' key connection
[ -n "$BEFORE" ] && printf ' %16s' "before conn/s (us)"
printf ' %16s\n' "after conn/s (us)"
for key in rsa ec; do
	for row in new13 new12 reuse12; do
		case $row in
		new13) what="new, TLS 1.3" ;;
		new12) what="new, TLS 1.2" ;;
		reuse12) what="resumed, TLS 1.2" ;;
		esac
		printf '%-10s %-22s' "$([ $key = rsa ] && echo RSA-2048 || echo P-256)" "$what"
		[ -n "$BEFORE" ] && printf ' %9s (%5s)' "${R[before,$key,$row]:-?}" \
		    "$(us "${R[before,$key,$row]:-0}")"
		printf ' %9s (%5s)\n' "${R[after,$key,$row]:-?}" \
		    "$(us "${R[after,$key,$row]:-0}")"
	done
done
