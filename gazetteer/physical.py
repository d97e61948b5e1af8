#!/usr/bin/env python3
"""Compile Natural Earth's physical features into ``physical.csv``: rivers, lakes and reservoirs,
seas and other marine areas, mountain ranges and peaks, plateaus, deserts, plains, valleys,
peninsulas and islands, each with a representative point and its names (French first).

The world tier loads the file so that "l'Euphrate", "le Danube", "le lac de Van" or "la mer
Caspienne" resolve offline. A river's point lies on the river, half-way along its longest stretch;
a lake's, a sea's or a region's is the centroid of its largest polygon, or a point inside that
polygon when the centroid falls outside it.

Source: the Natural Earth 1:10m physical layers (public domain) as GeoJSON, in a folder given on
the command line: the ``geojson/`` folder of Natural Earth's own repository (``*.geojson``), or a
GeoJSON conversion of its shapefiles (``*.json``). See README.md in this folder for the version
used. French names come from the layers' ``name_fr`` field where the release has it, then from
``sources/physical_exonyms.csv`` (hand-curated), then from French generic forms of the English
name ("Lake Van" -> "lac de Van", "Zagros Mountains" -> "monts Zagros"). A name that is a
country's or a continent's in ``places.csv`` is dropped, so that the peninsula "India" or the
river "Jordan" never answer for the country (the river keeps "Jourdain").

Run ``python gazetteer/physical.py NATURAL_EARTH_GEOJSON_FOLDER``; the output is deterministic.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shapely.geometry import LineString, MultiLineString, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from geomap.gazetteer import ascii_fold, name_key

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "physical.csv"
EXONYMS = HERE / "sources" / "physical_exonyms.csv"
COLUMNS = ["id", "name", "name_fr", "kind", "lat", "lon", "names", "scalerank", "course"]
COURSE_STEP_DEGREES = 1.0  # about 100 km between two points of a river's course
SAME_FEATURE_DEGREES = 1.0  # parts of one name closer than this are one feature
SUPPLEMENT_DEGREES = 1.0  # a regional layer's feature this close to a world one of its name is that one

# layer -> (featurecla -> geomap kind); a class not listed is left out
RIVERS = {"River": "river", "Lake Centerline": "river", "Intermittent River": "river"}
LAKES = {"Lake": "lake", "Alkaline Lake": "lake", "Reservoir": "reservoir"}
MARINE = {
    c: "sea"
    for c in ("sea", "ocean", "gulf", "bay", "strait", "sound", "channel", "lagoon", "fjord", "inlet")
} | {"river": "river"}
REGIONS = {
    "Range/mtn": "mountain", "Foothills": "mountain", "Plateau": "plateau", "Desert": "desert",
    "Plain": "plain", "Lowland": "plain", "Tundra": "plain", "Basin": "basin", "Depression": "basin",
    "Valley": "valley", "Gorge": "valley", "Delta": "delta", "Wetlands": "wetland", "Coast": "coast",
    "Peninsula": "peninsula", "Pen/cape": "peninsula", "Isthmus": "isthmus", "Island": "island",
    "Island group": "island", "Geoarea": "region",
}  # fmt: skip
PEAKS = {"mountain": "mountain", "plateau": "plateau", "pass": "pass", "depression": "basin"}


@dataclass(frozen=True, slots=True)
class Layer:
    stem: str
    kinds: dict[str, str]
    supplement_of: str | None = None  # a regional layer: features already in this world layer are skipped


LAYERS = (
    Layer("ne_10m_rivers_lake_centerlines", RIVERS),
    Layer("ne_10m_rivers_europe", RIVERS, supplement_of="ne_10m_rivers_lake_centerlines"),
    Layer("ne_10m_lakes", LAKES),
    Layer("ne_10m_lakes_europe", LAKES, supplement_of="ne_10m_lakes"),
    Layer("ne_10m_geography_marine_polys", MARINE),
    Layer("ne_10m_geography_regions_polys", REGIONS),
    Layer("ne_10m_geography_regions_elevation_points", PEAKS),
)
SKIPPED_REGIONS = frozenset({"Antarctica"})

# Cartographic abbreviations of Natural Earth labels, spelt out.
ABBREVIATIONS = {
    "mts.": "Mountains", "mts": "Mountains", "mt.": "Mount", "ra.": "Range", "pen.": "Peninsula",
    "pén.": "Péninsule", "plat.": "Plateau", "cord.": "Cordillera", "i.": "Island", "is.": "Islands",
    "arch.": "Archipelago", "isands": "Islands", "î.": "Île",
}  # fmt: skip
LOWER_WORDS = frozenset(
    {"of", "the", "and", "de", "du", "des", "la", "le", "les", "el", "al", "y", "da", "do"}
)

# French generic forms of English names: (pattern on the English name, French forms of its group).
# No bare form ("Zagros" for "Zagros Mountains"): too many are words ("Salt", "Blue", "Coast");
# the bare names French reporting uses are in the exonym table.
FRENCH_FORMS = (
    (re.compile(r"^Lake (?P<n>.+)$"), ("lac {n}", "lac {de}{n}")),
    (re.compile(r"^(?P<n>.+) Lake$"), ("lac {n}",)),
    (re.compile(r"^Mount (?P<n>.+)$"), ("mont {n}",)),
    (re.compile(r"^(?P<n>.+) Mountains$"), ("monts {n}",)),
    (re.compile(r"^(?P<n>.+) Range$"), ("monts {n}",)),
    (re.compile(r"^(?P<n>.+) Desert$"), ("désert {de}{n}",)),
    (re.compile(r"^(?P<n>.+) Plateau$"), ("plateau {de}{n}",)),
    (re.compile(r"^(?P<n>.+) Peninsula$"), ("péninsule {de}{n}",)),
    (re.compile(r"^(?P<n>.+) Reservoir$"), ("réservoir {de}{n}", "lac {de}{n}")),
    (re.compile(r"^(?P<n>.+) Islands$"), ("îles {n}",)),
    (re.compile(r"^(?P<n>.+) Island$"), ("île {de}{n}",)),
)


@dataclass(slots=True)
class Feature:
    """One named feature of one layer: its parts (possibly far apart) and its names."""

    name: str
    kind: str
    layer: str
    scalerank: int
    geometries: list[BaseGeometry]
    name_fr: str = ""
    alternates: list[str] = field(default_factory=list)
    group_key: str = ""  # its French name's key, else its English name's: a river's stretches
    # labelled in each country's language ("Donau", "Danube"; "Firat", "Al Furat") are one river


def clean_name(raw: str) -> str:
    """A label as a name: spaces tidied, abbreviations spelt out, capitals only where they belong."""
    text = re.sub(r"\s+", " ", raw.replace("\r", " ")).strip().replace(" .", ".")
    words = text.split(" ")
    shouting = text.isupper()
    out = []
    for i, word in enumerate(words):
        expanded = ABBREVIATIONS.get(word.lower())
        if expanded:
            out.append(expanded)
        elif shouting:
            out.append(_title(word, first=i == 0))
        else:
            out.append(word)
    return " ".join(out)


def _title(word: str, *, first: bool) -> str:
    lower = word.lower()
    if lower in LOWER_WORDS and not first:
        return lower
    for elision in ("d’", "d'", "l’", "l'"):
        if lower.startswith(elision) and len(lower) > 2:
            head = elision if not first else elision.capitalize()
            return head + _title(word[2:], first=True)
    return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))


def _names_of(props: dict, *fields: str) -> list[str]:
    names = []
    for name_field in fields:
        value = props.get(name_field)
        if isinstance(value, str) and value.strip():
            names += [clean_name(v) for v in re.split(r"[/;,]", value) if v.strip()]
    return names


def read_layer(folder: Path, layer: Layer, exonyms: dict[str, list[str]]) -> Iterator[Feature]:
    """The named features of ``layer`` (one per label; parts of one name are grouped later)."""
    path = next(
        (p for p in (folder / f"{layer.stem}.geojson", folder / f"{layer.stem}.json") if p.exists()), None
    )
    if path is None:
        raise SystemExit(f"{layer.stem}.geojson (or .json) not found in {folder}")
    data = json.loads(path.read_text(encoding="utf-8"))
    for item in data["features"]:
        props, geometry = item["properties"], item.get("geometry")
        kind = layer.kinds.get(props.get("featurecla") or "")
        names = _names_of(props, "name")
        if kind is None or not names or geometry is None or props.get("region") in SKIPPED_REGIONS:
            continue
        geom = shape(geometry)
        if geom.is_empty:
            continue
        fr = _names_of(props, "name_fr")
        yield Feature(
            name=names[0],
            kind=kind,
            layer=layer.stem,
            scalerank=int(float(props.get("scalerank") or 10)),
            geometries=[geom],
            name_fr=fr[0][:1].upper() + fr[0][1:] if fr else "",
            alternates=_names_of(props, "name_alt", "namealt", "name_en"),
            group_key=_group_key(names[0], _names_of(props, "name_en"), exonyms),
        )


def _group_key(name: str, english: list[str], exonyms: dict[str, list[str]]) -> str:
    for candidate in (name, *english):
        if name_key(candidate) in exonyms:
            return name_key(exonyms[name_key(candidate)][0])
    return name_key((english or [name])[0])


def group(features: Iterable[Feature]) -> list[Feature]:
    """Features of one layer that share an English name and a kind and lie within
    ``SAME_FEATURE_DEGREES`` of each other, as one feature (a river is labelled once per stretch)."""
    by_name: dict[tuple[str, str], list[Feature]] = {}
    for feature in features:
        by_name.setdefault((feature.group_key, feature.kind), []).append(feature)
    out = []
    for parts in by_name.values():
        clusters: list[list[Feature]] = []
        for part in parts:
            near = [c for c in clusters if any(_near(part, other, SAME_FEATURE_DEGREES) for other in c)]
            merged = [part] + [p for c in near for p in c]
            clusters = [c for c in clusters if c not in near] + [merged]
        for cluster in clusters:
            first = min(cluster, key=lambda f: (f.scalerank, f.name))
            out.append(
                Feature(
                    name=first.name,
                    kind=first.kind,
                    layer=first.layer,
                    scalerank=first.scalerank,
                    geometries=[g for f in cluster for g in f.geometries],
                    name_fr=next((f.name_fr for f in cluster if f.name_fr), ""),
                    alternates=sorted({a for f in cluster for a in (f.name, *f.alternates)} - {first.name}),
                    group_key=first.group_key,
                )
            )
    return out


def _near(a: Feature, b: Feature, degrees: float) -> bool:
    return any(ga.distance(gb) < degrees for ga in a.geometries for gb in b.geometries)


def representative(feature: Feature) -> tuple[float, float]:
    """(lat, lon): for a river, the point of its course nearest the centroid of the whole course
    (near its middle, on the river however it bends); a point of a peak; the centroid of the
    largest polygon, or a point inside it when the centroid is outside."""
    lines = [g for g in feature.geometries if isinstance(g, (LineString, MultiLineString))]
    if lines:
        course = MultiLineString([part for g in lines for part in getattr(g, "geoms", [g])])
        point = nearest_points(course, course.centroid)[0]
        return round(point.y, 4), round(point.x, 4)
    points = [g for g in feature.geometries if isinstance(g, Point)]
    if points:
        return round(points[0].y, 4), round(points[0].x, 4)
    polygons = [p for g in feature.geometries for p in getattr(g, "geoms", [g]) if isinstance(p, Polygon)]
    largest = max(polygons, key=lambda p: (p.area, p.wkt))
    point = largest.centroid if largest.contains(largest.centroid) else largest.representative_point()
    return round(point.y, 4), round(point.x, 4)


def course(feature: Feature) -> str:
    """A long river's course as points about ``COURSE_STEP_DEGREES`` apart ("lat lon;lat lon;..."),
    so that the resolver can place "le Danube" of an article about Izmail near Izmail rather than
    in Hungary. Empty for a feature that is no line, or a river shorter than two steps."""
    parts = [p for g in feature.geometries for p in getattr(g, "geoms", [g]) if isinstance(p, LineString)]
    if sum(p.length for p in parts) < 2 * COURSE_STEP_DEGREES:
        return ""
    points = []
    for part in parts:
        n = math.ceil(part.length / COURSE_STEP_DEGREES)
        points += [part.interpolate((i + 0.5) / n, normalized=True) for i in range(n)]
    return ";".join(dict.fromkeys(f"{pt.y:.2f} {pt.x:.2f}" for pt in points))


def load_exonyms(path: Path = EXONYMS) -> dict[str, list[str]]:
    """English (Natural Earth) name key -> French names, the usual one first."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if not r["name"].startswith("#")]
    exonyms: dict[str, list[str]] = {}
    for row in rows:
        exonyms.setdefault(name_key(row["name"]), []).extend(
            n.strip() for n in row["french"].split("|") if n.strip()
        )
    return exonyms


