"""Border, bands, sectors and incident assignment on the real shipped areas (Natural Earth)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, mapping, shape
from shapely.geometry.base import BaseGeometry

from geomap.areas import Area, Areas, areas_from_geojson, default_areas
from geomap.errors import GazetteerError, GeomapError
from geomap.gazetteer import data_dir
from geomap.models import Incident, Place
from geomap.zones import (
    METRIC_CRS,
    ZoneAssignment,
    ZoneConfig,
    ZoneError,
    assign,
    border_line,
    border_sectors,
    buffer_zones,
    length_km,
    split_zones,
    zones_geojson,
)


@pytest.fixture(scope="module")
def areas() -> Areas:
    shipped = default_areas()
    assert shipped is not None, "this build ships no areas.geojson"
    return shipped


@pytest.fixture(scope="module")
def border(areas: Areas) -> BaseGeometry:
    return border_line(areas)


@pytest.fixture(scope="module")
def zones(border: BaseGeometry) -> gpd.GeoDataFrame:
    return buffer_zones(border, ZoneConfig().widths_km)


@pytest.fixture(scope="module")
def sectors(areas: Areas, border: BaseGeometry) -> gpd.GeoDataFrame:
    return border_sectors(areas, border)


@pytest.fixture(scope="module")
def places() -> dict[str, dict[str, str]]:
    with (data_dir() / "places.csv").open(encoding="utf-8", newline="") as fh:
        return {row["id"]: row for row in csv.DictReader(fh)}


def incident_at(places: dict[str, dict[str, str]], place_id: str) -> Incident:
    row = places[place_id]
    place = Place(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        country=row["country"] or None,
        lat=float(row["lat"]),
        lon=float(row["lon"]),
        admin1=row["admin1"] or None,
    )
    return Incident(
        id=f"inc-{place_id}",
        doc="doc-1",
        event_type="Battles",
        sub_event_type="Armed clash",
        place=place,
        mention=place.name,
        geo_precision=1,
        evidence=f"Shots were fired near {place.name}.",
    )


def nakhchivan(areas: Areas) -> BaseGeometry:
    """The Nakhchivan exclave: the part of Azerbaijan's polygon that holds Naxçıvan city."""
    city = Point(45.41222, 39.20889)  # GeoNames 147429, as (lon, lat)
    parts = shapely.get_parts(areas.by_id("country-az").geometry)
    return next(p for p in parts if p.contains(city))


def metric_area_km2(geometries: gpd.GeoSeries) -> list[float]:
    return (geometries.to_crs(METRIC_CRS).area / 1e6).tolist()


# --- border ---------------------------------------------------------------------------------------


def test_border_length_is_that_of_natural_earth(border: BaseGeometry) -> None:
    assert border.geom_type in ("LineString", "MultiLineString")
    assert 600 < length_km(border) < 1000
    assert length_km(border) == pytest.approx(755, abs=10)


def test_border_is_in_wgs84_and_runs_along_both_countries(areas: Areas, border: BaseGeometry) -> None:
    minx, miny, maxx, maxy = border.bounds
    assert 44 < minx < maxx < 47.5 and 38.5 < miny < maxy < 41.5
    for country in ("country-am", "country-az"):
        assert border.distance(areas.by_id(country).geometry.boundary) < 1e-6


def test_border_touches_nakhchivan(areas: Areas, border: BaseGeometry) -> None:
    shared = border.intersection(nakhchivan(areas).boundary.buffer(1e-6))
    assert length_km(shared) > 150


def test_border_needs_both_countries(areas: Areas) -> None:
    without_az = areas_from_geojson(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": mapping(a.geometry), "properties": _props(a)}
                for a in areas.areas
                if a.id != "country-az"
            ],
        }
    )
    with pytest.raises(GazetteerError, match="AZ"):
        border_line(without_az)


def _props(area: Area) -> dict[str, Any]:
    return {"id": area.id, "name": area.name, "kind": area.kind, "country": area.country}


# --- zones ----------------------------------------------------------------------------------------


def test_zones_are_labelled_rings_innermost_first(zones: gpd.GeoDataFrame) -> None:
    assert zones["label"].tolist() == ["0–5 km", "5–10 km", "10–20 km"]
    assert zones["inner_km"].tolist() == [0, 5, 10]
    assert zones["width_km"].tolist() == [5, 10, 20]
    assert zones.crs.to_epsg() == 4326
    assert zones.geometry.is_valid.all()


