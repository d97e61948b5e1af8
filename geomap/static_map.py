"""The static incident map people publish: a titled, labelled map with a legend, scale and sources.

Drawn with matplotlib's Agg canvas, entirely offline: country outlines from the gazetteer's
basemap (Natural Earth 1:110m) and the detailed countries and admin-1 units of ``areas.geojson``,
place names from the curated gazetteer. Nothing names a theatre: the countries in view, the towns
labelled and the extent all follow from the incidents given.

The map is drawn in an azimuthal equidistant projection centred on its extent, in metres, so the
scale bar (matplotlib-scalebar) is true at the centre and within a fraction of a percent across a
theatre-sized map; lon/lat degrees are never used as a distance.

Labels are placed greedily, most important first (incident places by incidents and fatalities,
then capitals, towns by population, countries), each at the first of eight positions
around its point that overlaps no label already placed, no map furniture and as few markers as
possible. A label that finds no free position is left out and counted, so no two labels ever
overlap (adjustText's repulsion does not promise that, and needs SciPy, 140 MB, besides).

Incidents located only at a country or a large region are not drawn at that area's centre point
(which would invent a location): the map's note lists them, with incidents outside the extent.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import shapely
from matplotlib import patheffects, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib_scalebar.dimension import _Dimension
from matplotlib_scalebar.scalebar import ScaleBar
from pyproj import CRS, Transformer
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from geomap.areas import Areas
from geomap.errors import GeomapError
from geomap.export import DATA_SOURCES
from geomap.gazetteer import capitals, data_dir
from geomap.maps import COLOURS, DEFAULT_COLOUR, ZONE_COLOURS
from geomap.models import Article, Incident, Place

FORMATS = ("png", "svg", "pdf")
# Incidents at these kinds of place (or with ACLED's geo_precision 3) have no point of their own.
COARSE_KINDS = frozenset({"country", "region", "province", "continent"})
TOWN_KINDS = frozenset({"city", "town"})
LAND, LAND_FOCUS, WATER = "#ece8e1", "#fbf9f5", "#dbe7ef"
HALO = [patheffects.withStroke(linewidth=2.4, foreground="white")]
LABEL_PAD_PX = 2.0  # room kept around every label: its white halo, and air
MIN_SPAN_M = 120_000.0  # a single incident still shows its surroundings
MARGIN = 0.12  # of the incidents' span, on each side
SMALL_SCALE_M = 3_000_000.0  # a map wider than this has no scale bar or north arrow: neither holds across it
RASTER_MARKERS = 2_000  # above this many markers, a PDF or SVG holds them as one picture
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class StaticMapError(GeomapError, ValueError):
    """A size, format or extent the static map does not know."""


@dataclass(frozen=True, slots=True)
class Size:
    """A page or screen size: inches and dots per inch, with what fits on it."""

    width_in: float
    height_in: float
    dpi: int
    font_pt: float  # body text; titles and labels are scaled from it
    max_labels: int  # incident places labelled at most (the others are counted in the note)
    towns: int  # towns and capitals labelled for context at most

    @property
    def pixels(self) -> tuple[int, int]:
        """Width and height of the PNG (matplotlib's Agg canvas truncates the product)."""
        return int(self.width_in * self.dpi + 1e-6), int(self.height_in * self.dpi + 1e-6)


SIZES: Mapping[str, Size] = {
    "a4-landscape": Size(297 / 25.4, 210 / 25.4, 150, 8.0, 36, 10),  # 1753 x 1240 px; the PDF is A4
    "1920x1080": Size(12.8, 7.2, 150, 8.5, 36, 10),
    "1200x675": Size(8.0, 4.5, 150, 7.5, 14, 6),  # social media: fewer, larger labels
}


@dataclass(frozen=True, slots=True)
class MapOptions:
    """How to draw: title, a preset of :data:`SIZES`, an optional extent (west, south, east, north
    in degrees) that overrides the one fitted to the incidents, and the file format."""

    title: str = "geomap"
    size: str = "a4-landscape"
    bbox: tuple[float, float, float, float] | None = None
    fmt: str = "png"

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise StaticMapError(f"unknown size {self.size!r}: choose one of {', '.join(SIZES)}")
        if self.fmt not in FORMATS:
            raise StaticMapError(f"unknown format {self.fmt!r}: choose one of {', '.join(FORMATS)}")
        if self.bbox is not None:
            check_bbox(self.bbox)


@dataclass(frozen=True, slots=True)
class PlacedLabel:
    """A label on the map: what it names and the text artist drawn."""

    name: str
    kind: str  # "incident", "capital", "town" or "country"
    text: Text


@dataclass(slots=True)
class StaticMap:
    """A drawn map and what it shows, for writing it out and for checking it."""

    figure: Figure
    ax: Axes
    inset: Axes | None
    crs: CRS
    scalebar: ScaleBar | None  # None on a map that spans a continent
    labels: list[PlacedLabel]
    legend: Any  # matplotlib's Legend, in the side panel
    legend_counts: dict[str, int]  # incidents drawn, by type
    coarse: dict[str, int]  # incidents located only at a country or region, by place name
    outside: int  # incidents outside the extent
    unlabelled: int  # incident places in view without a label
    notes: list[str] = field(default_factory=list)

    def to_bytes(self, fmt: str = "png") -> bytes:
        """The map as a PNG, SVG or PDF file (the same bytes for the same map: no dates inside)."""
        if fmt not in FORMATS:
            raise StaticMapError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
        return figure_bytes(self.figure, fmt)


def figure_bytes(figure: Figure, fmt: str) -> bytes:
    """``figure`` saved as ``fmt``, without the creation dates that would make each file differ.

    A PNG is reduced to 256 colours (no dithering: flat fills, lines and text look the same, in a
    third of the bytes). Text in an SVG is drawn as outlines, the same in every viewer whatever fonts
    it has (the label layout depends on the glyphs' widths); a PDF embeds the font, so its text can
    be selected."""
    buffer = io.BytesIO()
    if fmt == "png":
        from PIL import Image

        FigureCanvasAgg(figure).draw()
        pixels = Image.fromarray(np.asarray(figure.canvas.buffer_rgba())).convert("RGB")
        pixels.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
            buffer, format="PNG", compress_level=9, dpi=(figure.dpi, figure.dpi)
        )
        return buffer.getvalue()
    metadata: dict[str, Any] = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}[fmt]
    with rc_context({"svg.hashsalt": "geomap", "svg.fonttype": "path", "pdf.fonttype": 42}):
        figure.savefig(buffer, format=fmt, dpi=figure.dpi, metadata=metadata)
    return buffer.getvalue()


