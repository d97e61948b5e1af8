"""The user's places: GeoNames country dumps and CSV files an analyst imports into the world tier.

cities500 stops at 500 people; the villages, hamlets, rivers and passes a theatre's reporting names
are in GeoNames' country dumps (``XX.zip`` holding ``XX.txt``, the tab-separated format
geonames.org publishes) or in an analyst's own list. ``geomap gazetteer import`` streams such a
file into an SQLite index of the user cache folder, beside the cities500 index, and the world tier
looks names up in both. Each import is one transaction keyed by the file's path: importing the same
file again replaces its rows, and a failed import leaves the index as it was.

The index holds what the user brought, so it is never rebuilt behind their back: a damaged one is
named in an error, to be removed and imported again.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import re
import sqlite3
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from geomap import sqlite_files
from geomap.cache import CACHE_ENV, cache_dir  # noqa: F401 - where geomap's user cache is, re-exported
from geomap.errors import GeomapError, InputError
from geomap.gazetteer import name_key, skeleton

INDEX_NAME = "user-places.sqlite"
SCHEMA_VERSION = 1
BATCH = 5_000  # records written at a time: memory stays flat however large the dump
MAX_PROBLEMS = 20  # bad lines named in a report; the rest are only counted
GEONAMES_COLUMNS = 19

# GeoNames feature codes kept, by class, with the geomap kind they become (None: by population).
# Populated places of every kind, waters, relief, areas and spots that conflict reporting names.
# Roads (class R) and vegetation (V) are left out: they name no place an incident is located at.
FEATURE_KINDS: dict[str, dict[str, str | None]] = {
    "P": {"PPLX": "neighbourhood", "": None},  # "" : every other P code, kind by population
    "A": {"ADM1": "province", "ADM2": "district"},
    "H": {
        "STM": "river", "STMI": "river", "STMX": "river", "WAD": "river", "WADX": "river",
        "CNL": "canal",
        "LK": "lake", "LKI": "lake", "LKN": "lake", "LKO": "lake", "LKS": "lake", "LKSI": "lake",
        "LKSN": "lake", "LKX": "lake", "LKC": "lake",
        "RSV": "reservoir", "RSVI": "reservoir", "RSVT": "reservoir",
        "SEA": "sea", "OCN": "sea", "GULF": "sea", "BAY": "sea", "BAYS": "sea", "STRT": "sea",
        "SD": "sea", "CHN": "sea", "CHNM": "sea", "LGN": "sea", "FJD": "sea",
    },
    "T": {
        "MT": "mountain", "MTS": "mountain", "PK": "mountain", "PKS": "mountain", "VLC": "mountain",
        "RDGE": "mountain", "HLL": "height", "HLLS": "height", "PASS": "pass", "GAP": "pass",
        "VAL": "valley", "VALS": "valley", "PLAT": "plateau", "PLN": "plain", "DSRT": "desert",
        "PEN": "peninsula", "ISL": "island", "ISLS": "island", "CAPE": "cape",
    },
    "L": {
        "RGN": "region", "RGNL": "region", "AREA": "region", "LCTY": "locality", "MILB": "military_base",
        "NVB": "military_base", "ZNB": "border_area", "PRT": "port", "OAS": "oasis",
    },
    "S": {
        "BDG": "bridge", "DAM": "dam", "AIRP": "airport", "AIRB": "airport", "AIRF": "airport",
        "PSTB": "border_post", "CSTM": "border_post", "MSTY": "monastery", "FT": "fort",
    },
}  # fmt: skip

# Kinds a user CSV may give (those of the curated gazetteer and of the imports above).
KINDS = frozenset(
    {
        "city", "town", "village", "neighbourhood", "locality", "district", "province", "region",
        "country", "border_area", "border_post", "corridor", "airport", "bridge", "dam", "fort", "port",
        "military_base", "monastery", "river", "canal", "lake", "reservoir", "sea", "mountain",
        "height", "pass", "valley", "plateau", "plain", "desert", "peninsula", "island", "cape", "oasis",
    }
)  # fmt: skip
CSV_COLUMNS = ("name", "lat", "lon", "country", "kind")
CSV_OPTIONAL = ("alternatenames", "population")


class UserPlacesError(GeomapError, OSError):
    """The user places index cannot be read or written; the message names the file."""


def settlement_kind(population: int) -> str:
    """A settlement's kind from its population: city (50,000+), town (5,000+) or village."""
    if population >= 50_000:
        return "city"
    if population >= 5_000:
        return "town"
    return "village"


