"""The curated gazetteer: name keys, lookups by exonym and transliteration, data sanity."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from geomap.errors import GazetteerError
from geomap.gazetteer import Gazetteer, data_dir, family_keys, name_key

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
    physical = [i for i in gazetteer.places if i.startswith("ne-")]  # rows of physical.csv
    assert len(ids) == len(set(ids)) == len(gazetteer.places) - len(physical)
    assert all(ids) and not set(ids) & set(physical)


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


# --- spelling variants of theatre names ------------------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures"


def _variant_rows() -> list[dict[str, str]]:
    lines = (FIXTURES / "variants.csv").read_text(encoding="utf-8").splitlines()
    return list(csv.DictReader(line for line in lines if not line.startswith("#")))


VARIANT_ROWS = _variant_rows()


@pytest.mark.parametrize(
    "row", VARIANT_ROWS, ids=[f"{r['spelling']}-{r['expect']}-{r['place']}" for r in VARIANT_ROWS]
)
def test_spelling_families_of_theatre_names(gazetteer: Gazetteer, row: dict[str, str]) -> None:
    """Every spelling of tests/fixtures/variants.csv finds its place as a name ("exact") or only
    through its transliteration family ("variant"); a false friend ("none") never finds it."""
    spelling, place, expect = row["spelling"], row["place"], row["expect"]
    exact = {p.id for p in gazetteer.lookup(spelling)}
    match = gazetteer.lookup_variant(spelling)
    loose = {p.id for p in match.places} if match else set()
    if expect == "exact":
        assert place in exact, f"{spelling}: {sorted(exact)}"
    elif expect == "variant":
        assert not exact, f"{spelling} is now a name of {sorted(exact)}: make the row exact"
        assert place in loose, f"{spelling}: {sorted(loose)}"
        assert match is not None and match.how.startswith("skeleton")
    else:
        assert expect == "none", row
        assert place not in exact | loose, f"{spelling} found {place}"


def test_the_fixture_holds_families_and_false_friends() -> None:
    expects = [r["expect"] for r in VARIANT_ROWS]
    assert expects.count("variant") >= 25 and expects.count("none") >= 12
    assert {r["expect"] for r in VARIANT_ROWS} == {"exact", "variant", "none"}


@pytest.mark.parametrize(
    ("spellings", "same"),
    [
        (("Djermouk", "Jermuk", "Cermuk", "Dschermuk", "Dzhermuk", "Dżermuk"), True),  # dj/j/c/dsch/dzh/dż
        (("Khndzoresk", "Xndzoresk"), True),  # kh/x
        (("Ghapan", "Kapan"), True),  # gh/k
        (("Karvatchar", "Karvachar"), True),  # tch/ch
        (("Chouchi", "Shushi", "Şuşi"), True),  # ch/sh/ş
        (("Latchine", "Laçın", "Lachin"), True),  # tch/ç/ch, final -e
        (("Zanguilan", "Zangilan"), True),  # French gu
        (("Vardenisse", "Vardenis"), True),  # doubled letters, final -e
        (("Aghdam", "Ağdam", "Akdam"), True),  # gh/ğ/k
        (("Stepʻanakert", "Stepanakert"), True),  # apostrophes of aspiration
        (("Goris", "Garis"), False),
        (("Kapan", "Kaban"), False),  # p and b stay apart
        (("Sisian", "Sevan"), False),
    ],
)
def test_family_keys_meet_across_transliterations(spellings: tuple[str, ...], same: bool) -> None:
    keys = [set(family_keys(s)) for s in spellings]
    assert all(k & keys[0] for k in keys) is same, keys


def test_a_schwa_is_read_a_and_e() -> None:
    """Kəlbəcər is Kalbajar in English and Kelbedjer in French."""
    assert set(family_keys("Kəlbəcər")) == set(family_keys("Kalbajar")) | set(family_keys("Kelbedjer"))


def theatre(
    id: str, name: str, *, lat: str, lon: str, names: str = "", country: str = "AM"
) -> dict[str, str]:
    return {**row(id, name, lat=lat, lon=lon, names=names), "country": country}


def test_variant_needs_five_letters_on_both_sides() -> None:
    gaz = Gazetteer.from_rows(
        [theatre("a", "Tegh", lat="39.55", lon="46.48"), theatre("b", "Kornidzor", lat="39.5", lon="46.4")]
    )
    assert gaz.lookup_variant("Tekh") is None  # too short to guess
    assert gaz.lookup_variant("Kornidzore").places[0].id == "b"  # type: ignore[union-attr]


def test_variant_never_from_a_stop_name_or_a_listed_french_word() -> None:
    rows = [theatre("a", "Panik", lat="40.1", lon="44.0"), theatre("b", "Susha", lat="39.7", lon="46.7")]
    gaz = Gazetteer.from_rows(rows, stop=frozenset({"souche"}), variant_stop=frozenset({"panique"}))
    assert gaz.lookup_variant("Souche") is None
    assert gaz.lookup_variant("Panique") is None
    assert [p.id for p in gaz.lookup_variant("Paniq").places] == ["a"]  # type: ignore[union-attr]
    assert [p.id for p in gaz.lookup_variant("Soucha").places] == ["b"]  # type: ignore[union-attr]


def test_variant_far_apart_places_need_one_to_stand_out() -> None:
    """Two villages of different names 150 km apart that a spelling joins: no guess; when one is
    named by several spellings of the family and the other by one old name, the first."""
    far = [
        theatre("a", "Gizilhajili", lat="40.58", lon="46.86", names="Gizilhajili|Qızılhacılı|Kyzylgadzhily"),
        theatre("b", "Mets Sepasar", lat="41.05", lon="43.83", names="Mets Sepasar|Gizilhajili"),
    ]
    assert [p.id for p in Gazetteer.from_rows(far).lookup_variant("Gyzylhadjily").places] == ["a"]  # type: ignore[union-attr]
    tie = [far[0], {**far[1], "names": "Mets Sepasar|Gizilhajili|Qızılhacılı|Kyzylgadzhily"}]
    assert Gazetteer.from_rows(tie).lookup_variant("Gyzylhadjily") is None


def test_variant_keeps_a_town_and_its_district_together() -> None:
    rows = [
        theatre("town", "Aghdam", lat="39.99", lon="46.93", country="AZ", names="Aghdam|Ağdam"),
        {**theatre("district", "Aghdam District", lat="39.99", lon="46.93", country="AZ"), "kind": "district",
         "names": "Aghdam District|Aghdam|Ağdam"},
    ]  # fmt: skip
    match = Gazetteer.from_rows(rows).lookup_variant("Akdam")
    assert match is not None and {p.id for p in match.places} == {"town", "district"}
    assert "Aghdam" in match.names and match.reason.startswith("skeleton: spelling variant of")


def test_no_family_matching_for_cities_abroad() -> None:
    """A city abroad is left to the world tier, which knows its spellings (Krasnodar was found for
    "Novorossiïsk" through one odd GeoNames alternate)."""
    gaz = Gazetteer.from_rows(
        [{**row("ru", "Krasnodar", lat="45.0", lon="39.0", names="Krasnodar|Novorosyisk"), "country": "RU",
          "kind": "city"}]
    )  # fmt: skip
    assert gaz.lookup("Novorossiïsk") == [] and gaz.lookup_variant("Novorossiïsk") is None


def test_istisu_stays_the_kalbajar_village(gazetteer: Gazetteer) -> None:
    """Jermuk's Azerbaijani name is also a living village of Kalbajar: the name is the village's."""
    assert {p.id for p in gazetteer.lookup("Istisu")} == {"gn-147969"}
    assert {p.id for p in gazetteer.lookup("İstisu")} == {"gn-147969"}
    assert {p.id for p in gazetteer.lookup("Isti-Su")} == {"gn-174884"}  # Jermuk's hyphenated old name
    assert {p.id for p in gazetteer.lookup("Jermuk")} == {"gn-174884"}


@pytest.mark.parametrize(
    ("name", "place"),
    [
        ("Stepanakert", "gn-146970"),
        ("Shushi", "gn-147105"),
        ("Berdzor", "gn-147625"),
        ("Karvachar", "gn-586268"),
        ("Kovsakan", "gn-146901"),
        ("Kashunik", "gn-147305"),
        ("Jrakan", "gn-148141"),
        ("Varanda", "gn-148106"),
        ("Akna", "gn-148619"),
        ("Mijnavan", "gn-147504"),
        ("Ivanyan", "gn-147774"),
        ("Askeran", "gn-148450"),
        ("Martakert", "village-martakert"),
        ("Basarkeçər", "gn-616108"),
        ("Qarakilsə", "gn-174763"),
        ("Gərus", "gn-174895"),
        ("Qafan", "gn-174875"),
        ("Mığrı", "gn-174823"),
        ("Keşişkənd", "gn-174710"),
        ("Axta", "gn-616629"),
        ("Hamamlı", "gn-616199"),
        ("Uluxanlı", "gn-616435"),
        ("Qəmərli", "gn-174979"),
    ],
)
def test_both_sides_names(gazetteer: Gazetteer, name: str, place: str) -> None:
    """The Armenian names of Karabakh's places and the Azerbaijani names of Armenia's towns."""
    assert place in {p.id for p in gazetteer.lookup(name)}


def test_stop_names_file_lists_variant_stops(gazetteer: Gazetteer) -> None:
    """stop_names.txt's ``~word`` lines: French words kept from variants, yet not stop names."""
    assert {"souche", "panique", "tartare"} <= gazetteer.variant_stop
    assert not gazetteer.variant_stop & gazetteer.stop


