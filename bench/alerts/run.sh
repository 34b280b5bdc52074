#!/usr/bin/env bash
# bench/alerts/run.sh - alert latency and outbox throughput of `vigil serve`.
#
#   bench/alerts/run.sh [--quick] [BUILD_DIR]     # BUILD_DIR default: build
#
# vigil-alert-bench runs a webhook receiver on 127.0.0.1, starts the daemon
# with the receiver's URL, then:
#   1. latency: 1,000 documents/s for 60 s (--quick: 200/s for 5 s), one
#      ~5 KB HTML news page per POST; 1 in 100 acknowledges foreign troops
#      on its own published day and makes one alert through the full chain
#      (html_clean -> entities -> events -> outbox -> webhook). Latency =
#      the receiver's 2xx - the POST sent, p50/p99 (target p99 <= 50 ms);
#   2. the same load with the events attached by the client and no
#      transforms: the core's share of the latency;
#   3. outbox throughput: 20,000 documents (--quick: 500), each a distinct
#      alert in a webhook and a file sink, durability normal: alerts
#      committed/s and delivered/s per sink.
# Prints one RESULT line per figure (RESULT stage workload throughput p50
# p99 peak_rss peer). Fails only when something crashes, errors, or an
# alert is missing or duplicated, never because of speed. Environment:
# VIGIL_CORPUS_DIR (the corpus), RATE (docs/s), DURATION (s), OUTBOX_DOCS.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
quick=0
build=
for a in "$@"; do
    case "$a" in
        --quick) quick=1 ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) build=$a ;;
    esac
done
build=${build:-$ROOT/build}
case "$build" in /*) ;; *) [ -d "$build" ] && build=$(cd "$build" && pwd) || build=$ROOT/$build ;; esac
VIGIL=$build/bin/vigil
BENCH=$build/bench/vigil-alert-bench
for f in "$VIGIL" "$BENCH"; do
    if [ ! -x "$f" ]; then
        echo "missing $f: build it first (cmake --build $build -j2)" >&2
        exit 1
    fi
done

corpus=${VIGIL_CORPUS_DIR:-}
if [ -z "$corpus" ]; then
    for c in "$ROOT/../shared/corpus" "$ROOT/../../shared/corpus"; do
        [ -f "$c/texts/bbc_news.tsv" ] && { corpus=$(cd "$c" && pwd); break; }
    done
fi

WORK=$(mktemp -d /tmp/vigil-bench-alerts.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export BENCH_WORK=$WORK
cat > "$WORK/vigil.json" <<CONF
{"pipelines": ["$HERE/pipeline-alerts.json", "$HERE/pipeline-alerts-direct.json",
               "$HERE/pipeline-outbox.json"],
 "state_dir": "$WORK/state", "listen": "127.0.0.1:0", "log_level": "info",
 "workers": -1, "grace": "30s"}
CONF

if [ "$quick" = 1 ]; then
    rate=${RATE:-200}; seconds=${DURATION:-5}; ob_docs=${OUTBOX_DOCS:-500}
else
    rate=${RATE:-1000}; seconds=${DURATION:-60}; ob_docs=${OUTBOX_DOCS:-20000}
fi

echo "== alerts: latency and outbox throughput of vigil serve"
echo "build: $build ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt"))"
echo "kernel: $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
"$BENCH" --vigil "$VIGIL" --config "$WORK/vigil.json" --log "$WORK/vigil.log" \
    --pipeline bench-alerts --direct bench-alerts-direct ${corpus:+--corpus "$corpus"} \
    --size 5000 --rate "$rate" --seconds "$seconds" --alert-every 100 --conns 32 \
    --outbox bench-outbox --outbox-file "$WORK/outbox-alerts.jsonl" \
    --outbox-docs "$ob_docs" --outbox-batch 64 --outbox-conns 4
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
