"""The online fallback tier: geopy's Nominatim, Photon or GeoNames behind a persistent SQLite cache.

A :class:`GeocoderTier` answers a name from its :class:`GeocodeCache` when it can, and only otherwise
asks the geocoder, through geopy's :class:`~geopy.extra.rate_limiter.RateLimiter` (the cache sits
outside the limiter, so a cache hit costs no delay). An answer is cached ("no result" too, for
``GeocoderConfig.empty_answer_days`` only); a failure (timeout, refusal, HTTP error, garbage) never
is, and is counted in ``GeocoderTier.failures`` so that the pipeline retries the article next run.
Failures are logged once per tier and yield no candidates; after a failure of connectivity, or once
the run's ``max_requests`` have been sent, the tier switches itself off for the rest of the run.

The service is not trusted: each request has a total deadline (connection, headers and body),
the body a size cap, the JSON a depth cap; coordinates out of range are rejected, not wrapped;
names and messages lose their control characters before they reach a place, a log or a terminal.

geopy speaks (lat, lon), as :class:`~geomap.models.Place` does: no axis flip happens here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import io
import json
import logging
import math
import re
import select
import socket
import sqlite3
import ssl
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from itertools import accumulate
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from geopy.adapters import AdapterHTTPError, BaseSyncAdapter
from geopy.exc import (
    GeocoderAuthenticationFailure,
    GeocoderInsufficientPrivileges,
    GeocoderParseError,
    GeocoderQuotaExceeded,
    GeocoderRateLimited,
    GeocoderTimedOut,
    GeocoderUnavailable,
    GeopyError,
)
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import GeoNames, Nominatim, Photon
from geopy.location import Location

from geomap import sqlite_files
from geomap.cache import cache_dir
from geomap.errors import GeocoderError
from geomap.models import Place

__all__ = [
    "Clock",
    "GeocodeCache",
    "GeocoderConfig",
    "GeocoderConfigError",
    "GeocoderTier",
    "make_geocoder",
    "normalise_query",
    "printable",
]

log = logging.getLogger("geomap")

PROVIDERS = frozenset({"nominatim", "photon", "geonames"})
DEFAULT_DOMAINS = {
    "nominatim": "nominatim.openstreetmap.org",
    "photon": "photon.komoot.io",
    "geonames": "api.geonames.org",
}
MAX_RESULTS = 5
MAX_JSON_DEPTH = 32  # the providers' answers nest 5 levels deep; json.loads recurses once per level
MAX_NAME_LENGTH = 200  # of a place name or region taken from an answer
_ERROR_BODY_BYTES = 2048  # of an HTTP error's body, kept for the message
_CHUNK_BYTES = 65536
_MESSAGE_LENGTH = 160  # of a name or an error quoted in a log message
_DAY = 86400.0
# geopy's own default and the sample agents of its docs, which Nominatim's policy refuses.
_REJECTED_USER_AGENTS = frozenset(
    {"my-application", "my_app/1", "my_user_agent/1.0", "specify_your_app_name_here"}
)
# Errors after which asking again, name after name, would only make the run hang or be refused.
_SWITCH_OFF = (
    GeocoderUnavailable,
    GeocoderTimedOut,
    GeocoderQuotaExceeded,
    GeocoderRateLimited,
    GeocoderAuthenticationFailure,
    GeocoderInsufficientPrivileges,
)
# geopy hands on whatever its parsers raise when a 200 answer has an unexpected shape (a number too
# large for an int, nesting too deep for the parser included).
_FAILURES = (
    GeopyError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    ArithmeticError,
    RecursionError,
)

_OSM_KINDS = {
    "continent": "continent",
    "country": "country",
    "state": "province",
    "province": "province",
    "region": "region",
    "state_district": "district",
    "county": "district",
    "district": "district",
    "municipality": "district",
    "city": "city",
    "town": "town",
    "village": "village",
    "hamlet": "village",
    "isolated_dwelling": "village",
    "sea": "sea",
    "ocean": "sea",
    "bay": "sea",
    "lake": "lake",
    "reservoir": "reservoir",
    "river": "river",
    "peak": "mountain",
    "mountain": "mountain",
    "mountain_range": "mountain",
    "mountain_pass": "pass",
    "aerodrome": "airport",
    "airport": "airport",
    "bridge": "bridge",
    "monastery": "monastery",
}
# Photon's own coarse ``type`` of a result, used when the OSM value says nothing (``administrative``).
_PHOTON_TYPES = {
    "country": "country",
    "state": "province",
    "county": "district",
    "city": "city",
    "district": "district",
}
_GEONAMES_CODES = {
    "CONT": "continent",
    "PCLI": "country",
    "PCL": "country",
    "PCLD": "country",
    "PCLF": "country",
    "PCLS": "country",
    "PCLIX": "country",
    "ADM1": "province",
    "ADM2": "district",
    "ADM3": "district",
    "RGN": "region",
    "PPLC": "city",
    "PPLA": "city",
    "SEA": "sea",
    "OCN": "sea",
    "GULF": "sea",
    "BAY": "sea",
    "LK": "lake",
    "RSV": "reservoir",
    "STM": "river",
    "MT": "mountain",
    "PK": "mountain",
    "MTS": "mountain",
    "PASS": "pass",
    "AIRP": "airport",
    "BDG": "bridge",
    "MSTY": "monastery",
}
_OSM_TYPES = {"node": "N", "way": "W", "relation": "R", "n": "N", "w": "W", "r": "R"}
_ALPHA2 = re.compile(r"[A-Za-z]{2}")
_SPACES = re.compile(r"\s+")
# Terminal escapes (ESC, CSI, BEL...) are C0/C1 controls; bidi overrides and isolates reorder a line.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Whole terminal sequences (CSI "ESC [ ... m", OSC "ESC ] ... BEL"), removed from names with their text.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)?|\x9b[0-?]*[ -/]*[@-~]"
)
# A JSON string, or what is left of an unterminated one: every match attempt succeeds, so the scan
# stays linear on hostile bodies (a pattern that could fail would be retried at every quote).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = [0] * 256
_DEPTH_STEP[ord("[")] = _DEPTH_STEP[ord("{")] = 1
_DEPTH_STEP[ord("]")] = _DEPTH_STEP[ord("}")] = -1


class GeocoderConfigError(GeocoderError, ValueError):
    """The geocoder's configuration is invalid (an unknown provider, a missing user agent...)."""


