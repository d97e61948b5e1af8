"""What geomap's SQLite files (the store, the world index, the geocoder cache) share: telling a
damaged file from a busy or unwritable one, and moving a damaged one aside.

These files only hold what geomap can compute or fetch again, so a damaged one is never a reason to
stop: it is renamed (kept for whoever wants to look at it, and named in a warning) and rebuilt. A
busy one is another geomap process at work, and is never touched.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

JOURNALS = ("", "-wal", "-shm", "-journal")


def _code(exc: sqlite3.Error) -> int:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary result code


def damaged(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says the file is not a sound SQLite database, as opposed to one that is busy,
    full, read-only or unreachable (which says nothing about its content)."""
    if _code(exc) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return True
    return _code(exc) == 0 and type(exc) is sqlite3.DatabaseError


def busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says another connection holds the file."""
    return _code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc)


def check(db: sqlite3.Connection) -> None:
    """Raise ``sqlite3.DatabaseError`` when ``db`` fails SQLite's quick integrity check: a file
    damaged in the middle opens fine and fails only on some later query."""
    problems = [row[0] for row in db.execute("PRAGMA quick_check(1)")]
    if problems != ["ok"]:
        raise sqlite3.DatabaseError("integrity check: " + " ".join(str(problems[0]).split()))


def move_aside(path: Path) -> Path:
    """Rename ``path`` and its journal files to ``PATH.damaged-TIMESTAMP``; the new name."""
    path = Path(path)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    count = 1
    while aside.exists():  # damaged twice within a second: keep both
        count += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{count}")
    for suffix in JOURNALS:
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").replace(Path(f"{aside}{suffix}"))
    return aside
