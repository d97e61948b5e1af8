"""Write results: typed layers in GeoJSON, GeoPackage, FlatGeobuf, GeoParquet, KML and CSV, atomically.

Every text file is written to a temporary file in the same folder, then renamed over the target, so
a run that dies midway leaves the previous outputs intact.

**One rule for every format.** Each attribute has one type, declared by name in :data:`FIELD_TYPES`
(a name not declared there takes the type of its values), and every format holds it the same way:

========  ================  ==============  ============  ===========  ===============
type      GeoJSON           GeoPackage      FlatGeobuf    GeoParquet   CSV (+ .csvt)
========  ================  ==============  ============  ===========  ===============
str       string            TEXT (String)   String        string       text (String)
int       integer           MEDIUMINT       Int           int32        digits (Integer)
                            (Integer)
float     number with a     REAL (Real)     Double        double       number (Real)
          decimal point
date      "YYYY-MM-DD"      DATE (Date)     DateTime      date32       YYYY-MM-DD (Date)
json      JSON text         TEXT (String)   String        string       items joined "; "
========  ================  ==============  ============  ===========  ===============

A missing value is null (an empty cell in CSV), never 0 or "". Lists and objects (``json``) are
JSON *text* in every GIS format, GeoJSON included: GDAL reads a GeoJSON array of strings as a
StringList field, which Shapefile and FlatGeobuf cannot hold, so ``ogr2ogr`` from a GeoJSON file
would drop the field or fail. The CSV, made for spreadsheets, joins list items with "; " as ACLED
does. FlatGeobuf has no date type: GDAL writes a date there as a DateTime at midnight.

Each layer holds one geometry type (Point, MultiLineString or MultiPolygon: a single polygon is
written as a MultiPolygon of one). Feature ids are stable: a GeoPackage's fid is the incident's id
read as hexadecimal (12 hex digits) and, for any other layer, the first 48 bits of the SHA-1 of its
key (the place id, the zone's label, the sector's name), so a fid names the same feature from one
run to the next. Coordinates are WGS84 (EPSG:4326), [lon, lat] in GeoJSON.

Article data is inert in every output: a url that is not http(s) is written as null (GeoJSON,
GeoPackage) or left out (CSV), whatever ingest let through, and a CSV text cell that a spreadsheet
would read as a formula starts with a ``'`` (OWASP's advice against CSV injection).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import importlib.util
import io
import json
import logging
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from geomap.errors import GeomapError, OutputError
from geomap.ingest import http_url
from geomap.models import Incident, Resolution, Result, point_feature

log = logging.getLogger("geomap")

INCIDENT_CSV_COLUMNS = [
    "id",
    "doc",
    "event_type",
    "sub_event_type",
    "date",
    "time_precision",
    "date_precision",
    "place",
    "place_id",
    "mention",
    "geo_precision",
    "admin1",
    "country",
    "latitude",
    "longitude",
    "fatalities",
    "injured",
    "actors",
    "evidence",
    "sources",
    "confidence",
    "distance_km",
    "zone",
    "sector",
]

FieldType = Literal["str", "int", "float", "date", "json"]

#: The type of every attribute geomap writes, by name: one table for every layer and every format.
FIELD_TYPES: Mapping[str, FieldType] = MappingProxyType(
    {
        # incidents
        "id": "str",
        "doc": "str",
        "event_type": "str",
        "sub_event_type": "str",
        "date": "date",
        "time_precision": "int",
        "date_precision": "str",
        "place": "str",
        "place_id": "str",
        "mention": "str",
        "geo_precision": "int",
        "admin1": "str",
        "country": "str",
        "fatalities": "int",
        "injured": "int",
        "actors": "json",
        "evidence": "str",
        "sources": "json",
        "confidence": "float",
        "distance_km": "float",
        "zone": "str",
        "sector": "str",
        # places
        "name": "str",
        "kind": "str",
        "geonames_id": "int",
        "population": "int",
        "source": "str",
        "mentions": "int",
        "docs": "json",
        "forms": "json",
        "doc_count": "int",
        # border, zones and sectors
        "length_km": "float",
        "label": "str",
        "inner_km": "float",
        "width_km": "float",
        "units": "json",
        "border": "str",
        "unit_1": "str",
        "unit_2": "str",
        "incidents": "int",
    }
)
# GDAL's names of the types, as ogrinfo shows them and a CSV's .csvt sidecar declares them.
OGR_TYPE_NAMES: Mapping[FieldType, str] = MappingProxyType(
    {"str": "String", "int": "Integer", "float": "Real", "date": "Date", "json": "String"}
)

#: Whose data the outputs carry, as their licences ask: (name, address, licence, what of it).
DATA_SOURCES = (
    ("GeoNames", "https://www.geonames.org/", "CC BY 4.0", "places and their coordinates"),
    ("Natural Earth", "https://www.naturalearthdata.com/", "public domain", "countries, provinces, border"),
)


def attribution() -> str:
    """One line crediting the data sources, for layer descriptions and metadata."""
    return "; ".join(f"{what}: {name} ({url}), {licence}" for name, url, licence, what in DATA_SOURCES)


class FormatError(GeomapError, ValueError):
    """An unknown output format was asked for."""


#: Every format ``write_formats`` knows, and what each one writes.
FORMATS: Mapping[str, str] = MappingProxyType(
    {
        "gpkg": "geomap.gpkg: every layer, typed, with QGIS styles and metadata",
        "geojson": "<layer>.geojson (RFC 7946) and <layer>.qml, one geometry type a file",
        "csv": "incidents.csv for spreadsheets and incidents.csvt (its column types, for GDAL)",
        "fgb": "<layer>.fgb (FlatGeobuf) and <layer>.qml",
        "parquet": "<layer>.parquet (GeoParquet; needs geopandas and pyarrow: pip install 'geomap[parquet]')",
        "kml": "geomap.kml: every layer, one folder each",
        "acled": "incidents_acled.csv: ACLED's codebook columns, names and value sets",
    }
)
DEFAULT_FORMATS = ("gpkg", "geojson", "csv", "acled")


def parse_formats(text: str) -> tuple[str, ...]:
    """The formats named in ``text`` ("gpkg,geojson,csv"), in :data:`FORMATS` order; "all" names them all."""
    names = {n.strip().lower() for n in text.split(",") if n.strip()}
    if "all" in names:
        names = (names - {"all"}) | set(FORMATS)
    unknown = sorted(names - set(FORMATS))
    if unknown or not names:
        raise FormatError(
            f"unknown output format {', '.join(map(repr, unknown)) or '(none given)'}: "
            f"choose among {', '.join(FORMATS)} (comma-separated), or all"
        )
    return tuple(f for f in FORMATS if f in names)


# --- atomic files ---------------------------------------------------------------------------------


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE = _file_mode()


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (mode as a plain open would)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def _written_through_temporary(path: Path, suffix: str) -> Iterator[Path]:
    """A temporary path beside ``path`` for a GDAL driver to create, renamed over ``path`` when the
    block ends without error (only if the driver made a file) and removed otherwise."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        tmp.unlink()  # the driver wants to create the file itself
        try:
            yield tmp
            if tmp.exists():
                os.chmod(tmp, FILE_MODE)
                os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
            for sidecar in tmp.parent.glob(f"{tmp.name}-*"):  # SQLite's -journal, -wal, -shm
                sidecar.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


