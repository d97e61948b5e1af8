"""The curated gazetteer: name keys, lookups by exonym and transliteration, data sanity."""

from __future__ import annotations

import csv
import math

import pytest

from geomap.errors import GazetteerError
from geomap.gazetteer import Gazetteer, data_dir, name_key

# --- name_key --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("AZERBAIDJAN", "azerbaidjan"),  # case
        ("Azerbaïdjan", "azerbaidjan"),  # diaeresis
        ("Kəlbəcər", "kelbecer"),  # schwa
        ("Laçın", "lacin"),  # cedilla, dotless i
        ("Şuşa", "susa"),
        ("Haut-Karabakh", "haut karabakh"),  # hyphen
        ("Haut\u2011Karabakh", "haut karabakh"),  # non-breaking hyphen
        ("Nagorny  Karabakh", "nagorny karabakh"),  # runs of spaces
        ("l’Arménie", "armenie"),  # elided article, curly apostrophe
        ("l'Arménie", "armenie"),
        ("d’Erevan", "erevan"),
        ("la Géorgie", "georgie"),
        ("Le Caire", "caire"),
        ("les Émirats arabes unis", "emirats arabes unis"),
        ("du Haut-Karabakh", "haut karabakh"),
        ("de l’Azerbaïdjan", "azerbaidjan"),
        ("Côte d’Ivoire", "cote d'ivoire"),  # apostrophe inside a name is kept, folded
        ("Côte dʼIvoire", "cote d'ivoire"),
    ],
)
def test_name_key_folds(name: str, key: str) -> None:
    """Case, accents, hyphens, apostrophes and one leading article do not change the key."""
    assert name_key(name) == key


@pytest.mark.parametrize("name", ["Laos", "Lesotho", "Ledjen", "Dubaï", "Deutschland"])
def test_name_key_strips_only_whole_articles(name: str) -> None:
    """A name that merely starts like an article keeps its first letters."""
    assert name_key(name) == name.casefold().replace("ï", "i")


# --- lookups ---------------------------------------------------------------------------------

# Spellings of one place, its country, and its rough real-world position (lat, lon).
SPELLINGS = [
    (("Latchine", "Laçın", "Lachin"), "AZ", (39.64, 46.55)),
    (("Kelbajar", "Kəlbəcər", "Kalbajar"), "AZ", (40.11, 46.04)),
    (("Stepanakert", "Khankendi", "Xankəndi"), "AZ", (39.82, 46.75)),
    (("Erevan", "Yerevan"), "AM", (40.18, 44.51)),
    (("Bakou", "Baku", "Bakı"), "AZ", (40.41, 49.87)),
    (("Haut-Karabakh", "Nagorny-Karabakh", "Nagorno-Karabakh"), "AZ", (39.8, 46.7)),
    (("Choucha", "Shusha", "Şuşa"), "AZ", (39.76, 46.75)),
    (("Gandja", "Ganja"), "AZ", (40.68, 46.36)),
    (("Arménie", "Armenia"), "AM", (40.1, 44.9)),
    (("Azerbaïdjan", "Azerbaijan"), "AZ", (40.3, 47.7)),
]


@pytest.mark.parametrize(("names", "country", "where"), SPELLINGS, ids=[s[0][0] for s in SPELLINGS])
def test_lookup_by_exonyms_and_transliterations(
    gazetteer: Gazetteer, names: tuple[str, ...], country: str, where: tuple[float, float]
) -> None:
    """Every spelling finds the same places, in the right country and at the right spot."""
    found = {name: {p.id for p in gazetteer.lookup(name)} for name in names}
    first = found[names[0]]
    assert first, f"{names[0]} not found"
    assert all(ids == first for ids in found.values()), found
    for place in gazetteer.lookup(names[0]):
        assert place.country == country
        assert abs(place.lat - where[0]) < 0.5 and abs(place.lon - where[1]) < 0.5, place


def test_lookup_ignores_case_accents_and_articles(gazetteer: Gazetteer) -> None:
    """Running-text forms find the place the bare name finds."""
    armenia = {p.id for p in gazetteer.lookup("Arménie")}
    assert {p.id for p in gazetteer.lookup("l’Arménie")} == armenia
    assert {p.id for p in gazetteer.lookup("ARMENIE")} == armenia
    assert {p.id for p in gazetteer.lookup("Haut Karabakh")} == {
        p.id for p in gazetteer.lookup("Haut-Karabakh")
    }


def test_lookup_unknown_name_is_empty(gazetteer: Gazetteer) -> None:
    assert gazetteer.lookup("Zorakhbyurovka") == []
    assert gazetteer.lookup("") == []


def test_azerbaijani_spelling_of_ganja_finds_only_ganja(gazetteer: Gazetteer) -> None:
    """Gəncə is Ganja, and only Ganja."""
    assert {p.id for p in gazetteer.lookup("Gəncə")} == {p.id for p in gazetteer.lookup("Gandja")}


