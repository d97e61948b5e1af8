"""The online fallback tier: geopy's Nominatim, Photon or GeoNames behind a persistent SQLite cache.

A :class:`GeocoderTier` answers a name from its :class:`GeocodeCache` when it can, and only otherwise
asks the geocoder, through geopy's :class:`~geopy.extra.rate_limiter.RateLimiter` (the cache sits
outside the limiter, so a cache hit costs no delay). An answer, even "no result", is cached; a failure
(timeout, refusal, HTTP error, garbage) never is. Failures are logged once per tier and yield no
candidates; after a failure of connectivity the tier switches itself off for the rest of the run.

geopy speaks (lat, lon), as :class:`~geomap.models.Place` does: no axis flip happens here.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from geopy.adapters import RequestsAdapter, URLLibAdapter
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
from platformdirs import user_cache_dir

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
]

log = logging.getLogger("geomap")

PROVIDERS = frozenset({"nominatim", "photon", "geonames"})
DEFAULT_DOMAINS = {
    "nominatim": "nominatim.openstreetmap.org",
    "photon": "photon.komoot.io",
    "geonames": "api.geonames.org",
}
MAX_RESULTS = 5
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
# geopy hands on whatever its parsers raise when a 200 answer has an unexpected shape.
_FAILURES = (GeopyError, ValueError, TypeError, KeyError, IndexError, AttributeError)

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


class GeocoderConfigError(GeocoderError, ValueError):
    """The geocoder's configuration is invalid (an unknown provider, a missing user agent...)."""


def _default_cache_path() -> Path:
    return Path(user_cache_dir("geomap")) / "geocoder.sqlite"


