"""geomap's user cache folder, and the files it keeps there to start faster.

What can be computed once is kept here and read back at the next start: the world index, the
gazetteer's built indexes, the gazetteer names' tokens, the language detector's decompressed
model, border lines, the compiled programs of the tokenizers' regular expressions. Each kept file
is named by what it depends on, written whole and then moved into place (a run killed while
writing leaves no half file), and the older versions beside it are removed. Nothing here is
needed: a file that cannot be written or read is computed again.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import platformdirs

CACHE_ENV = "GEOMAP_CACHE_DIR"  # a folder that replaces the user cache folder (tests, shared machines)


def cache_dir() -> Path:
    """geomap's cache folder: ``$GEOMAP_CACHE_DIR`` when set, else the platform's user cache folder."""
    return Path(os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("geomap"))


def keep(path: Path, write: Callable[[BinaryIO], object], *, older: str) -> bool:
    """Write ``path`` through ``write`` (given the open temporary file), then move it into place and
    remove the other files of its folder that match the glob ``older``; False when it cannot be
    written (the caller goes on without it)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=".kept-", suffix=".tmp", delete=False
        ) as out:
            try:
                write(out)
            except BaseException:
                out.close()
                Path(out.name).unlink(missing_ok=True)
                raise
        os.replace(out.name, path)
        for old in path.parent.glob(older):
            if old != path:
                with contextlib.suppress(OSError):
                    old.unlink()
    except OSError:
        return False
    return True
