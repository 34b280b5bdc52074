#!/usr/bin/env bash
# bench/feeds/run.sh [--quick] [BUILD_DIR] - the feed source benchmark: N
# distinct ~2 KB feeds with 5 items each, served by nginx on 127.0.0.1.
#
#   bench/feeds/run.sh build-rel   # N=10000 PORT=8089 CONC=64 DURATION=10s
#   bench/feeds/run.sh --quick     # N=1000, wrk for 2 s (skipped without wrk)
#
# Steps (each prints its figures and a RESULT line, bench/run's format):
#   1. wrk against one feed file: what nginx alone serves on this machine;
#   2. curl_uv_fetch: every feed URL through one libcurl multi handle on
#      libuv, the ceiling for any fetcher built like the core's client;
#   3. bench_pass: the feed source's own CPU cost per pass (parse, seen-set,
#      documents) with the network and SQLite taken out;
#   4. `vigil run pipelines/bench-feeds.json --once` into the null sink, a
#      fresh state directory: every item new (targets: <= 2 s, peak RSS
#      <= 100 MB for 10,000 feeds on 2 cores);
#   5. the same again over the same state: conditional GETs answered 304,
#      nothing emitted (target <= 1 s).
#
# BUILD_DIR (default build, or $BUILD) is a configured and built tree, a
# Release one for figures; its build type is printed with them. nginx and
# wrk come from Debian: a full run installs them with apt-get when missing
# (as root); --quick never installs: without wrk it skips step 1, without
# nginx steps 1, 2, 4 and 5. nginx runs unprivileged, in the foreground of
# a background job, with a temporary prefix; everything is removed on exit.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/../lib.sh"
args=("$@")
if [ -n "${BUILD:-}" ]; then # the older interface: BUILD=dir bench/feeds/run.sh
    given=0
    for a in "$@"; do case $a in -*) ;; *) given=1 ;; esac; done
    [ $given = 1 ] || args+=("$BUILD")
fi
bench_args "${args[@]+"${args[@]}"}"
BUILD=$build
if [ "$quick" = 1 ]; then
    N=${N:-1000}
    DURATION=${DURATION:-2s}
fi
N=${N:-10000}
PORT=${PORT:-8089}
CONC=${CONC:-64}
DURATION=${DURATION:-10s}
CC=${CC:-cc}
VIGIL=$BUILD/bin/vigil
RUSAGE=$BUILD/bench/vigil-rusage
for f in "$VIGIL" "$RUSAGE"; do
    if [ ! -x "$f" ]; then
        echo "missing $f: build it first (cmake --build $BUILD -j2)" >&2
        exit 1
    fi
done

WORK=$(mktemp -d /tmp/vigil-bench-feeds.XXXXXX)
NGINX_PID=
cleanup() {
    if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
        kill "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== machine"
echo "cores: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "kernel: $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build: $BUILD ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt"))"

have() { command -v "$1" > /dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
need() { # need COMMAND PACKAGE
    if ! have "$1"; then
        if [ "$quick" = 1 ]; then
            echo "$1 is missing (Debian package $2): --quick skips what needs it"
            return 0
        fi
        if [ "$(id -u)" -ne 0 ]; then
            echo "$1 is missing; install the Debian package $2 (as root)" >&2
            exit 1
        fi
        echo "installing $2 with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
    fi
}
need nginx nginx-light
need wrk wrk
network=1
have nginx || network=0
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "== generating $N feeds"
python3 "$HERE/gen_feeds.py" "$WORK/www" "$N" "http://127.0.0.1:$PORT"

echo "== building the bench programs"
# pkg-config's flags are meant to split into words
# shellcheck disable=SC2046
"$CC" -O2 -o "$WORK/curl_uv_fetch" "$HERE/curl_uv_fetch.c" \
    $(pkg-config --cflags --libs libcurl libuv)
# shellcheck disable=SC2046
"$CC" -O2 -D_GNU_SOURCE -DVIGIL_STATIC_PLUGIN=source_feed \
    -I"$ROOT/include" -I"$ROOT/common" -I"$ROOT/plugins/feed" -o "$WORK/bench_pass" \
    "$HERE/bench_pass.c" \
    "$ROOT"/plugins/feed/{arena,text,charset,xml,feed_sched,poll,urllist,feed,item,plugin}.c \
    "$ROOT"/common/{buf,hash,datetime,units}.c \
    $(pkg-config --cflags --libs libxml-2.0 jansson icu-uc icu-i18n libuv) -lm

NF=$(bench_group "$N")
rate() { awk -v n="$1" -v w="$2" 'BEGIN { printf "%.0f", (w > 0 ? n / w : 0) }'; }

echo "== 3. feed source pass without network or SQLite"
"$WORK/bench_pass" "$WORK/www/feeds" "$N" | tee "$WORK/pass.out"
# "pass 1, new items (...): N feeds, M documents, 0.600 s (60.0 us/feed)"
pass_s=$(sed -n 's/^pass 1,.* \([0-9.]*\) s (.*/\1/p' "$WORK/pass.out")
[ -n "$pass_s" ] || { echo "feeds: bench_pass printed no first pass" >&2; exit 1; }
bench_result "feed source alone (bench_pass)" "$NF feeds, new items; no network, no SQLite; one core" \
    "$(bench_group "$(rate "$N" "$pass_s")") feeds/s" - - - -

if [ "$network" = 0 ]; then
    echo "== nginx missing: steps 1, 2, 4 and 5 skipped (--quick)"
    exit 0
fi

echo "== starting nginx on 127.0.0.1:$PORT"
if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
    echo "port $PORT is already in use: stop that server or set PORT" >&2
    exit 1
fi
mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1000; }
http {
    log_format bench '\$status';
    access_log $WORK/nginx/logs/access.log bench buffer=256k flush=200ms;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    etag on;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    types { application/rss+xml xml; }
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$PORT;
        root $WORK/www;
    }
}
CONF
chmod -R a+rX "$WORK"
chmod -R a+rwX "$WORK/nginx"
if [ "$(id -u)" -eq 0 ]; then
    # never serve the benchmark as root (setpriv execs: $! is nginx itself)
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
        "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
