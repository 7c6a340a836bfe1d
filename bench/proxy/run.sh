#!/usr/bin/env bash
# Side-by-side cost of proxies on loopback, measured with wrk in one run:
# the upstream direct, HAProxy, nginx, Caddy, a stock httputil.ReverseProxy
# and `bulwark run` with every policy on its route (at GOGC=100, at its
# default GOGC=400, and with fast_path: true), then the experiments of
# engines/. For each: requests/s, p50 and p99 latency (wrk --latency) and
# the CPU time per request of the proxy's processes (utime + stime from
# /proc, summed over its children). Then PAIRS interleaved pairs of HAProxy
# and the fast path (the ratio of each pair, and their median), and CPU
# profiles of the sidecar under the same load, without and with the fast
# path (top functions).
#
#   apt-get install -y wrk haproxy nginx caddy   # Debian packages
#   cd bench/proxy && ./run.sh                   # DUR=10s CONNS=64 THREADS=2 PAIRS=5
#
# Everything listens on 127.0.0.1:1808x and stops when the script ends.
set -euo pipefail
cd "$(dirname "$0")"
DUR=${DUR:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
WARM=${WARM:-2s}
PAIRS=${PAIRS:-5}

for tool in wrk haproxy nginx caddy go; do
	command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y wrk haproxy nginx caddy" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/upstream" ./upstream
go build -o "$work/stock" ./stock
go build -o "$work/profiled" ./profiled
go build -o "$work/engines" ./engines
(cd ../.. && go build -o "$work/bulwark" ./cmd/bulwark)

UP=127.0.0.1:18080

cat >"$work/haproxy.cfg" <<CFG
global
	nbthread 2
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend f
	bind 127.0.0.1:18081
	default_backend b
backend b
	http-reuse always
	server u $UP
CFG

cat >"$work/nginx.conf" <<CFG
worker_processes 2;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;
	upstream u { server $UP; keepalive 64; }
	server {
		listen 127.0.0.1:18082;
		location / { proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection ""; }
	}
}
CFG

cat >"$work/Caddyfile" <<CFG
{
	admin off
	auto_https off
	log {
		output discard
	}
}
http://127.0.0.1:18083 {
	reverse_proxy $UP
}
CFG

# Every policy on: request and attempt deadlines, body idle timeout,
# retries with a budget, a breaker, a bulkhead, a rate limit that never
# refuses, chaos that injects nothing (but runs).
cat >"$work/bulwark.yaml" <<CFG
listen: 127.0.0.1:18084
admin: {listen: 127.0.0.1:18094}
routes:
  - name: api
    prefix: /
    upstream: http://$UP
    timeout: 2s
    request_timeout: 5s
    client_body_timeout: 5s
    retry: {max_attempts: 3, budget: {ratio: 0.2}}
    breaker: {}
    bulkhead: {max_concurrent: 10000}
    rate_limit: {rate: 1000000, burst: 1000000}
    chaos: {error_rate: 0, latency_rate: 0}
CFG

start() { # name, then the command; sets PID
	"${@:2}" >"$work/$1.log" 2>&1 &
	PID=$!
	pids+=("$PID")
}

wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "nothing listens on $1" >&2
	return 1
}

ticks() { # CPU ticks of a process and its children
	local total=0 p
	for p in "$1" $(pgrep -P "$1" || true); do
		[ -r "/proc/$p/stat" ] || continue
		total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
	done
	echo "$total"
}

HZ=$(getconf CLK_TCK)
rows=()

measure() { # name, port, pid ("-" for none)
	local name=$1 port=$2 pid=$3
	wait_port "$port"
	wrk -t"$THREADS" -c"$CONNS" -d"$WARM" "http://127.0.0.1:$port/" >/dev/null
	local t0=0 t1=0
	[ "$pid" = - ] || t0=$(ticks "$pid")
	wrk -t"$THREADS" -c"$CONNS" -d"$DUR" --latency "http://127.0.0.1:$port/" >"$work/$name.wrk"
	[ "$pid" = - ] || t1=$(ticks "$pid")
	local rps reqs p50 p99 errs cpu=-
	rps=$(awk '/^Requests\/sec/ {print $2}' "$work/$name.wrk")
	reqs=$(awk '/requests in/ {print $1}' "$work/$name.wrk")
	p50=$(awk '$1 == "50%" {print $2}' "$work/$name.wrk")
	p99=$(awk '$1 == "99%" {print $2}' "$work/$name.wrk")
	errs=$(awk '/Non-2xx|Socket errors/ {print}' "$work/$name.wrk" | tr '\n' ' ')
	if [ "$pid" != - ]; then
		cpu=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$reqs" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')
	fi
	last=$cpu
	case $name in pair*) ;; *) rows+=("| $name | $rps | $p50 | $p99 | $cpu | ${errs:-} |") ;; esac
	echo "$name: $rps req/s, p50 $p50, p99 $p99, CPU $cpu µs/request ${errs:-}" >&2
}

