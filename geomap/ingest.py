"""Read articles: plain text, Markdown/text with YAML front matter, and JSON Lines.

A bad input never stops the others: it becomes an :class:`~geomap.errors.InputError` handed to the
caller's ``errors`` list, naming the file (and line) and the problem. A bad metadata value (a date
that does not exist, a list for a title, a ``javascript:`` url) costs only that field: it is dropped
with a warning naming the file, line and field, and the article is kept. A file named twice (or
through a folder, a link or another spelling) is read once, and an article id already taken by an
earlier article is an error naming both places: ids stay unique, and so do the incidents made from
them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, ClassVar
from urllib.parse import urlsplit

import yaml

from geomap.dates import EARLIEST, LATEST, plausible
from geomap.errors import InputError
from geomap.language import detect as detect_language
from geomap.language import name as language_name
from geomap.language import normalise as normalise_language
from geomap.lexicon import languages as pack_languages
from geomap.models import Article
from geomap.web import FEED_SUFFIXES, HTML_SUFFIXES, WebReader, read_html_bytes, read_html_file, url_list
from geomap.web import scheme as web_scheme

log = logging.getLogger("geomap")
# Longer articles are refused by name: the statistical model reads at most this many characters.
MAX_CHARS = 1_000_000
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
# A folder's files that are read: .xml only when named, as it is too common a format to be a feed.
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES | HTML_SUFFIXES | {".rss", ".atom"}
# The languages geomap reads (those with a language pack); an article in another is named and
# skipped, never read as one of them.
READ_LANGUAGES = frozenset(pack_languages())
MAX_STDIN_BYTES = 200 * 2**20
MAX_URL_LIST_BYTES = 2 * 2**20  # a text file larger than this is an article, not a list of URLs
MAX_ID_CHARS = 256
# A header of a few fields, not a document: YAML is parsed in Python, at some 10 µs a character.
MAX_FRONT_MATTER_CHARS = 65_536
# Python refuses to turn an int of more than 4,300 digits into text: JSON numbers this long are read
# as Decimal, which has no such limit, so a 5,000-digit id is one bad field, not a crash.
_LONG_INT_DIGITS = 640
_ID_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_DATE = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)", re.ASCII)
_HTTP_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f-\x9f]+\Z", re.I)

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
    """A date from front matter or JSON (a date, a datetime, or an ISO 8601 string), None when there is
    none or it is not a plausible date (see :func:`geomap.dates.plausible`)."""
    try:
        return _date_field(value)
    except _BadField:
        return None


class _BadField(ValueError):
    """A metadata value that cannot be used: the field is dropped and the article kept."""


def _kind(value: Any) -> str:
    """What a value is, for a message that must not repeat the value itself."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple | set):
        return "a list"
    return f"a {type(value).__name__}"


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text_field(value: Any) -> str | None:
    """A title, source or id as text: a string, or a number written as its digits."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        try:
            text = str(value)
        except ValueError as exc:  # an int longer than Python's digit limit for str()
            raise _BadField("a number too long to write") from exc
    elif isinstance(value, float) and math.isfinite(value):
        text = repr(value)
    else:
        raise _BadField(f"{_kind(value)}, not text")
    if not _encodable(text):
        raise _BadField("invalid text (an unpaired surrogate)")
    return text


def _id_field(value: Any) -> str | None:
    """An id: short text without control characters (ids are printed and used as keys)."""
    text = _text_field(value)
    if text is None or not text.strip():
        return None
    if len(text) > MAX_ID_CHARS:
        raise _BadField(f"{len(text):,} characters, more than {MAX_ID_CHARS}")
    if _ID_CONTROL.search(text):
        raise _BadField("control characters")
    return text


def _date_field(value: Any) -> dt.date | None:
    """A date (``2023-09-19``, ``2023-9-19``, a timestamp, a date or datetime object) in the window
    of :mod:`geomap.dates`: a date outside it would overflow when later stages shift it."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        date = value.date() if isinstance(value, dt.datetime) else value
    elif isinstance(value, str):
        match = _DATE.match(value)
        if match is None:
            raise _BadField("not a date (expected YYYY-MM-DD)")
        try:
            date = dt.date(*(int(part) for part in match.groups()))
        except ValueError as exc:
            raise _BadField(f"not a date ({exc})") from exc
    else:
        raise _BadField(f"{_kind(value)}, not a date")
    if plausible(date) is None:
        raise _BadField(f"a date outside {EARLIEST.year}-{LATEST.year}")
    return date


