"""``geomap gazetteer``: look at and validate the shipped gazetteer; import places of your own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from geomap.cli.common import EXIT_PARTIAL
from geomap.cli.options import verbosity
from geomap.errors import GeomapError

if TYPE_CHECKING:
    from geomap.userplaces import ImportReport


@click.group()
def gazetteer() -> None:
    """Inspect and validate the curated gazetteer; import GeoNames dumps or CSV files of your own."""


@gazetteer.command()
@verbosity
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the gazetteer: ids, coordinates, geometries, names; exit 1 on any problem."""
    from geomap.gazetteer import default_gazetteer, validate

    try:
        problems = validate(default_gazetteer())
    except GeomapError as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in problems:
        click.echo(f"geomap: {problem}", err=True)
    click.echo(f"{len(problems)} problem(s)" if problems else "gazetteer OK")
    ctx.exit(1 if problems else 0)


@gazetteer.command()
@verbosity
def info() -> None:
    """Print the number of places by kind and of names, the physical features shipped with the
    world tier, and the files imported into it."""
    from geomap import userplaces
    from geomap.gazetteer import default_gazetteer, theatre_countries
    from geomap.world import default_physical

    gaz = default_gazetteer()
    kinds: dict[str, int] = {}
    for place in gaz.places.values():
        kinds[place.kind] = kinds.get(place.kind, 0) + 1
    theatre = sum(1 for p in gaz.places.values() if p.country in theatre_countries())
    physical = {p.id: p.kind for places in default_physical().by_key.values() for p in places}
    physical_kinds: dict[str, int] = {}
    for kind in physical.values():
        physical_kinds[kind] = physical_kinds.get(kind, 0) + 1
    try:
        imported = userplaces.imports()
    except GeomapError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        json.dumps(
            {
                "places": len(gaz.places),
                "theatre_places": theatre,
                "names": sum(len(n) for n in gaz.names.values()),
                "keys": len(gaz.index),
                "by_kind": dict(sorted(kinds.items())),
                "physical_features": {
                    "features": len(physical),
                    "by_kind": dict(sorted(physical_kinds.items())),
                },
                "user_places": {
                    "index": str(userplaces.default_path()),
                    "imports": [
                        {
                            "id": i.id,
                            "file": i.source,
                            "format": i.format,
                            "places": i.places,
                            "bad_lines": i.skipped,
                            "imported_at": i.imported_at,
                        }
                        for i in imported
                    ],
                },
            },
            indent=1,
            ensure_ascii=False,
        )
    )


@gazetteer.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--remove", is_flag=True, help="Remove what these files brought (by path, file name or import id)."
)
@verbosity
@click.pass_context
def import_files(ctx: click.Context, files: tuple[Path, ...], remove: bool) -> None:
    """Add places to the world tier: GeoNames country dumps (XX.zip or XX.txt, as geonames.org
    publishes them: populated places of any size, rivers, lakes, mountains, passes, bridges...) or
    CSV files of your own (header: name,lat,lon,country,kind[,alternatenames,population]).

    Importing a file again replaces what it brought. Bad lines are named and skipped. The index
    lives in the user cache folder ($GEOMAP_CACHE_DIR when set); `geomap gazetteer info` lists it.
    """
    from geomap import userplaces

    if remove:
        ctx.exit(_remove(files))
    done, failed, partial = 0, 0, 0
    for path in files:
        try:
            report = userplaces.import_file(path)
        except GeomapError as exc:
            click.echo(f"geomap: skipped {exc}", err=True)
            failed += 1
            continue
        done += 1
        for problem in report.problems:
            click.echo(f"geomap: bad line skipped: {problem}", err=True)
        if report.skipped > len(report.problems):
            click.echo(
                f"geomap: {path.name}: and {report.skipped - len(report.problems)} more bad lines", err=True
            )
        partial += bool(report.skipped)
        click.echo(_describe(path, report))
    if done == 0:
        click.echo("geomap: no file could be imported", err=True)
        ctx.exit(1)
    ctx.exit(EXIT_PARTIAL if failed or partial else 0)


def _describe(path: Path, report: ImportReport) -> str:
    parts = [f"{path.name}: {_count(report.places, 'place')} imported ({report.format})"]
    if report.replaced:
        parts.append(f"replacing {report.replaced}")
    if report.skipped:
        parts.append(f"{_count(report.skipped, 'bad line')} skipped")
    if report.ignored:
        parts.append(f"{_count(report.ignored, 'feature')} of other kinds ignored")
    return ", ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _remove(files: tuple[Path, ...]) -> int:
    from geomap import userplaces

    missing = 0
    for path in files:
        try:
            removed = userplaces.remove_import(str(path))
        except GeomapError as exc:
            raise click.ClickException(str(exc)) from exc
        if removed is None:
            click.echo(f"geomap: {path}: not among the imports (see geomap gazetteer info)", err=True)
            missing += 1
        else:
            click.echo(f"{removed.file_name}: {_count(removed.places, 'place')} removed")
    if missing == len(files):
        return 1
    return EXIT_PARTIAL if missing else 0
