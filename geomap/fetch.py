"""Fetch web pages and feeds politely, within bounds, and remember them between runs.

What a :class:`Fetcher` promises to the sites it reads:

- it says who it is: a ``User-Agent`` naming geomap, its version and a contact;
- it obeys robots.txt (:mod:`urllib.robotparser`), read once per site (scheme, host, port) and
  run, through the same rules as any other request; ``Crawl-delay`` is honoured (up to
  ``max_retry_after``). A robots.txt that is missing (4xx) allows everything, except 401 and 403,
  which forbid everything (as :class:`~urllib.robotparser.RobotFileParser` reads them); one that
  cannot be read (5xx, 429, timeout, no connection) forbids the whole site *for this run*, as
  search engines do, since nothing says what the site allows; one whose redirects loop or run too
  long counts as missing (RFC 9309). robots.txt itself is asked once, without retries, and read up
  to its first 500 KB. Rules are matched as RobotFileParser does: the first matching line wins;
- it sends at most one request per host every ``min_delay`` seconds (robots.txt, redirects and
  retries included); hosts do not wait for one another;
- it retries only what may pass (HTTP 408, 429, 500, 502, 503, 504, a dropped connection; not a
  timeout, which has already cost its time), at most ``max_retries`` times, waiting what
  ``Retry-After`` asks (a longer wait than ``max_retry_after`` is not made: the fetch fails at
  once) or else ``backoff``, then twice that; such a wait holds every request to that host;
- it asks again with ``If-None-Match`` / ``If-Modified-Since`` for what it has cached, so an
  unchanged page costs the site a ``304`` and no body.

What it promises to the run: no fetch takes longer than ``deadline`` seconds from its first request
to its last byte (redirects, retries, name resolution and a server trickling bytes included; the
robots.txt of a new site is read before, under a deadline of its own); no body
is larger than ``max_bytes`` once decompressed (a ``Content-Length`` above it is refused before
reading); only http(s) URLs are fetched, before and after redirects, at most ``max_redirects`` of
them; every failure is one :class:`FetchError` with the URL and a short reason.

Bodies are returned as bytes with the declared media type and charset: what a page or a feed is,
and how to decode it, is the caller's business (:func:`acceptable` says which media types fit).
The cache is a SQLite file (in the user cache folder by default); a damaged one is moved aside and
started anew, a busy or unwritable one is replaced by a cache in memory for the run, with a warning:
a cache is never a reason to stop.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import logging
import re
import socket
import sqlite3
import ssl
import threading
import time
import urllib.robotparser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urljoin, urlsplit

import requests

from geomap import sqlite_files
from geomap.cache import cache_dir
from geomap.errors import GeomapError

log = logging.getLogger("geomap")
T = TypeVar("T")

SCHEMES = frozenset({"http", "https"})
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/x-rss+xml",
        "application/x-atom+xml",
        "application/xml",
        "text/xml",
    }
)
ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5"
)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
RETRIED = frozenset({408, 429, 500, 502, 503, 504})
ROBOTS_MAX_BYTES = 500 * 1024  # what the big crawlers read of a robots.txt; the rest is ignored
MAX_URL_CHARS = 200  # of a URL in a message
CHUNK_BYTES = 64 * 1024
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")


class FetchError(GeomapError, ConnectionError):
    """A URL that was not fetched: ``url`` as asked, a short human ``reason`` ("HTTP 404 Not
    Found", "timed out after 10 s", "larger than 10 MB", "too many redirects (more than 5)",
    "refused by robots.txt", "scheme 'file' is not fetched", "offline"...) and, when an HTTP
    answer was the cause, its ``status``. The message shows control characters as escapes and cuts
    long URLs, so it is safe to print."""

    def __init__(self, url: str, reason: str, *, status: int | None = None) -> None:
        self.url = str(url)
        self.reason = reason
        self.status = status
        super().__init__(f"{_printable(self.url, limit=MAX_URL_CHARS)}: {_printable(reason, limit=400)}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.url, self.reason, self.status))


def _rebuild(kind: type[FetchError], url: str, reason: str, status: int | None) -> FetchError:
    return kind(url, reason, status=status)


class _RedirectError(FetchError):
    """A redirect chain that leads nowhere fetchable (a loop, too long, another scheme)."""


class FetchConfigError(GeomapError, ValueError):
    """A :class:`FetchConfig` value that cannot be used."""


def _printable(text: object, *, limit: int) -> str:
    """``text`` fit for a terminal: control characters (escapes, bidi overrides) shown as
    ``\\x1b``-style escapes, at most ``limit`` characters (then an ellipsis)."""
    value = str(text)
    if len(value) > limit:
        value = value[:limit] + "…"
    return _CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)


def version() -> str:
    """geomap's installed version, or "0" when it is not installed (a bare source tree)."""
    try:
        return metadata.version("geomap")
    except metadata.PackageNotFoundError:
        return "0"


