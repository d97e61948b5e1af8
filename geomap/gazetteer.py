"""The curated gazetteer: places of the theatre, countries, regions and major cities, with their names.

The compiled data (``places.csv``, ``stop_names.txt``) is built by ``gazetteer/build.py`` and shipped
inside the wheel; it is loaded once and indexed by a normalised name key.
"""

from __future__ import annotations

import csv
import hashlib
import math
import pickle
import re
import sys
import tomllib
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


# Generic nouns written after a name in English ("Lachin District", "the Lachin corridor"), in either
# case: the gazetteer's names are also matched with the other case of such a last word.
TRAILING_GENERICS = ADMIN_DESIGNATORS | {"region", "governorate", "corridor"}


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


# --- spelling variants of theatre names ---------------------------------------------------------
#
# Armenian and Azerbaijani names reach French news through four transliteration traditions (French,
# English, Russian, Azerbaijani Latin): Djermouk, Jermuk, Dzhermuk and Cermuk are one place. A family
# key maps each tradition's spelling of a sound to one letter, so that they meet:

# Letters of Azerbaijani, Turkish and Slavic Latin alphabets, before accents are dropped.
_FAMILY_LETTERS = str.maketrans(
    {
        "ş": "ʃ",
        "š": "ʃ",
        "ś": "ʃ",
        "ŝ": "ʃ",
        "ç": "ʧ",
        "č": "ʧ",
        "ć": "ʧ",
        "ĉ": "ʧ",
        "ĝ": "ʤ",
        "ğ": "ɣ",
        "ž": "ʒ",
        "ż": "ʒ",
        "ź": "ʒ",
        "ĵ": "ʒ",
        "ı": "i",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ß": "s",
        "æ": "e",
        "œ": "e",
        "ä": "e",
    }
)
# Spellings of one sound in the French, German, English and Russian traditions, longest first.
_FAMILY_DIGRAPHS = (
    ("tsch", "ʧ"),
    ("dsch", "ʤ"),
    ("tch", "ʧ"),
    ("tsh", "ʧ"),
    ("dzh", "ʤ"),
    ("dj", "ʤ"),
    ("dʒ", "ʤ"),  # Polish dż, Czech dž
    ("sch", "ʃ"),
    ("sh", "ʃ"),
    ("ch", "ʧ"),
    ("zh", "ʒ"),
    ("kh", "x"),
    ("gh", "ɣ"),
    ("ck", "k"),
    ("ph", "f"),
    ("ou", "u"),
)
# The families, one letter each: sh/ch/tch/ş/ç; dj/j/zh/c; k/g/q/kh/x/gh/h; y/i; w/v.
_FAMILY_CLASSES = str.maketrans(
    {
        "ʃ": "c",
        "ʧ": "c",
        "ʤ": "j",
        "ʒ": "j",
        "c": "j",  # a bare c is Azerbaijani: Cəbrayıl, Culfa, Cermuk
        "x": "k",
        "ɣ": "k",
        "h": "k",
        "g": "k",
        "q": "k",
        "y": "i",
        "w": "v",
    }
)
_FAMILY_MARKS = re.compile(r"['\u2019\u02bc\u02bb\u02be\u02bf`\u02b9]")
_FAMILY_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u2013\u2014]+")
_FRENCH_GU = re.compile(r"([gq])u(?=[eiy])")  # Zanguilan, Guéghamasar: the u only hardens the g
_FAMILY_DOUBLES = re.compile(r"(\w)\1+")
_FINAL_VOWEL = re.compile(r"(?<=[^aeiou ])[ea]\b")  # Latchine, Martakerte, Şuşa ~ Shush-
_VOWELS = frozenset("aeiou")
# A spelling is taken for a variant only from this many letters on, and only of a name this long.
VARIANT_MIN_LETTERS = 5
# Family keys at least this long may also differ by one vowel (Kelbajar ~ Kalbajar).
VOWEL_SLACK_MIN = 8
# Places a variant finds together must lie this close, unless they share one name.
VARIANT_SPREAD_KM = 30.0


