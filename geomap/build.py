"""One build, as ``geomap build`` runs it: articles in, every output of the run out.

The command line only parses options into :class:`BuildOptions` and turns errors into messages and
exit codes; everything else is here, so that a notebook, a cron job or a test runs the same build:
bring OUT back to one run's outputs if a run was killed while writing it, open the incremental
store, run the pipeline (here, on workers or on a cluster), then write the outputs, the summary
(with the settings of the run) and the timings.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geomap.errors import NoArticleError
from geomap.export import DEFAULT_FORMATS
from geomap.models import Article, Result
from geomap.outputs import DatabaseTarget, Pictures, recover, write_outputs
from geomap.pipeline import Pipeline, Settings
from geomap.store import STORE_NAME, ResultStore, StoreError, fingerprint
from geomap.theatre import Theatre
from geomap.web import WebReader
from geomap.zones import ZoneConfig

log = logging.getLogger("geomap")
Progress = Callable[[list[Article]], Iterable[Article]]


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
    """What a build produced: the run's ``result`` and the paths of the outputs it wrote."""

    result: Result
    written: tuple[Path, ...]


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
    out = Path(out)
    started = time.perf_counter()
    recover(out)  # a run killed while writing OUT left files of two runs: make them one run's again
    pipeline = Pipeline.from_settings(
        settings,
        zones=ZoneConfig(options.zone_km) if options.zone_km else None,
        theatre=options.theatre,
        processes=options.workers,
    )
    store = _store(out, settings, full=options.full, notify=notify)
    with store if store is not None else contextlib.nullcontext():
        result = pipeline.run(
            inputs,
            progress=progress,
            workers=options.workers,
            store=store,
            scheduler=options.scheduler,
            web=web,
            language=options.language,
            start_method=options.start_method,
        )
    if not result.articles:
        raise NoArticleError(result.problems)
    result.timings["total_s"] = round(time.perf_counter() - started, 3)
    writing = time.perf_counter()
    written = write_outputs(
        result,
        out,
        title=options.title,
        offline=not options.cdn,
        pictures=options.pictures,
        formats=options.formats,
        settings=run_settings(result, settings, options),
        bom=options.bom,
        database=options.database,
    )
    finished = time.perf_counter()
    _log_outputs(written, seconds=finished - writing, total=finished - started)
    return Built(result, tuple(written))


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