def check_bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    """``bbox`` as (west, south, east, north) degrees, or StaticMapError saying what is wrong."""
    if len(bbox) != 4:
        raise StaticMapError(f"a bbox has four numbers, west,south,east,north; got {len(bbox)}")
    west, south, east, north = (float(v) for v in bbox)
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise StaticMapError("a bbox's numbers must be finite")
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise StaticMapError(
            f"bbox {west},{south},{east},{north}: expected west < east within ±180, south < north within ±90"
        )
    return west, south, east, north


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``"W,S,E,N"`` (degrees, as ``--bbox`` takes it) as a checked tuple."""
    try:
        values = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError as exc:
        raise StaticMapError(f"bbox {text!r}: expected four numbers west,south,east,north") from exc
    return check_bbox(values)


def render(
    incidents: Sequence[Incident],
    zones: Mapping[str, Any] | None = None,
    *,
    articles: Sequence[Article] = (),
    title: str = "geomap",
    size: str = "a4-landscape",
    bbox: Sequence[float] | None = None,
    fmt: str = "png",
) -> bytes:
    """The static map of ``incidents`` (and the border ``zones``, zones.geojson) as file bytes."""
    options = MapOptions(title=title, size=size, bbox=None if bbox is None else check_bbox(bbox), fmt=fmt)
    drawn = draw(incidents, zones, articles=articles, options=options)
    return drawn.to_bytes(fmt)


# --- geometry --------------------------------------------------------------------------------------


def coarse(incident: Incident) -> bool:
    """True when the incident is located only at a country or a large region (no point of its own)."""
    return incident.geo_precision >= 3 or incident.place.kind in COARSE_KINDS


def local_crs(lon: float, lat: float) -> CRS:
    """An azimuthal equidistant projection in metres centred on (lon, lat): distances from the centre
    are true, and the scale elsewhere on a theatre-sized map is within a fraction of a percent."""
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat:.6f} +lon_0={lon:.6f} +datum=WGS84 +units=m +no_defs")


@dataclass(frozen=True, slots=True)
class _Projection:
    crs: CRS
    forward: Transformer
    inverse: Transformer

    @classmethod
    def centred(cls, lon: float, lat: float) -> _Projection:
        crs = local_crs(lon, lat)
        return cls(
            crs,
            Transformer.from_crs("EPSG:4326", crs, always_xy=True),
            Transformer.from_crs(crs, "EPSG:4326", always_xy=True),
        )

    def points(self, lons: Sequence[float], lats: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.forward.transform(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        return np.asarray(x), np.asarray(y)

    def geometry(self, geometry: BaseGeometry) -> BaseGeometry:
        def move(coords: np.ndarray) -> np.ndarray:
            x, y = self.forward.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geometry, move)

    def lonlat_bounds(self, extent: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """The lon/lat bounds of a projected rectangle (its edges sampled: they curve in degrees)."""
        x0, y0, x1, y1 = extent
        t = np.linspace(0.0, 1.0, 25)
        xs = np.concatenate([x0 + (x1 - x0) * t, np.full(25, x1), x1 - (x1 - x0) * t, np.full(25, x0)])
        ys = np.concatenate([np.full(25, y0), y0 + (y1 - y0) * t, np.full(25, y1), y1 - (y1 - y0) * t])
        lons, lats = self.inverse.transform(xs, ys)
        lons, lats = np.asarray(lons), np.asarray(lats)
        ok = np.isfinite(lons) & np.isfinite(lats)
        if not ok.any():
            return -180.0, -90.0, 180.0, 90.0
        return float(lons[ok].min()), float(lats[ok].min()), float(lons[ok].max()), float(lats[ok].max())


@dataclass(frozen=True, slots=True)
class _Basemap:
    """The outlines a map draws: every country (the detailed one where the areas have it whole) and
    the admin-1 units of the areas (not the approximate regions drawn over them)."""

    world: tuple[tuple[str, BaseGeometry], ...]
    units: tuple[BaseGeometry, ...]


@cache
def _world_outlines() -> tuple[tuple[str, BaseGeometry], ...]:
    """Every country of the 1:110m basemap, valid."""
    path = data_dir() / "basemap.geojson"
    world = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"features": []}
    countries = []
    for feature in world["features"]:
        geometry = shape(feature["geometry"])
        name = str((feature.get("properties") or {}).get("name") or "")
        countries.append((name, geometry if geometry.is_valid else shapely.make_valid(geometry)))
    return tuple(countries)


def _basemap(areas: Areas | None) -> _Basemap:
    """The basemap of ``areas`` (the theatre's; the curated gazetteer's when None)."""
    from geomap.areas import default_areas

    areas = areas if areas is not None else default_areas()
    shipped = areas.areas if areas else ()
    detailed = {a.name: a.geometry for a in shipped if a.kind == "country" and a.whole}
    world = [(name, detailed.pop(name, None) or geometry) for name, geometry in _world_outlines()]
    world += [(name, g if g.is_valid else shapely.make_valid(g)) for name, g in sorted(detailed.items())]
    units = tuple(a.geometry for a in shipped if a.kind != "country" and not a.approximate)
    return _Basemap(tuple(world), units)


def _reference_places() -> list[Place]:
    from geomap.gazetteer import default_gazetteer

    return [p for p in default_gazetteer().places.values() if p.kind in TOWN_KINDS]


# --- extent ----------------------------------------------------------------------------------------


def _fit(extent: tuple[float, float, float, float], aspect: float) -> tuple[float, float, float, float]:
    """``extent`` grown about its centre to the height/width ratio ``aspect`` of the axes."""
    x0, y0, x1, y1 = extent
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    if h / w < aspect:
        h = w * aspect
    else:
        w = h / aspect
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _frame(
    incidents: Sequence[Incident],
    bbox: tuple[float, float, float, float] | None,
    aspect: float,
    basemap: _Basemap,
) -> tuple[_Projection, tuple[float, float, float, float]]:
    """The projection and projected extent: ``bbox``'s, or the incidents' with a margin."""
    if bbox is not None:
        west, south, east, north = bbox
        projection = _Projection.centred((west + east) / 2, (south + north) / 2)
        t = np.linspace(0.0, 1.0, 25)
        lons = np.concatenate(
            [west + (east - west) * t, np.full(25, east), west + (east - west) * t, np.full(25, west)]
        )
        lats = np.concatenate(
            [np.full(25, south), south + (north - south) * t, np.full(25, north), south + (north - south) * t]
        )
        x, y = projection.points(lons, lats)
        return projection, _fit((x.min(), y.min(), x.max(), y.max()), aspect)
    framed = [i for i in incidents if not coarse(i)] or list(incidents)
    if framed:
        lons = [i.place.lon for i in framed]
        lats = [i.place.lat for i in framed]
    else:  # nothing to frame: the theatre's units, else the world
        units = basemap.units
        lon0, lat0, lon1, lat1 = (
            shapely.GeometryCollection(list(units)).bounds if units else (-170, -60, 170, 75)
        )
        lons, lats = [lon0, lon1], [lat0, lat1]
    projection = _Projection.centred((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)
    x, y = projection.points(lons, lats)
    w, h = float(x.max() - x.min()), float(y.max() - y.min())
    pad = max(MARGIN * max(w, h), (MIN_SPAN_M - max(w, h)) / 2, 0.0)
    cx, cy = (x.max() + x.min()) / 2, (y.max() + y.min()) / 2
    half_w, half_h = w / 2 + pad, h / 2 + pad
    return projection, _fit((cx - half_w, cy - half_h, cx + half_w, cy + half_h), aspect)


# --- labels ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _LabelRequest:
    name: str
    text: str
    kind: str
    x: float  # projected metres
    y: float
    radius_px: float  # of the point's marker; 0 for a label centred on its point (countries)
    style: Mapping[str, Any]


# (dx, dy, ha, va): the label's anchor relative to the point, in units of (radius + gap)
_POSITIONS = (
    (1.0, 0.0, "left", "center"),
    (0.75, 0.75, "left", "bottom"),
    (0.75, -0.75, "left", "top"),
    (-1.0, 0.0, "right", "center"),
    (-0.75, 0.75, "right", "bottom"),
    (-0.75, -0.75, "right", "top"),
    (0.0, 1.0, "center", "bottom"),
    (0.0, -1.0, "center", "top"),
)


# a label centred on its point (a country's name), else moved up or down by its height
_CENTRED = tuple((0.0, dy, "center", "center") for dy in (0.0, 1.2, -1.2, 2.4, -2.4))


def _box(px: float, py: float, w: float, h: float, ha: str, va: str) -> np.ndarray:
    left = {"left": px, "right": px - w, "center": px - w / 2}[ha]
    bottom = {"bottom": py, "top": py - h, "center": py - h / 2}[va]
    return np.array([left, bottom, left + w, bottom + h])


def _hits(candidate: np.ndarray, boxes: np.ndarray) -> int:
    if not len(boxes):
        return 0
    return int(
        np.count_nonzero(
            (boxes[:, 0] < candidate[2])
            & (boxes[:, 2] > candidate[0])
            & (boxes[:, 1] < candidate[3])
            & (boxes[:, 3] > candidate[1])
        )
    )


def _candidates(request: _LabelRequest, h: float) -> list[tuple[float, float, float, str, str, bool]]:
    """(penalty, dx, dy, ha, va, leader) of each position to try, in display pixels from the point:
    the eight beside the marker, then for an incident place the same eight further out, joined to
    the marker by a leader line (worth it once the near ones are taken or cover markers)."""
    if not request.radius_px:
        return [(0.01 * k, dx * h, dy * h, ha, va, False) for k, (dx, dy, ha, va) in enumerate(_CENTRED)]
    near, far = request.radius_px + 2.5, request.radius_px + 2.5 + 2.2 * h
    found = [(0.01 * k, dx * near, dy * near, ha, va, False) for k, (dx, dy, ha, va) in enumerate(_POSITIONS)]
    if request.kind == "incident":
        found += [
            (1.5 + 0.01 * k, dx * far, dy * far, ha, va, True)
            for k, (dx, dy, ha, va) in enumerate(_POSITIONS)
        ]
    return found


def _place_labels(
    ax: Axes,
    requests: Sequence[_LabelRequest],
    *,
    renderer: Any,
    markers: np.ndarray,
    blocked: Sequence[np.ndarray],
) -> list[PlacedLabel]:
    """Each request's label at its best free position (greedy, in the order given: no label ever
    overlaps one placed before); the requests that find none get no label. ``markers`` (display
    boxes) are covered as little as possible."""
    frame = ax.get_window_extent(renderer)
    inner = (frame.x0 + 2, frame.y0 + 2, frame.x1 - 2, frame.y1 - 2)
    taken = [np.asarray(b, dtype=float) for b in blocked]
    to_data = ax.transData.inverted()
    placed = []
    for request in requests:
        px, py = ax.transData.transform((request.x, request.y))
        if not (inner[0] <= px <= inner[2] and inner[1] <= py <= inner[3]):
            continue
        text = ax.text(request.x, request.y, request.text, ha="left", va="bottom", **request.style)
        extent = text.get_window_extent(renderer)
        w, h = extent.width + 2 * LABEL_PAD_PX, extent.height + 2 * LABEL_PAD_PX
        occupied = np.array(taken) if taken else np.empty((0, 4))
        best: tuple[float, np.ndarray, float, float, str, str, bool] | None = None
        for penalty, dx, dy, ha, va, leader in _candidates(request, extent.height):
            if best is not None and penalty >= best[0]:
                break  # the candidates come in order of penalty: none further can do better
            candidate = _box(px + dx, py + dy, w, h, ha, va)
            if (
                candidate[0] < inner[0]
                or candidate[1] < inner[1]
                or candidate[2] > inner[2]
                or candidate[3] > inner[3]
                or _hits(candidate, occupied)
            ):
                continue
            score = penalty + _hits(candidate, markers)
            if best is None or score < best[0]:
                best = (score, candidate, px + dx, py + dy, ha, va, leader)
        if best is None:
            text.remove()
            continue
        _, candidate, lx, ly, ha, va, leader = best
        text.set_position(to_data.transform((lx, ly)))
        text.set_horizontalalignment(ha)
        text.set_verticalalignment(va)
        if leader:
            start = np.array([px, py]) + (np.array([lx, ly]) - [px, py]) * request.radius_px / np.hypot(
                lx - px, ly - py
            )
            ends = to_data.transform([start, (lx, ly)])
            ax.plot(
                ends[:, 0], ends[:, 1], color="#333333", linewidth=0.8, zorder=7.8, solid_capstyle="round"
            )
        taken.append(candidate)
        placed.append(PlacedLabel(request.name, request.kind, text))
    return placed


# --- drawing ---------------------------------------------------------------------------------------


def marker_size_pt(fatalities: int | None, scale: float = 1.0) -> float:
    """A marker's radius in points: grows with the log of the fatalities, readable at zero."""
    return scale * (2.6 + 1.9 * math.log10(1 + max(0, fatalities or 0)))


