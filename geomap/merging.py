"""One record per event: reports of the same incident merged within an article and across articles."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import replace

from geomap.models import Incident

# An incident's evidence grows by a sentence for each report merged into it, until it holds this
# many characters: past it, reports still add their figures and sources but no more text. Each merge
# copies and searches the evidence, so without a bound an article repeating one event (or a corpus
# reporting it thousands of times) cost the square of its length; a few hundred sentences are
# evidence enough for one record.
MAX_EVIDENCE_CHARS = 50_000


def merge(a: Incident, b: Incident) -> Incident:
    """One incident reported twice: keep the first, add the other's evidence and fill what it lacks."""
    if len(a.evidence) >= MAX_EVIDENCE_CHARS or b.evidence in a.evidence:
        evidence = a.evidence
    else:
        evidence = f"{a.evidence} … {b.evidence}"
    return replace(
        a,
        evidence=evidence,
        date=a.date or b.date,
        date_precision=a.date_precision if a.date else b.date_precision,
        fatalities=_max_or_none(a.fatalities, b.fatalities),
        injured=_max_or_none(a.injured, b.injured),
        actors=tuple(dict.fromkeys(a.actors + b.actors)),
        sources=tuple({s["doc"]: s for s in a.sources + b.sources}.values()),
        confidence=max(a.confidence, b.confidence),
    )


def merge_reports(incidents: Iterable[Incident], *, window_days: int = 1) -> list[Incident]:
    """One record per event across articles: incidents of the same type at the same place whose
    dates are both known and at most ``window_days`` apart are merged, keeping every source and
    evidence sentence. Undated reports are merged only within their own article (by ``detect``).

    Each incident joins the earliest kept record it matches; records are found through an index by
    (type, place, date), so the work grows with the number of incidents, not with its square."""
    merged: list[Incident] = []
    by_day: dict[tuple[str, str, dt.date], list[int]] = {}
    for incident in incidents:
        if incident.date is None:
            merged.append(incident)
            continue
        near = (
            i
            for offset in range(-window_days, window_days + 1)
            for i in by_day.get(_day_key(incident, incident.date + dt.timedelta(days=offset)), ())
        )
        match = min((i for i in near if merged[i].doc != incident.doc), default=None)
        if match is None:
            by_day.setdefault(_day_key(incident, incident.date), []).append(len(merged))
            merged.append(incident)
        else:
            merged[match] = merge(merged[match], incident)  # a dated record keeps its date
    return merged


def with_id(incident: Incident) -> Incident:
    """The incident with its id: a digest of its article, type and place."""
    digest = hashlib.sha1(
        f"{incident.doc}|{incident.sub_event_type}|{incident.place.id}".encode()
    ).hexdigest()
    return replace(incident, id=digest[:12])


def _day_key(incident: Incident, day: dt.date) -> tuple[str, str, dt.date]:
    return (incident.sub_event_type, incident.place.id, day)


def _max_or_none(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)
