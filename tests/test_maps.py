"""The Folium map: layers, markers, escaping and links."""

from __future__ import annotations

import datetime as dt
import html as html_module
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from geomap.cli import cli
from geomap.export import place_features
from geomap.maps import (
    CAPITAL_ZOOM,
    LABEL_KINDS,
    LABELS_LAYER,
    TIME_SLIDER_MAX,
    PopupContent,
    _script_json,
    build_map,
    incident_tooltip,
    marker_radius,
    place_labels,
    popup_content,
    render_map,
    safe_url,
    settlement_zoom,
)
from geomap.models import Incident, Mention, Place, Resolution

GORIS = Place(id="gn-goris", name="Goris", kind="town", country="AM", lat=39.5111, lon=46.3417)


def incident(
    evidence: str = "Des tirs ont visé Goris.", url: str | None = "https://example.org/a"
) -> Incident:
    return Incident(
        id="i1",
        doc="d1",
        event_type="Battles",
        sub_event_type="Armed clash",
        place=GORIS,
        mention="Goris",
        geo_precision=1,
        evidence=evidence,
        date=dt.date(2023, 5, 1),
        date_precision="day",
        fatalities=2,
        sources=({"doc": "d1", "title": "Titre", "url": url},),
    )


def test_popup_shows_the_evidence_and_the_facts() -> None:
    content = popup_content(incident())
    assert content == PopupContent(
        rows=(
            ("Type", "Battles / Armed clash"),
            ("Date", "2023-05-01 (day)"),
            ("Place", "Goris (AM), geo-precision 1"),
            ("Fatalities", "2"),
            ("Injured", "unknown"),
            ("Actors", "not stated"),
        ),
        evidence="Des tirs ont visé Goris.",
        sources=(("Titre", "https://example.org/a"),),
    )
    assert incident_tooltip(incident()) == "Armed clash — Goris"
    undated = Incident(
        id="i2", doc="d2", event_type="Battles", sub_event_type="Armed clash", place=GORIS, mention="Goris",
        geo_precision=2, evidence="x", injured=4, actors=("Armed Forces of Armenia", "Azerbaijan"),
        sources=({"doc": "d2", "title": None, "url": None},),
    )  # fmt: skip
    rows = dict(popup_content(undated).rows)
    assert rows["Date"] == "unknown (unknown)" and rows["Fatalities"] == "unknown" and rows["Injured"] == "4"
    assert rows["Actors"] == "Armed Forces of Armenia, Azerbaijan"
    assert popup_content(undated).sources == (("d2", None),)  # no title: the article's file name


def test_popup_text_stays_data_in_the_page() -> None:
    """The popup's texts are plain (the browser makes text nodes of them): the page holds them as
    JSON that no markup, template literal or template syntax can come out of."""
    hostile = "<img src=x onerror=alert(1)> ${alert(2)} `x` </script><script>alert(3)</script>"
    assert popup_content(incident(evidence=hostile)).evidence == hostile
    page = render_map(build_map([incident(evidence=hostile)], [], title="t"), offline=False)
    assert "<img" not in page and "</script><script>alert(3)" not in page
    assert hostile in readable(page)


def test_only_http_links_are_rendered() -> None:
    assert safe_url("https://example.org") == "https://example.org"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("file:///etc/passwd") is None
    assert safe_url("https://exa mple.org/a") is None and safe_url("https://example.org/\x1b[2J") is None
    assert popup_content(incident(url="javascript:alert(1)")).sources == (("Titre", None),)
    page = render_map(build_map([incident(url="javascript:alert(1)")], [], title="t"), offline=False)
    assert "javascript:" not in page


def test_marker_radius_grows_with_fatalities() -> None:
    assert marker_radius(None) == marker_radius(0) < marker_radius(10) < marker_radius(1000)


