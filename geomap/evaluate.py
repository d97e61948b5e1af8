"""Measure geomap against annotated articles (the gold format of the shared dev set).

A gold file is a JSON list, one object per article: ``doc``, ``toponyms`` (scored; each with
``text``, ``variants_in_text``, ``lat``, ``lon``, ``tol_km``, ``kind``, ``country_code``),
``optional`` (neither rewarded nor penalised), ``incident_places``, ``incident_optional`` and
``not_places``. Matching is per article and per distinct surface form:

- recognition: a gold toponym is found when a predicted form equals one of its variants once
  normalised (case, accents, apostrophes, a leading elision or article ignored) or holds it as whole
  words in a form at most 25 characters longer ("république d'arménie");
- resolution: a found toponym is resolved when one of its mentions lies within ``tol_km`` of the
  gold point, or, for a country, carries its ISO code with kind "country";
- a predicted form that matches no gold or optional toponym is a false positive;
- incident places: a gold incident place is found when an incident of the article lies within its
  tolerance or names it; an incident near none of them is a false positive.
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_ELISION = re.compile(r"^(?:l|d|qu|jusqu|lorsqu|puisqu|s|n|c|j|m|t)'", re.I)
_ARTICLE = re.compile(r"^(?:la|le|les|du|des|de la|de|en|au|aux)\s+", re.I)
_STRIP = " .,;:!?\"'«»()[]"


def surface_key(text: str | None) -> str:
    """A surface form as the evaluation compares it."""
    folded = unicodedata.normalize("NFKD", text or "")
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = folded.replace("\u2019", "'").replace("\u02bc", "'").replace("`", "'")
    folded = re.sub(r"\s+", " ", folded).strip().casefold()
    folded = _ARTICLE.sub("", _ELISION.sub("", folded))
    return folded.strip(_STRIP)


def holds(form: str, variant: str) -> bool:
    """True when ``form`` contains ``variant`` as whole words and is at most 25 characters longer."""
    if not variant or len(form) > len(variant) + 25:
        return False
    return re.search(r"(?<!\w)" + re.escape(variant) + r"(?!\w)", form) is not None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _variants(entry: Mapping[str, Any], *, with_name: bool = False) -> set[str]:
    texts = [*entry.get("variants_in_text", []), entry.get("text", "")]
    if with_name:
        texts.append(entry.get("name", ""))
    return {surface_key(t) for t in texts}


def _distance(mention: Mapping[str, Any], entry: Mapping[str, Any]) -> float | None:
    if mention.get("lat") is None or mention.get("lon") is None:
        return None
    return haversine_km(float(mention["lat"]), float(mention["lon"]), entry["lat"], entry["lon"])


def _resolved(mention: Mapping[str, Any], entry: Mapping[str, Any]) -> tuple[bool, float | None]:
    distance = _distance(mention, entry)
    if distance is None:
        return False, None
    if distance <= entry["tol_km"]:
        return True, distance
    code = str(mention.get("country") or mention.get("country_code") or "").upper()
    is_country = entry.get("kind") == "country" and str(mention.get("kind", "")).lower() == "country"
    return bool(is_country and code and code == (entry.get("country_code") or "")), distance


@dataclass(slots=True)
class Tally:
    """Running counts over the articles of a gold file."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    resolved: int = 0
    errors_km: list[float] = field(default_factory=list)
    predicted_forms: int = 0
    not_place_hits: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)
    incidents: dict[str, int] = field(default_factory=lambda: {"tp": 0, "fp": 0, "fn": 0})
    incident_misses: list[str] = field(default_factory=list)
    incident_false_positives: list[str] = field(default_factory=list)


def _score_mentions(article: Mapping[str, Any], mentions: Sequence[Mapping[str, Any]], tally: Tally) -> None:
    doc = article["doc"]
    forms: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for m in mentions:
        key = surface_key(m.get("text"))
        if key:
            forms[key].append(m)
    tally.predicted_forms += len(forms)
    claimed: set[str] = set()
    entries = [(e, True) for e in article["toponyms"]] + [(e, False) for e in article.get("optional", [])]
    for entry, required in entries:
        variants = _variants(entry)
        hits = [f for f in forms if f in variants or any(holds(f, v) for v in variants)]
        claimed.update(hits)
        if not required:
            continue
        if not hits:
            tally.fn += 1
            tally.misses.append(f"{doc}: {entry['text']}")
            continue
        tally.tp += 1
        best: tuple[bool, float] | None = None
        for form in hits:
            for m in forms[form]:
                ok, distance = _resolved(m, entry)
                if ok:
                    best = (True, distance if distance is not None else 0.0)
                    break
                if distance is not None and (best is None or distance < best[1]):
                    best = (False, distance)
            if best and best[0]:
                break
        if best and best[0]:
            tally.resolved += 1
            tally.errors_km.append(best[1])
            continue
        first = forms[hits[0]][0]
        off = f" {best[1]:.0f} km off" if best else " unresolved"
        tally.wrong.append(
            f"{doc}: {entry['text']} -> {first.get('name')} ({first.get('lat')}, {first.get('lon')}){off}"
        )
        if best:
            tally.errors_km.append(best[1])
    not_places = {surface_key(x) for x in article.get("not_places", [])}
    for form, ms in forms.items():
        if form in claimed:
            continue
        tally.fp += 1
        tally.false_positives.append(f"{doc}: {ms[0].get('text')}")
        if form in not_places:
            tally.not_place_hits.append(f"{doc}: {ms[0].get('text')}")


