"""Helpers the subcommands share: the pipeline from the options, progress and problem reports."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator

import click

from geomap.cli.options import geocoder_config
from geomap.models import Article

PROGRESS_THRESHOLD = 5
PROGRESS_EVERY_S = 5.0  # without a terminal, a progress line this often
EXIT_PARTIAL = 3


def make_pipeline(ctx: click.Context, **options):  # -> geomap.pipeline.Pipeline (imported lazily)
    """The pipeline with the tiers the command line asked for (``options`` go to
    ``Pipeline.from_settings``)."""
    from geomap.pipeline import Pipeline
    from geomap.settings import Settings

    return Pipeline.from_settings(Settings(geocoder=geocoder_config(ctx)), **options)


def progress(quiet: bool, *, every: float = PROGRESS_EVERY_S):
    """A wrapper that shows progress on standard error for more than a handful of articles: a bar on
    a terminal; elsewhere (a log file, a cron job, CI) a line every ``every`` seconds with the
    articles done, the rate and the time left, since a bar that cannot redraw says nothing."""

    def wrap(articles: list[Article]) -> Iterable[Article]:
        if quiet or len(articles) <= PROGRESS_THRESHOLD:
            return articles
        return _bar(articles) if sys.stderr.isatty() else _lines(articles, every=every)

    return wrap


def _bar(articles: list[Article]) -> Iterator[Article]:
    with click.progressbar(articles, label="Articles", file=sys.stderr, show_pos=True) as bar:
        yield from bar


def _lines(
    articles: list[Article], *, every: float, clock: Callable[[], float] = time.monotonic
) -> Iterator[Article]:
    started = last = clock()
    total = len(articles)
    for done, article in enumerate(articles):
        now = clock()
        if done and now - last >= every:
            last = now
            click.echo(progress_line(done, total, now - started), err=True)
        yield article
    click.echo(progress_line(total, total, clock() - started), err=True)


def progress_line(done: int, total: int, elapsed: float) -> str:
    """ "geomap: 120/440 articles, 35.2 articles/s, about 9 s left"."""
    rate = done / elapsed if elapsed > 0 else 0.0
    left = f", about {math.ceil((total - done) / rate)} s left" if rate and done < total else ""
    return f"geomap: {done}/{total} articles, {rate:.1f} articles/s{left}"


def report_problems(problems: list[str], processed: int) -> int:
    """Name every skipped input on standard error; the exit code that fits."""
    for problem in problems:
        click.echo(f"geomap: skipped {problem}", err=True)
    if processed == 0:
        click.echo("geomap: no article could be processed", err=True)
        return 1
    return EXIT_PARTIAL if problems else 0
