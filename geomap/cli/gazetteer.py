"""``geomap gazetteer``: look at and validate the shipped gazetteer."""

from __future__ import annotations

import json

import click

from geomap.cli.options import verbosity
from geomap.errors import GeomapError


@click.group()
def gazetteer() -> None:
    """Inspect and validate the curated gazetteer."""


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
    """Print the number of places by kind and of names."""
    from geomap.gazetteer import default_gazetteer

    gaz = default_gazetteer()
    kinds: dict[str, int] = {}
    for place in gaz.places.values():
        kinds[place.kind] = kinds.get(place.kind, 0) + 1
    theatre = sum(1 for p in gaz.places.values() if p.country in ("AM", "AZ"))
    click.echo(
        json.dumps(
            {
                "places": len(gaz.places),
                "theatre_places": theatre,
                "names": sum(len(n) for n in gaz.names.values()),
                "keys": len(gaz.index),
                "by_kind": dict(sorted(kinds.items())),
            },
            indent=1,
        )
    )
