"""``geomap gazetteer import`` and ``info`` through click's CliRunner, in a cache folder of their own."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from geomap import userplaces
from geomap.cli import cli
from geomap.world import PhysicalFeatures, WorldTier, build_index


def invoke(*args: str | Path) -> Result:
    """Run ``geomap ARGS`` in-process; stdout and stderr stay apart."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def dump_line(gid: int, name: str, lat: str, lon: str, fclass: str, fcode: str, alternates: str = "") -> str:
    """A line of a GeoNames country dump (19 tab-separated columns)."""
    cols = [
        str(gid),
        name,
        name,
        alternates,
        lat,
        lon,
        fclass,
        fcode,
        "AZ",
        "",
        "",
        "",
        "",
        "",
        "0",
        "",
        "",
        "",
        "",
    ]
    return "\t".join(cols)


GOOD = [
    dump_line(9101, "Qaraqaya", "39.90", "46.70", "P", "PPL", "Karakaya,Qaraqaya kəndi"),
    dump_line(9102, "Hakari", "39.30", "46.60", "H", "STM", "Akera,Həkəri çayı"),
    dump_line(9103, "Murov Pass", "40.30", "46.70", "T", "PASS", "Murovdag Pass"),
]
BAD = "9104\tNo Coordinates\tNo Coordinates\t\tnorth\teast\tP\tPPL\tAZ" + "\t" * 10


@pytest.fixture(autouse=True)
def _user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv(userplaces.CACHE_ENV, str(cache))
    return cache


@pytest.fixture
def dump_zip(tmp_path: Path) -> Path:
    path = tmp_path / "AZ.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("AZ.txt", "\n".join(GOOD) + "\n")
        archive.writestr("readme.txt", "readme\n")
    return path


@pytest.fixture
def user_csv(tmp_path: Path) -> Path:
    path = tmp_path / "checkpoints.csv"
    path.write_text(
        "name,lat,lon,country,kind,alternatenames,population\n"
        "Poste Lima,39.51,45.60,AM,border_post,Lima|Point L,\n"
        "Broken,91,45.60,AM,border_post,,\n",
        encoding="utf-8",
    )
    return path


def test_import_reports_counts_and_exits_0_on_a_clean_file(dump_zip: Path) -> None:
    result = invoke("gazetteer", "import", dump_zip)
    assert result.exit_code == 0, result.output
    assert result.stdout == "AZ.zip: 3 places imported (geonames)\n"
    assert result.stderr == ""


def test_bad_lines_are_named_on_stderr_and_exit_3(tmp_path: Path, user_csv: Path) -> None:
    plain = tmp_path / "AZ.txt"
    plain.write_text("\n".join([GOOD[0], BAD, GOOD[1]]) + "\n", encoding="utf-8")
    result = invoke("gazetteer", "import", plain, user_csv)
    assert result.exit_code == 3
    assert result.stdout.splitlines() == [
        "AZ.txt: 2 places imported (geonames), 1 bad line skipped",
        "checkpoints.csv: 1 place imported (csv), 1 bad line skipped",
    ]
    assert "geomap: bad line skipped: AZ.txt:2: could not convert string to float: 'north'" in result.stderr
    assert (
        "geomap: bad line skipped: checkpoints.csv:3: coordinates out of range (91, 45.60)" in result.stderr
    )


def test_importing_again_says_what_it_replaced(dump_zip: Path) -> None:
    invoke("gazetteer", "import", dump_zip)
    result = invoke("gazetteer", "import", dump_zip)
    assert result.exit_code == 0
    assert result.stdout == "AZ.zip: 3 places imported (geonames), replacing 3\n"
    assert len(userplaces.imports()) == 1


def test_a_missing_file_is_skipped_and_the_others_imported(tmp_path: Path, dump_zip: Path) -> None:
    result = invoke("gazetteer", "import", tmp_path / "XX.zip", dump_zip)
    assert result.exit_code == 3
    assert "XX.zip: cannot read it" in result.stderr
    assert result.stdout == "AZ.zip: 3 places imported (geonames)\n"
    alone = invoke("gazetteer", "import", tmp_path / "YY.zip")
    assert alone.exit_code == 1
    assert "no file could be imported" in alone.stderr