def outlet(url: str | None, fallback: str) -> str:
    """Who published an article: its url's host without "www.", else ``fallback`` (a doc id)."""
    try:
        host = urlsplit(url).hostname if url else None
    except ValueError:
        host = None
    return host.removeprefix("www.") if host else fallback


def sources_line(incidents: Sequence[Incident], articles: Sequence[Article] = ()) -> str:
    """ "Sources: N articles from M outlets", counting the articles the incidents cite."""
    urls = {a.id: a.url for a in articles}
    docs: dict[str, str | None] = {}
    for incident in incidents:
        docs.setdefault(incident.doc, urls.get(incident.doc))
        for source in incident.sources:
            doc = source.get("doc")
            if doc:
                docs[doc] = docs.get(doc) or urls.get(doc) or source.get("url")
    outlets = {outlet(url, doc) for doc, url in docs.items()}
    n, m = len(docs), len(outlets)
    return f"Sources: {n} article{'s' * (n != 1)} from {m} outlet{'s' * (m != 1)}"


def _day(day: dt.date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def date_range(incidents: Sequence[Incident]) -> str:
    """The incidents' dates as a range a reader takes in at once ("3 Mar 2021 – 12 Apr 2021")."""
    dates = sorted(i.date for i in incidents if i.date)
    undated = len(incidents) - len(dates)
    if not dates:
        return "dates not reported" if incidents else "no incidents"
    span = _day(dates[0]) if dates[0] == dates[-1] else f"{_day(dates[0])} – {_day(dates[-1])}"
    return span + (f" ({undated} undated)" if undated else "")


def _rings(geometry: BaseGeometry) -> Iterable[np.ndarray]:
    for polygon in getattr(geometry, "geoms", [geometry]):
        if polygon.geom_type == "Polygon":
            yield np.asarray(polygon.exterior.coords)[:, :2]
            for ring in polygon.interiors:
                yield np.asarray(ring.coords)[:, :2]
        elif polygon.geom_type in ("MultiPolygon", "GeometryCollection"):
            yield from _rings(polygon)


def _plot(ax: Axes, geometries: Sequence[BaseGeometry], **style: Any) -> None:
    """Polygons filled as one compound path (holes stay holes: even-odd)."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    paths = [Path(ring, closed=True) for g in geometries for ring in _rings(g) if len(ring) > 2]
    if paths:
        ax.add_patch(PathPatch(Path.make_compound_path(*paths), **style))


def _lines(ax: Axes, geometries: Sequence[BaseGeometry], **style: Any) -> None:
    """Polygon outlines and lines, as one collection."""
    from matplotlib.collections import LineCollection

    segments: list[np.ndarray] = []
    for geometry in geometries:
        if geometry.geom_type in ("Polygon", "MultiPolygon"):
            segments.extend(_rings(geometry))
            continue
        for part in getattr(geometry, "geoms", [geometry]):
            if part.geom_type == "LineString":
                segments.append(np.asarray(part.coords)[:, :2])
            elif part.geom_type in ("Polygon", "MultiPolygon"):
                segments.extend(_rings(part))
    if segments:
        ax.add_collection(LineCollection(segments, **style), autolim=False)


def _zone_features(zones: Mapping[str, Any] | None, kind: str) -> list[dict[str, Any]]:
    return [f for f in (zones or {}).get("features", []) if (f.get("properties") or {}).get("kind") == kind]


def _clip_one(
    geometry: BaseGeometry,
    projection: _Projection,
    window: tuple[float, float, float, float],
    frame: BaseGeometry,
    tolerance: float,
) -> BaseGeometry | None:
    part = shapely.clip_by_rect(geometry, *window)
    if part.is_empty:
        return None
    part = projection.geometry(shapely.segmentize(part, 0.25))
    if tolerance:  # detail finer than a pixel only weighs down an SVG or a PDF
        part = shapely.simplify(part, tolerance)
    if not part.is_valid:
        part = shapely.make_valid(part)
    return part if part.intersects(frame) else None


def _window(projection: _Projection, extent: tuple[float, float, float, float]) -> tuple[float, ...]:
    """The lon/lat rectangle to cut geometries to before projecting them: the extent's and more."""
    west, south, east, north = projection.lonlat_bounds(extent)
    pad_x, pad_y = 0.25 * (east - west) + 0.5, 0.25 * (north - south) + 0.5
    return (
        max(-180.0, west - pad_x),
        max(-89.0, south - pad_y),
        min(180.0, east + pad_x),
        min(89.0, north + pad_y),
    )


def _clipped(
    geometries: Iterable[BaseGeometry],
    projection: _Projection,
    extent: tuple[float, float, float, float],
    *,
    tolerance: float = 0.0,
) -> list[BaseGeometry | None]:
    """``geometries`` (lon/lat) cut to the projected ``extent``, projected and simplified to
    ``tolerance`` metres; None for those out of view (the list stays aligned with the input)."""
    window, frame = _window(projection, extent), box(*extent)
    return [_clip_one(g, projection, window, frame, tolerance) for g in geometries]


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each part goes, in figure fractions, from the size in inches."""

    size: Size
    footer_lines: int

    def rect(self, x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
        return (
            x / self.size.width_in,
            y / self.size.height_in,
            w / self.size.width_in,
            h / self.size.height_in,
        )

    @property
    def margin(self) -> float:
        return 0.16

    @property
    def header(self) -> float:
        return 3.9 * self.size.font_pt / 72 + 0.06

    @property
    def footer(self) -> float:
        return self.footer_lines * 1.4 * 0.95 * self.size.font_pt / 72 + 0.06

    @property
    def panel(self) -> float:
        return max(2.35, 0.24 * self.size.width_in)

    @property
    def map_box(self) -> tuple[float, float, float, float]:
        """x, y, width, height in inches."""
        gap = 0.16
        w = self.size.width_in - self.panel - 2 * self.margin - gap
        h = self.size.height_in - self.header - self.footer - 2 * self.margin
        return self.margin, self.margin + self.footer, w, h

    @property
    def map(self) -> tuple[float, float, float, float]:
        return self.rect(*self.map_box)

    @property
    def inset_box(self) -> tuple[float, float, float, float]:
        x, y, w, h = self.map_box
        inset_h = min(self.panel * 0.72, h * 0.38)
        return x + w + 0.16, y + h - inset_h, self.panel, inset_h

    @property
    def panel_below_inset(self) -> tuple[float, float, float, float]:
        y = self.map_box[1]
        ix, iy, _, _ = self.inset_box
        return ix, y, self.panel, iy - y - 0.08

    @property
    def chars(self) -> int:
        """Characters of body text that fit on a line across the page."""
        return int((self.size.width_in - 2 * self.margin) * 72 / (self.size.font_pt * 0.95 * 0.55))

    @property
    def panel_chars(self) -> int:
        return int(self.panel * 72 / (self.size.font_pt * 0.9 * 0.55))


def _coarse_notes(incidents: Sequence[Incident]) -> list[str]:
    """One sentence per level (country, region) naming the places of incidents without a point."""
    notes = []
    for level, chosen in (
        ("country", [i for i in incidents if i.place.kind == "country"]),
        ("region", [i for i in incidents if i.place.kind != "country"]),
    ):
        if not chosen:
            continue
        places = Counter(i.place.name for i in chosen).most_common()
        listed = ", ".join(f"{name} {n}" for name, n in places[:6])
        more = f" and {len(places) - 6} more" if len(places) > 6 else ""
        n = len(chosen)
        notes.append(
            f"{n} incident{'s' * (n != 1)} located only at {level} level, not drawn: {listed}{more}."
        )
    return notes


def _draw_zones(
    ax: Axes,
    zones: Mapping[str, Any] | None,
    projection: _Projection,
    extent: tuple[float, float, float, float],
    tolerance: float,
) -> list[tuple[Any, str]]:
    """The border's bands (the nearest darkest) and the border line; their legend entries."""
    entries: list[tuple[Any, str]] = []
    bands = sorted(_zone_features(zones, "zone"), key=lambda f: f["properties"].get("width_km") or 0)
    for index, feature in enumerate(bands):
        colour = ZONE_COLOURS[max(0, len(ZONE_COLOURS) - 1 - index)]
        part = _clipped([shape(feature["geometry"])], projection, extent, tolerance=tolerance)[0]
        if part is None:
            continue
        _plot(ax, [part], facecolor=colour, alpha=0.35, edgecolor="none", zorder=2)
        label = str(feature["properties"].get("label") or "")
        entries.append((Patch(facecolor=colour, alpha=0.35, edgecolor="none"), f"{label} from the border"))
    border = [
        g
        for g in _clipped(
            [shape(f["geometry"]) for f in _zone_features(zones, "border")],
            projection,
            extent,
            tolerance=tolerance,
        )
        if g is not None
    ]
    if border:
        _lines(ax, border, color="#111111", linewidth=1.3, linestyle=(0, (5, 3)), zorder=4)
        entries.insert(0, (Line2D([], [], color="#111111", linewidth=1.3, linestyle=(0, (5, 3))), "Border"))
    return entries


def _incident_requests(
    shown: Sequence[Incident], xs: np.ndarray, ys: np.ndarray, radii_px: np.ndarray, pt: float
) -> list[_LabelRequest]:
    """One label per incident place, the places with most incidents (then fatalities) first."""
    places: dict[str, list[int]] = {}
    for k, incident in enumerate(shown):
        places.setdefault(incident.place.id, []).append(k)

    def rank(item: tuple[str, list[int]]) -> tuple[int, int, str]:
        ks = item[1]
        return -len(ks), -sum(shown[k].fatalities or 0 for k in ks), shown[ks[0]].place.name

    style = {"fontsize": pt, "fontweight": "bold", "color": "#1a1a1a", "path_effects": HALO, "zorder": 8}
    requests = []
    for _, ks in sorted(places.items(), key=rank):
        place = shown[ks[0]].place
        text = place.name if len(ks) == 1 else f"{place.name} ({len(ks)})"
        radius = float(max(radii_px[k] for k in ks))
        requests.append(
            _LabelRequest(place.name, text, "incident", float(xs[ks[0]]), float(ys[ks[0]]), radius, style)
        )
    return requests


def _town_requests(
    projection: _Projection,
    extent: tuple[float, float, float, float],
    taken: Sequence[tuple[float, float]],
    count: int,
    pt: float,
    dpi: int,
) -> list[_LabelRequest]:
    """Capitals, then the largest towns in view, none too close to another or to an incident place."""
    places = [p for p in _reference_places() if p.kind in TOWN_KINDS]
    if not places or count <= 0:
        return []
    x, y = projection.points([p.lon for p in places], [p.lat for p in places])
    x0, y0, x1, y1 = extent
    inset_x, inset_y = 0.04 * (x1 - x0), 0.04 * (y1 - y0)
    inside = (x > x0 + inset_x) & (x < x1 - inset_x) & (y > y0 + inset_y) & (y < y1 - inset_y)
    capital_names = capitals()
    candidates = sorted(
        (k for k in np.flatnonzero(inside)),
        key=lambda k: (
            (places[k].name, places[k].country) not in capital_names,
            -places[k].population,
            places[k].name,
        ),
    )
    spacing = 0.09 * min(x1 - x0, y1 - y0)
    chosen_xy = list(taken)
    requests = []
    for k in candidates:
        if len(requests) >= count:
            break
        capital = (places[k].name, places[k].country) in capital_names
        near = chosen_xy[len(taken) :] if capital else chosen_xy  # a capital yields to no incident place
        if any(math.hypot(x[k] - cx, y[k] - cy) < spacing for cx, cy in near):
            continue
        chosen_xy.append((float(x[k]), float(y[k])))
        kind = "capital" if capital else "town"
        style = {
            "fontsize": pt * (1.05 if capital else 0.92),
            "color": "#222222" if capital else "#4a4a4a",
            "fontweight": "bold" if capital else "normal",
            "path_effects": HALO,
            "zorder": 7.5,
        }
        radius = _town_radius_pt(capital, pt) * dpi / 72
        requests.append(
            _LabelRequest(places[k].name, places[k].name, kind, float(x[k]), float(y[k]), radius, style)
        )
    return requests


def _town_radius_pt(capital: bool, pt: float) -> float:
    return (2.6 if capital else 2.0) * pt / 8.0


def _country_requests(
    countries: Sequence[tuple[str, BaseGeometry | None]], extent: tuple[float, float, float, float], pt: float
) -> list[_LabelRequest]:
    """A country's name at the centre of its part in view, for parts large enough to hold it."""
    from shapely.ops import polylabel

    frame = box(*extent)
    style = {"fontsize": pt * 1.2, "color": "#8f887c", "zorder": 4.5, "path_effects": HALO}
    found = []
    for name, geometry in countries:
        if geometry is None or not name:
            continue
        part = geometry.intersection(frame)
        if part.is_empty or part.area < 0.04 * frame.area:
            continue
        largest = max(getattr(part, "geoms", [part]), key=lambda g: g.area)
        if largest.geom_type != "Polygon":
            continue
        spot = polylabel(largest, tolerance=frame.length / 500)
        found.append((part.area, _LabelRequest(name, name.upper(), "country", spot.x, spot.y, 0.0, style)))
    return [request for _, request in sorted(found, key=lambda f: -f[0])]


def _marker_boxes(ax: Axes, xs: np.ndarray, ys: np.ndarray, radii_px: np.ndarray) -> np.ndarray:
    """Display boxes of the markers, one per distinct position (the largest there)."""
    if not len(xs):
        return np.empty((0, 4))
    px = ax.transData.transform(np.column_stack([xs, ys]))
    keys = np.round(px).astype(np.int64)
    unique: dict[tuple[int, int], int] = {}
    for k, key in enumerate(map(tuple, keys)):
        if key not in unique or radii_px[k] > radii_px[unique[key]]:
            unique[key] = k
    ks = np.fromiter(unique.values(), dtype=int)
    r = radii_px[ks]
    return np.column_stack([px[ks, 0] - r, px[ks, 1] - r, px[ks, 0] + r, px[ks, 1] + r])


def _draw_inset(
    figure: Figure,
    rect: tuple[float, float, float, float],
    aspect: float,
    projection: _Projection,
    extent: tuple[float, float, float, float],
    focus_points: np.ndarray,
    world: Sequence[tuple[str, BaseGeometry]],
) -> Axes:
    """A locator map: the region around the extent, the countries with incidents shaded, the
    extent as a red frame (both maps share the projection, so the frame is a plain rectangle)."""
    from matplotlib.patches import Rectangle

    inset = figure.add_axes(rect)
    x0, y0, x1, y1 = extent
    half = min(max(3.2 * max(x1 - x0, y1 - y0) / 2, 450_000.0), 6_000_000.0)  # not past the antipode
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    region = _fit((cx - half, cy - half, cx + half, cy + half), aspect)
    geometries = [g for _, g in world]
    tolerance = 0.4 * (region[2] - region[0]) / (rect[2] * figure.get_figwidth() * figure.dpi)
    parts = [g for g in _clipped(geometries, projection, region, tolerance=tolerance) if g is not None]
    focus = [g for g in parts if len(focus_points) and shapely.intersects(g, focus_points).any()]
    others = [g for g in parts if not any(g is f for f in focus)]
    inset.set_facecolor(WATER)
    _plot(inset, others, facecolor=LAND, edgecolor="#9a9a9a", linewidth=0.3)
    _plot(inset, focus, facecolor="#d9cdb8", edgecolor="#7a7a7a", linewidth=0.4)
    inset.add_patch(
        Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="#d62728", linewidth=1.3, zorder=5)
    )
    inset.set_xlim(region[0], region[2])
    inset.set_ylim(region[1], region[3])
    inset.set_xticks([])
    inset.set_yticks([])
    for spine in inset.spines.values():
        spine.set_edgecolor("#666666")
        spine.set_linewidth(0.6)
    return inset


