"""The ``geomap`` command line: a thin click group, one module per subcommand.

Exit codes: 0 every input was processed; 1 nothing could be processed, or a fatal error; 2 the
command line was wrong; 3 some inputs were skipped (each named on standard error).
"""

from __future__ import annotations

import gc
import importlib
import logging
import sys

import click

from geomap import __version__
from geomap.cli.options import verbosity

# Each subcommand's module, imported only when that command runs (or help lists them): "geomap extract"
# need not import the map and zone stack that "geomap build" uses.
COMMANDS = {
    "build": "geomap.cli.build",
    "extract": "geomap.cli.extract",
    "resolve": "geomap.cli.resolve",
    "evaluate": "geomap.cli.evaluate",
    "gazetteer": "geomap.cli.gazetteer",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command = getattr(importlib.import_module(module), cmd_name)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geomap")
@verbosity
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Turn French and English news articles into toponyms, places, incidents and maps."""
    ctx.ensure_object(dict)
    logging.basicConfig(format="geomap: %(message)s", stream=sys.stderr)
    # geopy's rate limiter logs every retry with a traceback; geomap says it once, in one line.
    logging.getLogger("geopy").setLevel(logging.CRITICAL)


def main() -> None:
    """Entry point of the ``geomap`` script.

    When the command is done, every object still alive is moved out of the garbage collector's
    reach (``gc.freeze``): the interpreter's last collection would otherwise walk the whole heap (the
    model, the gazetteer: about half a second) only to find what exiting frees anyway. Files,
    stores and locks are closed by then (context managers); at-exit handlers still run."""
    try:
        cli(prog_name="geomap")
    finally:
        gc.freeze()


__all__ = ["cli", "main"]
