#!/usr/bin/env bash
# Scale-out benchmark (docs/scale-out.md): documents/s through the processing
# tier (nats source -> entities with the shipped gazetteers -> null) with one
# and two worker processes, next to the broker's own publish and consume
# rates for the same documents, measured in the same run on one local
# nats-server. Each configuration runs ROUNDS times, interleaved, and the
# best run counts (the machine may be shared; the load average is printed).
# Usage: bench/nats/run.sh [--quick] [BUILD_DIR]  (DOCS=50000 ROUNDS=3;
# --quick: 2,000 documents, one round: a smoke run, not a figure)
# Prints RESULT lines (bench/run's format).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/../lib.sh"
bench_args "$@"
build=$(cd "$build" && pwd)
if [ "$quick" = 1 ]; then
  n=${DOCS:-2000}
  rounds=${ROUNDS:-1}
else
  n=${DOCS:-50000}
  rounds=${ROUNDS:-3}
fi
vigil=$build/bin/vigil
tool=$build/bench/bench_nats
server=${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}
corpus=${VIGIL_CORPUS_DIR:-/work/shared/corpus}/texts/bbc_news.tsv
[ -x "$server" ] || { echo "nats-server not found (apt-get install nats-server)" >&2; exit 1; }
[ -x "$tool" ] || { echo "build bench_nats first (cmake --build $build --target bench_nats)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$server" -a 127.0.0.1 -p "$port" -js -sd "$tmp/js" -l "$tmp/nats.log" &
srv=$!
pids+=("$srv")
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done

export NATS_URL=nats://127.0.0.1:$port
export BENCH_STATE=$tmp
export VIGIL_DATA=$here/../../data
what=$(python3 "$here/docs.py" "$corpus" "$n" "$tmp/docs.jsonl" r0)
bytes=$(stat -c %s "$tmp/docs.jsonl")

echo "# nats: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), nats-server $("$server" --version | sed 's/.*v//'), build $(basename "$build")"
echo "# $n documents, $((bytes / n)) bytes of JSON each on average ($what), best of $rounds"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }

# Ceilings: the broker alone, same payloads.
pub=0; sub=0
for r in $(seq "$rounds"); do
  p=$("$tool" pub "$NATS_URL" CEIL ceil.docs "$tmp/docs.jsonl" "$n" | awk '{print $6}')
  s=$("$tool" sub "$NATS_URL" CEIL ceil "$n" | awk '{print $6}')
  pub=$(best "$pub" "$p"); sub=$(best "$sub" "$s")
done

# Every fill needs new ids: the stream's duplicate window drops a Nats-Msg-Id
# seen in the last two minutes (that is what it is for).
fill() { # ROUND -> docs/s of the fetch tier
  local t0 t1
  t0=$(date +%s.%N)
  sed "s/\"id\": \"r0-/\"id\": \"r$1-/" "$tmp/docs.jsonl" |
    BENCH_DOCS=- "$vigil" --log-level warn run "$here/fetch.json" --once \
      --state-dir "$tmp/fetch-state" >/dev/null
  t1=$(date +%s.%N)
  awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}

# Warm the entities cache so no worker pays the gazetteer compilation.
"$vigil" --log-level error run "$here/work.json" --state-dir "$tmp/warm" >/dev/null 2>&1 &
warm=$!
sleep 3
kill "$warm"; wait "$warm" || true

cpu_ticks() { # PID -> user + system clock ticks so far
  awk '{print $14 + $15}' "/proc/$1/stat"
}

tier() { # PROCS THREADS -> "docs/s worker-cpu-ms-per-1000-docs broker-cpu-ms-per-1000-docs"
  local procs=$1 threads=$2 wp=() ticks=0 b0 b1
  b0=$(cpu_ticks "$srv")
  "$tool" drain "$NATS_URL" DOCS "$n" 900 > "$tmp/drain.out" &
  local drain=$!
  for i in $(seq "$procs"); do
    "$vigil" --log-level warn run "$here/work.json" --workers "$threads" \
      --state-dir "$tmp/work$i" >/dev/null 2>"$tmp/work$i.log" &
    wp+=($!)
  done
  wait "$drain"
  b1=$(cpu_ticks "$srv")
  for p in "${wp[@]}"; do ticks=$((ticks + $(cpu_ticks "$p"))); done
  for p in "${wp[@]}"; do kill "$p"; done
  for p in "${wp[@]}"; do wait "$p" || true; done
  awk -v r="$(awk '{print $6}' "$tmp/drain.out")" -v t="$ticks" -v b=$((b1 - b0)) -v n="$n" \
    -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%s %.0f %.0f", r, t * 1000 / hz / n * 1000, b * 1000 / hz / n * 1000 }'
}

# best of the rounds by rate, with that round's CPU figures
pick() { # "rate cpu bcpu" "rate cpu bcpu" -> the one with the higher rate
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); print (x[1] + 0 >= y[1] + 0 ? a : b) }'
}
f=0; r1="0 0 0"; r2="0 0 0"; r3="0 0 0"
for r in $(seq "$rounds"); do
  f=$(best "$f" "$(fill "$r-1")"); r1=$(pick "$r1" "$(tier 1 1)")
  fill "$r-2" >/dev/null; r2=$(pick "$r2" "$(tier 2 1)")
  fill "$r-3" >/dev/null; r3=$(pick "$r3" "$(tier 1 2)")
done
show() { # LABEL "rate cpu bcpu" [BASE]
  set -- "$1" $2 "${3:-}"
  local x=""
  [ -n "${5:-}" ] && x=" ($(awk -v a="$2" -v b="$5" 'BEGIN { printf "%.2f", a / b }')x)"
  printf "%s | %s docs/s%s | worker CPU %s ms, broker CPU %s ms per 1000 docs\n" "$1" "$2" "$x" "$3" "$4"
}

echo "broker | JetStream publish, async acks (bench_nats pub)           | $pub msgs/s"
echo "broker | pull consumer, fetch 256 + ack each (bench_nats sub)      | $sub msgs/s"
echo "fetch  | 1 process: jsonl -> nats sink                            | $f docs/s"
show "work   | 1 process x 1 transform thread (nats -> entities -> null)" "$r1"
show "work   | 2 processes x 1 transform thread                         " "$r2" "${r1%% *}"
show "work   | 1 process x 2 transform threads (for comparison)         " "$r3" "${r1%% *}"
rate() { echo "${1%% *}"; }
bench_result "nats broker publish" "$n docs, JetStream async acks" "$(bench_group "$pub") msgs/s" - - - -
bench_result "nats broker consume" "$n docs, pull 256 + ack each" "$(bench_group "$sub") msgs/s" - - - -
bench_result "nats fetch tier" "$n docs, jsonl -> nats sink, 1 process" "$(bench_group "$f") docs/s" - - - -
bench_result "nats work tier" "$n docs, nats -> entities -> null, 1 process" \
  "$(bench_group "$(rate "$r1")") docs/s" - - - "broker consume $(bench_group "$sub") msgs/s"
bench_result "nats work tier" "$n docs, 2 processes" "$(bench_group "$(rate "$r2")") docs/s" - - - \
  "1 process $(bench_group "$(rate "$r1")") docs/s"
bench_result "nats work tier" "$n docs, 1 process x 2 threads" \
  "$(bench_group "$(rate "$r3")") docs/s" - - - "1 process $(bench_group "$(rate "$r1")") docs/s"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
