"""A run's output files, written apart and swapped in together.

A reader of OUT (a person, QGIS, a cron job copying it to a web server) must never see map.html of
one run beside incidents.geojson of another. So every output of a run is first written into a
staging folder inside OUT; once all of them are there, a marker listing them is written, and only
then is each renamed over its target. A run killed before the marker leaves the previous outputs as
they were (the next run removes its staging folder); a run killed during the renames leaves a
complete staging folder, whose renames the next run finishes before anything else. Temporary files
of killed runs are removed the same way, always under the lock on OUT, so never those of a live run.

``summary.json`` is renamed last and carries a manifest (each file's size and SHA-256), so anyone
can check that the files beside it are the ones that run wrote.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from geomap.errors import OutputError
from geomap.export import (
    atomic_write,
    dumps_geojson,
    feature_collection,
    frame_of,
    incident_features,
    incidents_csv,
    output_lock,
    place_features,
    write_geopackage,
)
from geomap.models import Result
from geomap.store import plain

STAGING = ".geomap-staging"
COMPLETE = "COMPLETE"  # the marker: the staged files listed in it are all written
SUMMARY = "summary.json"
# Every file a run may write: one left from an earlier run that this run did not write is removed.
OUTPUT_NAMES = frozenset(
    {"incidents.geojson", "places.geojson", "incidents.csv", "map.html", "zones.geojson", "geomap.gpkg"}
    | {"articles.jsonl"}
    | {"map.png", SUMMARY}
)
# Temporary files that atomic_write and write_geopackage leave only when their process is killed.
_STRAY = (".*.tmp", ".geomap.gpkg.*.gpkg", ".geomap.gpkg.*.gpkg-*")  # -journal, -wal, -shm: SQLite's
log = logging.getLogger("geomap")


def summary(result: Result) -> dict[str, Any]:
    """Counts, unresolved names, problems and timings of a run."""
    unresolved: dict[str, int] = {}
    for r in result.resolutions:
        if r.place is None:
            unresolved[r.mention.text] = unresolved.get(r.mention.text, 0) + 1
    by_type: dict[str, int] = {}
    for incident in result.incidents:
        by_type[incident.sub_event_type] = by_type.get(incident.sub_event_type, 0) + 1
    return {
        "articles": len(result.articles),
        "mentions": len(result.resolutions),
        "resolved_mentions": sum(1 for r in result.resolutions if r.place is not None),
        "places": len({r.place.id for r in result.resolutions if r.place is not None}),
        "incidents": len(result.incidents),
        "incidents_by_type": dict(sorted(by_type.items())),
        "unresolved": dict(sorted(unresolved.items(), key=lambda kv: (-kv[1], kv[0]))),
        "problems": result.problems,
        "run": {"reused_articles": result.reused, "processed_articles": len(result.articles) - result.reused},
        "encodings": {a.path or a.id: a.encoding for a in result.articles if a.encoding != "utf-8"},
        "languages": _counts(a.language or "unknown" for a in result.articles),
        "skipped_languages": dict(sorted(result.skipped_languages.items())),
        "timings": result.timings,
    }


def _counts(values: Iterable[str]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for value in values:
        counted[value] = counted.get(value, 0) + 1
    return dict(sorted(counted.items()))


def write_outputs(
    result: Result, out: Path, *, title: str = "geomap", offline: bool = True, png: bool = False
) -> list[Path]:
    """Write map.html, incidents.geojson, incidents.csv, places.geojson, zones.geojson, geomap.gpkg,
    summary.json (and map.png with ``png``) into ``out``, all swapped in together, under the lock on
    ``out``. Returns the paths written."""
    out = Path(out)
    with output_lock(out):
        recover(out, locked=True)
        staging = out / STAGING
        try:
            staging.mkdir()
        except OSError as exc:
            raise OutputError(f"cannot write into {out}: {exc.strerror or exc}") from exc
        try:
            names = _stage(result, staging, title=title, offline=offline, png=png)
            atomic_write(staging / COMPLETE, json.dumps(names) + "\n")
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)  # the previous outputs stay, whole
            if isinstance(exc, OutputError) and isinstance(exc.__cause__, OSError):
                reason = exc.__cause__.strerror or exc.__cause__
                raise OutputError(f"cannot write the outputs into {out}: {reason}") from exc.__cause__
            raise
        _swap_in(out, names)
    return [out / name for name in names]


def recover(out: Path, *, locked: bool = False) -> None:
    """Bring ``out`` back to the outputs of one run after a run was killed while writing it: finish
    the renames of a complete staging folder, drop an incomplete one and stray temporary files."""
    out = Path(out)
    if not out.is_dir():
        return
    if not locked:
        with output_lock(out):
            recover(out, locked=True)
        return
    staging = out / STAGING
    if staging.is_dir():
        try:
            names = json.loads((staging / COMPLETE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            names = None
        if isinstance(names, list) and all(isinstance(n, str) and "/" not in n for n in names):
            log.warning("%s: finishing the outputs of a run that was interrupted while writing them", out)
            _swap_in(out, [n for n in names if (staging / n).exists() or (out / n).exists()])
        else:
            log.warning("%s: removing the unfinished outputs of an interrupted run", staging)
            shutil.rmtree(staging, ignore_errors=True)
    for pattern in _STRAY:
        for stray in out.glob(pattern):
            log.info("%s: removing a temporary file left by an interrupted run", stray)
            stray.unlink(missing_ok=True)


def _swap_in(out: Path, names: list[str]) -> None:
    """Rename each staged file over its target (summary.json last), then drop the staging folder."""
    staging = out / STAGING
    try:
        for name in sorted(names, key=lambda n: n == SUMMARY):
            if (staging / name).exists():  # absent when a killed swap had already moved it
                os.replace(staging / name, out / name)
    except OSError as exc:
        raise OutputError(f"cannot move {name} into {out}: {exc.strerror or exc}") from exc
    for stale in OUTPUT_NAMES.difference(names):
        (out / stale).unlink(missing_ok=True)
    shutil.rmtree(staging, ignore_errors=True)


def _stage(result: Result, staging: Path, *, title: str, offline: bool, png: bool) -> list[str]:
    """Write every output into ``staging``; the names written, summary.json last."""
    from geomap.maps import build_map, render_map

    started = time.perf_counter()
    places = feature_collection(place_features(result.resolutions), "places")
    incidents = feature_collection(incident_features(result.incidents), "incidents")
    fmap = build_map(result.incidents, places["features"], title=title, zones=result.zones)
    outputs = [
        ("incidents.geojson", dumps_geojson(incidents)),
        ("places.geojson", dumps_geojson(places)),
        ("incidents.csv", incidents_csv(result.incidents)),
        ("map.html", render_map(fmap, offline=offline)),
        ("articles.jsonl", articles_jsonl(result)),
    ]
    if result.zones is not None:
        outputs.append(("zones.geojson", dumps_geojson(result.zones)))
    for name, text in outputs:
        atomic_write(staging / name, text)
    names = [name for name, _ in outputs]
    layers = {"incidents": frame_of(incidents), "places": frame_of(places)}
    if result.zones is not None:
        for layer, kind in (("zones", "zone"), ("sectors", "sector"), ("border", "border")):
            features = [f for f in result.zones["features"] if f["properties"].get("kind") == kind]
            layers[layer] = frame_of({"features": features})
    write_geopackage(staging / "geomap.gpkg", layers)
    if (staging / "geomap.gpkg").exists():
        names.append("geomap.gpkg")
    if png:
        from geomap.maps import render_png

        atomic_write(staging / "map.png", render_png(result.incidents, result.zones, title=title))
        names.append("map.png")
    result.timings["outputs_s"] = round(time.perf_counter() - started, 3)
    document = summary(result)
    document["outputs"] = {name: _described(staging / name) for name in names}
    atomic_write(staging / SUMMARY, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    return [*names, SUMMARY]


def articles_jsonl(result: Result) -> str:
    """Every article read, one JSON object a line, with the text that offsets in the other outputs
    refer to (for a web page, the main text extracted from it), so anyone can check a mention."""
    return "".join(json.dumps(plain(article), ensure_ascii=False) + "\n" for article in result.articles)


def _described(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of a staged file, for the manifest in summary.json."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}
