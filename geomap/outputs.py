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
import importlib
import importlib.util
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from geomap import __version__
from geomap.acled import export_timestamp
from geomap.errors import OutputError, RunError
from geomap.export import (
    DEFAULT_FORMATS,
    FORMATS,
    atomic_write,
    attribution,
    feature_collection,
    format_files,
    incident_features,
    output_lock,
    place_features,
    result_layers,
    write_formats,
)
from geomap.models import Article, Result
from geomap.store import plain

STAGING = ".geomap-staging"
COMPLETE = "COMPLETE"  # the marker: the staged files listed in it are all written
SUMMARY = "summary.json"
# Every file a run may write: one left from an earlier run that this run did not write is removed.
PICTURE_FORMATS = ("png", "svg", "pdf")  # of the static map (geomap.static_map)
REPORT = "report.html"
OUTPUT_NAMES = frozenset(
    {
        "map.html",
        "articles.jsonl",
        REPORT,
        "timeline.png",
        "timeline.svg",
        SUMMARY,
        *(f"map.{fmt}" for fmt in PICTURE_FORMATS),
        *format_files(FORMATS),
    }
)
# Temporary files that atomic_write and write_geopackage leave only when their process is killed.
_STRAY = (".*.tmp", ".geomap.gpkg.*.gpkg", ".geomap.gpkg.*.gpkg-*")  # -journal, -wal, -shm: SQLite's
log = logging.getLogger("geomap")
# What writing the outputs imports in the process that writes map.html and report.html.
OUTPUT_MODULES = ("pyogrio", "geomap.maps", "geomap.report", "geomap.styles")
# The libraries that draw the static map and the timeline: the optional geomap[print].
PRINT_MODULES = ("matplotlib", "matplotlib_scalebar")
MAP_NEEDS_PRINT = "(the static map) needs matplotlib: pip install 'geomap[print]'"
NO_PRINT = (
    "timeline.svg and the report's timeline and printed map skipped: they need matplotlib "
    "(pip install 'geomap[print]')"
)


def summary(
    result: Result, *, settings: Mapping[str, Any] | None = None, digest: str | None = None
) -> dict[str, Any]:
    """Counts, unresolved names, problems and timings of a run; which geomap made it, from which
    inputs (their digest) and with which ``settings`` (plain values: never a password); the build's
    ``digest`` (:func:`geomap.build.build_digest`) tells the next build whether anything changed
    (None: the next build runs again, e.g. because a tier missed an article)."""
    unresolved: dict[str, int] = {}
    for r in result.resolutions:
        if r.place is None:
            unresolved[r.mention.text] = unresolved.get(r.mention.text, 0) + 1
    by_type: dict[str, int] = {}
    for incident in result.incidents:
        by_type[incident.sub_event_type] = by_type.get(incident.sub_event_type, 0) + 1
    return {
        "geomap": {"version": __version__},
        "build_digest": digest,
        "inputs": inputs_digest(result.articles),
        "settings": json.loads(json.dumps(dict(settings or {}), default=str)),
        "attribution": attribution(),
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


def inputs_digest(articles: Sequence[Article]) -> dict[str, Any]:
    """A SHA-256 over the articles read (each one's id and text, in id order): two runs with the
    same digest read the same texts, whatever the files or pages they came from."""
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.id):
        digest.update(article.id.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(article.text.encode("utf-8")).digest())
    return {"articles": len(articles), "sha256": digest.hexdigest()}


