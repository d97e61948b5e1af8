"""Articles from the web through ``geomap build``: saved pages, a feed and page URLs served on
127.0.0.1, URL lists, standard input, the daily re-run and every bad case named."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from geomap.cli import cli
from geomap.web import scheme, url_id, url_list

PAGES = Path(__file__).parent / "fixtures" / "pages"
FEEDS = Path(__file__).parent / "fixtures" / "feeds"


@dataclass
class Site:
    """What the local server answers: path -> (status, content type, body, extra headers)."""

    routes: dict[str, tuple[int, str, bytes, dict[str, str]]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    base: str = ""

    def page(self, path: str, fixture: str, *, etag: str | None = None) -> str:
        headers = {"ETag": etag} if etag else {}
        self.routes[path] = (200, "text/html; charset=utf-8", (PAGES / fixture).read_bytes(), headers)
        return self.base + path


def handler_for(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append((self.path, dict(self.headers)))
            status, kind, body, headers = site.routes.get(self.path, (404, "text/plain", b"not found", {}))
            if status == 200 and headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
                self.send_response(304)
                self.send_header("ETag", headers["ETag"])
                self.end_headers()
                return
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(served))
    served.base = f"http://127.0.0.1:{server.server_address[1]}"
    served.routes["/robots.txt"] = (200, "text/plain", b"User-agent: *\nDisallow: /prive/\n", {})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fetch cache of these runs in tmp_path (the world index stays where it is)."""
    cache = tmp_path / "fetch.sqlite"
    monkeypatch.setattr("geomap.fetch.default_cache_path", lambda: cache)
    return cache


def build(*args: str | Path, out: Path, stdin: str | None = None):  # -> click.testing.Result
    return CliRunner().invoke(
        cli, ["build", *map(str, args), "--out", str(out), "--fetch-delay", "0"], input=stdin
    )


def incidents(out: Path) -> list[dict]:
    return [f["properties"] for f in json.loads((out / "incidents.geojson").read_text())["features"]]


def summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


# --- small pieces ---------------------------------------------------------------------------------


def test_url_ids_are_stable_and_readable() -> None:
    assert (
        url_id("https://example.org/2022/09/14/tirs-a-goris/?utm=x#haut")
        == "example.org/2022/09/14/tirs-a-goris"
    )
    assert scheme("https://example.org") == "https" and scheme("file:///etc/passwd") == "file"
    assert scheme("C:/articles/a.txt") is None and scheme("articles/a.txt") is None


def test_a_text_file_is_a_url_list_only_when_every_line_is_a_url() -> None:
    assert url_list("# flux du jour\nhttps://a.example.org/rss\n\nhttp://b.example.org/x\n") == [
        "https://a.example.org/rss",
        "http://b.example.org/x",
    ]
    assert url_list("Des tirs à Goris, selon https://a.example.org/x\n") is None
    assert url_list("https://a.example.org/x\nDes tirs à Goris.\n") is None
    assert url_list("\n# rien\n") is None


# --- saved pages ----------------------------------------------------------------------------------


def test_a_folder_of_saved_pages_gives_dated_incidents(tmp_path: Path) -> None:
    out = tmp_path / "maps"
    done = build(PAGES, "--offline", out=out)
    assert done.exit_code == 3, done.output  # the German page and the homepage are named
    assert "german.html: written in German (de); geomap reads French and English" in done.output
    assert "homepage.html: no main text" in done.output
    found = incidents(out)
    assert found and all(i["date"] for i in found)
    assert {i["time_precision"] for i in found} <= {1, 2, 3}
    afp = [i for i in found if i["doc"] == "afp_dispatch"]
    assert afp and all(json.loads(i["sources"])[0]["url"].startswith("https://") for i in afp)
    english = [i for i in found if i["doc"] == "english"]  # read with the English pack (lang="en-GB")
    assert english and {i["place"] for i in english} & {"Sotk", "Vardenis"}, english
    assert summary(out)["skipped_languages"] == {"de": 1}
    assert summary(out)["languages"] == {"en": 1, "fr": 6}


