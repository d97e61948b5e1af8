"""The GIS outputs of ``geomap build``: zones, the GeoPackage, the static picture, GeoJSON sequences."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import pyogrio
import pytest
from click.testing import CliRunner

from geomap.cli import cli
from geomap.outputs import recover, write_outputs

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


def test_geopackage_has_every_layer_and_each_reads_back(built: Path) -> None:
    layers = dict(pyogrio.list_layers(built / "geomap.gpkg"))
    assert set(layers) == {"incidents", "places", "zones", "sectors", "border"}
    incidents = json.loads((built / "incidents.geojson").read_text(encoding="utf-8"))["features"]
    frame = pyogrio.read_dataframe(built / "geomap.gpkg", layer="incidents")
    assert len(frame) == len(incidents) > 0
    assert len(pyogrio.read_dataframe(built / "geomap.gpkg", layer="sectors")) > 10
    assert layers["border"] == "MultiLineString"


def test_incidents_at_border_villages_get_a_distance_a_zone_and_a_sector(built: Path) -> None:
    features = json.loads((built / "incidents.geojson").read_text(encoding="utf-8"))["features"]
    by_place = {f["properties"]["place"]: f["properties"] for f in features}
    tegh = by_place["Tegh"]
    assert tegh["distance_km"] is not None and tegh["distance_km"] < 10
    assert tegh["zone"] in ("0–5 km", "5–10 km")
    assert tegh["sector"] and tegh["sector"].startswith("Syunik–")
    assert "Yerevan" not in by_place  # a capital that only speaks


def test_zones_geojson_counts_incidents_per_sector(built: Path) -> None:
    zones = json.loads((built / "zones.geojson").read_text(encoding="utf-8"))
    assert zones["type"] == "FeatureCollection"
    kinds = {f["properties"]["kind"] for f in zones["features"]}
    assert kinds == {"border", "zone", "sector"}
    counted = sum(
        f["properties"]["incidents"] for f in zones["features"] if f["properties"]["kind"] == "sector"
    )
    incidents = json.loads((built / "incidents.geojson").read_text(encoding="utf-8"))["features"]
    assert counted == sum(1 for f in incidents if f["properties"]["sector"])


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
    import pyogrio
    kill_on(pyogrio, "write_dataframe")
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
    write_outputs(first, out)
    old_incidents = (out / "incidents.geojson").read_bytes()
    _killed_while_writing(second, out, "swap", 9 + 2, tmp_path)  # 8 staged files and the marker, 2 renames
    assert (out / ".geomap-staging" / "COMPLETE").exists()
    # Killed halfway: new incidents beside the old summary, until the next run finishes the swap.
    assert (out / "incidents.geojson").read_bytes() != old_incidents
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["articles"] == 1
    recover(out)
    manifest = _manifest_holds(out)
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["articles"] == 2
    assert set(manifest) == {p.name for p in out.iterdir() if not p.name.startswith(".")} - {"summary.json"}
    assert not (out / ".geomap-staging").exists()


def test_stray_temporaries_and_stale_outputs_of_earlier_runs_are_removed(two_runs, tmp_path: Path) -> None:
    first, _ = two_runs
    out = tmp_path / "out"
    write_outputs(first, out, png=True)
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
        again = CliRunner().invoke(cli, ["build", str(tmp_path / "in"), "--out", str(out), "--offline"])
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
