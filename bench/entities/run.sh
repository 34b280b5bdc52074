#!/usr/bin/env bash
# bench/entities/run.sh [--quick] [BUILD_DIR] - the entities stage on one
# core against a bare Vectorscan scan of the same texts with the same
# database (the ceiling), with the test fixtures and then with 100,000
# generated names added (10,000 with --quick); see README.md here.
# Texts: $VIGIL_CORPUS_DIR/texts/bbc_news.tsv (default /work/shared/corpus),
# generated text when absent. Prints RESULT lines (bench/run's format).
# Target: the stage at 40% or more of the ceiling.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/../lib.sh"
bench_args "$@"
bench=$build/bench/bench_entities
[ -x "$bench" ] || { echo "entities: missing $bench (build $build first)" >&2; exit 1; }
names=100000 passes=15
if [ "$quick" = 1 ]; then names=10000 passes=3; fi
bench_machine entities
# The fixtures are found through VIGIL_SOURCE_DIR (this tree).
VIGIL_SOURCE_DIR=$(cd "$here/../.." && pwd) "$bench" --names "$names" --passes "$passes"