def _default_cache_path() -> Path:
    """geocoder.sqlite in geomap's cache folder, read when a config is made (not at import), so that
    ``$GEOMAP_CACHE_DIR`` set later still moves it."""
    return cache_dir() / "geocoder.sqlite"


@dataclass(frozen=True, slots=True)
class GeocoderConfig:
    """How to reach the online geocoder, how politely, and where to keep its answers.

    ``domain=None`` means the provider's public service; ``cache_path=None`` keeps the cache in
    memory for this run only. ``timeout`` bounds each request as a whole (connection, headers and
    body, however slowly the server sends them), ``max_body_bytes`` the size of an answer.
    ``error_wait`` is the pause before a retry (geopy requires it to be at least ``min_delay``; a
    smaller value is raised to it). ``max_requests`` caps the names looked up online in one run
    (``None``: no cap), so that no corpus keeps a public service busy for hours; a cached "no
    result" is asked again after ``empty_answer_days`` (``None``: never).
    """

    provider: str = "nominatim"
    user_agent: str | None = None
    domain: str | None = None
    scheme: str = "https"
    timeout: float = 5.0
    min_delay: float = 1.0
    max_retries: int = 2
    username: str | None = None
    cache_path: Path | None = field(default_factory=_default_cache_path)
    language: str = "fr"
    error_wait: float = 2.0
    max_requests: int | None = 500
    max_body_bytes: int = 2_000_000
    empty_answer_days: float | None = 30.0

    def __post_init__(self) -> None:
        if self.provider not in PROVIDERS:
            raise GeocoderConfigError(
                f"unknown geocoder provider {self.provider!r} (expected one of {sorted(PROVIDERS)})"
            )
        if self.provider == "nominatim" and not _acceptable_user_agent(self.user_agent):
            raise GeocoderConfigError(
                "Nominatim requires a user agent naming this application and a contact "
                f"(got {self.user_agent!r}); see https://operations.osmfoundation.org/policies/nominatim/"
            )
        if self.provider == "geonames" and not self.username:
            raise GeocoderConfigError("GeoNames requires a username (http://www.geonames.org/login)")
        if self.scheme not in ("http", "https"):
            raise GeocoderConfigError(f"scheme must be 'http' or 'https', not {self.scheme!r}")
        if not self.timeout > 0:
            raise GeocoderConfigError(f"timeout must be positive, not {self.timeout!r}")
        if self.min_delay < 0 or self.error_wait < 0:
            raise GeocoderConfigError("min_delay and error_wait cannot be negative")
        if self.max_retries < 0:
            raise GeocoderConfigError(f"max_retries cannot be negative, not {self.max_retries!r}")
        if self.max_requests is not None and self.max_requests < 0:
            raise GeocoderConfigError(f"max_requests cannot be negative, not {self.max_requests!r}")
        if not self.max_body_bytes > 0:
            raise GeocoderConfigError(f"max_body_bytes must be positive, not {self.max_body_bytes!r}")
        if self.empty_answer_days is not None and not self.empty_answer_days >= 0:
            raise GeocoderConfigError(f"empty_answer_days cannot be negative, not {self.empty_answer_days!r}")
        if self.domain is not None and not self.domain.strip("/"):
            raise GeocoderConfigError("domain cannot be empty (use None for the provider's default)")
        if self.cache_path is not None and not isinstance(self.cache_path, Path):
            object.__setattr__(self, "cache_path", Path(self.cache_path))

    @property
    def resolved_domain(self) -> str:
        """The host (and port) actually asked: ``domain`` or the provider's default."""
        return (self.domain or DEFAULT_DOMAINS[self.provider]).strip("/")