# --- features --------------------------------------------------------------------------------------


def feature_collection(features: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection (``name`` is the one foreign member, as GDAL writes it)."""
    return {"type": "FeatureCollection", "name": name, "features": features}


def inert(value: Any) -> Any:
    """``value`` with every ``url`` (at any depth of its dicts and lists) an http(s) address or None:
    a ``javascript:`` or ``data:`` url in an output is one click away from running."""
    if isinstance(value, dict):
        return {k: http_url(v) if k == "url" else inert(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [inert(v) for v in value]
    return value


def incident_features(incidents: Iterable[Incident]) -> list[dict[str, Any]]:
    """One feature per incident, properties as Python values (lists as lists): the map, PostGIS and
    every file are made from these."""
    return [point_feature(i.place.lat, i.place.lon, inert(i.properties())) for i in incidents]


def place_features(resolutions: Iterable[Resolution]) -> list[dict[str, Any]]:
    """One feature per resolved place, with its documents, mention counts and surface forms."""
    by_place: dict[str, dict[str, Any]] = {}
    for r in resolutions:
        if r.place is None:
            continue
        p = r.place
        entry = by_place.setdefault(
            p.id,
            {
                "place_id": p.id,
                "name": p.name,
                "kind": p.kind,
                "country": p.country,
                "admin1": p.admin1,
                "geonames_id": p.geonames_id,
                "population": p.population,
                "source": r.source,
                "mentions": 0,
                "docs": {},
                "forms": {},
                "lat": p.lat,
                "lon": p.lon,
            },
        )
        entry["mentions"] += 1
        entry["docs"][r.mention.doc] = entry["docs"].get(r.mention.doc, 0) + 1
        entry["forms"][r.mention.text] = entry["forms"].get(r.mention.text, 0) + 1
    features = []
    for entry in sorted(by_place.values(), key=lambda e: (-e["mentions"], e["place_id"])):
        lat, lon = entry.pop("lat"), entry.pop("lon")
        entry["doc_count"] = len(entry["docs"])
        entry["docs"] = [{"doc": d, "mentions": n} for d, n in entry["docs"].items()]
        entry["forms"] = sorted(entry["forms"], key=lambda f: -entry["forms"][f])
        features.append(point_feature(lat, lon, inert(entry)))
    return features


# --- layers ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LayerSpec:
    """What one layer is: its name (file stem and GeoPackage table), geometry, fields, key, description."""

    name: str
    title: str
    geometry_type: str  # "Point", "MultiLineString" or "MultiPolygon"
    fields: tuple[str, ...]  # its attributes, in order, typed by FIELD_TYPES: an empty layer has them too
    key: str | None  # the property whose value identifies a feature from run to run
    description: str


#: Every layer geomap writes, in the order files and GeoPackage tables are written.
LAYER_SPECS: Mapping[str, LayerSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            LayerSpec(
                name="incidents",
                title="Incidents",
                geometry_type="Point",
                fields=tuple(c for c in INCIDENT_CSV_COLUMNS if c not in ("latitude", "longitude")),
                key="id",
                description="Incidents reported by French news articles, one point each at the place "
                "named, ACLED-style fields (event and sub-event type, date and time_precision, "
                "geo_precision, fatalities); evidence quotes the article.",
            ),
            LayerSpec(
                name="places",
                title="Places",
                geometry_type="Point",
                fields=(
                    "place_id",
                    "name",
                    "kind",
                    "country",
                    "admin1",
                    "geonames_id",
                    "population",
                    "source",
                    "mentions",
                    "docs",
                    "forms",
                    "doc_count",
                ),
                key="place_id",
                description="Places named in the articles, resolved through geomap's gazetteer; "
                "mentions and docs count where each is named.",
            ),
            LayerSpec(
                name="border",
                title="Borders",
                geometry_type="MultiLineString",
                fields=("border", "name", "length_km"),
                key="border",
                description="The theatre's borders the zones are measured from, one per pair of countries "
                "(border: their ISO codes, as AM:AZ; name: the theatre's): the boundary the two "
                "countries' polygons share, exclaves and islands included.",
            ),
            LayerSpec(
                name="zones",
                title="Border zones",
                geometry_type="MultiPolygon",
                fields=("label", "inner_km", "width_km"),
                key="label",
                description="Distance bands on both sides of the theatre's borders, from "
                "inner_km to width_km.",
            ),
            LayerSpec(
                name="sectors",
                title="Border sectors",
                geometry_type="MultiPolygon",
                fields=("name", "border", "units", "unit_1", "unit_2", "length_km", "incidents"),
                key="name",
                description="Border sectors, one per pair of admin-1 units facing each other across a "
                "border (unit_1 on the border's first country's side): the part of the widest zone "
                "nearest the sector; incidents counts the incidents placed in it.",
            ),
        )
    }
)


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer's features (properties as Python values, lists as lists) and what it is."""

    spec: LayerSpec
    features: tuple[dict[str, Any], ...]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def description(self) -> str:
        """The layer's description, with the attribution its data needs."""
        return f"{self.spec.description} Data: {attribution()}."


def result_layers(result: Result) -> list[Layer]:
    """The layers of a run: incidents and places, then border, zones and sectors when zones were made."""
    from geomap.zones import split_zones

    layers = [
        Layer(LAYER_SPECS["incidents"], tuple(incident_features(result.incidents))),
        Layer(LAYER_SPECS["places"], tuple(place_features(result.resolutions))),
    ]
    if result.zones is not None:
        split = split_zones(result.zones)
        layers += [
            Layer(LAYER_SPECS[name], tuple(split.get(name, ()))) for name in ("border", "zones", "sectors")
        ]
    return layers


def layer_fields(layer: Layer) -> dict[str, FieldType]:
    """The layer's fields with their types: the declared ones, then any other property of its
    features (in the order first met)."""
    names: dict[str, None] = dict.fromkeys(layer.spec.fields)
    for feature in layer.features:
        names.update(dict.fromkeys(feature.get("properties") or {}))
    return {name: FIELD_TYPES.get(name) or _inferred(name, layer.features) for name in names}


def _inferred(name: str, features: Sequence[dict[str, Any]]) -> FieldType:
    """The type of a property :data:`FIELD_TYPES` does not declare, from its values."""
    values = [v for f in features if (v := (f.get("properties") or {}).get(name)) is not None]
    if values and all(isinstance(v, list | tuple | dict) for v in values):
        return "json"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float"
    if values and all(isinstance(v, dt.date) for v in values):
        return "date"
    return "str"


def typed(value: Any, kind: FieldType) -> Any:
    """``value`` as a field of type ``kind`` holds it: int, float, ``datetime.date``, str or JSON text
    (None, and a float NaN, are None: null in every format)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind == "json":
        return json.dumps(value, ensure_ascii=False)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "date":
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    return value if isinstance(value, str) else str(value)


def feature_id(key: str) -> int:
    """A stable positive 48-bit fid for a feature identified by ``key``: an incident's id (12 hex
    digits of a SHA-1) read as hexadecimal, else the first 48 bits of the SHA-1 of ``key``."""
    if re.fullmatch(r"[0-9a-f]{12}", key):
        return int(key, 16)
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:12], 16)


def feature_ids(layer: Layer) -> list[int]:
    """The fid of each feature (1, 2, ... for a layer without a key). Two features with one key (or
    two keys with one hash) get the next free numbers, in feature order, so fids stay unique."""
    if layer.spec.key is None:
        return list(range(1, len(layer.features) + 1))
    taken: set[int] = set()
    fids = []
    for index, feature in enumerate(layer.features):
        key = (feature.get("properties") or {}).get(layer.spec.key)
        fid = feature_id(str(key)) if key is not None else index + 1
        while fid in taken:
            fid += 1
        taken.add(fid)
        fids.append(fid)
    return fids


def _multi(geometry: dict[str, Any], geometry_type: str) -> dict[str, Any]:
    """A GeoJSON geometry as the layer's Multi type (a Polygon becomes a MultiPolygon of one)."""
    if geometry_type.startswith("Multi") and geometry.get("type") == geometry_type[len("Multi") :]:
        return {"type": geometry_type, "coordinates": [geometry["coordinates"]]}
    return geometry


