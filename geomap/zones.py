"""A theatre's borders, distance bands along them, their sectors, and incidents placed in them.

The borders are those of a theatre profile (``geomap.theatre``): the shared boundary of each pair of
countries, computed from their polygons (``geomap.areas``) and cached across runs. Every measurement
happens in the theatre's metric CRS: its profile's, or an azimuthal equidistant projection centred on
the borders (:func:`metric_crs`, scale error under 0.1 % within 500 km); every geometry handed back is in
WGS84 (EPSG:4326). Incident points are built from ``place.lon`` / ``place.lat`` by name, so no axis
order is flipped here: GeoJSON's [lon, lat] is shapely's (x, y).

Only shapely's vectorised functions and pyproj are used (no data frames: geopandas and pandas are not
installed by default). Reprojection, nearest-neighbour joins and per-sector merges make the very calls
geopandas made for them, so bands, sectors and assignments are unchanged to the last bit.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from geomap.areas import Area, Areas
from geomap.cache import cache_dir, keep
from geomap.errors import GazetteerError, GeomapError
from geomap.models import Incident
from geomap.theatre import DERIVED_SHARE, Border, Theatre, code_title, derive

WGS84 = "EPSG:4326"
#: How far apart (metres) the two countries' boundary vertices may lie and still count as shared.
SNAP_TOLERANCE_M = 50.0
#: Length (metres) of the pieces the border is cut into to find the units on either side.
SEGMENT_M = 250.0
COORD_DECIMALS = 5
UNIT_KINDS = ("province", "district", "region", "state", "county", "governorate", "department", "admin1")


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


def metric_crs(theatre: Theatre, areas: Areas) -> str:
    """The theatre's metric CRS: its profile's, else an azimuthal equidistant projection centred on
    the middle of its border countries' shared boundaries (the bounds of their polygons' meeting)."""
    if theatre.crs:
        return theatre.crs
    boxes = []
    for border in theatre.borders:
        first, second = _country(areas, border.first), _country(areas, border.second)
        boxes.append(shapely.box(*first.intersection(second.buffer(0.05)).bounds))
    west, south, east, north = shapely.union_all(boxes).bounds
    lat, lon = round((south + north) / 2, 2), round((west + east) / 2, 2)
    return f"+proj=aeqd +lat_0={lat:g} +lon_0={lon:g} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"


@cache
def _transformer(source: str, target: str) -> Transformer | None:
    """The transformer between two CRSs, built once per pair (building one costs a few ms); None when
    they are the same CRS, whose geometries are left as they are."""
    source_crs, target_crs = CRS.from_user_input(source), CRS.from_user_input(target)
    if source_crs.is_exact_same(target_crs):
        return None
    return Transformer.from_crs(source_crs, target_crs, always_xy=True)


def _to_crs(geometries: Any, source: str, target: str) -> Any:
    """A geometry, or an array of them, from ``source`` to ``target``: every coordinate through one
    call of the transformer, in (x, y) = (lon, lat) order; 3D geometries keep their z."""
    transformer = _transformer(source, target)
    if transformer is None:
        return geometries
    return shapely.transform(
        geometries, lambda coords: np.column_stack(transformer.transform(*coords.T)), include_z=None
    )


def _to_metric(geometry: BaseGeometry, crs: str) -> BaseGeometry:
    return _to_crs(geometry, WGS84, crs)


def _to_wgs84(geometry: BaseGeometry, crs: str) -> BaseGeometry:
    return _to_crs(geometry, crs, WGS84)


def _array(geometries: Iterable[BaseGeometry]) -> np.ndarray:
    """A 1-D object array of geometries, as shapely's vectorised functions take them."""
    items = list(geometries)
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _lines_only(geometry: BaseGeometry) -> BaseGeometry:
    """The linear parts of an intersection (dropping the points where boundaries merely touch), merged."""
    parts = shapely.get_parts(geometry)
    lines = parts[np.isin(shapely.get_type_id(parts), (1, 5))]  # LineString, MultiLineString
    return shapely.line_merge(shapely.union_all(lines))