def _acceptable_user_agent(user_agent: str | None) -> bool:
    if not user_agent or not user_agent.strip():
        return False
    agent = user_agent.strip()
    return agent not in _REJECTED_USER_AGENTS and not agent.lower().startswith("geopy/")


class Clock:
    """The one seam through which this module reaches time; tests may pass a fake."""

    def now(self) -> float:
        """Wall-clock seconds since the epoch (the cache's timestamps)."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (the rate limiter's slots)."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (the rate limiter's delays)."""
        time.sleep(seconds)


class _RateLimiter(RateLimiter):
    """geopy's RateLimiter, reaching time through a :class:`Clock`."""

    def __init__(self, func: Callable[..., Any], *, clock: Clock, **options: Any) -> None:
        super().__init__(func, **options)
        self._geomap_clock = clock

    def _clock(self) -> float:
        return self._geomap_clock.monotonic()

    def _sleep(self, seconds: float) -> None:
        self._geomap_clock.sleep(seconds)


class _Nominatim(Nominatim):
    """Nominatim refusing an answer that is not a JSON array (geopy would wrap an object in one)."""

    def _parse_json(self, places: Any, exactly_one: bool) -> Any:
        if not isinstance(places, list) and not (isinstance(places, Mapping) and "error" in places):
            raise GeocoderParseError(f"Nominatim answer is not a list: {places!r:.80}")
        return super()._parse_json(places, exactly_one)


class _Photon(Photon):
    """Photon refusing an answer that is not a FeatureCollection."""

    def _parse_json(self, resources: Any, exactly_one: bool = True) -> Any:
        if not isinstance(resources, Mapping) or not isinstance(resources.get("features"), list):
            raise GeocoderParseError(f"Photon answer is not a FeatureCollection: {resources!r:.80}")
        return super()._parse_json(resources, exactly_one)


class _GeoNames(GeoNames):
    """GeoNames refusing an answer without its ``geonames`` list (geopy reads one as "no result")."""

    def _parse_json(self, doc: Any, exactly_one: bool) -> Any:
        if not isinstance(doc, Mapping):
            raise GeocoderParseError(f"GeoNames answer is not an object: {doc!r:.80}")
        if "status" not in doc and not isinstance(doc.get("geonames"), list):
            raise GeocoderParseError(f"GeoNames answer without a geonames list: {doc!r:.80}")
        return super()._parse_json(doc, exactly_one)


class _Deadline:
    """The end of one request's time, reached through a :class:`Clock`."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self.clock = clock
        self.seconds = seconds
        self.end = clock.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; TimeoutError once there are none."""
        left = self.end - self.clock.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete answer within {self.seconds:g} s")
        return left