@dataclass(frozen=True, slots=True)
class _LegendStyle:
    """How much the legend says: full zone and fatality keys, or one line each (small sizes)."""

    shrink: float = 1.0
    compact_zones: bool = False
    compact_sizes: bool = False


_LEGEND_STYLES = (
    _LegendStyle(),
    _LegendStyle(compact_zones=True),
    _LegendStyle(compact_zones=True, compact_sizes=True),
    _LegendStyle(0.9, True, True),
    _LegendStyle(0.8, True, True),
)


def _legend_entries(
    counts: Counter[str],
    zone_entries: list[tuple[Any, str]],
    fatalities: Sequence[int | None],
    pt: float,
    wrap: int,
    style: _LegendStyle,
) -> tuple[list[Any], list[str], list[int]]:
    """Handles, labels and the indexes of the section headings of the legend."""
    handles: list[Any] = []
    labels: list[str] = []
    headings: list[int] = []

    def entry(handle: Any, label: str) -> None:
        handles.append(handle)
        labels.append("\n".join(textwrap.wrap(label, wrap, break_on_hyphens=False)) or label)

    def heading(text: str) -> None:
        headings.append(len(labels))
        entry(Line2D([], [], linestyle="none"), text)

    def dot(fatalities: int | None, colour: str) -> Line2D:
        size = 2 * marker_size_pt(fatalities, pt / 8.0)
        return Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=size,
            markerfacecolor=colour,
            markeredgecolor="white",
        )

    heading(f"Incidents on the map, by type ({sum(counts.values()):,})")
    for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        entry(dot(3, COLOURS.get(kind, DEFAULT_COLOUR)), f"{kind} ({n:,})")
    if not counts:
        entry(Line2D([], [], linestyle="none"), "no incident in view")
    known = [f for f in fatalities if f]
    if known:
        top = max(known)
        if style.compact_sizes:
            entry(dot(top, "#bbbbbb"), f"size: fatalities (up to {top})")
        else:
            heading("Fatalities")
            for step in [0, *[10**e for e in range(1, 5) if 10**e <= top * 3]][:4]:
                entry(dot(step, "#bbbbbb"), "none or not reported" if step == 0 else f"{step}")
    if zone_entries:
        if style.compact_zones:
            bands = [label.removesuffix(" from the border") for _, label in zone_entries[1:]]
            if zone_entries[0][1] == "Border":
                entry(*zone_entries[0])
            if bands:
                entry(
                    zone_entries[1][0], f"zones {bands[0].split('–')[0]}–{bands[-1].split('–')[-1]} from it"
                )
        else:
            heading("Border zones")
            for handle, label in zone_entries:
                entry(handle, label)
    return handles, labels, headings