def _home_page() -> str | None:
    """The project's URL from its package metadata (``[project.urls]``), if it declares one."""
    try:
        meta = metadata.metadata("geomap")
    except metadata.PackageNotFoundError:
        return None
    for entry in meta.get_all("Project-URL") or []:
        url = entry.partition(",")[2].strip()
        if url.startswith(("https://", "http://")):
            return url
    home = meta.get("Home-page")
    return home if home and home.startswith(("https://", "http://")) else None


def default_user_agent(contact: str | None = None) -> str:
    """``geomap/VERSION (+CONTACT)``: who asks, so that a site can tell geomap apart and reach
    whoever runs it. ``contact`` (an URL or an e-mail address) defaults to the project's home page
    from its package metadata; without either the agent is ``geomap/VERSION``."""
    contact = contact or _home_page()
    return f"geomap/{version()} (+{contact})" if contact else f"geomap/{version()}"


def default_cache_path() -> Path:
    """Where fetched pages and feeds are kept between runs: geomap's cache folder (read at each call,
    so that ``$GEOMAP_CACHE_DIR`` set after import still moves it)."""
    return cache_dir() / "fetch.sqlite"


@dataclass(frozen=True, slots=True)
class FetchConfig:
    """How politely, and within which bounds, to fetch; where to keep what was fetched.

    ``timeout`` bounds the connection and each wait for data, ``deadline`` a whole fetch (see the
    module docstring). ``cache_path=None`` keeps the cache in memory for this Fetcher only; entries
    not fetched for ``cache_days`` days are dropped when the cache is opened (``None``: never).
    ``offline=True`` refuses every fetch (reason "offline"); the cache can still be read through
    :meth:`Fetcher.cached`.
    """

    user_agent: str = field(default_factory=default_user_agent)
    min_delay: float = 1.0
    timeout: float = 10.0
    deadline: float = 30.0
    max_bytes: int = 10 * 2**20
    max_redirects: int = 5
    max_retries: int = 2
    backoff: float = 1.0
    max_retry_after: float = 60.0
    cache_path: Path | None = field(default_factory=default_cache_path)
    cache_days: float | None = 30.0
    offline: bool = False

    def __post_init__(self) -> None:
        agent = self.user_agent
        if not isinstance(agent, str) or not agent.strip() or not agent.isascii() or _CONTROLS.search(agent):
            raise FetchConfigError(f"user_agent must be printable ASCII text, not {agent!r}")
        for name in ("timeout", "deadline", "max_bytes"):
            if not getattr(self, name) > 0:
                raise FetchConfigError(f"{name} must be positive, not {getattr(self, name)!r}")
        for name in ("min_delay", "max_redirects", "max_retries", "backoff", "max_retry_after"):
            if not getattr(self, name) >= 0:
                raise FetchConfigError(f"{name} cannot be negative, not {getattr(self, name)!r}")
        if self.cache_days is not None and not self.cache_days > 0:
            raise FetchConfigError(f"cache_days must be positive or None, not {self.cache_days!r}")
        if self.cache_path is not None and not isinstance(self.cache_path, Path):
            object.__setattr__(self, "cache_path", Path(self.cache_path))


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched page or feed: ``url`` as asked, ``final_url`` after redirects, the HTTP
    ``status`` (304 when the cached copy was confirmed), the declared ``content_type`` (media type
    only, lower case) and ``charset``, and the ``body`` as bytes (decompressed, not decoded).
    ``not_modified``: the server said the cached copy is current; ``from_cache``: ``body`` comes
    from the cache (after a 304, or from :meth:`Fetcher.cached`). ``fetched_at``: when the body was
    last received or confirmed (seconds since the epoch)."""

    url: str
    final_url: str
    status: int
    content_type: str | None
    charset: str | None
    body: bytes
    not_modified: bool = False
    from_cache: bool = False
    fetched_at: float = 0.0


def content_type(value: str | None) -> tuple[str | None, str | None]:
    """The media type (lower case) and charset of a ``Content-Type`` value; ``None`` for what is
    absent or malformed."""
    if not value:
        return None, None
    media, *params = value.split(";")
    media = media.strip().lower()
    kind, slash, sub = media.partition("/")
    if not (slash and _TOKEN.fullmatch(kind) and _TOKEN.fullmatch(sub)):
        media = ""
    charset = None
    for param in params:
        name, _, raw = param.partition("=")
        if name.strip().lower() == "charset":
            raw = raw.strip().strip('"').strip().lower()
            charset = raw if raw and _TOKEN.fullmatch(raw) else None
    return media or None, charset


def acceptable(value: str | None, *, kind: Literal["page", "feed"]) -> bool:
    """Whether a ``Content-Type`` (``value``, parameters allowed) fits a ``kind`` of input: pages
    are HTML or XHTML; feeds are RSS, Atom, RDF or generic XML. An absent type fits neither: the
    caller may sniff the body."""
    if kind not in ("page", "feed"):
        raise ValueError(f"kind must be 'page' or 'feed', not {kind!r}")
    media, _ = content_type(value)
    return media in (PAGE_TYPES if kind == "page" else FEED_TYPES)


class Clock:
    """The one seam through which fetching reaches time; tests may pass a fake."""

    def now(self) -> float:
        """Wall-clock seconds since the epoch (cache times, HTTP dates)."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (request spacing, deadlines)."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (request spacing, retry pauses)."""
        time.sleep(seconds)


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _size(count: int) -> str:
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if count >= scale:
            return f"{round(count / scale, 1):g} {unit}"
    return f"{count} bytes"


def _http_reason(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


class _Deadline:
    """The end of a fetch, started by its first request."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self.clock = clock
        self.seconds = seconds
        self.end: float | None = None

    def start(self) -> None:
        if self.end is None:
            self.end = self.clock.monotonic() + self.seconds

    def left(self) -> float:
        assert self.end is not None
        return self.end - self.clock.monotonic()


