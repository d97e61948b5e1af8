"""The plain value types that flow between geomap's stages.

Every stage takes and returns these frozen dataclasses. This module is also the one place where a
(lat, lon) pair, as geopy and folium speak it, becomes GeoJSON's [lon, lat] order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from geomap.theatre import Theatre


@dataclass(frozen=True, slots=True)
class Article:
    """One input document; ``text`` is the article as read (decoded, never altered)."""

    id: str
    text: str
    title: str | None = None
    date: dt.date | None = None
    url: str | None = None
    source: str | None = None
    path: str | None = None
    encoding: str = "utf-8"  # how the file was read ("windows-1252", "utf-16", ...)
    language: str | None = None  # ISO 639-1, declared by the page or the record, else detected


@dataclass(frozen=True, slots=True)
class Place:
    """A gazetteer entry or a geocoded location."""

    id: str
    name: str
    kind: str
    country: str | None
    lat: float
    lon: float
    admin1: str | None = None
    geonames_id: int | None = None
    population: int = 0

    @property
    def latlon(self) -> tuple[float, float]:
        return (self.lat, self.lon)


@dataclass(frozen=True, slots=True)
class Mention:
    """A toponym found in an article: ``text == article.text[start:end]``."""

    doc: str
    start: int
    end: int
    text: str
    origin: str  # "gazetteer", "ner" (the model), "title", "cue", "name": see geomap.extract
    sentence: int = 0  # index of the sentence in the article
    lang: str = "fr"  # the language pack the article was read with (ISO 639-1)


@dataclass(frozen=True, slots=True)
class Resolution:
    """A mention tied to a place (or not), with where the answer came from and how sure it is."""

    mention: Mention
    place: Place | None
    source: str | None  # "gazetteer", "geonames", "geocoder" or None when unresolved
    confidence: float
    reasons: tuple[str, ...] = ()

    def to_record(self) -> dict[str, Any]:
        """The mention contract of ``geomap extract --format jsonl``."""
        m, p = self.mention, self.place
        return {
            "doc": m.doc,
            "start": m.start,
            "end": m.end,
            "text": m.text,
            "lang": m.lang,
            "name": p.name if p else None,
            "place_id": p.id if p else None,
            "kind": p.kind if p else None,
            "country": p.country if p else None,
            "lat": p.lat if p else None,
            "lon": p.lon if p else None,
            "source": self.source,
            "confidence": round(self.confidence, 3),
        }


# ACLED's time_precision of each date precision: 1 the day is known, 2 a day within a week is, 3 only
# the month is. A "reported" date is the article's own: the event happened by then, within the week.
TIME_PRECISION = {"day": 1, "week": 2, "reported": 2, "month": 3}


@dataclass(frozen=True, slots=True)
class Incident:
    """An event reported by an article, located at a place."""

    id: str
    doc: str
    event_type: str
    sub_event_type: str
    place: Place
    mention: str
    geo_precision: int
    evidence: str
    date: dt.date | None = None
    date_precision: str = "unknown"
    fatalities: int | None = None
    injured: int | None = None
    actors: tuple[str, ...] = ()
    sources: tuple[dict[str, str | None], ...] = ()
    confidence: float = 0.5
    distance_km: float | None = None  # to the theatre's nearest border, when zones were computed
    zone: str | None = None
    sector: str | None = None

    @property
    def time_precision(self) -> int | None:
        """ACLED's time_precision of the date (None without a date)."""
        return TIME_PRECISION.get(self.date_precision) if self.date else None

    def properties(self) -> dict[str, Any]:
        """Flat properties for GeoJSON, CSV and popups."""
        return {
            "id": self.id,
            "doc": self.doc,
            "event_type": self.event_type,
            "sub_event_type": self.sub_event_type,
            "date": self.date.isoformat() if self.date else None,
            "time_precision": self.time_precision,
            "date_precision": self.date_precision,
            "place": self.place.name,
            "place_id": self.place.id,
            "mention": self.mention,
            "geo_precision": self.geo_precision,
            "admin1": self.place.admin1,
            "country": self.place.country,
            "fatalities": self.fatalities,
            "injured": self.injured,
            "actors": list(self.actors),
            "evidence": self.evidence,
            "sources": [dict(s) for s in self.sources],
            "confidence": round(self.confidence, 3),
            "distance_km": self.distance_km,
            "zone": self.zone,
            "sector": self.sector,
        }


@dataclass(frozen=True, slots=True)
class DocumentResult:
    """What the pipeline found in one article."""

    article: Article
    resolutions: list[Resolution]
    incidents: list[Incident] = field(default_factory=list)
    complete: bool = True  # False when a tier was switched off (an unreachable geocoder) meanwhile
    # the JSON text the incremental store keeps of this result, when the process that found it wrote
    # it (geomap.store.record: a worker's share of the work, not its parent's)
    record: str | None = field(default=None, compare=False, repr=False, metadata={"plain": False})


@dataclass(slots=True)
class Result:
    """What one run of the pipeline produced."""

    articles: list[Article] = field(default_factory=list)
    resolutions: list[Resolution] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    zones: dict[str, Any] | None = None  # zones.geojson: border, bands and sectors with incident counts
    theatre: Theatre | None = None  # the theatre the zones were measured in (geomap.theatre)
    zone_widths: tuple[float, ...] = ()  # the bands' outer edges, km
    reused: int = 0  # articles whose results came from the incremental store
    incomplete: int = 0  # articles a tier missed (offline or failing): the next run processes them again
    skipped_languages: dict[str, int] = field(default_factory=dict)  # articles not read, by language


def point_geometry(lat: float, lon: float) -> dict[str, Any]:
    """A GeoJSON Point for a (lat, lon) pair: the one place where the axis order flips."""
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def point_latlon(geometry: dict[str, Any]) -> tuple[float, float]:
    """The (lat, lon) pair of a GeoJSON Point: the inverse flip, kept beside the first."""
    lon, lat = geometry["coordinates"][:2]
    return float(lat), float(lon)


def point_feature(lat: float, lon: float, properties: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Feature holding a Point and its properties."""
    return {"type": "Feature", "geometry": point_geometry(lat, lon), "properties": properties}
