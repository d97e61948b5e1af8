"""Regular expressions compiled once per interpreter, and kept in the user cache.

Why: loading spaCy's French model imports ``spacy/lang/fr/tokenizer_exceptions``, which compiles one
pattern of about 1.4 million characters (every hyphenated and elided form the tokenizer keeps whole), and
the model's tokenizer compiles some 700 more. CPython parses and optimises a pattern in Python code
(``re._parser``, ``re._compiler``) and keeps the result for the life of the process only: about 3 s
of every geomap process that reads French, three quarters of the model's load.

What that work produces is a program for the regular-expression engine (``_sre``): a list of
integers, the flags and the group names. Inside :func:`kept_patterns`, the programs ``re`` builds
are kept in one file of the cache, and a pattern compiled again in a later process is handed to
``_sre`` with its kept program: the Pattern object is the one ``re.compile`` builds, and it matches
the same strings. The file is named by its user and holds the interpreter's version and the
engine's magic number, so another interpreter compiles as usual (and keeps its own programs). The
file starts with a digest of its programs, so a file cut short or altered is compiled as usual too,
and the engine checks every program it is given (a program it refuses is compiled as usual). Where
``re``'s private compiler is not what this module expects, nothing is changed.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import re
import sys
import threading
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from geomap.cache import cache_dir, keep

try:  # CPython 3.11 and later
    import _sre
    from re import _compiler
except ImportError:  # pragma: no cover - another interpreter: patterns are compiled as usual
    _sre = _compiler = None

log = logging.getLogger("geomap")

FOLDER = "patterns"  # the cache folder of the kept programs
CODE_TYPE = "I"  # array type of one engine code word (``_sre.CODESIZE`` bytes)
DIGEST_SIZE = 32  # the kept file starts with the SHA-256 digest of its programs
_lock = threading.RLock()  # one kept_patterns at a time: it swaps a function of ``re``


def supported() -> bool:
    """Whether this interpreter's ``re`` compiles through the private functions this module wraps."""
    return (
        _compiler is not None
        and callable(getattr(_compiler, "compile", None))
        and callable(getattr(_sre, "compile", None))
        and array(CODE_TYPE).itemsize == getattr(_sre, "CODESIZE", None)
    )


def interpreter() -> str:
    """What a kept program depends on besides its pattern: the interpreter and its engine."""
    return f"{sys.implementation.name} {sys.version} sre {_sre.MAGIC} {_sre.CODESIZE}"


def kept_file(name: str) -> Path:
    """The file of the programs kept under ``name`` (read at each call, so that
    ``$GEOMAP_CACHE_DIR`` set after import still moves it)."""
    return cache_dir() / FOLDER / f"{name}.marshal"


def _key(pattern: str, flags: int) -> str:
    return f"{hashlib.sha256(pattern.encode('utf-8', 'surrogatepass')).hexdigest()}:{flags}"


def _read(path: Path) -> dict[str, tuple]:
    """The programs kept in ``path`` for this interpreter; empty when missing, damaged or another's."""
    try:
        data = path.read_bytes()
        digest, payload = data[:DIGEST_SIZE], data[DIGEST_SIZE:]
        if hashlib.sha256(payload).digest() != digest:  # cut short or altered: a program could differ
            return {}
        kept = marshal.loads(payload)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(kept, dict) or kept.get("interpreter") != interpreter():
        return {}
    programs = kept.get("programs")
    return programs if isinstance(programs, dict) else {}


def dumps(programs: dict[str, tuple]) -> bytes:
    """The kept file's bytes: a SHA-256 digest of the rest, then the programs (marshal)."""
    payload = marshal.dumps({"interpreter": interpreter(), "programs": programs})
    return hashlib.sha256(payload).digest() + payload


@contextmanager
def kept_patterns(name: str) -> Iterator[None]:
    """Inside this block, a string pattern ``re`` compiles is built from the program kept under
    ``name`` when there is one, and the programs of the others are kept on leaving it.

    The file is rewritten only when the block compiled a pattern it did not hold, and it then holds
    exactly the block's patterns (those of an older spaCy drop out). Nothing here is needed: a file
    that cannot be read or written only means compiling as usual.
    """
    if not supported():
        yield
        return
    with _lock:
        path = kept_file(name)
        kept = _read(path)
        used: dict[str, tuple] = {}
        original = _compiler.compile

        def compile(p: Any, flags: int = 0) -> re.Pattern:
            if not isinstance(p, str) or flags & re.DEBUG:
                return original(p, flags)
            key = _key(p, flags)
            program = kept.get(key)
            if program is not None:
                try:
                    final, code, groups, groupindex, indexgroup = program
                    compiled = _sre.compile(
                        p, final, array(CODE_TYPE, code).tolist(), groups, groupindex, indexgroup
                    )
                except (TypeError, ValueError, RuntimeError):  # damaged: the engine refused it
                    kept.pop(key)
                else:
                    used[key] = program
                    return compiled
            calls = _Recorder()
            _compiler._sre = calls
            try:
                compiled = original(p, flags)
            finally:
                _compiler._sre = _sre
            if len(calls.arguments) == 1:
                _, final, code, groups, groupindex, indexgroup = calls.arguments[0]
                used[key] = (
                    final,
                    array(CODE_TYPE, code).tobytes(),
                    groups,
                    dict(groupindex),
                    tuple(indexgroup),
                )
            return compiled

        _compiler.compile = compile
        try:
            yield
        finally:
            _compiler.compile = original
        if used.keys() != kept.keys():
            document = dumps(used)
            if not keep(path, lambda out: out.write(document), older=path.name):
                log.debug("compiled patterns cannot be kept in %s", path)


class _Recorder:
    """Stands in for the ``_sre`` module inside ``re._compiler`` while one pattern compiles, to keep
    the arguments of its call to ``_sre.compile`` (the program ``re`` built)."""

    def __init__(self) -> None:
        self.arguments: list[tuple] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(_sre, name)

    def compile(self, *arguments: Any) -> re.Pattern:
        self.arguments.append(arguments)
        return _sre.compile(*arguments)