def _counts(values: Iterable[str]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for value in values:
        counted[value] = counted.get(value, 0) + 1
    return dict(sorted(counted.items()))


@dataclass(frozen=True, slots=True)
class Pictures:
    """What a run draws besides map.html: the static map in each of ``formats`` (map.png, .svg,
    .pdf) at a preset ``size`` of ``geomap.static_map.SIZES`` and an optional ``bbox`` (west, south,
    east, north), the timeline (timeline.svg, and timeline.png with a PNG map), and report.html."""

    formats: tuple[str, ...] = ()
    size: str = "a4-landscape"
    bbox: tuple[float, float, float, float] | None = None
    report: bool = True


def printing_available() -> bool:
    """Whether the static map and the timeline can be drawn here (``geomap[print]`` installed)."""
    return all(importlib.util.find_spec(name) is not None for name in PRINT_MODULES)


def prepare_outputs() -> None:
    """Import what writing the outputs needs here: folium and the map's offline assets, the report,
    the layers' styles and GDAL (about a second). A build runs it aside while its workers process
    the articles, so that this process, idle then, is ready when they are done."""
    for name in OUTPUT_MODULES:
        importlib.import_module(name)


def write_outputs(
    result: Result,
    out: Path,
    *,
    title: str = "geomap",
    offline: bool = True,
    pictures: Pictures = Pictures(),
    formats: Sequence[str] = DEFAULT_FORMATS,
    settings: Mapping[str, Any] | None = None,
    bom: bool = False,
    database: DatabaseTarget | None = None,
    digest: str | None = None,
    processes: int = 1,
    start_method: str | None = None,
) -> list[Path]:
    """Write map.html, articles.jsonl, the layers in each of ``formats`` (by default geomap.gpkg,
    incidents/places/border/zones/sectors .geojson with their .qml, incidents.csv), summary.json
    (with ``settings``), and report.html, the timeline and the static map as ``pictures`` says
    into ``out``, all swapped in together, under the
    lock on ``out``; ``bom`` starts the CSV files with a byte order mark (Excel). With ``database``,
    the layers also go to PostGIS, in one transaction, before anything is swapped in: a database that
    fails leaves the previous files too. With ``processes`` > 1, the static map and the timeline are
    drawn in a process of their own, started with ``start_method``, while this one writes the rest,
    then report.html with their pictures. Without geomap[print] (matplotlib), report.html is
    written without its timeline and printed map, and a static map asked for raises
    :class:`~geomap.errors.RunError`. Returns the paths written."""
    out = Path(out)
    with output_lock(out):
        recover(out, locked=True)
        staging = out / STAGING
        try:
            staging.mkdir()
        except OSError as exc:
            raise OutputError(f"cannot write into {out}: {exc.strerror or exc}") from exc
        try:
            names = _stage(
                result,
                staging,
                title=title,
                offline=offline,
                pictures=pictures,
                formats=formats,
                settings=settings,
                bom=bom,
                database=database,
                digest=digest,
                processes=processes,
                start_method=start_method,
            )
            atomic_write(staging / COMPLETE, json.dumps(names) + "\n")
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)  # the previous outputs stay, whole
            if isinstance(exc, OutputError) and isinstance(exc.__cause__, OSError):
                reason = exc.__cause__.strerror or exc.__cause__
                raise OutputError(f"cannot write the outputs into {out}: {reason}") from exc.__cause__
            raise
        _swap_in(out, names)
    return [out / name for name in names]


