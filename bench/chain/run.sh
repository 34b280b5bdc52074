#!/usr/bin/env bash
# bench/chain/run.sh [--quick] [BUILD_DIR] - the analysis chain.
#
#   1. bench_stages: the events stage against the entities stage, each
#      alone on the same texts (the BBC corpus, else generated text), with
#      every shipped gazetteer (data/gazetteer/*.json) and every shipped
#      rules file (rules/*.json); sentences/s and MB/s, one core.
#      Target: the events stage costs less than the entities stage.
#      The same on the text html_clean extracts from the HTML pages of 2.
#   2. The whole chain html_clean -> entities -> events -> null through
#      `vigil run --once --workers 2` over a directory of HTML pages (the
#      corpus pages, else data/samples copied many times), in documents/s,
#      with peak RSS from vigil-rusage; the same pages through html_clean
#      alone are the comparison; runs without input give the start-up
#      cost. Best wall time of 3 runs each (1 with --quick).
#
# BUILD_DIR (default build) must be built (bench/run does it). Corpus:
# $VIGIL_CORPUS_DIR, else /work/shared/corpus. Prints RESULT lines
# (bench/run's format). --quick: fewer passes and pages (a few seconds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/../lib.sh"
bench_args "$@"
vigil=$build/bin/vigil
rusage=$build/bench/vigil-rusage
stages=$build/bench/bench_stages
for f in "$vigil" "$rusage" "$stages"; do
  [ -x "$f" ] || { echo "chain: missing $f (build $build first)" >&2; exit 1; }
done
corpus=${VIGIL_CORPUS_DIR:-/work/shared/corpus}
work=$(mktemp -d /tmp/vigil-bench-chain.XXXXXX)
trap 'rm -rf "$work"' EXIT

passes=10 runs=3 max_pages=100000 copies=60
if [ "$quick" = 1 ]; then passes=2 runs=1 max_pages=60 copies=10; fi

bench_machine chain

