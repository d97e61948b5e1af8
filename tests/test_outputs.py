"""The GIS outputs of ``geomap build``: zones, the GeoPackage, the static picture, GeoJSON sequences."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import pickle
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyogrio
import pytest
from click.testing import CliRunner

from geomap import __version__
from geomap.cli import cli
from geomap.errors import NoArticleError, OutputError
from geomap.export import FIELD_TYPES, LAYER_SPECS, output_lock
from geomap.maps import COLOURS
from geomap.outputs import Pictures, recover, write_outputs

ARTICLE = """---
title: Tirs à la frontière
date: 2022-09-14
url: https://example.org/tirs
---
Des tirs d'artillerie ont visé le village de Tegh mardi, selon le ministère arménien de la Défense.
Deux soldats ont été blessés lors d'affrontements près de Sotk.
La situation reste tendue à Erevan, a déclaré le gouvernement.
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("outputs")
    (root / "in").mkdir()
    (root / "in" / "tirs.md").write_text(ARTICLE, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["build", str(root / "in"), "--out", str(root / "out"), "--offline", "--png", "-q"]
    )
    assert result.exit_code == 0, result.output
    return root / "out"


PNG = Pictures(formats=("png",))


def test_geopackage_has_every_layer_and_each_reads_back(built: Path) -> None:
    layers = dict(pyogrio.list_layers(built / "geomap.gpkg"))
    assert layers == {
        "incidents": "Point",
        "places": "Point",
        "border": "MultiLineString",
        "zones": "MultiPolygon",
        "sectors": "MultiPolygon",
        "layer_styles": None,  # QGIS's styles table
    }
    incidents = json.loads((built / "incidents.geojson").read_text(encoding="utf-8"))["features"]
    frame = pyogrio.read_dataframe(built / "geomap.gpkg", layer="incidents", fid_as_index=True)
    assert len(frame) == len(incidents) > 0
    assert [int(i, 16) for i in frame["id"]] == frame.index.tolist()  # the fid is the incident's id
    assert len(pyogrio.read_dataframe(built / "geomap.gpkg", layer="sectors")) > 10


def test_incidents_at_border_villages_get_a_distance_a_zone_and_a_sector(built: Path) -> None:
    features = json.loads((built / "incidents.geojson").read_text(encoding="utf-8"))["features"]
    by_place = {f["properties"]["place"]: f["properties"] for f in features}
    tegh = by_place["Tegh"]
    assert tegh["distance_km"] is not None and tegh["distance_km"] < 10
    assert tegh["zone"] in ("0–5 km", "5–10 km")
    assert tegh["sector"] and tegh["sector"].startswith("Syunik–")
    assert "Yerevan" not in by_place  # a capital that only speaks


def test_border_zones_and_sectors_have_a_file_each_with_one_geometry_type(built: Path) -> None:
    expected = {"border": "MultiLineString", "zones": "MultiPolygon", "sectors": "MultiPolygon"}
    for name, geometry_type in expected.items():
        collection = json.loads((built / f"{name}.geojson").read_text(encoding="utf-8"))
        assert collection["type"] == "FeatureCollection" and collection["name"] == name
        assert {f["geometry"]["type"] for f in collection["features"]} == {geometry_type}
        assert len({tuple(f["properties"]) for f in collection["features"]}) == 1  # same attributes
    sectors = json.loads((built / "sectors.geojson").read_text(encoding="utf-8"))["features"]
    counted = sum(f["properties"]["incidents"] for f in sectors)
    incidents = json.loads((built / "incidents.geojson").read_text(encoding="utf-8"))["features"]
    assert counted == sum(1 for f in incidents if f["properties"]["sector"])
    assert all(json.loads(f["properties"]["units"])[0].startswith("am-") for f in sectors)  # JSON text


def test_png_is_a_real_picture(built: Path) -> None:
    data = (built / "map.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_map_is_self_contained(built: Path) -> None:
    html = (built / "map.html").read_text(encoding="utf-8")
    assert "<script src=" not in html and 'rel="stylesheet" href=' not in html
    assert "L.markerClusterGroup" in html


def test_bad_zone_widths_are_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["build", str(tmp_path), "--zone-km", "10,5", "--offline"])
    assert result.exit_code == 2
    assert "--zone-km" in result.output


