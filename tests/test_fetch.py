"""geomap.fetch against a real HTTP server on 127.0.0.1 (and "localhost", a second host name for the
same server): politeness, bounds, redirects, caching, offline mode, and how each failure is named.

The server records every request (path, headers, Host, monotonic time). Tests that check waits use a
fake clock (the waits are recorded, not slept) unless they check real spacing at the server, which
they do with short delays and loose bounds.
"""

from __future__ import annotations

import email.utils
import gzip
import itertools
import logging
import pickle
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import platformdirs
import pytest

from geomap.cache import CACHE_ENV
from geomap.errors import GeomapError
from geomap.fetch import (
    Clock,
    FetchConfig,
    FetchConfigError,
    Fetched,
    Fetcher,
    FetchError,
    acceptable,
    content_type,
    default_cache_path,
    default_user_agent,
    version,
)

FIXTURES = Path(__file__).parent / "fixtures" / "fetch"
PAGE = (FIXTURES / "depeche.html").read_bytes()
FEED = (FIXTURES / "fil.rss").read_bytes()
ROBOTS = (FIXTURES / "robots.txt").read_bytes()
HTML = "text/html; charset=utf-8"

# -- the server ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    path: str
    host: str
    headers: dict[str, str]
    at: float


Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Site:
    """A local web site: ``routes`` maps a path to a handler; every request is recorded."""

    port: int = 0
    routes: dict[str, Handler] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str, *, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def hits(self, path: str, *, host: str | None = None) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path and (host is None or s.host == host)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        site: Site = self.server.site  # type: ignore[attr-defined]
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        with site.lock:
            site.seen.append(Seen(self.path, host, dict(self.headers.items()), time.monotonic()))
        handler = site.routes.get(f"{host}{self.path}") or site.routes.get(self.path) or answer(404)
        try:
            handler(self)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: fine
            self.close_connection = True

    def log_message(self, *_: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is no error
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@pytest.fixture
def site() -> Iterator[Site]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.site = Site(port=server.server_address[1])  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.site  # type: ignore[attr-defined]
    server.site.stop.set()  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def answer(status: int = 200, body: bytes = b"", **headers: str) -> Handler:
    """A handler that sends ``status``, ``headers`` (underscores become dashes) and ``body``."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name.replace("_", "-"), value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handle


def versioned(body: bytes, *, etag: str | None = None, modified: str | None = None) -> Handler:
    """A page that answers 304 to a request whose validators match its own."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        same_tag = etag is not None and request.headers.get("If-None-Match") == etag
        same_date = modified is not None and request.headers.get("If-Modified-Since") == modified
        validators = {"ETag": etag, "Last-Modified": modified}
        if same_tag or same_date:
            request.send_response(304)
            for name, value in validators.items():
                if value:
                    request.send_header(name, value)
            request.end_headers()
            return
        answer(200, body, Content_Type=HTML, **{k: v for k, v in validators.items() if v})(request)

    return handle


def in_turn(*handlers: Handler) -> Handler:
    """The first handler for the first request, the second for the second...; the last for the rest."""
    count = iter(range(10**6))

    def handle(request: BaseHTTPRequestHandler) -> None:
        handlers[min(next(count), len(handlers) - 1)](request)

    return handle


def hang_up(request: BaseHTTPRequestHandler) -> None:
    """Close the connection without a word."""
    request.close_connection = True
    request.connection.shutdown(socket.SHUT_RDWR)


def redirect(location: str, status: int = 302) -> Handler:
    return answer(status, Location=location)


# -- the fetcher ---------------------------------------------------------------------------------


class FakeClock(Clock):
    """Time that moves only when slept; sleeps are recorded."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return 1_663_000_000.0 + self.t

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.t += seconds


@pytest.fixture
def make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Fetcher]]:
    """Fetchers with their default cache, tmp_path/fetch.sqlite ($GEOMAP_CACHE_DIR is tmp_path), and
    no spacing unless asked; closed after the test."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    made: list[Fetcher] = []

    def build(*, clock: Clock | None = None, **options: object) -> Fetcher:
        settings: dict[str, object] = {
            "user_agent": "geomap/test (+mailto:veille@example.org)",
            "min_delay": 0.0,
        }
        settings.update(options)
        fetcher = Fetcher(FetchConfig(**settings), clock=clock)  # type: ignore[arg-type]
        made.append(fetcher)
        return fetcher

    yield build
    for fetcher in made:
        fetcher.close()


def failure(fetcher: Fetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetcher.get(url)
    return caught.value


# -- who we are ----------------------------------------------------------------------------------


def test_user_agent_names_geomap_its_version_and_a_contact(site: Site, make: Callable[..., Fetcher]) -> None:
    assert default_user_agent().startswith(f"geomap/{version()}")
    assert (
        default_user_agent("mailto:veille@example.org") == f"geomap/{version()} (+mailto:veille@example.org)"
    )
    assert FetchConfig(cache_path=None).user_agent == default_user_agent()

    site.routes["/depeche"] = answer(200, PAGE, Content_Type=HTML)
    make().get(site.url("/depeche"))
    for path in ("/robots.txt", "/depeche"):
        [hit] = site.hits(path)
        assert hit.headers["User-Agent"] == "geomap/test (+mailto:veille@example.org)"
        assert "text/html" in hit.headers["Accept"] and "application/rss+xml" in hit.headers["Accept"]


@pytest.mark.parametrize("agent", ["", "   ", "geomap/1\r\nX-Injected: 1", "géomap/1"])
def test_a_user_agent_that_cannot_be_sent_is_refused(agent: str) -> None:
    with pytest.raises(FetchConfigError, match="user_agent"):
        FetchConfig(user_agent=agent, cache_path=None)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(FetchConfigError, match="deadline"):
        FetchConfig(deadline=0, cache_path=None)
    with pytest.raises(FetchConfigError, match="max_retries"):
        FetchConfig(max_retries=-1, cache_path=None)


# -- robots.txt ----------------------------------------------------------------------------------


def test_robots_txt_is_obeyed_and_read_once_per_host(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/robots.txt"] = answer(200, ROBOTS, Content_Type="text/plain")
    site.routes["/depeche"] = answer(200, PAGE, Content_Type=HTML)
    site.routes["/fil.rss"] = answer(200, FEED, Content_Type="application/rss+xml")
    fetcher = make()

    assert fetcher.get(site.url("/depeche")).body == PAGE
    error = failure(fetcher, site.url("/prive/notes-internes"))
    assert error.reason == "refused by robots.txt"
    assert error.url == site.url("/prive/notes-internes")
    assert failure(fetcher, site.url("/recherche?q=Goris")).reason == "refused by robots.txt"
    assert fetcher.get(site.url("/fil.rss")).body == FEED

    assert len(site.hits("/robots.txt", host="127.0.0.1")) == 1
    assert not any(s.path.startswith(("/prive", "/recherche")) for s in site.seen)
    # another host name is another site: its robots.txt is read too
    fetcher.get(site.url("/depeche", host="localhost"))
    assert len(site.hits("/robots.txt", host="localhost")) == 1


def test_robots_txt_rules_for_geomap_itself_apply(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/robots.txt"] = answer(200, b"User-agent: geomap\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    site.routes["/depeche"] = answer(200, PAGE, Content_Type=HTML)
    assert failure(make(), site.url("/depeche")).reason == "refused by robots.txt"
    assert not site.hits("/depeche")


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (404, None),  # no robots.txt: everything is allowed
        (410, None),
        (401, "refused by robots.txt"),  # as RobotFileParser reads them
        (403, "refused by robots.txt"),
        (500, "robots.txt unreachable (HTTP 500 Internal Server Error), site not fetched this run"),
        (503, "robots.txt unreachable (HTTP 503 Service Unavailable), site not fetched this run"),
        (429, "robots.txt unreachable (HTTP 429 Too Many Requests), site not fetched this run"),
    ],
)
def test_what_a_robots_txt_status_means(
    site: Site, make: Callable[..., Fetcher], status: int, verdict: str | None
) -> None:
    site.routes["/robots.txt"] = answer(status, b"nothing here")
    site.routes["/depeche"] = answer(200, PAGE, Content_Type=HTML)
    fetcher = make()
    for _ in range(2):
        if verdict is None:
            assert fetcher.get(site.url("/depeche")).body == PAGE
        else:
            assert failure(fetcher, site.url("/depeche")).reason == verdict
    assert len(site.hits("/robots.txt")) == 1  # read once per run, whatever it said
    assert len(site.hits("/depeche")) == (2 if verdict is None else 0)


def test_a_robots_txt_that_does_not_answer_closes_the_site_for_the_run(
    site: Site, make: Callable[..., Fetcher]
) -> None:
    site.routes["/robots.txt"] = lambda request: site.stop.wait(3)
    site.routes["/depeche"] = answer(200, PAGE, Content_Type=HTML)
    started = time.monotonic()
    error = failure(make(timeout=0.3), site.url("/depeche"))
    assert error.reason == "robots.txt unreachable (timed out after 0.3 s), site not fetched this run"
    assert time.monotonic() - started < 2.0
    assert not site.hits("/depeche")


def test_crawl_delay_is_honoured(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/robots.txt"] = answer(200, b"User-agent: *\nCrawl-delay: 3\nDisallow: /prive/\n")
    site.routes["/depeche"] = answer(200, PAGE, Content_Type=HTML)
    clock = FakeClock()
    fetcher = make(clock=clock, min_delay=1.0)
    fetcher.get(site.url("/depeche"))
    fetcher.get(site.url("/depeche"))
    # robots.txt, then the page after min_delay (the delay was not known yet), then 3 s
    assert clock.sleeps == [1.0, 3.0]


# -- spacing -------------------------------------------------------------------------------------


def test_requests_to_one_host_are_spaced_by_min_delay(site: Site, make: Callable[..., Fetcher]) -> None:
    clock = FakeClock()
    site.routes["/depeche"] = answer(200, PAGE, Content_Type=HTML)
    fetcher = make(clock=clock, min_delay=1.0)
    for _ in range(3):
        fetcher.get(site.url("/depeche"))
    assert clock.sleeps == [1.0, 1.0, 1.0]  # robots.txt, then three pages a second apart


def test_spacing_holds_at_the_server(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/depeche"] = answer(200, PAGE, Content_Type=HTML)
    fetcher = make(min_delay=0.2)
    for _ in range(3):
        fetcher.get(site.url("/depeche"))
    times = [s.at for s in site.seen]
    assert len(times) == 4
    # the client spaces its sends exactly (see the fake-clock test); the server sees them with
    # some jitter, so: a span of three delays, and no two requests close together
    assert times[-1] - times[0] >= 3 * 0.2 - 0.05
    assert all(later - earlier >= 0.1 for earlier, later in itertools.pairwise(times))


def test_two_hosts_do_not_wait_for_each_other(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/depeche"] = answer(200, PAGE, Content_Type=HTML)
    fetcher = make(min_delay=0.5)
    fetcher.get(site.url("/depeche", host="127.0.0.1"))
    fetcher.get(site.url("/depeche", host="localhost"))
    [first_page] = site.hits("/depeche", host="127.0.0.1")
    [second_robots] = site.hits("/robots.txt", host="localhost")
    [second_page] = site.hits("/depeche", host="localhost")
    assert second_robots.at - first_page.at < 0.3  # not held back by the other host's spacing
    assert second_page.at - second_robots.at >= 0.35  # but spaced on its own host (0.5 s, give or take)


def test_threads_sharing_a_fetcher_read_robots_once_and_stay_spaced(
    site: Site, make: Callable[..., Fetcher]
) -> None:
    for n in range(4):
        site.routes[f"/depeche-{n}"] = answer(200, PAGE, Content_Type=HTML)
    fetcher = make(min_delay=0.15)
    results: list[Fetched] = []
    threads = [
        threading.Thread(target=lambda n=n: results.append(fetcher.get(site.url(f"/depeche-{n}"))))
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 4
    assert len(site.hits("/robots.txt")) == 1
    times = sorted(s.at for s in site.seen)
    assert times[-1] - times[0] >= 4 * 0.15 - 0.05
    assert all(later - earlier >= 0.075 for earlier, later in itertools.pairwise(times))


# -- statuses and retries ------------------------------------------------------------------------


def test_a_missing_page_is_named_and_not_retried(site: Site, make: Callable[..., Fetcher]) -> None:
    error = failure(make(), site.url("/disparu"))
    assert (error.reason, error.status) == ("HTTP 404 Not Found", 404)
    assert str(error) == f"{site.url('/disparu')}: HTTP 404 Not Found"
    assert len(site.hits("/disparu")) == 1


def test_a_server_error_is_retried_with_backoff_then_named(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/panne"] = answer(500, b"oops")
    clock = FakeClock()
    error = failure(make(clock=clock), site.url("/panne"))
    assert (error.reason, error.status) == ("HTTP 500 Internal Server Error", 500)
    assert len(site.hits("/panne")) == 3  # max_retries=2
    assert clock.sleeps == [1.0, 2.0]


def test_retry_after_is_honoured_then_the_page_comes(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/charge"] = in_turn(answer(503, Retry_After="4"), answer(200, PAGE, Content_Type=HTML))
    clock = FakeClock()
    fetched = make(clock=clock).get(site.url("/charge"))
    assert fetched.body == PAGE and fetched.status == 200
    assert len(site.hits("/charge")) == 2
    assert clock.sleeps == [4.0]


def test_retry_after_as_an_http_date(site: Site, make: Callable[..., Fetcher]) -> None:
    clock = FakeClock()
    when = email.utils.formatdate(clock.now() + 7, usegmt=True)
    site.routes["/charge"] = in_turn(answer(429, Retry_After=when), answer(200, PAGE, Content_Type=HTML))
    assert make(clock=clock).get(site.url("/charge")).body == PAGE
    assert clock.sleeps == [7.0]


def test_a_retry_after_longer_than_allowed_is_not_waited_for(
    site: Site, make: Callable[..., Fetcher]
) -> None:
    site.routes["/charge"] = answer(503, Retry_After="3600")
    clock = FakeClock()
    error = failure(make(clock=clock, max_retry_after=60), site.url("/charge"))
    assert error.reason == "HTTP 503 Service Unavailable (asked to retry after 3600 s, longer than allowed)"
    assert len(site.hits("/charge")) == 1
    assert clock.sleeps == []


def test_a_dropped_connection_is_retried(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/instable"] = in_turn(hang_up, answer(200, PAGE, Content_Type=HTML))
    clock = FakeClock()
    assert make(clock=clock).get(site.url("/instable")).body == PAGE
    assert len(site.hits("/instable")) == 2
    assert clock.sleeps == [1.0]


def test_a_host_that_refuses_connections_is_named(make: Callable[..., Fetcher]) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failure(make(clock=FakeClock()), f"http://127.0.0.1:{port}/depeche")
    assert error.reason == "robots.txt unreachable (connection refused), site not fetched this run"


# -- bounds --------------------------------------------------------------------------------------


def trickle(*, headers_too: bool) -> Callable[[Site], Handler]:
    def make_handler(site: Site) -> Handler:
        def handle(request: BaseHTTPRequestHandler) -> None:
            request.close_connection = True
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 200\r\n"
            if not headers_too:
                request.wfile.write(head + b"\r\n")
                head = b""
            for byte in head + b"\r\n" + b"x" * 200:
                if site.stop.wait(0.05):
                    return
                request.wfile.write(bytes([byte]))
                request.wfile.flush()

        return handle

    return make_handler


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers"])
def test_a_trickling_server_is_cut_at_the_deadline(
    site: Site, make: Callable[..., Fetcher], headers_too: bool
) -> None:
    site.routes["/goutte"] = trickle(headers_too=headers_too)(site)
    started = time.monotonic()
    error = failure(make(timeout=5.0, deadline=0.6), site.url("/goutte"))
    assert error.reason == "timed out after 0.6 s"
    assert time.monotonic() - started < 2.0
    assert len(site.hits("/goutte")) == 1  # a timeout is not retried


def test_a_silent_server_times_out(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/muet"] = lambda request: site.stop.wait(5)
    started = time.monotonic()
    error = failure(make(timeout=0.3, deadline=5.0), site.url("/muet"))
    assert error.reason == "timed out after 0.3 s"
    assert time.monotonic() - started < 2.0


def test_a_declared_size_over_the_cap_is_refused_before_reading(
    site: Site, make: Callable[..., Fetcher]
) -> None:
    def huge(request: BaseHTTPRequestHandler) -> None:
        request.close_connection = True
        request.send_response(200)
        request.send_header("Content-Type", HTML)
        request.send_header("Content-Length", str(50 * 2**20))
        request.end_headers()
        request.wfile.write(b"<html>" + b" " * 1000)

    site.routes["/enorme"] = huge
    started = time.monotonic()
    error = failure(make(), site.url("/enorme"))
    assert error.reason == "larger than 10 MB (Content-Length 52428800)"
    assert time.monotonic() - started < 2.0


def test_a_streamed_body_over_the_cap_is_cut(site: Site, make: Callable[..., Fetcher]) -> None:
    def chunked(request: BaseHTTPRequestHandler) -> None:
        request.close_connection = True
        request.send_response(200)
        request.send_header("Content-Type", HTML)
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        piece = b"<p>Goris</p>" * 1000
        for _ in range(100):
            request.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        request.wfile.write(b"0\r\n\r\n")

    site.routes["/flot"] = chunked
    error = failure(make(max_bytes=64 * 1024), site.url("/flot"))
    assert error.reason == "larger than 64 KB"


def test_a_compressed_body_is_capped_once_decompressed(site: Site, make: Callable[..., Fetcher]) -> None:
    bomb = gzip.compress(b"\0" * 2**20)
    assert len(bomb) < 64 * 1024
    site.routes["/bombe"] = answer(200, bomb, Content_Type=HTML, Content_Encoding="gzip")
    assert failure(make(max_bytes=64 * 1024), site.url("/bombe")).reason == "larger than 64 KB"
    small = gzip.compress(PAGE)
    site.routes["/zip"] = answer(200, small, Content_Type=HTML, Content_Encoding="gzip")
    assert make(max_bytes=64 * 1024).get(site.url("/zip")).body == PAGE


# -- redirects and schemes -----------------------------------------------------------------------


def test_a_redirect_chain_is_followed(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/court"] = redirect(site.url("/etape"), 301)
    site.routes["/etape"] = redirect("/monde/depeche", 307)  # relative
    site.routes["/monde/depeche"] = answer(200, PAGE, Content_Type=HTML)
    fetched = make().get(site.url("/court"))
    assert fetched.url == site.url("/court")
    assert fetched.final_url == site.url("/monde/depeche")
    assert fetched.body == PAGE


def test_a_redirect_loop_is_named(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/a"] = redirect("/b")
    site.routes["/b"] = redirect("/a")
    assert failure(make(), site.url("/a")).reason == "redirect loop"
    assert len(site.hits("/a")) == len(site.hits("/b")) == 1


def test_too_many_redirects_are_named(site: Site, make: Callable[..., Fetcher]) -> None:
    for n in range(9):
        site.routes[f"/saut/{n}"] = redirect(f"/saut/{n + 1}")
    assert failure(make(), site.url("/saut/0")).reason == "too many redirects (more than 5)"
    assert len([s for s in site.seen if s.path.startswith("/saut/")]) == 6


@pytest.mark.parametrize("target", ["file:///etc/passwd", "javascript:alert(1)", "ftp://127.0.0.1/fil.rss"])
def test_a_redirect_to_another_scheme_is_refused(
    site: Site, make: Callable[..., Fetcher], target: str
) -> None:
    site.routes["/piege"] = redirect(target)
    scheme = target.split(":")[0]
    assert failure(make(), site.url("/piege")).reason == f"redirected to scheme {scheme!r}, not fetched"


def test_a_redirect_to_another_host_obeys_that_hosts_robots_txt(
    site: Site, make: Callable[..., Fetcher]
) -> None:
    site.routes["localhost/robots.txt"] = answer(200, ROBOTS)
    site.routes["/sortie"] = redirect(site.url("/prive/dossier", host="localhost"))
    error = failure(make(), site.url("/sortie"))
    assert error.reason == f"refused by robots.txt (at {site.url('/prive/dossier', host='localhost')})"
    assert len(site.hits("/robots.txt", host="localhost")) == 1
    assert not site.hits("/prive/dossier")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme 'file' is not fetched"),
        ("javascript:alert(document.cookie)", "scheme 'javascript' is not fetched"),
        ("data:text/html,<p>Jermuk</p>", "scheme 'data' is not fetched"),
        ("ftp://127.0.0.1/fil.rss", "scheme 'ftp' is not fetched"),
        ("FILE:///etc/passwd", "scheme 'file' is not fetched"),
        ("depeches.example.org/monde", "not a URL (only http and https URLs are fetched)"),
        ("http:///sans-hote", "no host in the URL"),
        ("http://127.0.0.1/\x1b[31mrouge", "not a valid URL (control characters)"),
    ],
)
def test_urls_that_are_not_fetched_are_refused_before_any_request(
    site: Site, make: Callable[..., Fetcher], url: str, reason: str
) -> None:
    assert failure(make(), url).reason == reason
    assert site.seen == []


# -- content types -------------------------------------------------------------------------------


def test_the_declared_type_and_charset_are_returned_undecoded(
    site: Site, make: Callable[..., Fetcher]
) -> None:
    latin = "Goris, Kapan et Tegh : la route rouverte".encode("windows-1252")
    site.routes["/latin"] = answer(200, latin, Content_Type='text/html; Charset="Windows-1252"')
    site.routes["/fil.rss"] = answer(200, FEED, Content_Type="application/rss+xml")
    fetcher = make()
    page = fetcher.get(site.url("/latin"))
    assert (page.content_type, page.charset, page.body) == ("text/html", "windows-1252", latin)
    feed = fetcher.get(site.url("/fil.rss"))
    assert (feed.content_type, feed.charset) == ("application/rss+xml", None)
    assert acceptable(feed.content_type, kind="feed") and not acceptable(feed.content_type, kind="page")


@pytest.mark.parametrize(
    ("value", "page", "feed"),
    [
        ("text/html; charset=utf-8", True, False),
        ("application/xhtml+xml", True, False),
        ("TEXT/HTML", True, False),
        ("application/rss+xml; charset=UTF-8", False, True),
        ("application/atom+xml", False, True),
        ("application/xml", False, True),
        ("text/xml", False, True),
        ("application/pdf", False, False),
        ("image/svg+xml", False, False),
        ("text/plain", False, False),
        (None, False, False),
        ("not a type", False, False),
    ],
)
def test_acceptable_content_types(value: str | None, page: bool, feed: bool) -> None:
    assert acceptable(value, kind="page") is page
    assert acceptable(value, kind="feed") is feed


def test_content_type_parsing() -> None:
    assert content_type("text/html;charset=ISO-8859-1") == ("text/html", "iso-8859-1")
    assert content_type(' text/html ; foo=bar ; charset = "utf-8" ') == ("text/html", "utf-8")
    assert content_type("text/html; charset=\x1b[31m") == ("text/html", None)
    assert content_type("") == (None, None)
    with pytest.raises(ValueError, match="kind"):
        acceptable("text/html", kind="image")  # type: ignore[arg-type]


# -- the cache -----------------------------------------------------------------------------------


def test_an_etag_makes_the_next_run_ask_conditionally(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/depeche"] = versioned(PAGE, etag='"v1"')
    first = make().get(site.url("/depeche"))
    assert (first.status, first.not_modified, first.from_cache) == (200, False, False)

    second = make().get(site.url("/depeche"))  # the next day's run: a new Fetcher, the same cache file
    assert site.hits("/depeche")[-1].headers["If-None-Match"] == '"v1"'
    assert (second.status, second.not_modified, second.from_cache) == (304, True, True)
    assert second.body == PAGE
    assert (second.content_type, second.charset, second.final_url) == ("text/html", "utf-8", first.final_url)

    changed = PAGE.replace(b"deux militaires", b"trois militaires")
    site.routes["/depeche"] = versioned(changed, etag='"v2"')
    third = make().get(site.url("/depeche"))
    assert (third.status, third.not_modified, third.body) == (200, False, changed)


def test_last_modified_makes_the_next_run_ask_conditionally(site: Site, make: Callable[..., Fetcher]) -> None:
    stamp = "Wed, 14 Sep 2022 04:02:00 GMT"
    site.routes["/fil.rss"] = versioned(FEED, modified=stamp)
    make().get(site.url("/fil.rss"))
    again = make().get(site.url("/fil.rss"))
    first_request, second_request = site.hits("/fil.rss")
    assert "If-Modified-Since" not in first_request.headers
    assert second_request.headers["If-Modified-Since"] == stamp
    assert again.not_modified and again.body == FEED


def test_conditions_are_sent_to_the_url_they_belong_to(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/court"] = redirect("/depeche")
    site.routes["/depeche"] = versioned(PAGE, etag='"v1"')
    make().get(site.url("/court"))
    again = make().get(site.url("/court"))
    assert again.not_modified and again.body == PAGE
    assert "If-None-Match" not in site.hits("/court")[-1].headers
    assert site.hits("/depeche")[-1].headers["If-None-Match"] == '"v1"'


def test_a_damaged_cache_is_moved_aside_and_started_anew(
    site: Site, make: Callable[..., Fetcher], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "fetch.sqlite"
    cache.write_bytes(b"Jermuk, Sotk, Goris: not a database " * 200)
    site.routes["/depeche"] = versioned(PAGE, etag='"v1"')
    with caplog.at_level(logging.WARNING, logger="geomap"):
        fetcher = make()
    [aside] = tmp_path.glob("fetch.sqlite.damaged-*")
    assert aside.read_bytes().startswith(b"Jermuk, Sotk, Goris")
    assert "damaged" in caplog.text and aside.name in caplog.text
    assert fetcher.get(site.url("/depeche")).body == PAGE
    assert make().get(site.url("/depeche")).not_modified  # the new cache works


def test_a_cache_that_cannot_be_written_leaves_the_run_going(
    site: Site, tmp_path: Path, make: Callable[..., Fetcher], caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    site.routes["/depeche"] = answer(200, PAGE, Content_Type=HTML)
    with caplog.at_level(logging.WARNING, logger="geomap"):
        fetcher = make(cache_path=blocker / "fetch.sqlite")
    assert "in memory only" in caplog.text
    assert fetcher.get(site.url("/depeche")).body == PAGE


def test_old_entries_are_dropped(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/depeche"] = answer(200, PAGE, Content_Type=HTML)
    clock = FakeClock()
    make(clock=clock, cache_days=30).get(site.url("/depeche"))
    assert make(clock=clock, cache_days=30).cached(site.url("/depeche")) is not None
    clock.t += 31 * 86400
    assert make(clock=clock, cache_days=30).cached(site.url("/depeche")) is None


def test_the_cache_is_kept_in_geomap_cache_dir(
    site: Site, make: Callable[..., Fetcher], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$GEOMAP_CACHE_DIR (tmp_path, set by ``make``) moves the cache, read when a config is made;
    without it the cache stays where it always was."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # the default place (Linux)
    site.routes["/depeche"] = answer(200, PAGE, Content_Type=HTML)
    make().get(site.url("/depeche"))
    assert (tmp_path / "fetch.sqlite").is_file()
    assert not (tmp_path / "user-cache").exists()
    monkeypatch.delenv(CACHE_ENV)
    assert default_cache_path() == Path(platformdirs.user_cache_dir("geomap")) / "fetch.sqlite"


def test_an_in_memory_cache_is_kept_for_the_fetcher_only(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/depeche"] = versioned(PAGE, etag='"v1"')
    fetcher = make(cache_path=None)
    fetcher.get(site.url("/depeche"))
    assert fetcher.get(site.url("/depeche")).not_modified
    assert not make(cache_path=None).get(site.url("/depeche")).not_modified


# -- offline -------------------------------------------------------------------------------------


def test_offline_refuses_every_fetch_but_reads_the_cache(site: Site, make: Callable[..., Fetcher]) -> None:
    site.routes["/depeche"] = answer(200, PAGE, Content_Type=HTML)
    make().get(site.url("/depeche"))
    seen = len(site.seen)

    offline = make(offline=True)
    error = failure(offline, site.url("/depeche"))
    assert (error.reason, error.url) == ("offline", site.url("/depeche"))
    assert failure(offline, site.url("/fil.rss")).reason == "offline"
    assert failure(offline, "file:///etc/passwd").reason == "scheme 'file' is not fetched"
    assert len(site.seen) == seen
    kept = offline.cached(site.url("/depeche"))
    assert kept is not None and kept.from_cache and not kept.not_modified and kept.body == PAGE
    assert offline.cached(site.url("/fil.rss")) is None


# -- the error -----------------------------------------------------------------------------------


def test_fetch_errors_are_geomap_errors_safe_to_print_and_to_pickle() -> None:
    error = FetchError("http://example.org/\x1b]8;;evil\x07" + "x" * 500, "HTTP 404 Not Found", status=404)
    assert isinstance(error, GeomapError) and isinstance(error, ConnectionError)
    message = str(error)
    assert "\x1b" not in message and "\x07" not in message and "\\x1b" in message
    assert len(message) < 260 and message.endswith("…: HTTP 404 Not Found")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.url, copy.reason, copy.status, str(copy)) == (
        FetchError,
        error.url,
        error.reason,
        404,
        message,
    )