def http_url(value: Any) -> str | None:
    """``value`` as an http(s) address (stripped), or None: a ``javascript:``, ``data:`` or ``file:``
    url, a relative one or one with spaces or control characters is not a link to hand a reader."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not _HTTP_URL.match(url):
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:  # "http://[::1" and the like
        return None
    return url if host else None


def _url_field(value: Any) -> str | None:
    text = _text_field(value)
    if text is None or not text.strip():
        return None
    url = http_url(text)
    if url is None:
        raise _BadField("not an http(s) address")
    return url


def _language_field(value: Any) -> str | None:
    text = _text_field(value)
    if text is None or not text.strip():
        return None
    code = normalise_language(text)
    if code is None:
        raise _BadField("not a language code or name")
    return code


_FIELDS = {
    "id": _id_field,
    "title": _text_field,
    "date": _date_field,
    "url": _url_field,
    "source": _text_field,
    "language": _language_field,
}


def _fields(meta: dict[str, Any], where: str) -> dict[str, Any]:
    """The article fields of ``meta``; a value that cannot be used is dropped with a warning naming
    the file (and line) and the field, never the value (it may be huge or hold escape sequences)."""
    fields = {}
    for name, parse in _FIELDS.items():
        try:
            fields[name] = parse(meta.get(name))
        except _BadField as exc:
            log.warning('%s: field "%s" dropped (%s); the article is kept', where, name, exc)
            fields[name] = None
    return fields


class _FrontMatterLoader(yaml.SafeLoader):
    """YAML's safe loader, made for untrusted headers.

    - No aliases: a few bytes of "&a [*a, *a ...]" cannot grow into megabytes.
    - Plain scalars stay text (only ``~``/``null``/empty mean None): ``title: 007`` is "007", not 7,
      and ``date: 2024-02-30``, ``25:61:00`` or a 5,000-digit number cannot fail while loading;
      each field is parsed afterwards, where a bad value drops that field only. Explicit ``!!int``,
      ``!!float``, ``!!bool``, ``!!timestamp`` and ``!!binary`` tags are read as text too.
    - A value nested deeper than ``MAX_DEPTH`` is read as None without being built (the parser
      itself is not recursive), so "[[[[...]]]]" neither recurses, nor takes quadratic time, nor
      keeps the field.
    """

    MAX_DEPTH = 32
    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}
    _depth = 0

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases are not allowed in front matter")
        if self._depth >= self.MAX_DEPTH:
            return self._skip_node()
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    # PyYAML's scanner keeps, for each open "[" or "{", the chance that it starts a mapping key, and
    # checks every such chance at each token: "[[[[..." took quadratic time (10 KB: 16 s). Deeper
    # than MAX_DEPTH nothing is kept anyway, so a collection opened there is never taken for a key.
    _opening = False

    def fetch_flow_collection_start(self, token_class):  # type: ignore[no-untyped-def]
        self._opening = True
        try:
            super().fetch_flow_collection_start(token_class)
        finally:
            self._opening = False

    def save_possible_simple_key(self) -> None:
        if self._opening and self.flow_level >= self.MAX_DEPTH:
            self.remove_possible_simple_key()
            return
        super().save_possible_simple_key()

    def _skip_node(self) -> yaml.Node:
        """Consume one node's events, however deep, and stand a null in its place."""
        start = self.peek_event().start_mark
        open_ = 0
        while True:
            event = self.get_event()
            if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                open_ += 1
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                open_ -= 1
            if open_ == 0:
                return yaml.ScalarNode("tag:yaml.org,2002:null", "", start, event.end_mark)


_FrontMatterLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
for _tag in ("int", "float", "bool", "timestamp", "binary"):
    _FrontMatterLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _FrontMatterLoader.construct_yaml_str)


