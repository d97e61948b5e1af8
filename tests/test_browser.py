"""The map built by ``geomap build`` opened in headless Chromium, with the network switched off.

The maps are built once per module with the real CLI from small articles written here; one browser
serves the whole module and each test opens (and closes) its own page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from geomap.cli import cli

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} not found: install Debian's chromium (see the README's test command)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTICLES = {
    "tegh.md": (
        "---\ntitle: Affrontements à Tegh\ndate: 2022-09-13\nurl: https://example.org/tegh\n---\n"
        "Le 13 septembre 2022, des affrontements ont éclaté près de Tegh, "
        "faisant trois morts parmi les soldats arméniens.\n"
    ),
    "sotk.md": (
        "---\ntitle: Obus sur Sotk\ndate: 2022-09-14\nurl: https://example.org/sotk\n---\n"
        "Le 14 septembre 2022, des obus sont tombés sur Sotk, tuant deux civils.\n"
    ),
    "jermuk.md": (
        "---\ntitle: Drone sur Jermuk\ndate: 2022-09-15\nurl: https://example.org/jermuk\n---\n"
        "Le 15 septembre 2022, une frappe de drone a touché Jermuk, faisant un mort.\n"
    ),
    "kapan.md": (
        "---\ntitle: Tirs près de Kapan\ndate: 2022-09-16\nurl: http://example.org/kapan\n---\n"
        "Le 16 septembre 2022, des tirs d'artillerie ont visé Kapan, blessant quatre personnes. "
        "Un cessez-le-feu est entré en vigueur à Goris le 17 septembre 2022.\n"
    ),
}
HOSTILE_TITLE = '<img src=x onerror="window.__pwned=2">'
HOSTILE = (
    "---\n"
    "title: '<img src=x onerror=\"window.__pwned=2\">'\n"
    "date: 2022-09-18\n"
    'url: "javascript:alert(1)"\n'
    "---\n"
    "Le 18 septembre 2022, des combats ont éclaté à Vardenis, où un témoin a écrit "
    '<script>window.__pwned = 1</script> puis <img src=x onerror="window.__pwned=2"> '
    "et ${window.__pwned=3} sur un mur.\n"
)
HOSTILE_BITS = ("<script>window.__pwned = 1</script>", HOSTILE_TITLE, "${window.__pwned=3}")
# Every incident undated: no time slider, hence none of the scripts it brings along.
UNDATED = "Des affrontements ont éclaté à Tegh, faisant deux morts.\n"

# The folium map object, and every marker of every MarkerClusterGroup on it.
FIND_MAP = """() => {
    const keys = Object.keys(window).filter((k) => k.startsWith("map_") && window[k] instanceof L.Map);
    if (keys.length !== 1) throw new Error("folium map objects: " + JSON.stringify(keys));
    window.__map = window[keys[0]];
    window.__markers = [];
    window.__clusters = [];
    window.__map.eachLayer((layer) => {
        if (layer instanceof L.MarkerClusterGroup) {
            window.__clusters.push(layer);
            for (const m of layer.getLayers()) window.__markers.push([layer, m]);
        }
    });
    return {clusters: window.__clusters.length, markers: window.__markers.length};
}"""
# Zoom to marker i with its cluster's zoomToShowLayer (expanding the cluster), open its popup and read
# it back. MarkerCluster 1.1.0 calls back only for markers with an icon, or once it spiderfies
# (Leaflet.markercluster#904), never for a CircleMarker that the zoom alone uncovers (getVisibleParent
# has the same blind spot); so the marker also counts as shown once its path is drawn on the map and
# no zoom animation is running.
OPEN_POPUP = """(i) => new Promise((resolve, reject) => {
    const [cluster, marker] = window.__markers[i];
    let done = false;
    const show = () => {
        if (done) return;
        done = true;
        clearInterval(poll);
        clearTimeout(timer);
        marker.openPopup();
        // This popup's own element: a popup closed just before fades out for 200 ms, still in the DOM.
        const element = marker.isPopupOpen() ? marker.getPopup().getElement() : null;
        const popup = element && element.querySelector(".leaflet-popup-content .geomap-popup");
        const evidence = popup && popup.querySelector("blockquote.geomap-evidence");
        const ll = marker.getLatLng();
        resolve({
            lat: ll.lat,
            lon: ll.lng,
            evidence: evidence ? evidence.textContent : null,
            text: popup ? popup.textContent : null,
            elements: popup ? [...popup.querySelectorAll("*")].map((e) => e.tagName.toLowerCase()) : [],
            links: popup ? [...popup.querySelectorAll("a")].map((a) => a.getAttribute("href")) : [],
        });
    };
    const shown = () => marker._map && marker._path && marker._path.isConnected
        && !cluster._inZoomAnimation && !window.__map._animatingZoom;
    const fail = () => { done = true; clearInterval(poll); reject(new Error("marker never shown")); };
    const timer = setTimeout(fail, 10000);
    const poll = setInterval(() => { if (shown()) show(); }, 50);
    cluster.zoomToShowLayer(marker, show);
})"""
# Template syntax: folium compiles its output again as a Jinja2 template, so these must stay text. The
# last two would create the file MARKER in the working directory.
TEMPLATE_PAYLOADS = (
    "{{7*7}}",
    "{% if 1 %}x{% endif %}",
    "{#",
    "{% endif %}",
    "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{{ cycler.__init__.__globals__.os.mkdir(dict(MARKER=1)|first) }}",
)
PAYLOADS = " ".join(TEMPLATE_PAYLOADS)
IN_YAML = PAYLOADS.replace("'", "''")  # within a single-quoted YAML scalar
# A url holds no space: the same syntax, written without
URL = (
    "https://example.org/{{7*7}}/{%if(1)%}x{%endif%}/{#/{%endif%}/"
    "{{cycler.__init__.__globals__.os.mkdir(dict(MARKER=1)|first)}}"
)
TEMPLATED = {
    f"goris {PAYLOADS}.txt": (
        "Le 13 septembre 2022, des tirs ont visé Goris, faisant deux morts selon un témoin "
        f"qui a écrit {PAYLOADS}.\n"
    ),
    "tegh.md": (
        f"---\ntitle: 'titre {IN_YAML}'\ndate: 2022-09-14\nurl: '{URL}'\n---\n"
        "Le 14 septembre 2022, des affrontements ont éclaté près de Tegh, faisant trois morts.\n"
    ),
}
# The text of every popup and tooltip of every layer (on the map or not), as a reader would see it:
# contents that are HTML strings are parsed in an inert <template>; functions are called with the
# layer (a group's tooltip function with each of its layers, as Leaflet does).
LAYER_TEXTS = """() => {
    const texts = [];
    const read = (content, layer) => {
        if (typeof content === "function") content = content(layer);
        if (content instanceof Node) return content.textContent;
        const t = document.createElement("template");
        t.innerHTML = String(content);
        return t.content.textContent;
    };
    const seen = new Set();
    const visit = (layer, inherited) => {
        if (seen.has(layer)) return;
        seen.add(layer);
        const group = typeof layer.getLayers === "function";
        let passed = inherited;
        for (const bound of [layer.getPopup && layer.getPopup(), layer.getTooltip && layer.getTooltip()]) {
            if (!bound) continue;
            if (group) passed = bound.getContent();  // shown for each of the group's layers
            else texts.push(read(bound.getContent(), layer));
        }
        if (group) for (const child of layer.getLayers()) visit(child, passed);
        else if (inherited) texts.push(read(inherited, layer));
    };
    for (const key of Object.keys(window)) {
        if (key.startsWith("webkit")) continue;
        if (window[key] instanceof L.Layer) visit(window[key], null);
    }
    return texts.map((t) => t.replace(/\\s+/g, " ").trim());
}"""
JAVASCRIPT_HREFS = """() => [...document.querySelectorAll("[href], [src], [action], [formaction]")]
    .flatMap((e) => ["href", "src", "action", "formaction"].map((a) => e.getAttribute(a)))
    .map((v) => (v === null ? "" : v.replace(/[\\s\\u0000-\\u001f]/g, "").toLowerCase()))
    .filter((v) => v.startsWith("javascript:"))"""


def build(articles: dict[str, str], root: Path, *options: str) -> Path:
    """``geomap build DIR --out OUT --offline -q [OPTIONS]`` on ``articles``; the output folder."""
    src, out = root / "articles", root / "out"
    src.mkdir()
    for name, text in articles.items():
        (src / name).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["build", str(src), "--out", str(out), "--offline", "-q", *options], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert (out / "map.html").is_file()
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Border incidents at Tegh, Sotk, Jermuk, Kapan and Goris, plus the hostile article."""
    return build({**ARTICLES, "hostile.md": HOSTILE}, tmp_path_factory.mktemp("border"))


