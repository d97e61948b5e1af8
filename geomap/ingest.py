"""Read articles: plain text, Markdown/text with YAML front matter, and JSON Lines.

A bad input never stops the others: it becomes an :class:`~geomap.errors.InputError` handed to the
caller's ``errors`` list, naming the file (and line) and the problem.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from geomap.errors import InputError
from geomap.models import Article

log = logging.getLogger("geomap")
# Longer articles are refused by name: the statistical model reads at most this many characters.
MAX_CHARS = 1_000_000
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


_MOJIBAKE = re.compile(
    "[ÃÂâ][\u0080-\u00bf\u2018-\u203a\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u02c6\u02dc]"
)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode(data: bytes, path: str) -> tuple[str, str]:
    """The text of a file and the encoding it was read with.

    UTF-8 (BOM tolerated), UTF-16 and UTF-32 (with a BOM, or UTF-16 without one when its NUL bytes
    say so), Windows-1252 (or Latin-1) when the bytes are not UTF-8, line by line when a file mixes
    both, and UTF-8 text that was once misread as Windows-1252 ("Ã©" for "é") is repaired. Binary
    data is refused.
    """
    for bom, codec in ((b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe\x00\x00", "utf-32"),
                       (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):  # fmt: skip
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise InputError(path, f"invalid {codec.upper()} text ({exc.reason})") from exc
            return _checked(text, path), codec
    if b"\x00" in data:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise InputError(path, "binary data (NUL bytes), not text")
        return _checked(utf16[0], path), utf16[1]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _legacy(data, path)
    repaired = _repair_mojibake(text)
    if repaired is not None:
        return _checked(repaired, path), "utf-8 (mojibake repaired)"
    return _checked(text, path), "utf-8"


def _checked(text: str, path: str) -> str:
    if "\x00" in text:
        raise InputError(path, "binary data (NUL characters), not text")
    if len(_CONTROL.findall(text[:100_000])) > max(8, len(text[:100_000]) // 20):
        raise InputError(path, "binary data (control characters), not text")
    return text


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    even, odd = data[0::2].count(0), data[1::2].count(0)
    half = len(data) // 2
    for codec, zeros in (("utf-16-le", odd), ("utf-16-be", even)):
        if half and zeros > 0.4 * half:
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError:
                return None
    return None


def _legacy(data: bytes, path: str) -> tuple[str, str]:
    """Bytes that are not UTF-8: Windows-1252 (Latin-1 for its five undefined bytes), line by line
    so that a file mixing UTF-8 and Windows-1252 lines reads right."""
    kinds: set[str] = set()
    lines = []
    for line in data.splitlines(keepends=True):
        try:
            lines.append(line.decode("utf-8"))
            if not line.isascii():
                kinds.add("utf-8")
        except UnicodeDecodeError:
            try:
                lines.append(line.decode("cp1252"))
                kinds.add("windows-1252")
            except UnicodeDecodeError:
                lines.append(line.decode("latin-1"))
                kinds.add("latin-1")
    label = "mixed " + "/".join(sorted(kinds)) if len(kinds) > 1 else next(iter(kinds), "windows-1252")
    return _checked("".join(lines), path), label


def _repair_mojibake(text: str) -> str | None:
    """UTF-8 text that was decoded as Windows-1252 and saved again: undo it when that is certain."""
    if len(_MOJIBAKE.findall(text)) < 2:
        return None
    try:
        fixed = text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if len(_MOJIBAKE.findall(fixed)) < len(_MOJIBAKE.findall(text)) else None


def _report_encoding(path: Path, encoding: str) -> None:
    if encoding != "utf-8":
        log.warning("%s: read as %s", path, encoding)


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


class _FrontMatterLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases: a few bytes of "&a [*a, *a ...]" cannot grow into megabytes."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases are not allowed in front matter")
        return super().compose_node(parent, index)


def _printable(text: str) -> str:
    """A file name's text made safe to print and to write as UTF-8 (undecodable bytes replaced)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _article(meta: dict[str, Any], text: str, *, default_id: str, path: Path, encoding: str) -> Article:
    """An Article from its text and its metadata (front matter or JSON record)."""
    if len(text) > MAX_CHARS:
        raise InputError(
            str(path),
            f"article too long ({len(text):,} characters; the limit is "
            f"{MAX_CHARS:,}): split it into several articles",
        )
    return Article(
        id=_printable(str(meta.get("id") or default_id)),
        text=text,
        title=_text_or_none(meta.get("title")),
        date=parse_date(meta.get("date")),
        url=_text_or_none(meta.get("url")),
        source=_text_or_none(meta.get("source")),
        path=_printable(str(path)),
        encoding=encoding,
    )


def read_text_file(path: Path) -> Article:
    """A .txt or .md file, with an optional YAML front matter (title, date, url, source)."""
    text, encoding = decode(path.read_bytes(), str(path))
    _report_encoding(path, encoding)
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.load(match.group(1), Loader=_FrontMatterLoader)
        except yaml.YAMLError as exc:
            raise InputError(str(path), f"malformed front matter ({exc.__class__.__name__})") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise InputError(str(path), "front matter is not a mapping of keys to values")
        meta = loaded or {}
        # Blank out the front matter instead of cutting it, so offsets stay those of the file.
        text = re.sub(r"[^\n]", " ", text[: match.end()]) + text[match.end() :]
    if not text.strip():
        raise InputError(str(path), "empty article (no text)")
    return _article(meta, text, default_id=path.stem, path=path, encoding=encoding)


def read_jsonl_file(path: Path, errors: list[InputError]) -> Iterator[Article]:
    """One article per line: ``{"id", "text", "title", "date", "url", "source"}``."""
    text, encoding = decode(path.read_bytes(), str(path))
    _report_encoding(path, encoding)
    # Only "\n" ends a record: str.splitlines() would also cut at U+2028 inside a JSON string.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except RecursionError:
            errors.append(InputError(str(path), "JSON nested too deeply", line=number))
            continue
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
        try:
            yield _article(
                record, record["text"], default_id=f"{path.stem}-{number}", path=path, encoding=encoding
            )
        except InputError as exc:
            errors.append(InputError(exc.path, exc.problem, line=number))


def expand_inputs(inputs: Iterable[str | Path], errors: list[InputError]) -> list[Path]:
    """Files named, and every supported file below each directory named, in a stable order."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES)
            if not found:
                errors.append(InputError(str(path), "directory holds no .txt, .md or .jsonl file"))
            for p in found:
                if p.is_file():
                    files.append(p)
                elif p.is_symlink() and not p.exists():
                    errors.append(InputError(str(p), "broken symbolic link"))
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