def _printable(text: str) -> str:
    """A file name's text made safe to print and to write as UTF-8 (undecodable bytes replaced)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _article(
    meta: dict[str, Any], text: str, *, default_id: str, path: Path, encoding: str, line: int | None = None
) -> Article:
    """An Article from its text and its metadata (front matter or JSON record); a metadata value
    that cannot be used is dropped (with a warning), the article kept."""
    if len(text) > MAX_CHARS:
        raise InputError(
            str(path),
            f"article too long ({len(text):,} characters; the limit is "
            f"{MAX_CHARS:,}): split it into several articles",
            line=line,
        )
    fields = _fields(meta, _printable(str(path)) if line is None else f"{_printable(str(path))}:{line}")
    return Article(
        id=_printable(fields["id"] or default_id),
        text=text,
        title=fields["title"],
        date=fields["date"],
        url=fields["url"],
        source=fields["source"],
        path=_printable(str(path)),
        encoding=encoding,
        language=fields["language"],
    )


def read_text_file(path: Path, *, data: bytes | None = None, default_id: str | None = None) -> Article:
    """A .txt or .md file, with an optional YAML front matter (title, date, url, source, id,
    language); ``data`` is its content when already read."""
    text, encoding = decode(path.read_bytes() if data is None else data, str(path))
    _report_encoding(path, encoding)
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match and len(match.group(1)) > MAX_FRONT_MATTER_CHARS:
        raise InputError(
            str(path),
            f"front matter too long ({len(match.group(1)):,} characters; the limit is "
            f"{MAX_FRONT_MATTER_CHARS:,})",
        )
    if match:
        try:
            loaded = yaml.load(match.group(1), Loader=_FrontMatterLoader)
        except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
            raise InputError(str(path), f"malformed front matter ({exc.__class__.__name__})") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise InputError(str(path), "front matter is not a mapping of keys to values")
        meta = loaded or {}
        # Blank out the front matter instead of cutting it, so offsets stay those of the file.
        text = re.sub(r"[^\n]", " ", text[: match.end()]) + text[match.end() :]
    if not text.strip():
        raise InputError(str(path), "empty article (no text)")
    return _article(meta, text, default_id=default_id or path.stem, path=path, encoding=encoding)


def _json_int(digits: str) -> int | Decimal:
    return Decimal(digits) if len(digits) > _LONG_INT_DIGITS else int(digits)


def read_jsonl_file(path: Path, errors: list[InputError]) -> Iterator[Article]:
    """One article per line: ``{"id", "text", "title", "date", "url", "source"}``."""
    for _, article in _jsonl_articles(path, errors):
        yield article


def _jsonl_articles(
    path: Path, errors: list[InputError], *, data: bytes | None = None
) -> Iterator[tuple[int, Article]]:
    """Each article of a JSON Lines file (or of ``data`` read from it), with its line number."""
    text, encoding = decode(path.read_bytes() if data is None else data, str(path))
    _report_encoding(path, encoding)
    # Only "\n" ends a record: str.splitlines() would also cut at U+2028 inside a JSON string.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_int=_json_int)
        except RecursionError:
            errors.append(InputError(str(path), "JSON nested too deeply", line=number))
            continue
        except ValueError as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else exc.__class__.__name__
            errors.append(InputError(str(path), f"invalid JSON ({reason})", line=number))
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            errors.append(InputError(str(path), 'no "text" string in this record', line=number))
            continue
        if not _encodable(record["text"]):
            errors.append(InputError(str(path), "invalid text (an unpaired surrogate)", line=number))
            continue
        if not record["text"].strip():
            errors.append(InputError(str(path), "empty article (no text)", line=number))
            continue
        try:
            article = _article(
                record,
                record["text"],
                default_id=f"{path.stem}-{number}",
                path=path,
                encoding=encoding,
                line=number,
            )
        except InputError as exc:
            errors.append(exc)
            continue
        yield number, article


def expand_inputs(
    inputs: Iterable[str | Path], errors: list[InputError], *, seen: set[tuple[int, int]] | None = None
) -> list[Path]:
    """Files named, and every supported file below each directory named, in a stable order.

    A file met twice (named twice, named and inside a folder named, reached through a link or as
    ``./a.txt``) is listed once, where it was first met; ``seen`` carries the files met so far."""
    files: list[Path] = []
    seen = set() if seen is None else seen

    def add(path: Path) -> None:
        try:
            stat = os.stat(path)
        except OSError:  # vanished meanwhile: reading it will say so
            files.append(path)
            return
        if (stat.st_dev, stat.st_ino) in seen:
            log.info("%s: already among the inputs, read once", _printable(str(path)))
            return
        seen.add((stat.st_dev, stat.st_ino))
        files.append(path)

    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES)
            if not found:
                errors.append(InputError(str(path), "directory holds no article (.txt, .md, .jsonl, .html)"))
            for p in found:
                if p.is_file():
                    add(p)
                elif p.is_symlink() and not p.exists():
                    errors.append(InputError(str(p), "broken symbolic link"))
        elif path.is_file():
            add(path)
        elif path.is_symlink():
            errors.append(InputError(str(path), "broken symbolic link"))
        else:
            errors.append(InputError(str(path), "no such file or directory"))
    return files


def _unique_id(taken: str, path: Path, first_seen: dict[str, str]) -> str:
    """An id for the file ``path`` whose own id is ``taken``: its folder's name first, then a number."""
    candidate = f"{_printable(path.parent.name)}/{taken}" if path.parent.name else taken
    number = 2
    unique = candidate
    while unique in first_seen:
        unique, number = f"{candidate}~{number}", number + 1
    return unique