def _latin(name: str) -> bool:
    if name.isascii():  # most names of a dump: no need to look up each letter
        return True
    return all(unicodedata.name(c, "").startswith("LATIN") for c in name if c.isalpha())


def lookup_keys(names: Iterable[str]) -> set[str]:
    """The lookup keys of a place's names: Latin-script names only, and neither lowercase
    transliterations nor airport codes, which GeoNames lists among alternate names."""
    keys = set()
    for name in names:
        if len(name) < 3 or "  " in name or not _latin(name):
            continue
        if not any(c.isupper() for c in name) or (name.isupper() and len(name) <= 4):
            continue
        key = name_key(name)
        if len(key) >= 3:
            keys.add(key)
    return keys


def default_path() -> Path:
    """Where the user places index lives."""
    return cache_dir() / INDEX_NAME


@dataclass(frozen=True, slots=True)
class Record:
    """One place read from an imported file, ready to be written."""

    geonames_id: int | None
    name: str
    kind: str
    lat: float
    lon: float
    country: str | None
    admin1: str | None
    population: int
    keys: frozenset[str]

    @property
    def place_id(self) -> str:
        """``gn-ID`` for a GeoNames place (so that cities500 and the dump agree), else an id made of
        the name and position, the same however often the file is imported."""
        if self.geonames_id is not None:
            return f"gn-{self.geonames_id}"
        digest = hashlib.sha1(f"{self.name}|{self.lat:.5f}|{self.lon:.5f}".encode()).hexdigest()[:10]
        slug = re.sub(r"[^a-z0-9]+", "-", name_key(self.name)).strip("-")[:40] or "place"
        return f"user-{slug}-{digest}"


@dataclass(frozen=True, slots=True)
class Import:
    """An imported file as the index records it."""

    id: int
    source: str  # the file's resolved path: importing it again replaces these rows
    format: str  # "geonames" or "csv"
    sha256: str
    places: int
    skipped: int
    imported_at: str

    @property
    def file_name(self) -> str:
        return Path(self.source).name


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What importing one file did."""

    source: str
    format: str
    places: int  # rows written
    skipped: int  # bad lines, not written
    ignored: int  # good lines of feature codes geomap does not keep (roads, wells, farms...)
    replaced: int  # rows of an earlier import of the same file, now gone
    problems: tuple[str, ...]  # the first MAX_PROBLEMS bad lines, as "FILE:LINE: problem"


@dataclass(slots=True)
class _Tally:
    skipped: int = 0
    ignored: int = 0
    problems: list[str] = field(default_factory=list)

    def bad(self, where: str, line: int, problem: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{where}:{line}: {problem}")


# --- reading files ---------------------------------------------------------------------------------


def file_format(path: Path) -> str:
    """``geonames`` for a GeoNames dump (``.zip``, ``.txt``, ``.tsv``), ``csv`` for a user CSV."""
    suffix = path.suffix.lower()
    if suffix in (".zip", ".txt", ".tsv"):
        return "geonames"
    if suffix == ".csv":
        return "csv"
    raise InputError(str(path), "not a GeoNames dump (.zip, .txt) nor a CSV file (.csv)")


@contextlib.contextmanager
def _text(path: Path) -> Iterator[tuple[str, io.TextIOBase]]:
    """The file's text, streamed (for a zip, its GeoNames member), with the name to report lines by."""
    if path.suffix.lower() != ".zip":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            yield path.name, fh
        return
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(str(path), f"not a zip archive ({exc})") from exc
    with archive:
        members = [n for n in archive.namelist() if n.lower().endswith(".txt") and "readme" not in n.lower()]
        preferred = [n for n in members if Path(n).stem.lower() == path.stem.lower()]
        if len(preferred or members) != 1:
            raise InputError(str(path), f"expected one GeoNames .txt file inside, found {members or 'none'}")
        member = (preferred or members)[0]
        with archive.open(member) as raw:
            yield f"{path.name}/{member}", io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _coordinates(lat_text: str, lon_text: str) -> tuple[float, float]:
    lat, lon = float(lat_text), float(lon_text)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also false for NaN
        raise ValueError(f"coordinates out of range ({lat_text}, {lon_text})")
    return lat, lon


