"""The Folium map: layers, markers, escaping and links."""

from __future__ import annotations

import datetime as dt
import re

from geomap.export import place_features
from geomap.maps import build_map, incident_popup, marker_radius, render_map, safe_url
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
