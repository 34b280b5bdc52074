#!/usr/bin/env python3
"""Generate N distinct RSS 2.0 feeds of about 2 KB with 5 items each.

Usage: gen_feeds.py OUTDIR [N] [BASE_URL]
Writes OUTDIR/feeds/fNNNNN.xml and OUTDIR/urls.txt (one URL per feed,
BASE_URL/feeds/fNNNNN.xml). Deterministic: the same N gives the same bytes.
"""
import os
import random
import sys
from datetime import datetime, timedelta, timezone

WORDS = ("minister parliament election summit troops border ceasefire talks sanctions "
         "economy inflation markets energy pipeline drought floods court ruling protest "
         "strike union budget deficit vaccine hospital satellite launch treaty embassy "
         "governor mayor council coalition opposition referendum tariff exports").split()


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    base = sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:8089"
    os.makedirs(os.path.join(out, "feeds"), exist_ok=True)
    now = datetime(2024, 11, 4, 12, 0, tzinfo=timezone.utc)
    sizes = []
    with open(os.path.join(out, "urls.txt"), "w") as urls:
        for i in range(n):
            rng = random.Random(i)
            name = f"f{i:05d}.xml"
            items = []
            for k in range(5):
                when = now - timedelta(minutes=37 * k + i % 60)
                items.append(
                    f"<item><title>{sentence(rng, 7)}</title>"
                    f"<link>https://site{i}.example/news/{i}-{k}</link>"
                    f"<guid isPermaLink=\"false\">site{i}-{k}</guid>"
                    f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
                    f"<description>{sentence(rng, 19)}</description></item>")
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    f"<rss version=\"2.0\"><channel><title>Site {i} news</title>"
                    f"<link>https://site{i}.example/</link><description>Feed {i}</description>"
                    + "".join(items) + "</channel></rss>\n")
            with open(os.path.join(out, "feeds", name), "w") as f:
                f.write(body)
            sizes.append(len(body))
            urls.write(f"{base}/feeds/{name}\n")
    print(f"{n} feeds, mean {sum(sizes) / len(sizes):.0f} bytes, "
          f"min {min(sizes)}, max {max(sizes)}", file=sys.stderr)


if __name__ == "__main__":
    main()
