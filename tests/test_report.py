"""report.html: the page's HTML (rows, sectors, escaping, images, policy), then the page itself in
headless Chromium with every request outside the file blocked (sorting, filtering, hostile text,
printing). The incidents are made here and placed in the real border sectors by the zones stage."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import random
import re
import shutil
import subprocess
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from geomap import report
from geomap.areas import default_areas
from geomap.models import Article, Incident, Place
from geomap.theatre import shipped
from geomap.zones import BorderZones

HOSTILE = (
    "<img src=x onerror=alert(1)> </script><script>window.__pwned=1</script> {{7*7}} "
    '${window.__pwned=3} <svg onload="window.__pwned=4"> \u2028 & &amp;'
)
HOSTILE_TYPE = 'Armed clash <svg onload="window.__pwned=5">'
TOWNS = {  # (lat, lon, country): towns near the border, then one far from it
    "Tegh": (39.556, 46.482, "AM"),
    "Sotk": (40.204, 45.934, "AM"),
    "Jermuk": (39.841, 45.672, "AM"),
    "Kapan": (39.207, 46.405, "AM"),
    "Ijevan": (40.878, 45.148, "AM"),
    "Tovuz": (40.992, 45.628, "AZ"),
}
TYPES = ("Armed clash", "Shelling/artillery/missile attack", "Air/drone strike", "Ceasefire violation")
FATALITIES = (2, 10, 100, None, 0, 3, 1, None)  # "10" < "100" < "2" as text: sorted as numbers here


def town(name: str, lat: float, lon: float, country: str, kind: str = "town") -> Place:
    return Place(id=f"p-{name}", name=name, kind=kind, country=country, lat=lat, lon=lon)


def make_incidents(count: int = 16) -> list[Incident]:
    """``count`` ordinary incidents along the border, then a hostile one, one placed only at country
    level and one far from the border."""
    names = list(TOWNS)
    found = []
    for k in range(count):
        name = names[k % len(names)]
        found.append(
            Incident(
                id=f"i{k:05d}", doc=f"d{k % 7}", event_type="Battles", sub_event_type=TYPES[k % 4],
                place=town(name, *TOWNS[name]), mention=name, geo_precision=1,
                evidence=f"Un habitant de {name} décrit des tirs nourris, rapporte le témoin n°{k}.",
                date=None if k % 9 == 8 else dt.date(2022, 9, 1) + dt.timedelta(days=(k * 5) % 60),
                date_precision="day" if k % 5 else "week", fatalities=FATALITIES[k % len(FATALITIES)],
                actors=("Armed Forces of Armenia", "Armed Forces of Azerbaijan") if k % 3 else (),
                sources=({"doc": f"d{k % 7}", "title": f"Dépêche {k % 7}",
                          "url": f"https://example.org/depeche-{k % 7}"},),
            )
        )  # fmt: skip
    found.append(
        Incident(
            id="hostile", doc="dh", event_type="Battles", sub_event_type=HOSTILE_TYPE,
            place=town("Vardenis <b>x</b>", 40.183, 45.731, "AM"), mention="Vardenis", geo_precision=1,
            evidence=f"Un témoin a écrit {HOSTILE} sur un mur.", date=dt.date(2022, 9, 18),
            date_precision="day", fatalities=4, actors=(f"acteur {HOSTILE}",),
            sources=({"doc": "dh", "title": f"titre {HOSTILE}", "url": "javascript:alert(1)"},
                     {"doc": "dh2", "title": "suite", "url": "https://example.org/suite?a=1&b=<2>"},
                     {"doc": "dh3", "title": "data", "url": "data:text/html,<script>alert(1)</script>"}),
        )
    )  # fmt: skip
    found.append(
        Incident(
            id="country", doc="dc", event_type="Battles", sub_event_type="Armed clash",
            place=town("Armenia", 40.07, 45.04, "AM", kind="country"), mention="Arménie",
            geo_precision=3, evidence="Des combats sont signalés en Arménie.", date=dt.date(2022, 9, 20),
            date_precision="month", fatalities=7,
        )
    )  # fmt: skip
    found.append(
        Incident(
            id="far", doc="df", event_type="Battles", sub_event_type="Ceasefire violation",
            place=town("Gyumri", 40.789, 43.847, "AM"), mention="Gyumri", geo_precision=1,
            evidence="Un incident est signalé à Gyumri.", date=dt.date(2022, 10, 2), date_precision="day",
        )
    )  # fmt: skip
    return found


ARTICLES = [
    Article(id="d0", text="…", source="Agence A"),
    Article(id="d1", text="…", url="https://www.example.org/x"),
    Article(id="d2", text="…", url="https://example.org/y"),
    Article(id="d3", text="…", url="javascript:alert(1)"),
]


@pytest.fixture(scope="module")
def border_zones() -> BorderZones:
    areas = default_areas()
    if areas is None:
        pytest.skip("the gazetteer ships no areas")
    return BorderZones(areas, shipped()["armenia-azerbaijan"])


@pytest.fixture(scope="module")
def placed(border_zones: BorderZones) -> tuple[list[Incident], dict[str, Any]]:
    """The incidents with their sectors, as the pipeline places them, and zones.geojson's collection."""
    incidents = border_zones.place(make_incidents())
    return incidents, border_zones.geojson(incidents)


