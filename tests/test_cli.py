"""The ``geomap`` command line, driven through click's CliRunner on small articles written here."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import geopandas
import pyogrio
import pytest
from click.testing import CliRunner, Result

from geomap.cli import cli

OUTPUTS = {"map.html", "incidents.geojson", "incidents.csv", "places.geojson", "summary.json"}
CONTRACT = {
    "doc",
    "start",
    "end",
    "text",
    "lang",
    "name",
    "place_id",
    "kind",
    "country",
    "lat",
    "lon",
    "source",
    "confidence",
}
GOOD = (
    "Le 14 septembre 2022\n"
    "Des affrontements ont éclaté à Kirants, faisant deux morts. "
    "Une frappe de drone a touché un poste près de Kut. Bakou a rejeté ces accusations.\n"
)
DATED = (
    "---\ntitle: Obus sur Berkaber\ndate: 2022-09-16\nurl: https://example.org/berkaber\n---\n"
    "Des obus sont tombés sur Berkaber mardi. Un cessez-le-feu est entré en vigueur à Chakaten.\n"
)
ENGLISH = (
    "---\ntitle: Shelling hits Sotk and Kut\ndate: 2022-09-14\n---\n"
    "YEREVAN, Sept. 14 - Azerbaijani forces shelled Sotk overnight, killing two soldiers, the defence "
    "ministry in Yerevan said on Wednesday. A drone strike also hit a post near Kut, it said. Baku said "
    "its troops had responded to provocations.\n"
)
HOSTILE = (
    '---\ntitle: "<img src=x onerror=alert(2)>"\nurl: "javascript:alert(3)"\n---\n'
    "Des combats ont éclaté à Kirants, où un témoin a écrit <script>alert(1)</script> sur un mur.\n"
)


def invoke(*args: str | Path, catch: bool = False) -> Result:
    """Run ``geomap ARGS`` in-process; stdout and stderr stay apart."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=catch)


def write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def flat_xy(geometry) -> list[float]:
    """x0, y0, x1, y1, ... of a GeoSeries of points."""
    return [c for p in geometry for c in (p.x, p.y)]


@pytest.fixture(scope="module", autouse=True)
def _keep_log_level():
    """-q/-v set the "geomap" logger's level; give other test modules theirs back."""
    logger = logging.getLogger("geomap")
    level = logger.level
    yield
    logger.setLevel(level)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a plain text article and a Markdown article with front matter."""
    folder = tmp_path_factory.mktemp("articles")
    write(folder, "good.txt", GOOD)
    write(folder, "dated.md", DATED)
    return folder


@pytest.fixture(scope="module")
def built(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """One ``geomap build INPUTS --out OUT --offline`` run shared by the output checks."""
    out = tmp_path_factory.mktemp("maps") / "out"
    return invoke("build", inputs, "--out", out, "--offline"), out


# --- help -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["build", "--help"], ["extract", "--help"]])
def test_help(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


def test_top_help_lists_subcommands_and_verbosity() -> None:
    text = invoke("--help").stdout
    assert "build" in text and "extract" in text
    assert "--quiet" in text and "--verbose" in text


def test_subcommand_help_documents_options() -> None:
    assert "--out" in invoke("build", "--help").stdout
    assert "--format" in invoke("extract", "--help").stdout


# --- extract --------------------------------------------------------------------------------------


def test_extract_prints_the_mention_contract(inputs: Path) -> None:
    good, dated = inputs / "good.txt", inputs / "dated.md"
    result = invoke("extract", good, dated, "--format", "jsonl", "--offline")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records
    sources = {"good": good.read_text(encoding="utf-8"), "dated": dated.read_text(encoding="utf-8")}
    for record in records:
        assert set(record) == CONTRACT
        assert record["lang"] == "fr"
        assert record["text"] == sources[record["doc"]][record["start"] : record["end"]]
        assert 0 <= record["confidence"] <= 1
        if record["place_id"] is not None:
            assert record["source"] == "gazetteer"
            assert -90 <= record["lat"] <= 90 and -180 <= record["lon"] <= 180
    names = {(r["doc"], r["text"], r["place_id"]) for r in records}
    assert ("good", "Kirants", "village-kirants") in names
    assert ("dated", "Berkaber", "village-berkaber") in names


def test_a_folder_mixing_french_and_english_maps_both(tmp_path: Path) -> None:
    """Each article is read in its own language (detected here: no page declares one): the French
    one with the French pack, the English one with the English pack, into one map."""
    folder = tmp_path / "mixed"
    write(folder, "fr.txt", GOOD)
    write(folder, "en.md", ENGLISH)
    out = tmp_path / "maps"
    result = invoke("build", folder, "--out", out, "--offline")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["languages"] == {"en": 1, "fr": 1}
    features = json.loads((out / "incidents.geojson").read_text(encoding="utf-8"))["features"]
    found = {
        (f["properties"]["doc"], f["properties"]["place"], f["properties"]["sub_event_type"])
        for f in features
    }
    assert ("fr", "Kirants", "Armed clash") in found
    assert ("en", "Sotk", "Shelling/artillery/missile attack") in found
    assert ("en", "Kut", "Air/drone strike") in found
    english = [f["properties"] for f in features if f["properties"]["doc"] == "en"]
    assert {p["date"] for p in english} == {"2022-09-14"}
    assert {p["fatalities"] for p in english if p["place"] == "Sotk"} == {2}
    assert not {p["place"] for p in english} & {"Yerevan", "Baku"}  # capitals that speak are no scenes
    mentions = [json.loads(line) for line in invoke("extract", folder, "--offline").stdout.splitlines()]
    assert {(m["doc"], m["lang"]) for m in mentions} == {("fr", "fr"), ("en", "en")}


def test_lang_reads_every_article_in_the_language_it_names(tmp_path: Path) -> None:
    """``--lang`` overrides the detector; ``auto`` (the default) keeps each article's own."""
    article = write(tmp_path / "in", "en.txt", ENGLISH.split("---\n", 2)[2])
    forced = [
        json.loads(line)
        for line in invoke("extract", article, "--offline", "--lang", "fr").stdout.splitlines()
    ]
    assert forced and {m["lang"] for m in forced} == {"fr"}
    auto = [json.loads(line) for line in invoke("extract", article, "--offline").stdout.splitlines()]
    assert auto and {m["lang"] for m in auto} == {"en"}
    refused = invoke("extract", article, "--offline", "--lang", "de")
    assert refused.exit_code == 2 and "--lang" in refused.stderr