def test_map_has_an_incident_layer_a_place_layer_and_a_layer_control() -> None:
    mention = Mention(doc="d1", start=0, end=5, text="Goris", origin="gazetteer")
    places = place_features([Resolution(mention, GORIS, "gazetteer", 0.9)])
    html = build_map([incident()], places, title="Essai <b>").get_root().render()
    # one marker factory per layer, whatever the size
    assert html.count("geomap-incident") == 1 and html.count("geomap-place") == 1
    assert "L.control.layers" in html
    assert "Incidents" in html and "Places" in html
    assert "Essai &lt;b&gt;" in html
    # folium speaks (lat, lon): the markers sit at Goris, not at (46.3, 39.5)
    assert "[39.5111, 46.3417, " in html  # the incident's row
    assert "[39.5111,46.3417," in html  # the place's row


def test_every_size_is_one_array_with_each_text_once() -> None:
    """One incident or 300: one marker factory, each repeated text once in the strings' table, and
    the same number of templates compiled (the render does not grow with the markers)."""
    import jinja2

    compiled = []
    compile_ = jinja2.Environment.compile

    def counting(self: jinja2.Environment, *args: Any, **kwargs: Any) -> Any:
        compiled.append(1)
        return compile_(self, *args, **kwargs)

    pages, counts = [], []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jinja2.Environment, "compile", counting)
        for count in (1, 300):
            compiled.clear()
            many = [incident(f"Des tirs ont visé Goris (rapport commun {k % 2}).") for k in range(count)]
            pages.append(render_map(build_map(many, [], title="t"), offline=False))
            counts.append(len(compiled))
    assert counts[0] == counts[1] < 60, counts
    for page in pages:
        assert page.count('className: "geomap-incident"') == 1  # one marker factory
        assert page.count("Des tirs ont visé Goris (rapport commun 0).") == 1
        assert page.count("Battles / Armed clash") == 1


def test_the_same_map_renders_to_the_same_bytes() -> None:
    def page() -> str:
        mention = Mention(doc="d1", start=0, end=5, text="Goris", origin="gazetteer")
        places = place_features([Resolution(mention, GORIS, "gazetteer", 0.9)])
        return render_map(build_map([incident(), incident("Tirs sur Goris.")], places, title="t"))

    first, second = page(), page()
    assert first == second  # folium's random element ids are numbered in tree order
    names = re.findall(r"var (\w+_[0-9a-f]{32}) =", first)
    assert len(names) == len(set(names)) > 2
    assert not re.search(r"(?<![0-9a-f])(?!0{16})[0-9a-f]{32}(?![0-9a-f])", first)


# --- no template ever sees article data -------------------------------------------------------------
# folium compiles its rendered output again as a Jinja2 template: each payload must come out as text.

# Both create the file MARKER in the working directory; the second has no quote for HTML escaping to
# break, so it would run from any field.
POPEN = "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}"
MKDIR = "{{ cycler.__init__.__globals__.os.mkdir(dict(MARKER=1)|first) }}"
TEMPLATE_PAYLOADS = ("{{7*7}}", "{% if 1 %}x{% endif %}", "{#", "{% endif %}", POPEN, MKDIR)
# The same syntax in a url, which holds no space
URL = (
    "https://example.org/{{7*7}}/{%if(1)%}x{%endif%}/{#/{%endif%}/"
    "{{cycler.__init__.__globals__.os.mkdir(dict(MARKER=1)|first)}}"
)
# Every value of an article, a file name, a geocoder or the command line that reaches the map.
MAP_FIELDS = (
    "text", "title", "id", "file", "url", "place", "placekind", "mention", "actor", "mapname", "zone",
    "sector",
)  # fmt: skip
NOT_SHOWN = ("id", "mention")  # the map names the incident's place, not its id or the article's wording


def readable(page: str) -> str:
    """The page's text as a reader sees it: JSON escapes and HTML character references decoded."""
    decoded = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)
    return html_module.unescape(decoded)


def hostile_values(payload: str) -> dict[str, str]:
    """One value per field, each naming its field and carrying ``payload`` (a url holds no space)."""
    values = {name: f"{name} {payload}" for name in MAP_FIELDS}
    values["url"] = "url" + payload.replace(" ", "%20")
    return values


@pytest.fixture
def marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file the payloads would create: the test runs in ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / "MARKER"