def svg_image(text: str = "timeline") -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2))
    ax.bar(range(5), [1, 3, 2, 5, 4])
    ax.set_title(text)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    return buffer.getvalue()


def tree(page: str) -> Any:
    return lxml_html.document_fromstring(page)


def cell_texts(doc: Any, table: str) -> list[list[str]]:
    return [
        [td.text_content() for td in tr.findall("td")] for tr in doc.xpath(f"//table[@id='{table}']/tbody/tr")
    ]


# --- the HTML ----------------------------------------------------------------------------------------


def test_one_row_per_incident_oldest_first(placed: tuple[list[Incident], dict[str, Any]]) -> None:
    incidents, zones = placed
    doc = tree(report.render(incidents, title="Rapport", zones=zones))
    rows = doc.xpath("//table[@id='incidents']/tbody/tr")
    assert len(rows) == len(incidents)
    assert [int(r.get("data-row")) for r in rows] == list(range(len(incidents)))
    ordered = report.incident_order(incidents)
    assert sorted(i.id for i in ordered) == sorted(i.id for i in incidents)
    texts = cell_texts(doc, "incidents")
    assert [t[5] for t in texts] == [i.evidence for i in ordered]
    dates = [i.date for i in ordered]
    undated = dates.index(None)
    assert dates[:undated] == sorted(dates[:undated]) and set(dates[undated:]) == {None}
    assert texts[undated][0] == "unknown"
    headings = [th.text_content() for th in doc.xpath("//table[@id='incidents']/thead/tr/th")]
    assert headings == ["Date", "Type", "Place", "Fatalities", "Actors", "Evidence", "Sources"]
    month = next(t for t, i in zip(texts, ordered, strict=True) if i.id == "country")
    assert month[0] == "2022-09 (month)" and "country or region level" in month[2]