@pytest.fixture(scope="module")
def built_undated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build({"undated.txt": UNDATED}, tmp_path_factory.mktemp("undated"))


@pytest.fixture(scope="module")
def features(built: Path) -> list[dict[str, Any]]:
    collection = json.loads((built / "incidents.geojson").read_text(encoding="utf-8"))
    assert len(collection["features"]) >= 5, "the articles should yield at least five incidents"
    return collection["features"]


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    """One Chromium for the module, in a context with the network disabled."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 800})
        context.set_default_timeout(30_000)
        yield context
        context.close()
        browser.close()


class MapPage:
    """A page holding one map, with the page errors it raised."""

    def __init__(self, context: Any, path: Path) -> None:
        self.errors: list[str] = []
        self.page = context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.goto(path.resolve().as_uri(), wait_until="load")  # raises on playwright's timeout
        assert self.page.evaluate("document.readyState") == "complete"

    def find_markers(self) -> dict[str, int]:
        return self.page.evaluate(FIND_MAP)

    def open_popup(self, index: int) -> dict[str, Any]:
        return self.page.evaluate(OPEN_POPUP, index)


@pytest.fixture
def open_map(browser_context: Any) -> Iterator[Any]:
    """``open_map(path)`` loads a map in a new page; every page is closed after the test."""
    pages: list[MapPage] = []

    def load(path: Path) -> MapPage:
        pages.append(MapPage(browser_context, path))
        return pages[-1]

    yield load
    for map_page in pages:
        map_page.page.close()


def feature_at(features: list[dict[str, Any]], lat: float, lon: float) -> dict[str, Any]:
    found = [
        f
        for f in features
        if abs(f["geometry"]["coordinates"][1] - lat) < 1e-6
        and abs(f["geometry"]["coordinates"][0] - lon) < 1e-6
    ]
    assert len(found) == 1, (lat, lon, found)
    return found[0]


# --- loading -------------------------------------------------------------------------------------------


def test_map_loads_offline_without_errors(built: Path, open_map: Any) -> None:
    m = open_map(built / "map.html")
    assert m.page.evaluate('typeof L !== "undefined"')
    assert m.page.evaluate("L.version").startswith("1.9")
    # Self-contained: nothing to fetch but map tiles.
    assert m.page.evaluate('document.querySelectorAll("script[src], link[rel=stylesheet]").length') == 0
    assert m.page.title() == "geomap incidents"
    assert m.errors == []


def test_every_incident_is_in_the_marker_cluster(built: Path, features: list, open_map: Any) -> None:
    m = open_map(built / "map.html")
    counts = m.find_markers()
    assert counts["clusters"] >= 1
    assert counts["markers"] == len(features)
    classes = m.page.evaluate(
        "window.__markers.map(([, marker]) => marker.options.className)",
    )
    assert set(classes) == {"geomap-incident"}
    assert m.errors == []


def test_popup_shows_the_incidents_evidence(built: Path, features: list, open_map: Any) -> None:
    m = open_map(built / "map.html")
    m.find_markers()
    popup = m.open_popup(0)
    feature = feature_at(features, popup["lat"], popup["lon"])
    assert popup["evidence"] == feature["properties"]["evidence"]
    shown = m.page.locator(".leaflet-popup-content .geomap-evidence")
    sync_api.expect(shown).to_be_visible()
    sync_api.expect(shown).to_have_text(feature["properties"]["evidence"])
    assert m.errors == []


def test_country_outlines_render_without_network(built: Path, open_map: Any) -> None:
    m = open_map(built / "map.html")
    overlay_paths = m.page.locator(".leaflet-overlay-pane svg path").count()
    interactive = m.page.locator("path.leaflet-interactive").count()
    assert overlay_paths > 10
    assert interactive > 10
    assert "Country outlines (offline)" in m.page.locator(".leaflet-control-layers").inner_text()
    assert m.errors == []


def test_legend_lists_the_incident_types(built: Path, features: list, open_map: Any) -> None:
    m = open_map(built / "map.html")
    legend = m.page.locator("#geomap-legend")
    sync_api.expect(legend).to_be_visible()
    lines = {line.strip() for line in legend.inner_text().splitlines()}
    types = {f["properties"]["sub_event_type"] for f in features}
    assert len(types) >= 3
    assert types <= lines
    assert "No incident found" not in lines


def test_screenshot(built: Path, open_map: Any, tmp_path: Path) -> None:
    m = open_map(built / "map.html")
    shot = tmp_path / "map.png"
    m.page.screenshot(path=str(shot), full_page=True)
    assert shot.is_file()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20 * 1024


# --- hostile text ----------------------------------------------------------------------------------


def test_hostile_article_stays_text(built: Path, features: list, open_map: Any) -> None:
    hostile = [f for f in features if f["properties"]["place"] == "Vardenis"]
    assert len(hostile) == 1, "the hostile article should give one incident, at Vardenis"
    evidence = hostile[0]["properties"]["evidence"]
    assert all(bit in evidence for bit in HOSTILE_BITS)

    m = open_map(built / "map.html")
    popups = [m.open_popup(i) for i in range(m.find_markers()["markers"])]
    assert all(p["evidence"] is not None for p in popups)
    assert sorted(p["evidence"] for p in popups) == sorted(f["properties"]["evidence"] for f in features)

    shown = next(p for p in popups if p["evidence"] == evidence)
    for bit in HOSTILE_BITS:
        assert bit in shown["text"]
    assert not {"script", "img", "iframe", "svg"} & set(shown["elements"])
    assert shown["links"] == []  # the javascript: url is not linked
    for popup in popups:
        assert all(link.startswith(("http://", "https://")) for link in popup["links"])

    assert m.page.evaluate("typeof window.__pwned") == "undefined"
    assert m.page.evaluate(JAVASCRIPT_HREFS) == []
    assert m.errors == []


# --- known failure ---------------------------------------------------------------------------------


def test_map_of_undated_incidents_works(built_undated: Path, open_map: Any) -> None:
    collection = json.loads((built_undated / "incidents.geojson").read_text(encoding="utf-8"))
    assert len(collection["features"]) == 1
    assert collection["features"][0]["properties"]["date"] is None
    m = open_map(built_undated / "map.html")
    assert m.errors == []
    assert m.find_markers()["markers"] == 1
    assert m.open_popup(0)["evidence"] == collection["features"][0]["properties"]["evidence"]


def test_a_large_map_is_compact_clustered_and_safe(tmp_path: Path, open_map: Any) -> None:
    """Thousands of incidents (too many for the time slider) are one compact array drawn by the
    browser, as every map's: every marker is there, a popup shows its evidence as text, and hostile
    text runs nothing."""
    import datetime as dt

    from geomap.maps import TIME_SLIDER_MAX, build_map, render_map
    from geomap.models import Incident, Place

    count = TIME_SLIDER_MAX + 500
    hostile = 'Tirs à Tegh <script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2"> ${1+1}'
    incidents = [
        Incident(
            id=str(k), doc=f"d{k}", event_type="Battles", sub_event_type="Armed clash",
            place=Place(id=f"p{k % 50}", name="Tegh", kind="village", country="AM",
                        lat=39.4 + (k % 50) / 100, lon=46.2 + (k % 37) / 100),
            mention="Tegh", geo_precision=1, evidence=f"{hostile} n°{k}", date=dt.date(2022, 9, 13),
            date_precision="day", fatalities=k % 3 or None,
        )
        for k in range(count)
    ]  # fmt: skip
    path = tmp_path / "large.html"
    html = render_map(build_map(incidents, [], title="large"))
    # one marker factory per layer (incidents, places), not one object per incident
    assert html.count("L.circleMarker(") == 2 and html.count('className: "geomap-incident"') == 1
    path.write_text(html, encoding="utf-8")
    m = open_map(path)
    counted = m.page.evaluate(
        """() => { const map = window[Object.keys(window).find(k => k.startsWith('map_'))]; let n = 0;
        map.eachLayer(l => { if (l instanceof L.MarkerClusterGroup) n += l.getLayers().length; });
        return n; }"""
    )
    assert counted == count
    shown = m.page.evaluate(
        """() => { const map = window[Object.keys(window).find(k => k.startsWith('map_'))]; let cluster;
        map.eachLayer(l => { if (l instanceof L.MarkerClusterGroup) cluster = l; });
        const marker = cluster.getLayers()[7]; cluster.removeLayer(marker); map.addLayer(marker);
        marker.openPopup(); return document.querySelector('.geomap-evidence').textContent; }"""
    )
    assert shown.startswith(f"{hostile} n°") and int(shown.rsplit("n°", 1)[1]) < count
    assert m.page.evaluate("() => window.__pwned") is None
    assert m.errors == []


# --- template syntax -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_templated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Articles whose file name, text, title and url carry template syntax, under a templated
    ``--title``; built in a folder where the payloads would have left a file MARKER."""
    root = tmp_path_factory.mktemp("templated")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        out = build(TEMPLATED, root, "--title", f"carte {PAYLOADS}")
    assert not (root / "MARKER").exists()
    return out