def country_keys(places: Path = HERE / "places.csv") -> frozenset[str]:
    """Every name key of a country or continent of the curated gazetteer."""
    keys = set()
    with places.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["kind"] in ("country", "continent"):
                keys.update(name_key(n) for n in (row["name"], *row["names"].split("|")) if n)
    return frozenset(keys)


def french_forms(name: str) -> list[str]:
    """French generic forms of an English name ("Lake Van" -> "lac Van", "lac de Van")."""
    forms = []
    for pattern, templates in FRENCH_FORMS:
        found = pattern.match(name)
        if found:
            core = found["n"]
            de = "d'" if ascii_fold(core[:1]).lower() in "aeiouyh" else "de "
            forms += [t.format(n=core, de=de) for t in templates]
    return forms


def rows(folder: Path) -> list[dict[str, str]]:
    """The rows of ``physical.csv`` from the Natural Earth layers in ``folder``."""
    exonyms, countries = load_exonyms(), country_keys()
    used_exonyms: set[str] = set()
    by_layer: dict[str, list[Feature]] = {}
    for layer in LAYERS:
        features = group(read_layer(folder, layer, exonyms))
        if layer.supplement_of:
            world = by_layer[layer.supplement_of]
            features = [
                f
                for f in features
                if not any(w.group_key == f.group_key and _near(f, w, SUPPLEMENT_DEGREES) for w in world)
            ]
        by_layer[layer.stem] = features
    out = []
    for feature in (f for features in by_layer.values() for f in features):
        matched = [k for k in map(name_key, (feature.name, *feature.alternates)) if k in exonyms]
        french = list(dict.fromkeys(n for k in matched for n in exonyms[k]))
        used_exonyms.update(matched)
        names = [feature.name, feature.name_fr, *french, *feature.alternates, *french_forms(feature.name)]
        kept = list(dict.fromkeys(n for n in names if n and len(name_key(n)) >= 3))
        kept = [n for n in kept if name_key(n) not in countries]
        if not kept:
            continue
        name = kept[0] if name_key(feature.name) in countries else feature.name
        name_fr = feature.name_fr or (french[0] if french else "")
        if name_fr and name_key(name_fr) in countries:
            name_fr = ""
        others = [n for n in kept if n not in (name, name_fr)]
        lat, lon = representative(feature)
        out.append(
            {
                "name": name,
                "name_fr": name_fr,
                "kind": feature.kind,
                "lat": f"{lat:.4f}",
                "lon": f"{lon:.4f}",
                "names": "|".join(_dedupe_keys(others, {name_key(name), name_key(name_fr)})),
                "scalerank": str(feature.scalerank),
                "course": course(feature),
            }
        )
    unused = sorted(set(exonyms) - used_exonyms)
    if unused:
        print(f"exonyms matching no feature: {', '.join(unused)}", file=sys.stderr)
    return _with_ids(out)


def _dedupe_keys(names: list[str], taken: set[str]) -> list[str]:
    out = []
    for n in names:
        if name_key(n) not in taken or n[:1].islower():  # "lac Van": a form the reporter writes
            out.append(n)
            taken.add(name_key(n))
    return out


def _with_ids(found: list[dict[str, str]]) -> list[dict[str, str]]:
    found.sort(key=lambda r: (r["kind"], name_key(r["name"]), float(r["lat"]), float(r["lon"])))
    seen: dict[str, int] = {}
    for row in found:
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_fold(name_key(row["name"])).lower()).strip("-") or "x"
        base = f"ne-{row['kind']}-{slug}"
        seen[base] = seen.get(base, 0) + 1
        row["id"] = base if seen[base] == 1 else f"{base}-{seen[base]}"
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="folder of Natural Earth 1:10m physical GeoJSON files")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    found = rows(args.source)
    with args.output.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(found)
    kinds: dict[str, int] = {}
    for row in found:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    print(f"{args.output}: {len(found)} features {dict(sorted(kinds.items()))}")


if __name__ == "__main__":
    main()
