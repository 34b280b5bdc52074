// Mozilla Readability baseline for clean_bench: runs Readability (with
// jsdom, as its README recommends for Node) on every corpus page and writes
// one JSON line per page: {"id", "text", "ms", "title", "byline"}.
//
//   node readability.js CORPUS_ARTICLES_DIR OUT.jsonl
//
// "ms" is the time of `new JSDOM(bytes)` plus `new Readability(doc).parse()`
// for that page (what a caller pays to go from bytes to an article); turning
// the article HTML into text for scoring is not timed. Text keeps block
// structure (a blank line between block elements) so words of adjacent
// paragraphs are not glued together, which would unfairly lower its score.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { JSDOM, VirtualConsole } = require('jsdom');
const { Readability } = require('@mozilla/readability');

const BLOCK = new Set(['ADDRESS', 'ARTICLE', 'ASIDE', 'BLOCKQUOTE', 'BR', 'DD', 'DIV', 'DL',
  'DT', 'FIGCAPTION', 'FIGURE', 'FOOTER', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'HEADER', 'HR',
  'LI', 'MAIN', 'NAV', 'OL', 'P', 'PRE', 'SECTION', 'TABLE', 'TD', 'TH', 'TR', 'UL']);

function blockText(root) {
  const out = [];
  let cur = '';
  const flush = () => {
    const t = cur.replace(/\s+/g, ' ').trim();
    if (t) out.push(t);
    cur = '';
  };
  const walk = (n) => {
    for (let c = n.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 3) {
        cur += c.nodeValue;
      } else if (c.nodeType === 1) {
        const block = BLOCK.has(c.nodeName);
        if (block) flush();
        walk(c);
        if (block) flush();
      }
    }
  };
  walk(root);
  flush();
  return out.join('\n\n');
}

function main() {
  const dir = process.argv[2];
  const outPath = process.argv[3];
  if (!dir || !outPath) {
    console.error('usage: node readability.js CORPUS_ARTICLES_DIR OUT.jsonl');
    process.exit(2);
  }
  const lines = fs.readFileSync(path.join(dir, 'index.jsonl'), 'utf8').split('\n').filter(Boolean);
  const out = fs.openSync(outPath, 'w');
  const quiet = new VirtualConsole(); // page scripts never run; silence CSS parse noise
  let total = 0;
  for (const line of lines) {
    const e = JSON.parse(line);
    const bytes = zlib.gunzipSync(fs.readFileSync(path.join(dir, e.html)));
    const t0 = process.hrtime.bigint();
    let article = null;
    try {
      const dom = new JSDOM(bytes, { url: e.url || 'https://example.invalid/',
                                     contentType: 'text/html', virtualConsole: quiet });
      article = new Readability(dom.window.document).parse();
      dom.window.close();
    } catch (err) {
      article = null;
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    total += ms;
    let text = '';
    if (article && article.content) {
      const frag = JSDOM.fragment(article.content);
      text = blockText(frag);
    }
    fs.writeSync(out, JSON.stringify({ id: e.id, text, ms,
      title: article ? article.title : null, byline: article ? article.byline : null }) + '\n');
  }
  fs.closeSync(out);
  console.error(`readability: ${lines.length} pages, ${(total / 1000).toFixed(1)} s, ` +
                `${(lines.length / (total / 1000)).toFixed(1)} pages/s`);
}

main();
