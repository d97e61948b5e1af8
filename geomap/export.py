"""Write results: RFC 7946 GeoJSON, JSON Lines mentions, CSV and the run summary, always atomically.

Every file is written to a temporary file in the same folder, then renamed over the target, so a
run that dies midway leaves the previous outputs intact.

Article data is inert in every output: a url that is not http(s) is written as null (GeoJSON,
GeoPackage) or left out (CSV), whatever ingest let through, and a CSV text cell that a spreadsheet
would read as a formula starts with a ``'`` (OWASP's advice against CSV injection).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from geomap.errors import OutputError
from geomap.ingest import http_url
from geomap.models import Incident, Resolution, point_feature

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
    """One feature per incident (GeoJSON and the GeoPackage's incidents layer are made from these)."""
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


def dumps_geojson(collection: dict[str, Any]) -> str:
    return json.dumps(collection, ensure_ascii=False, indent=1) + "\n"


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
        writer.writerow({name: csv_cell(value) for name, value in row.items()})
    return buffer.getvalue()


def mention_lines(resolutions: Iterable[Resolution]) -> Iterable[str]:
    """The mention contract, one JSON object per line."""
    for r in resolutions:
        yield json.dumps(r.to_record(), ensure_ascii=False)


def write_geopackage(path: Path, layers: dict[str, Any]) -> None:
    """One GeoPackage holding each (name, GeoDataFrame) layer, written to a temporary file then
    renamed, so QGIS users open one file; empty layers are skipped."""
    import pyogrio

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".gpkg", dir=path.parent)
        os.close(fd)
        Path(tmp).unlink()  # the driver wants to create the file itself
        try:
            for name, frame in layers.items():
                if frame is not None and len(frame):
                    pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=Path(tmp).exists())
            if not Path(tmp).exists():
                return
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def frame_of(collection: dict[str, Any]):  # -> geopandas.GeoDataFrame
    """A GeoDataFrame (WGS84) of a FeatureCollection, lists and dicts in properties as JSON text."""
    import geopandas as gpd

    features = []
    for feature in collection.get("features", []):
        props = {
            k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
            for k, v in (feature.get("properties") or {}).items()
        }
        features.append({**feature, "properties": props})
    if not features:
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    return gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")


@contextlib.contextmanager
def output_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` while writing into it: a second run writing to the same
    folder waits for the first instead of interleaving its files."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".geomap.lock", os.O_CREAT | os.O_RDWR, 0o666)
    except OSError as exc:
        raise OutputError(f"cannot write into {folder}: {exc.strerror or exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
