"""Options shared by several commands, defined once (as Fiona's ``fio`` does)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: int | bool) -> None:
    state = ctx.ensure_object(dict)
    if param.name == "quiet" and value:
        state["quiet"] = True
    elif param.name == "verbose" and value:
        state["verbose"] = state.get("verbose", 0) + int(value)
    if state.get("quiet"):
        level = logging.ERROR
    else:
        level = [logging.WARNING, logging.INFO, logging.DEBUG][min(state.get("verbose", 0), 2)]
    logging.getLogger("geomap").setLevel(level)


def verbosity(command: F) -> F:
    """``-v/--verbose`` and ``-q/--quiet``, accepted before or after the subcommand."""
    command = click.option(
        "-q", "--quiet", is_flag=True, expose_value=False, callback=_set_verbosity, help="Only errors."
    )(command)
    return click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_set_verbosity,
        help="More messages (repeat for debug output).",
    )(command)


def is_quiet(ctx: click.Context) -> bool:
    return bool(ctx.find_root().ensure_object(dict).get("quiet"))


def geocoder_options(command: F) -> F:
    """``--offline`` and the online geocoder's settings; hands the command a ``geocoder`` value
    (a :class:`~geomap.geocode.GeocoderConfig`, or None when offline)."""

    def build_config(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        ctx.ensure_object(dict).setdefault("geocoder_args", {})[param.name] = value

    for decorator in reversed(
        [
            click.option(
                "--offline",
                is_flag=True,
                expose_value=False,
                callback=build_config,
                help="Never go online: no geocoder (offline tiers only), no fetching of URLs or "
                "feeds (such inputs are named and skipped).",
            ),
            click.option(
                "--geocoder",
                type=click.Choice(["nominatim", "photon", "geonames"]),
                default="nominatim",
                show_default=True,
                expose_value=False,
                callback=build_config,
                help="Online fallback for names no offline tier knows.",
            ),
            click.option(
                "--user-agent",
                default=None,
                expose_value=False,
                callback=build_config,
                help="User agent sent to the geocoder and to the sites pages and feeds are fetched "
                "from (Nominatim requires one of your own; default: geomap and its version).",
            ),
            click.option(
                "--geocoder-domain",
                default=None,
                expose_value=False,
                callback=build_config,
                help="Host (and port) of the geocoder, e.g. a self-hosted Nominatim.",
            ),
            click.option(
                "--geocoder-scheme",
                type=click.Choice(["https", "http"]),
                default="https",
                show_default=True,
                expose_value=False,
                callback=build_config,
                help="Scheme of the geocoder's URLs.",
            ),
            click.option(
                "--geonames-username",
                default=None,
                expose_value=False,
                callback=build_config,
                help="GeoNames account name (with --geocoder geonames).",
            ),
            click.option(
                "--fetch-delay",
                type=click.FloatRange(min=0),
                default=1.0,
                show_default=True,
                metavar="SECONDS",
                expose_value=False,
                callback=build_config,
                help="Seconds between two requests to one site when fetching pages and feeds.",
            ),
            click.option(
                "--geocoder-max-requests",
                type=click.IntRange(min=1),
                default=500,
                show_default=True,
                metavar="N",
                expose_value=False,
                callback=build_config,
                help="At most N names looked up online in one run (cached answers do not count); "
                "articles that needed more are processed again next run.",
            ),
        ]
    ):
        command = decorator(command)
    return command


def language_option(command: F) -> F:
    """``--lang fr|en|auto``: the language every article is read in, or ``auto`` (each article's
    declared language, else the detected one)."""
    from geomap.lexicon import languages

    def keep(ctx: click.Context, param: click.Parameter, value: str) -> None:
        ctx.ensure_object(dict)["lang"] = None if value == "auto" else value

    return click.option(
        "--lang",
        type=click.Choice([*languages(), "auto"]),
        default="auto",
        show_default=True,
        expose_value=False,
        callback=keep,
        help="Read every article as written in this language; auto: as its page or record declares, "
        "else as detected (articles in other languages are named and skipped).",
    )(command)


def read_language(ctx: click.Context) -> str | None:
    """The language ``--lang`` forces, or None for auto."""
    return ctx.ensure_object(dict).get("lang")


def geocoder_config(ctx: click.Context) -> Any:
    """The geocoder settings the command line gave, or None with ``--offline``."""
    from geomap import __version__
    from geomap.geocode import GeocoderConfig

    args = ctx.ensure_object(dict).get("geocoder_args", {})
    if args.get("offline"):
        return None
    return GeocoderConfig(
        provider=args.get("geocoder") or "nominatim",
        user_agent=args.get("user_agent") or f"geomap/{__version__}",
        domain=args.get("geocoder_domain"),
        scheme=args.get("geocoder_scheme") or "https",
        username=args.get("geonames_username"),
        max_requests=args.get("geocoder_max_requests") or 500,
    )


def web_reader(ctx: click.Context) -> Any:
    """The reader of URL and feed inputs the command line asked for (offline with ``--offline``)."""
    from geomap.web import WebReader

    args = ctx.ensure_object(dict).get("geocoder_args", {})
    if args.get("offline"):
        return WebReader(None)
    from geomap import fetch

    config = fetch.FetchConfig(
        user_agent=args.get("user_agent") or fetch.default_user_agent(),
        min_delay=args.get("fetch_delay", 1.0),
        cache_path=fetch.default_cache_path(),
    )
    return WebReader(fetch.Fetcher(config))