def _score_incidents(
    article: Mapping[str, Any], incidents: Sequence[Mapping[str, Any]], tally: Tally
) -> None:
    doc = article["doc"]
    by_name: dict[str, Mapping[str, Any]] = {}
    for entry in [*article["toponyms"], *article.get("optional", [])]:
        for variant in [*entry.get("variants_in_text", []), entry.get("text", "")]:
            by_name[surface_key(variant)] = entry
    required = [by_name[k] for k in map(surface_key, article.get("incident_places", [])) if k in by_name]
    optional = [by_name[k] for k in map(surface_key, article.get("incident_optional", [])) if k in by_name]

    def near(incident: Mapping[str, Any], entry: Mapping[str, Any]) -> bool:
        distance = _distance(incident, entry)
        if distance is not None and distance <= entry["tol_km"]:
            return True
        names = _variants(entry, with_name=True)
        return surface_key(incident.get("mention")) in names or surface_key(incident.get("place")) in names

    for entry in required:
        if any(near(i, entry) for i in incidents):
            tally.incidents["tp"] += 1
        else:
            tally.incidents["fn"] += 1
            tally.incident_misses.append(f"{doc}: {entry['text']}")
    seen = set()
    for incident in incidents:
        lat, lon = incident.get("lat"), incident.get("lon")
        key = (
            round(lat, 2) if lat is not None else None,
            round(lon, 2) if lon is not None else None,
            surface_key(incident.get("mention") or incident.get("place")),
        )
        if key in seen:
            continue
        seen.add(key)
        if not any(near(incident, e) for e in required + optional):
            tally.incidents["fp"] += 1
            label = incident.get("mention") or incident.get("place")
            tally.incident_false_positives.append(f"{doc}: {label} ({lat}, {lon})")


def evaluate(
    gold: Sequence[Mapping[str, Any]],
    mentions: Iterable[Mapping[str, Any]],
    incidents: Iterable[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Scores of predicted mentions (the ``extract --format jsonl`` records) and, optionally,
    incidents (dicts with ``doc``, ``lat``, ``lon``, ``mention``, ``place``) against ``gold``."""
    mentions_by_doc: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for m in mentions:
        mentions_by_doc[str(m.get("doc"))].append(m)
    incidents_by_doc: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for i in incidents or ():
        incidents_by_doc[str(i.get("doc"))].append(i)
    tally = Tally()
    for article in gold:
        _score_mentions(article, mentions_by_doc.get(article["doc"], []), tally)
        if incidents is not None:
            _score_incidents(article, incidents_by_doc.get(article["doc"], []), tally)
    wrongly = tally.tp - tally.resolved
    result: dict[str, Any] = {
        "docs": len(gold),
        "gold_toponyms": tally.tp + tally.fn,
        "predicted_forms": tally.predicted_forms,
        "recognition": {**prf(tally.tp, tally.fp, tally.fn), "tp": tally.tp, "fp": tally.fp, "fn": tally.fn},
        "resolution_accuracy": round(_ratio(tally.resolved, tally.tp), 4),
        "end_to_end": prf(tally.resolved, tally.fp + wrongly, tally.fn + wrongly),
        "median_error_km": round(statistics.median(tally.errors_km), 1) if tally.errors_km else None,
        "not_place_hits": len(tally.not_place_hits),
        "misses": tally.misses,
        "wrong": tally.wrong,
        "false_positives": tally.false_positives,
        "not_place_examples": tally.not_place_hits,
    }
    if incidents is not None:
        counts = tally.incidents
        result["incident_places"] = {
            **prf(counts["tp"], counts["fp"], counts["fn"]),
            **counts,
            "misses": tally.incident_misses,
            "false_positives": tally.incident_false_positives,
        }
    return result


def report(result: Mapping[str, Any]) -> str:
    """The scores as a few lines of text."""
    rec, e2e = result["recognition"], result["end_to_end"]
    lines = [
        f"docs {result['docs']}  gold toponyms {result['gold_toponyms']}"
        f"  predicted forms {result['predicted_forms']}",
        f"recognition  P {rec['precision']:.3f}  R {rec['recall']:.3f}  F1 {rec['f1']:.3f}",
        f"resolution accuracy {result['resolution_accuracy']:.3f}"
        f"  median error km {result['median_error_km']}",
        f"end-to-end   P {e2e['precision']:.3f}  R {e2e['recall']:.3f}  F1 {e2e['f1']:.3f}"
        f"  not-place hits {result['not_place_hits']}",
    ]
    if "incident_places" in result:
        inc = result["incident_places"]
        lines.append(f"incident places  P {inc['precision']:.3f}  R {inc['recall']:.3f}  F1 {inc['f1']:.3f}")
    for name in ("misses", "wrong", "false_positives"):
        if result[name]:
            lines.append(f"-- {name}: " + "; ".join(result[name][:40]))
    if "incident_places" in result:
        for name in ("misses", "false_positives"):
            if result["incident_places"][name]:
                lines.append(f"-- incident {name}: " + "; ".join(result["incident_places"][name][:40]))
    return "\n".join(lines)
