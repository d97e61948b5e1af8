"""QGIS styles (QML) and SLD for geomap's layers, drawn as the web map draws them.

A style is data (:class:`Style`: the attribute classified on, a :class:`Symbol` per value and one for
every other value), made from the map's own colours (:data:`geomap.maps.COLOURS`), then written
twice: as QML, the file QGIS reads beside a layer (``incidents.qml`` beside ``incidents.geojson``
is applied when the layer is added) and in a GeoPackage's ``layer_styles`` table, and as SLD 1.1
for GeoServer and others. The QML follows what QGIS 3.22 writes (each symbol layer's properties
both as an ``Option`` map and as the older ``prop`` elements), so QGIS 3.x reads it as its own.

Incidents are coloured by ``sub_event_type`` and sized by ``fatalities`` (the map's radius,
6 + 3·log10(1 + fatalities) pixels, as a QGIS expression); the border is a dashed black line, the
zones shade from the border outwards, the sectors' fill deepens with their incident count.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from geomap.export import Layer
from geomap.maps import COLOURS, DEFAULT_COLOUR, ZONE_COLOURS

QGIS_VERSION = "3.22.16-Białowieża"  # the version whose files these follow (Debian 12's QGIS)
QML_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
#: A marker's diameter in pixels from its fatalities: twice the web map's radius (maps.marker_radius).
FATALITIES_SIZE = '2 * (6 + 3 * log10(1 + coalesce("fatalities", 0)))'
#: A sector's fill: the map's magenta, more opaque the more incidents it holds.
SECTOR_FILL = (
    "color_rgba(197, 27, 138, "
    '255 * (0.05 + 0.55 * coalesce("incidents", 0) / max(1, maximum(coalesce("incidents", 0)))))'
)
# How QGIS names each kind of symbol, its symbol layer class and its layer geometry type.
_QGIS_KINDS = {"marker": ("SimpleMarker", 0), "line": ("SimpleLine", 1), "fill": ("SimpleFill", 2)}


@dataclass(frozen=True, slots=True)
class Symbol:
    """How one class of features is drawn; sizes and widths in pixels."""

    kind: Literal["marker", "line", "fill"]
    colour: str  # "#rrggbb": the marker's or polygon's fill, the line's colour
    opacity: float = 1.0
    stroke: str | None = None  # outline colour; None draws no outline
    stroke_width: float = 0.0
    size: float = 0.0  # a marker's diameter, a line's width
    dashed: bool = False
    size_expression: str | None = None  # a QGIS expression for the size, per feature
    colour_expression: str | None = None  # a QGIS expression for the fill colour, per feature


@dataclass(frozen=True, slots=True)
class Style:
    """A layer's look: one symbol per value of ``attribute`` and ``default`` for every other value
    (for every feature when ``attribute`` is None)."""

    layer: str
    attribute: str | None
    categories: tuple[tuple[str, Symbol], ...]
    default: Symbol
    default_label: str = "other"


def _incident_symbol(colour: str) -> Symbol:
    return Symbol(
        "marker",
        colour,
        opacity=0.75,
        stroke="#ffffff",
        stroke_width=0.6,
        size=12,
        size_expression=FATALITIES_SIZE,
    )


def layer_style(layer: Layer) -> Style:
    """The style of one of geomap's layers (by name; any other layer gets one plain symbol)."""
    kind = {"Point": "marker", "MultiLineString": "line", "MultiPolygon": "fill"}.get(
        layer.spec.geometry_type, "marker"
    )
    if layer.name == "incidents":
        return Style(
            "incidents",
            "sub_event_type",
            tuple((value, _incident_symbol(colour)) for value, colour in COLOURS.items()),
            _incident_symbol(DEFAULT_COLOUR),
        )
    if layer.name == "places":
        return Style("places", None, (), Symbol("marker", "#333333", opacity=0.6, size=6))
    if layer.name == "border":
        return Style("border", None, (), Symbol("line", "#000000", size=2.5, dashed=True))
    if layer.name == "zones":
        bands = sorted(
            {
                (f["properties"].get("width_km") or 0, f["properties"].get("label") or "")
                for f in layer.features
            }
        )
        darkest = len(ZONE_COLOURS) - 1
        return Style(
            "zones",
            "label",
            tuple(
                (label, Symbol("fill", ZONE_COLOURS[max(0, darkest - index)], opacity=0.35))
                for index, (_, label) in enumerate(bands)
            ),
            Symbol("fill", ZONE_COLOURS[0], opacity=0.35),
        )
    if layer.name == "sectors":
        return Style(
            "sectors",
            None,
            (),
            Symbol(
                "fill",
                "#c51b8a",
                opacity=0.3,
                stroke="#7a0177",
                stroke_width=0.5,
                colour_expression=SECTOR_FILL,
            ),
        )
    return Style(
        layer.name, None, (), Symbol(kind, DEFAULT_COLOUR, opacity=0.75, size=6 if kind == "marker" else 1)
    )