def test_geojson_sequence_with_record_separators(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Des obus sont tombés sur Jermuk.", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["extract", str(tmp_path / "a.txt"), "--format", "geojsonseq", "--rs", "--offline"]
    )
    assert result.exit_code == 0, result.output
    records = [r for r in result.output.split("\x1e") if r.strip()]
    assert records and result.output.startswith("\x1e")
    features = [json.loads(r) for r in records]
    assert all(f["type"] == "Feature" and f["geometry"]["type"] == "Point" for f in features)
    lon, lat = features[0]["geometry"]["coordinates"]
    assert 45 < lon < 46.5 and 39 < lat < 40.5  # Jermuk, in [lon, lat] order


# --- the library's build, what the command line calls ---------------------------------------------


def test_the_librarys_build_writes_what_the_command_writes(
    built: Path, tmp_path: Path, comparable: Callable[[Path], dict[str, bytes]]
) -> None:
    from geomap import build

    done = build.run([built.parent / "in"], tmp_path / "out", options=build.BuildOptions(pictures=PNG))
    assert comparable(tmp_path / "out") == comparable(built)
    assert set(done.written) == {p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["settings"] == json.loads((built / "summary.json").read_text(encoding="utf-8"))["settings"]
    assert summary["timings"]["total_s"] > 0


def test_pictures_drawn_in_a_process_of_their_own_are_the_same(
    built: Path, tmp_path: Path, comparable: Callable[[Path], dict[str, bytes]]
) -> None:
    """With two workers the static map, the timeline and the report are drawn beside the other
    outputs, in a second process: the same files."""
    from geomap import build

    options = build.BuildOptions(pictures=PNG, workers=2)
    done = build.run([built.parent / "in"], tmp_path / "out", options=options)
    assert comparable(tmp_path / "out") == comparable(built)
    assert {"map.png", "timeline.png", "report.html"} <= {p.name for p in done.written}


def test_a_picture_that_cannot_be_written_leaves_the_previous_outputs(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error while the pictures are drawn in their own process stops the run like one here: the
    message names the problem, nothing is swapped in, no staging folder is left."""
    import shutil

    from geomap import build, static_map

    out = tmp_path / "out"
    shutil.copytree(built, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name[0] != "."}

    def broken(*args: object, **kwargs: object) -> None:
        raise OutputError("the static map cannot be drawn here")

    monkeypatch.setattr(static_map, "draw", broken)  # the forked process inherits it
    with pytest.raises(OutputError, match="the static map cannot be drawn here"):
        build.run([built.parent / "in"], out, options=build.BuildOptions(pictures=PNG, workers=2, full=True))
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name[0] != "."} == before
    assert not (out / ".geomap-staging").exists()


def test_a_build_with_no_article_writes_nothing_and_says_why(tmp_path: Path) -> None:
    from geomap import build

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(NoArticleError) as raised:
        build.run([tmp_path / "in"], tmp_path / "out")
    assert raised.value.problems and "empty.txt" in raised.value.problems[0]
    assert not (tmp_path / "out" / "summary.json").exists()


def test_a_missing_offline_asset_is_a_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geomap import maps

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "tirs.md").write_text(ARTICLE, encoding="utf-8")
    monkeypatch.setattr("offlinefolium.elements._res", {})  # an install whose asset package lacks files
    maps._offline_assets.cache_clear()
    try:
        done = CliRunner().invoke(
            cli, ["build", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--offline", "--no-report"]
        )
    finally:
        maps._offline_assets.cache_clear()
    assert done.exit_code == 1, done.output
    assert "no offline copy of https://" in done.output and "Traceback" not in done.output
    assert isinstance(done.exception, SystemExit)


LOCK_HOLDER = """
import sys, time
from geomap.export import output_lock

with output_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_second_writer_waits_for_the_first_to_release_the_folder(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(tmp_path / "out"), "1.5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        started = time.monotonic()
        with output_lock(tmp_path / "out"):
            waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert waited > 0.5
    with output_lock(tmp_path / "out"):  # released: taken at once, by this process again
        pass


# --- one run's outputs, swapped in together ------------------------------------------------------

KILLER = """
import os, pickle, signal, sys
from geomap import outputs

result = pickle.loads(open(sys.argv[1], "rb").read())
where, after = sys.argv[3], int(sys.argv[4])
calls = 0

def kill_on(module, name):
    real = getattr(module, name)

    def counted(*args, **kwargs):
        global calls
        calls += 1
        if calls > after:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)

    setattr(module, name, counted)

if where == "gpkg":  # inside the GeoPackage writer, between two of its layers
    import pyogrio.raw
    kill_on(pyogrio.raw, "write")
else:  # among the renames that swap the staged files in
    kill_on(outputs.os, "replace")
outputs.write_outputs(result, outputs.Path(sys.argv[2]))
"""


def _manifest_holds(out: Path) -> dict[str, object]:
    """The summary's manifest, checked against every file it lists."""
    manifest = json.loads((out / "summary.json").read_text(encoding="utf-8"))["outputs"]
    for name, described in manifest.items():
        data = (out / name).read_bytes()
        assert described == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}, name
    return manifest


@pytest.fixture(scope="module")
def two_runs(pipeline, tmp_path_factory: pytest.TempPathFactory):  # -> (first Result, second Result)
    root = tmp_path_factory.mktemp("two-runs")
    (root / "a.md").write_text(ARTICLE, encoding="utf-8")
    (root / "b.txt").write_text(
        "Des drones ont frappé le village de Sotk jeudi ; trois civils ont été tués.", encoding="utf-8"
    )
    return pipeline.run([root / "a.md"]), pipeline.run([root / "a.md", root / "b.txt"])


def _killed_while_writing(second, out: Path, where: str, after: int, scratch: Path) -> None:
    (scratch / "result.pickle").write_bytes(pickle.dumps(second))
    done = subprocess.run(
        [sys.executable, "-c", KILLER, str(scratch / "result.pickle"), str(out), where, str(after)],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]


def test_a_run_killed_inside_the_geopackage_leaves_the_previous_outputs_whole(
    two_runs, tmp_path: Path
) -> None:
    first, second = two_runs
    out = tmp_path / "out"
    write_outputs(first, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    _killed_while_writing(second, out, "gpkg", 1, tmp_path)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert after == before  # not one file of the killed run among them
    _manifest_holds(out)
    recover(out)  # what the next run does first
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".geomap.lock"]


def test_a_run_killed_while_swapping_is_finished_by_the_next(two_runs, tmp_path: Path) -> None:
    first, second = two_runs
    out = tmp_path / "out"
    staged = len(write_outputs(first, out))  # each staged by a rename, as the marker is
    old_map = (out / "map.html").read_bytes()
    _killed_while_writing(second, out, "swap", staged + 1 + 2, tmp_path)  # then 2 renames into OUT
    assert (out / ".geomap-staging" / "COMPLETE").exists()
    # Killed halfway: a new map beside the old summary, until the next run finishes the swap.
    assert (out / "map.html").read_bytes() != old_map
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["articles"] == 1
    recover(out)
    manifest = _manifest_holds(out)
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["articles"] == 2
    assert set(manifest) == {p.name for p in out.iterdir() if not p.name.startswith(".")} - {"summary.json"}
    assert not (out / ".geomap-staging").exists()


def test_stray_temporaries_and_stale_outputs_of_earlier_runs_are_removed(two_runs, tmp_path: Path) -> None:
    first, _ = two_runs
    out = tmp_path / "out"
    write_outputs(first, out, pictures=Pictures(formats=("png",)))
    assert (out / "map.png").exists()
    strays = [out / ".map.html.k3j2.tmp", out / ".geomap.gpkg.x1y2.gpkg"]
    for stray in strays:
        stray.write_bytes(b"left by a killed run")
    (out / ".geomap-staging").mkdir()
    (out / ".geomap-staging" / "map.html").write_text("half")  # no COMPLETE marker: unfinished
    notes = out / "notes.txt"
    notes.write_text("the user's own file")
    written = write_outputs(first, out)  # no --png this time: the old picture is not this run's
    assert not any(stray.exists() for stray in strays)
    assert not (out / "map.png").exists() and notes.exists()
    assert set(_manifest_holds(out)) | {"summary.json"} == {p.name for p in written}


def test_a_full_disk_keeps_the_previous_outputs_and_names_the_folder(tmp_path: Path, tmpfs) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "tirs.md").write_text(ARTICLE, encoding="utf-8")
    with tmpfs(tmp_path / "disk", "6m") as disk:
        out = disk / "maps"
        first = CliRunner().invoke(cli, ["build", str(tmp_path / "in"), "--out", str(out), "--offline", "-q"])
        assert first.exit_code == 0, first.output
        before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
        # Room for the small files but not for a new map.html: not for a second set of outputs either.
        room = len(before["map.html"]) // 2
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        (disk / "filler").write_bytes(b"\0" * (free - room))
        again = CliRunner().invoke(
            cli, ["build", str(tmp_path / "in"), "--out", str(out), "--offline", "--title", "a new title"]
        )
        assert again.exit_code == 1
        assert f"cannot write the outputs into {out}: No space left on device" in again.output
        assert "Traceback" not in again.output and not isinstance(again.exception, OSError)
        now = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name[0] != "."}
        assert now == {n: d for n, d in before.items() if n[0] != "."}
        assert not (out / ".geomap-staging").exists()


