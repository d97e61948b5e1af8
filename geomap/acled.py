"""geomap's incidents in ACLED's layout: ``incidents_acled.csv``, which an analyst can append to an
ACLED export and load with the same code.

Every column, name and value set is ACLED's (codebook 2024; inter and interaction codes in their
numeric form, as the API gives them with ``inter_num=1``). What the codebook fixes, and how geomap's
own types and actor labels map onto it, is data in ``geomap/acled_codebook/``; its README gives the
sources and the reason for every choice. This module only joins the tables:

- ``event_type``/``sub_event_type`` are ACLED's; geomap's finer type goes to ``tags``
  (``geomap type: Ceasefire violation``), beside geomap's incident id and the injured count.
- Actors are ACLED names with their inter code; a state's forces outside their country are
  External/Other forces (8), as the codebook says. An actor ACLED needs but the article does not
  name is ``Unidentified Armed Group (Country)``; the target of an attack on civilians is
  ``Civilians (Country)``. Actors beyond the first two go to ``assoc_actor_1``.
- ``event_id_cnty`` is the ISO alpha-3 code and the incident id read as a hexadecimal number, so it
  is stable between runs and leads back to the incident (``format(n, "012x")``).
- ``timestamp`` is ACLED's upload time in Unix seconds; to keep identical runs identical it is
  passed in (``export_timestamp`` of the articles' dates) or else the midnight (UTC) after the
  newest incident date.
- ``fatalities`` is 0 when no figure is reported, as ACLED records it.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from geomap.errors import GeomapError, MissingExtraError
from geomap.export import csv_cell
from geomap.ingest import http_url
from geomap.models import Incident

CODEBOOK_DIR = Path(__file__).resolve().parent / "acled_codebook"
# Where an outlet stands relative to the event (local, national, international...) is beyond
# geomap, which reads articles, not outlets' profiles: every source is of the codebook's "Other" scale.
SOURCE_SCALE = "Other"
# ISO 3166's user-assigned "unknown" code: the event_id_cnty prefix of a place without a country.
UNKNOWN_ISO3 = "XXX"
BOM = "\ufeff"


class CodebookError(GeomapError, ValueError):
    """The ACLED codebook tables shipped with geomap are missing or inconsistent."""


def _read(name: str) -> list[dict[str, str]]:
    path = CODEBOOK_DIR / name
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise CodebookError(f"cannot read the ACLED codebook table {path}: {exc.strerror or exc}") from exc


_COLUMNS = _read("columns.csv")
ACLED_COLUMNS: tuple[str, ...] = tuple(row["column"] for row in _COLUMNS)
# pandas dtypes of every column but the dates (``read_csv(dtype=ACLED_DTYPES, parse_dates=...)``):
# counts and codes that are never blank are int64, those that may be blank Int64, text is string.
ACLED_DTYPES: dict[str, str] = {row["column"]: row["dtype"] for row in _COLUMNS if row["dtype"] != "date"}
ACLED_DATE_COLUMNS: tuple[str, ...] = tuple(row["column"] for row in _COLUMNS if row["dtype"] == "date")


def fold(name: str) -> str:
    """A name as names are compared: lower case, no accents, punctuation as single spaces."""
    name = "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", name).strip()


@dataclass(frozen=True, slots=True)
class Country:
    """A country as ACLED names it, with its ISO 3166-1 codes (``iso`` 0 where none exists)."""

    iso: int
    iso2: str
    iso3: str
    name: str
    region: str


@dataclass(frozen=True, slots=True)
class TypeMapping:
    """How one of geomap's incident types is written in ACLED's terms."""

    event_type: str
    sub_event_type: str
    civilian_targeting: str | None
    two_sided: bool  # ACLED needs an actor2 (Battles): an unnamed one is an Unidentified Armed Group
    target: str | None  # "civilians": actor2 is always the country's civilians
    default_actor: str  # the actor1 when the article names none: "unidentified" or "civilians"


@dataclass(frozen=True, slots=True)
class Actor:
    """An ACLED actor name and its inter code."""

    name: str
    inter: int


@dataclass(frozen=True, slots=True)
class _ActorKind:
    kind: str
    label: re.Pattern[str] | None  # how geomap writes it; None for the generic actors
    name: str  # ACLED's name, with {forces}, {country} or {label} to fill
    inter_home: int
    inter_abroad: int


@dataclass(frozen=True, slots=True)
class Codebook:
    """ACLED's value sets and geomap's mapping onto them, as shipped in ``geomap/acled_codebook/``."""

    disorder_types: dict[tuple[str, str], str]  # (event_type, sub_event_type) -> disorder_type
    inter_labels: dict[int, str]
    interactions: dict[int, str]
    regions: dict[str, int]
    countries: dict[str, Country]  # by ISO alpha-2
    country_names: dict[str, str]  # folded name (ACLED's, ISO's, the gazetteer's) -> ISO alpha-2
    geomap_types: dict[str, TypeMapping]
    actor_kinds: tuple[_ActorKind, ...]
    state_forces: dict[str, str]  # ISO alpha-2 -> ACLED's name of its forces; "*": the pattern for others

    def type_of(self, incident: Incident) -> TypeMapping:
        """ACLED's type of the incident: from the mapping table; an incident already typed as ACLED
        types it kept as it is (civilians the target of Violence against civilians, two sides to a
        Battles event, as the codebook has them); any other one a Strategic development, Other."""
        mapping = self.geomap_types.get(incident.sub_event_type)
        if mapping is not None:
            return mapping
        event_type, sub_event_type = incident.event_type, incident.sub_event_type
        if (event_type, sub_event_type) not in self.disorder_types:
            return TypeMapping("Strategic developments", "Other", None, False, None, "unidentified")
        civilians = event_type == "Violence against civilians"
        return TypeMapping(
            event_type,
            sub_event_type,
            "Civilians targeted" if civilians else None,
            event_type == "Battles",
            "civilians" if civilians else None,
            "unidentified",
        )

    def actor(self, label: str, *, where: str | None) -> Actor:
        """ACLED's actor for one of geomap's actor labels, for an event in country ``where``."""
        for kind in self.actor_kinds:
            match = kind.label.fullmatch(label) if kind.label else None
            if match is None:
                continue
            if "state" not in match.groupdict():
                return Actor(kind.name.format(label=label), kind.inter_home)
            state = self.country_names.get(fold(match["state"]))
            abroad = state is not None and where is not None and state != where
            return Actor(
                kind.name.format(forces=self.forces(state, match["state"])),
                kind.inter_abroad if abroad else kind.inter_home,
            )
        raise CodebookError(f"actors.csv has no row for {label!r} (nor the catch-all {{label}} row)")

    def forces(self, iso2: str | None, written: str) -> str:
        """ACLED's name of a state's military forces (``written`` names the state when unknown)."""
        if iso2 in self.state_forces:
            return self.state_forces[iso2]
        country = self.countries[iso2].name if iso2 in self.countries else written
        return self.state_forces["*"].format(country=country)

    def generic(self, kind: str, country: Country | None) -> Actor:
        """A generic actor of the event's country: "Civilians (Armenia)", "Unidentified Armed Group
        (Azerbaijan)" (without the country when the place has none)."""
        found = next((k for k in self.actor_kinds if k.kind == kind), None)
        if found is None:
            raise CodebookError(f"actors.csv has no {kind!r} row")
        if country is None:
            return Actor(re.sub(r"\s*\(\{country\}\)", "", found.name), found.inter_home)
        return Actor(found.name.format(country=country.name), found.inter_home)

    def interaction(self, inter1: int, inter2: int) -> int:
        """The interaction code of two inter codes (0: no actor2), lower code first, as ACLED does."""
        low, high = sorted((inter1, inter2))
        code = inter1 * 10 if inter2 == 0 else low * 10 + high
        if code not in self.interactions:
            raise CodebookError(
                f"interaction {code} (inter {inter1} and {inter2}) is not in ACLED's codebook"
            )
        return code


