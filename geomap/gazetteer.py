"""The curated gazetteer: places of the theatre, countries, regions and major cities, with their names.

The compiled data (``places.csv``, ``stop_names.txt``) is built by ``gazetteer/build.py`` and shipped
inside the wheel; it is loaded once and indexed by a normalised name key.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from geomap.errors import GazetteerError
from geomap.models import Place

_FOLD = str.maketrans(
    {
        "ə": "e",
        "Ə": "e",
        "ı": "i",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "\u2019": "'",
        "\u02bc": "'",
        "`": "'",
        "\u2010": " ",
        "\u2011": " ",
        "\u2013": " ",
        "\u2014": " ",
        "-": " ",
    }
)
_LETTERS = str.maketrans(
    {"ə": "e", "Ə": "E", "ı": "i", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "ß": "ss"}
)
_LEADING_ARTICLE = re.compile(r"^(?:l'|d'|la |le |les |du |des |de la |de l')", re.I)
_SPACES = re.compile(r"\s+")
# Lowercase words that introduce an administrative unit's name in French running text.
ADMIN_DESIGNATORS = frozenset(
    {
        "district",
        "districts",
        "région",
        "province",
        "raïon",
        "rayon",
        "marz",
        "oblast",
        "gouvernorat",
        "département",
        "municipalité",
        "commune",
    }
)


def ascii_fold(name: str) -> str:
    """The name without diacritics, case and punctuation kept: "Kəlbəcər" -> "Kelbecer"."""
    text = unicodedata.normalize("NFKD", name.translate(_LETTERS))
    return "".join(c for c in text if not unicodedata.combining(c))


@lru_cache(maxsize=1 << 16)  # the same names come back in article after article
def name_key(name: str) -> str:
    """The lookup key of a name: case, accents, hyphens, apostrophes and a leading article ignored.

    >>> name_key("l’Azerbaïdjan") == name_key("AZERBAIDJAN") == "azerbaidjan"
    True
    """
    text = unicodedata.normalize("NFKD", name.translate(_FOLD))
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(_FOLD)
    text = _SPACES.sub(" ", text).strip().casefold()
    return _LEADING_ARTICLE.sub("", text).strip(" .,;:'\"«»()")


_DOUBLES = re.compile(r"(\w)\1+")


def skeleton(key: str) -> str:
    """A looser key for transliterations: doubled letters single, y as i ("Tchassiv Iar" ~ "Chasiv Yar"
    once anglicised)."""
    return _DOUBLES.sub(r"\1", key.replace("y", "i"))


def anglicised(key: str, *, slavic_j: bool = False) -> str:
    """An English-style spelling of a French transliteration key: "bakhmout" -> "bakhmut",
    "tchassiv iar" -> "chassiv iar", "el facher" -> "el fasher", "abou dhabi" -> "abu dhabi"; with
    ``slavic_j``, French "j" as English "zh" ("zaporijia" -> "zaporizhia")."""
    text = key.replace("tch", "\x01").replace("ch", "sh").replace("\x01", "ch")
    text = text.replace("dj", "\x02").replace("ou", "u")
    if slavic_j:
        text = text.replace("j", "zh")
    return text.replace("\x02", "j")


def loose_keys(name: str) -> list[str]:
    """The skeletons under which a name may be found when its exact key is not."""
    key = name_key(name)
    keys = [skeleton(key), skeleton(anglicised(key)), skeleton(anglicised(key, slavic_j=True))]
    return list(dict.fromkeys(k for k in keys if len(k) >= 4))


def data_dir() -> Path:
    """Where the compiled gazetteer lives: inside the installed package, or the source tree."""
    packaged = Path(str(resources.files("geomap") / "_gazetteer"))
    if (packaged / "places.csv").exists():
        return packaged
    source = Path(__file__).resolve().parent.parent / "gazetteer"
    if (source / "places.csv").exists():
        return source
    raise GazetteerError("compiled gazetteer not found: run gazetteer/build.py or reinstall geomap")


def _int_or(value: str, default: int | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@dataclass(slots=True)
class Gazetteer:
    """Places by id, their names, and an index from name keys to place ids."""

    places: dict[str, Place] = field(default_factory=dict)
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    index: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stop: frozenset[str] = frozenset()
    loose: dict[str, tuple[str, ...]] = field(default_factory=dict)  # skeleton -> place ids

    @classmethod
    def from_rows(cls, rows: list[dict[str, str]], stop: frozenset[str] = frozenset()) -> Gazetteer:
        """Build from rows with the columns of ``places.csv``."""
        gaz = cls(stop=stop)
        index: dict[str, list[str]] = {}
        for number, row in enumerate(rows, start=2):
            try:
                place = Place(
                    id=row["id"],
                    name=row["name"],
                    kind=row["kind"],
                    country=row.get("country") or None,
                    lat=float(row["lat"]),
                    lon=float(row["lon"]),
                    admin1=row.get("admin1") or None,
                    geonames_id=_int_or(row.get("geonames_id", ""), None),
                    population=_int_or(row.get("population", ""), 0) or 0,
                )
            except (KeyError, ValueError) as exc:
                raise GazetteerError(f"places.csv line {number}: {exc!r}") from exc
            if not (-90 <= place.lat <= 90 and -180 <= place.lon <= 180):  # also false for NaN
                raise GazetteerError(
                    f"places.csv line {number}: coordinates out of range ({place.lat}, {place.lon})"
                )
            if place.id in gaz.places:
                raise GazetteerError(f"places.csv line {number}: duplicate id {place.id!r}")
            names = tuple(n for n in (row.get("names") or "").split("|") if n) or (place.name,)
            gaz.places[place.id] = place
            gaz.names[place.id] = names
            for key in {name_key(n) for n in (place.name, *names)}:
                if key and key not in stop:
                    index.setdefault(key, []).append(place.id)
        gaz.index = {k: tuple(v) for k, v in index.items()}
        loose: dict[str, list[str]] = {}
        for key, ids in gaz.index.items():
            for place_id in ids:
                bucket = loose.setdefault(skeleton(key), [])
                if place_id not in bucket:
                    bucket.append(place_id)
        gaz.loose = {k: tuple(v) for k, v in loose.items()}
        return gaz

    @classmethod
    def load(cls, directory: Path | None = None) -> Gazetteer:
        """Load ``places.csv`` and ``stop_names.txt`` from ``directory`` (default: the shipped data)."""
        directory = directory or data_dir()
        try:
            with (directory / "places.csv").open(encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
            stop_text = (directory / "stop_names.txt").read_text(encoding="utf-8")
        except OSError as exc:
            raise GazetteerError(f"cannot read the gazetteer in {directory}: {exc}") from exc
        stop = frozenset(
            name_key(line) for line in stop_text.splitlines() if line.strip() and not line.startswith("#")
        )
        return cls.from_rows(rows, stop)

    def lookup(self, name: str) -> list[Place]:
        """Every place one of whose names has the same key as ``name``."""
        return [self.places[i] for i in self.index.get(name_key(name), ())]

    def lookup_loose(self, name: str) -> list[Place]:
        """Places whose names match ``name`` once both are reduced to transliteration skeletons."""
        if name_key(name) in self.stop:
            return []
        ids = dict.fromkeys(i for k in loose_keys(name) for i in self.loose.get(k, ()))
        return [self.places[i] for i in ids]

    def is_stop(self, name: str) -> bool:
        """True for words that are never place names (months, boilerplate, common words)."""
        return name_key(name) in self.stop

    def surface_names(self) -> Iterator[str]:
        """Names to look for in text: capitalised, not stop words, in Latin script, with variants."""
        seen: set[str] = set()
        for names in self.names.values():
            for name in names:
                if len(name) < 3 or not any(c.isupper() for c in name):
                    continue
                if name.split(" ", 1)[0] in ADMIN_DESIGNATORS:
                    continue  # "district de Kalbajar": the bare name is matched, the designator is a cue
                if not name.isascii() and not _latin(name):
                    continue
                for variant in _variants(name):
                    if variant not in seen and name_key(variant) not in self.stop:
                        seen.add(variant)
                        yield variant


def _variants(name: str) -> Iterator[str]:
    """The name; without diacritics ("Qubadli" for Qubadlı), as reporters often write it; and with a
    lowercase generic noun in running text ("mer Noire", "lac Sevan")."""
    yield name
    folded = ascii_fold(name)
    if folded != name and len(folded) >= 4:
        yield folded
    words = name.split(" ")
    if len(words) > 1 and words[0].istitle() and any(c.isupper() for w in words[1:] for c in w):
        yield name[0].lower() + name[1:]


def _latin(name: str) -> bool:
    return all(unicodedata.name(c, "").startswith("LATIN") for c in name if c.isalpha())


# Kinds whose point need not fall inside one country (rivers, ranges, corridors, seas...).
UNBOUNDED_KINDS = frozenset(
    {"river", "mountain", "corridor", "region", "sea", "continent", "lake", "reservoir"}
)


def validate(gaz: Gazetteer, *, border_tolerance_km: float = 5.0) -> list[str]:
    """Every problem of the gazetteer: empty or unnormalised names, names that are common French
    words, invalid or misplaced geometries. An empty list means the data is sound.

    A theatre place (Armenia, Azerbaijan) must lie inside its country's polygon, within
    ``border_tolerance_km`` for border villages (Natural Earth simplifies the line), unless its kind
    is unbounded or ``gazetteer/check_exceptions.csv`` documents why not.
    """
    from spacy.lang.fr.stop_words import STOP_WORDS

    problems: list[str] = []
    common = {name_key(w) for w in STOP_WORDS}
    for place_id, names in gaz.names.items():
        for name in names:
            if not name.strip():
                problems.append(f"{place_id}: empty name")
            elif name != name.strip() or "  " in name or unicodedata.normalize("NFC", name) != name:
                problems.append(f"{place_id}: name not normalised: {name!r}")
    for key, ids in gaz.index.items():
        if key in common or key in gaz.stop:
            problems.append(f"{', '.join(ids)}: alias {key!r} is a common word")
        if len(key) < 3:
            problems.append(f"{', '.join(ids)}: alias {key!r} is shorter than 3 characters")
    problems += _check_geometry(gaz, border_tolerance_km)
    return problems


def _check_geometry(gaz: Gazetteer, tolerance_km: float) -> list[str]:
    from shapely.geometry import Point

    from geomap.areas import default_areas

    areas = default_areas()
    if areas is None:
        return ["areas.geojson missing: geometries not checked"]
    problems = [f"{a.id}: invalid geometry" for a in areas.areas if not a.geometry.is_valid]
    exceptions = _exceptions()
    tolerance = tolerance_km / 111.0
    countries = {a.country: a for a in areas.areas if a.kind == "country"}
    units = {a.name: a for a in areas.areas if a.kind in ("province", "district")}
    for place in gaz.places.values():
        if place.country not in ("AM", "AZ") or place.kind in UNBOUNDED_KINDS or place.kind == "country":
            continue
        if place.id in exceptions:
            continue
        country = countries.get(place.country)
        if country is None:
            continue
        point = Point(place.lon, place.lat)
        if not country.geometry.buffer(tolerance).contains(point):
            problems.append(
                f"{place.id} ({place.name}): outside {country.name} by more than {tolerance_km} km"
            )
        unit = units.get(place.admin1 or "")
        if unit is not None and not unit.geometry.buffer(tolerance).contains(point):
            problems.append(f"{place.id} ({place.name}): not inside its admin unit {place.admin1}")
    return problems


def _exceptions() -> dict[str, str]:
    path = data_dir() / "check_exceptions.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["id"]: row["reason"] for row in csv.DictReader(fh)}


@cache
def default_gazetteer() -> Gazetteer:
    """The shipped gazetteer, loaded once per process."""
    return Gazetteer.load()
