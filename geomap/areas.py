"""The shipped area polygons: countries of the theatre, their admin-1 units and Nagorno-Karabakh.

``areas.geojson`` is compiled by ``gazetteer/build.py`` from Natural Earth (public domain), with the
known errors of its admin-1 layer corrected and validated against GeoNames points.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from geomap.errors import GazetteerError
from geomap.gazetteer import data_dir


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


@dataclass(frozen=True, slots=True)
class Areas:
    """Every shipped area, and a spatial index of them."""

    areas: tuple[Area, ...]
    tree: STRtree

    def by_id(self, area_id: str) -> Area | None:
        return next((a for a in self.areas if a.id == area_id), None)

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
