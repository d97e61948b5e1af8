"""Render incidents, places and border zones as a Folium map. Rendering only: the data comes in ready.

The page is self-contained by default: Leaflet and its plugins are inlined from the installed
``folium-offline`` package (never copied into this repository), and a vector basemap of country
outlines from the gazetteer shows even when no tile can load. ``offline=False`` keeps folium's
usual CDN links for a small file.

Place names need no tiles either (:func:`place_labels`): the incident places at every zoom level, then
capitals, countries, admin-1 units and the settlements of the countries drawn in detail, each from the
zoom level its rank and population allow, as one compact array laid out in the browser by a small
layer ("Place names") that hides a label whose box meets one ranked above it.

Incidents and places are drawn the same way at every size: one compact array of rows (strings in
a deduplicated table) embedded as JSON, from which the browser makes the markers, their tooltips
and, when one is opened, its popup, from text nodes only: nothing from an article is ever parsed as
HTML, and only http(s) links (checked here, by :func:`safe_url`) are rendered. One element per
layer instead of three per marker keeps the render quick (folium compiles every element it renders
as a Jinja2 template).

No value is ever parsed as a template. folium renders each element and then compiles the result
*again* as a Jinja2 template (branca's ``MacroElement.render`` wraps it in ``Element(...)``, and a
plain ``Element(text)`` is a template too), so a ``{`` from an article, a file name, a geocoder or
the command line followed by ``{``, ``%`` or ``#`` would be evaluated, or would fail the build. Values
enter the page at three places only, and each writes braces so that they cannot form template
syntax yet read the same: :func:`_e` (HTML: character references ``&#123;``/``&#125;``),
:func:`_script_json` (JSON in a script: ``\\u007b``/``\\u007d``) and :func:`_inert` (GeoJSON
properties shown as HTML by folium's tooltips).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import folium
import numpy as np
import shapely
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.plugins import FastMarkerCluster, TimestampedGeoJson
from jinja2 import Template
from shapely.geometry import shape
from shapely.ops import polylabel

from geomap.areas import Areas
from geomap.errors import OfflineAssetError
from geomap.export import DATA_SOURCES
from geomap.gazetteer import capitals, data_dir
from geomap.ingest import http_url
from geomap.models import Incident, Place, point_feature, point_latlon

if TYPE_CHECKING:
    from geomap.areas import Area

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
    "Government regains territory": "#1a9850",
    "Non-state actor overtakes territory": "#762a83",
    "Non-violent transfer of territory": "#dfc27d",
}
DEFAULT_COLOUR = "#1f77b4"
# The time slider draws each dated incident as an object of its own: above this many incidents it is
# left out.
TIME_SLIDER_MAX = 2_000
ZONE_COLOURS = ("#fdd49e", "#fdbb84", "#fc8d59", "#e34a33")
# Leaflet only: Bootstrap and icon fonts are not used here, nor jQuery (folium builds its own popups
# with it; these maps build theirs in plain DOM). The time slider brings the jQuery it needs.
LEAFLET_ONLY_JS = [("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js")]
LEAFLET_ONLY_CSS = [("leaflet_css", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css")]
_ASSET = re.compile(
    r'<script src="(?P<js>[^"]+)"></script>|<link rel="stylesheet" href="(?P<css>[^"]+)"\s*/>'
)
# "$", "`" and "\\" would act inside folium's JavaScript template literals; "{" and "}" inside Jinja2
_INERT_CHARS = str.maketrans({"$": "&#36;", "`": "&#96;", "\\": "&#92;", "{": "&#123;", "}": "&#125;"})
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_JSON_BRACES = str.maketrans({"{": "\\u007b", "}": "\\u007d"})


def _e(value: Any) -> str:
    """HTML-escaped text that also stays inert inside a JavaScript template literal (folium's popups)
    and in the Jinja2 pass folium makes over its own output: braces become character references."""
    return html.escape("" if value is None else str(value), quote=True).translate(_INERT_CHARS)


def _inert(value: Any) -> Any:
    """``value`` (GeoJSON properties) with every string, keys included, escaped by :func:`_e`:
    folium embeds the properties in a script compiled again as a template, and its tooltips show
    them as HTML."""
    if isinstance(value, str):
        return _e(value)
    if isinstance(value, dict):
        return {_e(k): _inert(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_inert(v) for v in value]
    return value


def _inert_collection(features: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection of ``features`` whose properties are :func:`_inert` (geometry untouched)."""
    return {
        "type": "FeatureCollection",
        "features": [{**f, "properties": _inert(f.get("properties") or {})} for f in features],
    }


def safe_url(url: str | None) -> str | None:
    """The URL when it is a well-formed http(s) address, else None (the one rule of every output)."""
    return http_url(url)


@dataclass(frozen=True, slots=True)
class PopupContent:
    """What an incident's popup shows, as plain text: ``rows`` of (label, value), the evidence, and
    the sources as (label, url), the url None unless :func:`safe_url` accepts it."""

    rows: tuple[tuple[str, str], ...]
    evidence: str
    sources: tuple[tuple[str, str | None], ...]


def popup_content(incident: Incident) -> PopupContent:
    """The one definition of an incident's popup; the browser lays it out from text nodes."""
    date = incident.date.isoformat() if incident.date else "unknown"
    place = incident.place
    rows = (
        ("Type", f"{incident.event_type} / {incident.sub_event_type}"),
        ("Date", f"{date} ({incident.date_precision})"),
        ("Place", f"{place.name} ({place.country or '?'}), geo-precision {incident.geo_precision}"),
        ("Fatalities", "unknown" if incident.fatalities is None else str(incident.fatalities)),
        ("Injured", "unknown" if incident.injured is None else str(incident.injured)),
        ("Actors", ", ".join(incident.actors) or "not stated"),
    )
    sources = tuple(
        (str(source.get("title") or source.get("doc") or ""), safe_url(source.get("url")))
        for source in incident.sources
    )
    return PopupContent(rows, incident.evidence, sources)


def incident_tooltip(incident: Incident) -> str:
    return f"{incident.sub_event_type} — {incident.place.name}"


def marker_radius(fatalities: int | None) -> float:
    return 6.0 if not fatalities else 6.0 + 3.0 * math.log10(1 + fatalities)


@cache
def _basemap() -> dict[str, Any] | None:
    path = data_dir() / "basemap.geojson"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def build_map(
    incidents: Sequence[Incident],
    place_features: Sequence[dict[str, Any]],
    *,
    title: str = "geomap",
    zones: dict[str, Any] | None = None,
    areas: Areas | None = None,
    extent: tuple[float, float, float, float] | None = None,
    online_tiles: bool = True,
) -> folium.Map:
    """A map with layers for the basemap (``areas``: the theatre's outlines and admin-1 units, by
    default the curated gazetteer's), border zones, places and incidents, a legend and a layer
    control; fitted to the incidents, else to ``extent`` (west, south, east, north: the theatre's).
    ``online_tiles=False`` leaves out the OpenStreetMap layer, for a page that loads nothing."""
    fmap = folium.Map(
        location=_centre(incidents, zones),
        zoom_start=7,
        tiles=None,
        max_zoom=18,
        control_scale=True,
        prefer_canvas=False,
    )
    fmap.default_js, fmap.default_css = LEAFLET_ONLY_JS, LEAFLET_ONLY_CSS
    if online_tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap (online)", show=True).add_to(fmap)
    else:
        fmap.options["maxZoom"] = 18  # else the tile layer's: marker clusters need a zoom range
    DataAttribution().add_to(fmap)
    _add_basemap(fmap, areas)
    if zones is not None:
        _add_zones(fmap, zones)
    PlaceLabels(place_labels(incidents)).add_to(fmap)
    PlaceMarkers(place_features).add_to(fmap)
    _add_incidents(fmap, incidents)
    dated = [i for i in incidents if i.date]
    if dated and len(incidents) <= TIME_SLIDER_MAX:
        _add_time_slider(fmap, dated)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _add_title_and_legend(fmap, title, sorted({i.sub_event_type for i in incidents}))
    if incidents:
        # fit to the incidents placed at a settlement or district; a country's centre would zoom out
        framed = [i for i in incidents if i.geo_precision < 3] or list(incidents)
        lats, lons = [i.place.lat for i in framed], [i.place.lon for i in framed]
        fmap.fit_bounds([[min(lats) - 0.3, min(lons) - 0.3], [max(lats) + 0.3, max(lons) + 0.3]])
    elif extent is not None:
        west, south, east, north = extent
        fmap.fit_bounds([[south, west], [north, east]])
    return fmap


class DataAttribution(MacroElement):
    """The credit the data's licences ask for (GeoNames: CC BY 4.0; Natural Earth), added to
    Leaflet's attribution control beside the tiles' own (OpenStreetMap's, while they are shown)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.html }});"
        "{% endmacro %}"
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "DataAttribution"
        links = ", ".join(
            f'<a href="{_e(url)}" target="_blank" rel="noopener noreferrer">{_e(name)}</a> ({_e(licence)})'
            for name, url, licence, _ in DATA_SOURCES
        )
        self.html = _script_json(f"Data: {links}")


def _feature(name: str, geometry: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": name}, "geometry": geometry.__geo_interface__}


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: "<", ">" and "&" as JSON escapes, as Jinja's tojson does,
    and the braces inside strings too, since folium compiles the script again as a Jinja2 template
    (outside strings, a brace of json.dumps is followed by a quote or a brace closing an empty object,
    so it never opens template syntax)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _JSON_STRING.sub(lambda m: m.group().translate(_JSON_BRACES), text)


# folium writes "var callback = <this>;": a function expression making one marker from a row
# [lat, lon, colour, radius, tooltip, [label, value, ...], evidence, [label, url or -1, ...]] whose
# texts index S; its popup is built from text nodes when opened.
_INCIDENT_CALLBACK = """(function () {
  var C = %(colours)s, S = %(strings)s;
  function add(parent, tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    parent.appendChild(node);
    return node;
  }
  function popup(r) {
    var box = document.createElement("div"), table = add(box, "table"), k;
    box.className = "geomap-popup";
    for (k = 0; k < r[5].length; k += 2) {
      var tr = add(table, "tr");
      add(tr, "th", S[r[5][k]]);
      add(tr, "td", S[r[5][k + 1]]);
    }
    add(box, "blockquote", S[r[6]]).className = "geomap-evidence";
    var sources = add(box, "div", "Sources: ");
    for (k = 0; k < r[7].length; k += 2) {
      if (k) sources.appendChild(document.createTextNode("; "));
      if (r[7][k + 1] < 0) {
        sources.appendChild(document.createTextNode(S[r[7][k]]));
        continue;
      }
      var link = add(sources, "a", S[r[7][k]]);
      link.setAttribute("href", S[r[7][k + 1]]);
      link.setAttribute("target", "_blank");
      link.setAttribute("rel", "noopener noreferrer");
    }
    return box;
  }
  return function (r) {
    var marker = L.circleMarker([r[0], r[1]], {radius: r[3], color: C[r[2]], fillColor: C[r[2]],
                                               fillOpacity: 0.75, className: "geomap-incident"});
    marker.bindPopup(function () { return popup(r); }, {maxWidth: 420, maxHeight: 360});
    marker.bindTooltip(function () { return document.createTextNode(S[r[4]]); }, {sticky: true});
    return marker;
  };
})()"""


def _add_incidents(fmap: folium.Map, incidents: Sequence[Incident]) -> None:
    """The incidents as one compact array, clustered and drawn in the browser (:data:`_INCIDENT_CALLBACK`):
    each a circle sized by :func:`marker_radius` and coloured by type, with :func:`incident_tooltip`
    and :func:`popup_content`, every text once in a table."""
    colours = sorted({COLOURS.get(i.sub_event_type, DEFAULT_COLOUR) for i in incidents})
    colour_index = {c: n for n, c in enumerate(colours)}
    strings: dict[str, int] = {}

    def ref(text: str | None) -> int:
        return -1 if text is None else strings.setdefault(text, len(strings))

    rows = []
    for incident in incidents:
        content = popup_content(incident)
        rows.append(
            [
                round(incident.place.lat, 5),
                round(incident.place.lon, 5),
                colour_index[COLOURS.get(incident.sub_event_type, DEFAULT_COLOUR)],
                round(marker_radius(incident.fatalities), 2),
                ref(incident_tooltip(incident)),
                [ref(text) for row in content.rows for text in row],
                ref(content.evidence),
                [ref(text) for source in content.sources for text in source],
            ]
        )
    callback = _INCIDENT_CALLBACK % {"colours": _script_json(colours), "strings": _script_json(list(strings))}
    FastMarkerCluster(rows, callback=callback, name="Incidents", options={"maxClusterRadius": 40}).add_to(
        fmap
    )


# folium writes "var name = <this>;": the places layer, one circle marker per row [lat, lon, tooltip].
_PLACES_LAYER_JS = """(function (rows) {
  var group = L.featureGroup();
  rows.forEach(function (r) {
    L.circleMarker([r[0], r[1]], {radius: 3, color: "#333333", fillOpacity: 0.6, className: "geomap-place"})
      .bindTooltip(function () { return document.createTextNode(r[2]); }, {sticky: true})
      .addTo(group);
  });
  return group;
})(%(rows)s)"""


class PlaceMarkers(Layer):
    """The places layer ("Places"): ``features`` (places.geojson's) as one array of rows embedded as
    JSON (:func:`_script_json`), each a small circle whose tooltip names the place, its kind and its
    mentions, as a text node."""

    _template = Template(
        "{% macro script(this, kwargs) %}var {{ this.get_name() }} = {{ this.code }};{% endmacro %}"
    )

    def __init__(
        self, features: Sequence[dict[str, Any]], *, name: str = "Places", show: bool = True
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PlaceMarkers"
        rows = []
        for feature in features:
            lat, lon = point_latlon(feature["geometry"])
            props = feature["properties"]
            rows.append([lat, lon, f"{props['name']} ({props['kind']}): {props['mentions']} mentions"])
        self.code = _PLACES_LAYER_JS % {"rows": _script_json(rows)}


def _centre(incidents: Sequence[Incident], zones: dict[str, Any] | None) -> list[float]:
    """The map's first centre, before it is fitted: the incidents', else the borders', else the world's."""
    points = [(i.place.lat, i.place.lon) for i in incidents]
    if not points and zones:
        borders = [
            shape(f["geometry"])
            for f in zones.get("features", [])
            if (f.get("properties") or {}).get("kind") == "border"
        ]
        if borders:
            west, south, east, north = shapely.union_all(borders).bounds
            return [round((south + north) / 2, 4), round((west + east) / 2, 4)]
    if not points:
        return [20.0, 0.0]
    lats, lons = zip(*points, strict=True)
    return [round((min(lats) + max(lats)) / 2, 4), round((min(lons) + max(lons)) / 2, 4)]


def _add_basemap(fmap: folium.Map, areas: Areas | None = None) -> None:
    """Country outlines that need no network: the world at 1:110m, the theatre's countries and
    admin-1 units at 1:10m from ``areas`` (the curated gazetteer's by default)."""
    from geomap.areas import default_areas

    world = _basemap()
    areas = areas or default_areas()
    # detailed outlines for the countries shipped whole (a neighbour's may be clipped to the theatre)
    countries = [a for a in areas.areas if a.kind == "country" and a.whole] if areas else []
    units = [a for a in areas.areas if a.kind != "country"] if areas else []
    if world is not None:
        detailed = {a.name for a in countries}
        outlines = [f for f in world["features"] if f["properties"].get("name") not in detailed]
        outlines += [_feature(a.name, a.geometry) for a in countries]
        folium.GeoJson(
            _inert_collection(outlines),
            name="Country outlines (offline)",
            style_function=lambda _: {
                "color": "#555555",
                "weight": 1.2,
                "fillColor": "#f2efe9",
                "fillOpacity": 1,
            },
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(fmap)
    if units:
        folium.GeoJson(
            _inert_collection([_feature(a.name, a.geometry) for a in units]),
            name=f"Provinces and districts ({', '.join(sorted({a.country or '' for a in units}))})",
            style_function=lambda _: {"color": "#999999", "weight": 0.6, "fill": False, "dashArray": "2 3"},
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(fmap)


# --- place names --------------------------------------------------------------------------------------
# The offline basemap's labels: a compact array drawn by a small Leaflet layer, which shows each label
# from its own zoom level and hides the ones whose box overlaps a label placed before it.

LABELS_LAYER = "Place names"
# Label kinds, in the order of their priority when two overlap: the row's kind is an index here.
LABEL_KINDS = ("incident", "capital", "country", "city", "region", "town", "village")
# A national capital's first zoom level; a settlement's by population (the first tier it reaches), but
# never before it stands SETTLEMENT_SPACING_PX from every settlement ranked above it, nor after
# LAST_LABEL_ZOOM.
CAPITAL_ZOOM = 3
SETTLEMENT_ZOOMS = (
    (1_000_000, 5), (300_000, 6), (100_000, 7), (30_000, 8), (10_000, 9), (3_000, 10), (1_000, 11),
)  # fmt: skip
VILLAGE_ZOOM = 12
SETTLEMENT_SPACING_PX = 60.0
LAST_LABEL_ZOOM = 14
# The style a settlement's label takes by population: city, town, else village.
CITY_POPULATION, TOWN_POPULATION = 100_000, 3_000
# A country's or an admin-1 unit's name shows once the largest circle inside it is this many pixels
# across, within these zoom levels.
AREA_LABEL_PX = {"country": 90.0, "region": 70.0}
AREA_ZOOMS = {"country": (2, 6), "region": (6, 10)}
SETTLEMENT_KINDS = frozenset({"city", "town", "village"})
_UNIT_SUFFIX = re.compile(r" (?:Province|District)$")
# Per kind: [CSS font, line height (px), upper case, letter spacing (px), last zoom level shown,
# centred on its point (else beside it, with a dot), the text's distance from the point (px)]
_LABEL_STYLES = {
    "incident": ["600 12px sans-serif", 14, False, 0, 99, False, 10],
    "capital": ["bold 13px sans-serif", 15, False, 0, 99, False, 6],
    "country": ["13px sans-serif", 15, True, 1.5, 8, True, 0],
    "city": ["12px sans-serif", 14, False, 0, 99, False, 5],
    "region": ["italic 11px sans-serif", 13, True, 1, 11, True, 0],
    "town": ["11px sans-serif", 13, False, 0, 99, False, 5],
    "village": ["10px sans-serif", 12, False, 0, 99, False, 4],
}
_LABEL_CSS = """<style>
.geomap-label {position: absolute; left: 0; top: 0; white-space: nowrap; pointer-events: none;
  color: #333; text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff, 0 0 4px #fff;}
.geomap-label-dot::before {content: ""; position: absolute; top: 50%; left: -8px; width: 4px; height: 4px;
  margin-top: -3px; border-radius: 50%; background: #444; border: 1px solid #fff;}
.geomap-label-incident {color: #000;}
.geomap-label-capital {color: #111;}
.geomap-label-capital::before {left: -9.5px; width: 5px; height: 5px; margin-top: -3.5px; background: #111;}
.geomap-label-country {color: #7d766b;}
.geomap-label-city {color: #222;}
.geomap-label-region {color: #6a6a86;}
.geomap-label-village {color: #555;}
.geomap-label-village::before {left: -7px;}
.geomap-label-left::before {left: auto; right: -8px;}
.geomap-label-capital.geomap-label-left::before {right: -9.5px;}
.geomap-label-village.geomap-label-left::before {right: -7px;}
</style>"""
# folium writes "var name = <this>;": a layer that lays its labels out again at every zoom level.
# Text enters the page as text nodes only; the boxes come from the canvas's own text metrics.
_LABELS_LAYER_JS = """(function (rows, styles) {
  var canvas = document.createElement("canvas").getContext("2d"), widths = [];
  function text(i) {
    return styles[rows[i][3]][2] ? rows[i][2].toUpperCase() : rows[i][2];
  }
  function width(i) {
    if (widths[i] === undefined) {
      var s = styles[rows[i][3]], t = text(i);
      canvas.font = s[0];
      widths[i] = Math.ceil(canvas.measureText(t).width + s[3] * t.length);
    }
    return widths[i];
  }
  // The box of label i at the point p: centred on it, or on its right (side 1) or left (side -1).
  function box(i, p, side) {
    var s = styles[rows[i][3]], w = width(i), h = s[1];
    var x = s[5] ? p.x - w / 2 : side > 0 ? p.x + s[6] : p.x - s[6] - w;
    return [x, p.y - h / 2, x + w, p.y + h / 2, side];
  }
  var Labels = L.Layer.extend({
    onAdd: function (map) {
      if (!map.getPane("geomap-labels")) {
        var pane = map.createPane("geomap-labels");
        pane.style.zIndex = 450;
        pane.style.pointerEvents = "none";
      }
      this._box = L.DomUtil.create("div", "geomap-labels", map.getPane("geomap-labels"));
      this._draw();
    },
    onRemove: function () {
      L.DomUtil.remove(this._box);
      this._box = null;
    },
    getEvents: function () {
      return {zoomstart: this._hide, moveend: this._draw, viewreset: this._draw};
    },
    _hide: function () {
      if (this._box) this._box.style.display = "none";
    },
    // Rows come most important first: each shows from its zoom level, on the right of its point or
    // else on the left, unless both boxes meet one placed before (incident places always show, on the
    // right); the boxes placed are kept in a grid of 128 px cells.
    _place: function (zoom) {
      var grid = new Map(), placed = [];
      function cells(b, visit) {
        for (var cx = Math.floor(b[0] / 128); cx <= Math.floor(b[2] / 128); cx++)
          for (var cy = Math.floor(b[1] / 128); cy <= Math.floor(b[3] / 128); cy++)
            if (visit(cx + ":" + cy)) return true;
        return false;
      }
      function free(b) {
        return !cells(b, function (key) {
          return (grid.get(key) || []).some(function (o) {
            return b[0] < o[2] + 2 && o[0] < b[2] + 2 && b[1] < o[3] + 1 && o[1] < b[3] + 1;
          });
        });
      }
      for (var i = 0; i < rows.length; i++) {
        var r = rows[i], s = styles[r[3]];
        if (zoom < r[4] || zoom > s[4]) continue;
        var p = this._map.project([r[0], r[1]], zoom), b = box(i, p, 1);
        if (r[3] !== 0 && !free(b)) {
          b = s[5] ? null : box(i, p, -1);
          if (!b || !free(b)) continue;
        }
        cells(b, function (key) {
          if (!grid.has(key)) grid.set(key, []);
          grid.get(key).push(b);
          return false;
        });
        placed.push([i, b]);
      }
      return placed;
    },
    // The labels placed at this zoom level whose box is within a screen's size of the view.
    _draw: function () {
      if (!this._box || !this._map) return;
      var map = this._map, zoom = map.getZoom(), origin = map.getPixelOrigin();
      if (this._zoom !== zoom) {
        this._placed = this._place(zoom);
        this._zoom = zoom;
      }
      var size = map.getSize(), view = map.getPixelBounds(), labels = document.createDocumentFragment();
      var min = view.min.subtract(size), max = view.max.add(size);
      this._placed.forEach(function (found) {
        var i = found[0], b = found[1], s = styles[rows[i][3]];
        if (b[2] < min.x || b[0] > max.x || b[3] < min.y || b[1] > max.y) return;
        var el = document.createElement("div");
        var dot = s[5] || s[7] === "incident" ? "" : " geomap-label-dot";
        el.className = "geomap-label geomap-label-" + s[7] + dot + (b[4] < 0 ? " geomap-label-left" : "");
        el.textContent = text(i);
        el.dataset.minZoom = rows[i][4];
        el.style.font = s[0];
        el.style.lineHeight = s[1] + "px";
        if (s[3]) el.style.letterSpacing = s[3] + "px";
        L.DomUtil.setPosition(el, L.point(b[0] - origin.x, b[1] - origin.y));
        labels.appendChild(el);
      });
      this._box.replaceChildren(labels);
      this._box.style.display = "";
    }
  });
  return new Labels();
})(%(rows)s, %(styles)s)"""


class PlaceLabels(Layer):
    """The basemap's place names, one entry of the layer control: ``rows`` from :func:`place_labels`,
    embedded as JSON (:func:`_script_json`) and written into the page as text nodes."""

    _template = Template(
        "{% macro header(this, kwargs) %}{{ this.css }}{% endmacro %}"
        "{% macro script(this, kwargs) %}var {{ this.get_name() }} = {{ this.code }};{% endmacro %}"
    )

    def __init__(self, rows: Sequence[Sequence[Any]], *, name: str = LABELS_LAYER, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PlaceLabels"
        self.css = _LABEL_CSS
        styles = [[*_LABEL_STYLES[kind], kind] for kind in LABEL_KINDS]
        self.code = _LABELS_LAYER_JS % {"rows": _script_json(rows), "styles": _script_json(styles)}


@dataclass(frozen=True, slots=True)
class _Label:
    """A basemap label before it meets the incidents; ``key`` names the place it labels (a gazetteer
    id, or a country's name) so that an incident place's own label can replace it."""

    key: str
    lat: float
    lon: float
    text: str
    kind: str
    min_zoom: int
    population: int = 0


def place_labels(incidents: Sequence[Incident]) -> list[list[Any]]:
    """The map's labels as rows ``[lat, lon, text, kind, min_zoom]``, most important first (``kind``
    indexes :data:`LABEL_KINDS`): every incident place, shown at every zoom (most incidents first),
    then the capitals, countries, cities, admin-1 units, towns and villages of the basemap, each from
    the zoom level its rank allows. A basemap label of a place that has incidents gives way to the
    incident place's own."""
    counts: dict[tuple[str, str, float, float], int] = {}
    for incident in incidents:
        place = incident.place
        key = (place.id, place.name, round(place.lat, 4), round(place.lon, 4))
        counts[key] = counts.get(key, 0) + 1
    ids = {key[0] for key in counts}
    points: dict[str, list[tuple[float, float]]] = {}
    for _, name, lat, lon in counts:
        points.setdefault(name.casefold(), []).append((lat, lon))

    def replaced(label: _Label) -> bool:
        # the same id, or the same name nearby (a geocoder's id for the place; a country's centre)
        reach = 2.0 if label.kind in ("country", "region") else 0.1
        near = points.get(label.text.casefold(), ())
        return label.key in ids or any(abs(y - label.lat) + abs(x - label.lon) < reach for y, x in near)

    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    rows: list[list[Any]] = [[lat, lon, name, 0, 0] for (_, name, lat, lon), _ in ranked]
    rank = {kind: n for n, kind in enumerate(LABEL_KINDS)}
    basemap = sorted(
        (label for label in _basemap_labels() if not replaced(label)),
        key=lambda a: (rank[a.kind], a.min_zoom, -a.population, a.text, a.key),
    )
    rows += [[round(a.lat, 4), round(a.lon, 4), a.text, rank[a.kind], a.min_zoom] for a in basemap]
    return rows


def settlement_zoom(population: int) -> int:
    """The first zoom level at which a settlement of ``population`` people is named."""
    return next((zoom for least, zoom in SETTLEMENT_ZOOMS if population >= least), VILLAGE_ZOOM)


@cache
def _basemap_labels() -> tuple[_Label, ...]:
    """Every country and admin-1 unit of the basemap, every national capital, and the settlements of
    the countries drawn in detail (the theatre and its neighbours)."""
    from geomap.areas import default_areas
    from geomap.gazetteer import default_gazetteer

    areas = default_areas().areas if default_areas() else ()
    detailed = [a for a in areas if a.kind == "country"]
    settlements = sorted(
        (p for p in default_gazetteer().places.values() if p.kind in SETTLEMENT_KINDS), key=lambda p: p.id
    )
    labels = _settlement_labels(settlements, detailed)
    shown = {label.text for label in labels}
    # a unit that is a city (Baku, Ganja, Yerevan) is named by the city's own label
    units = [a for a in areas if a.kind in ("province", "district", "region") and a.name not in shown]
    return (*_country_labels([a for a in detailed if a.whole]), *_unit_labels(units), *labels)


def _settlement_labels(places: Sequence[Place], countries: Sequence[Area]) -> list[_Label]:
    """The national capitals, and the settlements inside ``countries``: each from the zoom level its
    population reaches, and not before it stands :data:`SETTLEMENT_SPACING_PX` from every settlement
    ranked above it (so a city's districts and suburbs wait until the city is wide enough)."""
    region = shapely.union_all([a.geometry for a in countries]) if countries else shapely.Polygon()
    inside = shapely.contains_xy(region, [p.lon for p in places], [p.lat for p in places])
    capital_names = capitals()
    ranked = sorted(
        (
            (place, (place.name, place.country or "") in capital_names)
            for place, within in zip(places, inside, strict=True)
            if within or (place.name, place.country or "") in capital_names
        ),
        key=lambda pc: (not pc[1], -pc[0].population, pc[0].id),
    )
    lats = np.array([p.lat for p, _ in ranked])
    lons = np.array([p.lon for p, _ in ranked])
    labels = []
    for k, (place, capital) in enumerate(ranked):
        if capital:
            kind, zoom = "capital", CAPITAL_ZOOM
        else:
            # Web Mercator pixels at zoom 0 to the nearest settlement ranked above
            dy = (lats[:k] - place.lat) / math.cos(math.radians(place.lat))
            gap = 256 / 360 * float(np.min(np.hypot(lons[:k] - place.lon, dy), initial=360.0))
            spaced = math.ceil(math.log2(SETTLEMENT_SPACING_PX / gap)) if gap > 0 else LAST_LABEL_ZOOM
            zoom = min(max(settlement_zoom(place.population), spaced), LAST_LABEL_ZOOM)
            kind = "city" if place.population >= CITY_POPULATION else "town"
            kind = kind if place.population >= TOWN_POPULATION else "village"
        labels.append(_Label(place.id, place.lat, place.lon, place.name, kind, zoom, place.population))
    return labels


def _country_labels(detailed: Sequence[Area]) -> list[_Label]:
    """Every country of the world basemap; those drawn in detail from their detailed outline."""
    world = _basemap()
    outlines = {a.name: (a.id, a.geometry) for a in detailed}
    for feature in world["features"] if world else ():
        name = str((feature.get("properties") or {}).get("name") or "")
        if name and name not in outlines:
            outlines[name] = (name, shape(feature["geometry"]))
    return [_area_label(key, name, "country", geometry) for name, (key, geometry) in sorted(outlines.items())]


def _unit_labels(units: Sequence[Area]) -> list[_Label]:
    """Admin-1 units by their short name ("Syunik Province" is Syunik)."""
    return [_area_label(a.id, _UNIT_SUFFIX.sub("", a.name), "region", a.geometry) for a in units]


def _area_label(key: str, text: str, kind: str, geometry: Any) -> _Label:
    """``text`` at the centre of the largest circle inside the largest part of ``geometry``, from
    the zoom level at which that circle is :data:`AREA_LABEL_PX` wide (in Web Mercator at the
    equator's scale, 256 px for 360 degrees at zoom 0)."""
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    polygons = [g for g in shapely.get_parts(shapely.get_parts(geometry)) if g.geom_type == "Polygon"]
    largest = max(polygons, key=lambda g: g.area)
    centre = polylabel(largest, tolerance=0.01)
    radius = max(largest.boundary.distance(centre), 1e-6)
    first, last = AREA_ZOOMS[kind]
    zoom = math.ceil(math.log2(AREA_LABEL_PX[kind] * 360 / (256 * 2 * radius)))
    return _Label(key, centre.y, centre.x, text, kind, min(max(zoom, first), last))


def _add_zones(fmap: folium.Map, zones: dict[str, Any]) -> None:
    features = zones.get("features", [])
    sectors = [f for f in features if f["properties"].get("kind") == "sector"]
    bands = [f for f in features if f["properties"].get("kind") == "zone"]
    border = [f for f in features if f["properties"].get("kind") == "border"]
    if sectors:
        top = max(1, max(int(f["properties"].get("incidents") or 0) for f in sectors))

        def sector_style(feature: dict[str, Any]) -> dict[str, Any]:
            share = int(feature["properties"].get("incidents") or 0) / top
            return {
                "color": "#7a0177",
                "weight": 0.5,
                "fillColor": "#c51b8a",
                "fillOpacity": 0.05 + 0.55 * share,
            }

        folium.GeoJson(
            _inert_collection(sectors),
            name="Border sectors (incidents)",
            style_function=sector_style,
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "incidents", "length_km"], aliases=["Sector", "Incidents", "Length (km)"]
            ),
            show=False,
        ).add_to(fmap)
    if bands:
        widths = sorted({f["properties"].get("width_km") for f in bands if f["properties"].get("width_km")})

        def band_style(feature: dict[str, Any]) -> dict[str, Any]:
            index = widths.index(feature["properties"].get("width_km")) if widths else 0
            colour = ZONE_COLOURS[max(0, len(ZONE_COLOURS) - 1 - index)]  # the nearest band darkest
            return {"color": colour, "weight": 0, "fillColor": colour, "fillOpacity": 0.35}

        folium.GeoJson(
            _inert_collection(bands),
            name="Border zones",
            style_function=band_style,
            tooltip=folium.GeoJsonTooltip(fields=["label"], aliases=["Zone"]),
        ).add_to(fmap)
    if border:
        title = next((f["properties"].get("name") for f in border if f["properties"].get("name")), "")
        folium.GeoJson(
            _inert_collection(border),
            name=f"{_e(title)} border" if title else "Border",
            style_function=lambda _: {"color": "#000000", "weight": 2.5, "dashArray": "6 4"},
        ).add_to(fmap)


def _add_time_slider(fmap: folium.Map, incidents: Sequence[Incident]) -> None:
    features = []
    for incident in incidents:
        assert incident.date is not None
        feature = point_feature(
            incident.place.lat,
            incident.place.lon,
            {
                "time": incident.date.isoformat(),
                "popup": _e(f"{incident.date} — {incident.sub_event_type} — {incident.place.name}"),
                "icon": "circle",
                "iconstyle": {
                    "color": COLOURS.get(incident.sub_event_type, DEFAULT_COLOUR),
                    "radius": 7,
                    "fillOpacity": 0.8,
                },
            },
        )
        features.append(feature)
    TimestampedGeoJson(
        {"type": "FeatureCollection", "features": features},
        period="P1D",
        duration="P7D",
        add_last_point=False,
        auto_play=False,
        date_options="YYYY-MM-DD",
    ).add_to(fmap)


def _add_title_and_legend(fmap: folium.Map, title: str, types: list[str]) -> None:
    items = "".join(
        f'<div><span style="display:inline-block;width:10px;height:10px;border-radius:5px;'
        f'background:{COLOURS.get(t, DEFAULT_COLOUR)}"></span> {_e(t)}</div>'
        for t in types
    )
    box = (
        '<div id="geomap-legend" style="position:fixed;bottom:30px;right:10px;z-index:1000;background:white;'
        'padding:6px 10px;border:1px solid #999;font:12px sans-serif">'
        f"<b>{_e(title)}</b>{items or '<div>No incident found</div>'}"
        "<div style='color:#555'>Marker size: fatalities</div></div>"
    )
    fmap.get_root().html.add_child(folium.Element(box))
    fmap.get_root().header.add_child(folium.Element(f"<title>{_e(title)}</title>"))


@cache
def _offline_assets() -> dict[str, str]:
    try:
        from offlinefolium.elements import _res as assets  # the JS/CSS folium links to, as strings
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise OfflineAssetError("the folium-offline package is not installed") from exc
    return assets


def render_map(fmap: folium.Map, *, offline: bool = True) -> str:
    """The map as one HTML page; with ``offline``, every script and style sheet is inlined."""
    page = _stable_ids(fmap.get_root(), fmap.get_root().render())
    if not offline:
        return page
    assets = _offline_assets()

    def inline(match: re.Match[str]) -> str:
        url = match.group("js") or match.group("css")
        if url not in assets:
            raise OfflineAssetError(f"no offline copy of {url}")
        body = assets[url]
        if match.group("js"):
            return "<script>" + body.replace("</script", "<\\/script") + "</script>"
        return "<style>" + body.replace("</style", "<\\/style") + "</style>"

    return _ASSET.sub(inline, page)


def _stable_ids(root: Element, page: str) -> str:
    """``page`` with folium's random element ids (uuid4 hex) numbered in tree order instead, so that
    the same map renders to the same bytes from one build to the next."""
    ids: dict[str, str] = {}
    stack = [root]
    while stack:
        element = stack.pop()
        if element._id in ids:
            continue
        ids[element._id] = f"{len(ids):032x}"
        # children, and the parts some elements keep as attributes (a popup's html, a figure's header)
        parts = [v for k, v in vars(element).items() if isinstance(v, Element) and k != "_parent"]
        stack.extend(reversed([*element._children.values(), *parts]))
    return _HEX_ID.sub(lambda m: ids.get(m.group(), m.group()), page)


_HEX_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
