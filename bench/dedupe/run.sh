#!/usr/bin/env bash
# dedupe benchmark: BBC articles plus near-duplicate copies (one sentence
# removed each) through jsonl -> dedupe (mode drop) -> null, with the state
# store on disk, against the same input through a no-op transform.
# Usage: bench/dedupe/run.sh [--quick] [BUILD_DIR]   (a Release build is meant)
# Texts: $VIGIL_CORPUS_DIR/texts/bbc_news.tsv (default /work/shared/corpus);
# generated articles when absent. --quick: 800 articles x 2 versions.
# COPIES (environment, default 3): versions of each article.
# Prints RESULT lines (bench/run's format).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/../lib.sh"
bench_args "$@"
copies=${COPIES:-3}
articles=100000
if [ "$quick" = 1 ]; then copies=2 articles=800; fi
vigil=$build/bin/vigil
rusage=$build/bench/vigil-rusage
plugins=$build/tests/plugins
for f in "$vigil" "$rusage" "$plugins"; do
  [ -e "$f" ] || { echo "dedupe: missing $f (build $build with tests first)" >&2; exit 1; }
done
corpus=${VIGIL_CORPUS_DIR:-/work/shared/corpus}
tsv=$corpus/texts/bbc_news.tsv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -r "$tsv" ]; then
  head -n $((articles + 1)) "$tsv" > "$work/in.tsv"
  what="BBC articles"
else
  # Generated articles: 20 sentences of 12 words each from a fixed
  # vocabulary, deterministic.
  n=$((articles < 2000 ? articles : 2000))
  awk -v n="$n" 'BEGIN {
    split("minister parliament election summit troops border ceasefire talks sanctions economy " \
          "inflation markets energy pipeline drought floods court ruling protest strike union " \
          "budget deficit vaccine hospital satellite launch treaty embassy governor mayor council " \
          "coalition opposition referendum tariff exports the a of and in to said on", w, " ")
    nw = 0; for (k in w) nw++
    srand(7); print "id\tcategory\ttitle\tbody"
    for (i = 0; i < n; i++) {
      body = ""
      for (s = 0; s < 20; s++) {
        for (k = 0; k < 12; k++) body = body (k ? " " : "") w[int(rand() * nw) + 1]
        body = body ". "
      }
      printf "gen/%04d\tgenerated\tGenerated story %d\t%s\n", i, i, body
    }
  }' > "$work/in.tsv"
  what="generated articles (corpus absent)"
fi
input=$work/input.jsonl
"$here/make-input.sh" "$work/in.tsv" "$copies" > "$input"
docs=$(wc -l < "$input")
narticles=$(($(wc -l < "$work/in.tsv") - 1))

run() { # PIPELINE STATE [ENV...] -> "wall rss dropped"; fails when vigil fails
  local pipeline=$1 state=$2 err=$work/err
  shift 2
  if ! env BENCH_INPUT="$input" "$@" "$rusage" "$vigil" --log-level info --plugin-dir "$plugins" \
      run "$here/$pipeline" --once --progress 0 --state-dir "$state" > /dev/null 2> "$err"; then
    echo "dedupe: vigil run $pipeline failed:" >&2
    cat "$err" >&2
    return 1
  fi
  awk '/wall_s=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
       /\[summary\] +transform/ { for (i = 1; i <= NF; i++) if ($i == "dropped") d = $(i + 1) }
       END { sub(",", "", d); printf "%s %d %s\n", v["wall_s"], v["max_rss_kb"], d }' "$err"
}

base_rate=
line() { # LABEL WALL RSS DROPPED [DB]
  local rate
  rate=$(awk -v n="$docs" -v w="$2" 'BEGIN { printf "%.0f", n / w }')
  echo "dedupe | $1 | $docs docs | ${rate} docs/s | wall ${2}s | peak RSS $(($3 / 1024)) MB | dropped $4${5:+ | state $5}"
  if [ -z "$base_rate" ]; then
    base_rate=$rate
    bench_result "dedupe baseline" "$(bench_group "$docs") docs: jsonl -> noop -> null" \
      "$(bench_group "$rate") docs/s" - - "$(($3 / 1024)) MB" -
  else
    bench_result "dedupe" "$(bench_group "$docs") docs: $1" "$(bench_group "$rate") docs/s" - - \
      "$(($3 / 1024)) MB" "noop baseline $(bench_group "$base_rate") docs/s"
  fi
}

bench_machine dedupe
echo "# input: $(bench_group "$narticles") $what x $copies versions (version 0 as is, others minus one sentence)"
read -r w r d < <(run pipeline-noop.json "$work/s0")
line "baseline: jsonl -> noop -> null" "$w" "$r" "-"
read -r w r d < <(run pipeline-dedupe.json "$work/s1")
line "fresh state, max_entries 50000" "$w" "$r" "$d" "$(du -h "$work/s1/vigil.db" | cut -f1)"
read -r w r d < <(run pipeline-dedupe.json "$work/s1")
line "restart on that state (all repeats)" "$w" "$r" "$d"
read -r w r d < <(run pipeline-dedupe.json "$work/s2" BENCH_MAX_ENTRIES=500)
line "fresh state, max_entries 500 (store reads)" "$w" "$r" "$d"
