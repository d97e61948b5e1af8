"""RSS 2.0, RSS 1.0 and Atom feeds to entries, read from feeds served over real HTTP on loopback."""

from __future__ import annotations

import datetime as dt
import http.server
import logging
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from geomap.errors import GeomapError
from geomap.feeds import FeedEntry, FeedError, looks_like_feed, parse_feed

FIXTURES = Path(__file__).parent / "fixtures"

SERVED = {
    "/feed/": ("feeds/rss2.xml", "application/rss+xml; charset=UTF-8"),
    "/armenia/feed.atom": ("feeds/atom.xml", "application/atom+xml"),
    "/info/rss.rdf": ("feeds/rss1.rdf", "application/rdf+xml"),
    "/depeches/rss": ("feeds/broken.xml", "text/xml; charset=utf-8"),
    "/garbage.xml": ("feeds/garbage.xml", "application/xml"),
    "/": ("pages/homepage.html", "text/html; charset=utf-8"),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, tuple[bytes, str]]] = {}
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        found = self.pages.get(self.path)
        if found is None:
            self.send_error(404)
            return
        body, content_type = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[str]]]:
    pages = {path: ((FIXTURES / name).read_bytes(), ctype) for path, (name, ctype) in SERVED.items()}
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"pages": pages, "requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def get(url: str) -> tuple[bytes, str | None, str]:
    """Body, Content-Type and final URL, as geomap.fetch hands them over."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as answer:
        return answer.read(), answer.headers.get("Content-Type"), answer.geturl()


def read(server: tuple[str, list[str]], path: str) -> list[FeedEntry]:
    body, content_type, final = get(server[0] + path)
    assert looks_like_feed(content_type, body[:1024])
    charset = content_type.partition("charset=")[2] or None
    return parse_feed(body, url=final, charset=charset)


def test_rss2_wordpress_feed(server, caplog):
    base = server[0]
    with caplog.at_level(logging.WARNING, logger="geomap"):
        entries = read(server, "/feed/")
    assert [e.url for e in entries] == [
        "https://journal-syunik.example.com/tegh-les-habitants-face-aux-tirs-nocturnes/",
        base + "/kapan-nouvel-abri/",  # a relative link, resolved against where the feed was read
        "https://journal-syunik.example.com/sotk-la-mine/",
        "https://journal-syunik.example.com/vardenis-le-marche/",  # no <link>: the permalink guid
    ]
    tegh, kapan, sotk, vardenis = entries
    assert tegh.title == "Tegh : les habitants face aux tirs nocturnes"
    assert tegh.date == dt.date(2023, 9, 19)
    assert tegh.summary.startswith("Dans le village frontalier de Tegh, les tirs de la nuit ont endommagé")
    assert "…" in tegh.summary and "<" not in tegh.summary and "&#" not in tegh.summary
    assert "alert" not in tegh.summary
    # 01:30 at +04:00 is the 14th where it was written, the 13th in UTC: the feed's own day counts
    assert kapan.date == dt.date(2022, 9, 14)
    assert sotk.title == "Sotk : la mine d’or à l’arrêt"
    assert sotk.date is None  # no <pubDate>: no date, never today
    assert vardenis.date == dt.date(2023, 9, 16)
    # the javascript: link is left out, by name
    assert any("entry 4 skipped" in r.getMessage() and "http(s)" in r.getMessage() for r in caplog.records)
    assert all("javascript" not in e.url for e in entries)


def test_relative_links_without_a_feed_url_use_the_channel_link():
    entries = parse_feed((FIXTURES / "feeds" / "rss2.xml").read_bytes())
    assert entries[1].url == "https://journal-syunik.example.com/kapan-nouvel-abri/"


def test_atom_feed(server):
    base = server[0]
    entries = read(server, "/armenia/feed.atom")
    assert entries == [
        FeedEntry(
            url="https://news.caucasus-wire.example.com/armenia/sotk-shelling-villagers",
            title="Armenian villagers near Sotk count the cost of overnight shelling",
            date=dt.date(2023, 9, 19),  # published, not updated (the 20th)
            summary="Residents of Sotk say the gold mine is idle & several homes were hit.",
        ),
        FeedEntry(
            url=base + "/armenia/goris-refugees",
            title="Goris braces for new arrivals",
            date=dt.date(2023, 9, 18),  # only <updated>, in its own time zone (-05:00)
            summary="Hotels and schools in Goris prepare to host families from the border villages.",
        ),
        FeedEntry(
            url="https://news.caucasus-wire.example.com/armenia/jermuk-spa",
            title="Jermuk's spa town empties out",
            date=dt.date(2022, 9, 16),
            summary="The galleries of Jermuk are closed.",
        ),
    ]


def test_rss1_feed(server):
    entries = read(server, "/info/rss.rdf")
    assert [(e.url, e.date) for e in entries] == [
        ("https://radio-syunik.example.org/info/kapan-obus-usine-cuivre", dt.date(2022, 9, 13)),
        ("https://radio-syunik.example.org/info/meghri-pont", dt.date(2022, 9, 20)),
    ]
    assert entries[0].title == "Kapan : un obus tombe près de l'usine de cuivre"


def test_broken_xml_keeps_what_was_recovered_with_a_warning(server, caplog):
    with caplog.at_level(logging.WARNING, logger="geomap"):
        entries = read(server, "/depeches/rss")
    assert [e.title for e in entries] == [
        "Arménie-Azerbaïdjan : des dizaines de soldats tués dans des combats à la frontière",
        "Le corridor de Lachin rouvert aux convois humanitaires",
    ]
    assert entries[0].date == dt.date(2022, 9, 15)
    assert entries[0].summary == "Goris, Sotk & Jermuk visés dans la nuit"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("broken XML" in w and "line" in w and "kept the 2 entries" in w for w in warnings)


def test_xml_broken_before_any_entry_is_an_error(server):
    body, _, final = get(server[0] + "/garbage.xml")
    with pytest.raises(FeedError, match="broken XML") as caught:
        parse_feed(body, url=final)
    assert caught.value.source == final
    assert isinstance(caught.value, GeomapError) and isinstance(caught.value, ValueError)


def test_an_html_page_is_not_a_feed(server):
    body, content_type, final = get(server[0] + "/")
    assert not looks_like_feed(content_type, body[:1024])
    with pytest.raises(FeedError, match="not a feed"):
        parse_feed(body, url=final)


@pytest.mark.parametrize(
    "content",
    [b"", b"   ", b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>',
     b'{"items": []}', "Juste du texte."],
)  # fmt: skip
def test_other_documents_are_not_feeds(content):
    with pytest.raises(FeedError, match="not a feed"):
        parse_feed(content)


def test_an_empty_feed_gives_no_entries():
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Vide</title></channel></rss>'
    assert parse_feed(empty) == []


def test_text_input_reads_like_bytes():
    text = (FIXTURES / "feeds" / "atom.xml").read_text(encoding="utf-8")
    assert parse_feed(text) == parse_feed(text.encode("utf-8"))


def test_content_never_names_a_url_or_file_to_open(server):
    base, requests = server
    before = len(requests)
    for content in (
        f"{base}/feed/",
        f"{base}/feed/".encode(),
        str(FIXTURES / "feeds" / "rss2.xml"),
        b"/etc/hostname",
    ):
        with pytest.raises(FeedError, match="not a feed"):
            parse_feed(content)
    assert len(requests) == before  # nothing was fetched


def test_feed_encodings_from_the_header_or_the_xml_declaration():
    item = "<item><title>Vardenis : l’hôpital au cœur de l’urgence</title><link>https://e.example.com/v</link></item>"
    body = f'<rss version="2.0"><channel><title>Écho</title>{item}</channel></rss>'
    declared = '<?xml version="1.0" encoding="windows-1252"?>' + body
    title = "Vardenis : l’hôpital au cœur de l’urgence"
    assert parse_feed(declared.encode("cp1252"))[0].title == title
    assert parse_feed(body.encode("cp1252"), charset="windows-1252")[0].title == title
    assert parse_feed(body.encode("utf-8"))[0].title == title


def test_duplicate_links_are_listed_once():
    feed = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><link>https://a.example.com/</link>'
        b"<item><title>Goris</title><link>https://a.example.com/goris</link></item>"
        b"<item><title>Goris (mis \xc3\xa0 jour)</title><link>https://a.example.com/goris</link></item>"
        b"</channel></rss>"
    )
    assert [e.title for e in parse_feed(feed)] == ["Goris"]


@pytest.mark.parametrize(
    ("content_type", "head", "expected"),
    [
        ("application/rss+xml", b"", True),
        ("application/atom+xml; charset=utf-8", b"", True),
        ("application/rdf+xml", b"", True),
        ("text/xml", b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">', True),
        ("application/xml", b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">', True),
        ("text/html; charset=utf-8", b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- WordPress -->\n<rss>", True),
        (
            None,
            b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
            True,
        ),
        ("application/octet-stream", "<feed xml:lang='fr'>", True),
        ("text/html; charset=utf-8", b"<!DOCTYPE html><html lang='fr'><head>", False),
        ("application/xml", b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/">', False),
        ("text/plain", b"Goris, Kapan", False),
        (None, b"", False),
        ("text/html", b"<html><body><p>Le flux <rss> est ici</p>", False),
    ],
)
def test_looks_like_feed(content_type, head, expected):
    assert looks_like_feed(content_type, head) is expected
