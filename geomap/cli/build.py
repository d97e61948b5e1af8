"""``geomap build``: articles in, map.html, GeoJSON, CSV and a summary out."""

from __future__ import annotations

import time
from pathlib import Path

import click

from geomap.cli.common import make_pipeline, progress, report_problems
from geomap.cli.options import geocoder_options, is_quiet, verbosity
from geomap.errors import GeomapError


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("maps"),
    show_default=True,
    help="Folder for map.html, the GeoJSON files, incidents.csv and summary.json.",
)
@click.option("--title", default="geomap incidents", show_default=True, help="Title shown on the map.")
@geocoder_options
@verbosity
@click.pass_context
def build(ctx: click.Context, inputs: tuple[Path, ...], out: Path, title: str) -> None:
    """Map the incidents and places of INPUTS (files or folders; default: seeds/) into OUT."""
    from geomap.pipeline import write_outputs

    if not inputs:
        if not Path("seeds").is_dir():
            raise click.UsageError("no INPUT given and no seeds/ folder here")
        inputs = (Path("seeds"),)
    started = time.perf_counter()
    try:
        pipeline = make_pipeline(ctx)
        result = pipeline.run(inputs, progress=progress(is_quiet(ctx)))
        code = report_problems(result.problems, len(result.articles))
        if code == 1:
            ctx.exit(1)
        result.timings["total_s"] = round(time.perf_counter() - started, 3)
        written = write_outputs(result, out, title=title)
    except GeomapError as exc:
        raise click.ClickException(str(exc)) from exc
    if not is_quiet(ctx):
        click.echo(
            f"{len(result.articles)} articles, {len(result.incidents)} incidents, "
            f"{sum(1 for r in result.resolutions if r.place)} resolved mentions -> "
            + ", ".join(str(p) for p in written),
            err=True,
        )
    ctx.exit(code)