def test_zones_are_nested_and_do_not_overlap(border: BaseGeometry, zones: gpd.GeoDataFrame) -> None:
    metric = zones.to_crs(METRIC_CRS).geometry.tolist()
    for i, ring in enumerate(metric):
        for other in metric[i + 1 :]:
            assert ring.intersection(other).area < 1e3  # m²: shared edges only
    assert metric[0].contains(gpd.GeoSeries([border], crs=4326).to_crs(METRIC_CRS).iloc[0])
    cumulative = [shapely.union_all(metric[: i + 1]).area for i in range(len(metric))]
    assert cumulative == sorted(cumulative) and len(set(cumulative)) == len(cumulative)
    assert all(a > 0 for a in metric_area_km2(zones.geometry))
    # the 0–5 km band is about twice 5 km along the border's ~755 km
    assert metric_area_km2(zones.geometry)[0] == pytest.approx(2 * 5 * 755, rel=0.1)


def test_zone_config_validates_widths() -> None:
    assert ZoneConfig((1, 2.5)).labels == ("0–1 km", "1–2.5 km")
    for bad in [(), (5, 5), (10, 5), (0, 5), (-1,)]:
        with pytest.raises(ZoneError):
            ZoneConfig(bad)
    assert issubclass(ZoneError, GeomapError) and issubclass(ZoneError, ValueError)


# --- sectors --------------------------------------------------------------------------------------


def test_sectors_cover_the_border(border: BaseGeometry, sectors: gpd.GeoDataFrame) -> None:
    assert sectors["length_km"].sum() == pytest.approx(length_km(border), rel=0.03)
    assert length_km(shapely.union_all(sectors.geometry.to_numpy())) == pytest.approx(
        length_km(border), rel=0.01
    )
    assert sectors["name"].is_unique
    assert (sectors["length_km"] > 0).all()


def test_sector_names_pair_an_armenian_unit_with_an_azerbaijani_one(
    areas: Areas, sectors: gpd.GeoDataFrame
) -> None:
    for row in sectors.itertuples(index=False):
        am, az = areas.by_id(row.am_unit), areas.by_id(row.az_unit)
        assert am is not None and am.country == "AM" and am.kind == "province"
        assert az is not None and az.country == "AZ" and az.kind == "district"
        first, second = row.name.split("–")
        assert am.name.startswith(first) and az.name.startswith(second)


def test_syunik_and_tavush_sectors(areas: Areas, sectors: gpd.GeoDataFrame) -> None:
    exclave = nakhchivan(areas)
    in_nakhchivan = {
        a.id
        for a in areas.areas
        if a.kind == "district" and exclave.contains(a.geometry.representative_point())
    }
    syunik = sectors[sectors["am_unit"] == "am-province-syunik"]
    with_nakhchivan = set(syunik["az_unit"]) & in_nakhchivan
    assert {"az-district-ordubad", "az-district-julfa", "az-district-shahbuz"} <= with_nakhchivan
    assert {"Syunik–Lachin", "Syunik–Zangilan", "Syunik–Gubadly"} <= set(syunik["name"])
    tavush = set(sectors.loc[sectors["am_unit"] == "am-province-tavush", "name"])
    assert {"Tavush–Gazakh", "Tavush–Tovuz"} <= tavush


def test_sector_footprints_tile_the_widest_zone(zones: gpd.GeoDataFrame, sectors: gpd.GeoDataFrame) -> None:
    footprints = gpd.GeoSeries(sectors["footprint"], crs=4326)
    assert footprints.is_valid.all()
    assert set(footprints.geom_type) <= {"Polygon", "MultiPolygon"}
    assert sum(metric_area_km2(footprints)) == pytest.approx(sum(metric_area_km2(zones.geometry)), rel=0.01)
    metric = footprints.to_crs(METRIC_CRS)
    overlap = metric.area.sum() - shapely.union_all(metric.to_numpy()).area
    assert overlap / 1e6 < 1  # km²


# --- assignment -----------------------------------------------------------------------------------


def test_border_villages_get_their_zone_and_sector(
    areas: Areas, sectors: gpd.GeoDataFrame, places: dict[str, dict[str, str]]
) -> None:
    ids = ["gn-174743", "border-sotk-mine", "gn-616041", "village-aygepar", "gn-616074", "gn-616052"]
    result = assign([incident_at(places, i) for i in ids], areas, ZoneConfig(), sectors=sectors)
    by_id = {r.incident: r for r in result}
    assert [r.incident for r in result] == [f"inc-{i}" for i in ids]

    tegh = by_id["inc-gn-174743"]
    assert tegh.zone == "0–5 km" and tegh.sector == "Syunik–Lachin" and 0 < tegh.distance_km <= 5
    mine = by_id["inc-border-sotk-mine"]
    assert mine.zone == "0–5 km" and mine.sector == "Gegharkunik–Kalbajar"
    sotk = by_id["inc-gn-616041"]
    assert sotk.zone == "5–10 km" and sotk.sector is not None and sotk.sector.startswith("Gegharkunik–")
    assert by_id["inc-village-aygepar"].sector == "Tavush–Tovuz"
    assert by_id["inc-gn-616074"].sector == "Tavush–Gazakh"  # Voskepar

    yerevan = by_id["inc-gn-616052"]
    assert isinstance(yerevan, ZoneAssignment)
    assert yerevan.zone is None and yerevan.sector is None and yerevan.distance_km > 20