def test_hostile_text_stays_text(placed: tuple[list[Incident], dict[str, Any]]) -> None:
    incidents, zones = placed
    page = report.render(incidents, title=f"Rapport {HOSTILE}", zones=zones)
    assert "<img src=x" not in page and "<svg onload" not in page and "<b>x</b>" not in page
    doc = tree(page)
    assert not re.search(r"(?<![\w.-])49(?![\w.-])", doc.text_content())  # {{7*7}} is never evaluated
    assert doc.findtext(".//title") == f"Rapport {HOSTILE}"
    assert doc.xpath("string(//h1)") == f"Rapport {HOSTILE}"
    # No element or attribute that the article could have brought in.
    assert doc.xpath("//img | //svg | //b | //iframe | //object | //embed") == []
    assert len(doc.xpath("//script")) == 2  # the data block and the page's own script
    assert doc.xpath("//@*[starts-with(name(), 'on')]") == []
    row = next(tr for tr in doc.xpath("//table[@id='incidents']/tbody/tr") if "Vardenis" in tr.text_content())
    cells = [td.text_content() for td in row.findall("td")]
    assert cells[1] == HOSTILE_TYPE
    assert cells[2].startswith("Vardenis <b>x</b> (AM)")
    assert cells[4] == f"acteur {HOSTILE}"
    assert cells[5] == f"Un témoin a écrit {HOSTILE} sur un mur."
    assert {e.tag for e in row.iter()} <= {"tr", "td", "span", "small", "br", "a"}
    # Links: http(s) only; the javascript: and data: sources are shown as text, unlinked.
    assert row.xpath(".//a/@href") == ["https://example.org/suite?a=1&b=<2>"]
    assert f"titre {HOSTILE}" in cells[6] and "data" in cells[6]
    hrefs = doc.xpath("//@href | //@src | //@action")
    assert all(h.startswith(("https://", "http://", "data:image/")) for h in hrefs), hrefs
    # The type filter offers the hostile type as text, its value the type itself.
    assert HOSTILE_TYPE in doc.xpath("//select[@id='filter-type']/option/@value")


def test_script_data_is_json_that_cannot_close_its_element(
    placed: tuple[list[Incident], dict[str, Any]],
) -> None:
    incidents, zones = placed
    page = report.render(incidents, zones=zones)
    raw = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert raw is not None
    text = raw.group(1)
    assert not set("<>&\u2028\u2029") & set(text)
    data = json.loads(text)
    ordered = report.incident_order(incidents)
    assert len(data["incidents"]) == len(ordered)
    assert [row[5] for row in data["incidents"]] == [i.evidence for i in ordered]
    assert [row[3] for row in data["incidents"]] == [i.fatalities for i in ordered]
    assert [row[1] for row in data["incidents"]] == [i.sub_event_type for i in ordered]
    assert len(data["sectors"]) == len([f for f in zones["features"] if f["properties"]["kind"] == "sector"])


def test_sector_table_matches_the_zones_stage(placed: tuple[list[Incident], dict[str, Any]]) -> None:
    incidents, zones = placed
    sectors = [f["properties"] for f in zones["features"] if f["properties"]["kind"] == "sector"]
    table = report.sector_table(incidents, zones)
    assert [r.name for r in table.rows] == [s["name"] for s in sectors]  # north to south, quiet ones too
    assert [r.incidents for r in table.rows] == [s["incidents"] for s in sectors]
    assert sum(r.incidents for r in table.rows) == len(incidents) - 2
    assert table.country_level == 1 and table.beyond == 1 and table.widest_km == 20
    busiest = max(table.rows, key=lambda r: r.incidents)
    mine = [i for i in incidents if i.sector == busiest.name]
    assert busiest.fatalities == sum(i.fatalities or 0 for i in mine)
    assert busiest.last == max(i.date for i in mine if i.date)
    assert busiest.length_km == next(s["length_km"] for s in sectors if s["name"] == busiest.name)

    doc = tree(report.render(incidents, zones=zones))
    rows = cell_texts(doc, "sectors")
    assert len(rows) == len(sectors)
    shown = {r[0]: r for r in rows}
    last = busiest.last.isoformat() if busiest.last else ""
    assert shown[busiest.name][2:] == [str(busiest.incidents), str(busiest.fatalities), last]
    foot = [
        " ".join(" ".join(c.text_content() for c in tr).split())
        for tr in doc.xpath("//table[@id='sectors']/tfoot/tr")
    ]
    assert foot == [
        f"All sectors {len(incidents) - 2} {sum(r.fatalities for r in table.rows)}",
        "Outside the border zones (more than 20 km from the border) 1",
        "Located only at country or region level 1",
    ]


def test_without_zones_the_report_says_so() -> None:
    incidents = make_incidents(4)
    doc = tree(report.render(incidents))
    assert doc.xpath("//table[@id='sectors']") == []
    assert "no border zones were computed" in doc.xpath("string(//section[@id='sectors-section'])")
    assert len(doc.xpath("//table[@id='incidents']/tbody/tr")) == len(incidents)


