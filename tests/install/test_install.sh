#!/usr/bin/env bash
# Install Vigil into a temporary prefix, build the out-of-tree example
# plugin with nothing but `pkg-config --cflags --libs vigil`, and run it in
# a pipeline with the installed binary.
set -euo pipefail
src=$1
build=$2
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name vigil.pc | head -1)
[ -n "$pc" ] || { echo "FAIL: vigil.pc not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
[ -f "$prefix/include/vigil/plugin.h" ] || { echo "FAIL: headers not installed"; exit 1; }
[ -x "$prefix/bin/vigil" ] || { echo "FAIL: vigil not installed"; exit 1; }

cp "$src/examples/wordcount/wordcount.c" "$src/examples/wordcount/pipeline.json" "$work/"
flags=$(pkg-config --cflags --libs vigil)
case "$flags" in *"$prefix"*) ;; *) echo "FAIL: pkg-config flags do not point into the prefix: $flags"; exit 1;; esac
cc -O2 -Wall -Wextra -Werror -o "$work/transform_wordcount.so" "$work/wordcount.c" $flags

# The installed binary finds its own plugins (jsonl, stdout) next to itself
# and the example through --plugin-dir.
"$prefix/bin/vigil" --plugin-dir "$work" plugins wordcount | grep -q "min_words" ||
  { echo "FAIL: plugin options not listed"; exit 1; }
out=$(printf '%s\n' '{"id": "a", "text": "one two three four"}' '{"id": "b", "text": "too short"}' |
  "$prefix/bin/vigil" --plugin-dir "$work" --log-level warn run "$work/pipeline.json" --once \
    --state-dir "$work/state")
echo "$out"
echo "$out" | grep -q '"id":"a"' || { echo "FAIL: document a missing"; exit 1; }
echo "$out" | grep -q '"words":4' || { echo "FAIL: meta.words missing"; exit 1; }
if echo "$out" | grep -q '"id":"b"'; then echo "FAIL: short document b was not dropped"; exit 1; fi
echo "PASS: installed, built the example with pkg-config, ran it"
