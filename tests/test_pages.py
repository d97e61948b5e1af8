"""Web pages to articles: main text and metadata, read from pages served over real HTTP on loopback."""

from __future__ import annotations

import datetime as dt
import http.server
import re
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from geomap.errors import GeomapError
from geomap.pages import Page, PageError, decode_html, parse_page

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
TODAY = dt.date(2024, 6, 1)  # pins the latest date a page may claim

# path -> (file, Content-Type header); the Windows-1252 page declares its charset in a <meta> only
SERVED = {
    "/depeches/afp-combats.html": ("afp_dispatch.html", "text/html; charset=utf-8"),
    "/tegh-les-habitants-face-aux-tirs-nocturnes/": ("wordpress_article.html", "text/html; charset=UTF-8"),
    "/reportages/jermuk": ("jsonld_article.html", "text/html; charset=utf-8"),
    "/info/kapan": ("meta_only.html", "text/html;charset=utf-8"),
    "/carnets/goris-sisian.html": ("no_date.html", "text/html"),
    "/": ("homepage.html", "text/html; charset=utf-8"),
    "/armenia/sotk": ("english.html", "text/html; charset=utf-8"),
    "/archives/vardenis.htm": ("windows1252.html", "text/html"),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, tuple[bytes, str]]] = {}

    def do_GET(self) -> None:
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
def server() -> Iterator[str]:
    pages = {path: ((FIXTURES / name).read_bytes(), ctype) for path, (name, ctype) in SERVED.items()}
    handler = type("Handler", (_Handler,), {"pages": pages})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def serve(handler_pages: dict[str, tuple[bytes, str]]) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = type("Handler", (_Handler,), {"pages": handler_pages})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def get(url: str) -> tuple[bytes, str | None, str]:
    """Body, declared charset and final URL, as geomap.fetch hands them over."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as answer:
        return answer.read(), answer.headers.get_content_charset(), answer.geturl()


def read(server: str, path: str) -> Page:
    body, charset, final = get(server + path)
    return parse_page(body, url=final, charset=charset, today=TODAY)


def paragraphs(page: Page) -> list[str]:
    return page.text.split("\n\n")


EXPECTED = {
    "/depeches/afp-combats.html": dict(
        title="Arménie-Azerbaïdjan : des dizaines de soldats tués dans des combats à la frontière",
        # the dateline's 14 September wins over the portal's <time> of the 15th: "mardi" counts from it
        date=dt.date(2022, 9, 14),
        site="Fil Info Caucase",
        url="https://filinfo-caucase.example.org/depeches/armenie-azerbaidjan-combats-frontiere-goris-sotk-jermuk",
        language="fr",
        contains=[
            "EREVAN, 14 sept 2022 (AFP) - Des dizaines de soldats arméniens",
            "les localités de Goris, Sotk et Jermuk",
            "« Nous avons entendu les explosions vers deux heures du matin, puis les sirènes »",
            "appelait à « la fin immédiate des hostilités ».",
        ],
        excludes=[
            "Toutes les dépêches",
            "Rechercher",
            "Publicité",
            "Partager sur Facebook",
            "Copier le lien",
            "Dans la même rubrique",
            "Le corridor de Lachin rouvert",
            "Mentions légales",
            "Toute reproduction",
            "dataLayer",
            "depeche-body",
            "bur-at/cf",  # the desk's signature
        ],
    ),
    "/tegh-les-habitants-face-aux-tirs-nocturnes/": dict(
        title="Tegh : les habitants face aux tirs nocturnes",
        date=dt.date(2023, 9, 19),
        site="Le Journal du Syunik",
        url="https://journal-syunik.example.com/tegh-les-habitants-face-aux-tirs-nocturnes/",
        language="fr",
        contains=[
            "Dans le village frontalier de Tegh, à quelques kilomètres du corridor de Lachin",
            "« Les balles sont arrivées par la fenêtre de la cuisine, mes enfants dormaient",
            "dormaient dans la pièce d’à côté », raconte Karine, 38 ans",
            "des tirs d’armes légères & de mortiers sur la section de Tegh et de Kornidzor",
            "dorment chez des proches à Goris.",
        ],
        excludes=[
            "Accueil",
            "Nous contacter",
            "Aller au contenu",
            "Lire aussi",
            "lire aussi",
            "Kornidzor, la route coupée",
            "Jermuk : la saison touristique annulée",
            "Partager",
            "Facebook",
            "E-mail",
            "commentaire",
            "Vardan",
            "Courage aux habitants",
            "observateurs européens",
            "Articles récents",
            "Archives",
            "Hôtel Mirhav",
            "Tous droits réservés",
            "WordPress",
            "Sotk : la mine",
            "INJECTED",
            "document.write",
            "trackArticle",
            "wp--preset",
            "Publié dans",
        ],
    ),
    "/reportages/jermuk": dict(
        title="Jermuk, station thermale devenue ville du front",
        date=dt.date(2023, 9, 20),  # JSON-LD datePublished, local date; dateModified is the 21st
        site="Caucase Hebdo",
        url="https://www.caucase-hebdo.example.net/reportages/jermuk-station-thermale-front",
        language="fr",
        contains=[
            "Dans la galerie des sources, les robinets de cuivre sont secs.",
            "« On entend encore des tirs la nuit, du côté des positions au-dessus du lac Sev »",
            "Plus au sud, à Goris et à Kapan, les autorités ont ouvert des centres d'accueil",
        ],
        excludes=[
            "S'abonner",
            "Podcasts",
            "Recevez chaque vendredi",
            "fermée depuis septembre. © C. Dumont",
            "Je m'inscris",
            "Sur le même sujet",
            "À Sotk, la mine tourne",
            "Confidentialité",
            "__NEXT_DATA__",
            "pageProps",
            "css-1x2y",
        ],
    ),
    "/info/kapan": dict(
        title="Kapan : un obus tombe près de l'usine de cuivre",
        date=dt.date(2022, 9, 13),  # article:published_time, written in the outlet's own time zone
        site="Radio Syunik Info",
        url="https://radio-syunik.example.org/info/kapan-obus-usine-cuivre",
        language="fr",
        contains=[
            "Le projectile a explosé vers 21 heures dans un terrain vague",
            "fait évacuer les ouvriers vers les abris du quartier de Bakhaberd",
            "La route entre Kapan et Goris reste ouverte à la circulation.",
        ],
        excludes=[
            "Écouter le direct",
            "Météo",
            "Les plus lus",
            "Meghri : le pont rouvert",
            "WhatsApp",
            "Partager",
            "102.4 FM",
        ],
    ),
    "/carnets/goris-sisian.html": dict(
        title="Carnet de route : de Goris à Sisian par l'ancienne route",
        date=None,  # no date in the page: not the "13 septembre 2022" its text recalls, not today
        site="Carnets du Zanguezour",
        url=None,  # filled in by the test: the address it was read from
        language="fr",
        contains=[
            "L'ancienne route qui relie Goris à Sisian",
            "les grottes de Khndzoresk",
            "du marché couvert",
        ],
        excludes=["Tous les carnets", "À propos", "textes et photos des auteurs"],
    ),
    "/armenia/sotk": dict(
        title="Armenian villagers near Sotk count the cost of overnight shelling",
        date=dt.date(2023, 9, 19),  # <time datetime> only
        site="Caucasus Wire",
        url="https://news.caucasus-wire.example.com/armenia/sotk-shelling-villagers",
        language="en",
        contains=[
            "Residents of Sotk, a mining village in Armenia's Gegharkunik province",
            "fired mortars at positions near Sotk and Vardenis",
            "European Union monitors based in Yeghegnadzor",
        ],
        excludes=[
            "Subscribe",
            "Opinion",
            "Share on Facebook",
            "Read more",
            "Goris braces",
            "Privacy policy",
            "All rights reserved",
        ],
    ),
    "/archives/vardenis.htm": dict(
        title="Vardenis : l’hôpital au cœur de l’urgence",
        date=dt.date(2022, 9, 14),  # <meta name="date">
        site="L’Écho du Sevan",
        url=None,
        language="fr",
        contains=[
            "À Vardenis, l’hôpital régional a accueilli mardi onze blessés",
            "« Nous avons ouvert une deuxième salle d’opération en pleine nuit »",
            "coupée par endroits… Les donneurs de sang",
            "Œuvres caritatives et paroisses",
        ],
        excludes=["Accueil", "Sports", "Archives", "reproduction interdite", "|"],
    ),
}


@pytest.mark.parametrize("path", list(EXPECTED))
def test_pages_give_text_and_metadata(server, path):
    expected = EXPECTED[path]
    page = read(server, path)
    assert page.title == expected["title"]
    assert page.date == expected["date"]
    assert page.site == expected["site"]
    assert page.url == (expected["url"] or server + path)
    assert page.language == expected["language"]
    for snippet in expected["contains"]:
        assert snippet in page.text, snippet
    for snippet in expected["excludes"]:
        assert snippet not in page.text, snippet


@pytest.mark.parametrize("path", list(EXPECTED))
def test_text_is_clean_prose_in_paragraphs(server, path):
    page = read(server, path)
    parts = paragraphs(page)
    assert len(parts) >= 3  # paragraph breaks kept: one blank line between paragraphs
    assert "\n\n\n" not in page.text
    assert all(part == part.strip() and part for part in parts)
    assert not re.search(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+);", page.text, re.I)  # no entity left
    assert not re.search(r"<\s*/?\s*[a-z]+[^>]*>", page.text, re.I)  # no markup left
    assert "function(" not in page.text and "{" not in page.text  # no script or style content


def test_page_metadata_description_and_encoding(server):
    page = read(server, "/tegh-les-habitants-face-aux-tirs-nocturnes/")
    assert (
        page.description
        == "Dans le village frontalier de Tegh, les tirs de la nuit ont endommagé plusieurs maisons."
    )
    assert page.encoding == "utf-8"
    legacy = read(server, "/archives/vardenis.htm")
    assert legacy.encoding == "windows-1252"
    assert legacy.description == "À Vardenis, l’hôpital régional a accueilli onze blessés."


def test_a_page_without_date_never_gets_today(server):
    body, charset, final = get(server + "/carnets/goris-sisian.html")
    for today in (TODAY, dt.date.today(), None):
        page = parse_page(body, url=final, charset=charset, today=today)
        assert page.date is None


def test_a_homepage_of_links_has_no_main_text(server):
    with pytest.raises(PageError, match="no main text") as caught:
        read(server, "/")
    assert isinstance(caught.value, GeomapError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.source == server + "/"


def test_reading_is_deterministic(server):
    first = read(server, "/tegh-les-habitants-face-aux-tirs-nocturnes/")
    read(server, "/reportages/jermuk")
    assert read(server, "/tegh-les-habitants-face-aux-tirs-nocturnes/") == first


def _page(body: str, *, head: str = "", lang: str = ' lang="fr"') -> bytes:
    head = f"<meta charset='utf-8'>{head}"
    return f"<!DOCTYPE html><html{lang}><head>{head}</head><body>{body}</body></html>".encode()


PARAGRAPHS = (
    "<p>Des tirs d'armes automatiques ont visé dans la nuit les positions arméniennes situées au-dessus "
    "de Sotk, a indiqué le ministère de la Défense, qui ne signale aucun blessé.</p>"
    "<p>Les habitants de Kapan et de Goris ont entendu des explosions jusqu'à l'aube, selon les autorités "
    "de la province du Syunik, qui ont ouvert les abris des écoles.</p>"
)


def test_dates_from_the_url_only_when_complete():
    httpd, base = serve(
        {
            "/2023/09/18/tegh.html": (_page(f"<article>{PARAGRAPHS}</article>"), "text/html"),
            "/2023/09/tegh.html": (_page(f"<article>{PARAGRAPHS}</article>"), "text/html"),
        }
    )
    try:
        body, charset, final = get(base + "/2023/09/18/tegh.html")
        assert parse_page(body, url=final, charset=charset, today=TODAY).date == dt.date(2023, 9, 18)
        body, charset, final = get(base + "/2023/09/tegh.html")
        assert parse_page(body, url=final, charset=charset, today=TODAY).date is None  # a month is no day
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    ("dateline", "date"),
    [
        ("BAKOU (Azerbaïdjan), 1er octobre 2023 (AFP) —", dt.date(2023, 10, 1)),
        ("EREVAN, 14 sept. 2022 (AFP) -", dt.date(2022, 9, 14)),
        ("STEPANAKERT, 19 sept 2023 (AFP) –", dt.date(2023, 9, 19)),
        ("YEREVAN, Sept. 14, 2022 (Reuters) -", dt.date(2022, 9, 14)),
        ("Erevan, le 14 septembre 2022 -", None),  # no agency, no capitals: a sentence, not a dateline
        ("EREVAN, 31 sept 2022 (AFP) -", None),  # no such day
    ],
)
def test_agency_datelines_date_a_page(dateline, date):
    body = _page(f"<article><h1>Combats à la frontière</h1><p>{dateline} " + PARAGRAPHS[3:] + "</article>")
    assert parse_page(body, today=TODAY).date == date


def test_a_dateline_later_than_the_page_metadata_is_not_believed():
    head = '<meta property="article:published_time" content="2022-09-10T10:00:00+00:00">'
    body = f"<article><p>EREVAN, 14 sept 2022 (AFP) - {PARAGRAPHS[3:]}</article>"
    assert parse_page(_page(body, head=head), today=TODAY).date == dt.date(2022, 9, 10)
    assert parse_page(_page(body), today=dt.date(2022, 9, 1)).date is None


def test_a_date_after_today_is_not_a_publication_date():
    head = '<meta property="article:published_time" content="2031-01-01T10:00:00+00:00">'
    page = _page(f"<article>{PARAGRAPHS}</article>", head=head)
    assert parse_page(page, today=TODAY).date is None
    assert parse_page(page, today=dt.date(2031, 1, 1)).date == dt.date(2031, 1, 1)


def test_scripts_styles_and_templates_are_dropped_not_run():
    body = _page(
        "<article>"
        + PARAGRAPHS
        + "<script>window.PWNED = true; alert('x')</script><style>p{color:red}</style>"
        + "<noscript>Activez JavaScript</noscript><template><p>Modèle caché</p></template>"
        + "<p onclick=\"alert('y')\">Le maire de Sotk a demandé aux familles de rester dans les abris "
        "jusqu'à nouvel ordre, selon un communiqué publié mardi.</p></article>"
    )
    page = parse_page(body, today=TODAY)
    assert "Le maire de Sotk a demandé aux familles" in page.text
    for code in ("PWNED", "alert", "color:red", "Activez JavaScript", "Modèle caché", "onclick"):
        assert code not in page.text


def test_entities_escaped_twice_are_decoded():
    body = _page(
        "<article><p>&amp;laquo;&amp;nbsp;Nous restons&amp;nbsp;&amp;raquo;, dit le maire de Tegh, "
        "qui refuse d&amp;#8217;&amp;eacute;vacuer le village malgr&amp;eacute; les tirs de la nuit.</p>"
        + PARAGRAPHS
        + "</article>"
    )
    page = parse_page(body, today=TODAY)
    assert "«\xa0Nous restons\xa0», dit le maire de Tegh, qui refuse d’évacuer le village malgré" in page.text


def test_language_declared_detected_and_overruled():
    article = f"<article>{PARAGRAPHS}</article>"
    assert parse_page(_page(article, lang=""), today=TODAY).language == "fr"
    # a template declaring en-US over a French article (WordPress default): the text decides
    assert parse_page(_page(article, lang=' lang="en-US"'), today=TODAY).language == "fr"
    head = '<meta property="og:locale" content="fr_FR">'
    assert parse_page(_page(article, head=head, lang=""), today=TODAY).language == "fr"
    graph = '{"@graph": [{"@type": "NewsArticle", "inLanguage": "ru-RU"}]}'
    ld = f'<script type="application/ld+json">{graph}</script>'
    short = "<article><p>Горис.</p><p>" + "Обстрел. " * 3 + "</p><p>" + "Капан " * 20 + "</p></article>"
    assert parse_page(_page(short, head=ld, lang=""), today=TODAY).language == "ru"


def test_canonical_url_is_http_only_and_resolved():
    text = f"<article>{PARAGRAPHS}</article>"
    hostile = _page(text, head='<link rel="canonical" href="javascript:alert(1)">')
    assert parse_page(hostile, url="https://journal-syunik.example.com/a", today=TODAY).url == (
        "https://journal-syunik.example.com/a"
    )
    relative = _page(text, head='<link rel="canonical" href="/tegh/">')
    assert parse_page(relative, url="https://journal-syunik.example.com/a?utm=x", today=TODAY).url == (
        "https://journal-syunik.example.com/tegh/"
    )
    assert parse_page(_page(text), url="file:///etc/passwd", today=TODAY).url is None


def test_text_input_and_xhtml_declaration():
    xhtml = (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="fr">'
        f"<head><title>Sotk</title></head><body><article>{PARAGRAPHS}</article></body></html>"
    )
    page = parse_page(xhtml, today=TODAY)
    assert page.encoding is None
    assert page.language == "fr"
    assert "positions arméniennes situées au-dessus de Sotk" in page.text


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary data"),
        (b"Juste du texte, sans balise, comme un fichier .txt mal nomm\xc3\xa9.", "not an HTML page"),
        (b"", "not an HTML page"),
        (_page("<nav><a href='/'>Accueil</a></nav>"), "no main text"),
    ],
)
def test_bad_pages_are_refused_with_a_reason(data, reason):
    with pytest.raises(PageError, match=reason):
        parse_page(data, url="https://example.com/x", today=TODAY)


@pytest.mark.parametrize(
    "box",
    [
        '<p><strong>Lire aussi :</strong> <a href="/a">Kornidzor, la route coupée</a></p>',
        '<p class="article__paragraph">Lire aussi | <a href="/a">Kornidzor, la route coupée</a></p>',
        '<p>» À LIRE AUSSI &gt;&gt; <a href="/a">Kornidzor, la route coupée</a></p>',
        '<p>A lire également : <a href="/a">Kornidzor, la route coupée</a></p>',
        '<p><em>Voir aussi</em> - <a href="/a">Kornidzor, la route coupée</a></p>',
        '<aside class="LireAussi"><h3>Lire aussi</h3><ul><li><a href="/a">Kornidzor, la route coupée</a></li>'
        '<li><a href="/b">Jermuk sous les obus</a></li></ul></aside>',
        '<div class="related-articles"><figure><a href="/a"><img src="/k.jpg" alt=""></a>'
        "<figcaption>Kornidzor, la route coupée</figcaption></figure></div>",
        '<div class="share-buttons"><a href="#">Partager sur Facebook</a> '
        '<a href="#">Kornidzor, la route coupée</a></div>',
    ],
)
def test_see_also_boxes_and_share_buttons_are_dropped(box):
    first, second = PARAGRAPHS.split("</p>", 1)
    body = _page(f"<article><h1>Tirs près de Sotk</h1>{first}</p>{box}{second}</article>")
    page = parse_page(body, today=TODAY)
    assert "Kornidzor" not in page.text
    assert "Partager" not in page.text
    assert "positions arméniennes situées au-dessus de Sotk" in page.text
    assert "ont ouvert les abris des écoles." in page.text


def test_an_html_fragment_saved_alone_is_read():
    fragment = PARAGRAPHS.encode()
    page = parse_page(fragment, today=TODAY)
    assert page.text.count("\n\n") == 1
    assert page.title is None and page.date is None and page.url is None


def test_a_page_too_large_is_refused_before_parsing():
    with pytest.raises(PageError, match="too large"):
        parse_page(b"<p>" + b"x" * 20_000_001, today=TODAY)


def test_reading_a_page_opens_no_connection(server, monkeypatch):
    body, charset, final = get(server + "/depeches/afp-combats.html")

    def refuse(*args, **kwargs):
        raise AssertionError("reading a page must not open a socket")

    for name in ("socket", "create_connection", "getaddrinfo"):
        monkeypatch.setattr(f"socket.{name}", refuse)
    page = parse_page(body, url=final, charset=charset, today=TODAY)
    assert page.date == dt.date(2022, 9, 14)


# --- decoding ---------------------------------------------------------------------------------------

WORDS = "À Goris, l’hôpital « Œuvre » accueille… les blessés"


@pytest.mark.parametrize(
    ("data", "charset", "text", "encoding"),
    [
        (f"<p>{WORDS}</p>".encode(), None, WORDS, "utf-8"),
        (f"<p>{WORDS}</p>".encode("cp1252"), None, WORDS, "windows-1252"),
        (f'<meta charset="windows-1252"><p>{WORDS}</p>'.encode("cp1252"), None, WORDS, "windows-1252"),
        # browsers read an ISO-8859-1 label as Windows-1252: 0x92 is a curly apostrophe
        (f'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"><p>{WORDS}</p>'
         .encode("cp1252"), None, WORDS, "windows-1252"),
        # a page that declares UTF-8 but is not: the bytes decide
        (f'<meta charset="utf-8"><p>{WORDS}</p>'.encode("cp1252"), None, WORDS, "windows-1252"),
        # the HTTP header wins over the page's <meta>
        (f'<meta charset="utf-8"><p>{WORDS}</p>'.encode("cp1252"), "windows-1252", WORDS, "windows-1252"),
        ("<meta charset='koi8-r'><p>Горис</p>".encode("koi8_r"), None, "Горис", "koi8-r"),
        ("\ufeff<p>Горис</p>".encode("utf-16-le"), None, "<p>Горис</p>", "utf-16"),
        ("<p>Горис</p>".encode("utf-16-le"), "utf-16le", "<p>Горис</p>", "utf-16-le"),
        # UTF-7 is refused as a label (it hides markup); UTF-8 is tried instead
        (f'<meta charset="utf-7"><p>{WORDS}</p>'.encode(), None, WORDS, "utf-8"),
        (f'<meta charset="no-such-charset"><p>{WORDS}</p>'.encode(), None, WORDS, "utf-8"),
        (f'<meta charset="unicode_escape"><p>{WORDS} \\x41</p>'.encode(), None, WORDS + " \\x41", "utf-8"),
        (f'<meta charset="rot13"><p>{WORDS}</p>'.encode(), None, WORDS, "utf-8"),
    ],
)  # fmt: skip
def test_decoding_follows_the_declared_charset_then_utf8_then_windows_1252(data, charset, text, encoding):
    decoded, used = decode_html(data, charset=charset)
    assert text in decoded
    assert used == encoding


def test_windows_1252_page_declared_by_meta_reads_right(server):
    body, charset, _ = get(server + "/archives/vardenis.htm")
    assert charset is None  # only the page's <meta> says it
    assert b"\x92" in body
    page = parse_page(body, today=TODAY)
    assert "cœur" in page.title
    assert "\ufffd" not in page.text and "Ã" not in page.text