def border_line(
    areas: Areas, border: Border, *, crs: str, tolerance_m: float = SNAP_TOLERANCE_M
) -> BaseGeometry:
    """The border between two countries (their exclaves' and islands' included), in WGS84.

    The shared part of the two countries' boundaries: the second's boundary is snapped onto the
    first's within ``tolerance_m`` metres (in ``crs``) before the two are intersected, so that
    polygons digitised independently still yield one line. Raises
    :class:`~geomap.errors.GazetteerError` when either country is missing or they share no boundary.
    """
    first = _to_metric(_country(areas, border.first), crs).boundary
    second = _to_metric(_country(areas, border.second), crs).boundary
    shared = _lines_only(first.intersection(shapely.snap(second, first, tolerance_m)))
    if shared.is_empty:
        raise GazetteerError(f"areas: {border.first} and {border.second} share no boundary")
    return _to_wgs84(shared, crs)


def border_cache_dir() -> Path:
    """Where computed borders are kept across runs: ``borders`` in geomap's cache folder (read at each
    call, so that ``$GEOMAP_CACHE_DIR`` set after import still moves it)."""
    return cache_dir() / "borders"


def cached_border_line(
    areas: Areas,
    border: Border,
    *,
    crs: str,
    tolerance_m: float = SNAP_TOLERANCE_M,
    cache: Path | None = None,
) -> BaseGeometry:
    """:func:`border_line`, kept in ``cache`` (:func:`border_cache_dir`) under a digest of both
    countries' polygons, the CRS and the tolerance: a long border of detailed polygons takes a second
    to intersect, and the same inputs always give the same line. A damaged entry is computed again."""
    first, second = _country(areas, border.first), _country(areas, border.second)
    digest = hashlib.sha256(f"{crs}|{tolerance_m}|".encode())
    for geometry in (first, second):
        digest.update(shapely.to_wkb(geometry))
    path = (cache or border_cache_dir()) / f"{border.first}-{border.second}-{digest.hexdigest()[:16]}.wkb"
    try:
        return shapely.from_wkb(path.read_bytes())
    except (OSError, shapely.errors.GEOSException):
        pass
    line = border_line(areas, border, crs=crs, tolerance_m=tolerance_m)
    # written whole or not at all; a read-only cache costs only the time to compute it again, and
    # the other entries (other inputs, other tolerances) stay
    keep(path, lambda out: out.write(shapely.to_wkb(line)), older=path.name)
    return line


def share_border(areas: Areas, first: str, second: str) -> bool:
    """Whether two countries of ``areas`` share a stretch of boundary (not a mere point)."""
    a, b = areas.by_id(f"country-{first.lower()}"), areas.by_id(f"country-{second.lower()}")
    if a is None or b is None or not a.geometry.intersects(b.geometry.buffer(0.001)):
        return False
    near = shapely.snap(b.geometry.boundary, a.geometry.boundary, 0.001)  # degrees: about 100 m
    return not _lines_only(a.geometry.boundary.intersection(near)).is_empty


def derive_theatre(incidents: Sequence[Incident]) -> Theatre | None:
    """The theatre of these incidents (see ``geomap.theatre.derive``): the borders between the
    neighbouring countries they happened in."""
    from geomap.areas import theatre_areas

    counts = Counter(i.place.country for i in incidents if i.place.country)
    candidates = [c for c, n in counts.items() if n >= DERIVED_SHARE * sum(counts.values())]
    if len(candidates) < 2:
        return derive(counts, lambda a, b: False)
    areas = theatre_areas(candidates)
    return derive(counts, lambda a, b: share_border(areas, a, b))


def length_km(line: BaseGeometry, *, crs: str) -> float:
    """The length of a WGS84 line in km, measured in ``crs``."""
    return float(_to_metric(line, crs).length / 1000)


@dataclass(frozen=True, slots=True)
class Band:
    """One distance band on both sides of the borders: the ring between two buffers, in WGS84."""

    label: str  # "0–5 km"
    inner_km: float  # the inner buffer's width (0 for the innermost band)
    width_km: float  # the band's outer edge
    geometry: BaseGeometry


@dataclass(frozen=True, slots=True)
class Sector:
    """A stretch of border between one admin-1 unit of each side, in WGS84."""

    name: str  # "Gegharkunik–Kalbajar", the border's first country's unit first
    border: str  # "AM:AZ"
    unit_1: str  # area id of the first country's unit
    unit_2: str  # area id of the second country's unit
    length_km: float  # rounded to 0.1 km
    geometry: BaseGeometry  # the sector's (multi-)line
    footprint: BaseGeometry  # the part of the widest band nearer this sector than any other


