"""The ``geomap`` command line: a thin click group, one module per subcommand.

Exit codes: 0 every input was processed; 1 nothing could be processed, or a fatal error; 2 the
command line was wrong; 3 some inputs were skipped (each named on standard error).
"""

from __future__ import annotations

import logging
import sys

import click

from geomap import __version__
from geomap.cli.build import build
from geomap.cli.evaluate import evaluate
from geomap.cli.extract import extract
from geomap.cli.gazetteer import gazetteer
from geomap.cli.options import verbosity
from geomap.cli.resolve import resolve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geomap")
@verbosity
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Turn French news articles into toponyms, places, incidents and maps."""
    ctx.ensure_object(dict)
    logging.basicConfig(format="geomap: %(message)s", stream=sys.stderr)
    # geopy's rate limiter logs every retry with a traceback; geomap says it once, in one line.
    logging.getLogger("geopy").setLevel(logging.CRITICAL)


for command in (build, extract, resolve, evaluate, gazetteer):
    cli.add_command(command)


def main() -> None:
    """Entry point of the ``geomap`` script."""
    cli(prog_name="geomap")


__all__ = ["cli", "main"]
