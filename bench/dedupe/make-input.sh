#!/usr/bin/env bash
# Turn the BBC corpus (bbc_news.tsv: id, category, title, body) into JSON
# Lines for the dedupe benchmark: COPIES versions of each article, version 0
# as it is and version c >= 1 with its c-th sentence removed (a near
# duplicate), interleaved so copies of one article arrive far apart.
# Usage: make-input.sh BBC_TSV COPIES > out.jsonl
set -euo pipefail
tsv=$1
copies=${2:-5}
awk -F'\t' -v copies="$copies" '
function esc(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return s }
NR > 1 { id[NR] = $1; title[NR] = $3; body[NR] = $4; n = NR }
END {
  for (c = 0; c < copies; c++) {
    for (i = 2; i <= n; i++) {
      text = body[i]
      if (c > 0) {
        k = split(body[i], s, /\. /)
        text = ""
        for (j = 1; j <= k; j++) if (j != (c % k) + 1) text = text (text == "" ? "" : ". ") s[j]
      }
      printf "{\"id\": \"%s#%d\", \"url\": \"https://bbc.example/%s?copy=%d\", \"title\": \"%s\", \"text\": \"%s\"}\n", \
        esc(id[i]), c, esc(id[i]), c, esc(title[i]), esc(text)
    }
  }
}' "$tsv"