@lru_cache(maxsize=1 << 16)
def family_keys(name: str) -> tuple[str, ...]:
    """The transliteration-family keys of a name: one, or two when a schwa may be read a or e.

    >>> family_keys("Djermouk") == family_keys("Jermuk") == family_keys("Cermuk") == ("jermuk",)
    True
    >>> family_keys("Latchine") == family_keys("Laçın") == family_keys("Lachin")
    True
    """
    text = unicodedata.normalize("NFC", name).casefold().translate(_FAMILY_LETTERS)
    text = _LEADING_ARTICLE.sub("", _FAMILY_MARKS.sub("'", text).strip())  # l’Ağdam: the article goes
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _FAMILY_SEPARATORS.sub(" ", text.replace("'", "")).strip()
    keys = []
    for schwa in ("e", "a") if "ə" in text else ("e",):  # Kəlbəcər: Kelbedjer and Kalbajar
        key = _FRENCH_GU.sub(r"\1", text.replace("ə", schwa))
        for spelling, sound in _FAMILY_DIGRAPHS:
            key = key.replace(spelling, sound)
        key = _FAMILY_DOUBLES.sub(r"\1", key.translate(_FAMILY_CLASSES))
        keys.append(_FINAL_VOWEL.sub("", key))
    return tuple(dict.fromkeys(keys))


def vowel_masks(key: str) -> list[str]:
    """The key with each vowel in turn replaced by a wildcard: keys one vowel apart share a mask."""
    return [f"{key[:i]}*{key[i + 1 :]}" for i, c in enumerate(key) if c in _VOWELS]


def letter_count(text: str) -> int:
    return sum(c.isalpha() for c in text)


@dataclass(frozen=True, slots=True)
class VariantMatch:
    """The places a spelling was taken for when no name has its exact key, and why."""

    places: tuple[Place, ...]
    names: tuple[str, ...]  # the gazetteer's names it is a variant of
    how: str  # "skeleton" (same family key), "skeleton, one vowel apart", or "skeleton abroad"

    @property
    def reason(self) -> str:
        return f"{self.how}: spelling variant of {' / '.join(self.names[:3])}"


def _admin_stem(name: str) -> str:
    """A unit's name without its designator: "Aghdam District" -> "aghdam"."""
    words = name_key(name).split(" ")
    return " ".join(w for w in words if w not in _UNIT_WORDS) or name_key(name)


_UNIT_WORDS = frozenset({"district", "province", "rayon", "rayonu", "region", "city", "marz"})


def _great_circle_km(a: Place, b: Place) -> float:
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b.lon - a.lon) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def coherent(places: tuple[Place, ...]) -> bool:
    """Whether places found by one variant are one place for a reader: a town and its district, or
    places close together. Two villages far apart that a spelling happens to join are not."""
    if len({_admin_stem(p.name) for p in places}) <= 1:
        return True
    return all(_great_circle_km(a, b) <= VARIANT_SPREAD_KM for a in places for b in places)


def data_dir() -> Path:
    """Where the compiled gazetteer lives: inside the installed package, or the source tree."""
    packaged = Path(str(resources.files("geomap") / "_gazetteer"))
    if (packaged / "places.csv").exists():
        return packaged
    source = Path(__file__).resolve().parent.parent / "gazetteer"
    if (source / "places.csv").exists():
        return source
    raise GazetteerError("compiled gazetteer not found: run gazetteer/build.py or reinstall geomap")


@cache
def theatre_countries() -> frozenset[str]:
    """The countries the curated gazetteer covers in detail (``theatre.toml`` of its data): their
    places are matched by spelling family, ranked first, and checked against their country's outline."""
    path = data_dir() / "theatre.toml"
    try:
        return frozenset(tomllib.loads(path.read_text(encoding="utf-8"))["countries"])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise GazetteerError(f"{path}: unreadable list of the theatre's countries ({exc})") from exc