def shows_no_evaluation(texts: list[str]) -> None:
    """No text holds what the payloads evaluate to: "{{7*7}}" as 49, "{% if 1 %}x{% endif %}" as x."""
    for text in texts:
        assert not re.search(r"(?<![\w.-])49(?![\w.-])", text), text
        assert " x " not in f" {text} ", text


def test_template_syntax_in_articles_stays_text(built_templated: Path, open_map: Any) -> None:
    """What the articles and ``--title`` hold is shown as written: the page title, the legend, every
    popup (evidence, the file name of an untitled article, a title, a link)."""
    collection = json.loads((built_templated / "incidents.geojson").read_text(encoding="utf-8"))
    urls = {
        s["url"] for f in collection["features"] for s in json.loads(f["properties"]["sources"]) if s["url"]
    }
    assert urls == {URL}

    m = open_map(built_templated / "map.html")
    assert m.page.title() == f"carte {PAYLOADS}"
    assert f"carte {PAYLOADS}" in m.page.locator("#geomap-legend").inner_text()
    popups = [m.open_popup(i) for i in range(m.find_markers()["markers"])]
    assert len(popups) == len(collection["features"]) >= 2
    text = " ".join(p["text"] for p in popups)
    assert f"témoin qui a écrit {PAYLOADS}" in text
    assert f"goris {PAYLOADS}" in text  # the untitled article: its file name
    assert f"titre {PAYLOADS}" in text
    assert URL in {link for p in popups for link in p["links"]}
    shows_no_evaluation([p["text"] for p in popups])
    assert m.errors == []


