"""``geomap build``: articles in, map.html, GeoJSON, CSV and a summary out."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from geomap.cli.common import make_pipeline, progress, report_problems
from geomap.cli.options import geocoder_options, is_quiet, verbosity, web_reader
from geomap.errors import GeomapError
from geomap.zones import ZoneConfig


def _widths(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, ...]:
    try:
        widths = tuple(float(w) for w in value.split(",") if w.strip())
        ZoneConfig(widths)
    except (ValueError, GeomapError) as exc:
        raise click.BadParameter(f"expected increasing positive km like 5,10,20 ({exc})") from exc
    return widths


@click.command()
@click.argument("inputs", nargs=-1)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("maps"),
    show_default=True,
    help="Folder for map.html, the GeoJSON files, incidents.csv and summary.json.",
)
@click.option("--title", default="geomap incidents", show_default=True, help="Title shown on the map.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="all cores",
    help="Processes working on articles in parallel (used from a few dozen articles on).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Run the per-article stages on this Dask cluster: its scheduler's address "
    "(tcp://host:8786) or scheduler file. Needs geomap[dask] here and on every worker.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Process every article again instead of reusing the results kept in OUT from earlier runs.",
)
@click.option("--png", is_flag=True, help="Also write map.png, a static picture for reports.")
@click.option(
    "--cdn",
    is_flag=True,
    help="Link Leaflet from its CDN instead of inlining it (smaller file, needs a network).",
)
@click.option(
    "--zone-km",
    default="5,10,20",
    show_default=True,
    callback=_widths,
    help="Widths of the border zones, in km, comma-separated.",
)
@geocoder_options
@verbosity
@click.pass_context
def build(
    ctx: click.Context,
    inputs: tuple[str, ...],
    out: Path,
    title: str,
    png: bool,
    cdn: bool,
    zone_km: tuple[float, ...],
    workers: int,
    scheduler: str | None,
    full: bool,
) -> None:
    """Map the incidents and places of INPUTS into OUT.

    INPUTS are files (.txt, .md, .jsonl, saved .html pages, .rss/.atom/.xml feeds, text files listing
    URLs), folders of them, page or feed URLs, or - for standard input; default: seeds/."""
    from geomap.outputs import recover, write_outputs
    from geomap.store import STORE_NAME, ResultStore, fingerprint

    if not inputs:
        if not Path("seeds").is_dir():
            raise click.UsageError("no INPUT given and no seeds/ folder here")
        inputs = ("seeds",)
    started = time.perf_counter()
    try:
        recover(out)  # a run killed while writing OUT left files of two runs: make them one run's again
        pipeline = make_pipeline(ctx, zones=ZoneConfig(zone_km), processes=workers)
        store = ResultStore(out / STORE_NAME, fingerprint(pipeline.settings.identity()), reuse=not full)
        with store, web_reader(ctx) as web:
            result = pipeline.run(
                inputs,
                progress=progress(is_quiet(ctx)),
                workers=workers,
                store=store,
                scheduler=scheduler,
                web=web,
            )
        code = report_problems(result.problems, len(result.articles))
        if code == 1:
            ctx.exit(1)
        result.timings["total_s"] = round(time.perf_counter() - started, 3)
        written = write_outputs(result, out, title=title, offline=not cdn, png=png)
    except GeomapError as exc:
        raise click.ClickException(str(exc)) from exc
    if not is_quiet(ctx):
        click.echo(
            f"{len(result.articles)} articles ({result.reused} unchanged since the last run), "
            f"{len(result.incidents)} incidents, "
            f"{sum(1 for r in result.resolutions if r.place)} resolved mentions -> "
            + ", ".join(str(p) for p in written),
            err=True,
        )
    ctx.exit(code)