def buffer_zones(
    border: BaseGeometry, widths_km: Sequence[float] = ZoneConfig().widths_km, *, crs: str
) -> tuple[Band, ...]:
    """Nested bands on both sides of ``border``, innermost first: each band is its buffer (in ``crs``)
    minus the inner one, handed back in WGS84."""
    config = ZoneConfig(tuple(widths_km))
    metric = _array([_to_metric(border, crs)] * len(config.widths_km))
    outer = shapely.buffer(metric, 1000 * np.asarray(config.widths_km), quad_segs=16)  # one per width
    inner = _array([shapely.Polygon(), *outer[:-1]])
    rings = _to_crs(shapely.difference(outer, inner), crs, WGS84)
    inner_km = (0.0, *config.widths_km[:-1])
    return tuple(
        Band(label=label, inner_km=a, width_km=b, geometry=ring)
        for label, a, b, ring in zip(config.labels, inner_km, config.widths_km, rings, strict=True)
    )


def _short_name(area: Area) -> str:
    for suffix in (" Province", " District", " Governorate", " Region", " State", " Oblast"):
        if area.name.endswith(suffix):
            return area.name[: -len(suffix)]
    return area.name


def _units(areas: Areas, country: str) -> list[Area]:
    """The admin-1 units of one country."""
    units = [a for a in areas.areas if a.country == country and a.kind in UNIT_KINDS]
    if not units:
        raise GazetteerError(f"areas: no admin-1 units for {country}")
    return units


