"""Render incidents and places as a Folium map. Rendering only: the data comes in ready.

Every string that comes from an article is HTML-escaped before it reaches the page, and only http(s)
links are rendered.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import folium

from geomap.models import Incident, point_latlon

COLOURS = {
    "Armed clash": "#d62728",
    "Shelling/artillery/missile attack": "#ff7f0e",
    "Air/drone strike": "#8c564b",
    "Attack on civilians": "#e377c2",
    "Border incursion/seizure of positions": "#9467bd",
    "Blockade/closure": "#7f7f7f",
    "Ceasefire/agreement": "#2ca02c",
    "Ceasefire violation": "#bcbd22",
    "Displacement": "#17becf",
}
DEFAULT_COLOUR = "#1f77b4"


_JS_TEMPLATE_CHARS = str.maketrans({"$": "&#36;", "`": "&#96;", "\\": "&#92;"})


def _e(value: Any) -> str:
    """HTML-escaped text that also stays inert inside a JavaScript template literal (folium's popups)."""
    return html.escape("" if value is None else str(value), quote=True).translate(_JS_TEMPLATE_CHARS)


def safe_url(url: str | None) -> str | None:
    """The URL when it is http(s), else None."""
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


def incident_popup(incident: Incident) -> str:
    """The popup's HTML; every value escaped."""
    p = incident.properties()
    rows = [
        ("Type", f"{p['event_type']} / {p['sub_event_type']}"),
        ("Date", f"{p['date'] or 'unknown'} ({p['date_precision']})"),
        ("Place", f"{p['place']} ({p['country'] or '?'}), geo-precision {p['geo_precision']}"),
        ("Fatalities", "unknown" if p["fatalities"] is None else p["fatalities"]),
        ("Injured", "unknown" if p["injured"] is None else p["injured"]),
        ("Actors", ", ".join(p["actors"]) or "not stated"),
    ]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    links = []
    for source in p["sources"]:
        label = _e(source.get("title") or source.get("doc"))
        url = safe_url(source.get("url"))
        links.append(
            f'<a href="{_e(url)}" target="_blank" rel="noopener noreferrer">{label}</a>' if url else label
        )
    return (
        f'<div class="geomap-popup"><table>{body}</table>'
        f'<blockquote class="geomap-evidence">{_e(p["evidence"])}</blockquote>'
        f"<div>Sources: {'; '.join(links)}</div></div>"
    )


def marker_radius(fatalities: int | None) -> float:
    return 6.0 if not fatalities else 6.0 + 3.0 * math.log10(1 + fatalities)


def build_map(
    incidents: Sequence[Incident],
    place_features: Sequence[dict[str, Any]],
    *,
    title: str = "geomap",
) -> folium.Map:
    """A map with an incidents layer, a places layer, a legend and a layer control."""
    fmap = folium.Map(location=[40.0, 45.5], zoom_start=7, tiles=None, max_zoom=18, control_scale=True)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap").add_to(fmap)
    incident_layer = folium.FeatureGroup(name="Incidents", show=True)
    place_layer = folium.FeatureGroup(name="Places", show=True)
    points: list[tuple[float, float]] = []
    for incident in incidents:
        colour = COLOURS.get(incident.sub_event_type, DEFAULT_COLOUR)
        folium.CircleMarker(
            location=[incident.place.lat, incident.place.lon],
            radius=marker_radius(incident.fatalities),
            color=colour,
            fill=True,
            fill_color=colour,
            fill_opacity=0.7,
            popup=folium.Popup(incident_popup(incident), max_width=420),
            tooltip=_e(f"{incident.sub_event_type} — {incident.place.name}"),
            class_name="geomap-incident",
        ).add_to(incident_layer)
        points.append((incident.place.lat, incident.place.lon))
    for feature in place_features:
        lat, lon = point_latlon(feature["geometry"])
        props = feature["properties"]
        folium.CircleMarker(
            location=[lat, lon],
            radius=3,
            color="#333333",
            fill=True,
            fill_opacity=0.6,
            tooltip=_e(f"{props['name']} ({props['kind']}): {props['mentions']} mentions"),
            class_name="geomap-place",
        ).add_to(place_layer)
    place_layer.add_to(fmap)
    incident_layer.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _add_title_and_legend(fmap, title, sorted({i.sub_event_type for i in incidents}))
    if points:
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        fmap.fit_bounds([[min(lats) - 0.5, min(lons) - 0.5], [max(lats) + 0.5, max(lons) + 0.5]])
    return fmap


def _add_title_and_legend(fmap: folium.Map, title: str, types: list[str]) -> None:
    items = "".join(
        f'<div><span style="display:inline-block;width:10px;height:10px;border-radius:5px;'
        f'background:{COLOURS.get(t, DEFAULT_COLOUR)}"></span> {_e(t)}</div>'
        for t in types
    )
    box = (
        '<div id="geomap-legend" style="position:fixed;bottom:20px;left:20px;z-index:1000;background:white;'
        'padding:6px 10px;border:1px solid #999;font:12px sans-serif">'
        f"<b>{_e(title)}</b>{items or '<div>No incident found</div>'}</div>"
    )
    fmap.get_root().html.add_child(folium.Element(box))