@dataclass(frozen=True, slots=True)
class Read:
    """An article as read, before its language is settled, with where it came from: ``where`` (a
    file, a URL, "<stdin>") and the ``line`` of a JSON Lines record, for the messages that name it."""

    article: Article
    where: str
    line: int | None = None


def iter_articles(
    inputs: Iterable[str | Path],
    errors: list[InputError] | None = None,
    *,
    web: WebReader | None = None,
    stdin: BinaryIO | None = None,
    languages: frozenset[str] = READ_LANGUAGES,
    language: str | None = None,
) -> Iterator[Article]:
    """Every article of the inputs (:func:`read_inputs`) with its language settled
    (:func:`settle_languages`); what cannot be read is appended to ``errors`` and skipped."""
    errors = [] if errors is None else errors
    reads = read_inputs(inputs, errors, web=web, stdin=stdin)
    yield from settle_languages(reads, errors, languages=languages, language=language)


def read_inputs(
    inputs: Iterable[str | Path],
    errors: list[InputError],
    *,
    web: WebReader | None = None,
    stdin: BinaryIO | None = None,
) -> Iterator[Read]:
    """Every article of the inputs, as read; what cannot be read is appended to ``errors`` and skipped.

    An input is a file, a folder (every supported file below it), ``-`` (standard input: one article,
    or JSON Lines), a page or feed URL, a feed file, or a text file listing URLs; ``web`` reads those
    that need the network (offline when None). Languages are settled apart
    (:func:`settle_languages`), so that a build can tell that nothing changed before it detects any.

    Article ids are unique: an article whose id an earlier one already has is an error naming both
    places (file, and line for JSON Lines), and is skipped."""
    web = web or WebReader(None)
    first_seen: dict[str, str] = {}
    for source in _sources(inputs, errors):
        where = "<stdin>" if source == STDIN else _printable(str(source))
        try:
            for line, article in _read(source, errors, web=web, stdin=stdin):
                named_by_file = (
                    isinstance(source, Path) and line is None and article.id == _printable(source.stem)
                )
                if article.id in first_seen and not named_by_file:  # an id given in the data
                    problem = f"duplicate id {article.id!r} (first read from {first_seen[article.id]})"
                    errors.append(InputError(article.path or where, problem, line=line))
                    continue
                if article.id in first_seen:  # two files of one name in two folders: two articles
                    assert isinstance(source, Path)
                    unique = _unique_id(article.id, source, first_seen)
                    log.warning(
                        "%s: id %r is already %s's; this article is %r",
                        where,
                        article.id,
                        first_seen[article.id],
                        unique,
                    )
                    article = replace(article, id=unique)
                first_seen[article.id] = article.path or where if line is None else f"{where}:{line}"
                yield Read(article, where, line)
        except InputError as exc:
            errors.append(exc)
        except OSError as exc:
            errors.append(InputError(where, f"cannot read ({exc.strerror or exc})"))