def geonames_kind(feature_class: str, feature_code: str, population: int) -> str | None:
    """The geomap kind of a GeoNames feature, or None for one geomap does not keep."""
    codes = FEATURE_KINDS.get(feature_class)
    if codes is None:
        return None
    if feature_code in codes:
        return codes[feature_code] or settlement_kind(population)
    if "" in codes:
        return settlement_kind(population)
    return None


def read_geonames(lines: Iterable[str], where: str, tally: _Tally) -> Iterator[Record]:
    """The kept places of a GeoNames dump (19 tab-separated columns a line); bad lines are tallied."""
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != GEONAMES_COLUMNS:
            tally.bad(where, number, f"{GEONAMES_COLUMNS} tab-separated columns expected, found {len(cols)}")
            continue
        gid, name, ascii_name, alternates, lat_text, lon_text, fclass, fcode, country = cols[:9]
        try:
            geonames_id = int(gid)
            lat, lon = _coordinates(lat_text, lon_text)
            population = int(cols[14] or 0)
        except ValueError as exc:
            tally.bad(where, number, str(exc))
            continue
        if not name.strip():
            tally.bad(where, number, "no name")
            continue
        kind = geonames_kind(fclass, fcode, population)
        if kind is None:
            tally.ignored += 1
            continue
        names = [name, ascii_name, *(a for a in alternates.split(",") if a)]
        yield Record(
            geonames_id, name.strip(), kind, lat, lon, country or None, cols[10] or None, max(population, 0),
            frozenset(lookup_keys(names)),
        )  # fmt: skip


def read_csv(lines: Iterable[str], where: str, tally: _Tally) -> Iterator[Record]:
    """The places of a user CSV (``name,lat,lon,country,kind[,alternatenames,population]``, with a
    header; alternate names separated by ``|``); bad lines are tallied."""
    reader = csv.reader(lines)
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise InputError(where, f"the header lacks {', '.join(missing)} (expected {','.join(CSV_COLUMNS)})")
    column = {name: header.index(name) for name in (*CSV_COLUMNS, *CSV_OPTIONAL) if name in header}
    for cells in reader:
        number = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            tally.bad(where, number, f"{len(header)} columns expected, found {len(cells)}")
            continue
        row = {name: cells[i].strip() for name, i in column.items()}
        try:
            record = _csv_record(row)
        except ValueError as exc:
            tally.bad(where, number, str(exc))
            continue
        yield record


def _csv_record(row: dict[str, str]) -> Record:
    name = row["name"]
    if not name:
        raise ValueError("no name")
    lat, lon = _coordinates(row["lat"], row["lon"])
    population = int(row.get("population") or 0)
    if population < 0:
        raise ValueError(f"negative population {population}")
    kind = row["kind"].lower() or settlement_kind(population)
    if kind not in KINDS:
        raise ValueError(f"unknown kind {row['kind']!r} (one of: {', '.join(sorted(KINDS))})")
    country = row["country"].upper()
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        raise ValueError(f"country {row['country']!r} is not an ISO 3166 two-letter code")
    alternates = [a.strip() for a in row.get("alternatenames", "").split("|") if a.strip()]
    # the user's own names are all keys, whatever their case: they chose them
    keys = {name_key(n) for n in (name, *alternates) if len(name_key(n)) >= 3}
    return Record(None, name, kind, lat, lon, country or None, None, population, frozenset(keys))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- the index ---------------------------------------------------------------------------------------

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE IF NOT EXISTS imports (id INTEGER PRIMARY KEY, source TEXT UNIQUE, format TEXT,"
    " sha256 TEXT, places INTEGER, skipped INTEGER, imported_at TEXT)",
    "CREATE TABLE IF NOT EXISTS places (pid INTEGER PRIMARY KEY, import INTEGER, place_id TEXT,"
    " geonames_id INTEGER, name TEXT, kind TEXT, lat REAL, lon REAL, country TEXT, admin1 TEXT,"
    " population INTEGER)",
    "CREATE TABLE IF NOT EXISTS names (key TEXT, pid INTEGER)",
    "CREATE TABLE IF NOT EXISTS skeletons (skeleton TEXT, pid INTEGER)",
    "CREATE INDEX IF NOT EXISTS places_import ON places (import)",
    "CREATE INDEX IF NOT EXISTS names_key ON names (key)",
    "CREATE INDEX IF NOT EXISTS names_pid ON names (pid)",
    "CREATE INDEX IF NOT EXISTS skeletons_key ON skeletons (skeleton)",
    "CREATE INDEX IF NOT EXISTS skeletons_pid ON skeletons (pid)",
)