class _DeadlineReader(io.RawIOBase):
    """A socket's reading side whose every ``recv`` waits at most what is left of the deadline.

    http.client reads the status line, the headers and the body through a buffered file over the
    socket, looping on ``recv`` until a line or a chunk is complete: a per-read timeout alone lets
    a server that trickles one byte at a time hold the request for ever.
    """

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(self._deadline.left())
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """The connected socket as http.client sees it: sends and reads bounded by the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(self._deadline.left())
        self._sock.sendall(data)

    def close(self) -> None:
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _BoundedAdapter(BaseSyncAdapter):
    """A geopy adapter that does not trust the server: a total deadline per request, a body size
    cap, a JSON depth cap, short printable error messages; no redirects, no retries of its own (the
    RateLimiter's are the only retry policy).

    It speaks HTTP/1.1 through :mod:`http.client`, one connection per request (geocoders are asked at
    most once a second). Name resolution (DNS) is the one step the deadline does not bound.
    """

    def __init__(
        self,
        *,
        proxies: Any,
        ssl_context: ssl.SSLContext | None,
        max_body: int,
        clock: Clock,
    ) -> None:
        super().__init__(proxies=proxies, ssl_context=ssl_context)
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.max_body = max_body
        self.clock = clock

    def get_json(self, url: str, *, timeout: float, headers: Mapping[str, str]) -> Any:
        return _load_json(self._get(url, timeout=timeout, headers=headers))

    def get_text(self, url: str, *, timeout: float, headers: Mapping[str, str]) -> str:
        return self._get(url, timeout=timeout, headers=headers).decode("utf-8", "replace")

    def _get(self, url: str, *, timeout: float, headers: Mapping[str, str]) -> bytes:
        deadline = _Deadline(self.clock, timeout)
        try:
            status, answer_headers, body = self._fetch(url, deadline, headers)
        except TimeoutError as error:  # the deadline's own, or a socket's cut to what was left of it
            raise GeocoderTimedOut(f"no complete answer within {timeout:g} s") from error
        except ssl.SSLError as error:
            raise GeocoderUnavailable(f"TLS: {printable(str(error))}") from error
        except (OSError, http.client.HTTPException) as error:
            raise GeocoderUnavailable(printable(f"{type(error).__name__}: {error}")) from error
        if status >= 400:
            # geopy maps the status to its error (429 with Retry-After, 5xx...); the body is only quoted.
            retry_after = printable(answer_headers.get("Retry-After") or "", limit=40)
            raise AdapterHTTPError(
                f"HTTP status {status}",
                status_code=status,
                headers={"retry-after": retry_after} if retry_after else {},
                text=printable(body.decode("utf-8", "replace")),
            )
        if not 200 <= status < 300:  # a redirect: a wrong scheme or domain, the same for every name
            where = printable(answer_headers.get("Location") or "elsewhere", limit=100)
            raise GeocoderUnavailable(f"HTTP status {status}, sent to {where} (redirects are not followed)")
        return body

    def _fetch(
        self, url: str, deadline: _Deadline, headers: Mapping[str, str]
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        parts = urlsplit(url)
        https = parts.scheme == "https"
        try:
            host, port = parts.hostname, parts.port or (443 if https else 80)
        except ValueError as error:
            raise OSError(f"invalid address in {url!r}") from error
        if not host:
            raise OSError(f"no host in {url!r}")
        sock = self._connect(host, port, https, deadline)
        if https:
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, context=self.ssl_context
            )
        else:
            connection = http.client.HTTPConnection(host, port)
        connection.sock = _DeadlineSocket(sock, deadline)  # type: ignore[assignment]
        try:
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
            connection.request("GET", target, headers=dict(headers))
            response = connection.getresponse()
            if response.status >= 400:
                body = _read_body(response, _ERROR_BODY_BYTES, truncate=True)
            else:
                body = _read_body(response, self.max_body, truncate=False)
            return response.status, response.headers, body
        finally:
            connection.close()

    def _connect(self, host: str, port: int, https: bool, deadline: _Deadline) -> socket.socket:
        sock = socket.create_connection((host, port), timeout=deadline.left())
        if not https:
            return sock
        try:
            tls = self.ssl_context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
            tls.setblocking(False)  # the handshake, too, must end before the deadline
            while True:
                try:
                    tls.do_handshake()
                    return tls
                except ssl.SSLWantReadError:
                    ready = select.select([tls], [], [], deadline.left())[0]
                except ssl.SSLWantWriteError:
                    ready = select.select([], [tls], [], deadline.left())[1]
                if not ready:
                    deadline.left()
        except BaseException:
            sock.close()
            raise


def _read_body(response: http.client.HTTPResponse, limit: int, *, truncate: bool) -> bytes:
    """At most ``limit`` bytes of the body; more is a bad answer (or, with ``truncate``, cut off)."""
    declared = (response.getheader("Content-Length") or "").strip()
    announced = declared.isascii() and declared.isdigit()
    if not truncate and announced and (len(declared) > 18 or int(declared) > limit):
        raise GeocoderParseError(f"answer of {declared[:20]} bytes, more than the {limit:,} allowed")
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = response.read1(_CHUNK_BYTES)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit and not truncate:
        raise GeocoderParseError(f"answer larger than the {limit:,} bytes allowed")
    return b"".join(chunks)[:limit]


def _load_json(body: bytes) -> Any:
    """The answer as JSON; GeocoderParseError if it is not JSON or nests too deep to parse safely."""
    if _too_deep(body):
        raise GeocoderParseError(f"answer nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        start = printable(body[:60].decode("utf-8", "replace"), limit=60)
        kind = type(error).__name__
        raise GeocoderParseError(f"answer is not JSON ({kind}), it starts {start!r}") from error


def _too_deep(body: bytes) -> bool:
    """Whether the arrays and objects of ``body`` nest deeper than MAX_JSON_DEPTH.

    Strings are removed, then only brackets are kept and their running depth summed up: linear
    passes in C, never a recursion (mismatched brackets are left for json.loads to refuse).
    """
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if brackets.count(b"[") + brackets.count(b"{") <= MAX_JSON_DEPTH:
        return False
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets))) > MAX_JSON_DEPTH


def _adapter_factory(config: GeocoderConfig, clock: Clock) -> Callable[..., Any]:
    """geopy builds its adapter from this: the bounded adapter, with the config's body cap."""
    return partial(_BoundedAdapter, max_body=config.max_body_bytes, clock=clock)


def make_geocoder(config: GeocoderConfig, *, clock: Clock | None = None) -> RateLimiter:
    """The configured provider's ``geocode``, rate-limited and retried by geopy's RateLimiter.

    The returned callable takes the query and returns up to five geopy ``Location`` (or ``None``);
    it raises geopy's errors after ``config.max_retries`` retries (``swallow_exceptions=False``).
    """
    clock = clock or Clock()
    options: dict[str, Any] = {
        "domain": config.resolved_domain,
        "scheme": config.scheme,
        "timeout": config.timeout,
        "user_agent": config.user_agent,
        "adapter_factory": _adapter_factory(config, clock),
    }
    if config.provider == "nominatim":
        nominatim = _Nominatim(**options)
        geocode = partial(
            nominatim.geocode,
            exactly_one=False,
            limit=MAX_RESULTS,
            addressdetails=True,
            language=config.language,
        )
    elif config.provider == "photon":
        photon = _Photon(**options)
        geocode = partial(photon.geocode, exactly_one=False, limit=MAX_RESULTS, language=config.language)
    else:
        # geopy's GeoNames.geocode takes neither a language nor a row limit: results are cut to five.
        geonames = _GeoNames(config.username, **options)
        geocode = partial(geonames.geocode, exactly_one=False)
    return _RateLimiter(
        _honouring_retry_after(geocode, clock=clock, cap=config.timeout),
        clock=clock,
        min_delay_seconds=config.min_delay,
        max_retries=config.max_retries,
        error_wait_seconds=max(config.error_wait, config.min_delay),
        swallow_exceptions=False,
    )


def _honouring_retry_after(geocode: Callable[..., Any], *, clock: Clock, cap: float) -> Callable[..., Any]:
    """``geocode`` that, answered HTTP 429 with a Retry-After, waits that long (at most ``cap``
    seconds, the per-request timeout) before letting the rate limiter retry."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return geocode(*args, **kwargs)
        except GeocoderRateLimited as error:
            if error.retry_after:
                clock.sleep(min(float(error.retry_after), cap))
            raise

    return call


def normalise_query(name: str) -> str:
    """The cache key of a query: Unicode NFC, whitespace collapsed, case folded."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", name)).strip().casefold()