def test_template_syntax_from_a_geocoder_stays_text(tmp_path: Path, open_map: Any) -> None:
    """A place name and kind as a geocoder returns them, and zone labels, in the incident's popup and
    tooltip, the time slider's popup, the places layer and the zones' tooltips."""
    import datetime as dt

    from geomap.export import place_features
    from geomap.maps import build_map, render_map
    from geomap.models import Incident, Mention, Place, Resolution

    place = Place(
        id="gn-x", name=f"place {PAYLOADS}", kind=f"kind {PAYLOADS}", country="AM", lat=39.51, lon=46.34
    )
    incident = Incident(
        id=f"id {PAYLOADS}", doc=f"doc {PAYLOADS}", event_type="Battles", sub_event_type="Armed clash",
        place=place, mention="Goris", geo_precision=1, evidence=f"text {PAYLOADS}",
        date=dt.date(2023, 5, 1), date_precision="day", fatalities=2,
    )  # fmt: skip
    square = {"type": "Polygon", "coordinates": [[[46.3, 39.5], [46.4, 39.5], [46.4, 39.6], [46.3, 39.5]]]}
    zones = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": square,
             "properties": {"kind": "zone", "label": f"zone {PAYLOADS}", "inner_km": 0, "width_km": 5}},
            {"type": "Feature", "geometry": square,
             "properties": {"kind": "sector", "name": f"sector {PAYLOADS}", "incidents": 1,
                            "length_km": 3.0}},
        ],
    }  # fmt: skip
    mention = Mention(doc=incident.doc, start=0, end=5, text="Goris", origin="geocoder")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        page = render_map(
            build_map(
                [incident],
                place_features([Resolution(mention, place, "geocoder", 0.9)]),
                title=f"carte {PAYLOADS}",
                zones=zones,
            )
        )
    assert not (tmp_path / "MARKER").exists()
    path = tmp_path / "geocoded.html"
    path.write_text(page, encoding="utf-8")

    m = open_map(path)
    m.find_markers()
    popup = m.open_popup(0)
    assert popup["evidence"] == f"text {PAYLOADS}"
    assert f"place {PAYLOADS} (AM)" in popup["text"]
    texts = m.page.evaluate(LAYER_TEXTS)
    expected = [
        f"Armed clash — place {PAYLOADS}",  # the incident's tooltip
        f"2023-05-01 — Armed clash — place {PAYLOADS}",  # the time slider's popup
        f"place {PAYLOADS} (kind {PAYLOADS}): 1 mentions",  # the places layer
        f"Zone zone {PAYLOADS}",
        f"Sector sector {PAYLOADS}",
    ]
    for text in expected:
        assert any(text in t for t in texts), (text, [t for t in texts if "place" in t or "zone" in t])
    shows_no_evaluation(texts)
    assert m.errors == []


