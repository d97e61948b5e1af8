#!/usr/bin/env python3
"""Sanity checks for a dev set's gold.json against its article texts.

    python benchmarks/devset/check_gold.py [DEVSET_FOLDER]   # default: this script's folder

- JSON is valid and every article has exactly one gold object (and vice versa);
- every "text" and variant occurs in its article as a whole word (after removing a leading l’/d’);
- coordinates are in range, kinds and tolerances are sane;
- incident places name a gold or optional toponym; not_places occur in the text and match no variant.
"""

import json
import re
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = {
    "country",
    "region",
    "province",
    "district",
    "city",
    "town",
    "village",
    "lake",
    "river",
    "sea",
    "border_area",
    "corridor",
    "other",
}
ELISION = re.compile(r"^(?:l|d|qu|jusqu|lorsqu|puisqu|s|n|c|j|m|t)['’]", re.I)


def norm(t):
    t = unicodedata.normalize("NFKD", t)
    t = "".join(c for c in t if not unicodedata.combining(c))
    return t.replace("’", "'").casefold().strip()


def occurs(text, form):
    form = ELISION.sub("", form)
    return re.search(r"(?<!\w)" + re.escape(form) + r"(?!\w)", text) is not None


def main():
    here = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else HERE
    gold = json.loads((here / "gold.json").read_text(encoding="utf-8"))
    arts = {
        p.stem: p.read_text(encoding="utf-8")
        for p in (here / "articles").iterdir()
        if p.suffix in (".txt", ".md")
    }
    errors = []
    if sorted(arts) != sorted(g["doc"] for g in gold):
        errors.append(f"doc mismatch: {sorted(arts)} vs {[g['doc'] for g in gold]}")
    for g in gold:
        doc, text = g["doc"], arts.get(g["doc"], "")
        entries = g["toponyms"] + g["optional"]
        names = {}
        for e in entries:
            for v in [e["text"]] + e["variants_in_text"]:
                if not occurs(text, v):
                    errors.append(f"{doc}: variant not in text: {v!r}")
                names[norm(v)] = e
            if e["text"] not in e["variants_in_text"]:
                errors.append(f"{doc}: text not among variants: {e['text']!r}")
            if not (-90 <= e["lat"] <= 90 and -180 <= e["lon"] <= 180):
                errors.append(f"{doc}: bad coordinates for {e['text']}")
            if e["kind"] not in KINDS:
                errors.append(f"{doc}: bad kind {e['kind']} for {e['text']}")
            if not (10 <= e["tol_km"] <= 3000):
                errors.append(f"{doc}: odd tol_km for {e['text']}")
        for n in g["incident_places"] + g["incident_optional"]:
            if norm(n) not in names:
                errors.append(f"{doc}: incident place names no toponym: {n!r}")
        for n in g["not_places"]:
            if not occurs(text, n):
                errors.append(f"{doc}: not_place not in text: {n!r}")
            if norm(n) in names:
                errors.append(f"{doc}: not_place equals a variant: {n!r}")
    for e in errors:
        print(e)
    n = sum(len(g["toponyms"]) for g in gold)
    print(
        f"{len(gold)} docs, {n} gold toponyms, "
        f"{sum(len(g['incident_places']) for g in gold)} incident places, {len(errors)} problems"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