def printable(text: object, *, limit: int = _MESSAGE_LENGTH) -> str:
    """``text`` fit for a log line or a terminal: control characters (terminal escapes, bidi
    overrides) shown as ``\\x1b``-style escapes, at most ``limit`` characters (then an ellipsis)."""
    value = str(text)
    if len(value) > limit:
        value = value[:limit] + "…"
    return _CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)


# SQLite's primary result codes (``sqlite3.Error.sqlite_errorcode & 0xFF``).


class _Damaged(Exception):
    """The cache file is not a sound geocoder cache (internal: it is moved aside)."""


class GeocodeCache:
    """Geocoder answers kept in SQLite, keyed by (provider, domain, normalised query).

    Each row holds the JSON list of the answer's places (an empty list for "no result") and the time
    it was stored; a "no result" older than ``empty_ttl`` seconds is no longer served (the service
    may have learnt the name since). ``path=None`` keeps the cache in memory. Safe to share between
    threads.

    The file is only a cache: a damaged one is moved aside (``<name>.damaged-<time>``, with a
    warning naming both) and a new one started; a file that another process keeps locked is
    waited for ``lock_timeout`` seconds, then reported as a :class:`GeocoderError` and left alone.
    Once open, a read or write that fails costs only that entry (logged once), never the run.
    """

    _SCHEMA = """
        CREATE TABLE IF NOT EXISTS answers (
            provider TEXT NOT NULL,
            domain TEXT NOT NULL,
            query TEXT NOT NULL,
            places TEXT NOT NULL,
            stored_at REAL NOT NULL,
            PRIMARY KEY (provider, domain, query)
        ) WITHOUT ROWID
    """

    def __init__(
        self,
        path: Path | str | None,
        *,
        clock: Clock | None = None,
        empty_ttl: float | None = 30 * _DAY,
        lock_timeout: float = 10.0,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.empty_ttl = empty_ttl
        self.lock_timeout = lock_timeout
        self._clock = clock or Clock()
        self._lock = threading.Lock()
        self._warned = False
        if self.path is None:
            self._db = self._open(":memory:")
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise GeocoderError(
                f"cannot create the folder of the geocoder cache {printable(self.path, limit=400)}: "
                f"{error.strerror or error}"
            ) from error
        try:
            self._db = self._open(str(self.path))
        except _Damaged as damage:
            aside = self._move_aside()
            log.warning(
                "the geocoder cache %s was damaged (%s): moved aside to %s, a new cache is started",
                printable(self.path, limit=400),
                printable(damage),
                printable(aside, limit=400),
            )
            self._db = self._open(str(self.path))

    def _open(self, target: str) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(target, timeout=self.lock_timeout, check_same_thread=False)
        except sqlite3.Error as error:
            raise self._error(error) from error
        try:
            if target != ":memory:":
                db.execute("PRAGMA journal_mode=WAL")
                sqlite_files.check(db)
            with db:
                db.execute(self._SCHEMA)
            db.execute("SELECT provider, domain, query, places, stored_at FROM answers LIMIT 0")
        except sqlite3.Error as error:
            db.close()
            if sqlite_files.damaged(error) or "no such column" in str(error):
                raise _Damaged(str(error)) from error
            raise self._error(error) from error
        except _Damaged:
            db.close()
            raise
        return db

    def _error(self, error: sqlite3.Error) -> GeocoderError:
        where = printable(self.path, limit=400)
        if sqlite_files.busy(error):
            return GeocoderError(
                f"the geocoder cache {where} is locked by another process (waited {self.lock_timeout:g} s); "
                "run again once it has finished, or give this run another cache"
            )
        return GeocoderError(f"cannot use the geocoder cache {where}: {printable(error)}")

    def _move_aside(self) -> Path:
        assert self.path is not None
        try:
            return sqlite_files.move_aside(self.path)  # the journal of a damaged file goes with it
        except OSError as error:
            raise GeocoderError(
                f"the geocoder cache {printable(self.path, limit=400)} is damaged and cannot be moved "
                f"aside ({error.strerror or error}); delete it"
            ) from error

    def get(self, *, provider: str, domain: str, query: str) -> list[Place] | None:
        """The cached places for ``query`` (``[]`` for a cached "no result"), or ``None`` if absent
        (or a "no result" that has expired)."""
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT places, stored_at FROM answers WHERE provider = ? AND domain = ? AND query = ?",
                    (provider, domain, normalise_query(query)),
                ).fetchone()
        except sqlite3.Error as error:
            self._trouble("read", error)
            return None
        if row is None:
            return None
        try:
            items = json.loads(row[0])
            if not items and self._expired(float(row[1])):
                return None
            return [_checked_place(item) for item in items]
        except (ValueError, TypeError, KeyError, ArithmeticError, RecursionError) as error:
            log.debug("unreadable geocoder cache entry for %s, ignored: %s", printable(query), error)
            return None

    def _expired(self, stored_at: float) -> bool:
        return self.empty_ttl is not None and self._clock.now() - stored_at >= self.empty_ttl

    def put(self, *, provider: str, domain: str, query: str, places: list[Place]) -> None:
        """Store an answer (an empty list records "no result"), replacing any older one."""
        payload = json.dumps([dataclasses.asdict(p) for p in places], ensure_ascii=False)
        try:
            with self._lock, self._db:
                self._db.execute(
                    "INSERT OR REPLACE INTO answers (provider, domain, query, places, stored_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (provider, domain, normalise_query(query), payload, self._clock.now()),
                )
        except sqlite3.Error as error:
            self._trouble("written", error)

    def _trouble(self, what: str, error: sqlite3.Error) -> None:
        if sqlite_files.busy(error):
            with contextlib.suppress(sqlite3.Error):  # another run holds it: wait less from now on
                self._db.execute(f"PRAGMA busy_timeout = {int(min(self.lock_timeout, 1.0) * 1000)}")
        message = "the geocoder cache %s could not be %s (%s); going on without it for this answer"
        where = printable(self.path or ":memory:", limit=400)
        if self._warned:
            log.debug(message, where, what, printable(error))
            return
        self._warned = True
        message += " (further such errors are logged at debug level)"
        log.warning(message, where, what, printable(error))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> GeocodeCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class GeocoderTier:
    """The online geocoder as a resolution tier (``source = "geocoder"``).

    ``geocode`` and ``cache`` default to :func:`make_geocoder` and a :class:`GeocodeCache` at
    ``config.cache_path``. ``failures`` counts the lookups that failed (the pipeline retries their
    articles next run); ``requests`` the lookups sent; ``disabled`` becomes true after a failure of
    connectivity or once ``config.max_requests`` have been sent: the tier then answers from its
    cache only.
    """

    source = "geocoder"
    online = True  # the resolver asks it last, and only for names no offline tier knows

    def __init__(
        self,
        config: GeocoderConfig,
        *,
        geocode: Callable[[str], Any] | None = None,
        cache: GeocodeCache | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or Clock()
        self.geocode = geocode if geocode is not None else make_geocoder(config, clock=self.clock)
        days = config.empty_answer_days
        if cache is None:  # not ``cache or ...``: an empty cache is falsy (it has a length)
            cache = GeocodeCache(
                config.cache_path, clock=self.clock, empty_ttl=None if days is None else days * _DAY
            )
        self.cache = cache
        self.disabled = False
        self.failures = 0
        self.requests = 0
        self._warned = False

    def candidates(self, name: str) -> list[Place]:
        """Places the geocoder proposes for ``name``, from the cache when it has them."""
        query = _SPACES.sub(" ", _CONTROLS.sub(" ", name)).strip()
        if not query or len(query) > MAX_NAME_LENGTH:  # no place has a name that long: not asked
            return []
        provider, domain = self.config.provider, self.config.resolved_domain
        cached = self.cache.get(provider=provider, domain=domain, query=query)
        if cached is not None:
            return cached
        if self.disabled:
            return []
        if self.config.max_requests is not None and self.requests >= self.config.max_requests:
            self._spent()
            return []
        self.requests += 1
        try:
            answer = self.geocode(query)
            places = _to_places(provider, answer)
        except _FAILURES as error:
            self._failed(query, error)
            return []
        self.cache.put(provider=provider, domain=domain, query=query, places=places)
        return places

    def close(self) -> None:
        """Close the cache."""
        self.cache.close()

    def _spent(self) -> None:
        """The run's requests are all sent: switched off, so the articles still needing the service
        are not kept as done and are processed again next run."""
        self.disabled = True
        log.warning(
            "geocoder %s (%s): the %d requests allowed in one run have been sent; it is not asked "
            "again in this run (articles that needed it are processed again next run; "
            "see --geocoder-max-requests)",
            self.config.provider,
            printable(self.config.resolved_domain),
            self.config.max_requests,
        )

    def _failed(self, query: str, error: BaseException) -> None:
        self.failures += 1
        switch_off = isinstance(error, _SWITCH_OFF)
        if switch_off:
            self.disabled = True
        what = printable(f"{type(error).__name__}: {error}".strip())
        consequence = "switched off for the rest of the run" if switch_off else "no candidates for it"
        if self._warned:
            log.debug(
                "geocoder %s failed on %r (%s); %s", self.config.provider, printable(query), what, consequence
            )
            return
        self._warned = True
        log.warning(
            "geocoder %s (%s) failed on %r: %s; %s (further failures are logged at debug level)",
            self.config.provider,
            printable(self.config.resolved_domain),
            printable(query),
            what,
            consequence,
        )


def _to_places(provider: str, answer: Any) -> list[Place]:
    if answer is None:
        return []
    if isinstance(answer, Location):
        answer = [answer]
    places = []
    for location in list(answer):
        if location is None:  # geopy's GeoNames parser drops rows without coordinates this way
            continue
        places.append(_to_place(provider, location))
        if len(places) == MAX_RESULTS:
            break
    return places


def _to_place(provider: str, location: Location) -> Place:
    """A geopy Location as a Place; ValueError if its raw answer is not the provider's format."""
    raw = location.raw
    if not isinstance(raw, Mapping):
        raise ValueError(f"{provider} answer is not an object: {printable(repr(raw), limit=80)}")
    if provider == "nominatim":
        return _nominatim_place(raw, location)
    if provider == "photon":
        return _photon_place(raw, location)
    return _geonames_place(raw, location)


def _coordinates(lat: Any, lon: Any) -> tuple[float, float]:
    """The answer's own (lat, lon), checked: geopy's Point would wrap a longitude of 999 to -81."""
    lat, lon = _number(lat), _number(lon)
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"coordinates out of range: ({lat}, {lon})")
    return lat, lon


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"a coordinate is not a number: {printable(repr(value), limit=40)}")
    number = float(value[:40] if isinstance(value, str) else value)
    if not math.isfinite(number):
        raise ValueError(f"a coordinate is not finite: {number}")
    return number


