"""The GIS outputs of ``geomap build``: zones, the GeoPackage, the static picture, GeoJSON sequences."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pytest
from click.testing import CliRunner

from geomap.cli import cli

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