class _Spacing:
    """Per-host request slots: a request takes the host's next free slot, the one after is
    ``delay`` later. Slots are taken under a lock and waited for outside it, so threads asking
    other hosts never wait."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str, delay: float) -> None:
        with self._lock:
            now = self._clock.monotonic()
            slot = max(now, self._next.get(host, now))
            self._next[host] = slot + delay
        if slot > now:
            self._clock.sleep(slot - now)

    def hold(self, host: str, seconds: float) -> None:
        """No request to ``host`` before ``seconds`` from now (a Retry-After, a backoff)."""
        with self._lock:
            until = self._clock.monotonic() + seconds
            self._next[host] = max(self._next.get(host, until), until)


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str


@dataclass(frozen=True, slots=True)
class _Entry:
    final_url: str
    status: int
    etag: str | None
    last_modified: str | None
    content_type: str | None
    charset: str | None
    body: bytes
    fetched_at: float


@dataclass(slots=True)
class _Robots:
    parser: urllib.robotparser.RobotFileParser | None  # None: the whole site is refused
    reason: str  # why it is refused when parser is None
    delay: float = 0.0  # its Crawl-delay for us, capped


class _Failure(Exception):
    """An exchange that failed (internal): ``reason``, and whether a retry may help."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class Fetcher:
    """Fetches URLs under a :class:`FetchConfig` (see the module docstring for the rules).

    ``clock`` is the seam to time (spacing, pauses, deadlines); ``session`` a ``requests.Session``
    to use instead of a new one (it is not closed by :meth:`close`). Use as a context manager. A
    Fetcher may be shared by threads: hosts stay spaced, each robots.txt is read once and the cache
    is guarded by a lock.
    """

    def __init__(
        self,
        config: FetchConfig | None = None,
        *,
        clock: Clock | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.config = config or FetchConfig()
        self._clock = clock or Clock()
        self._own_session = session is None
        self._session = session or requests.Session()
        self._spacing = _Spacing(self._clock)
        self._robots: dict[tuple[str, str, int], _Robots] = {}
        self._robot_locks: dict[tuple[str, str, int], threading.Lock] = {}
        self._lock = threading.Lock()
        self._cache = _Cache(self.config.cache_path, clock=self._clock, days=self.config.cache_days)

    # -- the public side ------------------------------------------------------------------------

    def get(self, url: str) -> Fetched:
        """Fetch ``url`` (http or https), following redirects; the cached copy when the server says
        it has not changed. Raises :class:`FetchError` naming the URL and the reason."""
        asked = str(url).strip()
        target = self._checked(asked)
        if self.config.offline:
            raise FetchError(asked, "offline")
        entry = self._cache.get(target)
        deadline = _Deadline(self._clock, self.config.deadline)
        chain = [target]
        current = target
        while True:
            self._obey_robots(asked, current, redirected=current != target)
            conditional = entry is not None and entry.final_url == current
            headers = self._conditions(entry) if conditional else {}
            answer = self._request(asked, current, headers, deadline, limit=self.config.max_bytes)
            if answer.status in REDIRECTS:
                current = self._next_hop(asked, answer, chain)
                continue
            if answer.status == 304 and conditional and entry is not None:
                return self._confirmed(asked, target, entry, answer)
            if 200 <= answer.status < 300:
                return self._received(asked, target, answer)
            where = f" (at {_printable(current, limit=MAX_URL_CHARS)})" if current != target else ""
            raise FetchError(asked, _http_reason(answer.status) + where, status=answer.status)

    def cached(self, url: str) -> Fetched | None:
        """The cached copy of ``url`` without asking anyone (``from_cache=True``), or None; works
        offline too."""
        try:
            key = self._checked(str(url).strip())
        except FetchError:
            return None
        entry = self._cache.get(key)
        return None if entry is None else self._fetched(str(url).strip(), entry, from_cache=True)

    def close(self) -> None:
        """Close the cache, and the session if this Fetcher made it."""
        self._cache.close()
        if self._own_session:
            self._session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- URLs and redirects -----------------------------------------------------------------------

    @staticmethod
    def _checked(url: str) -> str:
        """``url`` as it will be requested (normalised, no fragment), or FetchError before any
        request: only http(s) URLs with a host are fetched."""
        if _CONTROLS.search(url):
            raise FetchError(url, "not a valid URL (control characters)")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if not scheme:
            raise FetchError(url, "not a URL (only http and https URLs are fetched)")
        if scheme not in SCHEMES:
            raise FetchError(url, f"scheme {_printable(scheme, limit=20)!r} is not fetched")
        try:
            if not parts.hostname:
                raise FetchError(url, "no host in the URL")
            prepared = requests.Request("GET", parts._replace(fragment="").geturl()).prepare().url
        except (requests.RequestException, ValueError, UnicodeError) as exc:
            raise FetchError(url, f"not a valid URL ({_printable(exc, limit=80)})") from exc
        assert prepared is not None
        return prepared

    def _next_hop(self, asked: str, answer: _Answer, chain: list[str]) -> str:
        location = answer.headers.get("Location")
        if not location:
            raise FetchError(asked, f"{_http_reason(answer.status)} without a Location", status=answer.status)
        hop = urljoin(answer.url, location.strip())
        scheme = urlsplit(hop).scheme.lower()
        if scheme not in SCHEMES:
            raise _RedirectError(asked, f"redirected to scheme {_printable(scheme, limit=20)!r}, not fetched")
        try:
            hop = self._checked(hop)
        except FetchError as exc:
            raise _RedirectError(asked, f"redirected to a bad URL: {exc.reason}") from exc
        if hop in chain:
            raise _RedirectError(asked, "redirect loop")
        if len(chain) > self.config.max_redirects:
            raise _RedirectError(asked, f"too many redirects (more than {self.config.max_redirects})")
        chain.append(hop)
        return hop

    # -- robots.txt -----------------------------------------------------------------------------

    def _obey_robots(self, asked: str, url: str, *, redirected: bool) -> None:
        robots = self._robots_for(url)
        where = f" (at {_printable(url, limit=MAX_URL_CHARS)})" if redirected else ""
        if robots.parser is None:
            raise FetchError(asked, robots.reason + where)
        if not robots.parser.can_fetch(self.config.user_agent, url):
            raise FetchError(asked, "refused by robots.txt" + where)

    def _robots_for(self, url: str) -> _Robots:
        origin = _origin(url)
        with self._lock:
            lock = self._robot_locks.setdefault(origin, threading.Lock())
        with lock:
            if origin not in self._robots:
                self._robots[origin] = self._read_robots(origin)
            return self._robots[origin]

    def _read_robots(self, origin: tuple[str, str, int]) -> _Robots:
        scheme, host, port = origin
        default = 443 if scheme == "https" else 80
        where = host if ":" not in host else f"[{host}]"
        url = f"{scheme}://{where}{'' if port == default else f':{port}'}/robots.txt"
        deadline = _Deadline(self._clock, self.config.deadline)
        chain = [url]
        current = url
        try:
            while True:  # robots.txt: no robots check of its own, no retries (read once per run)
                answer = self._request(
                    url, current, {}, deadline, limit=ROBOTS_MAX_BYTES, truncate=True, retries=0
                )
                if answer.status not in REDIRECTS:
                    break
                current = self._next_hop(url, answer, chain)
        except _RedirectError as exc:  # RFC 9309: robots.txt unavailable, as a 404
            log.debug("%s: %s; everything allowed", url, exc.reason)
            return _Robots(_everything(allowed=True), "")
        except FetchError as exc:
            return _Robots(None, f"robots.txt unreachable ({exc.reason}), site not fetched this run")
        status = answer.status
        log.debug("%s: HTTP %d", _printable(url, limit=MAX_URL_CHARS), status)
        if status in (401, 403):
            return _Robots(_everything(allowed=False), "")
        if 400 <= status < 500 and status not in RETRIED:
            return _Robots(_everything(allowed=True), "")
        if not 200 <= status < 300:
            reason = f"robots.txt unreachable ({_http_reason(status)}), site not fetched this run"
            return _Robots(None, reason)
        parser = urllib.robotparser.RobotFileParser(url)
        parser.parse(answer.body.decode("utf-8-sig", "replace").splitlines())
        delay = parser.crawl_delay(self.config.user_agent)
        return _Robots(parser, "", float(min(delay or 0, self.config.max_retry_after)))

    def _delay(self, url: str) -> float:
        robots = self._robots.get(_origin(url))
        return max(self.config.min_delay, robots.delay if robots else 0.0)

    # -- requests -------------------------------------------------------------------------------

    def _conditions(self, entry: _Entry | None) -> dict[str, str]:
        headers = {}
        if entry is not None and entry.etag:
            headers["If-None-Match"] = entry.etag
        if entry is not None and entry.last_modified:
            headers["If-Modified-Since"] = entry.last_modified
        return headers

    def _request(
        self,
        asked: str,
        url: str,
        headers: Mapping[str, str],
        deadline: _Deadline,
        *,
        limit: int,
        truncate: bool = False,
        retries: int | None = None,
    ) -> _Answer:
        """One request, spaced and retried; the answer, whatever its status but retried ones."""
        host = _origin(url)[1]
        retries = self.config.max_retries if retries is None else retries
        attempt = 0
        while True:
            self._spacing.wait(host, self._delay(url))
            deadline.start()
            try:
                answer = self._exchange(url, headers, deadline, limit=limit, truncate=truncate)
            except _Failure as failure:
                if not failure.retry:
                    raise FetchError(asked, failure.reason) from None
                reason, wait = failure.reason, None
                status = None
            else:
                if answer.status not in RETRIED:
                    return answer
                reason, status = _http_reason(answer.status), answer.status
                wait = _retry_after(answer.headers.get("Retry-After"), now=self._clock.now())
                if wait is not None and wait > self.config.max_retry_after and attempt < retries:
                    too_long = f"asked to retry after {_seconds(round(wait))}"
                    raise FetchError(asked, f"{reason} ({too_long}, longer than allowed)", status=status)
            if attempt >= retries:
                raise FetchError(asked, reason, status=status)
            wait = self.config.backoff * 2**attempt if wait is None else wait
            if wait > deadline.left():
                late = f"no time left to retry within {_seconds(deadline.seconds)}"
                raise FetchError(asked, f"{reason} ({late})", status=status)
            log.debug("%s: %s; retry in %s", _printable(url, limit=MAX_URL_CHARS), reason, _seconds(wait))
            self._spacing.hold(host, wait)
            attempt += 1

    def _exchange(
        self, url: str, headers: Mapping[str, str], deadline: _Deadline, *, limit: int, truncate: bool
    ) -> _Answer:
        """One HTTP exchange, run in a worker thread so that nothing (name resolution, a server
        trickling its headers or body) holds the caller past the deadline."""
        left = deadline.left()
        if left <= 0:
            raise _Failure(f"timed out after {_seconds(deadline.seconds)}", retry=False)
        box: dict[str, Any] = {}
        cancelled = threading.Event()
        timeout = min(self.config.timeout, left)
        late = _seconds(self.config.timeout if timeout == self.config.timeout else deadline.seconds)
        worker = threading.Thread(
            target=self._exchange_in_worker,
            args=(url, headers, timeout, late, limit, truncate, box, cancelled),
            name="geomap-fetch",
            daemon=True,
        )
        worker.start()
        worker.join(max(left, 0.0))
        if worker.is_alive():
            cancelled.set()
            response = box.get("response")
            if response is not None:  # wake the worker from a blocked read
                with contextlib.suppress(Exception):
                    response.raw.shutdown()
            raise _Failure(f"timed out after {_seconds(deadline.seconds)}", retry=False)
        if "failure" in box:
            raise box["failure"]
        answer: _Answer = box["answer"]
        return answer

    def _exchange_in_worker(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        late: str,
        limit: int,
        truncate: bool,
        box: dict[str, Any],
        cancelled: threading.Event,
    ) -> None:
        try:
            box["answer"] = self._talk(url, headers, timeout, limit, truncate, box, cancelled)
        except _Failure as failure:
            box["failure"] = failure
        except requests.Timeout:
            box["failure"] = _Failure(f"timed out after {late}", retry=False)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            reason = _connection_reason(exc)
            box["failure"] = _Failure(reason, retry=reason != "host not found")
        except requests.exceptions.ContentDecodingError:
            box["failure"] = _Failure("body cannot be decompressed", retry=False)
        except (requests.RequestException, ValueError, UnicodeError) as exc:
            box["failure"] = _Failure(f"request failed ({_printable(exc, limit=120)})", retry=False)
        except Exception as exc:  # a worker never dies silently: the caller gets a reason
            box["failure"] = _Failure(f"request failed ({type(exc).__name__})", retry=False)

    def _talk(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        limit: int,
        truncate: bool,
        box: dict[str, Any],
        cancelled: threading.Event,
    ) -> _Answer:
        sent = {"User-Agent": self.config.user_agent, "Accept": ACCEPT, **headers}
        response = self._session.get(
            url, headers=sent, stream=True, allow_redirects=False, timeout=(timeout, timeout)
        )
        box["response"] = response
        with response:
            status = response.status_code
            log.debug("GET %s: HTTP %d", _printable(url, limit=MAX_URL_CHARS), status)
            if not 200 <= status < 300:
                return _Answer(status, response.headers, b"", url)
            declared = (response.headers.get("Content-Length") or "").strip()
            if not truncate and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
                raise _Failure(f"larger than {_size(limit)} (Content-Length {declared[:20]})", retry=False)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(CHUNK_BYTES):
                if cancelled.is_set():
                    raise _Failure("cancelled", retry=False)
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    if truncate:
                        break
                    raise _Failure(f"larger than {_size(limit)}", retry=False)
            return _Answer(status, response.headers, b"".join(chunks)[:limit], url)

    # -- answers and the cache ------------------------------------------------------------------

    def _received(self, asked: str, key: str, answer: _Answer) -> Fetched:
        media, charset = content_type(answer.headers.get("Content-Type"))
        entry = _Entry(
            final_url=answer.url,
            status=answer.status,
            etag=_header(answer.headers, "ETag"),
            last_modified=_header(answer.headers, "Last-Modified"),
            content_type=media,
            charset=charset,
            body=answer.body,
            fetched_at=self._clock.now(),
        )
        self._cache.put(key, entry)
        return self._fetched(asked, entry, from_cache=False)

    def _confirmed(self, asked: str, key: str, entry: _Entry, answer: _Answer) -> Fetched:
        """A 304: the cached copy, its validators refreshed by the answer's when it sends any."""
        entry = _Entry(
            final_url=entry.final_url,
            status=entry.status,
            etag=_header(answer.headers, "ETag") or entry.etag,
            last_modified=_header(answer.headers, "Last-Modified") or entry.last_modified,
            content_type=entry.content_type,
            charset=entry.charset,
            body=entry.body,
            fetched_at=self._clock.now(),
        )
        self._cache.put(key, entry)
        return self._fetched(asked, entry, from_cache=True, status=304)

    @staticmethod
    def _fetched(asked: str, entry: _Entry, *, from_cache: bool, status: int | None = None) -> Fetched:
        return Fetched(
            url=asked,
            final_url=entry.final_url,
            status=status or entry.status,
            content_type=entry.content_type,
            charset=entry.charset,
            body=entry.body,
            not_modified=status == 304,
            from_cache=from_cache,
            fetched_at=entry.fetched_at,
        )


def _everything(*, allowed: bool) -> urllib.robotparser.RobotFileParser:
    parser = urllib.robotparser.RobotFileParser()
    parser.allow_all, parser.disallow_all = allowed, not allowed
    return parser


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A validator header worth sending back: at most 1,000 printable characters."""
    value = (headers.get(name) or "").strip()
    return value if value and len(value) <= 1000 and value.isascii() and not _CONTROLS.search(value) else None


def _retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds a ``Retry-After`` asks to wait (a number of seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value) if len(value) < 12 else float("inf")
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, origin unknown
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)


def _connection_reason(exc: BaseException) -> str:
    """A short reason for a failed connection, from the innermost cause that says something."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        error = todo.pop(0)
        if id(error) in seen:
            continue
        seen.add(id(error))
        name = type(error).__name__
        if isinstance(error, socket.gaierror) or name == "NameResolutionError":
            return "host not found"
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(error, ssl.SSLError):
            return f"TLS error ({_printable(getattr(error, 'reason', None) or name, limit=60)})"
        if name in ("IncompleteRead", "InvalidChunkLength", "ProtocolError") and error is not exc:
            return "connection broken before the end of the answer"
        todo.extend(
            e
            for e in (
                getattr(error, "reason", None),
                error.__cause__,
                error.__context__,
                *(a for a in error.args if isinstance(a, BaseException)),
            )
            if isinstance(e, BaseException)
        )
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection broken before the end of the answer"
    return "connection failed"


class _Cache:
    """Fetched bodies and their validators in SQLite, keyed by the URL asked (see the module
    docstring for what happens to a damaged, busy or unwritable file). Parametrised SQL only: URLs,
    headers and bodies are data."""

    _SCHEMA = """
        CREATE TABLE IF NOT EXISTS fetched (
            url TEXT PRIMARY KEY,
            final_url TEXT NOT NULL,
            status INTEGER NOT NULL,
            etag TEXT,
            last_modified TEXT,
            content_type TEXT,
            charset TEXT,
            body BLOB NOT NULL,
            fetched_at REAL NOT NULL
        )
    """
    _COLUMNS = "final_url, status, etag, last_modified, content_type, charset, body, fetched_at"

    def __init__(
        self, path: Path | None, *, clock: Clock, days: float | None, lock_timeout: float = 10.0
    ) -> None:
        self.path = path
        self._clock = clock
        self._days = days
        self._lock_timeout = lock_timeout
        self._lock = threading.Lock()
        self._warned = False
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            return self._connect(":memory:")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self._connect(str(self.path))
        except OSError as exc:
            problem: str = exc.strerror or str(exc)
        except sqlite3.DatabaseError as exc:
            if sqlite_files.damaged(exc):
                return self._renew(exc)
            problem = str(exc)
        return self._in_memory(problem)

    def _renew(self, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        """Move the damaged file aside (kept for whoever wants to look at it) and start anew."""
        assert self.path is not None
        try:
            aside = sqlite_files.move_aside(self.path)
        except OSError as err:
            return self._in_memory(f"damaged ({exc}) and cannot be moved aside ({err.strerror or err})")
        log.warning(
            "the fetch cache %s was damaged (%s): moved aside to %s, a new cache is started",
            _printable(self.path, limit=400),
            _printable(exc, limit=200),
            _printable(aside, limit=400),
        )
        try:
            return self._connect(str(self.path))
        except (OSError, sqlite3.DatabaseError) as again:
            return self._in_memory(str(again))

    def _in_memory(self, problem: str) -> sqlite3.Connection:
        where = _printable(self.path, limit=400)
        log.warning(
            "cannot use the fetch cache %s (%s); this run keeps fetched pages in memory only",
            where,
            _printable(problem, limit=200),
        )
        return self._connect(":memory:")

    def _connect(self, target: str) -> sqlite3.Connection:
        db = sqlite3.connect(target, timeout=self._lock_timeout, check_same_thread=False)
        try:
            if target != ":memory:":
                db.execute("PRAGMA journal_mode=WAL")
                sqlite_files.check(db)
            with db:
                db.execute(self._SCHEMA)
            try:
                db.execute(f"SELECT url, {self._COLUMNS} FROM fetched LIMIT 0")
            except sqlite3.OperationalError as exc:  # another program's table of that name
                raise sqlite3.DatabaseError(f"not a geomap fetch cache ({exc})") from exc
            if self._days is not None:
                with db:
                    db.execute(
                        "DELETE FROM fetched WHERE fetched_at < ?", (self._clock.now() - self._days * 86400,)
                    )
        except BaseException:
            db.close()
            raise
        return db

    def _guarded(self, action: Callable[[sqlite3.Connection], T], default: T, what: str) -> T:
        with self._lock:
            try:
                return action(self._db)
            except sqlite3.DatabaseError as exc:
                if sqlite_files.damaged(exc) and self.path is not None:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.close()
                    self._db = self._renew(exc)
                    return default
                self._trouble(what, exc)
                return default

    def _trouble(self, what: str, exc: sqlite3.Error) -> None:
        message = "the fetch cache %s could not be %s (%s); going on without it for this page"
        where = _printable(self.path or ":memory:", limit=400)
        if self._warned:
            log.debug(message, where, what, _printable(exc, limit=200))
            return
        self._warned = True
        message += " (further such errors are logged at debug level)"
        log.warning(message, where, what, _printable(exc, limit=200))

    def get(self, url: str) -> _Entry | None:
        def read(db: sqlite3.Connection) -> _Entry | None:
            row = db.execute(f"SELECT {self._COLUMNS} FROM fetched WHERE url = ?", (url,)).fetchone()
            if row is None:
                return None
            final_url, status, etag, modified, media, charset, body, at = row
            if not (isinstance(final_url, str) and isinstance(body, bytes) and isinstance(status, int)):
                return None  # a row no Fetcher wrote: fetch anew
            texts = (etag, modified, media, charset)
            if not all(value is None or isinstance(value, str) for value in texts):
                return None
            return _Entry(final_url, status, etag, modified, media, charset, body, float(at))

        return self._guarded(read, None, "read")

    def put(self, url: str, entry: _Entry) -> None:
        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute(
                    f"INSERT OR REPLACE INTO fetched (url, {self._COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        url,
                        entry.final_url,
                        entry.status,
                        entry.etag,
                        entry.last_modified,
                        entry.content_type,
                        entry.charset,
                        sqlite3.Binary(entry.body),
                        entry.fetched_at,
                    ),
                )

        self._guarded(write, None, "written")

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()