def _text(value: Any) -> str | None:
    """A name from an answer, or None: a string without control characters, whitespace collapsed,
    at most MAX_NAME_LENGTH characters (anything else, a list or a number, is no name)."""
    if not isinstance(value, str):
        return None
    text = _SPACES.sub(" ", _CONTROLS.sub(" ", _ESCAPES.sub("", value))).strip()[:MAX_NAME_LENGTH].strip()
    return text or None


def _identifier(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"not an identifier: {value!r}")
    number = int(value[:20] if isinstance(value, str) else value)
    if not 0 <= number < 2**63:
        raise ValueError(f"identifier out of range: {number}")
    return number


def _checked_place(item: Any) -> Place:
    """A Place read back from the cache, held to the rules of a fresh answer (older versions of
    geomap cached names with control characters and wrapped longitudes)."""
    if not isinstance(item, Mapping):
        raise ValueError("cache entry is not an object")
    lat, lon = _coordinates(item["lat"], item["lon"])
    geonames_id = item.get("geonames_id")
    return Place(
        id=str(_text(item["id"]) or ""),
        name=_text(item["name"]) or "",
        kind=_text(item["kind"]) or "other",
        country=_country(item.get("country")),
        lat=lat,
        lon=lon,
        admin1=_text(item.get("admin1")),
        geonames_id=None if geonames_id is None else _identifier(geonames_id),
        population=_population(item.get("population")),
    )


