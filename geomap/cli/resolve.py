"""``geomap resolve``: where a name is, in the context of an article, with the reasons on request."""

from __future__ import annotations

import json
from pathlib import Path

import click

from geomap.cli.common import make_pipeline
from geomap.cli.options import geocoder_options, verbosity
from geomap.errors import GeomapError, InputError


@click.command()
@click.argument("name")
@click.option(
    "--context",
    "context_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An article whose other places guide the choice.",
)
@click.option("--area", is_flag=True, help='The name is introduced as an area ("le district de ...").')
@click.option("--explain", is_flag=True, help="Print every candidate, ranked, with the reasons of its score.")
@geocoder_options
@verbosity
@click.pass_context
def resolve(ctx: click.Context, name: str, context_file: Path | None, area: bool, explain: bool) -> None:
    """Resolve NAME, optionally in the context of an article, and print the result as JSON."""
    from geomap.ingest import iter_articles

    try:
        pipeline = make_pipeline(ctx)
        context_names: list[str] = []
        if context_file is not None:
            errors: list[InputError] = []
            for parsed in pipeline.extractor.parse(iter_articles([context_file], errors)):
                context_names += [m.text for m in parsed.mentions]
            if errors:
                raise click.ClickException(str(errors[0]))
        ranked = pipeline.resolver.explain(name, context_names, wants_area=area)
    except GeomapError as exc:
        raise click.ClickException(str(exc)) from exc
    if not ranked:
        click.echo(f"geomap: no candidate for {name!r}", err=True)
        ctx.exit(1)
    shown = ranked if explain else ranked[:1]
    for rank, scored in enumerate(shown, start=1):
        p = scored.place
        record = {
            "rank": rank,
            "name": p.name,
            "place_id": p.id,
            "kind": p.kind,
            "country": p.country,
            "lat": p.lat,
            "lon": p.lon,
            "source": scored.source,
            "score": scored.score,
        }
        if explain:
            record["reasons"] = list(scored.reasons)
        click.echo(json.dumps(record, ensure_ascii=False))
