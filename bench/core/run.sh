#!/usr/bin/env bash
# Core engine benchmark: documents through source -> 3 no-op transforms ->
# sink, then the same with a slow sink to show memory stays bounded.
# Usage: bench/core/run.sh [BUILD_DIR] [--quick]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
quick=${2:-}
vigil=$build/bin/vigil
rusage=$build/bench/vigil-rusage
plugins=$build/tests/plugins
count=1000000
slow_small=100000
slow_big=400000
if [ "$quick" = "--quick" ]; then count=200000; slow_small=20000; slow_big=80000; fi
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT

run() { # COUNT DELAY -> "wall rss"
  BENCH_COUNT=$1 BENCH_SINK_DELAY=$2 "$rusage" "$vigil" --log-level warn --plugin-dir "$plugins" \
    run "$here/pipeline-noop.json" --once --state-dir "$state" 2>&1 >/dev/null |
    sed -n 's/.*wall_s=\([0-9.]*\).*max_rss_kb=\([0-9]*\).*/\1 \2/p'
}

echo "# core: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
read -r wall rss < <(run "$count" 0)
rate=$(awk -v n="$count" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')
echo "core | $count docs, gen -> 3 noop -> null | ${rate} docs/s | wall ${wall}s | peak RSS $((rss / 1024)) MB"
read -r wall1 rss1 < <(run "$slow_small" 2ms)
read -r wall2 rss2 < <(run "$slow_big" 2ms)
echo "core | slow sink (2 ms/delivery, 1024 in flight), $slow_small docs | peak RSS $((rss1 / 1024)) MB | wall ${wall1}s"
echo "core | slow sink (2 ms/delivery, 1024 in flight), $slow_big docs | peak RSS $((rss2 / 1024)) MB | wall ${wall2}s"
echo "core | bound: at most queue_high=8192 documents in flight; RSS does not grow with the document count"