def test_empty_report() -> None:
    doc = tree(report.render([], title="Rien"))
    assert doc.xpath("//table[@id='incidents']/tbody/tr") == []
    assert "no dated incident" in doc.xpath("string(//dl)")


def test_figures_count_articles_and_outlets(placed: tuple[list[Incident], dict[str, Any]]) -> None:
    incidents, zones = placed
    assert report.outlets(ARTICLES) == {"agence a", "example.org"}
    figures = " ".join(
        tree(report.render(incidents, zones=zones, articles=ARTICLES)).xpath("//dl")[0].itertext()
    )
    assert "4 articles from 2 outlets" in figures
    assert "2022-09-01 to 2022-10-26" in figures
    known = [i.fatalities for i in incidents if i.fatalities is not None]
    assert f"{sum(known)} ({len(incidents) - len(known)} incidents without a figure)" in figures


def test_images_are_data_uris_and_svg_never_inline(placed: tuple[list[Incident], dict[str, Any]]) -> None:
    incidents, _ = placed
    svg = svg_image("timeline").replace("</svg>", "<script>window.__svg_ran=1</script></svg>")
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    doc = tree(report.render(incidents, timeline=svg, static_map=png))
    sources = doc.xpath("//img/@src")
    assert len(sources) == 2
    timeline = doc.xpath("//img[@id='timeline']/@src")[0]
    assert timeline.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(timeline.split(",", 1)[1]).decode("utf-8") == svg
    assert doc.xpath("//svg | //script[contains(., '__svg_ran')]") == []
    static = doc.xpath("//figure[contains(@class, 'static-map')]")[0]
    assert "print-only" not in static.get("class")  # no interactive map: the picture shows on screen too
    assert static.find("img").get("src") == "data:image/png;base64," + base64.b64encode(png).decode()
    with pytest.raises(report.ReportError):
        report.render(incidents, timeline=b"GIF89a....")


def test_map_is_embedded_offline_and_sandboxed(placed: tuple[list[Incident], dict[str, Any]]) -> None:
    incidents, zones = placed
    map_html = report.interactive_map(incidents, [], title="Carte", zones=zones)
    assert "tile.openstreetmap.org" not in map_html
    page = report.render(incidents, zones=zones, map_html=map_html, static_map=b"\x89PNG\r\n\x1a\n")
    doc = tree(page)
    frame = doc.xpath("//iframe[@id='map']")[0]
    assert frame.get("sandbox") == "allow-scripts allow-popups allow-popups-to-escape-sandbox"
    assert "src" not in frame.attrib
    assert frame.get("srcdoc") == report._local_styles(map_html)  # the map, whole, as the attribute's text
    assert "print-only" in doc.xpath("//figure[contains(@class, 'static-map')]/@class")[0]
    with pytest.raises(report.ReportError, match="offline"):
        report.render(incidents, map_html='<script src="https://cdn.example.org/leaflet.js"></script>')
    styled = report._local_styles("<style>@font-face{src:url('//cdn.example.org/f.ttf'),url(data:x)}</style>")
    assert styled == "<style>@font-face{src:url(data:,),url(data:x)}</style>"


def test_policy_allows_only_the_pages_own_scripts(placed: tuple[list[Incident], dict[str, Any]]) -> None:
    incidents, zones = placed
    map_html = report.interactive_map(incidents, [], title="Carte", zones=zones)
    page = report.render(incidents, zones=zones, map_html=map_html)
    doc = tree(page)
    policy = doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["default-src"] == ["'none'"]
    assert directives["img-src"] == ["data:"]
    scripts = [s.text or "" for s in doc.xpath("//script[not(@type)]")]
    scripts += [s.text or "" for s in tree(map_html).xpath("//script[not(@type='application/json')]")]
    expected = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in scripts
    }
    assert set(directives["script-src"]) == expected
    assert "'unsafe-inline'" not in directives["script-src"]