# --- QML -------------------------------------------------------------------------------------------


def _rgba(colour: str, opacity: float = 1.0) -> str:
    """QGIS's colour notation: "r,g,b,a" from "#rrggbb" and an opacity in [0, 1]."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"{red},{green},{blue},{round(255 * opacity)}"


def _symbol_layer_properties(symbol: Symbol) -> dict[str, str]:
    """The properties of the QGIS symbol layer drawing ``symbol`` (names as QGIS 3.22 writes them)."""
    outline = "solid" if symbol.stroke else "no"
    stroke = _rgba(symbol.stroke or "#000000")
    if symbol.kind == "marker":
        return {
            "angle": "0",
            "color": _rgba(symbol.colour, symbol.opacity),
            "horizontal_anchor_point": "1",
            "joinstyle": "bevel",
            "name": "circle",
            "offset": "0,0",
            "offset_unit": "Pixel",
            "outline_color": stroke,
            "outline_style": outline,
            "outline_width": f"{symbol.stroke_width:g}",
            "outline_width_unit": "Pixel",
            "scale_method": "diameter",
            "size": f"{symbol.size:g}",
            "size_unit": "Pixel",
            "vertical_anchor_point": "1",
        }
    if symbol.kind == "line":
        return {
            "capstyle": "square",
            "customdash": "6;4",
            "customdash_unit": "Pixel",
            "joinstyle": "bevel",
            "line_color": _rgba(symbol.colour, symbol.opacity),
            "line_style": "solid",
            "line_width": f"{symbol.size:g}",
            "line_width_unit": "Pixel",
            "offset": "0",
            "offset_unit": "Pixel",
            "use_custom_dash": "1" if symbol.dashed else "0",
        }
    return {
        "border_width_unit": "Pixel",
        "color": _rgba(symbol.colour, symbol.opacity),
        "joinstyle": "bevel",
        "offset": "0,0",
        "offset_unit": "Pixel",
        "outline_color": stroke,
        "outline_style": outline,
        "outline_width": f"{symbol.stroke_width:g}",
        "outline_width_unit": "Pixel",
        "style": "solid",
    }


def _option(
    parent: ET.Element, name: str | None, value: str | None = None, kind: str = "QString"
) -> ET.Element:
    attributes = {"name": name} if name is not None else {}
    attributes["type"] = kind
    if value is not None:
        attributes["value"] = value
    return ET.SubElement(parent, "Option", attributes)


def _data_defined(parent: ET.Element, expressions: Mapping[str, str]) -> None:
    """QGIS's data-defined properties: each property computed by an expression (type 3)."""
    collection = _option(ET.SubElement(parent, "data_defined_properties"), None, kind="Map")
    _option(collection, "name", "")
    if expressions:
        properties = _option(collection, "properties", kind="Map")
        for key, expression in expressions.items():
            entry = _option(properties, key, kind="Map")
            _option(entry, "active", "true", "bool")
            _option(entry, "expression", expression)
            _option(entry, "type", "3", "int")
    else:
        _option(collection, "properties")
    _option(collection, "type", "collection")


def _qml_symbol(parent: ET.Element, name: str, symbol: Symbol) -> None:
    element = ET.SubElement(
        parent,
        "symbol",
        {"alpha": "1", "clip_to_extent": "1", "force_rhr": "0", "name": name, "type": symbol.kind},
    )
    _data_defined(element, {})
    layer = ET.SubElement(
        element, "layer", {"class": _QGIS_KINDS[symbol.kind][0], "enabled": "1", "locked": "0", "pass": "0"}
    )
    properties = _symbol_layer_properties(symbol)
    options = _option(layer, None, kind="Map")
    for key, value in properties.items():
        _option(options, key, value)
    for key, value in properties.items():
        ET.SubElement(layer, "prop", {"k": key, "v": value})
    expressions = {}
    if symbol.size_expression:
        expressions["size"] = symbol.size_expression
    if symbol.colour_expression:
        expressions["fillColor"] = symbol.colour_expression
    _data_defined(layer, expressions)