def test_a_read_only_output_folder_is_named(tmp_path: Path, tmpfs) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "tirs.md").write_text(ARTICLE, encoding="utf-8")
    with tmpfs(tmp_path / "disk", "1m", read_only=True) as disk:
        done = CliRunner().invoke(cli, ["build", str(tmp_path / "in"), "--out", str(disk), "--offline"])
    assert done.exit_code == 1
    assert str(disk) in done.output and "Read-only file system" in done.output
    assert "Traceback" not in done.output and not isinstance(done.exception, OSError)


def test_articles_jsonl_keeps_the_text_offsets_refer_to(built: Path) -> None:
    articles = [
        json.loads(line) for line in (built / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [a["id"] for a in articles] == ["tirs"]
    assert articles[0]["date"] == "2022-09-14" and articles[0]["url"] == "https://example.org/tirs"
    text = articles[0]["text"]
    for incident in json.loads((built / "incidents.geojson").read_text(encoding="utf-8"))["features"]:
        assert incident["properties"]["mention"] in text


# --- typed, styled and described layers, read back by GDAL's own tools ---------------------------

ALL_FORMATS = ("gpkg", "geojson", "csv", "fgb", "parquet", "kml")
SETTINGS = {"zone_km": [5.0, 10.0, 20.0], "world": True, "geocoder": "offline"}
# What ogrinfo calls each field type; FlatGeobuf has no date type (GDAL writes a DateTime there).
OGR_TYPES = {"str": "String", "int": "Integer", "float": "Real", "date": "Date", "json": "String"}
# The geometry type ogrinfo gives each layer once converted: a shapefile has no Multi types of its own.
SHAPEFILE_TYPES = {"Point": "Point", "MultiLineString": "Line String", "MultiPolygon": "Polygon"}
OGRINFO_TYPES = {"Point": "Point", "MultiLineString": "Multi Line String", "MultiPolygon": "Multi Polygon"}
# Debian's python3-gdal ships GDAL's GeoPackage validator there; GDAL_VALIDATE_GPKG may name another.
VALIDATE_GPKG = [
    Path(os.environ.get("GDAL_VALIDATE_GPKG", "/nonexistent")),
    Path("/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py"),
    Path("/usr/share/doc/python3-gdal/examples/validate_gpkg.py"),
]
needs_ogrinfo = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's tools (gdal-bin) absent")


@pytest.fixture(scope="module")
def every_format(pipeline, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run over two articles (one with fatalities) written in every format."""
    root = tmp_path_factory.mktemp("formats")
    (root / "a.md").write_text(ARTICLE, encoding="utf-8")
    (root / "b.txt").write_text(
        "Des drones ont frappé le village de Sotk le 13 septembre 2022 ; trois civils ont été tués.",
        encoding="utf-8",
    )
    result = pipeline.run([root / "a.md", root / "b.txt"])
    write_outputs(result, root / "out", formats=ALL_FORMATS, settings=SETTINGS)
    return root / "out"


def ogrinfo(path: Path) -> tuple[dict[str, dict[str, Any]], str]:
    """``ogrinfo -al -so path`` parsed: each layer's geometry, feature count and field types; stderr."""
    done = subprocess.run(["ogrinfo", "-al", "-so", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    layers: dict[str, dict[str, Any]] = {}
    layer: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        if line.startswith("Layer name: "):
            layer = layers.setdefault(line.removeprefix("Layer name: "), {"fields": {}})
        elif line.startswith("Geometry: "):
            layer["geometry"] = line.removeprefix("Geometry: ")
        elif line.startswith("Feature Count: "):
            layer["count"] = int(line.removeprefix("Feature Count: "))
        elif match := re.match(r"^(\w+): (\w+)(?:\(\w+\))? \(\d+\.\d+\)$", line):
            layer["fields"][match[1]] = match[2]
    return layers, done.stdout + done.stderr


def expected_types(layer: str, *, date: str = "Date") -> dict[str, str]:
    spec = LAYER_SPECS[layer]
    return {
        name: date if FIELD_TYPES[name] == "date" else OGR_TYPES[FIELD_TYPES[name]] for name in spec.fields
    }


@needs_ogrinfo
def test_ogrinfo_reads_every_layer_typed_and_without_a_warning(every_format: Path) -> None:
    layers, output = ogrinfo(every_format / "geomap.gpkg")
    assert "Warning" not in output and "ERROR" not in output, output
    for name, spec in LAYER_SPECS.items():
        assert layers[name]["fields"] == expected_types(name), name
        assert layers[name]["geometry"] == OGRINFO_TYPES[spec.geometry_type]
        geojson, output = ogrinfo(every_format / f"{name}.geojson")
        assert "Warning" not in output and "ERROR" not in output, output
        if geojson[name]["count"]:  # GDAL guesses a GeoJSON field's type from its values: none, String
            typed = {k: v for k, v in geojson[name]["fields"].items() if v != "String"}
            assert typed.items() <= expected_types(name).items(), name
        fgb, output = ogrinfo(every_format / f"{name}.fgb")
        assert "Warning" not in output, output
        assert fgb[name]["fields"] == expected_types(name, date="DateTime")
        assert fgb[name]["geometry"] == OGRINFO_TYPES[spec.geometry_type]
    incidents = ogrinfo(every_format / "geomap.gpkg")[0]["incidents"]
    assert incidents["count"] > 0
    assert {"date": "Date", "fatalities": "Integer", "confidence": "Real"}.items() <= incidents[
        "fields"
    ].items()
    csv_layers, output = ogrinfo(every_format / "incidents.csv")  # typed by incidents.csvt
    assert "Warning" not in output, output
    assert csv_layers["incidents"]["geometry"] == "Point"
    assert csv_layers["incidents"]["fields"] == {
        **expected_types("incidents"),
        "latitude": "Real",
        "longitude": "Real",
    }
    kml, output = ogrinfo(every_format / "geomap.kml")
    assert set(LAYER_SPECS) <= set(kml) and "Warning" not in output, output


def test_geopackage_fields_nulls_and_fids_read_back(every_format: Path) -> None:
    info = pyogrio.read_info(every_format / "geomap.gpkg", layer="incidents")
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert types["date"] == "OFTDate" and types["fatalities"] == "OFTInteger"
    assert types["geo_precision"] == "OFTInteger" and types["confidence"] == "OFTReal"
    frame = pyogrio.read_dataframe(every_format / "geomap.gpkg", layer="incidents", fid_as_index=True)
    assert frame["fatalities"].isna().any() and frame["fatalities"].max() == 3  # null when not reported
    geojson = json.loads((every_format / "incidents.geojson").read_text(encoding="utf-8"))["features"]
    by_id = {f["properties"]["id"]: f["properties"] for f in geojson}
    for fid, row in frame.iterrows():
        assert fid == int(row["id"], 16)
        assert json.loads(row["sources"]) == json.loads(by_id[row["id"]]["sources"])
    info = pyogrio.read_info(every_format / "geomap.gpkg", layer="places")
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert types["geonames_id"] == types["population"] == types["mentions"] == "OFTInteger"
    places = pyogrio.read_dataframe(every_format / "geomap.gpkg", layer="places", fid_as_index=True)
    assert places.index.is_unique and places["geonames_id"].notna().any()


def _validator() -> Path | None:
    return next((path for path in VALIDATE_GPKG if path.is_file()), None)


@pytest.mark.skipif(_validator() is None, reason="GDAL's validate_gpkg.py absent (Debian: python3-gdal)")
def test_geopackage_passes_gdals_validator_and_is_version_1_2(every_format: Path) -> None:
    validator = _validator()
    assert validator is not None
    python = "/usr/bin/python3" if str(validator).startswith("/usr/") else sys.executable  # with osgeo
    done = subprocess.run(
        [python, str(validator), str(every_format / "geomap.gpkg")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), (
        done.stdout + done.stderr
    )
    with contextlib.closing(sqlite3.connect(every_format / "geomap.gpkg")) as db:
        assert db.execute("PRAGMA application_id").fetchone() == (0x47504B47,)  # "GPKG"
        assert db.execute("PRAGMA user_version").fetchone() == (10200,)


def test_geopackage_carries_descriptions_attribution_and_default_styles(every_format: Path) -> None:
    with contextlib.closing(sqlite3.connect(every_format / "geomap.gpkg")) as db:
        contents = dict(db.execute("SELECT table_name, description FROM gpkg_contents"))
        columns = [row[1] for row in db.execute("PRAGMA table_info(layer_styles)")]
        styles = db.execute(
            "SELECT f_table_name, f_geometry_column, styleQML, styleSLD, useAsDefault FROM layer_styles"
        ).fetchall()
        metadata = " ".join(row[0] for row in db.execute("SELECT metadata FROM gpkg_metadata"))
    for name in LAYER_SPECS:
        assert (
            "GeoNames" in contents[name]
            and "CC BY 4.0" in contents[name]
            and "Natural Earth" in contents[name]
        )
    assert columns == [
        "id",
        "f_table_catalog",
        "f_table_schema",
        "f_table_name",
        "f_geometry_column",
        "styleName",
        "styleQML",
        "styleSLD",
        "useAsDefault",
        "description",
        "owner",
        "ui",
        "update_time",
    ]
    assert sorted(row[0] for row in styles) == sorted(LAYER_SPECS)
    for name, column, qml, sld, default in styles:
        assert column == "geom" and default == 1
        assert ET.fromstring(qml).tag == "qgis" and sld.startswith("<?xml")
        assert qml == (every_format / f"{name}.qml").read_text(encoding="utf-8")
    assert "GeoNames" in metadata and f"geomap {__version__}" in metadata


def test_qml_files_are_qgis_styles_coloured_by_event_type_and_sized_by_fatalities(every_format: Path) -> None:
    renderers = {}
    for name in LAYER_SPECS:
        text = (every_format / f"{name}.qml").read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE qgis")
        root = ET.fromstring(text)
        assert root.tag == "qgis" and root.get("version", "").startswith("3.")
        renderers[name] = root.find("renderer-v2")
    incidents = renderers["incidents"]
    assert incidents.get("type") == "categorizedSymbol" and incidents.get("attr") == "sub_event_type"
    categories = {c.get("value"): c.get("symbol") for c in incidents.iter("category")}
    assert set(categories) == {*COLOURS, ""}  # "": every other value
    for value, colour in COLOURS.items():
        symbol = incidents.find(f"symbols/symbol[@name='{categories[value]}']")
        colour_option = symbol.find("layer/Option/Option[@name='color']").get("value")
        assert colour_option.split(",")[:3] == [str(int(colour[i : i + 2], 16)) for i in (1, 3, 5)]
        size = symbol.find(
            "layer/data_defined_properties/Option/Option[@name='properties']/Option[@name='size']"
        )
        assert '"fatalities"' in size.find("Option[@name='expression']").get("value")
    assert renderers["zones"].get("type") == "categorizedSymbol" and renderers["zones"].get("attr") == "label"
    assert {renderers[n].get("type") for n in ("places", "border", "sectors")} == {"singleSymbol"}
    assert renderers["border"].find("symbols/symbol").get("type") == "line"
    assert renderers["sectors"].find("symbols/symbol").get("type") == "fill"


QGIS_CHECK = """
import json, sys
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
found = {}
for uri in sys.argv[1:]:
    layer = QgsVectorLayer(uri, "layer", "ogr")
    if not uri.endswith(".gpkg") and "|" not in uri:
        layer.loadDefaultStyle()  # the .qml beside the file, as QGIS does when the file is added
    renderer = layer.renderer()
    found[uri] = [layer.isValid(), layer.featureCount(), renderer.type(), renderer.dump()[:200]]
print(json.dumps(found))
"""


def _qgis_python() -> str | None:
    python = shutil.which("python3", path="/usr/bin")
    if python is None:
        return None
    done = subprocess.run([python, "-c", "import qgis.core"], capture_output=True, timeout=60)
    return python if done.returncode == 0 else None


def test_qgis_opens_the_layers_styled(every_format: Path) -> None:
    python = _qgis_python()
    if python is None:
        pytest.skip("QGIS's Python bindings (Debian: python3-qgis) absent")
    uris = [f"{every_format / 'geomap.gpkg'}|layername={name}" for name in LAYER_SPECS]
    uris += [str(every_format / f"{name}.geojson") for name in LAYER_SPECS]
    done = subprocess.run(
        [python, "-c", QGIS_CHECK, *uris],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for name in LAYER_SPECS:
        for uri in (
            f"{every_format / 'geomap.gpkg'}|layername={name}",
            str(every_format / f"{name}.geojson"),
        ):
            valid, count, renderer, dump = found[uri]
            assert valid and count >= 1, uri
            expected = "categorizedSymbol" if name in ("incidents", "zones") else "singleSymbol"
            assert renderer == expected, (uri, dump)


@pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="GDAL's tools (gdal-bin) absent")
def test_ogr2ogr_converts_every_geojson_keeping_its_geometry_type(every_format: Path, tmp_path: Path) -> None:
    for name, spec in LAYER_SPECS.items():
        source = every_format / f"{name}.geojson"
        count = len(json.loads(source.read_text(encoding="utf-8"))["features"])
        for driver, suffix, geometry in (
            ("ESRI Shapefile", ".shp", SHAPEFILE_TYPES[spec.geometry_type]),
            ("FlatGeobuf", ".fgb", OGRINFO_TYPES[spec.geometry_type]),
        ):
            target = tmp_path / f"{name}{suffix}"
            done = subprocess.run(
                ["ogr2ogr", "-f", driver, "-lco", "ENCODING=UTF-8", str(target), str(source)]
                if driver == "ESRI Shapefile"
                else ["ogr2ogr", "-f", driver, str(target), str(source)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0 and "ERROR" not in done.stderr, (name, driver, done.stderr)
            layers, _ = ogrinfo(target)
            (converted,) = layers.values()
            assert (converted["geometry"], converted["count"]) == (geometry, count), (name, driver)


def test_geoparquet_is_typed_or_skipped_with_a_message(every_format: Path) -> None:
    if importlib.util.find_spec("pyarrow") is None:
        assert not list(every_format.glob("*.parquet"))
        return
    import pyarrow.parquet as pq

    table = pq.read_table(every_format / "incidents.parquet")
    types = {field.name: str(field.type) for field in table.schema}
    assert types["date"] == "date32[day]" and types["fatalities"] == "int32" and types["fid"] == "int64"
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["columns"]["geometry"]["geometry_types"] == ["Point"]


def test_summary_names_geomap_its_inputs_and_settings(every_format: Path, built: Path) -> None:
    summary = json.loads((every_format / "summary.json").read_text(encoding="utf-8"))
    assert summary["geomap"] == {"version": __version__}
    assert summary["settings"] == SETTINGS
    assert summary["inputs"]["articles"] == 2 and re.fullmatch(r"[0-9a-f]{64}", summary["inputs"]["sha256"])
    assert "GeoNames" in summary["attribution"]
    one = json.loads((built / "summary.json").read_text(encoding="utf-8"))["inputs"]
    assert one["articles"] == 1 and one["sha256"] != summary["inputs"]["sha256"]
    files = {p.name for p in every_format.iterdir() if p.name[0] != "." and not p.name.endswith(".aux.xml")}
    assert set(summary["outputs"]) == files - {"summary.json"}  # (.aux.xml: GDAL's notes of a reader)


def test_map_credits_the_data_it_shows(built: Path) -> None:
    html = (built / "map.html").read_text(encoding="utf-8")
    (line,) = [line for line in html.splitlines() if "attributionControl.addAttribution(" in line]
    for credit in ("GeoNames", "CC BY 4.0", "Natural Earth", "https://www.geonames.org/"):
        assert credit in line
    assert "openstreetmap.org/copyright" in html  # the tiles' own attribution, while they are shown