# --- physical features among the curated names -------------------------------------------------

PHYSICAL_HEADER = "id,name,name_fr,kind,lat,lon,names,scalerank,course\n"


def test_physical_rows_take_generic_forms_always_and_bare_names_of_major_features(tmp_path: Path) -> None:
    from geomap.gazetteer import physical_rows

    path = tmp_path / "physical.csv"
    path.write_text(
        PHYSICAL_HEADER
        + "ne-lake-grand,Grand Lake,lac de Grandval,lake,40.0,40.0,Grandval,7,\n"  # minor: generic form only
        + "ne-river-major,Majorriver,Majeure,river,41.0,41.0,Majorstrom,2,\n"  # major: every name
        + "ne-river-taken,Villeneuve,,river,42.0,42.0,,1,\n"  # a curated place's name stays its own
        + "ne-river-word,Orange,fleuve Orange,river,43.0,43.0,,2,\n"  # a common word: generic form only
        + "ne-basin-minor,Minorbasin,,basin,44.0,44.0,,6,\n",  # minor, no generic form: left out
        encoding="utf-8",
    )
    rows = physical_rows(path, taken={"villeneuve"}, never=frozenset({"orange"}))
    names = {row["id"]: row["names"].split("|") for row in rows}
    assert names == {
        "ne-lake-grand": ["lac de Grandval"],
        "ne-river-major": ["Majeure", "Majorriver", "Majorstrom"],
        "ne-river-word": ["fleuve Orange"],
    }
    label = {row["id"]: row["name"] for row in rows}
    assert label["ne-lake-grand"] == "Lac de Grandval"
    assert label["ne-river-word"] == "Fleuve Orange"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Euphrate", "river"),
        ("l'Euphrate", "river"),
        ("Danube", "river"),
        ("Dniepr", "river"),
        ("lac de Van", "lake"),
        ("mont Ararat", "mountain"),
        ("monts Zagros", "mountain"),
        ("mer Caspienne", "sea"),
    ],
)
def test_physical_features_are_curated_names(gazetteer: Gazetteer, name: str, kind: str) -> None:
    assert [p.kind for p in gazetteer.lookup(name)] == [kind]
    surface = name.removeprefix("l'")
    assert surface in set(gazetteer.surface_names())  # the span ruler looks for it