def test_template_syntax_in_a_large_map_stays_text(tmp_path: Path, open_map: Any) -> None:
    """A map without the time slider (more than TIME_SLIDER_MAX incidents): a popup shows its evidence
    and place as written."""
    import datetime as dt

    from geomap.maps import TIME_SLIDER_MAX, build_map, render_map
    from geomap.models import Incident, Place

    place = Place(id="gn-x", name=f"place {PAYLOADS}", kind="town", country="AM", lat=39.5, lon=46.3)
    incidents = [
        Incident(
            id=f"{k} {PAYLOADS}", doc=f"doc {PAYLOADS}", event_type="Battles", sub_event_type="Armed clash",
            place=place, mention="Goris", geo_precision=1, evidence=f"text {PAYLOADS} n°{k}",
            date=dt.date(2022, 9, 13), date_precision="day", fatalities=None,
        )
        for k in range(TIME_SLIDER_MAX + 1)
    ]  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        page = render_map(build_map(incidents, [], title=f"carte {PAYLOADS}"))
    assert not (tmp_path / "MARKER").exists()
    path = tmp_path / "large.html"
    path.write_text(page, encoding="utf-8")
    m = open_map(path)
    shown = m.page.evaluate(
        """() => { const map = window[Object.keys(window).find(k => k.startsWith('map_'))]; let cluster;
        map.eachLayer(l => { if (l instanceof L.MarkerClusterGroup) cluster = l; });
        const marker = cluster.getLayers()[3]; cluster.removeLayer(marker); map.addLayer(marker);
        marker.openPopup();
        return document.querySelector('.leaflet-popup-content .geomap-popup').textContent; }"""
    )
    assert f"text {PAYLOADS} n°" in shown
    assert f"place {PAYLOADS} (AM)" in shown
    assert m.page.title() == f"carte {PAYLOADS}"
    shows_no_evaluation([shown])
    assert m.errors == []