def flat_properties(properties: Mapping[str, Any], fields: Mapping[str, FieldType]) -> dict[str, Any]:
    """GeoJSON properties under the one rule: dates as "YYYY-MM-DD", lists and objects as JSON text,
    floats with a decimal point, every field present (null when missing)."""
    flat = {}
    for name, kind in fields.items():
        value = typed(properties.get(name), kind)
        flat[name] = value.isoformat() if isinstance(value, dt.date) else value
    return flat


def layer_geojson(layer: Layer) -> dict[str, Any]:
    """The layer as an RFC 7946 FeatureCollection: one geometry type, typed flat properties."""
    fields = layer_fields(layer)
    features = [
        {
            "type": "Feature",
            "properties": flat_properties(f.get("properties") or {}, fields),
            "geometry": _multi(f["geometry"], layer.spec.geometry_type),
        }
        for f in layer.features
    ]
    return feature_collection(features, layer.name)


def dumps_geojson(collection: dict[str, Any]) -> str:
    return json.dumps(collection, ensure_ascii=False, indent=1) + "\n"


def layer_frame(layer: Layer):  # -> geopandas.GeoDataFrame
    """The layer as a GeoDataFrame (WGS84) with typed columns: nullable Int32, Float64 and string,
    dates as ``datetime.date``, lists and objects as JSON text; indexed by fid."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import shape

    fields = layer_fields(layer)
    columns: dict[str, Any] = {}
    for name, kind in fields.items():
        values = [typed((f.get("properties") or {}).get(name), kind) for f in layer.features]
        dtype = {"int": "Int32", "float": "Float64", "str": "string", "json": "string"}.get(kind, "object")
        columns[name] = pd.array(values, dtype=dtype)
    geometry = [shape(_multi(f["geometry"], layer.spec.geometry_type)) for f in layer.features]
    index = pd.Index(feature_ids(layer), name="fid", dtype="int64")
    return gpd.GeoDataFrame(columns, geometry=geometry, crs="EPSG:4326", index=index)


def _ogr_columns(layer: Layer, fields: Mapping[str, FieldType]) -> tuple[list[Any], list[Any]]:
    """numpy arrays and null masks of the layer's fields, of the dtypes pyogrio maps to OGR types:
    int32 -> Integer, float64 -> Real, datetime64[D] -> Date, object -> String."""
    import numpy as np

    arrays, masks = [], []
    for name, kind in fields.items():
        values = [typed((f.get("properties") or {}).get(name), kind) for f in layer.features]
        missing = np.array([v is None for v in values], dtype=bool)
        if kind == "int":
            array = np.array([0 if v is None else v for v in values], dtype="int32")
        elif kind == "float":
            array = np.array([np.nan if v is None else v for v in values], dtype="float64")
        elif kind == "date":
            array = np.array(["NaT" if v is None else v.isoformat() for v in values], dtype="datetime64[D]")
        else:
            array = np.array(values, dtype=object)
        arrays.append(array)
        masks.append(missing if kind in ("int", "float", "date") else None)
    return arrays, masks


def write_ogr(
    path: Path,
    layer: Layer,
    *,
    driver: str,
    append: bool = False,
    with_fid: bool = False,
    dataset_options: Mapping[str, str] | None = None,
    layer_options: Mapping[str, str] | None = None,
    dataset_metadata: Mapping[str, str] | None = None,
) -> None:
    """Write one layer through GDAL (pyogrio's raw writer, so each field gets its declared OGR type
    whatever its values). ``with_fid`` writes :func:`feature_ids` as the fid (GeoPackage)."""
    import numpy as np
    import shapely
    from shapely.geometry import shape

    fields = layer_fields(layer)
    arrays, masks = _ogr_columns(layer, fields)
    names = list(fields)
    if with_fid:
        names.insert(0, "fid")
        arrays.insert(0, np.array(feature_ids(layer), dtype="int64"))
        masks.insert(0, None)
        layer_options = {"FID": "fid", **(layer_options or {})}
    shapes = [shape(_multi(f["geometry"], layer.spec.geometry_type)) for f in layer.features]
    geometry = shapely.to_wkb(np.array(shapes, dtype=object)) if shapes else np.array([], dtype=object)
    _gdal_write(
        path,
        geometry,
        arrays,
        names,
        field_mask=masks,
        layer=layer.name,
        driver=driver,
        geometry_type=layer.spec.geometry_type,
        crs="EPSG:4326",
        append=append,
        dataset_options=dict(dataset_options or {}) or None,
        layer_options=dict(layer_options or {}) or None,
        dataset_metadata=dict(dataset_metadata or {}) or None,
    )


def _gdal_write(path: Path, geometry: Any, arrays: list[Any], names: list[str], **options: Any) -> None:
    """pyogrio's raw writer, its errors (a full disk, a driver refusing a value) as OutputError."""
    import pyogrio.errors
    import pyogrio.raw

    try:
        pyogrio.raw.write(str(path), geometry, arrays, names, **options)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise OutputError(f"cannot write the {options.get('layer')} layer into {path}: {exc}") from exc


