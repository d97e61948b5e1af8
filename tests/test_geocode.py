"""The online geocoder tier against a local server that speaks Nominatim, Photon and GeoNames.

All traffic goes to 127.0.0.1: the server replays the answers in ``fixtures/geocoder/`` and can be
told to fail (HTTP 500, 429, garbage, silence) to test retries, the cache and the switch-off, or to
misbehave as a hostile service would (trickling bytes, huge or deeply nested bodies, coordinates out
of range, terminal escapes) to test that the client stays bounded and its output inert.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import click
import platformdirs
import pytest
from click.testing import CliRunner

from geomap.cache import CACHE_ENV
from geomap.cli.options import geocoder_config, geocoder_options
from geomap.errors import GeocoderError
from geomap.geocode import (
    Clock,
    GeocodeCache,
    GeocoderConfig,
    GeocoderTier,
    normalise_query,
)
from geomap.models import Place
from geomap.pipeline import Pipeline
from geomap.store import STORE_NAME, ResultStore

FIXTURES = Path(__file__).parent / "fixtures" / "geocoder"
PATHS = {"nominatim": "/search", "photon": "/api", "geonames": "/searchJSON"}
USER_AGENT = "geomap-tests/0.1 (geomap-tests@example.org)"
GEONAMES_USER = "geomap_tests"
JERMUK = (39.83948, 45.67112)  # GeoNames 174884
TEGH = (39.55826, 46.48054)  # GeoNames 174743


@dataclass
class Seen:
    """One request the server received."""

    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class FakeService:
    """What the local server answers, and what it was asked."""

    provider: str
    script: list[str] = field(default_factory=list)  # behaviours for the next requests, in order
    default: str = "ok"
    requests: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    by_query: dict[str, str] = field(default_factory=dict)  # normalised query -> its behaviour
    answers: dict[str, Any] = field(default_factory=dict)  # normalised query -> answer (JSON value)
    sent: int = 0  # bytes of the last body the client accepted (huge bodies)
    finished: threading.Event = field(default_factory=threading.Event)  # the last answer is over

    def behaviour(self, query: str = "") -> str:
        if self.script:
            return self.script.pop(0)
        return self.by_query.get(normalise_query(query), self.default)

    def answer(self, query: str) -> bytes:
        slug = normalise_query(query)
        if slug in self.answers:
            return json.dumps(self.answers[slug]).encode()
        path = FIXTURES / self.provider / f"{slug}.json"
        if not path.is_file() or not slug.isalpha():
            path = FIXTURES / self.provider / "empty.json"
        return path.read_bytes()


def handler_for(service: FakeService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
            pass

        def send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            params = parse_qs(url.query)
            service.requests.append(Seen(url.path, params, dict(self.headers.items())))
            if url.path != PATHS[service.provider] or "q" not in params:
                self.send(404, b'{"error": "not found"}', "application/json")
                return
            what = service.behaviour(params["q"][0])
            if what == "sleep":
                service.release.wait(10)  # bounded; released when the test ends
                what = "ok"
            service.finished.clear()
            try:
                if not self.misbehave(what, params["q"][0]):
                    self.behave(what, params)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout and size tests)
            finally:
                service.finished.set()

        def trickle(self, data: bytes) -> None:
            """``data`` one byte every 0.5 s (16 bytes at most, then the connection is dropped)."""
            for byte in data[:16]:
                if service.release.wait(0.5):
                    return
                self.wfile.write(bytes([byte]))
            self.close_connection = True

        def misbehave(self, what: str, query: str) -> bool:
            """A hostile or broken service's answers; False for the ordinary ones."""
            if what == "trickle-body":
                body = service.answer(query)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.trickle(body)
            elif what == "trickle-headers":
                self.trickle(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            elif what in ("huge", "huge-chunked"):
                self.huge(chunked=what == "huge-chunked")
            elif what == "deep":
                self.send(200, b"[" * 100_000, "application/json")
            elif what == "big-html":
                self.send(
                    200, b"<html>" + b"<p>Service en maintenance</p>" * 10_000 + b"</html>", "text/html"
                )
            elif what == "big-500":
                self.send(500, b"Internal Server Error " * 20_000, "text/plain")
            elif what == "escapes-html":
                self.send(200, b"<html>\x1b]0;owned\x07\x1b[2J\x1b[31mmaintenance\x1b[0m</html>", "text/html")
            elif what.startswith("set:"):  # "set:<field>=<value>": one field of Jermuk's first place
                self.send(200, json.dumps(self.jermuk_with(what[4:])).encode(), "application/json")
            else:
                return False
            return True

        def huge(self, *, chunked: bool) -> None:
            """A 20 MB answer in valid JSON (one place with a 20 MB name), Content-Length or chunked."""
            head, tail = (
                b'[{"place_id": 1, "osm_type": "node", "osm_id": 1, "lat": "39.8", "lon": "45.6",',
                b"}]",
            )
            body = head + b' "display_name": "' + b"x" * 20_000_000 + b'"' + tail
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            service.sent = 0
            for start in range(0, len(body), 65536):
                piece = body[start : start + 65536]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                service.sent += len(piece)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")

        def jermuk_with(self, change: str) -> Any:
            """Jermuk's answer with one field of the first place set: ``lat``, ``lon`` or ``name``."""
            key, _, value = change.partition("=")
            body = json.loads(service.answer("jermuk"))
            if service.provider == "nominatim":
                body[0][key] = value
            elif service.provider == "photon":
                feature = body["features"][0]
                if key == "name":
                    feature["properties"]["name"] = value
                else:
                    feature["geometry"]["coordinates"][key == "lat"] = float(value)
            else:
                body["geonames"][0]["lng" if key == "lon" else key] = value
            return body

        def behave(self, what: str, params: dict[str, list[str]]) -> None:
            """The ordinary answers: the fixture, or a plain failure."""
            if what == "500":
                self.send(500, b"Internal Server Error", "text/plain")
            elif what.startswith("429"):  # "429" or "429:<seconds to retry after>"
                after = what.partition(":")[2] or "0"
                self.send(429, b"Too Many Requests", "text/plain", **{"Retry-After": after})
            elif what == "html":
                self.send(200, b"<html><body>Service en maintenance</body></html>", "text/html")
            elif what == "wrong-json":
                self.send(200, b'{"unexpected": [1, 2, 3]}', "application/json")
            elif what == "bad-coordinates":
                body = json.loads(service.answer("jermuk"))
                if service.provider == "nominatim":
                    body[0]["lat"] = "N/A"
                elif service.provider == "photon":
                    body["features"][0]["geometry"]["coordinates"] = [45.67, "N/A"]
                else:
                    body["geonames"][0]["lat"] = "N/A"
                self.send(200, json.dumps(body).encode(), "application/json")
            else:
                self.send(200, service.answer(params["q"][0]), "application/json; charset=utf-8")

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start local geocoding services; all are stopped when the test ends."""
    running: list[tuple[ThreadingHTTPServer, threading.Thread, FakeService]] = []

    def start(provider: str, **options: Any) -> FakeService:
        service = FakeService(provider, **options)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(service))
        service.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        running.append((server, thread, service))
        return service

    yield start
    for server, thread, service in running:
        service.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def make_config(service: FakeService, tmp_path: Path, **overrides: Any) -> GeocoderConfig:
    options: dict[str, Any] = {
        "provider": service.provider,
        "user_agent": USER_AGENT,
        "domain": f"127.0.0.1:{service.port}",
        "scheme": "http",
        "timeout": 2.0,
        "min_delay": 0.0,
        "error_wait": 0.0,
        "max_retries": 2,
        "username": GEONAMES_USER if service.provider == "geonames" else None,
        "cache_path": tmp_path / "geocoder.sqlite",
    }
    options.update(overrides)
    return GeocoderConfig(**options)


def geomap_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "geomap" and r.levelno == logging.WARNING]


def close_to(place: Place, latlon: tuple[float, float], *, within: float = 0.01) -> bool:
    return abs(place.lat - latlon[0]) < within and abs(place.lon - latlon[1]) < within


# --- answers become places -------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["nominatim", "photon", "geonames"])
def test_answers_become_places(serve: Any, tmp_path: Path, provider: str) -> None:
    service = serve(provider)
    tier = GeocoderTier(make_config(service, tmp_path))
    places = tier.candidates("Jermuk")
    assert tier.source == "geocoder"
    assert places, "Jermuk found"
    first = places[0]
    assert close_to(first, JERMUK)
    assert first.country == "AM"
    assert first.id.startswith(f"{provider}:")
    assert all(p.country == "AM" for p in places)
    [tegh] = tier.candidates("Tegh")
    assert close_to(tegh, TEGH) and tegh.country == "AM" and tegh.kind == "village"
    # the client spoke the provider's protocol
    assert [r.path for r in service.requests] == [PATHS[provider]] * 2
    params = service.requests[0].params
    assert params["q"] == ["Jermuk"]
    assert service.requests[0].headers["User-Agent"] == USER_AGENT
    if provider == "nominatim":
        assert params["format"] == ["json"]
        assert params["limit"] == ["5"]
        assert params["addressdetails"] == ["1"]
        assert params["accept-language"] == ["fr"]
    elif provider == "photon":
        assert params["limit"] == ["5"]
        assert params["lang"] == ["fr"]
    else:
        assert params["username"] == [GEONAMES_USER]


def test_nominatim_fields(serve: Any, tmp_path: Path) -> None:
    tier = GeocoderTier(make_config(serve("nominatim"), tmp_path))
    town, community = tier.candidates("Jermuk")
    assert town == Place(
        id="nominatim:N269542137",
        name="Djermouk",
        kind="town",
        country="AM",
        lat=39.8409719,
        lon=45.6701453,
        admin1="Vayots Dzor",
    )
    assert community.id == "nominatim:R13220213"
    assert community.kind == "district"  # boundary=administrative, addresstype=municipality
    [tegh] = tier.candidates("Tegh")
    assert tegh.name == "Տեղ"  # no French name in OSM: the local one comes back


def test_photon_fields(serve: Any, tmp_path: Path) -> None:
    tier = GeocoderTier(make_config(serve("photon"), tmp_path))
    town, community = tier.candidates("Jermuk")
    assert (town.id, town.name, town.kind, town.admin1) == (
        "photon:N269542137",
        "Djermouk",
        "town",
        "Vayots Dzor",
    )
    assert town.latlon == (39.8409719, 45.6701453)  # GeoJSON's [lon, lat] read the right way round
    assert (community.id, community.kind) == ("photon:R13220213", "district")


def test_geonames_fields(serve: Any, tmp_path: Path) -> None:
    tier = GeocoderTier(make_config(serve("geonames"), tmp_path))
    [jermuk] = tier.candidates("Jermuk")
    assert jermuk == Place(
        id="geonames:174884",
        name="Jermuk",
        kind="village",
        country="AM",
        lat=39.83948,
        lon=45.67112,
        admin1="Vayots Dzor",
        geonames_id=174884,
        population=4095,
    )


# --- the cache -------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["nominatim", "photon", "geonames"])
def test_second_lookup_comes_from_the_cache(serve: Any, tmp_path: Path, provider: str) -> None:
    service = serve(provider)
    config = make_config(service, tmp_path)
    tier = GeocoderTier(config)
    first = tier.candidates("Jermuk")
    assert len(service.requests) == 1
    assert tier.candidates("Jermuk") == first
    assert tier.candidates("  jermuk ") == first  # same normalised query
    assert len(service.requests) == 1
    tier.close()
    again = GeocoderTier(config)  # a new run, the same cache file
    assert again.candidates("JERMUK") == first
    assert len(service.requests) == 1
    again.close()


def test_the_cache_is_keyed_by_domain(serve: Any, tmp_path: Path) -> None:
    one, two = serve("nominatim"), serve("nominatim")
    GeocoderTier(make_config(one, tmp_path)).candidates("Jermuk")
    GeocoderTier(make_config(two, tmp_path)).candidates("Jermuk")
    assert len(one.requests) == len(two.requests) == 1


def test_no_result_is_cached(serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    service = serve("nominatim")
    tier = GeocoderTier(make_config(service, tmp_path))
    assert tier.candidates("Zzyzx Nowhere") == []
    assert tier.candidates("Zzyzx Nowhere") == []
    assert len(service.requests) == 1
    assert len(tier.cache) == 1
    assert not geomap_warnings(caplog)


def test_cache_rows_are_json(serve: Any, tmp_path: Path) -> None:
    class FixedClock(Clock):
        def now(self) -> float:
            return 1_700_000_000.0

    service = serve("geonames")
    config = make_config(service, tmp_path)
    tier = GeocoderTier(config, clock=FixedClock())
    tier.candidates("Jermuk")
    tier.close()
    with sqlite3.connect(config.cache_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = db.execute("SELECT provider, domain, query, places, stored_at FROM answers").fetchall()
    db.close()
    [(provider, domain, query, places, stored_at)] = rows
    assert (provider, domain, query) == ("geonames", f"127.0.0.1:{service.port}", "jermuk")
    assert json.loads(places)[0]["geonames_id"] == 174884
    assert stored_at == 1_700_000_000.0


def test_sql_in_a_name_is_stored_and_read_back_safely(serve: Any, tmp_path: Path) -> None:
    service = serve("nominatim")
    config = make_config(service, tmp_path)
    name = "Robert'); DROP TABLE answers;--"
    tier = GeocoderTier(config)
    assert tier.candidates(name) == []
    assert service.requests[0].params["q"] == [name]
    assert GeocoderTier(config).candidates(name) == []
    assert len(service.requests) == 1  # read back from the cache
    place = Place(
        id="x:1", name="O'Brien\"; DELETE FROM answers;--", kind="town", country=None, lat=1.5, lon=2.5
    )
    with GeocodeCache(config.cache_path) as cache:
        cache.put(provider="nominatim", domain="d", query=name, places=[place])
        assert cache.get(provider="nominatim", domain="d", query=name) == [place]
        assert len(cache) == 2


# --- failures --------------------------------------------------------------------------------------


def test_http_500_gives_nothing_and_caches_nothing(
    serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = serve("nominatim", default="500")
    tier = GeocoderTier(make_config(service, tmp_path, max_retries=1))
    assert tier.candidates("Jermuk") == []
    assert len(service.requests) == 2  # one try and one retry
    assert len(tier.cache) == 0
    assert not tier.disabled  # a server error is not a connectivity failure
    assert tier.candidates("Tegh") == []
    assert len(service.requests) == 4
    warnings = geomap_warnings(caplog)
    assert len(warnings) == 1  # one warning per tier, not per name
    assert "Jermuk" in warnings[0].getMessage()
    service.default = "ok"
    assert tier.candidates("Jermuk")  # nothing was cached: asked again, answered


@pytest.mark.parametrize("provider", ["nominatim", "photon", "geonames"])
@pytest.mark.parametrize("garbage", ["html", "wrong-json", "bad-coordinates"])
def test_garbage_gives_nothing_and_caches_nothing(
    serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, provider: str, garbage: str
) -> None:
    service = serve(provider, default=garbage)
    tier = GeocoderTier(make_config(service, tmp_path, max_retries=0))
    assert tier.candidates("Jermuk") == []
    assert len(tier.cache) == 0
    assert len(geomap_warnings(caplog)) == 1
    assert not tier.disabled


def test_a_silent_server_times_out_and_switches_the_tier_off(
    serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = serve("nominatim", default="sleep")
    timeout, retries = 0.5, 1
    tier = GeocoderTier(make_config(service, tmp_path, timeout=timeout, max_retries=retries))
    started = time.monotonic()
    assert tier.candidates("Jermuk") == []
    elapsed = time.monotonic() - started
    assert elapsed < timeout * (retries + 2) + 2  # a functional bound, not a benchmark
    assert len(service.requests) == retries + 1  # no hidden retries below geopy's RateLimiter
    assert tier.disabled
    assert len(tier.cache) == 0
    assert len(geomap_warnings(caplog)) == 1
    started = time.monotonic()
    assert tier.candidates("Tegh") == []  # switched off: not asked at all
    assert time.monotonic() - started < 1
    assert len(service.requests) == retries + 1


def test_an_unreachable_service_switches_the_tier_off(unreachable_geocoder: GeocoderConfig) -> None:
    tier = GeocoderTier(replace(unreachable_geocoder, max_retries=1))
    assert tier.candidates("Jermuk") == []
    assert tier.disabled
    assert tier.failures == 1


def test_a_disabled_tier_still_answers_from_its_cache(serve: Any, tmp_path: Path) -> None:
    service = serve("photon")
    tier = GeocoderTier(make_config(service, tmp_path))
    jermuk = tier.candidates("Jermuk")
    tier.disabled = True
    assert tier.candidates("Jermuk") == jermuk
    assert tier.candidates("Tegh") == []
    assert len(service.requests) == 1


def test_http_429_is_retried(serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    service = serve("nominatim", script=["429"])
    tier = GeocoderTier(make_config(service, tmp_path))
    places = tier.candidates("Jermuk")
    assert places and close_to(places[0], JERMUK)
    assert len(service.requests) == 2
    assert not geomap_warnings(caplog)


# --- rate limiting and time -------------------------------------------------------------------------


class FakeClock(Clock):
    """Time that only moves when slept."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def test_requests_are_spaced_and_cache_hits_cost_no_delay(serve: Any, tmp_path: Path) -> None:
    service = serve("nominatim")
    clock = FakeClock()
    tier = GeocoderTier(make_config(service, tmp_path, min_delay=1.0), clock=clock)
    tier.candidates("Jermuk")
    tier.candidates("Tegh")
    assert clock.slept == [pytest.approx(1.0)]  # the second request waited for its slot
    for _ in range(3):
        tier.candidates("Jermuk")
        tier.candidates("Tegh")
    assert clock.slept == [pytest.approx(1.0)]  # cache hits never reach the RateLimiter
    assert len(service.requests) == 2


# --- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize("agent", [None, "", "  ", "geopy/2.5.0", "my-application"])
def test_nominatim_requires_a_user_agent(agent: str | None, tmp_path: Path) -> None:
    with pytest.raises(GeocoderError, match="user agent"):
        GeocoderConfig(provider="nominatim", user_agent=agent, cache_path=tmp_path / "c.sqlite")
    with pytest.raises(ValueError):
        GeocoderConfig(user_agent=agent)


def test_other_invalid_configurations(tmp_path: Path) -> None:
    with pytest.raises(GeocoderError, match="username"):
        GeocoderConfig(provider="geonames")
    with pytest.raises(GeocoderError, match="provider"):
        GeocoderConfig(provider="google", user_agent=USER_AGENT)
    with pytest.raises(GeocoderError):
        GeocoderConfig(user_agent=USER_AGENT, timeout=0)
    photon = GeocoderConfig(provider="photon", cache_path=str(tmp_path / "c.sqlite"))  # type: ignore[arg-type]
    assert photon.resolved_domain == "photon.komoot.io"
    assert photon.cache_path == tmp_path / "c.sqlite"


def test_the_default_cache_is_in_geomap_cache_dir(
    serve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$GEOMAP_CACHE_DIR moves the cache, read when a config is made (not at import); without it the
    cache stays where it always was."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # the default place (Linux)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "chosen"))
    service = serve("nominatim")
    config = GeocoderConfig(
        user_agent=USER_AGENT, domain=f"127.0.0.1:{service.port}", scheme="http", min_delay=0.0
    )
    tier = GeocoderTier(config)
    try:
        assert tier.candidates("Jermuk")
    finally:
        tier.close()
    assert config.cache_path == tmp_path / "chosen" / "geocoder.sqlite"
    kept = sqlite3.connect(config.cache_path)
    try:
        assert kept.execute("SELECT query FROM answers").fetchall() == [("jermuk",)]  # normalised
    finally:
        kept.close()
    assert not (tmp_path / "user-cache").exists()
    monkeypatch.delenv(CACHE_ENV)
    default = GeocoderConfig(user_agent=USER_AGENT).cache_path
    assert default == Path(platformdirs.user_cache_dir("geomap")) / "geocoder.sqlite"


def test_http_429_retry_after_is_honoured_within_the_timeout(serve: Any, tmp_path: Path) -> None:
    """Retry-After: 1 is waited for; Retry-After: 3600 is cut to the per-request timeout (2 s)."""
    service = serve("nominatim", script=["429:1", "429:3600"])
    clock = FakeClock()
    tier = GeocoderTier(make_config(service, tmp_path), clock=clock)
    places = tier.candidates("Jermuk")
    assert places and close_to(places[0], JERMUK)
    assert len(service.requests) == 3
    assert 1.0 in clock.slept and 2.0 in clock.slept and max(clock.slept) <= 2.0


# --- a hostile or broken service stays bounded (issue #11, item 6) ------------------------------------


@pytest.mark.parametrize("trickle", ["trickle-body", "trickle-headers"])
def test_a_trickling_server_is_cut_off_at_the_total_deadline(
    serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, trickle: str
) -> None:
    """One byte every 0.5 s keeps every read under the 2 s timeout: only a total deadline ends it."""
    service = serve("nominatim", default=trickle)
    tier = GeocoderTier(make_config(service, tmp_path, timeout=2.0, max_retries=0))
    started = time.monotonic()
    assert tier.candidates("Jermuk") == []
    assert time.monotonic() - started < 6  # the trickle alone lasts 8 s; the deadline is 2 s
    assert tier.failures == 1 and tier.disabled  # a timeout: switched off, articles retried next run
    assert len(tier.cache) == 0
    assert "2 s" in geomap_warnings(caplog)[0].getMessage()


@pytest.mark.parametrize("huge", ["huge", "huge-chunked"])
def test_a_huge_body_is_refused_at_the_size_cap(
    serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, huge: str
) -> None:
    """A 20 MB answer (valid JSON) against a 1 MB cap: refused, whether its length is declared or
    not, and the client stops reading (the server cannot hand it all over)."""
    service = serve("nominatim", default=huge)
    tier = GeocoderTier(make_config(service, tmp_path, max_retries=0, max_body_bytes=1_000_000))
    assert tier.candidates("Jermuk") == []
    assert service.finished.wait(10)
    assert service.sent < 20_000_000  # the connection was dropped before the end of the body
    assert tier.failures == 1 and not tier.disabled
    assert len(tier.cache) == 0
    [warning] = geomap_warnings(caplog)
    assert "1,000,000" in warning.getMessage()  # the cap was hit, and said so
    assert len(warning.getMessage()) < 1000


def test_deeply_nested_json_is_a_bad_answer(
    serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``[`` x 100,000 made json.loads raise RecursionError through the whole build."""
    service = serve("photon", default="deep")
    tier = GeocoderTier(make_config(service, tmp_path, max_retries=0))
    assert tier.candidates("Jermuk") == []
    assert tier.failures == 1 and not tier.disabled
    assert len(tier.cache) == 0
    assert "nested deeper" in geomap_warnings(caplog)[0].getMessage()


@pytest.mark.filterwarnings("ignore:Latitude normalization")  # geopy's, about lat=91
@pytest.mark.parametrize("provider", ["nominatim", "photon", "geonames"])
@pytest.mark.parametrize("change", ["lon=999", "lon=-181", "lat=91", "lat=nan"])
def test_coordinates_out_of_range_are_rejected_not_wrapped(
    serve: Any, tmp_path: Path, provider: str, change: str
) -> None:
    """geopy's Point wraps a longitude of 999 to -81: the answer's own values are checked."""
    service = serve(provider, default=f"set:{change}")
    tier = GeocoderTier(make_config(service, tmp_path, max_retries=0))
    assert tier.candidates("Jermuk") == []
    assert tier.failures == 1
    assert len(tier.cache) == 0


def test_terminal_escapes_in_an_answer_never_reach_a_place(serve: Any, tmp_path: Path) -> None:
    name = "\x1b]0;owned\x07\x1b[31mDjermouk\x1b[0m\u202e\r\n"
    service = serve("nominatim", default=f"set:name={name}")
    tier = GeocoderTier(make_config(service, tmp_path))
    first = tier.candidates("Jermuk")[0]
    assert first.name == "Djermouk"
    assert close_to(first, JERMUK)
    tier.close()
    again = GeocoderTier(make_config(service, tmp_path)).candidates("Jermuk")[0]  # from the cache
    assert again.name == "Djermouk"


@pytest.mark.parametrize("failure", ["escapes-html", "html"])
def test_terminal_escapes_never_reach_a_log_line(
    serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    """Neither from the service's answer nor from the name an article gave."""
    service = serve("nominatim", default=failure)
    tier = GeocoderTier(make_config(service, tmp_path, max_retries=0))
    assert tier.candidates("Jermuk\x1b[2J\x1b]0;owned\x07 \u202eville") == []
    [warning] = geomap_warnings(caplog)
    text = warning.getMessage()
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c == "\u202e" for c in text), text


@pytest.mark.parametrize("failure", ["big-html", "big-500"])
def test_a_big_failing_body_is_not_copied_into_the_log(
    serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    """300-400 KB of HTML used to be quoted whole in the warning (50 MB went to stderr)."""
    service = serve("nominatim", default=failure)
    tier = GeocoderTier(make_config(service, tmp_path, max_retries=0))
    assert tier.candidates("Jermuk") == []
    assert tier.failures == 1
    assert len(geomap_warnings(caplog)[0].getMessage()) < 1000


def test_online_requests_are_capped_per_run(
    serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Past ``max_requests`` the tier asks no more, says so once, and is off (articles retried)."""
    service = serve("nominatim")
    tier = GeocoderTier(make_config(service, tmp_path, max_requests=3))
    assert tier.candidates("Jermuk")
    for name in ("Tegh", "Zzyzx Un", "Zzyzx Deux", "Zzyzx Trois", "Zzyzx Quatre"):
        tier.candidates(name)
    assert len(service.requests) == 3
    assert tier.requests == 3 and tier.disabled
    [warning] = geomap_warnings(caplog)
    assert "3 requests" in warning.getMessage()
    assert tier.candidates("Jermuk")  # the cache still answers
    assert len(service.requests) == 3
    assert GeocoderConfig(user_agent=USER_AGENT).max_requests == 500


def test_the_request_cap_is_a_geocoder_option() -> None:
    @click.command()
    @geocoder_options
    @click.pass_context
    def show(ctx: click.Context) -> None:
        click.echo(geocoder_config(ctx).max_requests)

    runner = CliRunner()
    assert runner.invoke(show, []).output.strip() == "500"
    assert runner.invoke(show, ["--geocoder-max-requests", "7"]).output.strip() == "7"
    assert runner.invoke(show, ["--geocoder-max-requests", "0"]).exit_code == 2
    assert "--geocoder-max-requests" in runner.invoke(show, ["--help"]).output


# --- transient failures are not final (issue #11, item 5) ------------------------------------------


def test_an_empty_answer_expires_after_thirty_days(serve: Any, tmp_path: Path) -> None:
    service = serve("nominatim")
    clock = FakeClock()
    config = make_config(service, tmp_path)
    tier = GeocoderTier(config, clock=clock)
    assert tier.candidates("Zzyzx Nowhere") == []
    jermuk = tier.candidates("Jermuk")
    clock.t += 29 * 86400
    assert tier.candidates("Zzyzx Nowhere") == []
    assert len(service.requests) == 2  # still fresh
    clock.t += 2 * 86400
    service.answers["zzyzx nowhere"] = json.loads(service.answer("tegh"))  # the service learnt it
    assert tier.candidates("Zzyzx Nowhere")  # asked again after 30 days, and found
    assert tier.candidates("Jermuk") == jermuk  # an answer with places does not expire
    assert len(service.requests) == 3
    forever = GeocoderTier(make_config(service, tmp_path / "other", empty_answer_days=None), clock=clock)
    forever.candidates("Zzyzx Ailleurs")
    clock.t += 3650 * 86400
    forever.candidates("Zzyzx Ailleurs")
    assert len(service.requests) == 4


@pytest.mark.parametrize("failure", ["500", "html"])
def test_an_article_hit_by_a_geocoder_failure_is_resolved_next_run(
    pipeline: Pipeline, serve: Any, tmp_path: Path, failure: str
) -> None:
    """Run 1: the service fails on one name (HTTP 500 or an HTML page); the article is not kept as
    done. Run 2, service back: the article is processed again and the name resolved."""
    name = "Kvorzhelan"
    service = serve("nominatim", by_query={name.lower(): failure})
    answer = json.loads(service.answer("tegh"))
    answer[0].update(name=name, display_name=f"{name}, Tavush, Arménie", osm_id=999000111)
    service.answers[name.lower()] = answer
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "obus.txt").write_text(
        f"Des obus sont tombés sur le village de {name}, dans le Tavush, hier soir."
    )
    (corpus / "calme.txt").write_text("Le Tavush est resté calme toute la journée de lundi.")

    def build() -> tuple[Any, int]:
        """One run as ``geomap build`` makes it: a new pipeline (a new process) and the store in OUT."""
        online = Pipeline(pipeline.gazetteer, extra_tiers=[GeocoderTier(make_config(service, tmp_path))])
        online.extractor = pipeline.extractor  # the loaded model, shared
        with ResultStore(tmp_path / "out" / STORE_NAME, "fp") as store:
            result = online.run([corpus], store=store)
            return result, store.stored

    first, stored = build()
    assert [r.place for r in first.resolutions if r.mention.text == name] == [None]
    assert stored == 1  # only the article that met no failure
    service.by_query.clear()  # the service is back
    second, _ = build()
    assert second.reused == 1  # the calm article; the other one is asked again
    [place] = [r.place for r in second.resolutions if r.mention.text == name]
    assert place is not None and place.name == name and place.country == "AM"


# --- the cache file survives (issue #11, item 4) ---------------------------------------------------


def test_a_damaged_cache_is_moved_aside_and_a_new_one_started(
    serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = serve("nominatim")
    config = make_config(service, tmp_path)
    assert config.cache_path is not None
    config.cache_path.write_bytes(b"this is not a database, just some bytes" * 100)
    tier = GeocoderTier(config)
    assert tier.candidates("Jermuk")  # a new cache, working
    assert len(tier.cache) == 1
    [aside] = tmp_path.glob("geocoder.sqlite.damaged-*")
    assert aside.read_bytes().startswith(b"this is not a database")  # kept, not deleted
    [warning] = geomap_warnings(caplog)
    assert str(config.cache_path) in warning.getMessage() and aside.name in warning.getMessage()


def test_a_cache_damaged_in_the_middle_is_moved_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "geocoder.sqlite"
    place = Place(id="x:1", name="Somewhere", kind="town", country="AM", lat=40.0, lon=45.0)
    GeocodeCache(path).close()
    with sqlite3.connect(path) as db:
        rows = [("nominatim", "d", f"name {i} " + "x" * 150, "[]", 0.0) for i in range(400)]
        db.executemany("INSERT INTO answers VALUES (?, ?, ?, ?, ?)", rows)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    assert len(data) > 8 * 4096
    data[5 * 4096 : 7 * 4096] = b"\xa5" * (2 * 4096)  # two pages in the middle
    path.write_bytes(bytes(data))
    with GeocodeCache(path) as cache:
        assert len(cache) == 0
        cache.put(provider="nominatim", domain="d", query="Jermuk", places=[place])
        assert cache.get(provider="nominatim", domain="d", query="jermuk") == [place]
    assert len(list(tmp_path.glob("geocoder.sqlite.damaged-*"))) == 1
    assert "damaged" in geomap_warnings(caplog)[0].getMessage()


def test_a_locked_cache_is_waited_for_then_reported_never_touched(tmp_path: Path) -> None:
    path = tmp_path / "geocoder.sqlite"
    other = sqlite3.connect(path, isolation_level=None)  # another process, creating its cache
    other.execute("CREATE TABLE answers (x)")
    other.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(GeocoderError, match="locked") as error:
            GeocodeCache(path, lock_timeout=0.3)
        assert 0.25 < time.monotonic() - started < 5  # waited, within bounds
        assert str(path) in str(error.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert path.exists() and not list(tmp_path.glob("*.damaged-*"))


def test_a_cache_locked_during_the_run_costs_only_its_entries(
    serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = serve("nominatim")
    config = make_config(service, tmp_path)
    cache = GeocodeCache(config.cache_path, lock_timeout=0.2)
    tier = GeocoderTier(config, cache=cache)
    other = sqlite3.connect(config.cache_path, isolation_level=None)  # another run, writing
    other.execute("BEGIN IMMEDIATE")
    try:
        places = tier.candidates("Jermuk")
        assert places and close_to(places[0], JERMUK)  # answered, not stored
        assert tier.candidates("Tegh")
        assert tier.failures == 0
    finally:
        other.execute("ROLLBACK")
        other.close()
    warnings = geomap_warnings(caplog)
    assert len(warnings) == 1 and "could not be written" in warnings[0].getMessage()
    assert str(config.cache_path) in warnings[0].getMessage()
    tier.candidates("Jermuk")
    assert len(tier.cache) == 1  # the lock is gone: written again
    assert config.cache_path.exists() and not list(tmp_path.glob("*.damaged-*"))


def test_a_cache_that_cannot_be_opened_is_named_not_moved(tmp_path: Path) -> None:
    folder = tmp_path / "a folder, not a file"
    folder.mkdir()
    with pytest.raises(GeocoderError, match="a folder, not a file"):
        GeocodeCache(folder)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(GeocoderError, match="file"):
        GeocodeCache(blocker / "geocoder.sqlite")
    assert folder.is_dir() and blocker.read_text() == "x"
