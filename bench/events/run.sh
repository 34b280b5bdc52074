#!/usr/bin/env bash
# bench/events/run.sh [--quick] [BUILD_DIR] - the events stage alone on one
# core with the shipped rules (rules/*.json) over the BBC texts
# ($VIGIL_CORPUS_DIR/texts/bbc_news.tsv, generated text when absent);
# entity mentions come from the test mention finder (tests/events), so
# only the events stage is timed. For scale it also times an
# entities-shaped proxy on the same texts; the real comparison with the
# entities stage and the shipped gazetteers is bench/chain. Prints RESULT
# lines (bench/run's format).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/../lib.sh"
bench_args "$@"
bench=$build/bin/bench_events
[ -x "$bench" ] || bench=$build/bench/bench_events
[ -x "$bench" ] || { echo "events: missing bench_events in $build (build it first)" >&2; exit 1; }
iterations=30
[ "$quick" = 1 ] && iterations=3
bench_machine events
"$bench" --iterations "$iterations"
