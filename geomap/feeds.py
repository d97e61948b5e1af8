"""Read RSS 2.0, RSS 1.0 (RDF) and Atom feeds: which articles they list, with their dates.

:func:`parse_feed` turns the bytes of a feed into :class:`FeedEntry` records (link, title, date,
summary) with feedparser; :func:`looks_like_feed` tells the caller whether an answer is a feed or a
page, from its media type and first bytes. Nothing is fetched here: the feed comes from a file or
from :mod:`geomap.fetch`, and feedparser is handed a stream, never a string it could take for a URL
or a file name.

A feed with broken XML is read as far as feedparser could recover it: its entries are kept with a
warning naming the problem; a feed that gives no entry at all is a :class:`FeedError`, and so is a
document that is no feed (an HTML page, a sitemap).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from geomap.dates import plausible
from geomap.errors import GeomapError

log = logging.getLogger("geomap")

FEED_MEDIA_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/x-rss+xml",
        "application/x-atom+xml",
        "application/feed+xml",
    }
)
# The root element names a feed: <rss>, <feed> (Atom), <rdf:RDF> (RSS 1.0, any prefix).
_ROOT = re.compile(
    rb"\A(?:\xef\xbb\xbf)?(?:\s|<\?[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<(?:[\w.-]+:)?(rss|feed|RDF)[\s>/]",
    re.S,
)
_SUMMARY_CHARS = 2000
_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})")
_DATE_KEYS = ("published", "updated", "created")


class FeedError(GeomapError, ValueError):
    """A document that gives no feed entries: not a feed, or XML too broken to read."""

    def __init__(self, reason: str, *, source: str | None = None) -> None:
        self.reason = reason
        self.source = source
        super().__init__(f"{source}: {reason}" if source else reason)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One article listed by a feed: where it is, and what the feed says of it.

    ``date`` is the date of publication as the feed writes it (its own time zone: an item of
    "Wed, 14 Sep 2022 01:30:00 +0400" is dated 14 September), else of the last update; ``summary``
    is plain text (tags and scripts removed), at most 2,000 characters.
    """

    url: str
    title: str | None
    date: dt.date | None
    summary: str | None


def looks_like_feed(content_type: str | None, body_head: bytes | str = b"") -> bool:
    """Whether an answer is a feed rather than a page.

    A feed media type (``application/rss+xml``, ``application/atom+xml``...) says so; otherwise the
    first bytes decide (``<rss``, ``<feed``, ``<rdf:RDF`` as the root element), since many servers
    send feeds as ``text/xml``, ``text/html`` or ``application/octet-stream``.
    """
    media = (content_type or "").split(";")[0].strip().lower()
    if media in FEED_MEDIA_TYPES:
        return True
    head = body_head.encode("utf-8", "replace") if isinstance(body_head, str) else body_head
    return _ROOT.match(head[:4096]) is not None


def parse_feed(
    content: bytes | str, *, url: str | None = None, charset: str | None = None
) -> list[FeedEntry]:
    """The entries of a feed, in the feed's order, each link once.

    ``url`` is where the feed was read from: relative links are resolved against it (else against
    the feed's own ``<link>``); ``charset`` the one an HTTP header declared (else the XML
    declaration, else UTF-8, decides). Entries whose link is not an http(s) address (``javascript:``,
    ``mailto:``, none at all) are left out with a warning.

    Raises :class:`FeedError` when the document is not a feed, or is broken before any entry.
    """
    source = url
    try:
        import feedparser  # only for runs that read feeds
    except ImportError as exc:
        raise FeedError("reading feeds needs feedparser: pip install 'geomap[web]'", source=source) from exc
    if isinstance(content, str):
        content, charset = content.encode("utf-8"), "utf-8"
    content_type = f"application/xml; charset={charset}" if charset else "application/xml"
    headers = {"content-type": content_type}
    if url:
        headers["content-location"] = url
    parsed = feedparser.parse(io.BytesIO(content), response_headers=headers, sanitize_html=True)
    problem = _xml_problem(parsed)
    if not parsed.get("version") and not parsed.entries:
        if _looks_like_html(content):
            raise FeedError("not a feed (an HTML page)", source=source)
        if problem:
            raise FeedError(f"not a feed (broken XML: {problem})", source=source)
        raise FeedError("not a feed (no RSS or Atom root element)", source=source)
    if problem:
        if not parsed.entries:
            raise FeedError(f"broken XML, no entry could be read ({problem})", source=source)
        log.warning(
            "%s: broken XML (%s); kept the %d entries read before it",
            source or "feed",
            problem,
            len(parsed.entries),
        )
    base = url or _http(parsed.feed.get("link"))
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for position, entry in enumerate(parsed.entries, 1):
        link = _entry_url(entry, base)
        if link is None:
            log.warning(
                "%s: entry %d skipped: its link is not an http(s) address", source or "feed", position
            )
            continue
        if link in seen:
            continue
        seen.add(link)
        entries.append(
            FeedEntry(
                url=link,
                title=_text(entry, "title"),
                date=_entry_date(entry),
                summary=_text(entry, "summary", limit=_SUMMARY_CHARS),
            )
        )
    return entries