start upstream "$work/upstream" -addr "$UP"
wait_port 18080
measure "upstream direct" 18080 -

start haproxy haproxy -f "$work/haproxy.cfg" -db
measure "HAProxy $(haproxy -v | awk 'NR==1 {print $3}')" 18081 "$PID"
kill "$PID"

start nginx nginx -c "$work/nginx.conf" -p "$work"
measure "nginx $(nginx -v 2>&1 | sed 's|.*/||')" 18082 "$PID"
kill "$PID"

start caddy caddy run --config "$work/Caddyfile" --adapter caddyfile
measure "Caddy $(caddy version | awk '{print $1}')" 18083 "$PID"
kill "$PID"

start stock "$work/stock" -addr 127.0.0.1:18085 -upstream "http://$UP"
measure "httputil.ReverseProxy" 18085 "$PID"
kill "$PID"

start bulwark env GOGC=100 "$work/bulwark" run -config "$work/bulwark.yaml"
measure "bulwark run, every policy, GOGC=100" 18084 "$PID"
kill "$PID"
wait "$PID" 2>/dev/null || true

start bulwark "$work/bulwark" run -config "$work/bulwark.yaml"
measure "bulwark run, every policy" 18084 "$PID"
kill "$PID"
wait "$PID" 2>/dev/null || true

# The same config with the fast path on (docs/sidecar.md, "The fast path").
{ echo "fast_path: true"; cat "$work/bulwark.yaml"; } >"$work/fast.yaml"
start bulwark "$work/bulwark" run -config "$work/fast.yaml"
measure "bulwark run, every policy, fast_path: true" 18084 "$PID"
kill "$PID"
wait "$PID" 2>/dev/null || true

# engines/: the same sidecar on net/http's upstream client (as before it
# had its own) and on an experimental server loop that skips what a real
# server needs; see engines/main.go.
for e in "-client transport" "-server h1"; do
	# shellcheck disable=SC2086 # e is a list of flags
	start engines "$work/engines" -config "$work/bulwark.yaml" $e
	measure "engines $e" 18084 "$PID"
	kill "$PID"
	wait "$PID" 2>/dev/null || true
done

# The machine's speed drifts within minutes (a shared host), more than the
# gap the goal leaves: HAProxy and the fast path again, in interleaved
# pairs, each pair's ratio from runs seconds apart.
pairs=()
for i in $(seq "$PAIRS"); do
	start haproxy haproxy -f "$work/haproxy.cfg" -db
	measure "pair $i: HAProxy" 18081 "$PID"
	kill "$PID"
	wait "$PID" 2>/dev/null || true
	h=$last
	start bulwark "$work/bulwark" run -config "$work/fast.yaml"
	measure "pair $i: fast_path: true" 18084 "$PID"
	kill "$PID"
	wait "$PID" 2>/dev/null || true
	pairs+=("$(awk -v f="$last" -v h="$h" 'BEGIN {printf "%.2f", f / h}')")
	echo "pair $i: HAProxy $h, fast path $last µs/request: $(printf '%s' "${pairs[-1]}")×" >&2
done

echo
echo "wrk -t$THREADS -c$CONNS -d$DUR --latency, $(nproc) cores, $(go version | awk '{print $3}')"
echo
echo "| proxy | requests/s | p50 | p99 | CPU µs/request | errors |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Interleaved pairs, fast path / HAProxy CPU per request: ${pairs[*]}; median $(printf '%s\n' "${pairs[@]}" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')×"

# Where the sidecar's time goes: a CPU profile under the same load, on
# net/http's server and on the fast path.
for cfg in bulwark fast; do
	start profiled "$work/profiled" -config "$work/$cfg.yaml" -cpuprofile "$work/cpu.pprof" -after "$WARM" -for "$DUR"
	wait_port 18084
	wrk -t"$THREADS" -c"$CONNS" -d"$WARM" "http://127.0.0.1:18084/" >/dev/null
	wrk -t"$THREADS" -c"$CONNS" -d"$DUR" "http://127.0.0.1:18084/" >/dev/null
	sleep 1
	kill "$PID"
	wait "$PID" 2>/dev/null || true
	echo
	echo "CPU profile of the sidecar, $cfg.yaml (go tool pprof -top), flat and cumulative:"
	go tool pprof -top -nodecount=30 "$work/profiled" "$work/cpu.pprof" 2>/dev/null | sed -n '1,40p'
	echo
	go tool pprof -top -cum -nodecount=40 "$work/profiled" "$work/cpu.pprof" 2>/dev/null | sed -n '6,46p'
done
