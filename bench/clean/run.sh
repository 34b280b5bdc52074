#!/usr/bin/env bash
# bench/clean/run.sh [--quick] [BUILD_DIR] [--corpus DIR] [--repeat N]
#
# html_clean quality and speed on the development corpus, next to Mozilla
# Readability (the peer, measured in the same run) and the bare libxml2
# parse (the ceiling). Everything runs on one core (taskset -c 0).
#
#   BUILD_DIR  a built tree (bench/run builds it; default build):
#              BUILD_DIR/bin/clean_bench
#   --corpus   the corpus "articles" folder (default
#              $VIGIL_CORPUS_DIR/articles or /work/shared/corpus/articles);
#              when absent, the HTML pages of data/samples stand in (speed
#              only: they have no ground truth)
#   --repeat   timed passes, the best kept (default 3)
#   --quick    every 10th page, one pass, preset precision; Readability
#              on 8 of them, only when bench/clean/node_modules is there
#
# Readability and jsdom come from npm (package-lock.json pins them): a full
# run installs them into bench/clean/node_modules when missing (npm ci).
# Prints RESULT lines (bench/run's format).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/../lib.sh"
corpus=${VIGIL_CORPUS_DIR:-/work/shared/corpus}/articles
repeat=3
pass=()
while [ $# -gt 0 ]; do
  case $1 in
  --corpus) corpus=$2; shift 2 ;;
  --repeat) repeat=$2; shift 2 ;;
  *) pass+=("$1"); shift ;;
  esac
done
bench_args "${pass[@]+"${pass[@]}"}"
bench=$build/bin/clean_bench
[ -x "$bench" ] || { echo "clean: missing $bench (build $build first)" >&2; exit 1; }
work=$(mktemp -d /tmp/vigil-bench-clean.XXXXXX)
trap 'rm -rf "$work"' EXIT
one_core=()
command -v taskset > /dev/null && one_core=(taskset -c 0)

presets="precision recall"
what="corpus"
if [ ! -f "$corpus/index.jsonl" ]; then
  # No corpus: the sample pages, gzipped, in a corpus-shaped folder.
  echo "clean: no corpus at $corpus (set VIGIL_CORPUS_DIR or --corpus); using data/samples/*.html"
  mkdir -p "$work/samples/html"
  for f in "$root"/data/samples/*.html; do
    id=$(basename "$f" .html)
    gzip -c "$f" > "$work/samples/html/$id.html.gz"
    printf '{"id": "%s", "set": "samples", "html": "html/%s.html.gz", "gt": "none"}\n' "$id" "$id" \
      >> "$work/samples/index.jsonl"
  done
  corpus=$work/samples
  what="samples"
fi
if [ "$quick" = 1 ]; then
  if [ "$what" = corpus ]; then
    # Every 10th page, the rest of the corpus reached through links.
    mkdir -p "$work/quick"
    for d in "$corpus"/*/; do ln -s "$d" "$work/quick/$(basename "$d")"; done
    awk 'NR % 10 == 1' "$corpus/index.jsonl" > "$work/quick/index.jsonl"
    corpus=$work/quick
  fi
  repeat=1
  presets=precision
fi

bench_machine clean
echo "corpus: $corpus ($(wc -l < "$corpus/index.jsonl") pages)"

rjson=
if [ ! -d "$here/node_modules/@mozilla/readability" ] && [ "$quick" = 0 ]; then
  echo "== npm ci (Readability, jsdom)"
  (cd "$here" && npm ci --no-audit --no-fund > /dev/null)
fi
if [ -d "$here/node_modules/@mozilla/readability" ] && command -v node > /dev/null; then
  rjson=$work/readability.jsonl
  rcorpus=$corpus
  if [ "$quick" = 1 ]; then
    # Readability takes 0.25 to 0.5 s a page: 8 pages of the quick set.
    mkdir -p "$work/rquick"
    for d in "$corpus"/*/; do ln -s "$(readlink -f "$d")" "$work/rquick/$(basename "$d")"; done
    awk 'NR % 6 == 1 && ++n <= 8' "$corpus/index.jsonl" > "$work/rquick/index.jsonl"
    rcorpus=$work/rquick
  fi
  echo "== Mozilla Readability over $(wc -l < "$rcorpus/index.jsonl") of the pages (one core)"
  "${one_core[@]}" node "$here/readability.js" "$rcorpus" "$rjson"
else
  echo "== Readability skipped (no bench/clean/node_modules or no node; a full run installs them)"
fi

for preset in $presets; do
  echo
  echo "== html_clean, preset $preset"
  # The ceiling does not depend on the preset: its RESULT once.
  "${one_core[@]}" "$bench" --corpus "$corpus" ${rjson:+--readability "$rjson"} \
    --preset "$preset" --repeat "$repeat" |
    if [ "$preset" = precision ]; then cat; else grep -v '^RESULT	clean ceiling'; fi
done
[ "$what" = samples ] && echo "clean: figures on data/samples (no corpus): speed only, quality not meaningful"
exit 0
