#!/usr/bin/python3
"""Check the shipped gazetteer files against docs/gazetteers.md.

Usage: scripts/check_gazetteers.py [FILE.json ...]
       (default: every data/gazetteer/*.json of this checkout)

Python 3 standard library only. Errors make the exit status 1; warnings do
not. Messages use the project's style: FILE:LINE:COL: /json/pointer: message.

What is checked, beyond what the C loader rejects (bad JSON, duplicate id,
empty or punctuation-only alias, unknown type, unknown key):

* duplicate keys inside any JSON object;
* ids: countries and territories use an ISO 3166-1 alpha-2 code (or XK),
  other entries `<prefix>:<slug>` with the prefix of their type; unique
  across all files; every UN member and observer is present;
* every alias and demonym belongs to one entry only, compared the way the
  matcher compares them (case-folded unless case-sensitive). An alias may be
  shared on purpose (`Congo`, `RSF`): then at most one entry has it without
  `context`, and every other has a `positive` list and `"default": "reject"`;
* the case rule: an alias all in capitals with at most 6 letters is
  case-sensitive automatically; a one-word person alias (a surname) and the
  aliases in COMMON_WORDS below must be case-sensitive;
* `affiliation` and role `of` name a loaded entry; role dates are real
  dates, `from` <= `to`, and one office is not held by two people at once;
* `name` is one of the entry's aliases.
"""

import datetime
import glob
import os
import re
import sys
import unicodedata

TYPES = {
    "country": None, "territory": None,
    "person": "person", "organisation": "org", "place": "place",
    "military": "mil", "armed_group": "group",
}
ENTRY_KEYS = {"id", "type", "name", "aliases", "demonyms", "affiliation", "roles", "note"}
ENTRY_REQUIRED = ("id", "type", "name", "aliases")
ALIAS_KEYS = {"text", "case", "lang", "context"}
CONTEXT_KEYS = {"window", "positive", "negative", "default",
                "reject_if_next_capitalized", "reject_if_prev_capitalized"}
ROLE_KEYS = {"title", "of", "from", "to"}
TOP_KEYS = {"gazetteer", "description", "entries"}
LANGS = {"en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "uk", "be", "ka", "ar", "fa",
         "he", "tr", "zh", "ja", "ko"}

