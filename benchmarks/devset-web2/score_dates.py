#!/usr/bin/env python3
"""Score geomap's incidents on the web-page dev set: locations matched, dates carried, dates right.

Standard library only. Usage:

    python benchmarks/devset-web2/score_dates.py --gold benchmarks/devset-web2/gold.json \
        --incidents /tmp/webdev2/incidents.geojson [--verbose]

Matching: an output incident matches a gold incident of the same page (its ``doc``, or any ``doc``
of its ``sources`` when geomap merged reports of several pages) when it lies within the gold
incident's ``tol_km`` (haversine). Pairs are taken closest first; within a page each gold incident and each
output incident is matched at most once (an output merged from several pages may match one gold
incident in each). Dates play no part in matching.

Date accuracy, on matched pairs whose gold date is known: the same day for gold time_precision 1
(or one of ``date_alt``, the other day of a night "de lundi à mardi"), within 7 days for 2, the same
month for 3. Matched pairs whose gold date is null (an undated page and no date in the text) are
right when the output has no date either.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from collections import defaultdict


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def parse_date(value: object) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def date_ok(gold: dict, out_date: dt.date | None) -> bool:
    """Whether an output date agrees with a gold incident whose date is known."""
    if out_date is None:
        return False
    gdate = parse_date(gold["date"])
    precision = gold.get("time_precision") or 1
    if precision == 1:
        days = {gdate} | {parse_date(d) for d in gold.get("date_alt", [])}
        return out_date in days
    if precision == 2:
        return abs((out_date - gdate).days) <= 7
    return (out_date.year, out_date.month) == (gdate.year, gdate.month)


def pct(n: int, d: int) -> str:
    return f"{n}/{d} = {100 * n / d:.1f} %" if d else f"{n}/0 = n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", required=True, help="gold.json of the dev set")
    parser.add_argument("--incidents", required=True, help="incidents.geojson written by geomap build")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every gold and output incident")
    args = parser.parse_args(argv)

    with open(args.gold, encoding="utf-8") as f:
        gold_pages = json.load(f)
    with open(args.incidents, encoding="utf-8") as f:
        features = json.load(f).get("features", [])

    pages = {p["doc"]: p for p in gold_pages}
    outputs = []
    for i, feat in enumerate(features):
        props = feat.get("properties") or {}
        geom = feat.get("geometry") or {}
        if geom.get("type") != "Point":
            continue
        lon, lat = geom["coordinates"][:2]
        docs = [str(props.get("doc"))]
        for src in props.get("sources") or []:
            if isinstance(src, dict) and src.get("doc") and str(src["doc"]) not in docs:
                docs.append(str(src["doc"]))
        outputs.append(
            {
                "i": i,
                "lat": lat,
                "lon": lon,
                "doc": docs[0],
                "docs": docs,
                "date": parse_date(props.get("date")),
                "raw_date": props.get("date"),
                "tp": props.get("time_precision"),
                "place": props.get("place") or props.get("mention"),
            }
        )

    by_doc = defaultdict(list)
    for o in outputs:
        for d in o["docs"]:
            by_doc[d].append(o)

    # Match, page by page, closest pairs first.
    pairs = []  # (page, gold incident, output)
    unmatched_gold = []
    matched_out = set()
    for page in gold_pages:
        golds = page["incidents"]
        cands = []
        for gi, g in enumerate(golds):
            for o in by_doc.get(page["doc"], []):
                km = haversine_km(g["lat"], g["lon"], o["lat"], o["lon"])
                if km <= g["tol_km"]:
                    cands.append((km, gi, o["i"], o))
        cands.sort(key=lambda c: (c[0], c[1], c[2]))
        used_g, used_o = set(), set()
        for km, gi, oi, o in cands:
            if gi in used_g or oi in used_o:
                continue
            used_g.add(gi)
            used_o.add(oi)
            pairs.append((page, golds[gi], o, km))
        matched_out |= used_o
        unmatched_gold += [(page, g) for gi, g in enumerate(golds) if gi not in used_g]

    known_docs = set(pages)
    on_gold_pages = [o for o in outputs if o["doc"] in known_docs]
    foreign = [o for o in outputs if o["doc"] not in known_docs]
    n_gold = sum(len(p["incidents"]) for p in gold_pages)

    print(
        f"pages in gold: {len(gold_pages)} ({sum(p['no_incident'] for p in gold_pages)} with no incident, "
        f"{sum(p['pub_date'] is None for p in gold_pages)} with no publication date)"
    )
    print(f"gold incidents: {n_gold}")
    print(
        f"output incidents: {len(outputs)}"
        + (f" ({len(foreign)} from pages not in the gold)" if foreign else "")
    )
    matched_gold_pages = sum(1 for o in on_gold_pages if o["i"] in matched_out)
    print(
        f"matched: {len(pairs)}  recall {pct(len(pairs), n_gold)}  "
        f"precision {pct(matched_gold_pages, len(on_gold_pages))}"
    )

    # Dates carried by output incidents.
    dated = [o for o in on_gold_pages if o["date"] is not None]
    with_pub = [o for o in on_gold_pages if pages[o["doc"]]["pub_date"] is not None]
    dated_pub = [o for o in with_pub if o["date"] is not None]
    no_pub = [o for o in on_gold_pages if pages[o["doc"]]["pub_date"] is None]
    print("\noutput incidents carrying a date:")
    print(f"  overall: {pct(len(dated), len(on_gold_pages))}")
    print(f"  pages with a publication date: {pct(len(dated_pub), len(with_pub))}  (issue target >= 95 %)")
    print(f"  pages without one: {pct(sum(o['date'] is not None for o in no_pub), len(no_pub))}")

    # Date accuracy on matched pairs.
    print("\ndate accuracy on matched pairs:")
    total_known = total_ok = 0
    for precision, rule in ((1, "same day"), (2, "within 7 days"), (3, "same month")):
        sel = [(p, g, o) for p, g, o, _ in pairs if g["date"] and (g.get("time_precision") or 1) == precision]
        ok = sum(date_ok(g, o["date"]) for _, g, o in sel)
        undated = sum(o["date"] is None for _, g, o in sel)
        total_known += len(sel)
        total_ok += ok
        print(f"  gold precision {precision} ({rule}): {pct(ok, len(sel))}  ({undated} without a date)")
    print(f"  all with a gold date: {pct(total_ok, total_known)}")
    nulls = [(p, g, o) for p, g, o, _ in pairs if not g["date"]]
    if nulls or any(not g["date"] for _, g in unmatched_gold):
        ok = sum(o["date"] is None for _, g, o in nulls)
        print(
            f"  gold date null (undated page, no date in text): output undated too in {pct(ok, len(nulls))}"
        )
    tp_known = [(g, o) for _, g, o, _ in pairs if g.get("time_precision")]
    tp_same = sum(o["tp"] == g["time_precision"] for g, o in tp_known)
    print(f"  time_precision equal to gold's: {pct(tp_same, len(tp_known))}")

    # No-incident pages.
    quiet = [p["doc"] for p in gold_pages if p["no_incident"]]
    false_quiet = [o for o in on_gold_pages if o["doc"] in quiet]
    print(f"\nfalse incidents on no-incident pages ({len(quiet)} pages): {len(false_quiet)}")
    for o in false_quiet:
        print(f"  {o['doc']}: {o['place']} ({o['lat']:.3f}, {o['lon']:.3f})")

    if args.verbose:
        print("\nper page (G gold, + matched output, - unmatched gold, ? unmatched output):")
        for page in gold_pages:
            print(f"== {page['doc']}  pub {page['pub_date']}")
            for p, g, o, km in pairs:
                if p is page:
                    gd = g["date"] or "null"
                    mark = "ok" if (date_ok(g, o["date"]) if g["date"] else o["date"] is None) else "WRONG"
                    print(
                        f"  + {g['place']:<22} gold {gd} p{g['time_precision']}  out {o['raw_date']} "
                        f"p{o['tp']}  [{mark}]  {km:.1f} km from {o['place']}"
                    )
            for p, g in unmatched_gold:
                if p is page:
                    print(
                        f"  - {g['place']:<22} gold {g['date'] or 'null'} p{g['time_precision']}  (not found)"
                    )
            for o in by_doc.get(page["doc"], []):
                if o["i"] not in matched_out and o["doc"] == page["doc"]:
                    print(
                        f"  ? {o['place']!s:<22} out {o['raw_date']} p{o['tp']}  "
                        f"({o['lat']:.3f}, {o['lon']:.3f})"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