def test_extract_needs_an_input() -> None:
    result = invoke("extract", "--format", "jsonl")
    assert result.exit_code == 2


# --- build ----------------------------------------------------------------------------------------


def test_build_writes_every_output(built: tuple[Result, Path]) -> None:
    result, out = built
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= OUTPUTS
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert "2 articles" in result.stderr


@pytest.mark.parametrize("name", ["incidents.geojson", "places.geojson"])
def test_geojson_outputs_open_in_geopandas(built: tuple[Result, Path], name: str) -> None:
    _, out = built
    raw = load(out / name)
    frame = geopandas.read_file(out / name)
    assert len(frame) == len(raw["features"]) > 0
    assert frame.crs.to_epsg() == 4326
    coords = [c for f in raw["features"] for c in f["geometry"]["coordinates"]]
    assert flat_xy(frame.geometry) == pytest.approx(coords)


@pytest.mark.filterwarnings("ignore:Could not parse column")  # list-of-objects properties stay strings
@pytest.mark.parametrize("driver, suffix", [("GPKG", "gpkg"), ("GeoJSON", "geojson")])
@pytest.mark.parametrize("name", ["incidents.geojson", "places.geojson"])
def test_geojson_outputs_round_trip_through_pyogrio(
    built: tuple[Result, Path], tmp_path: Path, name: str, driver: str, suffix: str
) -> None:
    _, out = built
    frame = geopandas.read_file(out / name)
    copy = tmp_path / f"copy.{suffix}"
    pyogrio.write_dataframe(frame, copy, driver=driver)
    back = pyogrio.read_dataframe(copy)
    assert len(back) == len(frame)
    assert flat_xy(back.geometry) == pytest.approx(flat_xy(frame.geometry))
    assert list(back["place_id"]) == list(frame["place_id"])


def test_incidents_are_placed_where_they_happened(built: tuple[Result, Path]) -> None:
    _, out = built
    props = [f["properties"] for f in load(out / "incidents.geojson")["features"]]
    found = {(p["doc"], p["sub_event_type"], p["place_id"]) for p in props}
    assert ("good", "Armed clash", "village-kirants") in found
    assert ("good", "Air/drone strike", "village-kut") in found
    assert ("dated", "Shelling/artillery/missile attack", "village-berkaber") in found
    assert ("dated", "Ceasefire/agreement", "village-chakaten") in found
    assert all(p["place_id"] != "gn-587084" for p in props)  # Baku only rejected accusations


def test_csv_has_a_row_per_incident(built: tuple[Result, Path]) -> None:
    _, out = built
    lines = (out / "incidents.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,doc,event_type,sub_event_type,date")
    assert len(lines) - 1 == len(load(out / "incidents.geojson")["features"])


