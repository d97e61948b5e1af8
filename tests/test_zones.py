"""Border, bands, sectors and incident assignment on the real shipped areas (Natural Earth)."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
import pyogrio.raw
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Point, mapping, shape
from shapely.geometry.base import BaseGeometry

from geomap.areas import Area, Areas, areas_from_geojson, default_areas, world_areas
from geomap.cache import CACHE_ENV
from geomap.errors import GazetteerError, GeomapError
from geomap.gazetteer import data_dir
from geomap.models import Incident, Place
from geomap.theatre import Border, Theatre, shipped
from geomap.zones import (
    Band,
    Sector,
    ZoneAssignment,
    ZoneConfig,
    ZoneError,
    assign,
    border_cache_dir,
    border_line,
    border_sectors,
    buffer_zones,
    cached_border_line,
    length_km,
    metric_crs,
    share_border,
    split_zones,
    zones_geojson,
)

THEATRE = shipped()["armenia-azerbaijan"]
AM_AZ = Border("AM", "AZ")
METRIC_CRS = THEATRE.crs or ""


@pytest.fixture(scope="module")
def areas() -> Areas:
    shipped = default_areas()
    assert shipped is not None, "this build ships no areas.geojson"
    return shipped


@pytest.fixture(scope="module")
def border(areas: Areas) -> BaseGeometry:
    return border_line(areas, AM_AZ, crs=METRIC_CRS)


@pytest.fixture(scope="module")
def zones(border: BaseGeometry) -> tuple[Band, ...]:
    return buffer_zones(border, ZoneConfig().widths_km, crs=METRIC_CRS)


@pytest.fixture(scope="module")
def sectors(areas: Areas, border: BaseGeometry) -> tuple[Sector, ...]:
    return border_sectors(areas, [(AM_AZ, border)], crs=METRIC_CRS)


def km(line: BaseGeometry) -> float:
    return length_km(line, crs=METRIC_CRS)


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


def to_metric(geometries: Iterable[BaseGeometry]) -> list[BaseGeometry]:
    """WGS84 geometries in the theatre's metric CRS, through pyproj directly (not geomap's helpers)."""
    transformer = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    return [
        shapely.transform(g, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
        for g in geometries
    ]


def metric_area_km2(geometries: Iterable[BaseGeometry]) -> list[float]:
    return [g.area / 1e6 for g in to_metric(geometries)]


def in_wgs84(geometry: BaseGeometry) -> bool:
    """Whether a geometry of the Armenia–Azerbaijan theatre is in lon/lat degrees (not metres)."""
    minx, miny, maxx, maxy = geometry.bounds
    return 43 < minx < maxx < 48.5 and 38 < miny < maxy < 42


# --- border ---------------------------------------------------------------------------------------


def test_border_length_is_that_of_natural_earth(border: BaseGeometry) -> None:
    assert border.geom_type in ("LineString", "MultiLineString")
    assert 600 < km(border) < 1000
    assert km(border) == pytest.approx(755, abs=10)


def test_border_is_in_wgs84_and_runs_along_both_countries(areas: Areas, border: BaseGeometry) -> None:
    minx, miny, maxx, maxy = border.bounds
    assert 44 < minx < maxx < 47.5 and 38.5 < miny < maxy < 41.5
    for country in ("country-am", "country-az"):
        assert border.distance(areas.by_id(country).geometry.boundary) < 1e-6


def test_border_touches_nakhchivan(areas: Areas, border: BaseGeometry) -> None:
    shared = border.intersection(nakhchivan(areas).boundary.buffer(1e-6))
    assert km(shared) > 150


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
        border_line(without_az, AM_AZ, crs=METRIC_CRS)
    assert share_border(areas, "AM", "AZ") and share_border(areas, "AZ", "AM")
    assert not share_border(areas, "AM", "RU") and not share_border(without_az, "AM", "AZ")


def test_a_theatre_without_a_crs_is_measured_in_one_centred_on_its_borders(areas: Areas) -> None:
    crs = metric_crs(replace(THEATRE, crs=None), areas)
    assert crs.startswith("+proj=aeqd") and "+lat_0=40" in crs and "+lon_0=45" in crs
    assert metric_crs(THEATRE, areas) == THEATRE.crs


def _props(area: Area) -> dict[str, Any]:
    return {"id": area.id, "name": area.name, "kind": area.kind, "country": area.country}


# --- zones ----------------------------------------------------------------------------------------


def test_zones_are_labelled_rings_innermost_first(zones: tuple[Band, ...]) -> None:
    assert [z.label for z in zones] == ["0–5 km", "5–10 km", "10–20 km"]
    assert [z.inner_km for z in zones] == [0, 5, 10]
    assert [z.width_km for z in zones] == [5, 10, 20]
    assert all(in_wgs84(z.geometry) and z.geometry.is_valid for z in zones)
    assert {z.geometry.geom_type for z in zones} <= {"Polygon", "MultiPolygon"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        zones[0].label = "other"  # type: ignore[misc]


def test_zones_are_nested_and_do_not_overlap(border: BaseGeometry, zones: tuple[Band, ...]) -> None:
    metric = to_metric(z.geometry for z in zones)
    for i, ring in enumerate(metric):
        for other in metric[i + 1 :]:
            assert ring.intersection(other).area < 1e3  # m²: shared edges only
    (metric_border,) = to_metric([border])
    assert metric[0].contains(metric_border)
    cumulative = [shapely.union_all(metric[: i + 1]).area for i in range(len(metric))]
    assert cumulative == sorted(cumulative) and len(set(cumulative)) == len(cumulative)
    areas_km2 = metric_area_km2(z.geometry for z in zones)
    assert all(a > 0 for a in areas_km2)
    # the 0–5 km band is about twice 5 km along the border's ~755 km
    assert areas_km2[0] == pytest.approx(2 * 5 * 755, rel=0.1)
    # each band reaches out to its width from the border, and no further
    for zone, ring in zip(zones, metric, strict=True):
        farthest = shapely.distance(shapely.points(shapely.get_coordinates(ring)), metric_border).max()
        assert farthest == pytest.approx(1000 * zone.width_km, rel=0.001)


def test_zone_config_validates_widths() -> None:
    assert ZoneConfig((1, 2.5)).labels == ("0–1 km", "1–2.5 km")
    for bad in [(), (5, 5), (10, 5), (0, 5), (-1,)]:
        with pytest.raises(ZoneError):
            ZoneConfig(bad)
    assert issubclass(ZoneError, GeomapError) and issubclass(ZoneError, ValueError)


# --- sectors --------------------------------------------------------------------------------------


def test_sectors_cover_the_border(border: BaseGeometry, sectors: tuple[Sector, ...]) -> None:
    assert sum(s.length_km for s in sectors) == pytest.approx(km(border), rel=0.03)
    assert km(shapely.union_all([s.geometry for s in sectors])) == pytest.approx(km(border), rel=0.01)
    assert {s.border for s in sectors} == {"AM:AZ"}
    assert len({s.name for s in sectors}) == len(sectors)
    assert all(s.length_km > 0 and s.length_km == round(s.length_km, 1) for s in sectors)
    for sector in sectors:  # each sector's length is that of its line, to the 0.1 km
        assert sector.length_km == pytest.approx(km(sector.geometry), abs=0.051)
        assert in_wgs84(sector.geometry) and sector.geometry.geom_type in ("LineString", "MultiLineString")


def test_sectors_run_north_to_south(sectors: tuple[Sector, ...]) -> None:
    north = [s.geometry.bounds[3] for s in sectors]
    assert north == sorted(north, reverse=True)
    assert sectors[0].name.startswith("Tavush–") and sectors[-1].name.startswith(("Syunik–", "Vayots Dzor–"))


def test_sector_names_pair_an_armenian_unit_with_an_azerbaijani_one(
    areas: Areas, sectors: tuple[Sector, ...]
) -> None:
    for sector in sectors:
        am, az = areas.by_id(sector.unit_1), areas.by_id(sector.unit_2)
        assert am is not None and am.country == "AM" and am.kind == "province"
        assert az is not None and az.country == "AZ" and az.kind == "district"
        first, second = sector.name.split("–")
        assert am.name.startswith(first) and az.name.startswith(second)


def test_syunik_and_tavush_sectors(areas: Areas, sectors: tuple[Sector, ...]) -> None:
    exclave = nakhchivan(areas)
    in_nakhchivan = {
        a.id
        for a in areas.areas
        if a.kind == "district" and exclave.contains(a.geometry.representative_point())
    }
    syunik = [s for s in sectors if s.unit_1 == "am-province-syunik"]
    with_nakhchivan = {s.unit_2 for s in syunik} & in_nakhchivan
    assert {"az-district-ordubad", "az-district-julfa", "az-district-shahbuz"} <= with_nakhchivan
    assert {"Syunik–Lachin", "Syunik–Zangilan", "Syunik–Gubadly"} <= {s.name for s in syunik}
    tavush = {s.name for s in sectors if s.unit_1 == "am-province-tavush"}
    assert {"Tavush–Gazakh", "Tavush–Tovuz"} <= tavush


def test_sector_footprints_tile_the_widest_zone(zones: tuple[Band, ...], sectors: tuple[Sector, ...]) -> None:
    footprints = [s.footprint for s in sectors]
    assert all(f.is_valid and in_wgs84(f) for f in footprints)
    assert {f.geom_type for f in footprints} <= {"Polygon", "MultiPolygon"}
    band_areas = metric_area_km2(z.geometry for z in zones)
    assert sum(metric_area_km2(footprints)) == pytest.approx(sum(band_areas), rel=0.01)
    metric = to_metric(footprints)
    overlap = sum(f.area for f in metric) - shapely.union_all(metric).area
    assert overlap / 1e6 < 1  # km²
    for sector, footprint in zip(sectors, metric, strict=True):  # each holds its own sector's line
        (line,) = to_metric([sector.geometry])  # (but for bits at bends, nearer a neighbour's pieces)
        assert line.intersection(footprint).length == pytest.approx(line.length, rel=0.01)


# --- assignment -----------------------------------------------------------------------------------


def test_border_villages_get_their_zone_and_sector(
    areas: Areas, sectors: tuple[Sector, ...], places: dict[str, dict[str, str]]
) -> None:
    ids = ["gn-174743", "border-sotk-mine", "gn-616041", "village-aygepar", "gn-616074", "gn-616052"]
    result = assign([incident_at(places, i) for i in ids], sectors, ZoneConfig(), crs=METRIC_CRS)
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


def test_assign_accepts_nothing_and_other_bands(
    sectors: tuple[Sector, ...], places: dict[str, dict[str, str]]
) -> None:
    assert assign([], sectors, crs=METRIC_CRS) == []
    (tegh,) = assign([incident_at(places, "gn-174743")], sectors, ZoneConfig((1, 3)), crs=METRIC_CRS)
    assert tegh.zone == "1–3 km" and tegh.sector == "Syunik–Lachin"
    assert tegh.distance_km == round(tegh.distance_km, 1)


def test_assigned_sector_footprint_holds_the_incident(
    areas: Areas, sectors: tuple[Sector, ...], places: dict[str, dict[str, str]]
) -> None:
    ids = ["gn-174743", "gn-174926", "village-nerkin-hand", "gn-391241", "village-berkaber", "gn-174823"]
    incidents = [incident_at(places, i) for i in ids]
    footprint = {s.name: s.footprint for s in sectors}
    for incident, result in zip(incidents, assign(incidents, sectors, crs=METRIC_CRS), strict=True):
        assert result.sector is not None
        assert footprint[result.sector].buffer(1e-4).contains(Point(incident.place.lon, incident.place.lat))


def test_an_incident_where_sectors_meet_goes_to_the_first_nearest_sector(sectors: tuple[Sector, ...]) -> None:
    """At a junction both sectors are 0 m away: the tie goes to the first of the spatial index's
    equidistant matches (geopandas.sjoin_nearest's rule, kept so that assignments never change)."""
    ends = [{tuple(xy) for xy in shapely.get_coordinates(shapely.boundary(s.geometry))} for s in sectors]
    junctions = sorted(set.union(*(a & b for i, a in enumerate(ends) for b in ends[i + 1 :])))
    assert len(junctions) >= 5
    place = Place(id="p", name="junction", kind="village", country="AM", lat=0.0, lon=0.0)
    incidents = [
        Incident(
            id=f"j{n}",
            doc="doc-1",
            event_type="Battles",
            sub_event_type="Armed clash",
            place=replace(place, lon=lon, lat=lat),
            mention="junction",
            geo_precision=1,
            evidence="",
        )
        for n, (lon, lat) in enumerate(junctions)
    ]
    result = assign(incidents, sectors, crs=METRIC_CRS)
    (metric_points, metric_lines) = (
        to_metric(shapely.points(junctions)),
        to_metric(s.geometry for s in sectors),
    )
    inputs, found = shapely.STRtree(metric_lines).query_nearest(metric_points, all_matches=True)
    assert np.bincount(inputs).min() >= 2  # every junction is a tie
    for n, (lon, lat) in enumerate(junctions):
        touching = {s.name for s, e in zip(sectors, ends, strict=True) if (lon, lat) in e}
        assert result[n].distance_km == 0 and result[n].zone == "0–5 km" and result[n].sector in touching
        assert result[n].sector == sectors[found[inputs == n][0]].name


# --- GeoJSON --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def collection(border: BaseGeometry, zones: tuple[Band, ...], sectors: tuple[Sector, ...]) -> dict[str, Any]:
    return zones_geojson(
        [(AM_AZ, border)], zones, sectors, {"Syunik–Lachin": 3}, crs=METRIC_CRS, title=THEATRE.title
    )


def _positions(coordinates: Any) -> list[list[float]]:
    if isinstance(coordinates[0], (int, float)):
        return [coordinates]
    return [p for c in coordinates for p in _positions(c)]


def test_zones_geojson_is_rfc_7946(collection: dict[str, Any], sectors: tuple[Sector, ...]) -> None:
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
    assert sector["properties"]["border"] == "AM:AZ"
    line = collection["features"][0]["properties"]
    assert line["border"] == "AM:AZ" and line["name"] == "Armenia–Azerbaijan" and line["length_km"] > 700
    other = next(f for f in collection["features"] if f["properties"].get("name") == "Tavush–Tovuz")
    assert other["properties"]["incidents"] == 0


def test_split_zones_gives_one_geometry_type_and_one_set_of_attributes_per_layer(
    collection: dict[str, Any], sectors: tuple[Sector, ...]
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
        "border",
        "units",
        "unit_1",
        "unit_2",
        "length_km",
        "incidents",
    }
    assert collection["features"][0]["properties"]["kind"] == "border"  # the map's collection stays


def test_zones_geojson_round_trips_through_pyogrio(collection: dict[str, Any], tmp_path: Path) -> None:
    """GDAL reads the collection and writes it again as GeoJSON and GeoPackage (pyogrio's array API:
    no data frame library needed)."""
    source = tmp_path / "zones.geojson"
    source.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    meta, _, geometry, values = pyogrio.raw.read(source)
    assert len(geometry) == len(collection["features"])
    assert meta["crs"] == "EPSG:4326"
    fields = [str(f) for f in meta["fields"]]
    kept = [i for i, field in enumerate(fields) if field != "units"]  # a list: not every format has one
    kinds = values[fields.index("kind")].tolist()
    units_2 = {u for u in values[fields.index("unit_2")].tolist() if u}
    for driver, name in [("GeoJSON", "copy.geojson"), ("GPKG", "zones.gpkg")]:
        path = tmp_path / name
        pyogrio.raw.write(
            path,
            geometry,
            [values[i] for i in kept],
            [fields[i] for i in kept],
            driver=driver,
            layer="zones",
            geometry_type="Unknown",
            crs=meta["crs"],
        )
        back_meta, _, back_geometry, back_values = pyogrio.raw.read(path)
        back_fields = [str(f) for f in back_meta["fields"]]
        assert len(back_geometry) == len(collection["features"])
        assert back_values[back_fields.index("kind")].tolist() == kinds
        assert {u for u in back_values[back_fields.index("unit_2")].tolist() if u} == units_2
        assert shapely.is_valid(shapely.from_wkb(back_geometry)).all()


# --- the border cache -----------------------------------------------------------------------------


def test_a_border_is_computed_once_and_kept_across_runs(
    areas: Areas, border: BaseGeometry, tmp_path: Path
) -> None:
    first = cached_border_line(areas, AM_AZ, crs=METRIC_CRS, cache=tmp_path)
    (entry,) = tmp_path.glob("AM-AZ-*.wkb")
    assert first.equals_exact(border, 1e-9)
    entry.write_bytes(shapely.to_wkb(shapely.LineString([(0, 0), (1, 1)])))  # what a cache hit returns
    assert cached_border_line(areas, AM_AZ, crs=METRIC_CRS, cache=tmp_path).length == pytest.approx(2**0.5)
    entry.write_bytes(b"\x01\x02damaged")
    again = cached_border_line(areas, AM_AZ, crs=METRIC_CRS, cache=tmp_path)
    assert again.equals_exact(border, 1e-9) and entry.read_bytes() == shapely.to_wkb(again)
    # another CRS, tolerance or outline is another entry
    cached_border_line(areas, AM_AZ, crs=METRIC_CRS, tolerance_m=10.0, cache=tmp_path)
    assert len(list(tmp_path.glob("AM-AZ-*.wkb"))) == 2
    assert not list(tmp_path.glob(".*"))  # no partial file left


def test_the_border_cache_is_in_geomap_cache_dir(
    areas: Areas, border: BaseGeometry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$GEOMAP_CACHE_DIR moves the border cache (its ``borders`` folder), read at each call; without
    it the cache stays where it always was."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # the default place (Linux)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "chosen"))
    line = cached_border_line(areas, AM_AZ, crs=METRIC_CRS)
    (entry,) = (tmp_path / "chosen" / "borders").glob("AM-AZ-*.wkb")
    assert shapely.from_wkb(entry.read_bytes()).equals_exact(line, 1e-9) and line.equals_exact(border, 1e-9)
    assert not (tmp_path / "user-cache").exists()
    monkeypatch.delenv(CACHE_ENV)
    assert border_cache_dir() == Path(platformdirs.user_cache_dir("geomap")) / "borders"


# --- any two neighbours, from the world file ------------------------------------------------------


def _world_border(first: str, second: str) -> tuple[BaseGeometry, str]:
    areas = world_areas([first, second])
    border = Border(first, second)
    crs = metric_crs(Theatre(name="t", title="t", borders=(border,)), areas)
    return border_line(areas, border, crs=crs), crs


@pytest.mark.parametrize(
    ("first", "second", "published_km"),
    # CIA World Factbook land boundaries: borders drawn straight across the desert, which Natural
    # Earth's 1:10m generalisation leaves whole (mountain and river borders come out 10-25 % short)
    [("NE", "ML", 838), ("DZ", "NE", 951), ("TD", "LY", 1050), ("TD", "NE", 1196)],
)
def test_a_border_between_any_two_neighbours_has_its_published_length(
    first: str, second: str, published_km: float
) -> None:
    line, crs = _world_border(first, second)
    assert length_km(line, crs=crs) == pytest.approx(published_km, rel=0.03)


def test_an_exclave_on_an_island_is_part_of_its_border() -> None:
    """Timor-Leste meets Indonesia twice on Timor: around the main part and around Oecusse."""
    line, crs = _world_border("TL", "ID")
    parts = shapely.get_parts(line)
    assert len(parts) == 2
    oecusse = Point(124.36, -9.2)  # (lon, lat)
    assert min(p.distance(oecusse) for p in parts) < 0.3
    assert length_km(line, crs=crs) == pytest.approx(206, abs=10)


def test_countries_that_only_touch_share_no_border() -> None:
    areas = world_areas(["BW", "ZM", "AM", "AZ"])
    assert not share_border(areas, "BW", "ZM")  # the Kazungula point
    assert share_border(areas, "AM", "AZ")