def _xml_problem(parsed: Any) -> str | None:
    """What made the XML unreadable, or None; a media type or encoding mismatch is no problem."""
    import feedparser.exceptions

    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    benign = (
        feedparser.exceptions.NonXMLContentType,
        feedparser.exceptions.CharacterEncodingOverride,
    )
    if isinstance(exc, benign):
        return None
    line = getattr(exc, "getLineNumber", None)
    where = f" at line {line()}" if callable(line) else ""
    message = getattr(exc, "getMessage", None)
    text = message() if callable(message) else str(exc)
    return f"{text}{where}" if text else type(exc).__name__


def _looks_like_html(content: bytes) -> bool:
    head = content[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _http(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"[\s\x00-\x1f]", value):
        return None
    return value


def _entry_url(entry: Any, base: str | None) -> str | None:
    """The entry's page: its link (or ``rel="alternate"`` link), else a permalink id."""
    candidates = [entry.get("link")]
    candidates += [
        link.get("href") for link in entry.get("links", []) if link.get("rel", "alternate") == "alternate"
    ]
    candidates.append(entry.get("id"))
    for value in candidates:
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()
        if base and not urlsplit(value).scheme:  # relative: resolve; "javascript:" stays refused
            value = urljoin(base, value)
        url = _http(value)
        if url:
            return url
    return None


def _entry_date(entry: Any) -> dt.date | None:
    """The first of published, updated, created: the date as written (the feed's time zone), else
    feedparser's parsed value (UTC) when the text is in a format only feedparser reads."""
    for key in _DATE_KEYS:
        date = _written_date(entry.get(key))
        if date is None and entry.get(f"{key}_parsed"):
            parsed = entry[f"{key}_parsed"]
            try:
                date = dt.date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
            except (ValueError, AttributeError):
                date = None
        if plausible(date):
            return date
    return None


def _written_date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        match = _ISO_DATE.match(value)
        if match:  # ISO 8601 / RFC 3339 (Atom, dc:date)
            return dt.date(*(int(part) for part in match.groups()))
        parts = email.utils.parsedate_tz(value)  # RFC 822 (RSS 2.0): local fields before the offset
        if parts:
            return dt.date(parts[0], parts[1], parts[2])
    except (ValueError, TypeError, OverflowError):
        return None
    return None


_BLOCKS = frozenset({"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6"})


def _text(entry: Any, key: str, *, limit: int | None = None) -> str | None:
    """Plain text of an entry's field: feedparser's (sanitised) HTML with its tags dropped and
    entities decoded, plain text as it is; spaces collapsed."""
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        return None
    kind = (entry.get(f"{key}_detail") or {}).get("type", "text/html")
    if kind in ("text/html", "application/xhtml+xml") and ("<" in value or "&" in value):
        from lxml import html as lxml_html
        from lxml.etree import ParserError

        try:
            fragment = lxml_html.fragment_fromstring(value, create_parent="div")
            for bad in fragment.xpath(".//script|.//style|.//template"):
                bad.drop_tree()
            for element in fragment.iter(*_BLOCKS):  # "<p>a</p><p>b</p>" is "a b", not "ab"
                element.tail = " " + (element.tail or "")
            value = fragment.text_content()
        except (ParserError, ValueError):
            pass
    text = " ".join(value.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None
