"""``geomap build`` through click's CliRunner, on small articles written here: outputs,
languages, hostile text."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas
import pyogrio
import pytest
from cli_support import HOSTILE, OUTPUTS, flat_xy, invoke, load, write
from click.testing import Result

pytestmark = pytest.mark.usefixtures("keep_log_level")  # -q/-v set the logger's level

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
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in page  # JSON data, shown as text
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
