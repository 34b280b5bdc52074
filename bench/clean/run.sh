#!/bin/sh
# bench/clean/run.sh - html_clean quality and speed on the development corpus,
# next to Mozilla Readability and the bare libxml2 parse.
#
#   bench/clean/run.sh [--corpus DIR] [--repeat N] [--fresh]
#
# Builds a Release tree in build-bench/ (one job per core, at most 2),
# installs Readability and jsdom with npm into bench/clean/node_modules when
# missing (package-lock.json pins them), runs Readability over the corpus
# once (cached in bench/out/readability.jsonl; --fresh reruns it), then
# clean_bench for both presets. Everything runs on one core.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus=${VIGIL_CORPUS_DIR:-/work/shared/corpus}/articles
repeat=3
fresh=0
while [ $# -gt 0 ]; do
    case $1 in
    --corpus) corpus=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --fresh) fresh=1; shift ;;
    *) echo "usage: $0 [--corpus DIR] [--repeat N] [--fresh]" >&2; exit 2 ;;
    esac
done
if [ ! -f "$corpus/index.jsonl" ]; then
    echo "run.sh: no corpus at $corpus (set VIGIL_CORPUS_DIR or --corpus)" >&2
    exit 1
fi

echo "== machine"
echo "nproc: $(nproc)"
grep -m1 'model name' /proc/cpuinfo || true
echo

echo "== build (Release)"
cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=OFF >/dev/null
cmake --build "$root/build-bench" -j2 --target clean_bench >/dev/null
bench="$root/build-bench/bin/clean_bench"

out="$root/bench/out"
mkdir -p "$out"
rjson="$out/readability.jsonl"
if [ ! -d "$here/node_modules/@mozilla/readability" ]; then
    echo "== npm ci (Readability, jsdom)"
    (cd "$here" && npm ci --no-audit --no-fund >/dev/null)
fi
if [ "$fresh" = 1 ] || [ ! -s "$rjson" ]; then
    echo "== Mozilla Readability over the corpus (one core; takes a few minutes)"
    taskset -c 0 node "$here/readability.js" "$corpus" "$rjson"
fi

for preset in precision recall; do
    echo
    echo "== html_clean, preset $preset"
    taskset -c 0 "$bench" --corpus "$corpus" --readability "$rjson" --preset "$preset" \
        --repeat "$repeat"
done