def _label_pattern(template: str) -> re.Pattern[str] | None:
    """``Military Forces of {state}`` -> a pattern capturing the state; "" -> None."""
    if not template:
        return None
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+)" for i, p in enumerate(parts))
    return re.compile(regex)


@functools.cache
def codebook() -> Codebook:
    """The codebook tables, read once and checked against each other."""
    disorder = {(r["event_type"], r["sub_event_type"]): r["disorder_type"] for r in _read("event_types.csv")}
    inter_labels = {int(r["inter"]): r["label"] for r in _read("actor_types.csv")}
    regions = {r["region_name"]: int(r["region"]) for r in _read("regions.csv")}
    countries: dict[str, Country] = {}
    names: dict[str, str] = {}
    for r in _read("countries.csv"):
        country = Country(int(r["iso"]), r["iso2"], r["iso3"], r["country"], r["region"])
        if country.region not in regions:
            raise CodebookError(f"countries.csv: {country.name}'s region {country.region!r} is not ACLED's")
        countries[country.iso2] = country
        for name in [country.name, *filter(None, r["names"].split("|"))]:
            names.setdefault(fold(name), country.iso2)
    types = {}
    for r in _read("geomap_types.csv"):
        if (r["event_type"], r["sub_event_type"]) not in disorder:
            raise CodebookError(f"geomap_types.csv: {r['geomap_type']!r} maps to a type ACLED does not have")
        types[r["geomap_type"]] = TypeMapping(
            r["event_type"],
            r["sub_event_type"],
            r["civilian_targeting"] or None,
            r["two_sided"] == "yes",
            r["target"] or None,
            r["default_actor"],
        )
    kinds = tuple(
        _ActorKind(
            r["kind"],
            _label_pattern(r["geomap_label"]),
            r["acled_name"],
            int(r["inter_home"]),
            int(r["inter_abroad"]),
        )
        for r in _read("actors.csv")
    )
    for kind in kinds:
        if {kind.inter_home, kind.inter_abroad} - set(inter_labels):
            raise CodebookError(f"actors.csv: {kind.kind!r} has an inter code ACLED does not have")
    return Codebook(
        disorder_types=disorder,
        inter_labels=inter_labels,
        interactions={int(r["interaction"]): r["label"] for r in _read("interactions.csv")},
        regions=regions,
        countries=countries,
        country_names=names,
        geomap_types=types,
        actor_kinds=kinds,
        state_forces={r["iso2"]: r["actor"] for r in _read("state_forces.csv")},
    )


