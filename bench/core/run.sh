#!/usr/bin/env bash
# Core engine benchmark: documents through source -> 3 no-op transforms ->
# sink, then the same with a slow sink to show memory stays bounded.
# Usage: bench/core/run.sh [--quick] [BUILD_DIR]   (BUILD_DIR default build;
# it needs the test plugins gen, noop and null of tests/plugins)
# Prints RESULT lines (bench/run's format).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/../lib.sh"
bench_args "$@"
vigil=$build/bin/vigil
rusage=$build/bench/vigil-rusage
plugins=$build/tests/plugins
for f in "$vigil" "$rusage" "$plugins"; do
  [ -e "$f" ] || { echo "core: missing $f (build $build with tests first)" >&2; exit 1; }
done
count=1000000
slow_small=100000
slow_big=400000
if [ "$quick" = 1 ]; then count=200000; slow_small=20000; slow_big=80000; fi
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT

run() { # COUNT DELAY -> "wall rss"; fails when vigil fails
  local err=$state/err
  if ! BENCH_COUNT=$1 BENCH_SINK_DELAY=$2 "$rusage" "$vigil" --log-level warn --plugin-dir "$plugins" \
      run "$here/pipeline-noop.json" --once --state-dir "$state" > /dev/null 2> "$err"; then
    echo "core: vigil run failed:" >&2
    cat "$err" >&2
    return 1
  fi
  sed -n 's/.*wall_s=\([0-9.]*\).*max_rss_kb=\([0-9]*\).*/\1 \2/p' "$err"
}

bench_machine core
read -r wall rss < <(run "$count" 0)
rate=$(awk -v n="$count" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')
echo "core | $count docs, gen -> 3 noop -> null | ${rate} docs/s | wall ${wall}s | peak RSS $((rss / 1024)) MB"
read -r wall1 rss1 < <(run "$slow_small" 2ms)
read -r wall2 rss2 < <(run "$slow_big" 2ms)
echo "core | slow sink (2 ms/delivery, 1024 in flight), $slow_small docs | peak RSS $((rss1 / 1024)) MB | wall ${wall1}s"
echo "core | slow sink (2 ms/delivery, 1024 in flight), $slow_big docs | peak RSS $((rss2 / 1024)) MB | wall ${wall2}s"
echo "core | bound: at most queue_high=8192 documents in flight; RSS does not grow with the document count"
bench_result "core engine" "$(bench_group "$count") docs of 64 B, gen -> 3 noop -> null" \
  "$(bench_group "$rate") docs/s" - - "$((rss / 1024)) MB" -
bench_result "core engine, memory bound" "$(bench_group "$slow_small") docs, slow sink (2 ms, 1024 in flight)" \
  - - - "$((rss1 / 1024)) MB" -
bench_result "core engine, memory bound" "$(bench_group "$slow_big") docs, slow sink (2 ms, 1024 in flight)" \
  - - - "$((rss2 / 1024)) MB" -
