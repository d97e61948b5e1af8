"""One build, as ``geomap build`` runs it: articles in, every output of the run out.

The command line only parses options into :class:`BuildOptions` and turns errors into messages and
exit codes; everything else is here, so that a notebook, a cron job or a test runs the same build:
bring OUT back to one run's outputs if a run was killed while writing it, read the inputs, keep
OUT as it is when nothing changed since the run that wrote it, else open the incremental store, run
the pipeline (here, on workers or on a cluster), then write the outputs, the summary (with the
settings of the run) and the timings.

Nothing changed when the inputs read the same, and the code, data, model, settings, options and
output libraries are the same (:func:`build_digest`, recorded in summary.json), and every output
summary.json lists is still there as written: then no model is loaded and no file is touched, as
``make`` does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from geomap.errors import NoArticleError, RunError
from geomap.export import DEFAULT_FORMATS
from geomap.ingest import Inputs, read_all
from geomap.models import Article, Result
from geomap.outputs import (
    MAP_NEEDS_PRINT,
    SUMMARY,
    DatabaseTarget,
    Pictures,
    kept_outputs,
    prepare_outputs,
    printing_available,
    recover,
    summary,
    write_outputs,
)
from geomap.settings import Settings
from geomap.store import STORE_NAME, ResultStore, StoreError, fingerprint, plain
from geomap.theatre import Theatre
from geomap.web import WebReader

log = logging.getLogger("geomap")
Progress = Callable[[list[Article]], Iterable[Article]]
# The libraries that write the outputs: a new version may write other bytes, so it is a change.
OUTPUT_PACKAGES = (
    "folium",
    "branca",
    "folium-offline",
    "jinja2",
    "matplotlib",
    "matplotlib-scalebar",
    "pyogrio",
    "geopandas",
    "shapely",
    "pyproj",
)


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """How a build runs and what it writes: ``geomap build``'s options, parsed.

    ``workers`` processes (started with ``start_method``, None for the platform's default) or the
    Dask cluster at ``scheduler`` run the per-article stages; ``full`` processes every article again
    instead of reusing the store's results; ``language`` forces the language of every article;
    ``theatre`` and ``zone_km`` fix the border zones (None: derived, the theatre's widths); ``cdn``
    links Leaflet instead of inlining it; ``bom`` starts the CSV files with a byte order mark."""

    title: str = "geomap incidents"
    workers: int = 1
    start_method: str | None = None
    scheduler: str | None = None
    full: bool = False
    language: str | None = None
    theatre: Theatre | None = None
    zone_km: tuple[float, ...] | None = None
    formats: tuple[str, ...] = DEFAULT_FORMATS
    pictures: Pictures = field(default_factory=Pictures)
    cdn: bool = False
    bom: bool = False
    database: DatabaseTarget | None = None


@dataclass(frozen=True, slots=True)
class Built:
    """What a build produced: the paths of its outputs and the ``summary`` summary.json holds (counts,
    problems); ``result`` is the run's, or None when nothing had changed since the run that wrote the
    outputs, which were kept as they were."""

    written: tuple[Path, ...]
    summary: dict[str, Any]
    result: Result | None = None

    @property
    def kept(self) -> bool:
        """True when the outputs were kept from the previous run."""
        return self.result is None


def run(
    inputs: Sequence[str | Path],
    out: Path,
    *,
    settings: Settings | None = None,
    options: BuildOptions | None = None,
    progress: Progress | None = None,
    web: WebReader | None = None,
    notify: Callable[[str], None] = log.warning,
) -> Built:
    """Build the outputs of ``inputs`` into ``out`` with the pipeline ``settings`` describe (default:
    offline) as ``options`` say. ``progress`` wraps the articles still to process (a progress bar);
    ``web`` reads URL and feed inputs; ``notify`` tells what the run does without (a store that
    another build holds). Raises :class:`~geomap.errors.NoArticleError` when no input could be
    processed (nothing is written then), and any other :class:`~geomap.errors.GeomapError` that
    stops the run; inputs that cannot be read are only named in ``result.problems``."""
    settings = settings or Settings()
    options = options or BuildOptions()
    if options.pictures.formats and not printing_available():  # before any work: it would be lost
        raise RunError(f"map.{'/'.join(options.pictures.formats)} {MAP_NEEDS_PRINT}")
    out = Path(out)
    started = time.perf_counter()
    recover(out)  # a run killed while writing OUT left files of two runs: make them one run's again
    read = read_all(inputs, web=web)
    digest = build_digest(read, settings, options)
    if not options.full and options.database is None and (kept := kept_outputs(out, digest)) is not None:
        return _kept(out, kept, read, seconds=time.perf_counter() - started)
    from geomap.pipeline import Pipeline  # the models: loaded only when there is work for them
    from geomap.zones import ZoneConfig

    pipeline = Pipeline.from_settings(
        settings,
        zones=ZoneConfig(options.zone_km) if options.zone_km else None,
        theatre=options.theatre,
        processes=options.workers,
    )
    store = _store(out, settings, full=options.full, notify=notify)
    with store if store is not None else contextlib.nullcontext():
        result = pipeline.run(
            read,
            progress=progress,
            workers=options.workers,
            store=store,
            scheduler=options.scheduler,
            web=web,
            language=options.language,
            start_method=options.start_method,
            aside=prepare_outputs,
        )
    if not result.articles:
        raise NoArticleError(result.problems)
    result.timings["total_s"] = round(time.perf_counter() - started, 3)
    writing = time.perf_counter()
    recorded = run_settings(result, settings, options)
    # an article a tier missed (offline, failed) is retried next time: its outputs are never kept
    complete = digest if result.incomplete == 0 else None
    written = write_outputs(
        result,
        out,
        title=options.title,
        offline=not options.cdn,
        pictures=options.pictures,
        formats=options.formats,
        settings=recorded,
        bom=options.bom,
        database=options.database,
        digest=complete,
        processes=options.workers,
        start_method=options.start_method,
    )
    finished = time.perf_counter()
    _log_outputs(written, seconds=finished - writing, total=finished - started)
    return Built(tuple(written), summary(result, settings=recorded, digest=complete), result)


def build_digest(read: Inputs, settings: Settings, options: BuildOptions) -> str:
    """A digest of everything a build's outputs depend on: the store's fingerprint (geomap's code and
    data, the model, the settings), the options that shape the outputs, the versions of the libraries
    that write them, and every article as read and every input that could not be read, in order.
    How the work is spread (workers, start method, cluster) changes no output and is left out."""
    digest = hashlib.sha256()
    digest.update(fingerprint(settings.identity()).encode())
    shaping = replace(options, workers=1, start_method=None, scheduler=None, full=False)
    digest.update(repr(shaping).encode())
    for package in OUTPUT_PACKAGES:
        try:
            digest.update(f"{package}={metadata.version(package)};".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} absent;".encode())
    for item in read.reads:
        digest.update(json.dumps(plain(item.article), ensure_ascii=False, sort_keys=True).encode() + b"\n")
    for error in read.errors:
        digest.update(f"error {error}\n".encode())
    return digest.hexdigest()


def _kept(out: Path, document: dict[str, Any], read: Inputs, *, seconds: float) -> Built:
    """The build whose outputs in ``out`` are kept: nothing changed since the run that wrote them."""
    unread = len(read.errors)
    log.info("inputs read in %.2f s: %d articles, %d unreadable", read.seconds, len(read.reads), unread)
    log.info(
        "nothing changed since the run that wrote %s (same inputs, code, data, settings and options): "
        "its %d outputs are kept; build done in %.2f s",
        out,
        len(document["outputs"]) + 1,
        seconds,
    )
    return Built((*(out / name for name in document["outputs"]), out / SUMMARY), document)


def _log_outputs(written: Sequence[Path], *, seconds: float, total: float) -> None:
    """Each output with its size, then the writing time and the whole build's (the stages before
    logged theirs as they were measured, in :meth:`geomap.pipeline.Pipeline.run`)."""
    if not log.isEnabledFor(logging.INFO):
        return
    for path in written:
        with contextlib.suppress(OSError):  # a size is only a hint: never fail a written build over it
            log.info("wrote %s (%s)", path, human_size(path.stat().st_size))
    log.info("%d outputs written in %.2f s; build done in %.2f s", len(written), seconds, total)


def human_size(size: int) -> str:
    """ "812 B", "14.2 kB", "3.1 MB": a size as a reader takes it in (powers of 1000, as ``ls --si``)."""
    value = float(size)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _store(out: Path, settings: Settings, *, full: bool, notify: Callable[[str], None]) -> ResultStore | None:
    """The incremental store in ``out``, or None when another build holds it (this run then goes on
    without it: a store is only a memory of earlier work)."""
    try:
        return ResultStore(out / STORE_NAME, fingerprint(settings.identity()), reuse=not full)
    except StoreError as exc:
        if not exc.busy:
            raise
        notify(f"{exc}; this run goes on without it")
        return None


def run_settings(result: Result, settings: Settings, options: BuildOptions) -> dict[str, Any]:
    """How the run was asked for, as summary.json records it (plain values: never a password)."""
    pictures = options.pictures
    return {
        "formats": list(options.formats),
        "zone_km": list(options.zone_km or result.zone_widths),
        "theatre": result.theatre.name if result.theatre else None,
        "borders": [str(b) for b in result.theatre.borders] if result.theatre else [],
        "offline": settings.geocoder is None,
        "geocoder": settings.identity(),
        "title": options.title,
        "pictures": list(pictures.formats),
        "size": pictures.size,
        "bbox": list(pictures.bbox) if pictures.bbox else None,
        "report": pictures.report,
        "cdn": options.cdn,
        "excel": options.bom,
        "database": repr(options.database) if options.database else None,
    }