def event_number(incident_id: str) -> int:
    """The number of ``event_id_cnty``: geomap's incident id (hexadecimal) read as a number, or, for
    an id of another form, the first 48 bits of its SHA-1."""
    if re.fullmatch(r"[0-9a-f]{1,16}", incident_id):
        return int(incident_id, 16)
    return int(hashlib.sha1(incident_id.encode("utf-8")).hexdigest()[:12], 16)


def export_timestamp(dates: Iterable[dt.date | None]) -> int | None:
    """ACLED's ``timestamp`` (Unix seconds) for a run reporting on ``dates``: the midnight (UTC)
    after the newest one, when the run could at the earliest have uploaded them; None without dates.
    Taken from the data, not the clock, so two identical runs write identical files."""
    newest = max((d for d in dates if d is not None), default=None)
    if newest is None:
        return None
    day = dt.date(newest.year, newest.month, newest.day) + dt.timedelta(days=1)
    return int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp())


def _source_names(incident: Incident) -> str:
    """The outlets of the incident's sources (an http(s) url's host), else their titles, else their
    document ids, ";"-separated as ACLED lists them."""
    names: list[str] = []
    for source in incident.sources:
        url = http_url(source.get("url"))
        host = urlsplit(url).hostname if url else None
        name = host.removeprefix("www.") if host else source.get("title") or source.get("doc") or ""
        name = " ".join(name.replace(";", ",").split())
        if name and name not in names:
            names.append(name)
    return "; ".join(names)


def _sides(
    incident: Incident, mapping: TypeMapping, country: Country | None, book: Codebook
) -> tuple[Actor, list[Actor], Actor | None]:
    """actor1, its associates and actor2 (or None) of an incident in ``country``."""
    where = country.iso2 if country else None
    named: list[Actor] = []
    for label in incident.actors:
        actor = book.actor(label, where=where)
        if all(a.name != actor.name for a in named):
            named.append(actor)
    first = named[0] if named else book.generic(mapping.default_actor, country)
    if mapping.target is not None:
        return first, named[1:], book.generic(mapping.target, country)
    if len(named) > 1:
        return first, named[2:], named[1]
    return first, [], book.generic("unidentified", country) if mapping.two_sided else None


