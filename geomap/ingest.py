"""Read articles: plain text, Markdown/text with YAML front matter, and JSON Lines.

A bad input never stops the others: it becomes an :class:`~geomap.errors.InputError` handed to the
caller's ``errors`` list, naming the file (and line) and the problem.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from geomap.errors import InputError
from geomap.models import Article

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES

# One character for one character, so offsets into the normalised text are offsets into the source.
_NLP_TRANSLATION = str.maketrans(
    {
        "\u2019": "'",  # right single quotation mark, the usual French apostrophe
        "\u2018": "'",
        "\u02bc": "'",  # modifier letter apostrophe
        "\u00b4": "'",
        "\u2032": "'",
        "`": "'",
        "\u00a0": " ",  # no-break space
        "\u202f": " ",  # narrow no-break space (before « » : ; in French typography)
        "\u2009": " ",
        "\u2007": " ",
        "\u200a": " ",
        "\u2002": " ",
        "\u2003": " ",
        "\ufeff": " ",
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
    }
)

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def normalise_for_nlp(text: str) -> str:
    """Typographic apostrophes, spaces and hyphens made plain, keeping every offset unchanged."""
    return text.translate(_NLP_TRANSLATION)


def decode(data: bytes, path: str) -> str:
    """Decode UTF-8 (a BOM is tolerated) or UTF-16 with a BOM; refuse binary data."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(path, f"invalid UTF-16 text ({exc.reason})") from exc
        if "\x00" in text:  # UTF-32 starts with the same bytes as UTF-16 LE
            raise InputError(path, "binary data (NUL characters), not text")
        return text
    if b"\x00" in data:
        raise InputError(path, "binary data (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.start}: {exc.reason})") from exc


def parse_date(value: Any) -> dt.date | None:
    """A date from front matter or JSON: a date, a datetime, or an ISO 8601 string."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def read_text_file(path: Path) -> Article:
    """A .txt or .md file, with an optional YAML front matter (title, date, url, source)."""
    text = decode(path.read_bytes(), str(path))
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise InputError(str(path), f"malformed front matter ({exc.__class__.__name__})") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise InputError(str(path), "front matter is not a mapping of keys to values")
        meta = loaded or {}
        # Blank out the front matter instead of cutting it, so offsets stay those of the file.
        text = re.sub(r"[^\n]", " ", text[: match.end()]) + text[match.end() :]
    if not text.strip():
        raise InputError(str(path), "empty article (no text)")
    return Article(
        id=str(meta.get("id") or path.stem),
        text=text,
        title=_text_or_none(meta.get("title")),
        date=parse_date(meta.get("date")),
        url=_text_or_none(meta.get("url")),
        source=_text_or_none(meta.get("source")),
        path=str(path),
    )


def read_jsonl_file(path: Path, errors: list[InputError]) -> Iterator[Article]:
    """One article per line: ``{"id", "text", "title", "date", "url", "source"}``."""
    text = decode(path.read_bytes(), str(path))
    # Only "\n" ends a record: str.splitlines() would also cut at U+2028 inside a JSON string.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(InputError(str(path), f"invalid JSON ({exc.msg})", line=number))
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            errors.append(InputError(str(path), 'no "text" string in this record', line=number))
            continue
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            errors.append(
                InputError(str(path), f"invalid text ({exc.reason}: an unpaired surrogate)", line=number)
            )
            continue
        if not record["text"].strip():
            errors.append(InputError(str(path), "empty article (no text)", line=number))
            continue
        yield Article(
            id=str(record.get("id") or f"{path.stem}-{number}"),
            text=record["text"],
            title=_text_or_none(record.get("title")),
            date=parse_date(record.get("date")),
            url=_text_or_none(record.get("url")),
            source=_text_or_none(record.get("source")),
            path=str(path),
        )


def expand_inputs(inputs: Iterable[str | Path], errors: list[InputError]) -> list[Path]:
    """Files named, and every supported file below each directory named, in a stable order."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES)
            if not found:
                errors.append(InputError(str(path), "directory holds no .txt, .md or .jsonl file"))
            files.extend(p for p in found if p.is_file())
        elif path.is_file():
            files.append(path)
        elif path.is_symlink():
            errors.append(InputError(str(path), "broken symbolic link"))
        else:
            errors.append(InputError(str(path), "no such file or directory"))
    return files


def iter_articles(inputs: Iterable[str | Path], errors: list[InputError] | None = None) -> Iterator[Article]:
    """Every article of the inputs; what cannot be read is appended to ``errors`` and skipped."""
    errors = [] if errors is None else errors
    for path in expand_inputs(inputs, errors):
        try:
            if path.suffix.lower() in JSONL_SUFFIXES:
                yield from read_jsonl_file(path, errors)
            else:
                yield read_text_file(path)
        except InputError as exc:
            errors.append(exc)
        except OSError as exc:
            errors.append(InputError(str(path), f"cannot read ({exc.strerror or exc})"))
