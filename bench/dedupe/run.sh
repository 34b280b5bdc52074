#!/usr/bin/env bash
# dedupe benchmark: BBC articles plus near-duplicate copies (one sentence
# removed each) through files -> dedupe (mode drop) -> null, with the state
# store on disk, against the same input through a no-op transform.
# Usage: bench/dedupe/run.sh [BUILD_DIR] [COPIES]   (a Release build is meant)
# Needs the corpus: $VIGIL_CORPUS_DIR or ../shared/corpus next to the source.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
copies=${2:-3}
vigil=$build/bin/vigil
rusage=$build/bench/vigil-rusage
corpus=${VIGIL_CORPUS_DIR:-$here/../../../shared/corpus}
tsv=$corpus/texts/bbc_news.tsv
if [ ! -r "$tsv" ]; then
  echo "dedupe bench: $tsv not found (set VIGIL_CORPUS_DIR); skipped" >&2
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
input=$work/input.jsonl
"$here/make-input.sh" "$tsv" "$copies" > "$input"
docs=$(wc -l < "$input")

run() { # PIPELINE STATE [ENV...] -> "wall rss dropped"
  local pipeline=$1 state=$2
  shift 2
  env BENCH_INPUT="$input" "$@" "$rusage" "$vigil" --log-level info --plugin-dir "$build/tests/plugins" \
    run "$here/$pipeline" --once --state-dir "$state" 2>&1 >/dev/null |
    awk '/wall_s=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
         /\[summary\] +transform/ { for (i = 1; i <= NF; i++) if ($i == "dropped") d = $(i + 1) }
         END { sub(",", "", d); printf "%s %d %s\n", v["wall_s"], v["max_rss_kb"], d }'
}

line() { # LABEL WALL RSS DROPPED [DB]
  local rate
  rate=$(awk -v n="$docs" -v w="$2" 'BEGIN { printf "%.0f", n / w }')
  echo "dedupe | $1 | $docs docs | ${rate} docs/s | wall ${2}s | peak RSS $(($3 / 1024)) MB | dropped $4${5:+ | state $5}"
}

echo "# dedupe: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "# input: 2,225 BBC articles x $copies versions (version 0 as is, others minus one sentence)"
read -r w r d < <(run pipeline-noop.json "$work/s0")
line "baseline: jsonl -> noop -> null" "$w" "$r" "-"
read -r w r d < <(run pipeline-dedupe.json "$work/s1")
line "fresh state, max_entries 50000" "$w" "$r" "$d" "$(du -h "$work/s1/vigil.db" | cut -f1)"
read -r w r d < <(run pipeline-dedupe.json "$work/s1")
line "restart on that state (all repeats)" "$w" "$r" "$d"
read -r w r d < <(run pipeline-dedupe.json "$work/s2" BENCH_MAX_ENTRIES=500)
line "fresh state, max_entries 500 (store reads)" "$w" "$r" "$d"