def _int_or(value: str, default: int | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# --- physical features --------------------------------------------------------------------------
#
# Natural Earth's rivers, lakes, seas and ranges (``physical.csv``, also the world tier's) join the
# curated names, so that the span ruler finds "l'Euphrate" or "lac de Van" in running text: a French
# form with its generic noun is unambiguous; a bare name only for a major feature.

PHYSICAL_FILE = "physical.csv"
# The bare names of features of this Natural Earth scale rank or less (1 the largest) are matched.
PHYSICAL_MAX_SCALERANK = 4
# Lowercase nouns that make a name a physical feature's ("lac de Van", "monts Zagros").
PHYSICAL_GENERICS = frozenset(
    {
        "lac",
        "lacs",
        "mont",
        "monts",
        "massif",
        "mer",
        "golfe",
        "détroit",
        "fleuve",
        "rivière",
        "désert",
        "plateau",
        "péninsule",
        "chaîne",
        "cordillère",
        "océan",
        "bassin",
        "delta",
        "canal",
        "baie",
    }
)


def _row_keys(rows: list[dict[str, str]]) -> set[str]:
    """The name keys of ``places.csv`` rows."""
    return {name_key(n) for row in rows for n in (row["name"], *(row.get("names") or "").split("|")) if n}


def generic_form(name: str) -> bool:
    """Whether ``name`` names its feature with a generic noun: "lac de Van", "Mer Caspienne"."""
    first, _, rest = name.partition(" ")
    return bool(rest) and first.casefold() in PHYSICAL_GENERICS and any(c.isupper() for c in rest)


def physical_rows(path: Path, *, taken: set[str], never: frozenset[str]) -> list[dict[str, str]]:
    """``physical.csv`` as ``places.csv`` rows, with the names worth finding in text: every generic
    French form ("lac de Van", "mont Ararat"), and every name of a major feature (scale rank 4 or
    less: "Euphrate", "Danube"). A name whose key ``taken`` already holds stays its place's ("Van"
    the city, "Jordan" the country); one that is a common French word or a first name (``never``:
    the stop names and the ``!`` lines of ``stop_names.txt``) is not a place's."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            source = list(csv.DictReader(fh))
    except OSError as exc:
        raise GazetteerError(f"cannot read {path}: {exc}") from exc
    rows = []
    for row in source:
        major = (_int_or(row.get("scalerank", ""), 99) or 0) <= PHYSICAL_MAX_SCALERANK
        every = [row["name_fr"], row["name"], *(row.get("names") or "").split("|")]
        names = [
            n
            for n in dict.fromkeys(n.strip() for n in every if n and n.strip())
            if (major or generic_form(n))
            and name_key(n) not in taken
            and name_key(n) not in never
            and len(name_key(n)) >= 3
        ]
        if not names:
            continue
        label = row["name_fr"] or row["name"]  # "lac de Van" is shown "Lac de Van"
        if name_key(label) not in {name_key(n) for n in names}:
            label = names[0]  # the place's name is one of its names: a minor "Aoukâr" stays out
        rows.append(
            {
                "id": row["id"],
                "name": label[:1].upper() + label[1:],
                "kind": row["kind"],
                "lat": row["lat"],
                "lon": row["lon"],
                "names": "|".join(names),
            }
        )
    return rows


@dataclass(slots=True)
class Gazetteer:
    """Places by id, their names, and an index from name keys to place ids."""

    places: dict[str, Place] = field(default_factory=dict)
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    index: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stop: frozenset[str] = frozenset()
    loose: dict[str, tuple[str, ...]] = field(default_factory=dict)  # skeleton -> ids of areas abroad
    # family key -> (place id, name) of the theatre's places; the same by vowel mask for long keys
    families: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    vowel_families: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # name keys of common words that are never taken for a spelling variant ("Souche" ~ Shusha)
    variant_stop: frozenset[str] = frozenset()
    # name keys of common words and first names (the ``!`` lines of ``stop_names.txt``: "tigre"): a
    # place's name only as written, accents and all ("Tigré" is Tigray, "Tigre" is not)
    accented_only: frozenset[str] = frozenset()
    # a digest of the files and code it was built from (:func:`source_digest`); None when built from
    # rows: what the names' tokens kept in the user cache are named by
    source: str | None = None

    @classmethod
    def from_rows(
        cls,
        rows: list[dict[str, str]],
        stop: frozenset[str] = frozenset(),
        variant_stop: frozenset[str] = frozenset(),
        accented_only: frozenset[str] = frozenset(),
    ) -> Gazetteer:
        """Build from rows with the columns of ``places.csv``."""
        gaz = cls(stop=stop, variant_stop=variant_stop, accented_only=accented_only)
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
        gaz._index_variants()
        return gaz

    def _index_variants(self) -> None:
        """The family keys of the theatre's names; the old skeletons for areas abroad (a city
        abroad is left to the world tier, which knows every spelling GeoNames does)."""
        loose: dict[str, list[str]] = {}
        for key, ids in self.index.items():
            for place_id in ids:
                place = self.places[place_id]
                if place.country in theatre_countries() or place.kind in _SETTLEMENTS:
                    continue
                bucket = loose.setdefault(skeleton(key), [])
                if place_id not in bucket:
                    bucket.append(place_id)
        self.loose = {k: tuple(v) for k, v in loose.items()}
        families: dict[str, dict[tuple[str, str], None]] = {}
        masks: dict[str, dict[tuple[str, str], None]] = {}
        for place_id, names in self.names.items():
            if self.places[place_id].country not in theatre_countries():
                continue
            for name in names:
                key = name_key(name)
                if letter_count(key) < VARIANT_MIN_LETTERS or key in self.stop or not _latin(name):
                    continue
                for family in family_keys(name):
                    families.setdefault(family, {})[(place_id, name)] = None
                    for mask in vowel_masks(family) if len(family) >= VOWEL_SLACK_MIN else ():
                        masks.setdefault(mask, {})[(place_id, name)] = None
        self.families = {k: tuple(v) for k, v in families.items()}
        self.vowel_families = {k: tuple(v) for k, v in masks.items()}

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
        lines = [line.strip() for line in stop_text.splitlines() if line.strip() and not line.startswith("#")]
        stop = frozenset(name_key(line) for line in lines if line[0] not in "~!")
        variant_stop = frozenset(name_key(line[1:]) for line in lines if line.startswith("~"))
        common = frozenset(name_key(line[1:]) for line in lines if line.startswith("!"))
        physical = directory / PHYSICAL_FILE
        if physical.exists():
            rows += physical_rows(physical, taken=_row_keys(rows), never=stop | common)
        gazetteer = cls.from_rows(rows, stop, variant_stop, common)
        gazetteer.source = source_digest(directory)
        return gazetteer

    def lookup(self, name: str) -> list[Place]:
        """Every place one of whose names has the same key as ``name`` (written the same way, accents
        and all, when the key is a common word's: see ``accented_only``)."""
        key = name_key(name)
        ids = self.index.get(key, ())
        if key in self.accented_only:
            written = written_key(name)
            ids = tuple(i for i in ids if any(written_key(n) == written for n in self.names[i]))
        return [self.places[i] for i in ids]

    def lookup_loose(self, name: str) -> list[Place]:
        """The places of :meth:`lookup_variant`, or none."""
        match = self.lookup_variant(name)
        return list(match.places) if match else []

    def lookup_variant(self, name: str) -> VariantMatch | None:
        """The places ``name`` is a spelling variant of, when it is not itself a name of the gazetteer.

        A theatre place is found when the name shares a family key with one of its names (Karvatchar
        ~ Karvachar, Xndzoresk ~ Khndzoresk), or for long names a key one vowel apart (Kelbédjar ~
        Kelbajar); an area abroad when they share the older skeleton (Donbas ~ Donbass). Guards
        against false friends: the name and the name it matches have five letters or more, the name
        is neither a stop name nor a common French word whose key collides with a place's
        (``variant_stop``: Souche ~ Shusha, Panique ~ Panik), and the places found are one place for
        a reader (see :func:`coherent`).
        """
        key = name_key(name)
        if letter_count(key) < VARIANT_MIN_LETTERS or key in self.stop or key in self.variant_stop:
            return None
        if key in self.accented_only:
            return None
        keys = family_keys(name)
        hits = dict.fromkeys(h for k in keys for h in self.families.get(k, ()))
        how = "skeleton"
        if not hits:
            masks = (m for k in keys if len(k) >= VOWEL_SLACK_MIN for m in vowel_masks(k))
            hits = dict.fromkeys(h for m in masks for h in self.vowel_families.get(m, ()))
            how = "skeleton, one vowel apart"
        if not hits:
            ids = dict.fromkeys(i for k in loose_keys(name) for i in self.loose.get(k, ()))
            hits = dict.fromkeys((i, self.places[i].name) for i in ids)
            how = "skeleton abroad"
        if not hits:
            return None
        support: dict[str, int] = {}
        for place_id, _ in hits:
            support[place_id] = support.get(place_id, 0) + 1
        places = tuple(self.places[i] for i in support)
        if not coherent(places):
            # Namesakes far apart: the place that many spellings of the family name is the one
            # meant (Jermuk, not the hamlet one of whose old names was Dzhermuk); a tie says nothing.
            most = max(support.values())
            places = tuple(self.places[i] for i, n in support.items() if n == most)
            if not coherent(places):
                return None
        chosen = {p.id for p in places}
        return VariantMatch(places, tuple(dict.fromkeys(n for i, n in hits if i in chosen)), how)

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
                    continue  # "district de Zangilan": the bare name is matched, the designator is a cue
                if not name.isascii() and not _latin(name):
                    continue
                for variant in _variants(name):
                    key = name_key(variant)
                    if key in self.accented_only and written_key(variant) != written_key(name):
                        continue  # "Tigre", the common word, is not "Tigré" without its accent
                    if variant not in seen and key not in self.stop:
                        seen.add(variant)
                        yield variant


def _variants(name: str) -> Iterator[str]:
    """The name; without diacritics ("Qubadli" for Qubadlı), as reporters often write it; with a
    lowercase generic noun in running text ("mer Noire", "lac Sevan"); and with the other case of a
    generic noun after it ("Lachin District", "Lachin district")."""
    yield name
    folded = ascii_fold(name)
    if folded != name and len(folded) >= 4:
        yield folded
    words = name.split(" ")
    if len(words) > 1 and words[0].istitle() and any(c.isupper() for w in words[1:] for c in w):
        yield name[0].lower() + name[1:]
    if len(words) > 1 and words[0][:1].isupper() and words[-1].lower() in TRAILING_GENERICS:
        last = words[-1].lower() if words[-1][:1].isupper() else words[-1].capitalize()
        yield " ".join([*words[:-1], last])  # "Lachin District" and "Lachin district"


def written_key(name: str) -> str:
    """A name's key with its accents: "le Tigré" -> "tigré" (see ``Gazetteer.accented_only``)."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", name)).strip().casefold()
    return _LEADING_ARTICLE.sub("", text).strip(" .,;:'\"«»()")


def _latin(name: str) -> bool:
    return all(unicodedata.name(c, "").startswith("LATIN") for c in name if c.isalpha())


_SETTLEMENTS = frozenset({"city", "town", "village"})

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
    theatre = theatre_countries()
    for place in gaz.places.values():
        if place.country not in theatre or place.kind in UNBOUNDED_KINDS or place.kind == "country":
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
def capitals() -> frozenset[tuple[str, str]]:
    """(capital's name, country code) of every country, from GeoNames' country table (shipped as
    ``capitals.csv``, see gazetteer/README.md): the places the maps name first, whatever their
    population in the gazetteer."""
    with (data_dir() / "capitals.csv").open(encoding="utf-8", newline="") as fh:
        return frozenset((row["capital"], row["country"]) for row in csv.DictReader(fh))


@cache
def default_gazetteer() -> Gazetteer:
    """The shipped gazetteer, loaded once per process (see ``load_kept``)."""
    return load_kept()


def source_digest(directory: Path) -> str:
    """A digest of what :meth:`Gazetteer.load` builds from in ``directory``: its files, and the code
    that builds it (this module, and ``models.py`` for its Place)."""
    digest = hashlib.sha256()
    sources = (Path(__file__), Path(__file__).with_name("models.py"))
    for path in (*sources, directory / "places.csv", directory / "stop_names.txt", directory / PHYSICAL_FILE):
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"absent")
    return digest.hexdigest()


def load_kept() -> Gazetteer:
    """The shipped gazetteer, from the user cache when it was built before. Building its indexes
    takes about half a second at every start: the built gazetteer is kept in the user cache
    (``gazetteer/``, a pickle named by a digest of the shipped files, of this module's and
    ``models.py``'s source and of Python's version, so new data or code never reads a stale one)
    and read back in a tenth of that; a damaged copy is built again."""
    from geomap.cache import cache_dir, keep

    directory = data_dir()
    digest = hashlib.sha256(f"{sys.version}\n{source_digest(directory)}".encode())
    kept = cache_dir() / "gazetteer" / f"{digest.hexdigest()[:20]}.pickle"
    try:
        gazetteer = pickle.loads(kept.read_bytes())
        if isinstance(gazetteer, Gazetteer):
            return gazetteer
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, ImportError):
        pass
    gazetteer = Gazetteer.load(directory)
    data = pickle.dumps(gazetteer, protocol=pickle.HIGHEST_PROTOCOL)
    keep(kept, lambda out: out.write(data), older="*.pickle")
    return gazetteer