def style_qml(style: Style) -> str:
    """The style as a QGIS QML document (symbology only)."""
    root = ET.Element("qgis", {"styleCategories": "Symbology", "version": QGIS_VERSION})
    common = {"enableorderby": "0", "forceraster": "0", "referencescale": "-1", "symbollevels": "0"}
    if style.attribute is None:
        renderer = ET.SubElement(root, "renderer-v2", {**common, "type": "singleSymbol"})
        _qml_symbol(ET.SubElement(renderer, "symbols"), "0", style.default)
    else:
        renderer = ET.SubElement(
            root, "renderer-v2", {**common, "attr": style.attribute, "type": "categorizedSymbol"}
        )
        categories = ET.SubElement(renderer, "categories")
        symbols = ET.SubElement(renderer, "symbols")
        entries = [*style.categories, ("", style.default)]  # "": QGIS's category of all other values
        for index, (value, symbol) in enumerate(entries):
            label = value or style.default_label
            ET.SubElement(
                categories,
                "category",
                {"label": label, "render": "true", "symbol": str(index), "value": value},
            )
            _qml_symbol(symbols, str(index), symbol)
        _qml_symbol(ET.SubElement(renderer, "source-symbol"), "0", style.default)
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerGeometryType").text = str(_QGIS_KINDS[style.default.kind][1])
    ET.indent(root, space=" ")
    return QML_DOCTYPE + "\n" + ET.tostring(root, encoding="unicode") + "\n"


def layer_qml(layer: Layer) -> str:
    """The QML of one of geomap's layers (see :func:`layer_style`)."""
    return style_qml(layer_style(layer))


# --- SLD -------------------------------------------------------------------------------------------

SLD = "http://www.opengis.net/sld"
SE = "http://www.opengis.net/se"
OGC = "http://www.opengis.net/ogc"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _se(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{SE}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def _svg_parameters(parent: ET.Element, values: Iterable[tuple[str, str]]) -> None:
    for name, value in values:
        _se(parent, "SvgParameter", value, name=name)


def _sld_symbolizer(rule: ET.Element, symbol: Symbol) -> None:
    fill = (("fill", symbol.colour), ("fill-opacity", f"{symbol.opacity:g}"))
    stroke = (("stroke", symbol.stroke or "#000000"), ("stroke-width", f"{symbol.stroke_width:g}"))
    if symbol.kind == "marker":
        graphic = _se(_se(rule, "PointSymbolizer"), "Graphic")
        mark = _se(graphic, "Mark")
        _se(mark, "WellKnownName", "circle")
        _svg_parameters(_se(mark, "Fill"), fill)
        if symbol.stroke:
            _svg_parameters(_se(mark, "Stroke"), stroke)
        _se(graphic, "Size", f"{symbol.size:g}")
    elif symbol.kind == "line":
        line = (("stroke", symbol.colour), ("stroke-width", f"{symbol.size:g}"))
        dash = (("stroke-dasharray", "6 4"),) if symbol.dashed else ()
        _svg_parameters(_se(_se(rule, "LineSymbolizer"), "Stroke"), (*line, *dash))
    else:
        polygon = _se(rule, "PolygonSymbolizer")
        _svg_parameters(_se(polygon, "Fill"), fill)
        if symbol.stroke:
            _svg_parameters(_se(polygon, "Stroke"), stroke)


def style_sld(style: Style) -> str:
    """The style as an SLD 1.1 document (fixed sizes: SLD has no expression for the fatalities)."""
    ET.register_namespace("", SLD)
    ET.register_namespace("se", SE)
    ET.register_namespace("ogc", OGC)
    ET.register_namespace("xsi", XSI)
    root = ET.Element(
        f"{{{SLD}}}StyledLayerDescriptor",
        {
            "version": "1.1.0",
            f"{{{XSI}}}schemaLocation": f"{SLD} http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd",
        },
    )
    layer = ET.SubElement(root, f"{{{SLD}}}NamedLayer")
    _se(layer, "Name", style.layer)
    user_style = ET.SubElement(layer, f"{{{SLD}}}UserStyle")
    _se(user_style, "Name", style.layer)
    feature_style = _se(user_style, "FeatureTypeStyle")
    for value, symbol in style.categories:
        rule = _se(feature_style, "Rule")
        _se(rule, "Name", value)
        _se(_se(rule, "Description"), "Title", value)
        equal = ET.SubElement(ET.SubElement(rule, f"{{{OGC}}}Filter"), f"{{{OGC}}}PropertyIsEqualTo")
        ET.SubElement(equal, f"{{{OGC}}}PropertyName").text = style.attribute
        ET.SubElement(equal, f"{{{OGC}}}Literal").text = value
        _sld_symbolizer(rule, symbol)
    rule = _se(feature_style, "Rule")
    label = style.default_label if style.attribute else style.layer
    _se(rule, "Name", label)
    _se(_se(rule, "Description"), "Title", label)
    if style.attribute:
        _se(rule, "ElseFilter")
    _sld_symbolizer(rule, style.default)
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def layer_sld(layer: Layer) -> str:
    """The SLD of one of geomap's layers (see :func:`layer_style`)."""
    return style_sld(layer_style(layer))