@dataclass(slots=True)
class Inputs:
    """A run's inputs as read (languages not settled yet), what could not be read, and the seconds
    reading took: what a build looks at to tell that nothing changed since its last run."""

    reads: list[Read]
    errors: list[InputError]
    seconds: float = 0.0


def read_all(inputs: Iterable[str | Path], *, web: WebReader | None = None) -> Inputs:
    """Every input read (:func:`read_inputs`), timed."""
    started = time.perf_counter()
    errors: list[InputError] = []
    reads = list(read_inputs(inputs, errors, web=web))
    return Inputs(reads, errors, time.perf_counter() - started)


def settle_languages(
    reads: Iterable[Read],
    errors: list[InputError],
    *,
    languages: frozenset[str] = READ_LANGUAGES,
    language: str | None = None,
) -> Iterator[Article]:
    """Each article with its language: the one its page or record declares, else the one detected in
    its text; ``language`` overrides both for every article (the command line's ``--lang``). Articles
    in a language not in ``languages`` are skipped by name (a :class:`LanguageSkipped` in
    ``errors``), never read as another language."""
    for read in reads:
        article = replace(read.article, language=language) if language else _with_language(read.article)
        if article.language is not None and article.language not in languages:
            errors.append(LanguageSkipped(article.path or read.where, article.language, line=read.line))
            continue
        yield article


STDIN = "-"


def _stem(path: Path) -> str:
    return _printable(path.stem)


def _sources(inputs: Iterable[str | Path], errors: list[InputError]) -> Iterator[str | Path]:
    """Each input as ``STDIN``, a URL (str) or a file (Path), folders expanded, in the given order."""
    paths: list[str | Path] = []
    seen: set[tuple[int, int]] = set()  # (device, inode) of every file met: each is read once
    for item in inputs:
        text = str(item)
        if text == STDIN:
            paths.append(STDIN)
        elif web_scheme(text) and not Path(text).exists():
            paths.append(text)
        else:
            paths.extend(expand_inputs([item], errors, seen=seen))
    yield from paths


def _read(
    source: str | Path, errors: list[InputError], *, web: WebReader, stdin: BinaryIO | None
) -> Iterator[tuple[int | None, Article]]:
    """The articles of one input, each with its line for JSON Lines (None otherwise)."""
    if source == STDIN:
        yield from _read_stdin(stdin or sys.stdin.buffer, errors)
        return
    if isinstance(source, str):
        yield from ((None, a) for a in web.url(source, errors))
        return
    suffix = source.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from _jsonl_articles(source, errors)
    elif suffix in HTML_SUFFIXES:
        yield None, read_html_file(source)
    elif suffix in FEED_SUFFIXES:
        yield from ((None, a) for a in web.feed_file(source, errors))
    else:
        data = source.read_bytes()
        urls = url_list(decode(data, str(source))[0]) if len(data) < MAX_URL_LIST_BYTES else None
        if urls:
            yield from ((None, a) for a in web.url_list(source, urls, errors))
        else:
            yield None, read_text_file(source, data=data)


def _read_stdin(stream: BinaryIO, errors: list[InputError]) -> Iterator[tuple[int | None, Article]]:
    """Standard input, as ``fio`` reads it: JSON Lines when it starts with "{", a web page when it
    starts with "<", else one article of text (with an optional front matter)."""
    data = stream.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise InputError("<stdin>", f"more than {MAX_STDIN_BYTES // 2**20} MB")
    head = data.lstrip()[:1]
    path = Path("<stdin>")
    if head == b"{":
        yield from _jsonl_articles(path, errors, data=data)
    elif head == b"<":
        yield None, replace(read_html_bytes(data, path="<stdin>"), id="stdin")
    else:
        yield None, read_text_file(path, data=data, default_id="stdin")


class LanguageSkipped(InputError):
    """An article in a language geomap does not read: named and skipped, counted in the summary."""

    def __init__(self, path: str, language: str, *, line: int | None = None) -> None:
        self.language = language
        read = " and ".join(language_name(code) for code in pack_languages())
        super().__init__(
            path, f"written in {language_name(language)} ({language}); geomap reads {read}", line=line
        )


def _with_language(article: Article) -> Article:
    """``article`` with its language: as declared, else detected from its text (None when too short
    to tell)."""
    if article.language is not None:
        return article
    return replace(article, language=detect_language(article.text))