def acled_row(incident: Incident, *, timestamp: int | None, book: Codebook | None = None) -> dict[str, Any]:
    """One incident as an ACLED row (plain values: the CSV writer makes text inert)."""
    book = book or codebook()
    mapping = book.type_of(incident)
    country = book.countries.get(incident.place.country or "")
    actor1, associates, actor2 = _sides(incident, mapping, country, book)
    inter2 = actor2.inter if actor2 else 0
    tags = [f"geomap id: {incident.id}", f"geomap type: {incident.sub_event_type}"]
    if incident.injured:
        tags.append(f"injured: {incident.injured}")
    row = {
        "event_id_cnty": f"{country.iso3 if country else UNKNOWN_ISO3}{event_number(incident.id)}",
        "event_date": incident.date.isoformat() if incident.date else None,
        "year": incident.date.year if incident.date else None,
        "time_precision": incident.time_precision,
        "disorder_type": book.disorder_types[(mapping.event_type, mapping.sub_event_type)],
        "event_type": mapping.event_type,
        "sub_event_type": mapping.sub_event_type,
        "actor1": actor1.name,
        "assoc_actor_1": "; ".join(a.name for a in associates) or None,
        "inter1": actor1.inter,
        "actor2": actor2.name if actor2 else None,
        "assoc_actor_2": None,
        "inter2": inter2,
        "interaction": book.interaction(actor1.inter, inter2),
        "civilian_targeting": mapping.civilian_targeting,
        "iso": country.iso if country else None,
        "region": country.region if country else None,
        "country": country.name if country else None,
        "admin1": incident.place.admin1,
        "admin2": None,
        "admin3": None,
        "location": incident.place.name,
        "latitude": round(incident.place.lat, 4),
        "longitude": round(incident.place.lon, 4),
        "geo_precision": incident.geo_precision,
        "source": _source_names(incident),
        "source_scale": SOURCE_SCALE,
        "notes": incident.evidence,
        "fatalities": incident.fatalities or 0,
        "tags": "; ".join(tags),
        "timestamp": timestamp,
    }
    return {column: row[column] for column in ACLED_COLUMNS}


def acled_rows(incidents: Iterable[Incident], *, timestamp: int | None = None) -> list[dict[str, Any]]:
    """The incidents as ACLED rows, in order, every key one of ``ACLED_COLUMNS``. ``timestamp``
    (Unix seconds) defaults to :func:`export_timestamp` of the incidents' dates."""
    incidents = list(incidents)
    if timestamp is None:
        timestamp = export_timestamp(i.date for i in incidents)
    book = codebook()
    return [acled_row(incident, timestamp=timestamp, book=book) for incident in incidents]


def acled_csv(incidents: Iterable[Incident], *, bom: bool = False, timestamp: int | None = None) -> str:
    """``incidents_acled.csv``: ACLED's columns in ACLED's order, every text cell inert
    (:func:`geomap.export.csv_cell`), led by a UTF-8 byte order mark with ``bom`` so that Excel reads
    the accents right."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ACLED_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in acled_rows(incidents, timestamp=timestamp):
        writer.writerow({name: csv_cell(value) for name, value in row.items()})
    return (BOM if bom else "") + buffer.getvalue()


def read_acled_csv(source: Any):  # -> pandas.DataFrame
    """An ACLED CSV (geomap's or ACLED's own, with or without a byte order mark) as a DataFrame with
    ACLED's dtypes; only an empty cell is missing (a place called "Nan" stays a name). Needs pandas
    (which geomap[parquet] brings), raises :class:`~geomap.errors.MissingExtraError` without it."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise MissingExtraError(
            "reading an ACLED CSV into a data frame needs pandas: pip install 'geomap[parquet]' (or pandas)"
        ) from exc

    return pd.read_csv(
        source,
        dtype=ACLED_DTYPES,
        parse_dates=list(ACLED_DATE_COLUMNS),
        keep_default_na=False,
        na_values=[""],
        encoding="utf-8-sig",
    )
