"""Helpers the subcommands share: the pipeline from the options, progress and problem reports."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator

import click

from geomap.cli.options import geocoder_config
from geomap.models import Article

PROGRESS_THRESHOLD = 5
EXIT_PARTIAL = 3


def make_pipeline(ctx: click.Context, **options):  # -> geomap.pipeline.Pipeline (imported lazily)
    """The pipeline with the tiers the command line asked for (``options`` go to
    ``Pipeline.from_settings``)."""
    from geomap.pipeline import Pipeline, Settings

    return Pipeline.from_settings(Settings(geocoder=geocoder_config(ctx)), **options)


def progress(quiet: bool):
    """A wrapper that shows a progress bar on standard error for more than a handful of articles."""

    def wrap(articles: list[Article]) -> Iterable[Article]:
        if quiet or len(articles) <= PROGRESS_THRESHOLD:
            return articles
        return _bar(articles)

    return wrap


def _bar(articles: list[Article]) -> Iterator[Article]:
    with click.progressbar(articles, label="Articles", file=sys.stderr, show_pos=True) as bar:
        yield from bar


def report_problems(problems: list[str], processed: int) -> int:
    """Name every skipped input on standard error; the exit code that fits."""
    for problem in problems:
        click.echo(f"geomap: skipped {problem}", err=True)
    if processed == 0:
        click.echo("geomap: no article could be processed", err=True)
        return 1
    return EXIT_PARTIAL if problems else 0