def _draw_legend(
    figure: Figure,
    rect: tuple[float, float, float, float],
    counts: Counter[str],
    zone_entries: list[tuple[Any, str]],
    fatalities: Sequence[int | None],
    layout: _Layout,
    renderer: Any,
) -> Any:
    """The legend at the top of ``rect``: the fullest of :data:`_LEGEND_STYLES` that fits in it."""
    pt = layout.size.font_pt
    ax = figure.add_axes(rect)
    ax.set_axis_off()
    floor = ax.get_window_extent(renderer).y0
    legend = None
    for style in _LEGEND_STYLES:
        if legend is not None:
            legend.remove()
        size = pt * style.shrink
        wrap = int(layout.panel_chars / style.shrink) - 5
        handles, labels, headings = _legend_entries(counts, zone_entries, fatalities, size, wrap, style)
        legend = ax.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(0.0, 1.0),
            frameon=False,
            fontsize=size,
            borderaxespad=0.0,
            handlelength=1.6,
            handletextpad=0.6,
            labelspacing=0.4,
            borderpad=0.0,
        )
        for index in headings:
            legend.get_texts()[index].set_fontweight("bold")
        if legend.get_window_extent(renderer).y0 >= floor:
            break
    return legend


def _padded(bbox: Any, pad: float = LABEL_PAD_PX) -> np.ndarray:
    return np.array([bbox.x0 - pad, bbox.y0 - pad, bbox.x1 + pad, bbox.y1 + pad])