def kept_outputs(out: Path, digest: str) -> dict[str, Any] | None:
    """summary.json in ``out`` when the run that wrote it had the build ``digest`` and every output it
    lists is still there as written (same size and SHA-256): a build with that digest would write the
    same files, so it keeps them. None otherwise (a file edited, removed, or a damaged summary)."""
    try:
        document = json.loads((Path(out) / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("build_digest") != digest:
        return None
    manifest = document.get("outputs")
    if not isinstance(manifest, dict) or not manifest:
        return None
    for name, described in manifest.items():
        path = Path(out) / name
        if name not in OUTPUT_NAMES or not isinstance(described, dict):
            return None
        try:
            if path.stat().st_size != described.get("bytes") or _described(path) != described:
                return None
        except OSError:
            return None
    return document


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


def _stage(
    result: Result,
    staging: Path,
    *,
    title: str,
    offline: bool,
    pictures: Pictures,
    formats: Sequence[str],
    settings: Mapping[str, Any] | None,
    bom: bool = False,
    database: DatabaseTarget | None = None,
    digest: str | None = None,
    processes: int = 1,
    start_method: str | None = None,
) -> list[str]:
    """Write every output into ``staging``; the names written, summary.json last."""
    from geomap.areas import theatre_map_areas
    from geomap.maps import build_map, render_map

    started = time.perf_counter()
    layers = result_layers(result)
    places = next(layer for layer in layers if layer.name == "places")
    features = list(places.features)
    printable = printing_available()
    if not printable:
        if pictures.formats:
            raise RunError(f"map.{'/'.join(pictures.formats)} {MAP_NEEDS_PRINT}")
        if pictures.report:
            log.warning(NO_PRINT)
    draw = partial(_draw_pictures, result, staging, title=title, pictures=pictures)
    drawn = None
    if processes > 1 and printable and (pictures.formats or pictures.report):
        from geomap.runners import elsewhere

        drawn = elsewhere(draw, start_method=start_method)  # while this process writes the rest
    areas = theatre_map_areas(result)
    extent = result.theatre.extent if result.theatre else None
    fmap = build_map(result.incidents, features, title=title, zones=result.zones, areas=areas, extent=extent)
    names = []
    for name, text in (
        ("map.html", render_map(fmap, offline=offline)),
        ("articles.jsonl", articles_jsonl(result)),
    ):
        atomic_write(staging / name, text)
        names.append(name)
    metadata = {
        "TITLE": title,
        "ATTRIBUTION": attribution(),
        "GENERATOR": f"geomap {__version__}",
    }
    dates = [a.date for a in result.articles] + [i.date for i in result.incidents]
    names += write_formats(
        staging,
        layers,
        formats=formats,
        incidents=result.incidents,
        metadata=metadata,
        bom=bom,
        timestamp=export_timestamp(dates),
    )
    pictured = drawn() if drawn is not None else draw() if printable else Drawn()
    names += pictured.names
    if pictures.report:
        from geomap.report import render_result

        page = render_result(
            result,
            title=title,
            place_features=features,
            timeline=pictured.timeline,
            static_map=pictured.static_map,
        )
        atomic_write(staging / REPORT, page)
        names.append(REPORT)
    result.timings["outputs_s"] = round(time.perf_counter() - started, 3)
    document = summary(result, settings=settings, digest=digest)
    if database is not None:
        document["database"] = database.write(result).summary()
    document["outputs"] = {name: _described(staging / name) for name in names}
    atomic_write(staging / SUMMARY, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    return [*names, SUMMARY]


@dataclass(frozen=True, slots=True)
class Drawn:
    """What the drawing of a run's pictures hands back: the files it wrote, and the pictures
    report.html shows (the timeline as SVG, the static map as PNG for its printed pages)."""

    names: tuple[str, ...] = ()
    timeline: str | None = None
    static_map: bytes | None = None


def _draw_pictures(result: Result, staging: Path, *, title: str, pictures: Pictures) -> Drawn:
    """Draw the static map in each of ``pictures.formats`` and the timeline into ``staging``
    (matplotlib: geomap[print]).

    The report's printed pages show the static map (the interactive one does not print), so it is
    drawn for the report even when no map file is asked for; one drawing serves every format."""
    if not (pictures.formats or pictures.report):
        return Drawn()
    from geomap import timeline
    from geomap.areas import theatre_map_areas
    from geomap.static_map import MapOptions, draw

    names = []
    options = MapOptions(title=title, size=pictures.size, bbox=pictures.bbox)
    areas = theatre_map_areas(result)
    drawn = draw(result.incidents, result.zones, articles=result.articles, options=options, areas=areas)
    static_map = None
    for fmt in pictures.formats:
        picture = drawn.to_bytes(fmt)
        atomic_write(staging / f"map.{fmt}", picture)
        names.append(f"map.{fmt}")
        static_map = picture if fmt == "png" else static_map
    timeline_svg = timeline.render(result.incidents, fmt="svg")
    atomic_write(staging / "timeline.svg", timeline_svg)
    names.append("timeline.svg")
    if "png" in pictures.formats:
        atomic_write(staging / "timeline.png", timeline.render(result.incidents, fmt="png"))
        names.append("timeline.png")
    if pictures.report and static_map is None:
        static_map = drawn.to_bytes("png")
    return Drawn(tuple(names), timeline_svg, static_map if pictures.report else None)


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """Where a run's layers also go: a PostGIS database (``geomap build --db``), rows keyed by ``run``."""

    url: str
    run: str
    schema: str = "public"

    def write(self, result: Result):  # -> geomap.postgis.PostgisReport
        from geomap.postgis import write_postgis

        return write_postgis(
            self.url,
            run=self.run,
            schema=self.schema,
            incidents=feature_collection(incident_features(result.incidents), "incidents"),
            places=feature_collection(place_features(result.resolutions), "places"),
            zones=result.zones,
        )

    def __repr__(self) -> str:  # the password never shows
        from geomap.postgis import redact

        return f"DatabaseTarget({redact(self.url)!r}, run={self.run!r}, schema={self.schema!r})"


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