def _nearest(
    points: np.ndarray, targets: np.ndarray, *, distance: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """Each point's nearest target (its index, -1 when there is none) and, with ``distance``, how far
    it is (NaN when there is none).

    Ties, at junctions, go to the first of the tree's equidistant matches: the rule (and the very
    query) of the ``geopandas.sjoin_nearest`` this replaces, so the same sector wins.
    """
    result = shapely.STRtree(targets).query_nearest(points, all_matches=True, return_distance=distance)
    (inputs, found), metres = result if distance else (result, None)
    _, first = np.unique(inputs, return_index=True)  # the first match of each point
    nearest = np.full(len(points), -1, dtype=np.intp)
    nearest[inputs[first]] = found[first]
    if metres is None:
        return nearest, None
    how_far = np.full(len(points), np.nan)
    how_far[inputs[first]] = metres[first]
    return nearest, how_far


def _joined(lines: Sequence[BaseGeometry]) -> BaseGeometry:
    """One geometry of several borders' lines (one border's line as it is)."""
    return lines[0] if len(lines) == 1 else shapely.union_all(lines)


def _pieces(line: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    """A metric line cut into two-point segments no longer than :data:`SEGMENT_M`, and their midpoints."""
    parts = shapely.get_parts(shapely.segmentize(line, SEGMENT_M))
    coords, index = shapely.get_coordinates(parts, return_index=True)
    same = index[:-1] == index[1:]
    starts, ends = coords[:-1][same], coords[1:][same]
    return shapely.linestrings(np.stack([starts, ends], axis=1)), shapely.points((starts + ends) / 2)


def _compensated_sum(values: np.ndarray) -> float:
    """The sum of ``values`` in order with Kahan's compensation, as pandas' groupby sum adds (so that
    lengths rounded to 0.1 km come out as they always did)."""
    total = compensation = 0.0
    for value in values.tolist():
        y = value - compensation
        t = total + y
        compensation = t - total - y
        if compensation != compensation:  # inf - inf
            compensation = 0.0
        total = t
    return total


@dataclass(frozen=True, slots=True)
class _Pieces:
    """The borders' pieces, border after border: each piece's segment, midpoint and pair of units."""

    names: list[str]
    borders: list[str]
    units_1: list[str]
    units_2: list[str]
    segments: np.ndarray  # metric
    midpoints: np.ndarray  # metric

    def groups(self) -> dict[str, np.ndarray]:
        """The pieces' indices by sector name, names in sorted order, pieces in border order."""
        by_name: dict[str, list[int]] = {}
        for index, name in enumerate(self.names):
            by_name.setdefault(name, []).append(index)
        return {name: np.asarray(by_name[name], dtype=np.intp) for name in sorted(by_name)}


def _border_pieces(areas: Areas, lines: Sequence[tuple[Border, BaseGeometry]], crs: str) -> _Pieces:
    """The borders (metric ``lines``) cut into pieces, each piece given the nearest admin-1 unit of
    either side (by its midpoint)."""
    names: list[str] = []
    borders: list[str] = []
    units_1: list[str] = []
    units_2: list[str] = []
    all_segments, all_midpoints = [], []
    for border, line in lines:
        segments, midpoints = _pieces(line)
        sides = []
        for country in (border.first, border.second):
            units = _units(areas, country)
            found, _ = _nearest(midpoints, _to_crs(_array(a.geometry for a in units), WGS84, crs))
            sides.append([units[i] for i in found])
        names += [f"{_short_name(a)}–{_short_name(b)}" for a, b in zip(*sides, strict=True)]
        borders += [str(border)] * len(segments)
        units_1 += [a.id for a in sides[0]]
        units_2 += [b.id for b in sides[1]]
        all_segments.append(segments)
        all_midpoints.append(midpoints)
    return _Pieces(
        names=names,
        borders=borders,
        units_1=units_1,
        units_2=units_2,
        segments=np.concatenate(all_segments),
        midpoints=np.concatenate(all_midpoints),
    )


def border_sectors(
    areas: Areas,
    lines: Sequence[tuple[Border, BaseGeometry]],
    *,
    crs: str,
    footprint_km: float = ZoneConfig().max_km,
) -> tuple[Sector, ...]:
    """The borders split where the admin-1 units on either side change, one :class:`Sector` per pair
    of units, north to south (by their northernmost point).

    Each small piece of a border is given the nearest unit of each side (nearest-neighbour queries
    on the pieces' midpoints); pieces with the same pair are merged, so a pair met twice along the
    border is one (multi-line) sector. Its ``footprint`` is the borders buffered by ``footprint_km``,
    trimmed to the part nearer this sector than any other, so that footprints tile the widest zone
    without overlapping (an incident assigned to a sector lies in its footprint). All in WGS84.
    """
    metric = [(border, _to_metric(line, crs)) for border, line in lines]
    pieces = _border_pieces(areas, metric, crs)
    groups = pieces.groups()
    lengths = shapely.length(pieces.segments) / 1000
    merged = shapely.line_merge(_array(shapely.union_all(pieces.segments[i]) for i in groups.values()))

    # Footprints: Voronoi cells of the pieces' midpoints, merged per sector, clipped to the buffer.
    whole = _joined([line for _, line in metric])
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(pieces.midpoints), extend_to=whole.buffer(2000 * footprint_km), ordered=True
        )
    )
    territory = _array(shapely.union_all(cells[i]) for i in groups.values())
    footprints = shapely.make_valid(
        shapely.intersection(territory, whole.buffer(1000 * footprint_km, quad_segs=16))
    )

    geometries = _to_crs(merged, crs, WGS84)
    footprints = _to_crs(footprints, crs, WGS84)
    rounded = np.round(np.array([_compensated_sum(lengths[i]) for i in groups.values()]), 1)
    firsts = [int(i[0]) for i in groups.values()]
    sectors = [
        Sector(
            name=name,
            border=pieces.borders[first],
            unit_1=pieces.units_1[first],
            unit_2=pieces.units_2[first],
            length_km=float(km),
            geometry=geometry,
            footprint=footprint,
        )
        for name, first, km, geometry, footprint in zip(
            groups, firsts, rounded, geometries, footprints, strict=True
        )
    ]
    north = shapely.bounds(geometries)[:, 3]
    return tuple(sectors[i] for i in np.argsort(-north, kind="stable"))