def draw(
    incidents: Sequence[Incident],
    zones: Mapping[str, Any] | None = None,
    *,
    articles: Sequence[Article] = (),
    options: MapOptions | None = None,
    areas: Areas | None = None,
) -> StaticMap:
    """Draw the map of ``incidents`` (see the module's docstring) and say what it shows; ``areas``
    are the theatre's outlines and admin-1 units (the curated gazetteer's by default)."""
    options = options or MapOptions()
    size = SIZES[options.size]
    with rc_context({"text.parse_math": False, "font.family": "DejaVu Sans", "font.size": size.font_pt}):
        return _draw(list(incidents), zones, articles, options, size, _basemap(areas))


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the map shows and where, settled before anything is drawn."""

    layout: _Layout
    projection: _Projection
    extent: tuple[float, float, float, float]
    shown: list[Incident]  # located finer than a region, inside the extent
    xs: np.ndarray  # their projected coordinates
    ys: np.ndarray
    coarse: list[Incident]
    outside: int
    notes: list[str]  # the footer's notes known before the labels are placed
    sources: str  # the footer's last sentence: sources, credits
    labelling_line: bool  # room kept in the footer for the note on labels
    basemap: _Basemap


def _plan(
    incidents: list[Incident], articles: Sequence[Article], options: MapOptions, size: Size, basemap: _Basemap
) -> _Plan:
    """The extent, the incidents in view and the footer, whose height fixes the map's (the extent
    is only ever grown to the final map's shape, so what was in view stays in view)."""
    located = [i for i in incidents if not coarse(i)]
    coarse_ones = [i for i in incidents if coarse(i)]
    chars = _Layout(size, 0).chars
    probe = _Layout(size, 3).map_box
    projection, extent = _frame(located or incidents, options.bbox, probe[3] / probe[2], basemap)
    xs, ys = projection.points([i.place.lon for i in located], [i.place.lat for i in located])

    def notes_for(extent: tuple[float, float, float, float]) -> tuple[np.ndarray, list[str]]:
        x0, y0, x1, y1 = extent
        inside = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
        notes = _coarse_notes(coarse_ones)
        if outside := int(np.count_nonzero(~inside)):
            notes.append(f"{outside} incident{'s' * (outside != 1)} outside the map's extent, not drawn.")
        return inside, notes

    inside, notes = notes_for(extent)
    credits = "Base data: " + ", ".join(f"{name} ({licence})" for name, _, licence, _ in DATA_SOURCES)
    sources = (
        f"{sources_line(incidents, articles)}. {credits}. Azimuthal equidistant projection. Made with geomap."
    )
    labelling_line = bool(inside.any())
    layout = _Layout(size, len(_wrapped([*notes, sources], chars)) + labelling_line)
    _, _, box_w, box_h = layout.map_box
    if abs(box_h / box_w - probe[3] / probe[2]) > 1e-9:
        extent = _fit(extent, box_h / box_w)
        inside, notes = notes_for(extent)
    shown = [i for i, keep in zip(located, inside, strict=True) if keep]
    return _Plan(
        layout,
        projection,
        extent,
        shown,
        xs[inside],
        ys[inside],
        coarse_ones,
        len(located) - len(shown),
        notes,
        sources,
        labelling_line,
        basemap,
    )