def hostile_incidents(values: dict[str, str], count: int = 2) -> list[Incident]:
    """``count`` incidents carrying ``values``; every second one has no title, so its file name shows."""
    place = Place(id="gn-x", name=values["place"], kind="town", country="AM", lat=39.5111, lon=46.3417)
    return [
        Incident(
            id=f"{values['id']}-{k}",
            doc=values["file"],
            event_type="Battles",
            sub_event_type="Armed clash",
            place=place,
            mention=values["mention"],
            geo_precision=1,
            evidence=f"{values['text']} n°{k}",
            date=dt.date(2023, 5, 1),
            date_precision="day",
            fatalities=k % 3 or None,
            actors=(values["actor"],),
            sources=(
                {
                    "doc": values["file"],
                    "title": None if k % 2 else values["title"],
                    "url": f"https://example.org/{values['url']}",
                },
            ),
        )
        for k in range(count)
    ]


def hostile_zones(values: dict[str, str]) -> dict:
    """A border, one band and one sector, labelled with ``values``."""
    square = {"type": "Polygon", "coordinates": [[[46.3, 39.5], [46.4, 39.5], [46.4, 39.6], [46.3, 39.5]]]}
    line = {"type": "LineString", "coordinates": [[46.3, 39.5], [46.4, 39.6]]}
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": line, "properties": {"kind": "border", "length_km": 12.0}},
            {
                "type": "Feature",
                "geometry": square,
                "properties": {"kind": "zone", "label": values["zone"], "inner_km": 0, "width_km": 5},
            },
            {
                "type": "Feature",
                "geometry": square,
                "properties": {
                    "kind": "sector",
                    "name": values["sector"],
                    "units": [values["sector"]],
                    "incidents": 2,
                    "length_km": 12.0,
                },
            },
        ],
    }


def hostile_page(values: dict[str, str], *, count: int = 2) -> str:
    place = Place(id="gn-x", name=values["place"], kind=values["placekind"], country="AM", lat=39.5, lon=46.3)
    mention = Mention(doc=values["file"], start=0, end=5, text=values["mention"], origin="geocoder")
    fmap = build_map(
        hostile_incidents(values, count),
        place_features([Resolution(mention, place, "geocoder", 0.9)]),
        title=values["mapname"],
        zones=hostile_zones(values),
    )
    return render_map(fmap, offline=False)


@pytest.mark.parametrize("payload", TEMPLATE_PAYLOADS)
def test_no_field_is_parsed_as_a_template(payload: str, marker: Path) -> None:
    """Text, title, id, file name, url, place name and kind (as a geocoder returns them), mention,
    actor, map title and zone labels: shown as written, never evaluated, never a TemplateSyntaxError."""
    values = hostile_values(payload)
    page = hostile_page(values)  # no TemplateSyntaxError
    shown = readable(page)
    for name, value in values.items():
        if name not in NOT_SHOWN:
            assert value in shown, name
        assert value not in page, name  # its braces are written so that no template syntax forms
        assert f"{name} 49" not in shown and f"{name} x" not in shown
    assert not marker.exists()


@pytest.mark.parametrize("payload", TEMPLATE_PAYLOADS)
def test_no_field_of_a_large_map_is_parsed_as_a_template(payload: str, marker: Path) -> None:
    """A map too large for the time slider (more than TIME_SLIDER_MAX incidents) keeps its values as
    data too."""
    values = hostile_values(payload)
    page = hostile_page(values, count=TIME_SLIDER_MAX + 1)
    assert page.count("geomap-incident") == 1  # one marker factory
    assert "L.timeDimension" not in page and "L.timeDimension" in hostile_page(values)
    shown = readable(page)
    for name in ("text", "place", "mapname", "actor", "title", "file", "url"):
        assert values[name] in shown, name
        assert values[name] not in page, name
        assert f"{name} 49" not in shown and f"{name} x" not in shown
    assert f"{values['text']} n°{TIME_SLIDER_MAX}" in shown
    assert not marker.exists()


