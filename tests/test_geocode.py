"""The online geocoder tier against a local server that speaks Nominatim, Photon and GeoNames.

All traffic goes to 127.0.0.1: the server replays the answers in ``fixtures/geocoder/`` and can be
told to fail (HTTP 500, 429, garbage, silence) to test retries, the cache and the switch-off.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from geomap.errors import GeocoderError
from geomap.geocode import (
    Clock,
    GeocodeCache,
    GeocoderConfig,
    GeocoderTier,
    normalise_query,
)
from geomap.models import Place

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

    def behaviour(self) -> str:
        return self.script.pop(0) if self.script else self.default

    def answer(self, query: str) -> bytes:
        slug = normalise_query(query)
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
            what = service.behaviour()
            if what == "sleep":
                service.release.wait(10)  # bounded; released when the test ends
                what = "ok"
            try:
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
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

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


def test_an_unreachable_service_switches_the_tier_off(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    config = GeocoderConfig(
        user_agent=USER_AGENT,
        domain=f"127.0.0.1:{port}",
        scheme="http",
        timeout=1,
        min_delay=0,
        error_wait=0,
        max_retries=1,
        cache_path=tmp_path / "c.sqlite",
    )
    tier = GeocoderTier(config)
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


def test_default_cache_path_is_in_the_user_cache_dir() -> None:
    config = GeocoderConfig(user_agent=USER_AGENT)
    assert config.cache_path is not None
    assert config.cache_path.name == "geocoder.sqlite"
    assert "geomap" in config.cache_path.parts


def test_http_429_retry_after_is_honoured_within_the_timeout(serve: Any, tmp_path: Path) -> None:
    """Retry-After: 1 is waited for; Retry-After: 3600 is cut to the per-request timeout (2 s)."""
    service = serve("nominatim", script=["429:1", "429:3600"])
    clock = FakeClock()
    tier = GeocoderTier(make_config(service, tmp_path), clock=clock)
    places = tier.candidates("Jermuk")
    assert places and close_to(places[0], JERMUK)
    assert len(service.requests) == 3
    assert 1.0 in clock.slept and 2.0 in clock.slept and max(clock.slept) <= 2.0