@dataclass(frozen=True, slots=True)
class GeocoderConfig:
    """How to reach the online geocoder, how politely, and where to keep its answers.

    ``domain=None`` means the provider's public service; ``cache_path=None`` keeps the cache in
    memory for this run only. ``error_wait`` is the pause before a retry (geopy requires it to be at
    least ``min_delay``; a smaller value is raised to it).
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


def _adapter_factory() -> Callable[..., Any]:
    # requests' own HTTPAdapter retries (read timeouts included) would multiply the RateLimiter's
    # retries: keep one retry policy, the RateLimiter's.
    if RequestsAdapter.is_available:
        return partial(RequestsAdapter, max_retries=0)
    return URLLibAdapter


def make_geocoder(config: GeocoderConfig, *, clock: Clock | None = None) -> RateLimiter:
    """The configured provider's ``geocode``, rate-limited and retried by geopy's RateLimiter.

    The returned callable takes the query and returns up to five geopy ``Location`` (or ``None``);
    it raises geopy's errors after ``config.max_retries`` retries (``swallow_exceptions=False``).
    """
    options: dict[str, Any] = {
        "domain": config.resolved_domain,
        "scheme": config.scheme,
        "timeout": config.timeout,
        "user_agent": config.user_agent,
        "adapter_factory": _adapter_factory(),
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
    clock = clock or Clock()
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


class GeocodeCache:
    """Geocoder answers kept in SQLite, keyed by (provider, domain, normalised query).

    Each row holds the JSON list of the answer's places (an empty list for "no result") and the time
    it was stored. ``path=None`` keeps the cache in memory. Safe to share between threads.
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

    def __init__(self, path: Path | str | None, *, clock: Clock | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._clock = clock or Clock()
        self._lock = threading.Lock()
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path) if self.path is not None else ":memory:",
                timeout=10,
                check_same_thread=False,
            )
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            with self._db:
                self._db.execute(self._SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise GeocoderError(f"cannot open the geocoder cache {self.path}: {error}") from error

    def get(self, *, provider: str, domain: str, query: str) -> list[Place] | None:
        """The cached places for ``query`` (``[]`` for a cached "no result"), or ``None`` if absent."""
        with self._lock:
            row = self._db.execute(
                "SELECT places FROM answers WHERE provider = ? AND domain = ? AND query = ?",
                (provider, domain, normalise_query(query)),
            ).fetchone()
        if row is None:
            return None
        try:
            return [Place(**item) for item in json.loads(row[0])]
        except (ValueError, TypeError) as error:
            log.debug("unreadable geocoder cache entry for %r, ignored: %s", query, error)
            return None

    def put(self, *, provider: str, domain: str, query: str, places: list[Place]) -> None:
        """Store an answer (an empty list records "no result"), replacing any older one."""
        payload = json.dumps([dataclasses.asdict(p) for p in places], ensure_ascii=False)
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO answers (provider, domain, query, places, stored_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (provider, domain, normalise_query(query), payload, self._clock.now()),
            )

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
    ``config.cache_path``; ``disabled`` becomes true after a failure of connectivity.
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
        self.geocode = geocode or make_geocoder(config, clock=self.clock)
        self.cache = cache or GeocodeCache(config.cache_path, clock=self.clock)
        self.disabled = False
        self.failures = 0
        self._warned = False

    def candidates(self, name: str) -> list[Place]:
        """Places the geocoder proposes for ``name``, from the cache when it has them."""
        query = _SPACES.sub(" ", name).strip()
        if not query:
            return []
        provider, domain = self.config.provider, self.config.resolved_domain
        cached = self.cache.get(provider=provider, domain=domain, query=query)
        if cached is not None:
            return cached
        if self.disabled:
            return []
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

    def _failed(self, query: str, error: BaseException) -> None:
        self.failures += 1
        switch_off = isinstance(error, _SWITCH_OFF)
        if switch_off:
            self.disabled = True
        what = f"{type(error).__name__}: {error}".strip()
        consequence = "switched off for the rest of the run" if switch_off else "no candidates for it"
        if self._warned:
            log.debug("geocoder %s failed on %r (%s); %s", self.config.provider, query, what, consequence)
            return
        self._warned = True
        log.warning(
            "geocoder %s (%s) failed on %r: %s; %s (further failures are logged at debug level)",
            self.config.provider,
            self.config.resolved_domain,
            query,
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
        raise ValueError(f"{provider} answer is not an object: {raw!r:.80}")
    lat, lon = _coordinates(location)
    if provider == "nominatim":
        return _nominatim_place(raw, location, lat, lon)
    if provider == "photon":
        return _photon_place(raw, location, lat, lon)
    return _geonames_place(raw, location, lat, lon)


def _coordinates(location: Location) -> tuple[float, float]:
    lat, lon = float(location.latitude), float(location.longitude)
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"coordinates out of range: ({lat}, {lon})")
    return lat, lon


def _country(code: Any) -> str | None:
    if isinstance(code, str) and _ALPHA2.fullmatch(code.strip()):
        return code.strip().upper()
    return None


def _first_part(address: str | None) -> str:
    return (address or "").split(",")[0].strip()


def _osm_id(provider: str, osm_type: Any, osm_id: Any) -> str:
    letter = _OSM_TYPES.get(str(osm_type).lower())
    if letter is None or osm_id in (None, ""):
        raise ValueError(f"{provider} answer without an OSM type and id: {osm_type!r} {osm_id!r}")
    return f"{provider}:{letter}{int(osm_id)}"


def _nominatim_place(raw: Mapping[str, Any], location: Location, lat: float, lon: float) -> Place:
    address = raw.get("address") or {}
    if "osm_id" in raw:
        place_id = _osm_id("nominatim", raw.get("osm_type"), raw.get("osm_id"))
    elif raw.get("place_id") is not None:
        place_id = f"nominatim:place{int(raw['place_id'])}"
    else:
        raise ValueError("Nominatim answer without osm_id or place_id")
    kind = (
        _OSM_KINDS.get(str(raw.get("addresstype", ""))) or _OSM_KINDS.get(str(raw.get("type", ""))) or "other"
    )
    return Place(
        id=place_id,
        name=raw.get("name") or _first_part(raw.get("display_name")) or _first_part(location.address),
        kind=kind,
        country=_country(address.get("country_code")),
        lat=lat,
        lon=lon,
        admin1=address.get("state") or address.get("province") or address.get("region"),
    )


def _photon_place(raw: Mapping[str, Any], location: Location, lat: float, lon: float) -> Place:
    props = raw.get("properties")
    if not isinstance(props, Mapping):
        raise ValueError("Photon feature without properties")
    value = str(props.get("osm_value", ""))
    kind = (
        (_OSM_KINDS.get(value) if value != "administrative" else None)
        or _PHOTON_TYPES.get(str(props.get("type", "")))
        or "other"
    )
    return Place(
        id=_osm_id("photon", props.get("osm_type"), props.get("osm_id")),
        name=props.get("name") or _first_part(location.address),
        kind=kind,
        country=_country(props.get("countrycode")),
        lat=lat,
        lon=lon,
        admin1=props.get("state"),
    )


def _geonames_place(raw: Mapping[str, Any], location: Location, lat: float, lon: float) -> Place:
    geoname_id = int(raw["geonameId"])
    population = int(raw.get("population") or 0)
    code = str(raw.get("fcode", ""))
    kind = _GEONAMES_CODES.get(code)
    if kind is None and raw.get("fcl") == "P":
        kind = "city" if population >= 50_000 else "town" if population >= 5_000 else "village"
    return Place(
        id=f"geonames:{geoname_id}",
        name=raw.get("name") or raw.get("toponymName") or _first_part(location.address),
        kind=kind or "other",
        country=_country(raw.get("countryCode")),
        lat=lat,
        lon=lon,
        admin1=raw.get("adminName1") or None,
        geonames_id=geoname_id,
        population=population,
    )