# --- a small map's popup, whole ---------------------------------------------------------------------

# The open popup's table, its sources line and its links (with their attributes), and the marker's
# tooltip, shown.
POPUP_PARTS = """(i) => {
    const [, marker] = window.__markers[i];
    const popup = marker.getPopup().getElement().querySelector(".leaflet-popup-content .geomap-popup");
    marker.openTooltip();
    return {
        rows: [...popup.querySelectorAll("tr")].map((tr) => [...tr.cells].map((cell) => cell.textContent)),
        sources: popup.lastElementChild.textContent,
        links: [...popup.querySelectorAll("a")].map((a) => [a.getAttribute("href"), a.getAttribute("target"),
                                                          a.getAttribute("rel"), a.textContent]),
        tooltip: marker.getTooltip().getElement().textContent,
        tooltipElements: marker.getTooltip().getElement().querySelectorAll("*").length,
    };
}"""
HOSTILE_URL = 'https://example.org/"><img/src=x/onerror=window.__pwned=5>'


def test_a_small_maps_popup_shows_every_field_and_stays_text(tmp_path: Path, open_map: Any) -> None:
    """Injured, actors and linked sources as popup_content defines them; a hostile evidence, title,
    actor and url are shown as written; a javascript: url is not linked; the tooltip is text."""
    import datetime as dt

    from geomap.maps import build_map, popup_content, render_map
    from geomap.models import Incident, Place

    evidence = f"Combats à Tegh, un témoin a écrit {' puis '.join(HOSTILE_BITS)} sur un mur."
    incidents = [
        Incident(
            id=f"i{k}", doc=f"d{k}", event_type="Battles", sub_event_type="Armed clash",
            place=Place(id=f"p{k}", name=f"Tegh {HOSTILE_TITLE}" if k else "Tegh", kind="village",
                        country="AM", lat=39.4 + k / 10, lon=46.2 + k / 10),
            mention="Tegh", geo_precision=1, evidence=evidence if k else "Des tirs près de Tegh.",
            date=dt.date(2022, 9, 13) if k else None, date_precision="day" if k else "unknown",
            fatalities=k or None, injured=4 if k else None,
            actors=(f"Forces {HOSTILE_TITLE}", "Azerbaijan") if k else (),
            sources=(
                {"doc": "d1", "title": f"Titre {HOSTILE_TITLE}", "url": "https://example.org/a?x=1&y=2"},
                {"doc": "d2", "title": None, "url": "javascript:window.__pwned=4"},
                {"doc": "d3", "title": "Guillemets", "url": HOSTILE_URL},
            ) if k else (),
        )
        for k in range(2)
    ]  # fmt: skip
    path = tmp_path / "small.html"
    path.write_text(render_map(build_map(incidents, [], title="small")), encoding="utf-8")
    m = open_map(path)
    assert m.find_markers()["markers"] == 2
    for i in range(2):
        popup = m.open_popup(i)
        shown = m.page.evaluate(POPUP_PARTS, i)
        incident = next(x for x in incidents if x.evidence == popup["evidence"])
        content = popup_content(incident)
        assert [tuple(row) for row in shown["rows"]] == list(content.rows)
        assert shown["tooltip"] == f"Armed clash — {incident.place.name}" and shown["tooltipElements"] == 0
        if not incident.sources:
            assert shown["sources"] == "Sources: " and shown["links"] == []
            assert dict(content.rows)["Injured"] == "unknown"
            continue
        assert dict(content.rows)["Injured"] == "4"
        assert dict(content.rows)["Actors"] == f"Forces {HOSTILE_TITLE}, Azerbaijan"
        assert shown["sources"] == f"Sources: Titre {HOSTILE_TITLE}; d2; Guillemets"
        assert shown["links"] == [
            ["https://example.org/a?x=1&y=2", "_blank", "noopener noreferrer", f"Titre {HOSTILE_TITLE}"],
            [HOSTILE_URL, "_blank", "noopener noreferrer", "Guillemets"],
        ]
        for bit in HOSTILE_BITS:
            assert bit in popup["text"]
        assert set(popup["elements"]) == {"table", "tr", "th", "td", "blockquote", "div", "a"}
        m.page.screenshot(path=str(tmp_path / "popup.png"))
    assert m.page.evaluate("typeof window.__pwned") == "undefined"
    assert m.page.evaluate(JAVASCRIPT_HREFS) == []
    assert m.errors == []