def test_assign_derives_the_border_itself_and_accepts_nothing(
    areas: Areas, places: dict[str, dict[str, str]]
) -> None:
    assert assign([], areas) == []
    (tegh,) = assign([incident_at(places, "gn-174743")], areas, ZoneConfig((1, 3)))
    assert tegh.zone == "1–3 km" and tegh.sector == "Syunik–Lachin"
    assert tegh.distance_km == round(tegh.distance_km, 1)


def test_assigned_sector_footprint_holds_the_incident(
    areas: Areas, sectors: gpd.GeoDataFrame, places: dict[str, dict[str, str]]
) -> None:
    ids = ["gn-174743", "gn-174926", "village-nerkin-hand", "gn-391241", "village-berkaber", "gn-174823"]
    incidents = [incident_at(places, i) for i in ids]
    footprint = dict(zip(sectors["name"], sectors["footprint"], strict=True))
    for incident, result in zip(incidents, assign(incidents, areas, sectors=sectors), strict=True):
        assert result.sector is not None
        assert footprint[result.sector].buffer(1e-4).contains(Point(incident.place.lon, incident.place.lat))


# --- GeoJSON --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def collection(border: BaseGeometry, zones: gpd.GeoDataFrame, sectors: gpd.GeoDataFrame) -> dict[str, Any]:
    return zones_geojson(border, zones, sectors, {"Syunik–Lachin": 3})


def _positions(coordinates: Any) -> list[list[float]]:
    if isinstance(coordinates[0], (int, float)):
        return [coordinates]
    return [p for c in coordinates for p in _positions(c)]


def test_zones_geojson_is_rfc_7946(collection: dict[str, Any], sectors: gpd.GeoDataFrame) -> None:
    assert collection["type"] == "FeatureCollection" and collection["name"] == "zones"
    kinds = [f["properties"]["kind"] for f in collection["features"]]
    assert kinds == ["border"] + ["zone"] * 3 + ["sector"] * len(sectors)
    json.dumps(collection, allow_nan=False)
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        geometry = shape(feature["geometry"])
        assert geometry.is_valid and not geometry.is_empty
        for lon, lat in _positions(feature["geometry"]["coordinates"]):
            assert 44 < lon < 47.5 and 38 < lat < 42  # [lon, lat], not flipped
            assert round(lon, 5) == lon and round(lat, 5) == lat
        for polygon in shapely.get_parts(geometry):
            if polygon.geom_type == "Polygon":
                assert polygon.exterior.is_ccw
                assert not any(ring.is_ccw for ring in polygon.interiors)
    sector = next(f for f in collection["features"] if f["properties"].get("name") == "Syunik–Lachin")
    assert sector["properties"]["incidents"] == 3
    assert sector["properties"]["units"] == ["am-province-syunik", "az-district-lachin"]
    other = next(f for f in collection["features"] if f["properties"].get("name") == "Tavush–Tovuz")
    assert other["properties"]["incidents"] == 0


def test_split_zones_gives_one_geometry_type_and_one_set_of_attributes_per_layer(
    collection: dict[str, Any], sectors: gpd.GeoDataFrame
) -> None:
    layers = split_zones(collection)
    assert list(layers) == ["border", "zones", "sectors"]
    assert [len(features) for features in layers.values()] == [1, 3, len(sectors)]
    families = {"border": "LineString", "zones": "Polygon", "sectors": "Polygon"}
    for name, features in layers.items():
        assert {f["geometry"]["type"].removeprefix("Multi") for f in features} == {families[name]}
        assert (
            len({tuple(f["properties"]) for f in features}) == 1 and "kind" not in features[0]["properties"]
        )
    assert set(layers["sectors"][0]["properties"]) == {
        "name",
        "units",
        "am_unit",
        "az_unit",
        "length_km",
        "incidents",
    }
    assert collection["features"][0]["properties"]["kind"] == "border"  # the map's collection stays


def test_zones_geojson_round_trips_through_pyogrio(collection: dict[str, Any], tmp_path: Path) -> None:
    source = tmp_path / "zones.geojson"
    source.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    frame = pyogrio.read_dataframe(source)
    assert len(frame) == len(collection["features"])
    assert frame.crs.to_epsg() == 4326
    for driver, name in [("GeoJSON", "copy.geojson"), ("GPKG", "zones.gpkg")]:
        path = tmp_path / name
        pyogrio.write_dataframe(frame.drop(columns="units"), path, driver=driver, layer="zones")
        back = pyogrio.read_dataframe(path)
        assert len(back) == len(collection["features"])
        assert back["kind"].tolist() == frame["kind"].tolist()
        assert set(back["az_unit"].dropna()) == set(frame["az_unit"].dropna())
        assert back.geometry.is_valid.all()