#: GeoPackage 1.2: what GDAL writes by default from 2.3 to 3.6, read by every GDAL >= 2.2 without a
#: warning (GDAL 3.6 warns on the 1.4 files that GDAL >= 3.7 writes by default) and accepted by
#: GDAL's validate_gpkg.py (1.4's new R-tree triggers fail its check of 3.6).
GPKG_VERSION = "1.2"
LAYER_STYLES = "layer_styles"


def write_geopackage(
    path: Path,
    layers: Sequence[Layer],
    *,
    styles: Mapping[str, tuple[str, str]] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> None:
    """One GeoPackage (version :data:`GPKG_VERSION`) holding every layer, typed, with stable fids,
    its description in ``gpkg_contents``, the dataset ``metadata`` in ``gpkg_metadata`` and, for
    each layer in ``styles`` (name -> (QML, SLD)), a default QGIS style in ``layer_styles`` as QGIS
    itself writes it, so the layers open styled. Written to a temporary file, then renamed."""
    with _written_through_temporary(Path(path), ".gpkg") as tmp:
        for index, layer in enumerate(layers):
            write_ogr(
                tmp,
                layer,
                driver="GPKG",
                append=index > 0,
                with_fid=True,
                dataset_options={"VERSION": GPKG_VERSION} if index == 0 else None,
                layer_options={
                    "IDENTIFIER": layer.spec.title,
                    "DESCRIPTION": layer.description,
                    "GEOMETRY_NAME": "geom",
                },
                dataset_metadata=metadata if index == 0 else None,
            )
        if styles and tmp.exists():
            _write_layer_styles(tmp, [layer for layer in layers if layer.name in styles], styles)


def _write_layer_styles(path: Path, layers: Sequence[Layer], styles: Mapping[str, tuple[str, str]]) -> None:
    """The ``layer_styles`` table of QGIS (its columns and FID ``id``, as QGIS creates it through
    GDAL): one default style per layer, which QGIS applies when it opens the layer."""
    import numpy as np

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    rows = [
        {
            "f_table_catalog": "",
            "f_table_schema": "",
            "f_table_name": layer.name,
            "f_geometry_column": "geom",
            "styleName": layer.name,
            "styleQML": styles[layer.name][0],
            "styleSLD": styles[layer.name][1],
            "useAsDefault": True,
            "description": f"geomap's style for {layer.spec.title}",
            "owner": "",
            "ui": None,
            "update_time": np.datetime64(now, "ms"),
        }
        for layer in layers
    ]
    names = list(rows[0]) if rows else []
    arrays = []
    for name in names:
        values = [row[name] for row in rows]
        if name == "useAsDefault":
            arrays.append(np.array(values, dtype=bool))
        elif name == "update_time":
            arrays.append(np.array(values, dtype="datetime64[ms]"))
        else:
            arrays.append(np.array(values, dtype=object))
    _gdal_write(
        path,
        None,
        arrays,
        names,
        layer=LAYER_STYLES,
        driver="GPKG",
        append=True,
        layer_options={
            "FID": "id",
            "DESCRIPTION": "QGIS styles of the layers (QGIS applies the default one)",
        },
    )


def write_flatgeobuf(path: Path, layer: Layer) -> None:
    """One layer as a FlatGeobuf file with a spatial index (written to a temporary file, renamed)."""
    with _written_through_temporary(Path(path), ".fgb") as tmp:
        write_ogr(tmp, layer, driver="FlatGeobuf")


def write_kml(path: Path, layers: Sequence[Layer]) -> None:
    """Every layer as one folder of a KML file (LIBKML when GDAL has it), attributes as ExtendedData."""
    import pyogrio

    driver = "LIBKML" if "LIBKML" in pyogrio.list_drivers(write=True) else "KML"
    with _written_through_temporary(Path(path), ".kml") as tmp:
        for index, layer in enumerate(layers):
            write_ogr(tmp, layer, driver=driver, append=index > 0)


def parquet_available() -> bool:
    """Whether GeoParquet can be written here: geopandas and pyarrow (geomap[parquet]) installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("pyarrow", "geopandas"))


def write_geoparquet(path: Path, layer: Layer) -> None:
    """One layer as GeoParquet (geopandas and pyarrow: WKB geometry, GeoParquet metadata, typed
    columns, the fid as a column)."""
    import pandas as pd
    import pyarrow as pa

    frame = layer_frame(layer).reset_index()
    for name, kind in layer_fields(layer).items():
        if kind == "date":  # a column of None alone would be Arrow's null type
            frame[name] = frame[name].astype(pd.ArrowDtype(pa.date32()))
    with _written_through_temporary(Path(path), ".parquet") as tmp:
        frame.to_parquet(tmp, index=False, compression="zstd")


def incidents_csvt(columns: Sequence[str] = INCIDENT_CSV_COLUMNS) -> str:
    """incidents.csv's sidecar for GDAL: each column's type, the coordinates as CoordX/CoordY, so that
    ``ogrinfo incidents.csv`` shows typed fields and point geometries."""
    kinds = {"latitude": "CoordY", "longitude": "CoordX", "actors": "String", "sources": "String"}
    return ",".join(f'"{kinds.get(c) or OGR_TYPE_NAMES[FIELD_TYPES.get(c, "str")]}"' for c in columns) + "\n"


# --- CSV -------------------------------------------------------------------------------------------

# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as written: text starting like a formula gets a leading ``'``.

    Only text is touched: numbers (a longitude of -45.1, a count) are written as numbers, and a
    spreadsheet reads them as numbers, which cannot run anything. Line breaks inside text are
    written as LF: the csv module quotes a cell holding an LF but not one holding a lone CR, which
    would end the row for a CSV reader."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")


def incidents_csv(incidents: Iterable[Incident]) -> str:
    """Incidents as CSV for spreadsheet users: lists joined with "; ", coordinates in columns, every
    text cell inert (see :func:`csv_cell`), sources by their http(s) url or else their id."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=INCIDENT_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for incident in incidents:
        row = inert(incident.properties())
        row["latitude"], row["longitude"] = incident.place.lat, incident.place.lon
        row["actors"] = "; ".join(row["actors"])
        row["sources"] = "; ".join(s.get("url") or s.get("doc") or "" for s in row["sources"])
        writer.writerow({name: csv_cell(row.get(name)) for name in INCIDENT_CSV_COLUMNS})
    return buffer.getvalue()


def mention_lines(resolutions: Iterable[Resolution]) -> Iterable[str]:
    """The mention contract, one JSON object per line."""
    for r in resolutions:
        yield json.dumps(r.to_record(), ensure_ascii=False)


# --- every format at once --------------------------------------------------------------------------


def format_files(formats: Iterable[str], layer_names: Iterable[str] = LAYER_SPECS) -> list[str]:
    """The names of the files ``formats`` write for layers named ``layer_names``."""
    formats, layer_names = set(formats), list(layer_names)
    names: list[str] = []
    if "gpkg" in formats:
        names.append("geomap.gpkg")
    for fmt, suffix in (("geojson", ".geojson"), ("fgb", ".fgb"), ("parquet", ".parquet")):
        if fmt in formats:
            names += [f"{layer}{suffix}" for layer in layer_names]
    if formats & {"geojson", "fgb", "parquet"}:
        names += [f"{layer}.qml" for layer in layer_names]
    if "csv" in formats:
        names += ["incidents.csv", "incidents.csvt"]
    if "acled" in formats:
        names.append("incidents_acled.csv")
    if "kml" in formats:
        names.append("geomap.kml")
    return names


def write_formats(
    folder: Path,
    layers: Sequence[Layer],
    *,
    formats: Iterable[str] = DEFAULT_FORMATS,
    incidents: Sequence[Incident] = (),
    metadata: Mapping[str, str] | None = None,
    bom: bool = False,
    timestamp: int | None = None,
) -> list[str]:
    """Write ``layers`` into ``folder`` in each of ``formats`` (see :data:`FORMATS`); ``incidents``
    make the CSV files (``bom``: with a UTF-8 byte order mark, for Excel; ``timestamp``: the ACLED
    export's). Returns the names of the files written. GeoParquet is skipped, with a warning, when
    geopandas or pyarrow is not installed (geomap[parquet])."""
    from geomap.styles import layer_qml, layer_sld

    chosen = set(parse_formats(",".join(formats)) if formats else ())
    folder = Path(folder)
    written: list[str] = []

    def text(name: str, data: str) -> None:
        atomic_write(folder / name, data)
        written.append(name)

    if "gpkg" in chosen:
        styles = {layer.name: (layer_qml(layer), layer_sld(layer)) for layer in layers}
        write_geopackage(folder / "geomap.gpkg", layers, styles=styles, metadata=metadata)
        written.append("geomap.gpkg")
    if "geojson" in chosen:
        for layer in layers:
            text(f"{layer.name}.geojson", dumps_geojson(layer_geojson(layer)))
    if "fgb" in chosen:
        for layer in layers:
            write_flatgeobuf(folder / f"{layer.name}.fgb", layer)
            written.append(f"{layer.name}.fgb")
    if "parquet" in chosen:
        if parquet_available():
            for layer in layers:
                write_geoparquet(folder / f"{layer.name}.parquet", layer)
                written.append(f"{layer.name}.parquet")
        else:
            log.warning("GeoParquet skipped: it needs geopandas and pyarrow (pip install 'geomap[parquet]')")
            chosen.discard("parquet")
    if chosen & {"geojson", "fgb", "parquet"}:
        for layer in layers:
            text(f"{layer.name}.qml", layer_qml(layer))
    if "csv" in chosen:
        text("incidents.csv", ("\ufeff" if bom else "") + incidents_csv(incidents))
        text("incidents.csvt", incidents_csvt())
    if "acled" in chosen:
        from geomap.acled import acled_csv  # acled imports this module's csv_cell

        text("incidents_acled.csv", acled_csv(incidents, bom=bom, timestamp=timestamp))
    if "kml" in chosen:
        write_kml(folder / "geomap.kml", layers)
        written.append("geomap.kml")
    return written


# --- the output folder's lock ----------------------------------------------------------------------


LOCK_FILE = ".geomap.lock"


@contextlib.contextmanager
def output_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` while writing into it: a second run writing to the same
    folder waits for the first instead of interleaving its files. The lock is the operating system's
    (``filelock``: flock on POSIX, LockFileEx on Windows), so a killed run never leaves it held."""
    from filelock import FileLock  # only a run that writes outputs needs it

    folder = Path(folder)
    lock = FileLock(folder / LOCK_FILE)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except (OSError, NotImplementedError) as exc:  # NotImplementedError: a file system without locks
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise OutputError(f"cannot write into {folder}: {reason}") from exc
    try:
        yield
    finally:
        lock.release()
