#!/usr/bin/env bash
# bench/ingest/run.sh - sustained push ingest into `vigil serve` through the
# full chain (html_clean -> entities -> events -> alert outbox -> file).
#
#   bench/ingest/run.sh [--quick] [BUILD_DIR]     # BUILD_DIR default: build
#
# vigil-push-bench starts the daemon on 127.0.0.1 (port chosen by the
# kernel), measures its RSS at idle, then pushes ~5 KB HTML news pages
# (the corpus's BBC texts when present, else synthetic ones; 1 in 100 is an
# acknowledgement of foreign troops that makes an alert) from N connections,
# each with one POST of B documents outstanding:
#   1. a sweep over B x N, to find the best batch size and concurrency;
#   2. the same load into push -> null (no transforms): the ceiling of the
#      API and the engine;
#   3. the long run at the best point (1,000,000 documents; --quick: 600)
#      with the daemon's RSS curve, its RSS after the run and its peak.
# A 202 means durable: every document left the pipeline, its alert
# committed in the outbox. Latencies are per POST, from the request sent to
# its 202. Targets (issue 8): >= 2,000 docs/s, idle RSS <= 30 MB.
#
# Prints one RESULT line per figure (RESULT stage workload throughput p50
# p99 peak_rss peer). Fails only when something crashes or errors, never
# because of speed. Environment: VIGIL_CORPUS_DIR (the corpus), SWEEP
# (e.g. "16x4,64x2"), DOCS (long run), SIZE (page bytes).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
quick=0
build=
for a in "$@"; do
    case "$a" in
        --quick) quick=1 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) build=$a ;;
    esac
done
build=${build:-$ROOT/build}
case "$build" in /*) ;; *) [ -d "$build" ] && build=$(cd "$build" && pwd) || build=$ROOT/$build ;; esac
VIGIL=$build/bin/vigil
PUSH=$build/bench/vigil-push-bench
for f in "$VIGIL" "$PUSH"; do
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

WORK=$(mktemp -d /tmp/vigil-bench-ingest.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export BENCH_WORK=$WORK
cat > "$WORK/vigil.json" <<CONF
{"pipelines": ["$HERE/pipeline-ingest.json", "$HERE/pipeline-push-null.json"],
 "state_dir": "$WORK/state", "listen": "127.0.0.1:0", "log_level": "info",
 "workers": -1, "grace": "30s"}
CONF

if [ "$quick" = 1 ]; then
    sweep=${SWEEP:-16x2,4x4}; sweep_docs=200; sweep_s=8; docs=${DOCS:-600}; max_s=10
else
    sweep=${SWEEP:-1x4,1x16,4x4,16x2,16x4,16x8,32x4,64x2,64x4,128x2}
    sweep_docs=20000; sweep_s=60; docs=${DOCS:-1000000}; max_s=7200
fi

echo "== ingest: push into vigil serve, full chain"
echo "build: $build ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt"))"
echo "kernel: $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
"$PUSH" --vigil "$VIGIL" --config "$WORK/vigil.json" --log "$WORK/vigil.log" \
    --pipeline bench-ingest --peer bench-push-null ${corpus:+--corpus "$corpus"} \
    --size "${SIZE:-5000}" --alert-every 100 \
    --sweep "$sweep" --sweep-docs "$sweep_docs" --sweep-seconds "$sweep_s" \
    --docs "$docs" --seconds "$max_s"
alerts=$(wc -l < "$WORK/ingest-alerts.jsonl" 2>/dev/null || echo 0)
echo "alerts written by the file sink: $alerts"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
