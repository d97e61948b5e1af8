"""The Folium map: layers, markers, escaping and links."""

from __future__ import annotations

import datetime as dt
import html as html_module
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from geomap.cli import cli
from geomap.export import place_features
from geomap.maps import LARGE_MAP, build_map, incident_popup, marker_radius, render_map, safe_url
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
    html = incident_popup(incident())
    assert "Des tirs ont visé Goris." in html
    assert "2023-05-01" in html and "Armed clash" in html and "Goris" in html
    assert 'href="https://example.org/a"' in html


def test_popup_escapes_markup_and_template_placeholders() -> None:
    html = incident_popup(incident(evidence="<img src=x onerror=alert(1)> ${alert(2)} `x`"))
    assert "<img" not in html and "onerror=alert(1)>" not in html
    assert "&lt;img" in html
    assert "${" not in html and "`" not in html


def test_only_http_links_are_rendered() -> None:
    assert safe_url("https://example.org") == "https://example.org"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("file:///etc/passwd") is None
    assert safe_url("https://exa mple.org/a") is None and safe_url("https://example.org/\x1b[2J") is None
    assert "javascript:" not in incident_popup(incident(url="javascript:alert(1)"))


def test_marker_radius_grows_with_fatalities() -> None:
    assert marker_radius(None) == marker_radius(0) < marker_radius(10) < marker_radius(1000)


def test_map_has_an_incident_layer_a_place_layer_and_a_layer_control() -> None:
    mention = Mention(doc="d1", start=0, end=5, text="Goris", origin="gazetteer")
    places = place_features([Resolution(mention, GORIS, "gazetteer", 0.9)])
    html = build_map([incident()], places, title="Essai <b>").get_root().render()
    assert html.count("geomap-incident") >= 1 and html.count("geomap-place") >= 1
    assert "L.control.layers" in html
    assert "Incidents" in html and "Places" in html
    assert "Essai &lt;b&gt;" in html
    # folium speaks (lat, lon): the marker sits at Goris, not at (46.3, 39.5)
    assert "[39.5111, 46.3417]" in html


def test_the_same_map_renders_to_the_same_bytes() -> None:
    def page() -> str:
        mention = Mention(doc="d1", start=0, end=5, text="Goris", origin="gazetteer")
        places = place_features([Resolution(mention, GORIS, "gazetteer", 0.9)])
        return render_map(build_map([incident(), incident("Tirs sur Goris.")], places, title="t"))

    first, second = page(), page()
    assert first == second  # folium's random element ids are numbered in tree order
    names = re.findall(r'id="(\w+_[0-9a-f]{32})"', first)
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
    """The compact mode (more than LARGE_MAP incidents) keeps its values as data too."""
    values = hostile_values(payload)
    page = hostile_page(values, count=LARGE_MAP + 1)
    assert page.count("geomap-incident") == 1  # the compact mode: one marker factory
    shown = readable(page)
    for name in ("text", "place", "mapname"):
        assert values[name] in shown, name
        assert values[name] not in page, name
        assert f"{name} 49" not in shown and f"{name} x" not in shown
    assert f"{values['text']} n°{LARGE_MAP}" in shown
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
    assert f'href="{URL}"' in shown
    assert "écrit 49" not in shown and "carte 49" not in shown and "titre 49" not in shown
    assert not marker.exists()
