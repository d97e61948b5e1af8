"""Articles from the web: saved pages, page URLs, RSS/Atom feeds (URLs or files) and lists of URLs.

:mod:`geomap.ingest` reads the files an analyst keeps; this module turns what the web gives into the
same :class:`~geomap.models.Article` values, with the metadata that pages and feeds carry and text
files lack: the publication date, the title, the outlet and the address. Fetching goes through one
:class:`~geomap.fetch.Fetcher` (polite, bounded, cached); without one (``--offline``) every input that
would need the network is named and skipped.

A page's id is its address without the scheme ("example.org/2022/09/14/tirs-a-goris"): the same
article keeps the same id from one daily run to the next, so the incremental store recognises it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from geomap.errors import GeomapError, InputError
from geomap.feeds import FeedEntry, looks_like_feed, parse_feed
from geomap.fetch import Fetcher, acceptable
from geomap.models import Article
from geomap.pages import Page, parse_page

log = logging.getLogger("geomap")
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
FEED_SUFFIXES = frozenset({".rss", ".atom", ".xml"})
MAX_URL_ID_CHARS = 200
# "https:", "file:", "javascript:": a scheme of two letters or more (a Windows drive is one letter).
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_URL_LIST_LINE = re.compile(r"^\s*(?:#.*)?$|^\s*https?://\S+\s*$", re.I)


def scheme(item: str) -> str | None:
    """The URL scheme ``item`` starts with ("https", "file"...), or None for a plain path."""
    match = _SCHEME.match(item)
    return match.group(1).lower() if match else None


def url_id(url: str) -> str:
    """A stable, readable article id from its address: host and path, no scheme, query or fragment."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    ident = f"{parts.hostname or ''}{path}" or url
    return ident[:MAX_URL_ID_CHARS]


def url_list(text: str) -> list[str] | None:
    """The addresses of a text file that is a list of URLs (one per line, blank lines and ``#``
    comments allowed), or None when the file is an article."""
    lines = text.splitlines()
    if not lines or not all(_URL_LIST_LINE.match(line) for line in lines):
        return None
    urls = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return urls or None


def page_article(page: Page, *, ident: str, path: str | None, entry: FeedEntry | None = None) -> Article:
    """The Article of a page; what the page does not say, its feed entry may (title, date)."""
    return Article(
        id=ident,
        text=page.text,
        title=page.title or (entry.title if entry else None),
        date=page.date or (entry.date if entry else None),
        url=page.url or (entry.url if entry else None),
        source=page.site,
        path=path,
        encoding=page.encoding or "utf-8",
        language=page.language,
    )


def read_html_file(path: Path) -> Article:
    """A saved web page: its main text and metadata (trafilatura), its id the file's name."""
    return read_html_bytes(path.read_bytes(), path=str(path), ident=path.stem)


def read_html_bytes(data: bytes, *, path: str, ident: str | None = None) -> Article:
    """A web page read from ``path`` (a file, standard input)."""
    try:
        page = parse_page(data)
    except GeomapError as exc:
        raise InputError(path, getattr(exc, "reason", str(exc))) from exc
    return page_article(page, ident=ident or Path(path).stem, path=path)


class WebReader:
    """Articles behind URLs and feeds, each address fetched once per run.

    ``fetcher`` None means offline: inputs that need the network are named in ``errors`` and skipped.
    """

    def __init__(self, fetcher: Fetcher | None) -> None:
        self.fetcher = fetcher
        self._seen: set[str] = set()

    def close(self) -> None:
        """Close the fetcher (its cache file)."""
        if self.fetcher is not None:
            self.fetcher.close()

    def __enter__(self) -> WebReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, url: str, errors: list[InputError]) -> Iterator[Article]:
        """The article at ``url``, or every article of the feed at ``url``."""
        if scheme(url) not in ("http", "https"):
            errors.append(InputError(url, f"scheme '{scheme(url)}' is not read (only http and https)"))
            return
        if self.fetcher is None:
            errors.append(InputError(url, "not fetched: --offline"))
            return
        fetched = self._get(url, errors)
        if fetched is None:
            return
        head = fetched.body[:4096]
        if looks_like_feed(fetched.content_type, head):
            try:
                entries = parse_feed(fetched.body, url=fetched.final_url, charset=fetched.charset)
            except GeomapError as exc:
                errors.append(InputError(url, getattr(exc, "reason", str(exc))))
                return
            yield from self._entries(url, entries, errors)
            return
        if not acceptable(fetched.content_type, kind="page") and not _looks_like_html(head):
            errors.append(InputError(url, f"not a web page or a feed ({fetched.content_type or 'no type'})"))
            return
        article = self._page(url, fetched.body, fetched.final_url, fetched.charset, None, errors)
        if article is not None:
            yield article

    def feed_file(self, path: Path, errors: list[InputError]) -> Iterator[Article]:
        """Every article of a feed saved as a file (fetched from the addresses it lists)."""
        try:
            entries = parse_feed(path.read_bytes())
        except GeomapError as exc:
            errors.append(InputError(str(path), getattr(exc, "reason", str(exc))))
            return
        yield from self._entries(str(path), entries, errors)

    def url_list(self, path: Path, urls: list[str], errors: list[InputError]) -> Iterator[Article]:
        """Every article (or feed) a list of URLs names."""
        if self.fetcher is None:
            errors.append(InputError(str(path), f"{len(urls)} addresses not fetched: --offline"))
            return
        for url in urls:
            yield from self.url(url, errors)

    def _entries(self, feed: str, entries: list[FeedEntry], errors: list[InputError]) -> Iterator[Article]:
        if self.fetcher is None:
            errors.append(InputError(feed, f"{len(entries)} entries not fetched: --offline"))
            return
        log.info("%s: %d entries", feed, len(entries))
        for entry in entries:
            if entry.url in self._seen:
                continue
            fetched = self._get(entry.url, errors)
            if fetched is None:
                continue
            article = self._page(entry.url, fetched.body, fetched.final_url, fetched.charset, entry, errors)
            if article is not None:
                yield article

    def _get(self, url: str, errors: list[InputError]):  # -> Fetched | None
        assert self.fetcher is not None
        if url in self._seen:
            log.info("%s: already read in this run", url)
            return None
        self._seen.add(url)
        try:
            return self.fetcher.get(url)
        except GeomapError as exc:
            errors.append(InputError(url, getattr(exc, "reason", str(exc))))
            return None

    def _page(
        self,
        url: str,
        body: bytes,
        final_url: str,
        charset: str | None,
        entry: FeedEntry | None,
        errors: list[InputError],
    ) -> Article | None:
        try:
            page = parse_page(body, url=final_url, charset=charset)
        except GeomapError as exc:
            errors.append(InputError(url, getattr(exc, "reason", str(exc))))
            return None
        article = page_article(page, ident=url_id(url), path=url, entry=entry)
        return article if article.url else replace(article, url=final_url)


def _looks_like_html(head: bytes) -> bool:
    return bool(re.search(rb"<(?:!doctype html|html|head|body)[\s>]", head[:2048], re.I))
