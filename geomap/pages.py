"""Read a saved or fetched web page: its main text and the metadata an analyst needs.

:func:`parse_page` turns the bytes (or text) of an HTML page into a :class:`Page`: the article's
text without menus, sidebars, comments, share buttons or "Lire aussi" boxes (trafilatura), with its
title, publication date, outlet, canonical URL, language and description. Nothing is fetched: the
bytes come from a file or from :mod:`geomap.fetch`.

The publication date is the page's own word, never a guess: JSON-LD ``datePublished``,
``<meta property="article:published_time">``, ``<time datetime>`` and the like, a full date in the
page's URL, or an agency dateline at the head of the text ("KAPAN, 5 oct. 2021 (AFP) -"), which
wins over the rest since it is the date the text's "hier" and "mardi" count from (a portal may
republish a dispatch a day later). htmldate's extensive search, which takes any date found in the
page's text, is off: it would give the date of an event the article recalls ("les combats du 13
septembre 2022") as the publication date. A page without a date gives None, never today.

Script, style and template content is never part of the text: the page is parsed as data, nothing in
it is run, and entities are decoded once (a page that escaped them twice is decoded again).
"""

from __future__ import annotations

import codecs
import copy
import datetime as dt
import html
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from geomap import language
from geomap.dates import plausible
from geomap.errors import GeomapError

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# A page with no paragraph of prose this long has no main text: a homepage of links and teasers.
MIN_PARAGRAPH_CHARS = 80
# Larger pages are refused, as trafilatura itself does: no article is 20 MB of HTML.
MAX_BYTES = 20_000_000
# Read the declared charset from the head of the page only, as browsers do (they read 1,024 bytes;
# some CMS put the <meta> a little further down).
_PRESCAN_BYTES = 4096
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)""")
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
_DOCUMENT = re.compile(r"<(?:html|head|body)[\s>]", re.I)
# What browsers do with a declared label (the WHATWG Encoding standard): Latin-1 and ASCII mean
# Windows-1252; a UTF-16 or UTF-32 label read from ASCII-compatible bytes cannot be true, so UTF-8.
_LABEL_CODECS = {"latin_1": "cp1252", "ascii": "cp1252", "iso8859_1": "cp1252"}
# Text encodings a page may declare; Python also knows "utf_7" (which hides markup), "unicode_escape",
# "idna", "rot_13" and others that no page is written in.
_PAGE_CODECS = (
    "utf_8", "utf_16", "utf_32", "cp", "iso8859", "latin_1", "ascii", "koi8", "mac_", "gb", "big5",
    "shift_jis", "euc_", "iso2022", "hz", "tis_620", "johab", "ptcp154", "kz1048",
)  # fmt: skip
_WIDE_CODECS = ("utf_16", "utf_32")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Boxes that trafilatura's own rules may miss when their class names are written in another case or
# language ("Newsletter_box__l2", "lire-aussi", "partage"); only short elements are pruned, so that a
# wrapper named "article--shareable" around the whole text is never taken for one.
_BOX_WORDS = (
    "newsletter", "related", "lire-aussi", "lireaussi", "a-lire", "alire", "read-more", "readmore",
    "sur-le-meme-sujet", "share", "partage", "social", "outbrain", "taboola", "promo", "subscribe",
)  # fmt: skip
_UPPER, _LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
_PRUNE = [
    "//*[self::div or self::section or self::aside or self::p or self::ul or self::ol or self::nav]"
    f"[contains(translate(@class, '{_UPPER}', '{_LOWER}'), '{word}')"
    f" or contains(translate(@id, '{_UPPER}', '{_LOWER}'), '{word}')]"
    "[string-length(normalize-space(.)) < 400]"
    for word in _BOX_WORDS
]
# A paragraph that only points to another article: "À lire aussi : ...", "Read more: ...".
_SEE_ALSO = re.compile(
    r"\W*(?:[àa] lire (?:aussi|également|egalement)|lire (?:aussi|également|egalement)|"
    r"(?:[àa] )?voir aussi|sur le même sujet|dans la même rubrique|read (?:more|also)|also read|"
    r"see also|related(?: articles?)?\s*:)",
    re.I,
)
_SEE_ALSO_MAX_CHARS = 200
# An agency's desk signature closing a dispatch ("bur-at/cf"): initials, not text.
_SIGNATURE = re.compile(r"[a-z]{2,5}(?:-[a-z]{2,5})+(?:/[a-z]{2,5})+")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# A layout table (cells holding paragraphs, headings, blocks): read as blocks, not as rows of data.
_LAYOUT_BLOCKS = ".//p|.//h1|.//h2|.//h3|.//div|.//table"

# Agency datelines: "KAPAN, 5 oct. 2021 (AFP) -", "GANDJA (Azerbaïdjan), 1er juin 2021 (AFP) —",
# "YEREVAN, Sept. 14, 2022 (Reuters) -". The place is written in capitals; an agency follows.
_MONTHS = {
    "janvier": 1, "janv": 1, "jan": 1, "january": 1,
    "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "fév": 2, "fev": 2, "feb": 2, "february": 2,
    "mars": 3, "mar": 3, "march": 3,
    "avril": 4, "avr": 4, "apr": 4, "april": 4,
    "mai": 5, "may": 5,
    "juin": 6, "jun": 6, "june": 6,
    "juillet": 7, "juil": 7, "jul": 7, "july": 7,
    "août": 8, "aout": 8, "aug": 8, "august": 8,
    "septembre": 9, "sept": 9, "sep": 9, "september": 9,
    "octobre": 10, "oct": 10, "october": 10,
    "novembre": 11, "nov": 11, "november": 11,
    "décembre": 12, "decembre": 12, "déc": 12, "dec": 12, "december": 12,
}  # fmt: skip
_PLACE = r"[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ'’. -]+(?:\s*\([^)\n]{1,40}\))?"
_AGENCY = r"\s*\((?:[A-Z][\w.-]*)(?:[ /-][A-Z][\w.-]*){0,3}\)\s*[-–—]"
_DATELINE = re.compile(
    rf"^{_PLACE},\s*(?:"
    rf"(?P<d1>1er|\d{{1,2}})\s+(?P<m1>[^\W\d_]+)\.?\s+(?P<y1>\d{{4}})"
    rf"|(?P<m2>[^\W\d_]+)\.?\s+(?P<d2>\d{{1,2}}),?\s+(?P<y2>\d{{4}})"
    rf"){_AGENCY}",
    re.M,
)
_DATELINE_WINDOW = 400


class PageError(GeomapError, ValueError):
    """A page that gives no article: no main text, binary data, or not HTML at all."""

    def __init__(self, reason: str, *, source: str | None = None) -> None:
        self.reason = reason
        self.source = source
        super().__init__(f"{source}: {reason}" if source else reason)


@dataclass(frozen=True, slots=True)
class Page:
    """What a web page says: its main text and the metadata that dates and places it.

    ``text`` is the main text, paragraphs separated by one blank line; offsets of later stages refer
    to it. ``date`` is the publication date (None when the page gives none); ``url`` the canonical
    address (else the address it was read from); ``site`` the outlet's name; ``language`` an ISO
    639-1 code from the page's declaration or, failing that, from the text; ``encoding`` how the
    bytes were decoded (None when text was given).
    """

    text: str
    title: str | None
    date: dt.date | None
    site: str | None
    url: str | None
    language: str | None
    description: str | None
    encoding: str | None = None


def parse_page(
    content: bytes | str,
    *,
    url: str | None = None,
    charset: str | None = None,
    today: dt.date | None = None,
) -> Page:
    """The main text and metadata of an HTML page.

    ``url`` is where the page was read from (used for relative links, a date written in it, and as
    ``Page.url`` when the page names no canonical address); ``charset`` the one an HTTP header
    declared, which wins over the page's ``<meta>`` as in browsers. ``today`` bounds the dates a
    page may claim (a date after it is a typo or a countdown, not a publication date).

    Raises :class:`PageError` for binary data, a document that is not HTML, or a page with no main
    text (a homepage of links, an error page).
    """
    source = url
    try:
        from trafilatura import bare_extraction  # a second to import: only for runs that read pages
    except ImportError as exc:  # the optional part of the install that reads pages (64 MB with lxml)
        raise PageError(
            "reading web pages needs trafilatura: pip install 'geomap[web]'", source=source
        ) from exc
    if len(content) > MAX_BYTES:
        size = f"{len(content) / 1e6:.0f} MB, more than {MAX_BYTES / 1e6:.0f} MB"
        raise PageError(f"too large ({size})", source=source)
    if isinstance(content, bytes):
        text, encoding = decode_html(content, charset=charset, source=source)
    else:
        text, encoding = content, None
    tree = _tree(text, source)
    today = today or dt.date.today()
    document = bare_extraction(
        copy.deepcopy(tree),
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        include_formatting=False,
        deduplicate=False,  # trafilatura's cache would make the result depend on earlier pages
        prune_xpath=_PRUNE,
        date_extraction_params={
            "original_date": True,  # the publication, not the last update
            "extensive_search": False,
            "max_date": (today + dt.timedelta(days=1)).isoformat(),  # time zones ahead of ours
        },
    )
    body = _main_text(document.text if document is not None else None)
    if not body:
        raise PageError("no main text (a page of links, or an empty page)", source=source)
    canonical = _canonical(tree, base=url) or _http_url(document.url, base=url) or _http_url(url)
    published = _publication_date(body, _date(document.date), today=today)
    declared = _declared_language(tree)
    return Page(
        text=body,
        title=_clean(document.title),
        date=published,
        site=_clean(document.sitename),
        url=canonical,
        language=language.detect(body, declared=declared),
        description=_clean(document.description),
        encoding=encoding,
    )


def decode_html(data: bytes, *, charset: str | None = None, source: str | None = None) -> tuple[str, str]:
    """The text of an HTML page and the encoding it was read with.

    A byte order mark wins, then ``charset`` (from the HTTP header), then the page's own
    ``<meta charset>`` or ``<meta http-equiv="Content-Type">`` (or XML declaration); without one,
    or when the bytes are not in the declared encoding, UTF-8, then Windows-1252. Labels are read as
    browsers read them: "iso-8859-1" means Windows-1252, whose curly quotes news sites use.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), codec.removesuffix("-sig")
            except UnicodeDecodeError as exc:
                raise PageError(f"undecodable page: invalid {codec} ({exc.reason})", source=source) from exc
    header = _codec(charset, wide=True)
    if header is not None and header.startswith(_WIDE_CODECS):
        try:
            return data.decode(header), _label(header)
        except UnicodeDecodeError as exc:
            raise PageError(f"undecodable page: invalid {header} ({exc.reason})", source=source) from exc
    if b"\x00" in data[: _PRESCAN_BYTES * 4]:
        raise PageError("binary data (NUL bytes), not an HTML page", source=source)
    declared = header or _codec(_prescan(data), wide=False)
    for codec in dict.fromkeys(c for c in (declared, "utf_8", "cp1252") if c):
        try:
            return data.decode(codec), _label(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    # Windows-1252 leaves five bytes undefined; browsers read them as C1 controls, so does Latin-1
    return data.decode("latin-1"), "windows-1252"


def _prescan(data: bytes) -> str | None:
    head = data[:_PRESCAN_BYTES]
    match = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def _codec(label: str | None, *, wide: bool) -> str | None:
    """Python's codec for a charset label, as browsers map labels; None for unknown or refused ones."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name.replace("-", "_")
    except (LookupError, ValueError):
        return None
    if not name.startswith(_PAGE_CODECS):
        return None
    if name.startswith(_WIDE_CODECS):
        return name if wide else "utf_8"
    return _LABEL_CODECS.get(name, name)


def _label(codec: str) -> str:
    return {"utf_8": "utf-8", "cp1252": "windows-1252"}.get(codec, codec.replace("_", "-"))


def _tree(text: str, source: str | None) -> HtmlElement:
    """The page parsed as data (nothing in it is run), layout tables read as blocks."""
    from trafilatura.utils import load_html

    # lxml refuses text that still carries an XML declaration with an encoding (XHTML pages)
    text = _XML_DECLARATION.sub("", text, count=1)
    if "<" not in text[:100_000]:
        raise PageError("not an HTML page (no markup)", source=source)
    if not _DOCUMENT.search(text[:_PRESCAN_BYTES]):  # a fragment ("<p>...</p><p>...</p>") saved alone
        text = f"<html><body>{text}</body></html>"
    tree = load_html(text)
    if tree is None:
        raise PageError("not an HTML page (it cannot be parsed)", source=source)
    for inert in tree.xpath("//template"):  # never shown by a browser
        inert.drop_tree()
    for table in tree.xpath("//table"):
        if table.xpath(_LAYOUT_BLOCKS):
            for element in [table, *table.iter("tbody", "thead", "tfoot", "tr", "td", "th", "caption")]:
                element.tag = "div"
    return tree


def _main_text(text: str | None) -> str | None:
    """Paragraphs one blank line apart, "Lire aussi" lines out; None when nothing is prose."""
    if not text:
        return None
    if _ENTITY.search(text):  # entities escaped twice in the page ("&amp;eacute;")
        text = _ENTITY.sub(lambda m: html.unescape(m.group()), text)
    paragraphs = [line.strip() for line in text.splitlines()]
    paragraphs = [
        p
        for p in paragraphs
        if p and not (len(p) <= _SEE_ALSO_MAX_CHARS and _SEE_ALSO.match(p)) and not _SIGNATURE.fullmatch(p)
    ]
    prose = [p for p in paragraphs if len(p) >= MIN_PARAGRAPH_CHARS and not p.startswith(("- ", "|"))]
    return "\n\n".join(paragraphs) if prose else None


def _publication_date(text: str, metadata: dt.date | None, *, today: dt.date) -> dt.date | None:
    """The dateline's date, when it is no later than the page's metadata date (a dispatch is not
    published before it is written) and today; else the metadata date."""
    dateline = _dateline(text)
    latest = min(today, metadata or today) + dt.timedelta(days=1)
    return dateline if dateline is not None and dateline <= latest else metadata


def _dateline(text: str) -> dt.date | None:
    """The date of an agency dateline in the first lines of the text."""
    match = _DATELINE.search(text[:_DATELINE_WINDOW])
    if match is None:
        return None
    day, month, year = (match["d1"], match["m1"], match["y1"]) if match["d1"] else (
        match["d2"], match["m2"], match["y2"])  # fmt: skip
    number = _MONTHS.get(month.casefold())
    if number is None:
        return None
    try:
        return plausible(dt.date(int(year), number, 1 if day == "1er" else int(day)))
    except ValueError:
        return None


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return plausible(dt.date.fromisoformat(value[:10]))
    except ValueError:
        return None


def _http_url(value: str | None, *, base: str | None = None) -> str | None:
    """``value`` (resolved against ``base``) when it is an http(s) address with a host."""
    if not value:
        return None
    value = urljoin(base, value.strip()) if base else value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"[\s\x00-\x1f]", value):
        return None
    return value


def _canonical(tree: HtmlElement, *, base: str | None) -> str | None:
    """The page's own address for itself: ``<link rel="canonical">``, else ``og:url``."""
    rel = "concat(' ', normalize-space(translate(@rel, $upper, $lower)), ' ')"
    found = tree.xpath(f"//link[contains({rel}, ' canonical ')]/@href", upper=_UPPER, lower=_LOWER)
    found += tree.xpath("//meta[@property='og:url']/@content")
    for value in found:
        url = _http_url(value, base=base)
        if url:
            return url
    return None


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    value = " ".join(_ENTITY.sub(lambda m: html.unescape(m.group()), value).split())
    return value or None


def _declared_language(tree: HtmlElement) -> str | None:
    """What the page says its language is: ``<html lang>``, Content-Language, ``og:locale``, or
    JSON-LD ``inLanguage``, in that order."""
    candidates = [
        *tree.xpath("/html/@lang"),
        *tree.xpath("/html/@xml:lang", namespaces={"xml": "http://www.w3.org/XML/1998/namespace"}),
        *tree.xpath("//meta[translate(@http-equiv, $upper, $lower)='content-language']/@content",
                    upper=_UPPER, lower=_LOWER),
        *tree.xpath("//meta[@property='og:locale' or @name='og:locale']/@content"),
        *tree.xpath("//meta[translate(@name, $upper, $lower)='language']/@content",
                    upper=_UPPER, lower=_LOWER),
    ]  # fmt: skip
    for value in candidates:
        if language.normalise(value):
            return value
    for script in tree.xpath("//script[@type='application/ld+json']/text()"):
        found = _in_language(script)
        if found:
            return found
    return None


def _in_language(script: str) -> str | None:
    try:
        data = json.loads(script)
    except (ValueError, RecursionError):
        return None
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            value = item.get("inLanguage")
            if isinstance(value, str) and language.normalise(value):
                return value
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