@pytest.mark.parametrize(
    ("name", "place_id"),
    [("Van", "gn-298117"), ("Dnipro", "gn-709930"), ("Tigré", "et-tigray")],
)
def test_a_physical_name_leaves_a_curated_place_its_own(
    gazetteer: Gazetteer, name: str, place_id: str
) -> None:
    assert [p.id for p in gazetteer.lookup(name)] == [place_id]


@pytest.mark.parametrize("word", ["Tigre", "Orange", "Amour", "Nelson", "Lena", "Murray"])
def test_a_common_word_or_first_name_is_not_a_physical_feature(gazetteer: Gazetteer, word: str) -> None:
    """ "Tigre" is the common noun (a boxer's nickname), not Tigré without its accent nor the river;
    "Orange" a company, "Nelson" a first name."""
    assert gazetteer.lookup(word) == []
    assert gazetteer.lookup_variant(word) is None
    assert word not in set(gazetteer.surface_names())


def test_the_built_gazetteer_is_kept_in_the_cache_and_read_back_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second start reads the kept gazetteer, with the same places, names and indexes as a fresh
    load; a damaged copy is built again."""
    from geomap import gazetteer as module
    from geomap import userplaces

    monkeypatch.setenv(userplaces.CACHE_ENV, str(tmp_path))
    fresh = Gazetteer.load()
    first = module.load_kept()
    [kept] = (tmp_path / "gazetteer").glob("*.pickle")
    second = module.load_kept()
    for loaded in (first, second):
        assert loaded.places == fresh.places and loaded.index == fresh.index and loaded.stop == fresh.stop
    kept.write_bytes(b"damaged")
    assert module.load_kept().index == fresh.index
    assert kept.read_bytes() != b"damaged"


def test_the_source_digest_covers_every_file_the_gazetteer_is_built_from(tmp_path: Path) -> None:
    """The digest that names the kept gazetteer and the kept names' tokens changes with each file
    ``Gazetteer.load`` reads (physical.csv included); a gazetteer built from rows has none."""
    from geomap.gazetteer import PHYSICAL_FILE, data_dir, source_digest

    for name in ("places.csv", "stop_names.txt", PHYSICAL_FILE):
        (tmp_path / name).write_bytes((data_dir() / name).read_bytes())
    loaded = Gazetteer.load(tmp_path)
    assert loaded.source == source_digest(tmp_path) == source_digest(data_dir())
    seen = {loaded.source}
    for name in ("places.csv", "stop_names.txt", PHYSICAL_FILE):
        with (tmp_path / name).open("a", encoding="utf-8") as fh:
            fh.write("\n")
        seen.add(source_digest(tmp_path))
    assert len(seen) == 4
    assert Gazetteer.from_rows([]).source is None