def _wrapped(paragraphs: Sequence[str], chars: int) -> list[str]:
    return [line for text in paragraphs for line in textwrap.wrap(text, chars, break_on_hyphens=False)]


def _draw_basemap(
    ax: Axes, plan: _Plan, tolerance: float
) -> tuple[list[tuple[str, BaseGeometry | None]], np.ndarray]:
    """Countries (those holding an incident lighter than their neighbours) and admin-1 units; the
    countries in view by name, and the incidents as shapely points."""
    world = plan.basemap.world
    clipped = _clipped([g for _, g in world], plan.projection, plan.extent, tolerance=tolerance)
    countries = list(zip([n for n, _ in world], clipped, strict=True))
    points = shapely.points(np.column_stack([plan.xs, plan.ys])) if plan.shown else np.empty(0)
    in_view = [g for _, g in countries if g is not None]
    focus = [g for g in in_view if len(points) and shapely.intersects(g, points).any()]
    others = [g for g in in_view if not any(g is f for f in focus)]
    _plot(ax, others, facecolor=LAND, edgecolor="none", zorder=1)
    _plot(ax, focus, facecolor=LAND_FOCUS, edgecolor="none", zorder=1)
    units = _clipped(plan.basemap.units, plan.projection, plan.extent, tolerance=tolerance)
    _lines(
        ax,
        [g for g in units if g is not None],
        color="#b3ada4",
        linewidth=0.45,
        linestyle=(0, (3, 2)),
        zorder=2.5,
    )
    _lines(ax, in_view, color="#6b6b6b", linewidth=0.9, zorder=3)
    return countries, points


def _draw_incidents(ax: Axes, plan: _Plan, pt: float) -> np.ndarray:
    """One scatter, the biggest markers underneath so that the small ones stay visible; the same
    marker at the same spot drawn once; many markers go into a PDF or SVG as one picture. Returns
    each incident's marker radius in points."""
    radii = np.array([marker_size_pt(i.fatalities, pt / 8.0) for i in plan.shown])
    if not plan.shown:
        return radii
    unique: dict[tuple[float, float, str, float], int] = {}
    for k in np.argsort(-radii, kind="stable"):
        colour = COLOURS.get(plan.shown[k].sub_event_type, DEFAULT_COLOUR)
        unique.setdefault((round(plan.xs[k]), round(plan.ys[k]), colour, radii[k]), k)
    ks = np.fromiter(unique.values(), dtype=int)
    ax.scatter(
        plan.xs[ks],
        plan.ys[ks],
        s=(2 * radii[ks]) ** 2,
        c=[key[2] for key in unique],
        edgecolors="white",
        linewidths=0.5 * pt / 8.0,
        alpha=0.9,
        zorder=6,
        rasterized=len(ks) > RASTER_MARKERS,
    )
    return radii


class _Metres(_Dimension):
    """Lengths in m or km only: "2000 km", never "2 Mm"."""

    def __init__(self) -> None:
        super().__init__("m")
        self.add_units("km", 1000)


