"""``geomap build``: articles in, map.html, GeoJSON, CSV and a summary out."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import click

from geomap.cli.common import progress, report_problems
from geomap.cli.options import (
    geocoder_config,
    geocoder_options,
    is_quiet,
    language_option,
    read_language,
    verbosity,
    web_reader,
)
from geomap.errors import GeomapError
from geomap.export import DEFAULT_FORMATS, FORMATS, FormatError, parse_formats
from geomap.theatre import Theatre, TheatreError, for_borders, named, parse_borders, shipped


def _formats(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    try:
        return parse_formats(value)
    except FormatError as exc:
        raise click.BadParameter(str(exc)) from exc


def _widths(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None  # the theatre's
    from geomap.zones import ZoneConfig  # shapely, pyproj: imported when a width is given, not at every start

    try:
        widths = tuple(float(w) for w in value.split(",") if w.strip())
        ZoneConfig(widths)
    except (ValueError, GeomapError) as exc:
        raise click.BadParameter(f"expected increasing positive km like 5,10,20 ({exc})") from exc
    return widths


def _theatre(name: str | None, borders: str | None) -> Theatre | None:
    """The theatre ``--theatre`` or ``--border`` names (not both), or None to derive it."""
    if name and borders:
        raise click.UsageError("--theatre and --border name the same thing: give one")
    try:
        if name:
            return named(name)
        if borders:
            return for_borders(parse_borders(borders))
    except TheatreError as exc:
        raise click.BadParameter(str(exc), param_hint="--theatre" if name else "--border") from exc
    return None


def _size(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value == DEFAULT_SIZE:
        return value  # drawing modules load matplotlib: only when needed
    from geomap.static_map import SIZES

    if value not in SIZES:
        raise click.BadParameter(f"{value!r} is not a size; choose one of {', '.join(SIZES)}")
    return value


def _bbox(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    from geomap.static_map import parse_bbox

    try:
        return parse_bbox(value)
    except GeomapError as exc:
        raise click.BadParameter(str(exc)) from exc


DEFAULT_SIZE = "a4-landscape"


def _notify(*, quiet: bool) -> Callable[[str], None]:
    """How the build tells what it does without (a store that another build holds): a warning on
    standard error, through click so that it reaches the stream the command writes to; nothing with
    ``--quiet``, which keeps standard error for errors."""
    if quiet:
        return lambda message: None
    return lambda message: click.echo(f"geomap: {message}", err=True)


@click.command()
@click.argument("inputs", nargs=-1)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("maps"),
    show_default=True,
    help="Folder for map.html, report.html, the GeoJSON files, incidents.csv and summary.json.",
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
@click.option("--png", is_flag=True, help="Also write map.png and timeline.png, the static map and timeline.")
@click.option("--svg", is_flag=True, help="Also write map.svg, the static map for editing.")
@click.option("--pdf", is_flag=True, help="Also write map.pdf, the static map for print.")
@click.option(
    "--size",
    default=DEFAULT_SIZE,
    show_default=True,
    callback=_size,
    help="Size of the static map: a4-landscape, 1920x1080 or 1200x675 (social media).",
)
@click.option(
    "--bbox",
    metavar="W,S,E,N",
    callback=_bbox,
    help="Extent of the static map in degrees (west,south,east,north), instead of the incidents' own.",
)
@click.option(
    "--report/--no-report",
    default=True,
    show_default=True,
    help="Write report.html: map, timeline, sector and incident tables on one printable page.",
)
@click.option(
    "--cdn",
    is_flag=True,
    help="Link Leaflet from its CDN instead of inlining it (smaller file, needs a network).",
)
@click.option(
    "--theatre",
    "theatre_name",
    metavar="NAME|FILE",
    help="The theatre whose borders zones are measured from: a shipped profile ("
    + ", ".join(shipped())
    + ") or a profile file. Default: the borders between the countries the incidents are in.",
)
@click.option(
    "--border",
    "border_spec",
    metavar="XX:YY[,..]",
    help="The border(s) to measure zones from, as ISO country pairs (IL:LB, or UA:RU,UA:BY).",
)
@click.option(
    "--zone-km",
    default=None,
    callback=_widths,
    help="Widths of the border zones, in km, comma-separated (default: the theatre's, e.g. 5,10,20).",
)
@click.option(
    "--formats",
    default=",".join(DEFAULT_FORMATS),
    show_default=True,
    callback=_formats,
    help="Output formats, comma-separated, or all: " + ", ".join(FORMATS) + ".",
)
@click.option(
    "--excel",
    "bom",
    is_flag=True,
    help="Start the CSV files with a UTF-8 byte order mark, so that Excel reads their accents right.",
)
@click.option(
    "--db",
    metavar="URL",
    envvar="GEOMAP_DB",
    help="Also write the layers to this PostGIS database (postgresql://user@host/db; env GEOMAP_DB; "
    "put the password in PGPASSWORD or ~/.pgpass). Needs geomap[postgis].",
)
@click.option("--db-schema", default="public", show_default=True, help="Schema of the PostGIS tables.")
@click.option(
    "--db-run",
    metavar="KEY",
    help="The key of this run's rows in the database (default: the name of OUT): a re-run replaces "
    "its own rows only, so analysts can share one database.",
)
@geocoder_options
@language_option
@verbosity
@click.pass_context
def build(
    ctx: click.Context,
    inputs: tuple[str, ...],
    out: Path,
    title: str,
    png: bool,
    svg: bool,
    pdf: bool,
    size: str,
    bbox: tuple[float, float, float, float] | None,
    report: bool,
    cdn: bool,
    theatre_name: str | None,
    border_spec: str | None,
    zone_km: tuple[float, ...] | None,
    workers: int,
    scheduler: str | None,
    full: bool,
    formats: tuple[str, ...],
    bom: bool,
    db: str | None,
    db_schema: str,
    db_run: str | None,
) -> None:
    """Map the incidents and places of INPUTS into OUT.

    INPUTS are files (.txt, .md, .jsonl, saved .html pages, .rss/.atom/.xml feeds, text files listing
    URLs), folders of them, page or feed URLs, or - for standard input; default: seeds/."""
    from geomap import build as library
    from geomap.errors import NoArticleError
    from geomap.outputs import DatabaseTarget, Pictures
    from geomap.settings import Settings

    if not inputs:
        if not Path("seeds").is_dir():
            raise click.UsageError("no INPUT given and no seeds/ folder here")
        inputs = ("seeds",)
    drawn = tuple(f for f, on in (("png", png), ("svg", svg), ("pdf", pdf)) if on)
    options = library.BuildOptions(
        title=title,
        workers=workers,
        scheduler=scheduler,
        full=full,
        language=read_language(ctx),
        theatre=_theatre(theatre_name, border_spec),
        zone_km=zone_km,
        formats=formats,
        pictures=Pictures(formats=drawn, size=size, bbox=bbox, report=report),
        cdn=cdn,
        bom=bom,
        database=DatabaseTarget(db, run=db_run or out.resolve().name, schema=db_schema) if db else None,
    )
    try:
        with web_reader(ctx) as web:
            built = library.run(
                inputs,
                out,
                settings=Settings(geocoder=geocoder_config(ctx)),
                options=options,
                progress=progress(is_quiet(ctx)),
                web=web,
                notify=_notify(quiet=is_quiet(ctx)),
            )
    except NoArticleError as exc:
        ctx.exit(report_problems(exc.problems, 0))
    except GeomapError as exc:
        raise click.ClickException(str(exc)) from exc
    counts = built.summary
    code = report_problems(counts["problems"], counts["articles"])
    if not is_quiet(ctx):
        changed = (
            "nothing changed since the last run, outputs kept"
            if built.kept
            else f"{counts['run']['reused_articles']} unchanged since the last run"
        )
        click.echo(
            f"{counts['articles']} articles ({changed}), {counts['incidents']} incidents, "
            f"{counts['resolved_mentions']} resolved mentions -> " + ", ".join(str(p) for p in built.written),
            err=True,
        )
    ctx.exit(code)
