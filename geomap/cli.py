"""The ``geomap`` command line: a thin click group over :mod:`geomap.pipeline`.

Exit codes: 0 every input was processed; 1 nothing could be processed, or a fatal error; 2 the
command line was wrong; 3 some inputs were skipped (each named on standard error).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import click

from geomap import __version__
from geomap.errors import GeomapError
from geomap.models import Article

log = logging.getLogger("geomap")
PROGRESS_THRESHOLD = 5
EXIT_PARTIAL = 3


def _progress(quiet: bool):
    def wrap(articles: list[Article]) -> Iterable[Article]:
        if quiet or len(articles) <= PROGRESS_THRESHOLD:
            return articles
        return _bar(articles)

    return wrap


def _bar(articles: list[Article]) -> Iterable[Article]:
    with click.progressbar(articles, label="Articles", file=sys.stderr, show_pos=True) as bar:
        yield from bar


def _report_problems(problems: list[str], processed: int) -> int:
    for problem in problems:
        click.echo(f"geomap: skipped {problem}", err=True)
    if processed == 0:
        click.echo("geomap: no article could be processed", err=True)
        return 1
    return EXIT_PARTIAL if problems else 0


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: int | bool) -> None:
    state = ctx.ensure_object(dict)
    if param.name == "quiet" and value:
        state["quiet"] = True
    elif param.name == "verbose" and value:
        state["verbose"] = state.get("verbose", 0) + int(value)
    level = (
        logging.ERROR
        if state.get("quiet")
        else [logging.WARNING, logging.INFO, logging.DEBUG][min(state.get("verbose", 0), 2)]
    )
    logging.getLogger("geomap").setLevel(level)


def verbosity(command):
    """``-v/--verbose`` and ``-q/--quiet``, accepted before or after the subcommand."""
    command = click.option(
        "-q", "--quiet", is_flag=True, expose_value=False, callback=_set_verbosity, help="Only errors."
    )(command)
    return click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_set_verbosity,
        help="More messages (repeat for debug output).",
    )(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geomap")
@verbosity
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Turn French news articles into toponyms, places, incidents and maps."""
    ctx.ensure_object(dict)
    logging.basicConfig(format="geomap: %(message)s", stream=sys.stderr)


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("maps"),
    show_default=True,
    help="Folder for map.html, the GeoJSON files, incidents.csv and summary.json.",
)
@click.option("--offline", is_flag=True, help="Never call an online geocoder (the offline tiers only).")
@click.option("--title", default="geomap incidents", show_default=True, help="Title shown on the map.")
@verbosity
@click.pass_context
def build(ctx: click.Context, inputs: tuple[Path, ...], out: Path, offline: bool, title: str) -> None:
    """Map the incidents and places of INPUTS (files or folders; default: seeds/) into OUT."""
    from geomap.pipeline import Pipeline, write_outputs

    if not inputs:
        if not Path("seeds").is_dir():
            raise click.UsageError("no INPUT given and no seeds/ folder here")
        inputs = (Path("seeds"),)
    started = time.perf_counter()
    try:
        pipeline = Pipeline()
        result = pipeline.run(inputs, progress=_progress(_quiet(ctx)))
        code = _report_problems(result.problems, len(result.articles))
        if code == 1:
            ctx.exit(1)
        result.timings["total_s"] = round(time.perf_counter() - started, 3)
        written = write_outputs(result, out, title=title)
    except GeomapError as exc:
        raise click.ClickException(str(exc)) from exc
    if not _quiet(ctx):
        click.echo(
            f"{len(result.articles)} articles, {len(result.incidents)} incidents, "
            f"{sum(1 for r in result.resolutions if r.place)} resolved mentions -> "
            + ", ".join(str(p) for p in written),
            err=True,
        )
    ctx.exit(code)


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "json"]),
    default="jsonl",
    show_default=True,
    help="One JSON object per mention and line, or one JSON array.",
)
@click.option("--offline", is_flag=True, help="Never call an online geocoder (the offline tiers only).")
@verbosity
@click.pass_context
def extract(ctx: click.Context, inputs: tuple[Path, ...], fmt: str, offline: bool) -> None:
    """Print the toponym mentions of INPUTS with their resolved places."""
    from geomap.errors import InputError
    from geomap.ingest import iter_articles
    from geomap.pipeline import Pipeline

    errors: list[InputError] = []
    try:
        pipeline = Pipeline()
        processed = 0
        records = []
        for doc in pipeline.documents(iter_articles(inputs, errors), incidents=False):
            processed += 1
            for r in doc.resolutions:
                if fmt == "jsonl":
                    click.echo(json.dumps(r.to_record(), ensure_ascii=False))
                else:
                    records.append(r.to_record())
        if fmt == "json":
            click.echo(json.dumps(records, ensure_ascii=False, indent=1))
    except GeomapError as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.exit(_report_problems([str(e) for e in errors], processed))


def _quiet(ctx: click.Context) -> bool:
    return bool(ctx.find_root().ensure_object(dict).get("quiet"))


def main() -> None:
    """Entry point of the ``geomap`` script."""
    cli(prog_name="geomap")


if __name__ == "__main__":
    main()