def _draw_furniture(
    ax: Axes, renderer: Any, pt: float, dpi: int, *, small_scale: bool
) -> tuple[ScaleBar | None, list[np.ndarray]]:
    """The scale bar (lower left) and north arrow (upper right), unless the map spans a continent,
    where neither holds across it; the display boxes that labels keep clear of."""
    frame = ax.get_window_extent(renderer)
    if small_scale:
        return None, []
    scalebar = ScaleBar(
        1.0,
        "m",
        dimension=_Metres(),
        location="lower left",
        length_fraction=0.2,
        box_alpha=0.8,
        pad=0.4,
        border_pad=0.5,
        font_properties={"size": pt * 0.95},
        color="#222222",
        width_fraction=0.006,
        scale_loc="top",
        rotation="horizontal-only",  # the axes' scales are equal by construction (see _fit)
    )
    ax.add_artist(scalebar)
    north = ax.annotate(
        "N",
        xy=(0.955, 0.965),
        xytext=(0.955, 0.885),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=pt * 1.15,
        fontweight="bold",
        zorder=9,
        arrowprops={"arrowstyle": "-|>", "color": "#222222", "lw": 1.2, "mutation_scale": 1.3 * pt},
    )
    # the bar's box is known only once drawn: this one holds it (the tests check it does)
    reach = pt * dpi / 72
    bar = np.array([frame.x0, frame.y0, frame.x0 + 0.2 * frame.width + 2.2 * reach, frame.y0 + 4.2 * reach])
    return scalebar, [bar, _padded(north.get_window_extent(renderer), 4)]


def _draw_labels(
    ax: Axes,
    plan: _Plan,
    countries: Sequence[tuple[str, BaseGeometry | None]],
    radii_pt: np.ndarray,
    blocked: Sequence[np.ndarray],
    renderer: Any,
    size: Size,
) -> tuple[list[PlacedLabel], int, int]:
    """Incident places, capitals and towns (with their symbols), countries; the labels placed, and
    how many incident places there are and how many of them are left without a label."""
    pt, dpi = size.font_pt, size.dpi
    radii_px = radii_pt * dpi / 72
    incident_requests = _incident_requests(plan.shown, plan.xs, plan.ys, radii_px, pt)
    requests = incident_requests[: size.max_labels]
    taken = [(r.x, r.y) for r in incident_requests]
    requests += _town_requests(plan.projection, plan.extent, taken, size.towns, pt, dpi)
    requests += _country_requests(countries, plan.extent, pt)
    markers = _marker_boxes(ax, plan.xs, plan.ys, radii_px)
    labels = _place_labels(ax, requests, renderer=renderer, markers=markers, blocked=blocked)
    labelled = {(label.kind, label.name) for label in labels}
    for request in requests:
        if request.kind in ("capital", "town") and (request.kind, request.name) in labelled:
            capital = request.kind == "capital"
            r = _town_radius_pt(capital, pt)
            ax.scatter(
                [request.x],
                [request.y],
                s=(2 * r) ** 2,
                marker="s" if capital else "o",
                facecolor="#222222" if capital else "white",
                edgecolors="#222222",
                linewidths=0.8 * pt / 8.0,
                zorder=7,
            )
    unlabelled = sum(1 for r in incident_requests if ("incident", r.name) not in labelled)
    return labels, len(incident_requests), unlabelled


def _draw_texts(
    figure: Figure, plan: _Plan, title: str, incidents: Sequence[Incident], renderer: Any
) -> None:
    """Title (shrunk to the page's width if need be), dates and count, and the footer."""
    size, layout = plan.layout.size, plan.layout
    pt = size.font_pt
    left = layout.margin / size.width_in
    top = 1 - layout.margin / size.height_in
    heading = figure.text(left, top, title, fontsize=pt * 1.8, fontweight="bold", ha="left", va="top")
    room = (size.width_in - 2 * layout.margin) * size.dpi
    for _ in range(4):  # glyph widths do not scale exactly with the size: measure again
        width = heading.get_window_extent(renderer).width
        if width <= room:
            break
        heading.set_fontsize(heading.get_fontsize() * 0.98 * room / width)
    n = len(incidents)
    subtitle = f"{date_range(incidents)} · {n:,} incident{'s' * (n != 1)}" if n else "No incident"
    figure.text(
        left,
        top - 2.35 * pt / 72 / size.height_in,
        subtitle,
        fontsize=pt * 1.1,
        color="#444444",
        ha="left",
        va="top",
    )
    footer = _wrapped([*plan.notes, plan.sources], layout.chars)
    figure.text(
        left,
        layout.margin / size.height_in,
        "\n".join(footer),
        fontsize=pt * 0.95,
        color="#333333",
        ha="left",
        va="bottom",
        linespacing=1.3,
    )


def _draw(
    incidents: list[Incident],
    zones: Mapping[str, Any] | None,
    articles: Sequence[Article],
    options: MapOptions,
    size: Size,
    basemap: _Basemap,
) -> StaticMap:
    plan = _plan(incidents, articles, options, size, basemap)
    layout, (x0, y0, x1, y1) = plan.layout, plan.extent
    figure = Figure(figsize=(size.width_in, size.height_in), dpi=size.dpi, facecolor="white")
    FigureCanvasAgg(figure)
    renderer = figure.canvas.get_renderer()
    ax = figure.add_axes(layout.map)
    ax.set_facecolor(WATER)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor("#555555")
        spine.set_linewidth(0.8)

    tolerance = 0.4 * (x1 - x0) / (layout.map_box[2] * size.dpi)  # metres in 0.4 pixel
    countries, points = _draw_basemap(ax, plan, tolerance)
    zone_entries = _draw_zones(ax, zones, plan.projection, plan.extent, tolerance)
    radii = _draw_incidents(ax, plan, size.font_pt)
    small_scale = (x1 - x0) > SMALL_SCALE_M
    scalebar, blocked = _draw_furniture(ax, renderer, size.font_pt, size.dpi, small_scale=small_scale)
    labels, places, unlabelled = _draw_labels(ax, plan, countries, radii, blocked, renderer, size)
    if plan.labelling_line:
        plan.notes.append(
            f"{unlabelled} of {places} incident places not labelled, for lack of room."
            if unlabelled
            else f"All {places} incident place{'s' * (places != 1)} labelled."
        )
    _draw_texts(figure, plan, options.title, incidents, renderer)
    _, _, inset_w, inset_h = layout.inset_box
    inset = _draw_inset(
        figure,
        layout.rect(*layout.inset_box),
        inset_h / inset_w,
        plan.projection,
        plan.extent,
        points,
        plan.basemap.world,
    )
    counts = Counter(i.sub_event_type for i in plan.shown)
    fatalities = [i.fatalities for i in plan.shown]
    legend = _draw_legend(
        figure, layout.rect(*layout.panel_below_inset), counts, zone_entries, fatalities, layout, renderer
    )
    return StaticMap(
        figure=figure,
        ax=ax,
        inset=inset,
        crs=plan.projection.crs,
        scalebar=scalebar,
        labels=labels,
        legend=legend,
        legend_counts=dict(counts),
        coarse=dict(Counter(i.place.name for i in plan.coarse)),
        outside=plan.outside,
        unlabelled=unlabelled,
        notes=plan.notes,
    )
