"""``geomap extract``: the toponym mentions of articles, one JSON object per mention."""

from __future__ import annotations

import json

import click

from geomap.cli.common import make_pipeline, report_problems
from geomap.cli.options import geocoder_options, language_option, read_language, verbosity, web_reader
from geomap.errors import GeomapError, InputError
from geomap.models import point_feature


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "json", "geojsonseq"]),
    default="jsonl",
    show_default=True,
    help="One JSON object per mention and line, one JSON array, or GeoJSON features (RFC 8142 sequences).",
)
@click.option(
    "--rs", is_flag=True, help="With geojsonseq: start each feature with the RFC 8142 record separator."
)
@geocoder_options
@language_option
@verbosity
@click.pass_context
def extract(ctx: click.Context, inputs: tuple[str, ...], fmt: str, rs: bool) -> None:
    """Print the toponym mentions of INPUTS with their resolved places."""
    from geomap.ingest import iter_articles

    errors: list[InputError] = []
    processed = 0
    records = []
    try:
        pipeline = make_pipeline(ctx)
        with web_reader(ctx) as web:
            articles = list(iter_articles(inputs, errors, web=web, language=read_language(ctx)))
        for doc in pipeline.documents(articles, incidents=False):
            processed += 1
            for r in doc.resolutions:
                record = r.to_record()
                if fmt == "jsonl":
                    click.echo(json.dumps(record, ensure_ascii=False))
                elif fmt == "geojsonseq":
                    if r.place is not None:  # a feature needs a geometry
                        feature = point_feature(r.place.lat, r.place.lon, record)
                        click.echo(("\x1e" if rs else "") + json.dumps(feature, ensure_ascii=False))
                else:
                    records.append(record)
        if fmt == "json":
            click.echo(json.dumps(records, ensure_ascii=False, indent=1))
    except GeomapError as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.exit(report_problems([str(e) for e in errors], processed))