else
    "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
fi
NGINX_PID=$!
for _ in $(seq 50); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/feeds/f00000.xml" && break
    sleep 0.1
done
curl -fs -o /dev/null "http://127.0.0.1:$PORT/feeds/f00000.xml" || {
    echo "nginx did not start:" >&2
    cat "$WORK/nginx/logs/error.log" >&2
    exit 1
}

wrk_rate=
if have wrk; then
    echo "== 1. wrk, one feed, $CONC connections, $DURATION"
    wrk -t2 -c"$CONC" -d"$DURATION" --latency "http://127.0.0.1:$PORT/feeds/f00000.xml" > "$WORK/wrk.out"
    grep -E "Requests/sec|Transfer/sec|Latency|^ +(50|99)%" "$WORK/wrk.out"
    wrk_rate=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$WORK/wrk.out")
    # wrk prints units with no space ("850.00us"): "850.00 us"
    lat() { awk -v p="$1" '$1 == p { v = $2; sub(/[a-z]+$/, " &", v); print v; exit }' "$WORK/wrk.out"; }
    bench_result "fetch peer: nginx alone (wrk)" "one feed file, $CONC connections, $DURATION" \
        "$(bench_group "$wrk_rate") req/s" "$(lat 50%)" "$(lat 99%)" - -
else
    echo "== 1. wrk missing: skipped (--quick)"
fi

echo "== 2. libcurl multi on libuv, all $N feeds, concurrency $CONC (ceiling)"
"$WORK/curl_uv_fetch" "$WORK/www/urls.txt" "$CONC" | tee "$WORK/curl.out"
curl_s=$(sed -n 's/.* \([0-9.]*\) s, [0-9]* req\/s$/\1/p' "$WORK/curl.out")
[ -n "$curl_s" ] || { echo "feeds: curl_uv_fetch printed no time" >&2; exit 1; }
curl_rate=$(rate "$N" "$curl_s")
bench_result "fetch ceiling: libcurl multi on libuv" "$NF feed URLs, $CONC at once" \
    "$(bench_group "$curl_rate") feeds/s" - - - "${wrk_rate:+wrk $(bench_group "$wrk_rate") req/s}"

# One `vigil run --once`; prints the figures and leaves wall_s, rss_kb and
# emitted in variables.
run_vigil() { # LABEL
    local out=$WORK/vigil.err
    sleep 0.5 # nginx flushes what it logged before
    : > "$WORK/nginx/logs/access.log"
    BENCH_URLS=$WORK/www/urls.txt "$RUSAGE" "$VIGIL" --log-level info run \
        "$ROOT/pipelines/bench-feeds.json" --once --state-dir "$WORK/state" 2> "$out" || {
        cat "$out" >&2
        exit 1
    }
    sleep 0.5 # nginx flushes its access log
    wall_s=$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' "$out")
    rss_kb=$(sed -n 's/.*max_rss_kb=\([0-9]*\).*/\1/p' "$out")
    cpu=$(sed -n 's/.*user_s=\([0-9.]*\) sys_s=\([0-9.]*\).*/user \1 s, sys \2 s/p' "$out")
    emitted=$(sed -n 's/.*\] \([0-9]*\) documents emitted.*/\1/p' "$out" | tail -1)
    local s200 s304
    s200=$(grep -c '^200$' "$WORK/nginx/logs/access.log" || true)
    s304=$(grep -c '^304$' "$WORK/nginx/logs/access.log" || true)
    echo "$1: $N feeds in ${wall_s} s ($(rate "$N" "$wall_s") feeds/s," \
        "$(rate "${emitted:-0}" "$wall_s") items/s)," \
        "${emitted:-?} items emitted, server answered $s200 x 200 and $s304 x 304," \
        "peak RSS $((rss_kb / 1024)) MB, $cpu"
}

echo "== 4. vigil run pipelines/bench-feeds.json --once (null sink), fresh state"
rm -rf "$WORK/state"
run_vigil "first pass"
[ "${emitted:-0}" -eq $((N * 5)) ] || echo "WARNING: expected $((N * 5)) items" >&2
bench_result "feeds: vigil run --once, fresh state" "$NF feeds, $(bench_group $((N * 5))) items, in ${wall_s} s" \
    "$(bench_group "$(rate "$N" "$wall_s")") feeds/s" - - "$((rss_kb / 1024)) MB" \
    "curl ceiling $(bench_group "$curl_rate") feeds/s"

echo "== 5. the same, same state: conditional GETs"
run_vigil "second pass"
[ "${emitted:-1}" -eq 0 ] || echo "WARNING: the second pass emitted items" >&2
bench_result "feeds: vigil run --once, all 304" "$NF feeds, nothing new, in ${wall_s} s" \
    "$(bench_group "$(rate "$N" "$wall_s")") feeds/s" - - "$((rss_kb / 1024)) MB" \
    "curl ceiling $(bench_group "$curl_rate") feeds/s"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