def _population(value: Any) -> int:
    try:
        population = int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0
    return population if 0 <= population < 10**11 else 0


def _country(code: Any) -> str | None:
    if isinstance(code, str) and _ALPHA2.fullmatch(code.strip()):
        return code.strip().upper()
    return None


def _first_part(address: Any) -> str | None:
    return _text(address.split(",")[0]) if isinstance(address, str) else None


def _osm_id(provider: str, osm_type: Any, osm_id: Any) -> str:
    letter = _OSM_TYPES.get(str(osm_type).lower()[:10])
    if letter is None or osm_id in (None, ""):
        raise ValueError(
            f"{provider} answer without an OSM type and id: {printable(repr(osm_type), limit=40)} "
            f"{printable(repr(osm_id), limit=40)}"
        )
    return f"{provider}:{letter}{_identifier(osm_id)}"


def _kind(table: Mapping[str, str], value: Any) -> str | None:
    return table.get(value) if isinstance(value, str) else None


def _nominatim_place(raw: Mapping[str, Any], location: Location) -> Place:
    address = raw.get("address")
    if not isinstance(address, Mapping):
        address = {}
    if "osm_id" in raw:
        place_id = _osm_id("nominatim", raw.get("osm_type"), raw.get("osm_id"))
    elif raw.get("place_id") is not None:
        place_id = f"nominatim:place{_identifier(raw['place_id'])}"
    else:
        raise ValueError("Nominatim answer without osm_id or place_id")
    lat, lon = _coordinates(raw.get("lat"), raw.get("lon"))
    return Place(
        id=place_id,
        name=_text(raw.get("name"))
        or _first_part(raw.get("display_name"))
        or _first_part(location.address)
        or "",
        kind=_kind(_OSM_KINDS, raw.get("addresstype")) or _kind(_OSM_KINDS, raw.get("type")) or "other",
        country=_country(address.get("country_code")),
        lat=lat,
        lon=lon,
        admin1=_text(address.get("state")) or _text(address.get("province")) or _text(address.get("region")),
    )