def _open_for_writing(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path, timeout=60, isolation_level=None)
        for statement in _SCHEMA:
            con.execute(statement)
        found = con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if found is None:
            con.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif found[0] != str(SCHEMA_VERSION):
            con.close()
            raise UserPlacesError(f"{path}: written by another version of geomap (schema {found[0]})")
        return con
    except sqlite3.Error as exc:
        raise UserPlacesError(f"{path}: cannot open the user places index ({exc}){advice(exc)}") from exc


def advice(exc: sqlite3.Error) -> str:
    """What to do about a failure of the index: for a damaged file, remove it and import again."""
    return "; remove it and import your files again" if sqlite_files.damaged(exc) else ""


def _delete_import(con: sqlite3.Connection, import_id: int) -> int:
    pids = "SELECT pid FROM places WHERE import = ?"
    con.execute(f"DELETE FROM names WHERE pid IN ({pids})", (import_id,))
    con.execute(f"DELETE FROM skeletons WHERE pid IN ({pids})", (import_id,))
    removed = con.execute("DELETE FROM places WHERE import = ?", (import_id,)).rowcount
    con.execute("DELETE FROM imports WHERE id = ?", (import_id,))
    return removed


def _write(con: sqlite3.Connection, import_id: int, records: Iterable[Record]) -> int:
    """Write ``records`` in batches; the number written."""
    next_pid = con.execute("SELECT COALESCE(MAX(pid), 0) + 1 FROM places").fetchone()[0]
    written = 0
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH:
            next_pid = _write_batch(con, import_id, batch, next_pid)
            written += len(batch)
            batch.clear()
    if batch:
        _write_batch(con, import_id, batch, next_pid)
        written += len(batch)
    return written


def _write_batch(con: sqlite3.Connection, import_id: int, batch: list[Record], first_pid: int) -> int:
    pids = range(first_pid, first_pid + len(batch))
    con.executemany(
        "INSERT INTO places VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (pid, import_id, r.place_id, r.geonames_id, r.name, r.kind, r.lat, r.lon, r.country, r.admin1,
             r.population)
            for pid, r in zip(pids, batch, strict=True)
        ),
    )  # fmt: skip
    con.executemany(
        "INSERT INTO names VALUES (?, ?)",
        ((k, pid) for pid, r in zip(pids, batch, strict=True) for k in r.keys),
    )
    con.executemany(
        "INSERT INTO skeletons VALUES (?, ?)",
        ((s, pid) for pid, r in zip(pids, batch, strict=True) for s in {skeleton(k) for k in r.keys}),
    )
    return first_pid + len(batch)


