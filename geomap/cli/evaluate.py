"""``geomap evaluate``: recognition, resolution and incident scores against annotated articles."""

from __future__ import annotations

import json
from pathlib import Path

import click

from geomap.cli.common import make_pipeline, report_problems
from geomap.cli.options import geocoder_options, language_option, read_language, verbosity
from geomap.errors import GeomapError


@click.command()
@click.argument("gold", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print every figure and list as JSON.")
@click.option("--no-incidents", is_flag=True, help="Score toponyms only.")
@geocoder_options
@language_option
@verbosity
@click.pass_context
def evaluate(
    ctx: click.Context, gold: Path, inputs: tuple[Path, ...], as_json: bool, no_incidents: bool
) -> None:
    """Score geomap on INPUTS against GOLD (a JSON list of annotated articles, as in the dev set)."""
    from geomap.evaluate import evaluate as score
    from geomap.evaluate import report

    try:
        annotations = json.loads(gold.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{gold}: not a readable JSON gold file ({exc})") from exc
    if not isinstance(annotations, list) or not all(isinstance(a, dict) and "doc" in a for a in annotations):
        raise click.ClickException(f"{gold}: expected a JSON list of objects with a 'doc' key")
    try:
        result = make_pipeline(ctx).run(inputs, language=read_language(ctx))
    except GeomapError as exc:
        raise click.ClickException(str(exc)) from exc
    code = report_problems(result.problems, len(result.articles))
    mentions = [r.to_record() for r in result.resolutions]
    incidents = None
    if not no_incidents:
        incidents = []
        for incident in result.incidents:
            lat, lon = incident.place.lat, incident.place.lon
            incidents.append(
                {
                    "doc": incident.doc,
                    "lat": lat,
                    "lon": lon,
                    "mention": incident.mention,
                    "place": incident.place.name,
                }
            )
    scores = score(annotations, mentions, incidents)
    click.echo(json.dumps(scores, ensure_ascii=False, indent=1) if as_json else report(scores))
    ctx.exit(code)