def test_same_inputs_same_bytes(placed: tuple[list[Incident], dict[str, Any]]) -> None:
    incidents, zones = placed
    shuffled = list(incidents)
    random.Random(4).shuffle(shuffled)
    assert report.render(incidents, zones=zones) == report.render(shuffled, zones=zones)


def test_render_time_grows_linearly() -> None:
    def best(count: int) -> float:
        incidents = make_incidents(count)
        times = []
        for _ in range(3):
            started = time.perf_counter()
            report.render(incidents)
            times.append(time.perf_counter() - started)
        return min(times)

    small, large = best(2_000), best(4_000)
    assert large < 3 * small + 0.05, (small, large)
    assert large < 5.0


# --- in Chromium -------------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
ROWS = """() => [...document.querySelectorAll("#incidents tbody tr")]
    .filter((r) => !r.hidden).map((r) => Number(r.dataset.row))"""
MARKERS = """() => {
    let n = 0;
    const key = Object.keys(window).find((k) => k.startsWith("map_") && window[k] instanceof L.Map);
    const map = window[key];
    map.eachLayer((l) => { if (l instanceof L.MarkerClusterGroup) n += l.getLayers().length; });
    return n;
}"""


class ReportPage:
    """report.html open in Chromium, with what it tried to load and what went wrong."""

    def __init__(self, context: Any, path: Path, blocked: list[str]) -> None:
        self.blocked = blocked  # requests for anything but a file, aborted
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.console: list[str] = []
        self.dialogs: list[str] = []
        self.page = context.new_page()
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        self.page.wait_for_function("[...document.images].every((image) => image.complete)")

    def rows(self) -> list[int]:
        return self.page.evaluate(ROWS)

    def sort(self, heading: str) -> list[int]:
        button = self.page.locator("#incidents thead th button", has_text=heading)
        # The map's sandboxed frame runs in a process of its own, whose place on screen the browser
        # learns a frame late: a click right after scrolling would land on the map.
        button.scroll_into_view_if_needed()
        self.page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        button.click()
        return self.rows()


