#!/usr/bin/env python3
"""Write N documents as JSON Lines from the BBC corpus (id, category, title,
body TSV), cycling through the articles with unique ids, or from generated
text when the corpus is absent. Ids start with PREFIX: each round of the
benchmark needs new ids, or the stream's duplicate window drops them.
Usage: docs.py TSV N OUT PREFIX"""
import json, os, random, sys

tsv, n, out, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
arts = []
if os.path.exists(tsv):
    with open(tsv, encoding="utf-8") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 4:
                arts.append((parts[0], parts[2], parts[3]))
if not arts:
    rnd = random.Random(7)
    words = ("the minister said on Monday that talks with Russia and Ukraine in Geneva "
             "would continue while NATO troops stayed near the border of Poland").split()
    for i in range(500):
        body = " ".join(rnd.choice(words) for _ in range(400)).capitalize() + "."
        arts.append(("gen/%d" % i, "Generated story %d" % i, body))
with open(out, "w", encoding="utf-8") as f:
    for i in range(n):
        src, title, body = arts[i % len(arts)]
        f.write(json.dumps({"id": "%s-%d" % (prefix, i), "url": "https://example.org/%s/%d" % (src, i),
                            "title": title, "text": body,
                            "published": "2024-11-04T10:00:00Z"}) + "\n")
print("corpus" if os.path.exists(tsv) else "generated", len(arts), "articles")