# --- stop names ------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["Avril", "avril", "Sur", "Mai", "Juin", "Mars", "Victoria"])
def test_stop_names_are_never_found(gazetteer: Gazetteer, word: str) -> None:
    """Months and common words are stop names: never a lookup result."""
    assert gazetteer.is_stop(word)
    assert gazetteer.lookup(word) == []


def test_no_stop_name_is_indexed(gazetteer: Gazetteer) -> None:
    assert gazetteer.stop, "the stop list was not loaded"
    assert not gazetteer.stop & gazetteer.index.keys()


def test_place_named_like_a_stop_word_is_kept_but_not_indexed_by_it(gazetteer: Gazetteer) -> None:
    """A place whose name is a stop word (Victoria) stays in the gazetteer, unreachable by that name."""
    victorias = [p for p in gazetteer.places.values() if p.name == "Victoria"]
    assert victorias
    assert gazetteer.lookup("Victoria") == []


def test_from_rows_skips_stop_names() -> None:
    gaz = Gazetteer.from_rows([row("om-sur", "Sur", names="Sur|Şur")], stop=frozenset({"sur"}))
    assert gaz.lookup("Sur") == []
    assert gaz.lookup("Şur") == []  # folds to the same key
    assert "om-sur" in gaz.places


# --- data sanity -----------------------------------------------------------------------------


def test_ids_are_unique_in_the_shipped_data(gazetteer: Gazetteer) -> None:
    with (data_dir() / "places.csv").open(encoding="utf-8", newline="") as fh:
        ids = [r["id"] for r in csv.DictReader(fh)]
    assert len(ids) == len(set(ids)) == len(gazetteer.places)
    assert all(ids)


def test_every_place_has_valid_coordinates(gazetteer: Gazetteer) -> None:
    bad = [
        p.id
        for p in gazetteer.places.values()
        if not (-90 <= p.lat <= 90 and -180 <= p.lon <= 180) or math.isnan(p.lat) or math.isnan(p.lon)
    ]
    assert bad == []


def test_surface_names_have_no_stop_word_and_no_short_name(gazetteer: Gazetteer) -> None:
    """The names searched for in text are at least 3 characters and never stop words."""
    names = list(gazetteer.surface_names())
    assert len(names) > 1000
    assert [n for n in names if len(n) < 3] == []
    assert [n for n in names if gazetteer.is_stop(n)] == []
    assert len(names) == len(set(names))
    for expected in ("Arménie", "Nagorny-Karabakh", "Latchine", "Bakou"):
        assert expected in names


# --- from_rows validation --------------------------------------------------------------------


def row(id: str, name: str, *, lat: str = "40.0", lon: str = "45.0", names: str = "") -> dict[str, str]:
    """A places.csv row."""
    return {
        "id": id,
        "name": name,
        "kind": "town",
        "country": "AM",
        "admin1": "",
        "lat": lat,
        "lon": lon,
        "geonames_id": "",
        "population": "",
        "names": names,
    }


def test_from_rows_builds_an_index() -> None:
    gaz = Gazetteer.from_rows([row("a", "Goris", names="Goris|Gorisi"), row("b", "Sisian")])
    assert [p.id for p in gaz.lookup("GORISI")] == ["a"]
    assert [p.id for p in gaz.lookup("Sisian")] == ["b"]


def test_from_rows_rejects_a_duplicate_id() -> None:
    with pytest.raises(GazetteerError, match="duplicate id"):
        Gazetteer.from_rows([row("a", "Goris"), row("a", "Sisian")])


@pytest.mark.parametrize("lat", ["abc", "", "40,5"])
def test_from_rows_rejects_an_unreadable_latitude(lat: str) -> None:
    with pytest.raises(GazetteerError):
        Gazetteer.from_rows([row("a", "Goris", lat=lat)])


@pytest.mark.parametrize(
    ("lat", "lon"), [("123.5", "45.0"), ("-91", "45.0"), ("nan", "45.0"), ("40.0", "200")]
)
def test_from_rows_rejects_an_out_of_range_coordinate(lat: str, lon: str) -> None:
    with pytest.raises(GazetteerError):
        Gazetteer.from_rows([row("a", "Goris", lat=lat, lon=lon)])


def test_validate_reports_a_common_word_alias_and_an_unnormalised_name(gazetteer: Gazetteer) -> None:
    """validate() finds what the shipped data must never hold."""
    from geomap.gazetteer import validate

    rows = [row("a", "Goris", lat="39.51"), {**row("b", "Tegh", lat="39.55"), "names": "Tegh|Tegh  bis"}]
    bad = Gazetteer.from_rows(rows, stop=frozenset())
    bad.index["pour"] = ("a",)  # an alias that is a French word, as GeoNames sometimes lists
    problems = validate(bad)
    assert any("'pour' is a common word" in p for p in problems)
    assert any("not normalised" in p and "Tegh  bis" in p for p in problems)