def test_summary_has_counts_and_timings(built: tuple[Result, Path]) -> None:
    _, out = built
    summary = load(out / "summary.json")
    assert summary["articles"] == 2
    assert summary["incidents"] == len(load(out / "incidents.geojson")["features"])
    assert summary["places"] == len(load(out / "places.geojson")["features"])
    assert summary["mentions"] >= summary["resolved_mentions"] > 0
    assert sum(summary["incidents_by_type"].values()) == summary["incidents"]
    assert summary["problems"] == []
    assert {"ingest_s", "nlp_resolve_incidents_s", "outputs_s", "total_s"} <= set(summary["timings"])
    assert all(isinstance(v, int | float) and v >= 0 for v in summary["timings"].values())


# --- exit codes -----------------------------------------------------------------------------------


def test_bad_input_among_good_ones_exits_3_and_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder, "good.txt", GOOD)
    write(folder, "broken.txt", b"\x00\x01\x02binary")
    out = tmp_path / "out"
    result = invoke("build", folder, tmp_path / "missing.txt", "--out", out, "--offline")
    assert result.exit_code == 3
    assert "broken.txt" in result.stderr and "missing.txt" in result.stderr
    assert {p.name for p in out.iterdir()} >= OUTPUTS
    docs = {f["properties"]["doc"] for f in load(out / "incidents.geojson")["features"]}
    assert docs == {"good"}
    assert len(load(out / "summary.json")["problems"]) == 2


def test_jsonl_record_with_lone_surrogate_is_skipped_not_fatal(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "ok", "text": "Des combats ont éclaté à Kirants."}),
        '{"id": "bad", "text": "Des combats ont éclaté à Kut \\ud800."}',
    ]
    source = write(tmp_path / "in", "lot.jsonl", "\n".join(lines) + "\n")
    out = tmp_path / "out"
    result = invoke("build", source, "--out", out, "--offline", catch=True)
    assert result.exit_code == 3
    assert "lot.jsonl" in result.stderr
    assert {f["properties"]["doc"] for f in load(out / "incidents.geojson")["features"]} == {"ok"}


def test_only_bad_inputs_exit_1_and_write_nothing(tmp_path: Path) -> None:
    bad = write(tmp_path / "in", "broken.txt", b"\x00\x00")
    out = tmp_path / "out"
    result = invoke("build", bad, "--out", out, "--offline")
    assert result.exit_code == 1
    assert "broken.txt" in result.stderr
    assert not (out / "map.html").exists()


def test_extract_with_only_bad_inputs_exits_1(tmp_path: Path) -> None:
    result = invoke("extract", tmp_path / "absent.txt", "--offline")
    assert result.exit_code == 1
    assert "absent.txt" in result.stderr
    assert result.stdout == ""


def test_build_without_input_or_seeds_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("build", "--offline")
    assert result.exit_code == 2
    assert "no INPUT" in result.stderr and "seeds" in result.stderr
    assert not (tmp_path / "maps").exists()


def test_unknown_option_is_a_usage_error() -> None:
    assert invoke("build", "--no-such-option").exit_code == 2


# --- verbosity ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_before_or_after_the_subcommand(inputs: Path, tmp_path: Path, where: str) -> None:
    args = ["build", inputs / "good.txt", "--out", tmp_path / "out", "--offline"]
    args = ["-q", *args] if where == "before" else [*args, "-q"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (tmp_path / "out" / "map.html").exists()


# --- hostile article ------------------------------------------------------------------------------


def test_map_escapes_a_hostile_article(tmp_path: Path) -> None:
    source = write(tmp_path / "in", "evil.md", HOSTILE)
    out = tmp_path / "out"
    result = invoke("build", source, "--out", out, "--offline", "--title", "<b onclick=alert(4)>Carte</b>")
    assert result.exit_code == 0, result.output
    incidents = load(out / "incidents.geojson")["features"]
    assert incidents and "<script>alert(1)</script>" in incidents[0]["properties"]["evidence"]
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "<b onclick" not in page and "&lt;b onclick=alert(4)&gt;Carte&lt;/b&gt;" in page
    assert "javascript:" not in page


def test_map_does_not_run_template_placeholders_from_an_article(tmp_path: Path) -> None:
    text = "Des combats ont éclaté à Kirants, où un tag disait ${alert(1)} sur un mur.\n"
    source = write(tmp_path / "in", "tpl.txt", text)
    out = tmp_path / "out"
    assert invoke("build", source, "--out", out, "--offline").exit_code == 0
    assert load(out / "incidents.geojson")["features"]
    page = (out / "map.html").read_text(encoding="utf-8")
    assert re.search(r"(?<!\\)\$\{alert\(1\)\}", page) is None