@pytest.fixture(scope="module")
def report_file(
    placed: tuple[list[Incident], dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    from geomap.static_map import MapOptions, draw

    incidents, zones = placed
    page = report.render(
        incidents,
        title=f"Incidents {HOSTILE}",
        articles=ARTICLES,
        zones=zones,
        map_html=report.interactive_map(incidents, [], title="Incidents", zones=zones),
        timeline=svg_image("Incidents par semaine"),
        static_map=draw(incidents, zones, options=MapOptions(title="Incidents")).to_bytes("png"),
    )
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def opened(report_file: Path) -> Iterator[ReportPage]:
    """One Chromium and one page for every browser test; each test leaves the filters cleared."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 800})
        context.set_default_timeout(30_000)
        blocked: list[str] = []

        def only_files(route: Any) -> None:
            if route.request.url.startswith("file:"):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", only_files)
        yield ReportPage(context, report_file, blocked)
        context.close()
        browser.close()


@pytest.mark.browser
def test_page_loads_offline_without_errors(
    opened: ReportPage, placed: tuple[list[Incident], dict[str, Any]]
) -> None:
    incidents, _ = placed
    assert opened.blocked == []
    assert all(url.startswith(("file:", "data:", "about:")) for url in opened.requests), opened.requests
    assert len(opened.rows()) == len(incidents)
    assert opened.page.text_content("#shown") == f"{len(incidents)} of {len(incidents)} incidents shown"
    inner = next(f for f in opened.page.frames if f is not opened.page.main_frame)
    inner.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length > 10")
    assert inner.evaluate(MARKERS) == len(incidents)
    assert opened.errors == [] and opened.console == [], (opened.errors, opened.console)


@pytest.mark.browser
def test_clicking_a_heading_sorts(opened: ReportPage, placed: tuple[list[Incident], dict[str, Any]]) -> None:
    ordered = report.incident_order(placed[0])
    fatalities = [ordered[n].fatalities for n in opened.sort("Fatalities")]
    known = [f for f in fatalities if f is not None]
    assert known == sorted(known) and {2, 10, 100} <= set(known)  # as numbers: 2 before 10 before 100
    assert fatalities[len(known) :] == [None] * (len(fatalities) - len(known))  # unknown last
    fatalities = [ordered[n].fatalities for n in opened.sort("Fatalities")]
    assert [f for f in fatalities if f is not None] == sorted(known, reverse=True)
    assert fatalities[-1] is None
    dates = [ordered[n].date for n in opened.sort("Date")]
    assert [d for d in dates if d] == sorted(d for d in dates if d) and dates[-1] is None
    places = [ordered[n].place.name for n in opened.sort("Place")]
    assert places == sorted(places, key=lambda s: s.casefold())
    heading = opened.page.locator("#incidents thead th", has_text="Place")
    assert heading.get_attribute("aria-sort") == "ascending"
    assert opened.errors == []


@pytest.mark.browser
def test_filtering_by_text_and_type(
    opened: ReportPage, placed: tuple[list[Incident], dict[str, Any]]
) -> None:
    ordered = report.incident_order(placed[0])
    page = opened.page

    def fold(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).lower()

    page.fill("#filter-text", "TEMOIN")  # no accent, other case: "témoin" all the same
    shown = opened.rows()
    assert sorted(shown) == [n for n, i in enumerate(ordered) if "temoin" in fold(i.evidence)]
    assert 0 < len(shown) < len(ordered)
    page.fill("#filter-text", "tegh")
    assert sorted(opened.rows()) == [n for n, i in enumerate(ordered) if i.place.name == "Tegh"]
    page.fill("#filter-text", "")
    page.select_option("#filter-type", "Armed clash")  # the hostile type only starts like it
    assert sorted(opened.rows()) == [n for n, i in enumerate(ordered) if i.sub_event_type == "Armed clash"]
    page.select_option("#filter-type", HOSTILE_TYPE)
    assert [ordered[n].id for n in opened.rows()] == ["hostile"]
    assert page.text_content("#shown") == f"1 of {len(ordered)} incidents shown"
    page.fill("#filter-text", "tegh")
    assert opened.rows() == []
    page.fill("#filter-text", "")
    page.select_option("#filter-type", "")
    assert len(opened.rows()) == len(ordered)
    assert opened.errors == []


@pytest.mark.browser
def test_hostile_text_stays_inert(opened: ReportPage) -> None:
    page = opened.page
    row = page.locator("#incidents tbody tr", has_text="Un témoin a écrit")
    assert row.count() == 1
    assert row.locator("td.evidence").text_content() == f"Un témoin a écrit {HOSTILE} sur un mur."
    tags = set(row.evaluate("r => [...r.querySelectorAll('*')].map(e => e.localName)"))
    assert tags <= {"td", "span", "small", "br", "a"}
    assert page.evaluate("document.querySelectorAll('body img').length") == 2  # the timeline and the map
    assert page.evaluate("document.querySelectorAll('svg, b, object, embed').length") == 0
    assert page.title() == f"Incidents {HOSTILE}"
    assert page.evaluate("typeof window.__pwned") == "undefined"
    inner = next(f for f in page.frames if f is not page.main_frame)
    assert inner.evaluate("typeof window.__pwned") == "undefined"
    assert opened.dialogs == [] and opened.errors == []


@pytest.mark.browser
def test_print_hides_the_controls_and_gives_pages(opened: ReportPage, tmp_path: Path) -> None:
    page = opened.page
    page.emulate_media(media="print")
    try:
        assert page.evaluate("getComputedStyle(document.getElementById('map')).display") == "none"
        assert page.evaluate("getComputedStyle(document.getElementById('controls')).display") == "none"
        assert page.locator("figure.static-map img").is_visible()
        pdf = page.pdf(format="A4", print_background=True)
    finally:
        page.emulate_media(media="screen")
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
        pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    else:
        pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    assert pages >= 2
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Border sectors" in text and "Incidents over time" in text
        assert "onerror=alert(1)" in text
        assert "Click a heading" not in text and "incidents shown" not in text
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    assert opened.errors == []