gaz=() rules=() gaz_json='' rules_json=''
for f in "$root"/data/gazetteer/*.json; do
  gaz+=(--gazetteer "$f")
  gaz_json+="${gaz_json:+, }\"$f\""
done
for f in "$root"/rules/*.json; do
  rules+=(--rules "$f")
  rules_json+="${rules_json:+, }\"$f\""
done

# The pages of part 2 (and 1b): one file per corpus page, named after its
# path (sets reuse file names), else the samples copied.
in=$work/in
mkdir -p "$in" "$work/empty"
if [ -d "$corpus/articles" ]; then
  # (awk, not head: head would end sort with SIGPIPE, a failure under pipefail)
  (cd "$corpus/articles" && find . -name '*.html.gz' | sort | awk -v m="$max_pages" 'NR <= m') \
    > "$work/list"
  while read -r f; do
    name=${f#./}
    name=${name%.gz}
    gzip -dc "$corpus/articles/$f" > "$in/${name//\//_}"
  done < "$work/list"
  what="corpus HTML pages"
else
  for ((k = 0; k < copies; k++)); do
    for f in "$root"/data/samples/*.html "$root"/data/samples/*.txt "$root"/data/samples/*.json; do
      b=$(basename "$f")
      cp "$f" "$in/${b%.*}-$k.${b##*.}"
    done
  done
  what="data/samples files x $copies (corpus absent)"
fi
ndocs=$(find "$in" -type f | wc -l)
mb=$(du -sm "$in" | cut -f1)

echo "== 1a. events stage vs entities stage, each alone, one core"
"$stages" "${gaz[@]}" "${rules[@]}" --passes "$passes"
echo "== 1b. the same on the text html_clean extracts from the $ndocs pages of part 2"
"$stages" "${gaz[@]}" "${rules[@]}" --passes "$passes" --pages "$in" --no-results

echo "== 2. html_clean -> entities -> events through vigil run --once, 2 workers"
pipeline() { # NAME INPUT WITH_ANALYSIS -> a pipeline file
  local out=$work/$1.json analysis=
  if [ "$3" = 1 ]; then
    analysis=",
    {\"id\": \"entities\", \"plugin\": \"entities\", \"options\": {\"gazetteers\": [$gaz_json]}},
    {\"id\": \"events\", \"plugin\": \"events\", \"options\": {\"rules\": [$rules_json]}}"
  fi
  cat > "$out" <<EOF
{
  "name": "bench-chain-$1",
  "sources": [{"id": "pages", "plugin": "files", "options": {"path": "$2"}}],
  "transforms": [
    {"id": "clean", "plugin": "html_clean"}$analysis
  ],
  "sinks": [{"id": "null", "plugin": "null"}]
}
EOF
  echo "$out"
}

run() { # PIPELINE -> "wall rss_kb finished cpu_s"; fails when vigil fails
  local err=$work/run.err
  rm -rf "$work/state"
  if ! "$rusage" "$vigil" --log-level info run "$1" --once --workers 2 --progress 0 \
      --state-dir "$work/state" > /dev/null 2> "$err"; then
    echo "chain: vigil run $1 failed:" >&2
    cat "$err" >&2
    return 1
  fi
  awk '/wall_s=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
       /documents emitted/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "finished,") f = $i }
       END { printf "%s %d %d %.3f\n", v["wall_s"], v["max_rss_kb"], f, v["user_s"] + v["sys_s"] }' "$err"
}

best() { # NAME... -> one run of each pipeline, "wall rss finished cpu" appended to NAME.runs
  local p
  for p in "$@"; do
    local w r f c
    read -r w r f c < <(run "$work/$p.json") || return 1
    echo "$w $r $f $c" >> "$work/$p.runs"
  done
}
pipeline empty-clean "$work/empty" 0 > /dev/null
pipeline empty-chain "$work/empty" 1 > /dev/null
pipeline clean "$in" 0 > /dev/null
pipeline chain "$in" 1 > /dev/null
for ((k = 0; k < runs; k++)); do
  best empty-clean empty-chain clean chain
done
summary() { # NAME -> "best_wall max_rss_kb finished(min) cpu(min)"
  sort -n "$work/$1.runs" | awk 'NR == 1 { w = $1; f = $3; c = $4 } $2 > r { r = $2 }
                                 $3 < f { f = $3 } $4 < c { c = $4 }
                                 END { printf "%s %d %d %s\n", w, r, f, c }'
}
read -r w0c _ _ c0c < <(summary empty-clean)
read -r w0a r0 _ c0a < <(summary empty-chain)
read -r wc rc fc cc < <(summary clean)
read -r wa ra fa ca < <(summary chain)
if [ "$fa" -ne "$ndocs" ] || [ "$fc" -ne "$ndocs" ]; then
  echo "chain: expected $ndocs documents finished, got $fa (chain) and $fc (clean only)" >&2
  exit 1
fi
rate() { awk -v n="$1" -v w="$2" 'BEGIN { printf "%.0f", n / w }'; }
net() { awk -v n="$1" -v w="$2" -v s="$3" 'BEGIN { if (w > s) printf "%.0f", n / (w - s); else printf "?" }'; }
cpu_doc() { awk -v c="$1" -v c0="$2" -v n="$3" 'BEGIN { printf "%.2f", (c - c0) * 1000 / n }'; }
echo "input: $ndocs $what, $mb MB; best wall time and least CPU time of $runs run(s), highest peak RSS"
echo "start-up and shutdown with no input: html_clean alone ${w0c} s (CPU ${c0c} s); the chain ${w0a} s (CPU ${c0a} s, peak RSS $((r0 / 1024)) MB)"
echo "html_clean alone:                 $ndocs docs in ${wc} s = $(rate "$ndocs" "$wc") docs/s ($(net "$ndocs" "$wc" "$w0c") docs/s after start-up), CPU $(cpu_doc "$cc" "$c0c" "$ndocs") ms/doc after start-up, peak RSS $((rc / 1024)) MB"
echo "html_clean -> entities -> events: $ndocs docs in ${wa} s = $(rate "$ndocs" "$wa") docs/s ($(net "$ndocs" "$wa" "$w0a") docs/s after start-up), CPU $(cpu_doc "$ca" "$c0a" "$ndocs") ms/doc after start-up, peak RSS $((ra / 1024)) MB"
bench_result "chain: clean -> entities -> events" "$ndocs ${what%% (*}, vigil run --once, 2 workers" \
  "$(rate "$ndocs" "$wa") docs/s" - - "$((ra / 1024)) MB" "html_clean alone $(rate "$ndocs" "$wc") docs/s"