def test_an_article_without_a_date_of_its_own_takes_its_pages(tmp_path: Path) -> None:
    page = tmp_path / "tirs.html"
    page.write_text(
        "<html><head><title>Tirs à Sotk</title>"
        '<meta property="article:published_time" content="2022-09-14T08:00:00+04:00"></head><body>'
        "<article><h1>Tirs à Sotk</h1><p>Des tirs d'artillerie ont visé le village de Sotk, dans la "
        "province de Gegharkunik, selon le ministère arménien de la Défense qui fait état de deux "
        "soldats blessés.</p><p>Hier, un drone a frappé une position près de Jermuk, a précisé le "
        "ministère dans un communiqué publié en fin de matinée.</p></article></body></html>",
        encoding="utf-8",
    )
    out = tmp_path / "maps"
    done = build(page, "--offline", out=out)
    assert done.exit_code == 0, done.output
    dates = {(i["place"], i["date"], i["time_precision"], i["date_precision"]) for i in incidents(out)}
    assert ("Sotk", "2022-09-14", 2, "reported") in dates
    assert ("Jermuk", "2022-09-13", 1, "day") in dates


# --- a feed and pages served on 127.0.0.1 ---------------------------------------------------------


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Fil Caucase</title><link>{base}/</link><description>Dépêches</description>
<item><title>Combats à la frontière</title><link>{base}/depeches/afp</link>
<pubDate>Wed, 14 Sep 2022 09:10:00 +0400</pubDate></item>
<item><title>Tegh sous les tirs</title><link>{base}/articles/tegh</link>
<pubDate>Tue, 19 Sep 2023 18:42:00 +0000</pubDate></item>
<item><title>Disparu</title><link>{base}/articles/disparu</link></item>
<item><title>Privé</title><link>{base}/prive/note</link></item>
</channel></rss>
"""


def serve_feed(site: Site) -> str:
    site.page("/depeches/afp", "afp_dispatch.html", etag='"afp-1"')
    site.page("/articles/tegh", "wordpress_article.html", etag='"tegh-1"')
    site.page("/prive/note", "meta_only.html")
    body = RSS.format(base=site.base).encode()
    site.routes["/flux.xml"] = (200, "application/rss+xml; charset=utf-8", body, {"ETag": '"flux-1"'})
    return site.base + "/flux.xml"


def test_a_feed_served_locally_gives_dated_incidents_and_names_what_failed(
    site: Site, tmp_path: Path, isolated_cache: Path
) -> None:
    out = tmp_path / "maps"
    done = build(serve_feed(site), out=out)
    assert done.exit_code == 3, done.output
    assert isolated_cache.exists()  # the run's cache, not the user's
    assert f"{site.base}/articles/disparu: HTTP 404" in done.output
    assert f"{site.base}/prive/note: refused by robots.txt" in done.output
    assert ("/prive/note",) not in [(p,) for p, _ in site.requests]
    found = incidents(out)
    assert {i["doc"] for i in found} == {
        url_id(f"{site.base}/depeches/afp"),
        url_id(f"{site.base}/articles/tegh"),
    }
    assert all(i["date"] for i in found)
    agents = {headers.get("User-Agent", "") for _, headers in site.requests}
    assert all(agent.startswith("geomap/") for agent in agents)


def test_the_daily_run_sends_conditional_requests_and_processes_nothing_new(
    site: Site, tmp_path: Path, isolated_cache: Path
) -> None:
    out = tmp_path / "maps"
    feed = serve_feed(site)
    assert build(feed, out=out).exit_code == 3
    first = (out / "incidents.geojson").stat().st_mtime_ns
    site.requests.clear()
    again = build(feed, out=out)
    assert again.exit_code == 3, again.output
    conditional = {path for path, headers in site.requests if headers.get("If-None-Match")}
    assert {"/flux.xml", "/depeches/afp", "/articles/tegh"} <= conditional
    # the same pages: nothing changed, so the outputs of the first run are kept as they are
    assert (out / "incidents.geojson").stat().st_mtime_ns == first
    assert summary(out)["run"] == {"reused_articles": 0, "processed_articles": 2}


def test_page_urls_and_a_list_of_urls(site: Site, tmp_path: Path, isolated_cache: Path) -> None:
    first = site.page("/depeches/afp", "afp_dispatch.html")
    second = site.page("/articles/tegh", "wordpress_article.html")
    listing = tmp_path / "a-lire.txt"
    listing.write_text(f"# à lire\n{second}\n", encoding="utf-8")
    out = tmp_path / "maps"
    done = build(first, listing, out=out)
    assert done.exit_code == 0, done.output
    assert summary(out)["articles"] == 2


def test_offline_names_every_input_that_needs_the_network(site: Site, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Des tirs ont visé le village de Sotk mardi, selon Erevan.", encoding="utf-8")
    listing = tmp_path / "liste.txt"
    listing.write_text(f"{site.base}/a\n{site.base}/b\n", encoding="utf-8")
    out = tmp_path / "maps"
    done = build(article, f"{site.base}/flux.xml", listing, FEEDS / "rss2.xml", "--offline", out=out)
    assert done.exit_code == 3, done.output
    assert f"{site.base}/flux.xml: not fetched: --offline" in done.output
    assert f"{listing}: 2 addresses not fetched: --offline" in done.output
    assert "rss2.xml: " in done.output and "entries not fetched: --offline" in done.output
    assert site.requests == []
    assert summary(out)["articles"] == 1


@pytest.mark.parametrize(
    ("route", "answer", "reason"),
    [
        ("/erreur", (500, "text/plain", b"boom", {}), "HTTP 500"),
        ("/casse.xml", (200, "application/rss+xml", (FEEDS / "garbage.xml").read_bytes(), {}), "broken XML"),
        ("/vide", (200, "text/html", (PAGES / "homepage.html").read_bytes(), {}), "no main text"),
        ("/image", (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, {}), "not a web page or a feed"),
        ("/boucle", (302, "text/plain", b"", {"Location": "/boucle"}), "redirect"),
        ("/enorme", (200, "text/html", b"<html><body>" + b"x" * (11 * 2**20), {}), "larger than"),
    ],
)
def test_each_bad_web_input_is_named_and_the_rest_completes(
    site: Site, tmp_path: Path, isolated_cache: Path, route: str, answer: tuple, reason: str
) -> None:
    site.routes[route] = answer
    good = site.page("/depeches/afp", "afp_dispatch.html")
    out = tmp_path / "maps"
    done = build(site.base + route, good, out=out)
    assert done.exit_code == 3, done.output
    line = next(line for line in done.output.splitlines() if route in line)
    assert reason in line, line
    assert summary(out)["articles"] == 1 and incidents(out)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)", "ftp://example.org/a"])
def test_urls_of_other_schemes_are_refused_by_name(tmp_path: Path, url: str) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Des tirs ont visé le village de Sotk mardi.", encoding="utf-8")
    done = build(url, article, "--offline", out=tmp_path / "maps")
    assert done.exit_code == 3
    assert f"{url}: scheme" in done.output and "is not read" in done.output


# --- standard input ---------------------------------------------------------------------------------


def test_stdin_reads_one_article(tmp_path: Path) -> None:
    out = tmp_path / "maps"
    done = build("-", "--offline", out=out, stdin="Des obus sont tombés sur le village de Tegh hier soir.\n")
    assert done.exit_code == 0, done.output
    assert [i["doc"] for i in incidents(out)] == ["stdin"]


def test_stdin_reads_json_lines(tmp_path: Path) -> None:
    records = [
        {"id": "un", "text": "Des tirs ont visé Sotk.", "date": "2022-09-13"},
        {"id": "deux", "text": "Un drone a frappé Jermuk hier.", "date": "2022-09-14"},
    ]
    out = tmp_path / "maps"
    stdin = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    done = build("-", "--offline", out=out, stdin=stdin)
    assert done.exit_code == 0, done.output
    dates = {(i["doc"], i["date"]) for i in incidents(out)}
    assert dates == {("un", "2022-09-13"), ("deux", "2022-09-13")}


def test_stdin_reads_a_web_page(tmp_path: Path) -> None:
    out = tmp_path / "maps"
    done = build("-", "--offline", out=out, stdin=(PAGES / "jsonld_article.html").read_text(encoding="utf-8"))
    assert done.exit_code == 0, done.output
    assert summary(out)["articles"] == 1
    assert all(i["date"] for i in incidents(out))
