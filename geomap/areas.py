"""The shipped area polygons: countries, their admin-1 units, and the curated theatre's regions.

``areas.geojson`` is the curated gazetteer's: compiled by ``gazetteer/build.py`` from Natural Earth
(public domain), with the known errors of its admin-1 layer corrected and validated against GeoNames
points. ``world_areas.gpkg`` holds every country's outline and admin-1 units (Natural Earth 1:10m,
simplified as a coverage so that neighbours share their edges exactly), read a few countries at a
time (:func:`world_areas`). A theatre's zones take both sides of every border from one source
(:func:`theatre_areas`): two sources' outlines of one border would not meet.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from geomap.errors import GazetteerError
from geomap.gazetteer import data_dir

if TYPE_CHECKING:
    from geomap.models import Result


@dataclass(frozen=True, slots=True)
class Area:
    """A polygon with its identity."""

    id: str
    name: str
    kind: str
    country: str | None
    geometry: BaseGeometry
    approximate: bool = False
    note: str = ""

    @property
    def whole(self) -> bool:
        """Whether the polygon is the whole area (a country's may be shipped clipped to the theatre)."""
        return "clipped" not in self.note


WORLD_FILE = "world_areas.gpkg"
_CODE = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True, slots=True)
class Areas:
    """Every shipped area, and a spatial index of them."""

    areas: tuple[Area, ...]
    tree: STRtree

    def by_id(self, area_id: str) -> Area | None:
        return next((a for a in self.areas if a.id == area_id), None)

    @property
    def detailed_countries(self) -> frozenset[str]:
        """The countries whose admin-1 units these areas hold."""
        return frozenset(a.country for a in self.areas if a.kind != "country" and a.country)

    def containing(self, lat: float, lon: float, *, kind: str | None = None) -> list[Area]:
        """The areas that hold the point (lat, lon), optionally of one kind."""
        point = Point(lon, lat)
        found = [self.areas[i] for i in self.tree.query(point, predicate="intersects")]
        return [a for a in found if kind is None or a.kind == kind]


def areas_from_geojson(collection: dict[str, Any]) -> Areas:
    """Areas from a GeoJSON FeatureCollection with ``id``, ``name``, ``kind``, ``country`` properties."""
    areas = []
    for feature in collection.get("features", []):
        props = feature.get("properties") or {}
        areas.append(
            Area(
                id=str(props.get("id")),
                name=str(props.get("name")),
                kind=str(props.get("kind")),
                country=props.get("country"),
                geometry=shape(feature["geometry"]),
                approximate=bool(props.get("approximate")),
                note=str(props.get("note") or ""),
            )
        )
    return Areas(tuple(areas), STRtree([a.geometry for a in areas]))


@cache
def default_areas() -> Areas | None:
    """The shipped areas, or None when this build of the gazetteer has none."""
    path = data_dir() / "areas.geojson"
    if not path.exists():
        return None
    try:
        return areas_from_geojson(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as exc:
        raise GazetteerError(f"{path}: unreadable areas ({exc})") from exc


def world_areas(countries: Iterable[str], *, path: Path | None = None) -> Areas:
    """The outlines and admin-1 units of ``countries`` (ISO alpha-2) from ``world_areas.gpkg``;
    only those rows are read (an attribute index on ``country``), once per process."""
    codes = tuple(sorted({c for c in countries if _CODE.fullmatch(c)}))
    return _world_areas(codes, path or data_dir() / WORLD_FILE)


@cache
def _world_areas(codes: tuple[str, ...], path: Path) -> Areas:
    import pyogrio.errors
    import pyogrio.raw

    if not codes:
        return Areas((), STRtree([]))
    where = "country IN ({})".format(",".join(f"'{c}'" for c in codes))  # codes are two capitals
    areas = []
    for layer in ("admin0", "admin1"):
        try:
            meta, _, wkb, values = pyogrio.raw.read(path, layer=layer, where=where)
        except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise GazetteerError(f"{path}: unreadable world areas ({exc})") from exc
        columns = dict(zip(meta["fields"].tolist(), (v.tolist() for v in values), strict=True))
        for i, geometry in enumerate(shapely.from_wkb(wkb)):
            areas.append(
                Area(
                    id=str(columns["id"][i]),
                    name=str(columns["name"][i]),
                    kind="country" if layer == "admin0" else str(columns["kind"][i]),
                    country=str(columns["country"][i]),
                    geometry=geometry,
                )
            )
    missing = set(codes) - {a.country for a in areas if a.kind == "country"}
    if missing:
        raise GazetteerError(f"{path}: no outline for {', '.join(sorted(missing))}")
    return Areas(tuple(areas), STRtree([a.geometry for a in areas]))


def _curated_for(countries: Iterable[str]) -> Areas | None:
    """The curated areas when they hold the admin-1 units of every one of ``countries``."""
    curated = default_areas()
    return curated if curated is not None and set(countries) <= curated.detailed_countries else None


def theatre_areas(countries: Iterable[str]) -> Areas:
    """The areas for zones between ``countries``: the curated areas when they hold the units of every
    one of them, else the world file's (both sides of every border from one source)."""
    countries = set(countries)
    return _curated_for(countries) or world_areas(countries)


@cache
def map_areas(border_countries: tuple[str, ...], map_countries: tuple[str, ...]) -> Areas:
    """The outlines and admin-1 units a theatre's maps draw: the curated areas when they hold the
    border countries' units, else the world file's for the map's countries."""
    return _curated_for(border_countries) or world_areas(map_countries)


def theatre_map_areas(result: Result) -> Areas | None:
    """The areas the maps of a run draw: its theatre's (:func:`map_areas`), else the curated ones."""
    if result.theatre is None:
        return default_areas()
    return map_areas(result.theatre.border_countries, result.theatre.map_countries)