# ISO 3166-1 alpha-2, plus XK (Kosovo, user-assigned).
ISO = set("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
VN VU WF WS YE YT ZA ZM ZW XK
""".split())

# The 193 UN member states, and the two observer states.
UN_MEMBERS = set("""
AF AL DZ AD AO AG AR AM AU AT AZ BS BH BD BB BY BE BZ BJ BT BO BA BW BR BN BG BF BI CV KH
CM CA CF TD CL CN CO KM CG CR CI HR CU CY CZ KP CD DK DJ DM DO EC EG SV GQ ER EE SZ ET FJ
FI FR GA GM GE DE GH GR GD GT GN GW GY HT HN HU IS IN ID IR IQ IE IL IT JM JP JO KZ KE KI
KW KG LA LV LB LS LR LY LI LT LU MG MW MY MV ML MT MH MR MU MX FM MD MC MN ME MA MZ MM NA
NR NP NL NZ NI NE NG MK NO OM PK PW PA PG PY PE PH PL PT QA KR RO RU RW KN LC VC WS SM ST
SA SN RS SC SL SG SK SI SB SO ZA SS ES LK SD SR SE CH SY TJ TH TL TG TO TT TN TR TM TV UG
UA AE GB TZ US UY UZ VU VE VN YE ZM ZW
""".split())
UN_OBSERVERS = {"VA", "PS"}
COUNTRY_NON_UN = {"TW", "XK"}

# Aliases that are also ordinary words (or very common first names): they
# must be case-sensitive, or a lowercase word would be tagged.
COMMON_WORDS = {
    "turkey", "chad", "jordan", "china", "chile", "guinea", "japan", "niger", "georgia",
    "jersey", "holland", "america", "congo", "pentagon", "white house", "state department",
    "kremlin", "amnesty", "wagner", "sofia", "lyman", "wellington", "paris", "washington",
    "sudan", "dominica", "mali", "cuba",
}
# Subset of COMMON_WORDS where case-insensitive matching is acceptable.
COMMON_WORDS_OK = {"sudan", "dominica", "mali", "cuba"}

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LANG = re.compile(r"^[a-z]{2}$")


# ------------------------------------------------------------------ JSON with positions
class JSONError(Exception):
    def __init__(self, msg, pos):
        super().__init__(msg)
        self.pos = pos


class PosParser:
    """A small JSON parser that records the position of every value by JSON
    Pointer and reports duplicate object keys."""

    WS = " \t\r\n"

    def __init__(self, text):
        self.s = text
        self.i = 0
        self.pos = {}
        self.dups = []

    def parse(self):
        v = self.value("")
        self.skip()
        if self.i != len(self.s):
            raise JSONError("trailing data after the JSON value", self.i)
        return v

    def skip(self):
        while self.i < len(self.s) and self.s[self.i] in self.WS:
            self.i += 1

    def value(self, ptr):
        self.skip()
        if self.i >= len(self.s):
            raise JSONError("unexpected end of file", self.i)
        self.pos[ptr] = self.i
        ch = self.s[self.i]
        if ch == "{":
            return self.obj(ptr)
        if ch == "[":
            return self.arr(ptr)
        if ch == '"':
            return self.string()
        m = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?").match(self.s, self.i)
        if m and m.end() > self.i:
            self.i = m.end()
            t = m.group(0)
            return float(t) if any(c in t for c in ".eE") else int(t)
        for lit, val in (("true", True), ("false", False), ("null", None)):
            if self.s.startswith(lit, self.i):
                self.i += len(lit)
                return val
        raise JSONError("unexpected character %r" % ch, self.i)

    def string(self):
        import json
        m = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"').match(self.s, self.i)
        if not m:
            raise JSONError("bad string", self.i)
        self.i = m.end()
        return json.loads(m.group(0))

    def obj(self, ptr):
        self.i += 1
        out = {}
        self.skip()
        if self.s.startswith("}", self.i):
            self.i += 1
            return out
        while True:
            self.skip()
            if not self.s.startswith('"', self.i):
                raise JSONError("expected a key", self.i)
            kpos = self.i
            k = self.string()
            self.skip()
            if not self.s.startswith(":", self.i):
                raise JSONError("expected ':'", self.i)
            self.i += 1
            sub = ptr + "/" + k.replace("~", "~0").replace("/", "~1")
            if k in out:
                self.dups.append((sub, kpos))
            out[k] = self.value(sub)
            self.skip()
            if self.s.startswith(",", self.i):
                self.i += 1
                continue
            if self.s.startswith("}", self.i):
                self.i += 1
                return out
            raise JSONError("expected ',' or '}'", self.i)

    def arr(self, ptr):
        self.i += 1
        out = []
        self.skip()
        if self.s.startswith("]", self.i):
            self.i += 1
            return out
        while True:
            out.append(self.value("%s/%d" % (ptr, len(out))))
            self.skip()
            if self.s.startswith(",", self.i):
                self.i += 1
                continue
            if self.s.startswith("]", self.i):
                self.i += 1
                return out
            raise JSONError("expected ',' or ']'", self.i)

    def linecol(self, offset):
        line = self.s.count("\n", 0, offset) + 1
        col = offset - (self.s.rfind("\n", 0, offset) + 1) + 1
        return line, col


# ------------------------------------------------------------------ reporting
class Report:
    def __init__(self):
        self.errors = 0
        self.warnings = 0

    def _emit(self, kind, f, ptr, msg):
        where = f.name
        if ptr is not None:
            off = f.parser.pos.get(ptr)
            p = ptr
            while off is None and "/" in p:
                p = p.rsplit("/", 1)[0]
                off = f.parser.pos.get(p)
            if off is not None:
                line, col = f.parser.linecol(off)
                where += ":%d:%d" % (line, col)
            where += ": " + (ptr or "/")
        print("%s: %s: %s" % (where, kind, msg))

    def error(self, f, ptr, msg):
        self.errors += 1
        self._emit("error", f, ptr, msg)

    def warn(self, f, ptr, msg):
        self.warnings += 1
        self._emit("warning", f, ptr, msg)


class File:
    def __init__(self, path):
        self.path = path
        self.name = os.path.relpath(path)
        with open(path, encoding="utf-8") as fh:
            self.text = fh.read()
        self.parser = PosParser(self.text)
        self.data = None


# ------------------------------------------------------------------ helpers
def fold(s):
    return unicodedata.normalize("NFC", s).casefold()


def auto_sensitive(text):
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and len(letters) <= 6 and all(c.isupper() for c in letters)


def is_sensitive(alias):
    if isinstance(alias, dict) and alias.get("case") in ("sensitive", "insensitive"):
        return alias["case"] == "sensitive"
    return auto_sensitive(alias if isinstance(alias, str) else alias.get("text", ""))


def parse_date(s):
    if not isinstance(s, str) or not DATE.match(s):
        return None
    try:
        return datetime.date.fromisoformat(s)
    except ValueError:
        return None


def check_text(rep, f, ptr, text, what):
    if not isinstance(text, str):
        rep.error(f, ptr, "%s must be a string" % what)
        return False
    if not text.strip():
        rep.error(f, ptr, "%s is empty" % what)
        return False
    if not any(unicodedata.category(c)[0] in "LN" for c in text):
        rep.error(f, ptr, "%s %r has no letter or digit" % (what, text))
        return False
    if text != text.strip():
        rep.error(f, ptr, "%s %r has leading or trailing spaces" % (what, text))
    if "  " in text:
        rep.error(f, ptr, "%s %r has a double space" % (what, text))
    if any(unicodedata.category(c) == "Cc" for c in text):
        rep.error(f, ptr, "%s %r has a control character" % (what, text))
    if unicodedata.normalize("NFC", text) != text:
        rep.warn(f, ptr, "%s %r is not NFC" % (what, text))
    if re.search(r"['’]s$", text):
        rep.warn(f, ptr, "%s %r is a possessive; the matcher handles possessives" % (what, text))
    return True


# ------------------------------------------------------------------ checks
def check_context(rep, f, ptr, ctx):
    if not isinstance(ctx, dict):
        rep.error(f, ptr, "context must be an object")
        return
    for k in ctx:
        if k not in CONTEXT_KEYS:
            rep.error(f, ptr + "/" + k, "unknown context key %r (expected one of %s)"
                      % (k, ", ".join(sorted(CONTEXT_KEYS))))
    if "window" in ctx and ctx["window"] not in ("sentence", "document"):
        rep.error(f, ptr + "/window", "window must be \"sentence\" or \"document\"")
    if "default" in ctx and ctx["default"] not in ("accept", "reject"):
        rep.error(f, ptr + "/default", "default must be \"accept\" or \"reject\"")
    for k in ("positive", "negative"):
        if k in ctx:
            lst = ctx[k]
            if not isinstance(lst, list) or not lst:
                rep.error(f, ptr + "/" + k, "%s must be a non-empty array of strings" % k)
                continue
            seen = set()
            for i, w in enumerate(lst):
                if check_text(rep, f, "%s/%s/%d" % (ptr, k, i), w, k + " word"):
                    if fold(w) in seen:
                        rep.warn(f, "%s/%s/%d" % (ptr, k, i), "repeated %s word %r" % (k, w))
                    seen.add(fold(w))
    for k in ("reject_if_next_capitalized", "reject_if_prev_capitalized"):
        if k in ctx and not isinstance(ctx[k], bool):
            rep.error(f, ptr + "/" + k, "%s must be true or false" % k)
    if ctx.get("default") == "reject" and not ctx.get("positive"):
        rep.error(f, ptr, "default \"reject\" without positive words never matches")
    if not (ctx.get("positive") or ctx.get("negative") or ctx.get("default") == "reject"
            or ctx.get("reject_if_next_capitalized") or ctx.get("reject_if_prev_capitalized")):
        rep.warn(f, ptr, "context has no effect")


def check_alias(rep, f, ptr, alias, etype, stats):
    if isinstance(alias, str):
        text = alias
    elif isinstance(alias, dict):
        for k in alias:
            if k not in ALIAS_KEYS:
                rep.error(f, ptr + "/" + k, "unknown alias key %r (expected one of %s)"
                          % (k, ", ".join(sorted(ALIAS_KEYS))))
        if "text" not in alias:
            rep.error(f, ptr, "alias object without \"text\"")
            return None
        text = alias["text"]
        if "case" in alias:
            if alias["case"] not in ("sensitive", "insensitive"):
                rep.error(f, ptr + "/case", "case must be \"sensitive\" or \"insensitive\"")
            elif alias["case"] == "sensitive" and isinstance(text, str) and auto_sensitive(text):
                stats["redundant_case"] += 1
            elif alias["case"] == "insensitive" and isinstance(text, str) and auto_sensitive(text):
                stats["insensitive_override"].append(text)
        if "lang" in alias:
            if not isinstance(alias["lang"], str) or not LANG.match(alias["lang"]):
                rep.error(f, ptr + "/lang", "lang must be an ISO 639-1 code like \"de\"")
            elif alias["lang"] not in LANGS:
                rep.warn(f, ptr + "/lang", "unusual lang %r" % alias["lang"])
        if "context" in alias:
            check_context(rep, f, ptr + "/context", alias["context"])
            stats["context"] += 1
    else:
        rep.error(f, ptr, "alias must be a string or an object")
        return None
    if not check_text(rep, f, ptr if isinstance(alias, str) else ptr + "/text", text, "alias"):
        return None
    sens = is_sensitive(alias)
    if sens:
        stats["sensitive"] += 1
    word = fold(text)
    if word in COMMON_WORDS and word not in COMMON_WORDS_OK and not sens:
        rep.error(f, ptr, "alias %r is also an ordinary word or first name: make it "
                  "case-sensitive" % text)
    cased = any(c.lower() != c.upper() for c in text)
    if etype == "person" and cased and not re.search(r"\s", text) and not sens:
        rep.error(f, ptr, "one-word person alias %r (a surname?) must be case-sensitive" % text)
    return text


def check_file(rep, f, ids, occurrences, stats_by_file):
    try:
        f.data = f.parser.parse()
    except JSONError as e:
        line, col = f.parser.linecol(e.pos)
        print("%s:%d:%d: error: bad JSON: %s" % (f.name, line, col, e))
        rep.errors += 1
        return
    for ptr, off in f.parser.dups:
        line, col = f.parser.linecol(off)
        print("%s:%d:%d: %s: error: duplicate key" % (f.name, line, col, ptr))
        rep.errors += 1
    d = f.data
    if not isinstance(d, dict):
        rep.error(f, "", "top level must be an object")
        return
    for k in d:
        if k not in TOP_KEYS:
            rep.error(f, "/" + k, "unknown key %r (expected gazetteer, description, entries)" % k)
    if not isinstance(d.get("gazetteer"), str) or not d.get("gazetteer"):
        rep.error(f, "/gazetteer", "\"gazetteer\" must be a non-empty string")
    elif d["gazetteer"] != os.path.splitext(os.path.basename(f.path))[0]:
        rep.warn(f, "/gazetteer", "gazetteer name %r differs from the file name" % d["gazetteer"])
    if "description" in d and not isinstance(d["description"], str):
        rep.error(f, "/description", "\"description\" must be a string")
    entries = d.get("entries")
    if not isinstance(entries, list):
        rep.error(f, "/entries", "\"entries\" must be an array")
        return
    st = stats_by_file.setdefault(f.name, {
        "entries": 0, "aliases": 0, "demonyms": 0, "context": 0, "sensitive": 0,
        "roles": 0, "redundant_case": 0, "insensitive_override": [], "types": {}})
    for i, e in enumerate(entries):
        ep = "/entries/%d" % i
        if not isinstance(e, dict):
            rep.error(f, ep, "entry must be an object")
            continue
        for k in e:
            if k not in ENTRY_KEYS:
                rep.error(f, ep + "/" + k, "unknown key %r (expected one of %s)"
                          % (k, ", ".join(sorted(ENTRY_KEYS))))
        missing = [k for k in ENTRY_REQUIRED if k not in e]
        if missing:
            rep.error(f, ep, "missing %s" % ", ".join(missing))
            continue
        eid, etype, name = e["id"], e["type"], e["name"]
        st["entries"] += 1
        st["types"][etype] = st["types"].get(etype, 0) + 1
        if etype not in TYPES:
            rep.error(f, ep + "/type", "unknown type %r (expected one of %s)"
                      % (etype, ", ".join(TYPES)))
        if not isinstance(eid, str):
            rep.error(f, ep + "/id", "id must be a string")
            continue
        if etype in ("country", "territory"):
            if eid not in ISO:
                rep.error(f, ep + "/id", "%r is not an ISO 3166-1 alpha-2 code" % eid)
        elif etype in TYPES:
            prefix, _, slug = eid.partition(":")
            if prefix != TYPES[etype] or not SLUG.match(slug):
                rep.error(f, ep + "/id", "id %r: expected %s:<lowercase-slug>" % (eid, TYPES[etype]))
        if eid in ids:
            rep.error(f, ep + "/id", "duplicate id %r (first in %s)" % (eid, ids[eid][0].name))
        else:
            ids[eid] = (f, ep, e)
        check_text(rep, f, ep + "/name", name, "name")
        aliases = e["aliases"]
        if not isinstance(aliases, list) or not aliases:
            rep.error(f, ep + "/aliases", "aliases must be a non-empty array")
            aliases = []
        texts = []
        for j, a in enumerate(aliases):
            t = check_alias(rep, f, "%s/aliases/%d" % (ep, j), a, etype, st)
            if t is not None:
                texts.append(t)
                st["aliases"] += 1
                occurrences.append((t, is_sensitive(a), isinstance(a, dict) and "context" in a,
                                    a.get("context") if isinstance(a, dict) else None,
                                    eid, f, "%s/aliases/%d" % (ep, j)))
        if isinstance(name, str) and name not in texts:
            rep.error(f, ep + "/name", "name %r is not among the aliases" % name)
        dem = e.get("demonyms", [])
        if not isinstance(dem, list):
            rep.error(f, ep + "/demonyms", "demonyms must be an array of strings")
            dem = []
        for j, t in enumerate(dem):
            dp = "%s/demonyms/%d" % (ep, j)
            if not isinstance(t, str):
                rep.error(f, dp, "demonym must be a string")
                continue
            if check_text(rep, f, dp, t, "demonym"):
                st["demonyms"] += 1
                occurrences.append((t, auto_sensitive(t), False, None, eid, f, dp))
        if "note" in e and not isinstance(e["note"], str):
            rep.error(f, ep + "/note", "note must be a string")
        roles = e.get("roles")
        if roles is not None:
            if etype != "person":
                rep.warn(f, ep + "/roles", "roles on a %s" % etype)
            if not isinstance(roles, list):
                rep.error(f, ep + "/roles", "roles must be an array")
                roles = []
            for j, r in enumerate(roles):
                rp = "%s/roles/%d" % (ep, j)
                st["roles"] += 1
                if not isinstance(r, dict):
                    rep.error(f, rp, "role must be an object")
                    continue
                for k in r:
                    if k not in ROLE_KEYS:
                        rep.error(f, rp + "/" + k, "unknown role key %r" % k)
                for k in ("title", "of", "from"):
                    if k not in r:
                        rep.error(f, rp, "role without %r" % k)
                if "title" in r:
                    check_text(rep, f, rp + "/title", r["title"], "title")
                df = parse_date(r.get("from")) if "from" in r else None
                if "from" in r and df is None:
                    rep.error(f, rp + "/from", "from must be a real date YYYY-MM-DD")
                if "to" in r:
                    dt = parse_date(r["to"])
                    if dt is None:
                        rep.error(f, rp + "/to", "to must be a real date YYYY-MM-DD")
                    elif df and dt < df:
                        rep.error(f, rp + "/to", "to is before from")


def check_cross(rep, files, ids, occurrences):
    # affiliation and role "of" refer to loaded entries
    places = {k for k, v in ids.items() if v[2].get("type") in ("country", "territory")}
    offices = {}
    for eid, (f, ep, e) in ids.items():
        aff = e.get("affiliation")
        if aff is not None:
            if aff not in places:
                rep.error(f, ep + "/affiliation",
                          "affiliation %r is not a country or territory id" % aff)
            elif e.get("type") in ("country", "territory") and aff != eid:
                rep.warn(f, ep + "/affiliation", "a country is affiliated with itself by default")
        for j, r in enumerate(e.get("roles") or []):
            if not isinstance(r, dict):
                continue
            if "of" in r and r["of"] not in ids:
                rep.error(f, "%s/roles/%d/of" % (ep, j), "unknown id %r" % r["of"])
            df, dt = parse_date(r.get("from")), parse_date(r.get("to")) if "to" in r else None
            if df and isinstance(r.get("title"), str):
                offices.setdefault((r["title"], r.get("of")), []).append(
                    (df, dt or datetime.date.max, eid, f, "%s/roles/%d" % (ep, j)))
    # one office, one holder at a time
    for (title, of), spans in offices.items():
        spans.sort(key=lambda s: s[0])
        for a, b in zip(spans, spans[1:]):
            if a[2] != b[2] and b[0] < a[1]:
                rep.warn(b[3], b[4], "%r of %s overlaps with %s (until %s)"
                         % (title, of, a[2], "now" if a[1] == datetime.date.max else a[1]))
    # UN members and observers
    for code in sorted(UN_MEMBERS | UN_OBSERVERS | COUNTRY_NON_UN):
        if code not in ids:
            print("error: country %s missing (UN member, observer, Taiwan or Kosovo)" % code)
            rep.errors += 1
        elif ids[code][2].get("type") != "country":
            f, ep, _ = ids[code]
            rep.error(f, ep + "/type", "%s must have type country" % code)
    if len(UN_MEMBERS) != 193:
        print("internal error: UN member list has %d codes" % len(UN_MEMBERS))
        rep.errors += 1
    # one alias, one entry (unless deliberate ambiguity with context)
    by_fold = {}
    for occ in occurrences:
        by_fold.setdefault(fold(occ[0]), []).append(occ)
    shared = []
    for key, occs in by_fold.items():
        if len(occs) < 2:
            continue
        # pairs that the matcher would confuse
        clash = []
        for x in range(len(occs)):
            for y in range(x + 1, len(occs)):
                a, b = occs[x], occs[y]
                if a[1] and b[1] and a[0] != b[0]:
                    continue  # two case-sensitive spellings that differ in case
                clash.append((a, b))
        if not clash:
            continue
        entries = {}
        for a, b in clash:
            entries.setdefault(a[4], []).append(a)
            entries.setdefault(b[4], []).append(b)
        for eid, lst in entries.items():
            uniq = {o[6]: o for o in lst}
            if len(uniq) > 1:
                o = sorted(uniq.values(), key=lambda o: o[6])[1]
                rep.error(o[5], o[6], "alias %r repeated in entry %s" % (o[0], eid))
        if len(entries) < 2:
            continue
        plain = [o for o in {o[6]: o for a_b in clash for o in a_b}.values() if not o[2]]
        withctx = [o for o in {o[6]: o for a_b in clash for o in a_b}.values() if o[2]]
        ok = len({o[4] for o in plain}) <= 1 and all(
            (o[3] or {}).get("positive") and (o[3] or {}).get("default") == "reject"
            for o in withctx)
        if ok:
            shared.append((occs[0][0], sorted(entries)))
        else:
            o = sorted(occs, key=lambda o: (o[5].name, o[6]))[-1]
            rep.error(o[5], o[6], "alias %r is in several entries: %s; share it only with a "
                      "context (positive words, default reject) on all but one"
                      % (o[0], ", ".join(sorted(entries))))
    return shared


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = argv[1:] or sorted(glob.glob(os.path.join(root, "data", "gazetteer", "*.json")))
    if not paths:
        print("no gazetteer files found")
        return 1
    rep = Report()
    files, ids, occurrences, stats = [], {}, [], {}
    for p in paths:
        f = File(p)
        files.append(f)
        check_file(rep, f, ids, occurrences, stats)
    shared = check_cross(rep, files, ids, occurrences)

    print()
    print("%-40s %7s %8s %9s %8s %10s %6s" % ("file", "entries", "aliases", "demonyms",
                                               "context", "sensitive", "roles"))
    tot = dict(entries=0, aliases=0, demonyms=0, context=0, sensitive=0, roles=0)
    types = {}
    for name, st in stats.items():
        print("%-40s %7d %8d %9d %8d %10d %6d" % (name, st["entries"], st["aliases"],
              st["demonyms"], st["context"], st["sensitive"], st["roles"]))
        print("    " + ", ".join("%s %d" % kv for kv in sorted(st["types"].items())))
        for k in tot:
            tot[k] += st[k]
        for k, v in st["types"].items():
            types[k] = types.get(k, 0) + v
    print("%-40s %7d %8d %9d %8d %10d %6d" % ("total", tot["entries"], tot["aliases"],
          tot["demonyms"], tot["context"], tot["sensitive"], tot["roles"]))
    print("by type: " + ", ".join("%s %d" % kv for kv in sorted(types.items())))
    overrides = sorted(t for st in stats.values() for t in st["insensitive_override"])
    if overrides:
        print("capitals matched case-insensitively on purpose: " + ", ".join(overrides))
    if shared:
        print("aliases shared on purpose (with context): " +
              "; ".join("%s -> %s" % (t, ", ".join(e)) for t, e in sorted(shared)))
    print("%d error(s), %d warning(s)" % (rep.errors, rep.warnings))
    return 1 if rep.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
