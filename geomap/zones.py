"""The Armenia–Azerbaijan border, distance bands along it, its sectors, and incidents placed in them.

Every measurement happens in :data:`METRIC_CRS`, an azimuthal equidistant projection centred on the
border (scale error under 0.02 % along it); every geometry handed back is in WGS84 (EPSG:4326).
Incident points are built from ``place.lon`` / ``place.lat`` by name, so no axis order is flipped
here: GeoJSON's [lon, lat] is shapely's (x, y).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from geomap.areas import Area, Areas
from geomap.errors import GazetteerError, GeomapError
from geomap.models import Incident

WGS84 = "EPSG:4326"
#: Azimuthal equidistant projection centred on the middle of the Armenia–Azerbaijan border.
METRIC_CRS = "+proj=aeqd +lat_0=40.1 +lon_0=45.6 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
#: How far apart (metres) the two countries' boundary vertices may lie and still count as shared.
SNAP_TOLERANCE_M = 50.0
#: Length (metres) of the pieces the border is cut into to find the units on either side.
SEGMENT_M = 250.0
#: The side of the border whose unit comes first in a sector's name.
FIRST_SIDE, SECOND_SIDE = "AM", "AZ"
COORD_DECIMALS = 5


class ZoneError(GeomapError, ValueError):
    """Invalid zone settings (widths that are not positive and increasing)."""


@dataclass(frozen=True, slots=True)
class ZoneConfig:
    """The outer edges (km from the border) of the nested distance bands, innermost first."""

    widths_km: tuple[float, ...] = (5, 10, 20)

    def __post_init__(self) -> None:
        widths = tuple(float(w) for w in self.widths_km)
        if not widths:
            raise ZoneError("zone widths: at least one width is needed")
        if any(not np.isfinite(w) or w <= 0 for w in widths):
            raise ZoneError(f"zone widths must be positive numbers of km, not {self.widths_km!r}")
        if any(b <= a for a, b in itertools.pairwise(widths)):
            raise ZoneError(f"zone widths must increase strictly, not {self.widths_km!r}")
        object.__setattr__(self, "widths_km", widths)

    @property
    def max_km(self) -> float:
        """The width of the widest band."""
        return self.widths_km[-1]

    @property
    def labels(self) -> tuple[str, ...]:
        """One label per band: ``"0–5 km"``, ``"5–10 km"``, ..."""
        inner = (0.0, *self.widths_km[:-1])
        return tuple(f"{a:g}–{b:g} km" for a, b in zip(inner, self.widths_km, strict=True))


@dataclass(frozen=True, slots=True)
class ZoneAssignment:
    """Where one incident lies relative to the border."""

    incident: str
    distance_km: float  # to the nearest point of the border, rounded to 0.1 km
    zone: str | None  # band label, None beyond the widest band
    sector: str | None  # nearest border sector, None beyond the widest band


def _country(areas: Areas, code: str) -> BaseGeometry:
    area = areas.by_id(f"country-{code.lower()}")
    if area is None:
        raise GazetteerError(f"areas: no country polygon for {code} (expected id 'country-{code.lower()}')")
    return area.geometry


def _to_metric(geometry: BaseGeometry) -> BaseGeometry:
    return gpd.GeoSeries([geometry], crs=WGS84).to_crs(METRIC_CRS).iloc[0]


def _to_wgs84(geometry: BaseGeometry) -> BaseGeometry:
    return gpd.GeoSeries([geometry], crs=METRIC_CRS).to_crs(WGS84).iloc[0]


def _lines_only(geometry: BaseGeometry) -> BaseGeometry:
    """The linear parts of an intersection (dropping the points where boundaries merely touch), merged."""
    parts = shapely.get_parts(geometry)
    lines = parts[np.isin(shapely.get_type_id(parts), (1, 5))]  # LineString, MultiLineString
    return shapely.line_merge(shapely.union_all(lines))


def border_line(areas: Areas, *, tolerance_m: float = SNAP_TOLERANCE_M) -> BaseGeometry:
    """The Armenia–Azerbaijan border (Nakhchivan's and the exclaves' included), in WGS84.

    The shared part of the two countries' boundaries: Azerbaijan's boundary is snapped onto
    Armenia's within ``tolerance_m`` metres (in :data:`METRIC_CRS`) before the two are intersected,
    so that polygons digitised independently still yield one line. Raises
    :class:`~geomap.errors.GazetteerError` when either country is missing or they share no boundary.
    """
    am = _to_metric(_country(areas, FIRST_SIDE)).boundary
    az = _to_metric(_country(areas, SECOND_SIDE)).boundary
    shared = _lines_only(am.intersection(shapely.snap(az, am, tolerance_m)))
    if shared.is_empty:
        raise GazetteerError(f"areas: {FIRST_SIDE} and {SECOND_SIDE} share no boundary")
    return _to_wgs84(shared)


def length_km(line: BaseGeometry) -> float:
    """The length of a WGS84 line in km, measured in :data:`METRIC_CRS`."""
    return float(_to_metric(line).length / 1000)


def buffer_zones(
    border: BaseGeometry, widths_km: Sequence[float] = ZoneConfig().widths_km
) -> gpd.GeoDataFrame:
    """Nested bands on both sides of ``border``: each band is its buffer minus the inner one.

    Columns: ``label`` ("0–5 km"), ``inner_km``, ``width_km`` (the band's outer edge), ``geometry``
    (WGS84), innermost band first.
    """
    config = ZoneConfig(tuple(widths_km))
    metric = gpd.GeoSeries([_to_metric(border)] * len(config.widths_km), crs=METRIC_CRS)
    outer = metric.buffer(1000 * np.asarray(config.widths_km), quad_segs=16)  # one row per width
    inner = gpd.GeoSeries([shapely.Polygon(), *outer.iloc[:-1]], crs=METRIC_CRS)
    rings = outer.difference(inner, align=False)
    return gpd.GeoDataFrame(
        {
            "label": config.labels,
            "inner_km": (0.0, *config.widths_km[:-1]),
            "width_km": config.widths_km,
        },
        geometry=rings.to_crs(WGS84).to_numpy(),
        crs=WGS84,
    )


def _short_name(area: Area) -> str:
    for suffix in (" Province", " District"):
        if area.name.endswith(suffix):
            return area.name[: -len(suffix)]
    return area.name


def _units(areas: Areas, country: str) -> gpd.GeoDataFrame:
    """The admin-1 units of one country, in the metric CRS."""
    units = [a for a in areas.areas if a.country == country and a.kind in ("province", "district")]
    if not units:
        raise GazetteerError(f"areas: no admin-1 units for {country}")
    return gpd.GeoDataFrame(
        {"unit": [a.id for a in units], "short": [_short_name(a) for a in units]},
        geometry=[a.geometry for a in units],
        crs=WGS84,
    ).to_crs(METRIC_CRS)


def _nearest(
    points: gpd.GeoDataFrame, targets: gpd.GeoDataFrame, distance_col: str | None = None
) -> gpd.GeoDataFrame:
    """One row per point, in the points' order: its nearest target (ties, at junctions, go to the first)."""
    joined = gpd.sjoin_nearest(points, targets, how="left", distance_col=distance_col)
    return joined[~joined.index.duplicated(keep="first")].sort_index()


def _pieces(line: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    """A metric line cut into two-point segments no longer than :data:`SEGMENT_M`, and their midpoints."""
    parts = shapely.get_parts(shapely.segmentize(line, SEGMENT_M))
    coords, index = shapely.get_coordinates(parts, return_index=True)
    same = index[:-1] == index[1:]
    starts, ends = coords[:-1][same], coords[1:][same]
    return shapely.linestrings(np.stack([starts, ends], axis=1)), shapely.points((starts + ends) / 2)


def border_sectors(
    areas: Areas, border: BaseGeometry | None = None, *, footprint_km: float = ZoneConfig().max_km
) -> gpd.GeoDataFrame:
    """The border split where the admin-1 units on either side change, one row per pair of units.

    Each small piece of the border is given the nearest Armenian and the nearest Azerbaijani unit
    (spatial joins on the pieces' midpoints); pieces with the same pair are merged, so a pair met
    twice along the border is one (multi-line) sector. Columns: ``name`` ("Gegharkunik–Kalbajar",
    Armenian unit first), ``am_unit``, ``az_unit`` (area ids), ``length_km``, ``geometry`` (the
    sector's line) and ``footprint``: the border buffered by ``footprint_km``, trimmed to the part
    nearer this sector than any other, so that footprints tile the widest zone without overlapping
    (an incident assigned to a sector lies in its footprint). All in WGS84; rows run north to south.
    """
    line = _to_metric(border if border is not None else border_line(areas))
    segments, midpoints = _pieces(line)
    pieces = gpd.GeoDataFrame(geometry=midpoints, crs=METRIC_CRS)
    first = _nearest(pieces, _units(areas, FIRST_SIDE))
    second = _nearest(pieces, _units(areas, SECOND_SIDE))
    pieces = gpd.GeoDataFrame(
        {
            "name": first["short"].to_numpy() + "–" + second["short"].to_numpy(),
            "am_unit": first["unit"].to_numpy(),
            "az_unit": second["unit"].to_numpy(),
            "length_km": shapely.length(segments) / 1000,
        },
        geometry=segments,
        crs=METRIC_CRS,
    )
    sectors = pieces.dissolve(by="name", aggfunc={"am_unit": "first", "az_unit": "first", "length_km": "sum"})
    sectors["geometry"] = shapely.line_merge(sectors.geometry.to_numpy())
    sectors = sectors.reset_index()

    # Footprints: Voronoi cells of the pieces' midpoints, merged per sector, clipped to the buffer.
    cells = gpd.GeoDataFrame(
        geometry=shapely.get_parts(
            shapely.voronoi_polygons(
                shapely.multipoints(midpoints), extend_to=line.buffer(2000 * footprint_km), ordered=True
            )
        ),
        crs=METRIC_CRS,
    )
    cells["name"] = pieces["name"].to_numpy()
    territory = cells.dissolve(by="name").geometry.reindex(sectors["name"])
    footprint = territory.intersection(line.buffer(1000 * footprint_km, quad_segs=16)).make_valid()

    sectors["footprint"] = gpd.GeoSeries(footprint.to_numpy(), crs=METRIC_CRS).to_crs(WGS84)
    sectors = sectors.set_geometry("geometry").to_crs(WGS84)
    sectors["length_km"] = sectors["length_km"].round(1)
    north = sectors.geometry.bounds["maxy"]
    order = north.sort_values(ascending=False, kind="stable").index
    return sectors.loc[
        order, ["name", "am_unit", "az_unit", "length_km", "geometry", "footprint"]
    ].reset_index(drop=True)


def assign(
    incidents: Iterable[Incident],
    areas: Areas,
    config: ZoneConfig | None = None,
    *,
    border: BaseGeometry | None = None,
    sectors: gpd.GeoDataFrame | None = None,
) -> list[ZoneAssignment]:
    """Each incident's distance to the border, its band and its nearest sector, in incident order.

    One nearest-neighbour spatial join of the incidents' points against the sectors' lines (in
    :data:`METRIC_CRS`) gives both the distance to the border and the nearest sector. Pass
    ``border`` and ``sectors`` when already computed, to skip deriving them from ``areas``.
    """
    located = list(incidents)
    if not located:
        return []
    config = config or ZoneConfig()
    if sectors is None:
        sectors = border_sectors(areas, border, footprint_km=config.max_km)
    points = gpd.GeoDataFrame(
        {"incident": [i.id for i in located]},
        geometry=gpd.points_from_xy(x=[i.place.lon for i in located], y=[i.place.lat for i in located]),
        crs=WGS84,
    ).to_crs(METRIC_CRS)
    lines = sectors[["name", "geometry"]].set_geometry("geometry").to_crs(METRIC_CRS)
    nearest = _nearest(points, lines.rename(columns={"name": "sector"}), distance_col="m")

    km = nearest["m"].to_numpy() / 1000
    band = np.searchsorted(np.asarray(config.widths_km), km, side="left")  # first width >= distance
    inside = band < len(config.widths_km)
    labels = np.array([*config.labels, None], dtype=object)[band]
    sector = np.where(inside, nearest["sector"].to_numpy(), None)
    return [
        ZoneAssignment(incident=i, distance_km=round(float(d), 1), zone=z, sector=s)
        for i, d, z, s in zip(nearest["incident"], km, labels, sector, strict=True)
    ]


def _geojson_geometry(geometry: BaseGeometry) -> dict[str, Any]:
    """An RFC 7946 geometry: coordinates on a 1e-5° grid (topology kept valid), rings counter-clockwise."""
    fixed = shapely.orient_polygons(shapely.set_precision(geometry, 10**-COORD_DECIMALS))
    return _rounded(mapping(fixed))


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, COORD_DECIMALS)
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def zones_geojson(
    border: BaseGeometry,
    zones: gpd.GeoDataFrame,
    sectors: gpd.GeoDataFrame,
    counts: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection named "zones": the border, the bands and the sectors' footprints.

    Properties: the border has ``kind`` "border" and ``length_km``; each band ``kind`` "zone",
    ``label``, ``inner_km`` and ``width_km``; each sector ``kind`` "sector", ``name``, ``units`` (its
    Armenian and Azerbaijani area ids), ``am_unit``, ``az_unit``, ``length_km`` and ``incidents``
    (``counts[name]``, 0 when absent). Coordinates are [lon, lat], rounded to 5 decimals.
    """
    counts = counts or {}
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": _geojson_geometry(border),
            "properties": {"kind": "border", "length_km": round(length_km(border), 1)},
        }
    ]
    for row in zones.itertuples(index=False):
        features.append(
            {
                "type": "Feature",
                "geometry": _geojson_geometry(row.geometry),
                "properties": {
                    "kind": "zone",
                    "label": row.label,
                    "inner_km": float(row.inner_km),
                    "width_km": float(row.width_km),
                },
            }
        )
    for row in sectors.itertuples(index=False):
        features.append(
            {
                "type": "Feature",
                "geometry": _geojson_geometry(row.footprint),
                "properties": {
                    "kind": "sector",
                    "name": row.name,
                    "units": [row.am_unit, row.az_unit],
                    "am_unit": row.am_unit,
                    "az_unit": row.az_unit,
                    "length_km": float(row.length_km),
                    "incidents": int(counts.get(row.name, 0)),
                },
            }
        )
    return {"type": "FeatureCollection", "name": "zones", "features": features}


#: The layer (file and GeoPackage table) each ``kind`` of zones feature is exported to.
ZONE_LAYERS = {"border": "border", "zone": "zones", "sector": "sectors"}


def split_zones(collection: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The features of :func:`zones_geojson`'s collection by layer ("border", "zones", "sectors"),
    without their ``kind``: each layer holds one geometry type and the same attributes on every
    feature, as GIS formats need (the map keeps the one collection)."""
    layers: dict[str, list[dict[str, Any]]] = {name: [] for name in ZONE_LAYERS.values()}
    for feature in collection.get("features", []):
        properties = dict(feature.get("properties") or {})
        layer = ZONE_LAYERS.get(properties.pop("kind", None))
        if layer is not None:
            layers[layer].append({**feature, "properties": properties})
    return layers


class BorderZones:
    """The zones stage: the border, its bands and sectors computed once, then incidents placed in them."""

    def __init__(self, areas: Areas, config: ZoneConfig | None = None) -> None:
        self.areas = areas
        self.config = config or ZoneConfig()
        self.border = border_line(areas)
        self.bands = buffer_zones(self.border, self.config.widths_km)
        self.sectors = border_sectors(areas, self.border, footprint_km=self.config.max_km)

    def place(self, incidents: Sequence[Incident]) -> list[Incident]:
        """The incidents with their distance to the border, band and sector filled in (not for those
        placed at a country or a large region, whose point says nothing of their distance)."""
        located = [i for i in incidents if i.geo_precision < 3]
        found = {
            a.incident: a
            for a in assign(located, self.areas, self.config, border=self.border, sectors=self.sectors)
        }
        return [
            replace(i, distance_km=a.distance_km, zone=a.zone, sector=a.sector)
            if (a := found.get(i.id))
            else i
            for i in incidents
        ]

    def geojson(self, incidents: Sequence[Incident]) -> dict[str, Any]:
        """zones.geojson: the border, the bands, and the sectors with their incident counts."""
        counts: dict[str, int] = {}
        for incident in incidents:
            if incident.sector:
                counts[incident.sector] = counts.get(incident.sector, 0) + 1
        return zones_geojson(self.border, self.bands, self.sectors, counts)