def test_build_from_hostile_file_name_and_text_through_the_cli(tmp_path: Path, marker: Path) -> None:
    """``geomap build --offline`` on an article whose file name, text and front matter carry every
    payload, with a hostile ``--title``: map.html is written, shows them, and nothing ran."""
    payloads = " ".join(TEMPLATE_PAYLOADS)
    src = tmp_path / "articles"
    src.mkdir()
    (src / f"goris {payloads}.txt").write_text(
        "Le 13 septembre 2022, des tirs ont visé Goris, faisant deux morts selon un témoin "
        f"qui a écrit {payloads}.\n",
        encoding="utf-8",
    )
    quoted = payloads.replace("'", "''")
    (src / "tegh.md").write_text(
        f"---\ntitle: 'titre {quoted}'\nurl: '{URL}'\n---\n"
        "Le 14 septembre 2022, des affrontements ont éclaté près de Tegh, faisant trois morts.\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["build", str(src), "--out", str(out), "--offline", "-q", "--title", f"carte {payloads}"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    shown = readable((out / "map.html").read_text(encoding="utf-8"))
    assert f"témoin qui a écrit {payloads}" in shown
    assert f"carte {payloads}" in shown and f"titre {payloads}" in shown
    assert f"goris {payloads}" in shown  # the file name, the untitled article's label
    assert f'"{URL}"' in shown  # the link's address, as a JSON string (the browser tests follow it)
    assert "écrit 49" not in shown and "carte 49" not in shown and "titre 49" not in shown
    assert not marker.exists()


# --- place names on the offline basemap --------------------------------------------------------------

HOSTILE_PLACE = '<img src=x onerror="window.__pwned=1"></script><script>window.__pwned=2</script>{{7*7}}'
LABELLED = (
    GORIS,
    Place(id="gn-616041", name="Sotk", kind="village", country="AM", lat=40.2068, lon=45.9338),
    Place(id="gn-174884", name="Jermuk", kind="village", country="AM", lat=39.8417, lon=45.6722),
    Place(id="gn-x", name=HOSTILE_PLACE, kind="village", country="AM", lat=39.75, lon=46.05),
)


def incidents_at(places: tuple[Place, ...]) -> list[Incident]:
    return [
        Incident(
            id=f"i{k}", doc="d1", event_type="Battles", sub_event_type="Armed clash", place=place,
            mention=place.name, geo_precision=1, evidence=f"Des tirs à {place.name}.",
            date=dt.date(2023, 5, 1), date_precision="day", fatalities=k,
        )
        for k, place in enumerate(places)
    ]  # fmt: skip


def rows_of(rows: list[list], kind: str) -> list[list]:
    return [row for row in rows if LABEL_KINDS[row[3]] == kind]


def test_labels_name_capitals_regions_towns_and_every_incident_place() -> None:
    rows = place_labels(incidents_at(LABELLED))
    # incident places first, at every zoom level
    assert {r[2] for r in rows[:4]} == {p.name for p in LABELLED}
    assert all(LABEL_KINDS[r[3]] == "incident" and r[4] == 0 for r in rows[:4])
    assert not rows_of(rows[4:], "incident")
    capitals = {r[2]: r[4] for r in rows_of(rows, "capital")}
    assert capitals["Yerevan"] == capitals["Baku"] == capitals["Tbilisi"] == CAPITAL_ZOOM
    regions = {r[2]: r[4] for r in rows_of(rows, "region")}
    assert {"Syunik", "Vayots Dzor", "Gegharkunik", "Lachin", "Nagorno-Karabakh"} <= set(regions)
    assert "Baku" not in regions  # a unit that is a city: the capital's label names it
    towns = {r[2]: r[4] for r in rows_of(rows, "city") + rows_of(rows, "town") + rows_of(rows, "village")}
    assert towns["Kapan"] < towns["Tegh"]  # 33,000 people before 2,300
    # a place with incidents is named once, by its incident label
    assert [r[2] for r in rows].count("Goris") == 1 and [r[2] for r in rows].count("Sotk") == 1
    # most important first: capitals, then regions, before the towns that regions outrank
    order = [LABEL_KINDS[r[3]] for r in rows]
    assert order == sorted(order, key=LABEL_KINDS.index)
    assert all(isinstance(r[0], float) and isinstance(r[1], float) for r in rows)


def test_a_settlement_is_named_from_a_zoom_level_its_population_reaches() -> None:
    zooms = [settlement_zoom(p) for p in (5_000_000, 500_000, 150_000, 40_000, 12_000, 4_000, 1_500, 200)]
    assert zooms == sorted(zooms) and zooms[0] < zooms[-1]
    rows = place_labels([])
    # a city's districts wait until the city is wide enough: Erebuni (Yerevan) after Gyumri
    towns = {r[2]: r[4] for r in rows}
    assert towns["Erebuni"] > towns["Gyumri"]


def test_an_incident_place_replaces_the_basemaps_label_of_that_place() -> None:
    """By id, or by name nearby: a country's centre, a geocoder's own id for a town."""
    armenia = Place(id="country-am", name="Armenia", kind="country", country="AM", lat=40.07, lon=44.83)
    kapan = Place(id="osm-node-1", name="Kapan", kind="town", country="AM", lat=39.21, lon=46.41)
    rows = place_labels(incidents_at((armenia, kapan)))
    names = [r[2] for r in rows]
    assert names.count("Armenia") == names.count("Kapan") == 1
    assert {r[2] for r in rows if LABEL_KINDS[r[3]] == "incident"} == {"Armenia", "Kapan"}
    assert names.count("Vardenis") == 2  # two places of one name, neither with incidents


def test_the_map_embeds_the_labels_as_inert_json_in_little_space() -> None:
    incidents = incidents_at(LABELLED)
    page = render_map(build_map(incidents, [], title="t"))
    assert _script_json(place_labels(incidents)) in page
    assert LABELS_LAYER in page  # the layer control's entry
    for bit in ("<img src=x", "</script><script>window.__pwned", "{{7*7}}"):
        assert bit not in page
    # the basemap's labels stay small beside the page: under 60 kB of JSON for the whole region
    assert len(_script_json(place_labels([])).encode()) < 60_000


# --- the labels in Chromium -------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
# The map, and every label shown: its text, kind, first zoom and box on the screen, whether visible.
LABELS_SHOWN = """() => {
    const box = document.querySelector(".geomap-labels");
    return [...document.querySelectorAll(".geomap-label")].map((e) => {
        const r = e.getBoundingClientRect();
        return {text: e.textContent, kind: e.className.split(" ")[1].slice(13), min: +e.dataset.minZoom,
                box: [r.left, r.top, r.right, r.bottom],
                visible: box.style.display !== "none" && e.offsetParent !== null && r.width > 0
                         && r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight};
    });
}"""
FIND_MAP = """() => {
    const name = Object.keys(window).find((k) => k.startsWith("map_") && window[k] instanceof L.Map);
    window.__map = window[name];
}"""
BOUNDS = """() => {
    const b = window.__map.getBounds();
    return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()];
}"""
SET_VIEW = "([lat, lon, zoom]) => { window.__map.setView([lat, lon], zoom, {animate: false}); }"


# Each place centred at each zoom level 1-18: where its name is not shown once, as an incident's label.
# (Two places: each view costs some 20 ms, most of it the basemap's outlines drawn again.)
NAMED_AT_EVERY_ZOOM = """(places) => {
    const missing = [];
    for (let zoom = 1; zoom <= 18; zoom++) {
        for (const [lat, lon, name] of places) {
            window.__map.setView([lat, lon], zoom, {animate: false});
            const labels = [...document.querySelectorAll(".geomap-label")];
            const named = labels.filter((e) => e.textContent === name);
            const r = named.length === 1 ? named[0].getBoundingClientRect() : null;
            const shown = r && r.width > 0 && r.left > 0 && r.right < innerWidth && r.top > 0
                && r.bottom < innerHeight && named[0].offsetParent !== null
                && named[0].classList.contains("geomap-label-incident");
            if (!shown) missing.push([zoom, name, named.length]);
        }
    }
    return missing;
}"""


@pytest.fixture(scope="module")
def chromium() -> Any:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (see the README's test command)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def labelled_map(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("labels") / "map.html"
    path.write_text(render_map(build_map(incidents_at(LABELLED), [], title="labels")), encoding="utf-8")
    return path


def open_offline(chromium: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """The page in a context with the network off, its page errors and the urls it asked for."""
    context = chromium.new_context(offline=True, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.evaluate(FIND_MAP)
    # the first fitBounds is animated: the labels show once it ends
    page.wait_for_function(
        '() => !window.__map._animatingZoom && document.querySelector(".geomap-labels").style.display === ""'
    )
    return page, errors, requests


def overlapping(labels: list[dict]) -> list[tuple[str, str]]:
    """Pairs of labels whose boxes overlap, but for two incident places (which always show)."""
    found = []
    for k, a in enumerate(labels):
        for b in labels[k + 1 :]:
            if a["kind"] == b["kind"] == "incident":
                continue
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a["box"], b["box"]
            if ax0 < bx1 - 1 and bx0 < ax1 - 1 and ay0 < by1 - 1 and by0 < ay1 - 1:
                found.append((a["text"], b["text"]))
    return found


@pytest.mark.browser
def test_labels_show_by_zoom_level_offline(chromium: Any, labelled_map: Path, tmp_path: Path) -> None:
    """At the first view capitals and regions are named and minor towns are not; zoomed in, towns
    appear; no two labels overlap; nothing is fetched but the online tiles' layer."""
    page, errors, requests = open_offline(chromium, labelled_map)
    zoom = page.evaluate("window.__map.getZoom()")
    shown = [label for label in page.evaluate(LABELS_SHOWN) if label["visible"]]
    kinds = {label["kind"] for label in shown}
    assert {label["text"] for label in shown if label["kind"] == "incident"} == {p.name for p in LABELLED}
    assert {"incident", "capital", "region"} <= kinds, kinds
    assert all(label["min"] <= zoom for label in shown)
    assert overlapping(shown) == []
    # minor towns in view that wait for a closer zoom
    south, west, north, east = page.evaluate(BOUNDS)
    rows = place_labels(incidents_at(LABELLED))
    waiting = [
        r for r in rows_of(rows, "village") + rows_of(rows, "town")
        if south < r[0] < north and west < r[1] < east and r[4] > zoom
    ]  # fmt: skip
    assert len(waiting) > 20
    assert not {r[2] for r in waiting if [x[2] for x in rows].count(r[2]) == 1} & {s["text"] for s in shown}
    page.screenshot(path=str(tmp_path / "first.png"))

    page.evaluate(SET_VIEW, [GORIS.lat, GORIS.lon, zoom + 3])
    closer = [label for label in page.evaluate(LABELS_SHOWN) if label["visible"]]
    appeared = [label for label in closer if label["kind"] in ("town", "village") and label["min"] > zoom]
    assert len(appeared) >= 3, closer
    assert overlapping(closer) == []
    page.screenshot(path=str(tmp_path / "closer.png"))
    assert (tmp_path / "closer.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the layer control's entry hides and shows them
    entry = page.get_by_text(LABELS_LAYER)
    entry.click()
    assert page.locator(".geomap-label").count() == 0
    entry.click()
    assert page.locator(".geomap-label").count() == len(page.evaluate(LABELS_SHOWN)) > 0

    assert errors == []
    page_url = labelled_map.resolve().as_uri()
    tile = re.compile(r"https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png")  # the online layer's only
    assert [url for url in requests if url != page_url and not tile.fullmatch(url)] == []
    page.context.close()


@pytest.mark.browser
def test_incident_places_are_named_at_every_zoom_and_stay_text(chromium: Any, labelled_map: Path) -> None:
    page, errors, _ = open_offline(chromium, labelled_map)
    places = [[p.lat, p.lon, p.name] for p in (GORIS, LABELLED[-1])]  # a town's, and a hostile one
    missing = page.evaluate(NAMED_AT_EVERY_ZOOM, places)
    assert missing == []
    assert page.evaluate('document.querySelectorAll(".geomap-labels *").length') == page.evaluate(
        'document.querySelectorAll(".geomap-label").length'
    )  # text nodes only: no element came out of a name
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert errors == []
    page.context.close()