def assign(
    incidents: Iterable[Incident], sectors: Sequence[Sector], config: ZoneConfig | None = None, *, crs: str
) -> list[ZoneAssignment]:
    """Each incident's distance to the borders, its band and its nearest sector, in incident order.

    One nearest-neighbour query of the incidents' points against the sectors' lines (in ``crs``)
    gives both the distance to the borders and the nearest sector.
    """
    located = list(incidents)
    if not located:
        return []
    config = config or ZoneConfig()
    points = shapely.points(
        np.asarray([i.place.lon for i in located], dtype="float64"),
        np.asarray([i.place.lat for i in located], dtype="float64"),
    )
    lines = _to_crs(_array(s.geometry for s in sectors), WGS84, crs)
    nearest, metres = _nearest(_to_crs(points, WGS84, crs), lines, distance=True)

    km = metres / 1000
    band = np.searchsorted(np.asarray(config.widths_km), km, side="left")  # first width >= distance
    inside = band < len(config.widths_km)
    labels = np.array([*config.labels, None], dtype=object)[band]
    names = [sectors[n].name if n >= 0 and keep else None for n, keep in zip(nearest, inside, strict=True)]
    return [
        ZoneAssignment(incident=i.id, distance_km=round(float(d), 1), zone=z, sector=s)
        for i, d, z, s in zip(located, km, labels, names, strict=True)
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
    lines: Sequence[tuple[Border, BaseGeometry]],
    zones: Sequence[Band],
    sectors: Sequence[Sector],
    counts: Mapping[str, int] | None = None,
    *,
    crs: str,
    title: str = "",
) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection named "zones": the borders, the bands and the sectors' footprints.

    Properties: each border has ``kind`` "border", ``border`` ("AM:AZ"), ``name`` (the theatre's
    ``title``) and ``length_km``; each band ``kind`` "zone", ``label``, ``inner_km`` and ``width_km``;
    each sector ``kind`` "sector", ``name``, ``border``, ``units`` (the area ids of its two sides),
    ``unit_1``, ``unit_2``, ``length_km`` and ``incidents`` (``counts[name]``, 0 when absent).
    Coordinates are [lon, lat], rounded to 5 decimals.
    """
    counts = counts or {}
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": _geojson_geometry(line),
            "properties": {
                "kind": "border",
                "border": str(border),
                "name": title,
                "length_km": round(length_km(line, crs=crs), 1),
            },
        }
        for border, line in lines
    ]
    for band in zones:
        features.append(
            {
                "type": "Feature",
                "geometry": _geojson_geometry(band.geometry),
                "properties": {
                    "kind": "zone",
                    "label": band.label,
                    "inner_km": float(band.inner_km),
                    "width_km": float(band.width_km),
                },
            }
        )
    for sector in sectors:
        features.append(
            {
                "type": "Feature",
                "geometry": _geojson_geometry(sector.footprint),
                "properties": {
                    "kind": "sector",
                    "name": sector.name,
                    "border": sector.border,
                    "units": [sector.unit_1, sector.unit_2],
                    "unit_1": sector.unit_1,
                    "unit_2": sector.unit_2,
                    "length_km": float(sector.length_km),
                    "incidents": int(counts.get(sector.name, 0)),
                },
            }
        )
    return {"type": "FeatureCollection", "name": "zones", "features": features}


def empty_zones() -> dict[str, Any]:
    """zones.geojson of a run without a theatre: no border, no band, no sector."""
    return {"type": "FeatureCollection", "name": "zones", "features": []}


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
    """The zones stage of one theatre: its borders, bands and sectors computed once, then incidents
    placed in them."""

    def __init__(self, areas: Areas, theatre: Theatre, config: ZoneConfig | None = None) -> None:
        self.areas = areas
        self.theatre = theatre
        self.config = config or ZoneConfig(theatre.zones_km)
        self.crs = metric_crs(theatre, areas)
        self.title = theatre.title
        if theatre.title == code_title(theatre.borders):  # a theatre of --border alone: its countries' names
            names = {a.country: a.name for a in areas.areas if a.kind == "country" and a.country}
            self.title = code_title(theatre.borders, names)
        self.lines = [(b, cached_border_line(areas, b, crs=self.crs)) for b in theatre.borders]
        self.border = _joined([line for _, line in self.lines])
        self.bands = buffer_zones(self.border, self.config.widths_km, crs=self.crs)
        self.sectors = border_sectors(areas, self.lines, crs=self.crs, footprint_km=self.config.max_km)

    def place(self, incidents: Sequence[Incident]) -> list[Incident]:
        """The incidents with their distance to the borders, band and sector filled in (not for those
        placed at a country or a large region, whose point says nothing of their distance)."""
        located = [i for i in incidents if i.geo_precision < 3]
        found = {a.incident: a for a in assign(located, self.sectors, self.config, crs=self.crs)}
        return [
            replace(i, distance_km=a.distance_km, zone=a.zone, sector=a.sector)
            if (a := found.get(i.id))
            else i
            for i in incidents
        ]

    def geojson(self, incidents: Sequence[Incident]) -> dict[str, Any]:
        """zones.geojson: the borders, the bands, and the sectors with their incident counts."""
        counts: dict[str, int] = {}
        for incident in incidents:
            if incident.sector:
                counts[incident.sector] = counts.get(incident.sector, 0) + 1
        return zones_geojson(self.lines, self.bands, self.sectors, counts, crs=self.crs, title=self.title)
