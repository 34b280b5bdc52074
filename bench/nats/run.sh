#!/usr/bin/env bash
# Scale-out benchmark (docs/scale-out.md): documents/s through the processing
# tier (nats source -> entities with the shipped gazetteers -> null) with one
# and two worker processes, next to the broker's own publish and consume
# rates for the same documents, measured in the same run on one local
# nats-server.
# Usage: bench/nats/run.sh [BUILD_DIR] [DOCUMENTS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
n=${2:-20000}
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
export BENCH_DOCS=$tmp/docs.jsonl
export BENCH_STATE=$tmp
export VIGIL_DATA=$here/../../data
what=$(python3 "$here/docs.py" "$corpus" "$n" "$BENCH_DOCS")
bytes=$(stat -c %s "$BENCH_DOCS")

echo "# nats: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), nats-server $("$server" --version | sed 's/.*v//'), build $(basename "$build")"
echo "# $n documents, $((bytes / n)) bytes of JSON each on average ($what)"

rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", n / t }'; }

# Ceilings: the broker alone, same payloads.
pub=$("$tool" pub "$NATS_URL" CEIL ceil.docs "$BENCH_DOCS" "$n")
sub=$("$tool" sub "$NATS_URL" CEIL ceil "$n")
echo "broker | JetStream publish, async acks (bench_nats pub) | $(echo "$pub" | awk '{print $6, "msgs/s,", $8, "MB/s"}')"
echo "broker | pull consumer fetch + ack (bench_nats sub)     | $(echo "$sub" | awk '{print $6, "msgs/s,", $8, "MB/s"}')"

fill() {
  local t0 t1
  t0=$(date +%s.%N)
  "$vigil" --log-level warn run "$here/fetch.json" --once --state-dir "$tmp/fetch-state" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

# Warm the entities cache so no worker pays the gazetteer compilation.
"$vigil" --log-level error run "$here/work.json" --state-dir "$tmp/warm" >/dev/null 2>&1 &
warm=$!
sleep 3
kill "$warm"; wait "$warm" || true

# PROCS THREADS -> processing-tier rate
tier() {
  local procs=$1 threads=$2 out wp=()
  "$tool" drain "$NATS_URL" DOCS "$n" 900 > "$tmp/drain.out" &
  local drain=$!
  for i in $(seq "$procs"); do
    "$vigil" --log-level warn run "$here/work.json" --workers "$threads" \
      --state-dir "$tmp/work$i" >/dev/null 2>"$tmp/work$i.log" &
    wp+=($!)
  done
  wait "$drain"
  for p in "${wp[@]}"; do kill "$p"; done
  for p in "${wp[@]}"; do wait "$p" || true; done
  awk '{print $6}' "$tmp/drain.out"
}

t=$(fill)
echo "fetch  | vigil run fetch.json (jsonl -> nats sink), 1 process | $(rate "$n" "$t") docs/s"
r1=$(tier 1 1)
echo "work   | 1 process x 1 transform thread (nats -> entities -> null) | $r1 docs/s"
fill >/dev/null
r2=$(tier 2 1)
echo "work   | 2 processes x 1 transform thread                        | $r2 docs/s ($(awk -v a="$r2" -v b="$r1" 'BEGIN { printf "%.2f", a / b }')x)"
fill >/dev/null
r3=$(tier 1 2)
echo "work   | 1 process x 2 transform threads (for comparison)         | $r3 docs/s"