def import_file(path: Path, *, index: Path | None = None) -> ImportReport:
    """Import one GeoNames dump or user CSV into the index (default: the user cache folder's),
    replacing an earlier import of the same file. Bad lines are skipped and reported; a file that
    cannot be read at all raises :class:`~geomap.errors.InputError` and changes nothing."""
    path = Path(path)
    index = index or default_path()
    fmt = file_format(path)
    source = str(path.resolve())
    try:
        sha256 = file_sha256(path)
    except OSError as exc:
        raise InputError(str(path), f"cannot read it ({exc.strerror or exc})") from exc
    tally = _Tally()
    con = _open_for_writing(index)
    try:
        con.execute("BEGIN IMMEDIATE")
        previous = con.execute("SELECT id FROM imports WHERE source = ?", (source,)).fetchone()
        replaced = _delete_import(con, previous[0]) if previous else 0
        import_id = con.execute(  # a file imported again keeps its number
            "INSERT INTO imports (id, source, format, sha256, places, skipped, imported_at)"
            " VALUES (?, ?, ?, ?, 0, 0, ?)",
            (
                previous[0] if previous else None,
                source,
                fmt,
                sha256,
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            ),
        ).lastrowid
        with _text(path) as (where, lines):
            reader = read_geonames if fmt == "geonames" else read_csv
            written = _write(con, import_id, reader(lines, where, tally))
        con.execute(
            "UPDATE imports SET places = ?, skipped = ? WHERE id = ?", (written, tally.skipped, import_id)
        )
        con.execute("COMMIT")
    except UnicodeDecodeError as exc:
        con.execute("ROLLBACK")
        raise InputError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        con.execute("ROLLBACK")
        raise InputError(str(path), f"cannot read it ({exc})") from exc
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        raise UserPlacesError(f"{index}: cannot write the user places index ({exc}){advice(exc)}") from exc
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    return ImportReport(source, fmt, written, tally.skipped, tally.ignored, replaced, tuple(tally.problems))


def _read(index: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:
    if not index.exists():
        return []
    try:
        con = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise UserPlacesError(f"{index}: cannot read the user places index ({exc}){advice(exc)}") from exc


def imports(*, index: Path | None = None) -> list[Import]:
    """The files imported into the index, in the order they were first imported."""
    rows = _read(
        index or default_path(),
        "SELECT id, source, format, sha256, places, skipped, imported_at FROM imports ORDER BY id",
    )
    return [Import(*row) for row in rows]


def find_import(name: str, *, index: Path | None = None) -> Import | None:
    """The import of the file ``name``: its path, its file name when only one import has it, or
    its import id."""
    known = imports(index=index)
    resolved = str(Path(name).resolve())
    by_path = [i for i in known if i.source == resolved]
    by_name = [i for i in known if i.file_name == Path(name).name]
    by_id = [i for i in known if name.isdigit() and i.id == int(name)]
    for found in (by_path, by_name if len(by_name) == 1 else [], by_id):
        if found:
            return found[0]
    return None


def remove_import(name: str, *, index: Path | None = None) -> Import | None:
    """Remove the rows of the import ``name`` (see :func:`find_import`); the import removed, or None."""
    index = index or default_path()
    found = find_import(name, index=index)
    if found is None:
        return None
    con = _open_for_writing(index)
    try:
        con.execute("BEGIN IMMEDIATE")
        _delete_import(con, found.id)
        con.execute("COMMIT")
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        raise UserPlacesError(f"{index}: cannot write the user places index ({exc}){advice(exc)}") from exc
    finally:
        con.close()
    return found


def digest(*, index: Path | None = None) -> str:
    """A digest of what the index holds (each import's file, content and counts): it changes when an
    import is added, replaced or removed, so that results stored under another set of imports are
    not reused. The same for an absent index and an empty one."""
    h = hashlib.sha256(f"user-places-schema={SCHEMA_VERSION}".encode())
    for item in imports(index=index):
        h.update(f"\n{item.source}|{item.format}|{item.sha256}|{item.places}".encode())
    return h.hexdigest()


# --- lookups -------------------------------------------------------------------------------------------

_COLUMNS = "p.place_id, p.geonames_id, p.name, p.kind, p.lat, p.lon, p.country, p.admin1, p.population"
BY_KEY = (
    f"SELECT {_COLUMNS} FROM names n JOIN places p ON p.pid = n.pid WHERE n.key = ?"
    " ORDER BY p.population DESC, p.pid LIMIT ?"
)
BY_SKELETON = (
    f"SELECT {_COLUMNS} FROM skeletons s JOIN places p ON p.pid = s.pid WHERE s.skeleton = ?"
    " ORDER BY p.population DESC, p.pid LIMIT ?"
)