def test_a_file_of_another_format_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "places.json"
    other.write_text("{}", encoding="utf-8")
    result = invoke("gazetteer", "import", other)
    assert result.exit_code == 1
    assert "not a GeoNames dump (.zip, .txt) nor a CSV file (.csv)" in result.stderr


def test_info_lists_the_imports_and_the_physical_features(dump_zip: Path, user_csv: Path) -> None:
    invoke("gazetteer", "import", dump_zip, user_csv)
    result = invoke("gazetteer", "info")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    imports = info["user_places"]["imports"]
    assert [(Path(i["file"]).name, i["format"], i["places"], i["bad_lines"]) for i in imports] == [
        ("AZ.zip", "geonames", 3, 0),
        ("checkpoints.csv", "csv", 1, 1),
    ]
    assert info["user_places"]["index"] == str(userplaces.default_path())
    physical = info["physical_features"]
    assert physical["features"] == sum(physical["by_kind"].values()) > 3000
    assert {"river", "lake", "sea", "mountain"} <= set(physical["by_kind"])


def test_info_without_imports(tmp_path: Path) -> None:
    info = json.loads(invoke("gazetteer", "info").stdout)
    assert info["user_places"]["imports"] == []
    assert not userplaces.default_path().exists()


def test_remove_by_file_name_and_unknown_names(dump_zip: Path, user_csv: Path) -> None:
    invoke("gazetteer", "import", dump_zip, user_csv)
    result = invoke("gazetteer", "import", "--remove", "checkpoints.csv")
    assert result.exit_code == 0
    assert result.stdout == "checkpoints.csv: 1 place removed\n"
    assert [i.file_name for i in userplaces.imports()] == ["AZ.zip"]
    unknown = invoke("gazetteer", "import", "--remove", "nothing.csv")
    assert unknown.exit_code == 1
    assert "nothing.csv: not among the imports" in unknown.stderr
    mixed = invoke("gazetteer", "import", "--remove", "nothing.csv", dump_zip)
    assert mixed.exit_code == 3
    assert userplaces.imports() == []


def test_imported_places_are_found_by_the_world_tier(tmp_path: Path, dump_zip: Path, user_csv: Path) -> None:
    cities = tmp_path / "cities500.json"
    cities.write_text("{}", encoding="utf-8")
    build_index(cities, tmp_path / "world.sqlite")
    invoke("gazetteer", "import", dump_zip, user_csv)
    tier = WorldTier(index_path=tmp_path / "world.sqlite", physical=PhysicalFeatures({}, {}))
    assert [(p.id, p.kind) for p in tier.candidates("Karakaya")] == [("gn-9101", "village")]
    assert [(p.id, p.kind) for p in tier.candidates("Akera")] == [("gn-9102", "river")]
    assert [p.kind for p in tier.candidates("Murovdag Pass")] == ["pass"]
    assert [(p.name, p.kind, p.country) for p in tier.candidates("Point L")] == [
        ("Poste Lima", "border_post", "AM")
    ]
    invoke("gazetteer", "import", "--remove", dump_zip)
    assert WorldTier(index_path=tmp_path / "world.sqlite").candidates("Karakaya") == []


# --- info and check on the shipped data ---------------------------------------------------------


def test_gazetteer_info() -> None:
    result = invoke("gazetteer", "info")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["places"] > 1000
    assert 0 < info["theatre_places"] <= info["places"]
    assert info["names"] >= info["keys"] > 0
    assert sum(info["by_kind"].values()) == info["places"]
    assert info["by_kind"]["country"] > 100


def test_gazetteer_check_passes_on_the_shipped_data() -> None:
    """The shipped gazetteer is sound: unique ids, normalised names, no common-word alias, valid
    geometries, every theatre point inside its country and its admin unit (or a documented exception)."""
    result = invoke("gazetteer", "check")
    assert result.exit_code == 0, result.output
    assert "gazetteer OK" in result.stdout