def _photon_place(raw: Mapping[str, Any], location: Location) -> Place:
    props = raw.get("properties")
    geometry = raw.get("geometry")
    if not isinstance(props, Mapping) or not isinstance(geometry, Mapping):
        raise ValueError("Photon feature without properties or geometry")
    point = geometry.get("coordinates")
    if not isinstance(point, list) or len(point) < 2:
        raise ValueError("Photon feature without a point")
    lat, lon = _coordinates(point[1], point[0])  # GeoJSON's [lon, lat]
    value = props.get("osm_value")
    kind = (
        (_kind(_OSM_KINDS, value) if value != "administrative" else None)
        or _kind(_PHOTON_TYPES, props.get("type"))
        or "other"
    )
    return Place(
        id=_osm_id("photon", props.get("osm_type"), props.get("osm_id")),
        name=_text(props.get("name")) or _first_part(location.address) or "",
        kind=kind,
        country=_country(props.get("countrycode")),
        lat=lat,
        lon=lon,
        admin1=_text(props.get("state")),
    )


def _geonames_place(raw: Mapping[str, Any], location: Location) -> Place:
    geoname_id = _identifier(raw["geonameId"])
    population = _population(raw.get("population"))
    kind = _kind(_GEONAMES_CODES, raw.get("fcode"))
    if kind is None and raw.get("fcl") == "P":
        kind = "city" if population >= 50_000 else "town" if population >= 5_000 else "village"
    lat, lon = _coordinates(raw.get("lat"), raw.get("lng"))
    return Place(
        id=f"geonames:{geoname_id}",
        name=_text(raw.get("name")) or _text(raw.get("toponymName")) or _first_part(location.address) or "",
        kind=kind or "other",
        country=_country(raw.get("countryCode")),
        lat=lat,
        lon=lon,
        admin1=_text(raw.get("adminName1")),
        geonames_id=geoname_id,
        population=population,
    )
