"""report.html: one self-contained page an analyst can send or print.

The page holds the interactive map (map.html, in a sandboxed ``<iframe srcdoc>``), the timeline, a
table of border sectors and a sortable, filterable table of incidents. It loads nothing: images are
``data:`` URIs, the map's scripts are inlined, and a Content-Security-Policy allows no request at all
and only the scripts it lists by hash (the page's own and the map's), so that even a value escaped
wrongly somewhere could not run or phone home. A print style sheet hides the controls and the
interactive map (a static picture of the map stands in for it when one is given).

Every value from an article stays text: it enters the page either through :func:`html.escape`, or
as JSON in a ``<script type="application/json">`` block (``<``, ``>``, ``&`` and U+2028/U+2029 as
JSON escapes) that the page's script reads with ``textContent`` and only ever compares or sorts: the
script moves the rows written here, and writes nothing but counts and its own labels, as text.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from geomap import __version__
from geomap.areas import Areas, theatre_map_areas
from geomap.errors import GeomapError
from geomap.export import DATA_SOURCES
from geomap.maps import COLOURS, DEFAULT_COLOUR, safe_url
from geomap.models import Article, Incident, Result

#: The lowest geo-precision at which an incident is placed only at a country or a large region: the
#: rule of :meth:`geomap.zones.BorderZones.place` (no sector) and of the map's framing.
COUNTRY_LEVEL = 3
#: Incident table columns: (key, heading, kind the script sorts them as).
INCIDENT_COLUMNS = (
    ("date", "Date", "date"),
    ("type", "Type", "text"),
    ("place", "Place", "text"),
    ("fatalities", "Fatalities", "number"),
    ("actors", "Actors", "text"),
    ("evidence", "Evidence", "text"),
    ("sources", "Sources", "text"),
)
SECTOR_COLUMNS = (
    ("name", "Sector", "text"),
    ("length", "Length (km)", "number"),
    ("incidents", "Incidents", "number"),
    ("fatalities", "Fatalities", "number"),
    ("last", "Last incident", "date"),
)
_SCRIPT_BLOCK = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
_STYLE_BLOCK = re.compile(r"(<style\b[^>]*>)(.*?)(</style\s*>)", re.S | re.I)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(?!data:)[^'")]*\1\s*\)""", re.I)
_EXTERNAL = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I)
_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


class ReportError(GeomapError, ValueError):
    """Something handed to the report cannot go into an offline page (an image of an unknown format,
    a map that loads its scripts from the network)."""


@dataclass(frozen=True, slots=True)
class SectorRow:
    """One border sector's line in the report: what happened along it."""

    name: str
    length_km: float | None
    incidents: int
    fatalities: int  # the sum of the stated figures (an incident without one adds nothing)
    last: dt.date | None


@dataclass(frozen=True, slots=True)
class SectorTable:
    """The sectors (north to south, as zones.geojson lists them) and the incidents outside them."""

    rows: tuple[SectorRow, ...]
    beyond: int  # located incidents farther from the border than the widest zone
    country_level: int  # incidents placed only at a country or a large region
    widest_km: float | None  # the widest zone's outer edge, when zones were given


# --- data ------------------------------------------------------------------------------------------


def sector_table(incidents: Sequence[Incident], zones: Mapping[str, Any] | None) -> SectorTable:
    """Incidents, fatalities and the last date per border sector.

    Each incident's sector is the one :meth:`geomap.zones.BorderZones.place` gave it (the nearest
    sector within the widest zone); the sectors and their order come from ``zones`` (zones.geojson's
    collection), so quiet sectors are listed too. A sector named by an incident but absent from
    ``zones`` is added after them.
    """
    features = (zones or {}).get("features", [])
    sectors = [f["properties"] for f in features if f.get("properties", {}).get("kind") == "sector"]
    widths = [
        float(f["properties"]["width_km"])
        for f in features
        if f.get("properties", {}).get("kind") == "zone" and f["properties"].get("width_km") is not None
    ]
    by_sector: dict[str, list[Incident]] = {}
    for incident in incidents:
        if incident.sector is not None:
            by_sector.setdefault(incident.sector, []).append(incident)
    names = [str(p.get("name")) for p in sectors]
    lengths = {str(p.get("name")): p.get("length_km") for p in sectors}
    names += sorted(set(by_sector).difference(names))
    rows = []
    for name in names:
        chosen = by_sector.get(name, [])
        dates = [i.date for i in chosen if i.date is not None]
        length = lengths.get(name)
        rows.append(
            SectorRow(
                name=name,
                length_km=None if length is None else float(length),
                incidents=len(chosen),
                fatalities=sum(i.fatalities or 0 for i in chosen),
                last=max(dates) if dates else None,
            )
        )
    country_level = sum(1 for i in incidents if i.geo_precision >= COUNTRY_LEVEL)
    beyond = sum(1 for i in incidents if i.sector is None and i.geo_precision < COUNTRY_LEVEL)
    return SectorTable(tuple(rows), beyond, country_level, max(widths) if widths else None)


def outlets(articles: Iterable[Article]) -> set[str]:
    """The outlets the articles come from: their declared source, else their web address's host."""
    found = set()
    for article in articles:
        if article.source:
            found.add(article.source.strip().lower())
        elif (url := safe_url(article.url)) is not None:
            host = urlsplit(url).hostname or ""
            found.add(host.removeprefix("www."))
    return found


def incident_order(incidents: Iterable[Incident]) -> list[Incident]:
    """Oldest first, undated last; then by place and id, so that a report is the same from run to run."""
    return sorted(incidents, key=lambda i: (i.date is None, i.date or dt.date.min, i.place.name, i.id))


# --- images ----------------------------------------------------------------------------------------


_PNG = b"\x89PNG\r\n\x1a\n"
_SVG_TAG = re.compile(rb"<svg\b[^>]*>", re.I)
_SVG_LENGTH = re.compile(rb"""\s(width|height)\s*=\s*["']\s*([0-9.]+)\s*(px|pt|in|cm|mm)?\s*["']""", re.I)
_PX = {b"": 1.0, b"px": 1.0, b"pt": 4 / 3, b"in": 96.0, b"cm": 96 / 2.54, b"mm": 96 / 25.4}


def image_uri(image: bytes | str) -> str:
    """A ``data:`` URI for a PNG, JPEG or SVG image (SVG may come as text). Shown through ``<img>``,
    an SVG runs no script and loads nothing, whoever made it."""
    data = image.encode("utf-8") if isinstance(image, str) else bytes(image)
    if data.startswith(_PNG):
        kind = "image/png"
    elif data.startswith(b"\xff\xd8\xff"):
        kind = "image/jpeg"
    elif _SVG_TAG.search(data[:4096]):
        kind = "image/svg+xml"
    else:
        raise ReportError("an image for the report must be PNG, JPEG or SVG")
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def image_size(image: bytes | str) -> tuple[int, int] | None:
    """A PNG's or an SVG's size in CSS pixels, from its header (None when it does not say): given to
    ``<img>``, it lets the page lay out before the image is decoded, so nothing moves under a reader's
    click."""
    data = image.encode("utf-8") if isinstance(image, str) else bytes(image)
    if data.startswith(_PNG) and len(data) >= 24:
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        return (width, height) if width and height else None
    tag = _SVG_TAG.search(data[:4096])
    if tag is None:
        return None
    found = {
        name.lower(): float(number) * _PX[(unit or b"").lower()]
        for name, number, unit in _SVG_LENGTH.findall(tag.group())
        if number.count(b".") <= 1 and number != b"."
    }
    width, height = round(found.get(b"width", 0)), round(found.get(b"height", 0))
    return (width, height) if width and height else None


def _img(image: bytes | str, *, alt: str, element_id: str | None = None) -> str:
    size = image_size(image)
    return (
        "<img"
        + (f' id="{_e(element_id)}"' if element_id else "")
        + f' src="{image_uri(image)}" alt="{_e(alt)}"'
        + (f' width="{size[0]}" height="{size[1]}"' if size else "")
        + ">"
    )


# --- the map ---------------------------------------------------------------------------------------


def interactive_map(
    incidents: Sequence[Incident],
    place_features: Sequence[dict[str, Any]],
    *,
    title: str = "geomap",
    zones: dict[str, Any] | None = None,
    areas: Areas | None = None,
) -> str:
    """map.html as the report embeds it: every asset inlined and no online tile layer (the report
    loads nothing; the offline basemap and its outlines stay)."""
    from geomap.maps import build_map, render_map

    fmap = build_map(incidents, place_features, title=title, zones=zones, areas=areas, online_tiles=False)
    return render_map(fmap, offline=True)


def _local_styles(page: str) -> str:
    """``page`` with every ``url(...)`` in its style sheets that is not a ``data:`` URI made empty:
    a fallback a style sheet names (the time slider's icon font names a CDN copy, which a page read
    from a file asks the file system for) is never requested."""
    return _STYLE_BLOCK.sub(lambda m: m.group(1) + _CSS_URL.sub("url(data:,)", m.group(2)) + m.group(3), page)


def _script_hashes(page: str) -> list[str]:
    """CSP sources for the inline scripts of ``page`` (JSON data blocks are not run, so not listed)."""
    found = []
    for attributes, body in _SCRIPT_BLOCK.findall(page):
        if "application/json" in attributes.lower():
            continue
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
        found.append(f"'sha256-{digest}'")
    return found


# --- HTML ------------------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def script_json(value: Any) -> str:
    """JSON for a ``<script type="application/json">`` block: nothing in it can close the element or
    open markup, and U+2028/U+2029 are escaped too."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(_JSON_ESCAPES)


def _date_text(incident: Incident) -> tuple[str, str]:
    """The date as shown, and its precision when not the day."""
    if incident.date is None:
        return "unknown", ""
    if incident.date_precision == "month":
        return incident.date.strftime("%Y-%m"), "month"
    return incident.date.isoformat(), "" if incident.date_precision == "day" else incident.date_precision


def _place_text(incident: Incident) -> str:
    place = incident.place
    return f"{place.name} ({place.country})" if place.country else place.name


def _source_cells(incident: Incident) -> tuple[str, str]:
    """The sources as links (http(s) only, via :func:`geomap.maps.safe_url`) and their plain labels."""
    links, labels = [], []
    for source in incident.sources:
        label = str(source.get("title") or source.get("doc") or "source")
        labels.append(label)
        url = safe_url(source.get("url"))
        if url:
            links.append(f'<a href="{_e(url)}" target="_blank" rel="noopener noreferrer">{_e(label)}</a>')
        else:
            links.append(f"<span>{_e(label)}</span>")
    return "<br>".join(links), "; ".join(labels)


def _kind(kind: str) -> str:
    """An incident type, after the colour the maps give it."""
    colour = COLOURS.get(kind, DEFAULT_COLOUR)
    return f'<span class="kind"><span class="swatch" style="background:{colour}"></span>{_e(kind)}</span>'


def _sortable_head(columns: Sequence[tuple[str, str, str]]) -> str:
    cells = "".join(
        f'<th scope="col" data-kind="{kind}" class="{kind}"><button type="button">{_e(heading)}</button></th>'
        for _, heading, kind in columns
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _incident_rows(incidents: Sequence[Incident]) -> tuple[str, list[list[Any]]]:
    """The incident table's body and the script's sort keys, one list per row in the same order."""
    rows, keys = [], []
    for n, incident in enumerate(incidents):
        date, precision = _date_text(incident)
        where = (
            "country or region level"
            if incident.geo_precision >= COUNTRY_LEVEL
            else (f"sector {incident.sector}" if incident.sector else "")
        )
        links, labels = _source_cells(incident)
        actors = ", ".join(incident.actors)
        fatalities = "" if incident.fatalities is None else str(incident.fatalities)
        rows.append(
            f'<tr data-row="{n}">'
            f'<td class="date">{_e(date)}'
            + (f" <small>({_e(precision)})</small>" if precision else "")
            + "</td>"
            f'<td class="type">{_kind(incident.sub_event_type)}</td>'
            f'<td class="place">{_e(_place_text(incident))}'
            + (f"<br><small>{_e(where)}</small>" if where else "")
            + "</td>"
            f'<td class="number">{_e(fatalities) if fatalities else "<small>unknown</small>"}</td>'
            f'<td class="actors">{_e(actors)}</td>'
            f'<td class="evidence">{_e(incident.evidence)}</td>'
            f'<td class="sources">{links}</td>'
            "</tr>"
        )
        keys.append(
            [
                incident.date.isoformat() if incident.date else None,
                incident.sub_event_type,
                incident.place.name,
                incident.fatalities,
                actors or None,
                incident.evidence,
                labels or None,
            ]
        )
    return "\n".join(rows), keys


def _sector_section(table: SectorTable) -> tuple[str, list[list[Any]]]:
    if not table.rows:
        return (
            '<p class="note">No border sectors: no border zones were computed for this run (the '
            "incidents' countries share no border; name one with --border or --theatre).</p>",
            [],
        )
    rows, keys = [], []
    for n, row in enumerate(table.rows):
        length = "" if row.length_km is None else f"{row.length_km:.1f}"
        last = row.last.isoformat() if row.last else ""
        rows.append(
            f'<tr data-row="{n}"{" class=quiet" if not row.incidents else ""}>'
            f"<td>{_e(row.name)}</td><td class=number>{_e(length)}</td>"
            f"<td class=number>{row.incidents}</td><td class=number>{row.fatalities}</td>"
            f"<td class=date>{_e(last)}</td></tr>"
        )
        keys.append([row.name, row.length_km, row.incidents, row.fatalities, last or None])
    in_sectors = sum(r.incidents for r in table.rows)
    widest = f" (more than {table.widest_km:g} km from the border)" if table.widest_km else ""
    foot = (
        f"<tr><th scope=row>All sectors</th><td></td><td class=number>{in_sectors}</td>"
        f"<td class=number>{sum(r.fatalities for r in table.rows)}</td><td></td></tr>"
        f"<tr><th scope=row>Outside the border zones{_e(widest)}</th><td></td>"
        f"<td class=number>{table.beyond}</td><td></td><td></td></tr>"
        f"<tr><th scope=row>Located only at country or region level</th><td></td>"
        f"<td class=number>{table.country_level}</td><td></td><td></td></tr>"
    )
    body = (
        '<table id="sectors" class="sortable">'
        "<caption>Border sectors, north to south, with the incidents within "
        f"{_e(f'{table.widest_km:g} km' if table.widest_km else 'the zones')} of the border nearest "
        'to each.<span class="hint"> Click a heading to sort.</span></caption>'
        f"{_sortable_head(SECTOR_COLUMNS)}<tbody>{''.join(rows)}</tbody><tfoot>{foot}</tfoot></table>"
    )
    return body, keys


def _figures(
    incidents: Sequence[Incident], articles: Sequence[Article], table: SectorTable
) -> list[tuple[str, str]]:
    dates = sorted(i.date for i in incidents if i.date is not None)
    known = [i.fatalities for i in incidents if i.fatalities is not None]
    docs = {s.get("doc") for i in incidents for s in i.sources} - {None}
    read = len(articles) if articles else len(docs)
    sources = f"{read} article{'s' if read != 1 else ''}"
    if articles and (count := len(outlets(articles))):
        sources += f" from {count} outlet{'s' if count != 1 else ''}"
    figures = [
        ("Incidents", str(len(incidents))),
        ("Period", f"{dates[0].isoformat()} to {dates[-1].isoformat()}" if dates else "no dated incident"),
        ("Fatalities reported", f"{sum(known)} ({len(incidents) - len(known)} incidents without a figure)"),
        ("Sectors with incidents", f"{sum(1 for r in table.rows if r.incidents)} of {len(table.rows)}"),
        ("Sources", sources),
    ]
    if table.country_level:
        figures.append(("Located only at country or region level", str(table.country_level)))
    return figures


def _by_type(incidents: Sequence[Incident]) -> str:
    counts: dict[str, list[int]] = {}
    for incident in incidents:
        entry = counts.setdefault(incident.sub_event_type, [0, 0])
        entry[0] += 1
        entry[1] += incident.fatalities or 0
    rows = "".join(
        f"<tr><td>{_kind(kind)}</td><td class=number>{n}</td><td class=number>{killed}</td></tr>"
        for kind, (n, killed) in sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[0]))
    )
    return (
        '<table id="types"><thead><tr><th scope="col">Type</th><th scope="col" class="number">Incidents</th>'
        f'<th scope="col" class="number">Fatalities</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def render(
    incidents: Sequence[Incident],
    *,
    title: str = "geomap",
    articles: Sequence[Article] = (),
    zones: Mapping[str, Any] | None = None,
    map_html: str | None = None,
    timeline: bytes | str | None = None,
    static_map: bytes | str | None = None,
) -> str:
    """report.html as text.

    ``zones`` is zones.geojson's collection (``Result.zones``), whose sectors the incidents were
    placed in; ``map_html`` an offline map page (:func:`interactive_map`); ``timeline`` and
    ``static_map`` PNG, JPEG or SVG images (bytes, or SVG text). ``static_map`` stands in for the
    interactive map on paper, and on screen when there is no ``map_html``. Raises
    :class:`ReportError` for an image of another format or a map that loads anything from the
    network. The same inputs give the same bytes.
    """
    if map_html is not None:
        if _EXTERNAL.search(map_html):
            raise ReportError("the map loads files from the network: render it with offline=True")
        map_html = _local_styles(map_html)
    ordered = incident_order(incidents)
    table = sector_table(ordered, zones)
    incident_body, incident_keys = _incident_rows(ordered)
    sector_body, sector_keys = _sector_section(table)
    types = sorted({i.sub_event_type for i in ordered})
    type_counts = {t: sum(1 for i in ordered if i.sub_event_type == t) for t in types}
    options = "".join(f'<option value="{_e(t)}">{_e(t)} ({type_counts[t]})</option>' for t in types)
    figures = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _figures(ordered, articles, table))
    data = script_json({"incidents": incident_keys, "sectors": sector_keys})

    parts = [f'<header><h1>{_e(title)}</h1><dl class="figures">{figures}</dl></header>']
    if map_html is not None or static_map is not None:
        parts.append('<section id="map-section"><h2>Map</h2>')
        if map_html is not None:
            parts.append(
                f'<iframe id="map" class="screen-only" title="Interactive map of the incidents" '
                f'sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox" '
                f'srcdoc="{_e(map_html)}"></iframe>'
            )
        if static_map is not None:
            shown = " print-only" if map_html is not None else ""
            parts.append(
                f'<figure class="static-map{shown}">{_img(static_map, alt="Static map of the incidents")}'
                "</figure>"
            )
        parts.append("</section>")
    if timeline is not None:
        parts.append(
            '<section id="timeline-section"><h2>Incidents over time</h2><figure class="timeline">'
            f"{_img(timeline, alt='Incidents over time, by type', element_id='timeline')}"
            "</figure></section>"
        )
    parts.append(f'<section id="types-section"><h2>Incidents by type</h2>{_by_type(ordered)}</section>')
    parts.append(f'<section id="sectors-section"><h2>Border sectors</h2>{sector_body}</section>')
    parts.append(
        '<section id="incidents-section"><h2>Incidents</h2>'
        '<div class="controls" id="controls" hidden>'
        '<label>Search <input type="search" id="filter-text" autocomplete="off" '
        'placeholder="place, actor, words of the evidence…"></label> '
        '<label>Type <select id="filter-type"><option value="">All types</option>'
        f"{options}</select></label> "
        '<output id="shown" aria-live="polite"></output></div>'
        '<table id="incidents" class="sortable">'
        f'<caption>{len(ordered)} incidents, oldest first.<span class="hint"> Click a heading to sort.</span>'
        "</caption>"
        f"{_sortable_head(INCIDENT_COLUMNS)}<tbody>\n{incident_body}\n</tbody></table></section>"
    )
    credits = "; ".join(
        f'{_e(what)}: <a href="{_e(url)}">{_e(name)}</a> ({_e(licence)})'
        for name, url, licence, what in DATA_SOURCES
    )
    parts.append(f"<footer><p>Made by geomap {_e(__version__)}. Data: {credits}.</p></footer>")

    page_script = f"<script>{_SCRIPT}</script>"
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(dict.fromkeys(_script_hashes(page_script + (map_html or ''))))}",
            "style-src 'unsafe-inline'",
            "img-src data:",
            "font-src data:",  # the time slider's icon font
            "frame-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(policy)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="geomap {_e(__version__)}">\n'
        f"<title>{_e(title)}</title>\n<style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(parts)
        + f'\n<script type="application/json" id="report-data">{data}</script>\n{page_script}\n'
        "</body></html>\n"
    )


def render_result(
    result: Result,
    *,
    title: str = "geomap",
    place_features: Sequence[dict[str, Any]] | None = None,
    timeline: bytes | str | None = None,
    static_map: bytes | str | None = None,
) -> str:
    """report.html for a run: its incidents, articles and zones, and its map (with ``place_features``,
    the places layer, as map.html shows it; without, no map is embedded)."""
    map_html = None
    if place_features is not None:
        map_html = interactive_map(
            result.incidents, place_features, title=title, zones=result.zones, areas=theatre_map_areas(result)
        )
    return render(
        result.incidents,
        title=title,
        articles=result.articles,
        zones=result.zones,
        map_html=map_html,
        timeline=timeline,
        static_map=static_map,
    )


_STYLE = """
:root { --ink: #1d1d1f; --muted: #5f6368; --rule: #d0d4d9; --band: #f5f6f8; --accent: #7a0177; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1280px; padding: 16px 24px 40px; color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
h1 { font-size: 24px; margin: 8px 0 12px; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--accent); }
.figures { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
.figures dt { color: var(--muted); }
.figures dd { margin: 0; font-weight: 600; }
#map { width: 100%; height: 70vh; min-height: 420px; border: 1px solid var(--rule); }
figure { margin: 0; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
.print-only { display: none; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
caption { caption-side: top; text-align: left; color: var(--muted); padding: 4px 0; }
th, td { text-align: left; vertical-align: top; padding: 4px 6px; border-bottom: 1px solid var(--rule); }
thead th { background: var(--band); border-bottom: 2px solid var(--rule); white-space: nowrap; }
tfoot th { font-weight: normal; color: var(--muted); }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
td.date { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.evidence { min-width: 18em; max-width: 40em; overflow-wrap: anywhere; }
td.sources { overflow-wrap: anywhere; min-width: 8em; }
td.type { min-width: 11em; }
td.place { min-width: 9em; }
td.actors { min-width: 10em; max-width: 16em; }
td.type, td.place, td.actors { overflow-wrap: break-word; }
.kind { display: inline-flex; align-items: baseline; }
small { color: var(--muted); }
tr.quiet td { color: var(--muted); }
#types { width: auto; min-width: 40%; }
.swatch { flex: none; display: inline-block; width: 10px; height: 10px; border-radius: 5px;
          margin-right: 6px; print-color-adjust: exact; -webkit-print-color-adjust: exact; }
th button { font: inherit; font-weight: 600; color: inherit; background: none; border: 0; padding: 0;
            cursor: pointer; }
th button::after { content: " ↕"; color: var(--muted); font-weight: normal; }
th[aria-sort="ascending"] button::after { content: " ▲"; color: var(--ink); }
th[aria-sort="descending"] button::after { content: " ▼"; color: var(--ink); }
.controls { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 8px 0; }
.controls input { width: 22em; max-width: 100%; }
.controls input, .controls select { font: inherit; padding: 3px 6px; }
#shown { color: var(--muted); }
.note { color: var(--muted); }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@page { size: A4; margin: 14mm 12mm 16mm;
        @bottom-right { content: counter(page) " / " counter(pages); font: 9pt sans-serif; color: #666; } }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  .controls, .screen-only, .hint, th button::after { display: none !important; }
  .print-only { display: block; }
  h2 { break-after: avoid; }
  figure { break-inside: avoid; }
  figure img { max-height: 170mm; }
  table { font-size: 8.5pt; }
  thead { display: table-header-group; }
  tfoot { display: table-row-group; }
  tr, th, td { break-inside: avoid; }
  caption { break-after: avoid; }
  a { color: inherit; }
  th button { display: contents; }
}
"""

# The page's script: sorting (a click on a heading; numbers and dates sort as such, empty cells last)
# and filtering (words and a type). It only reorders and hides the rows written by render(), and
# writes the count of rows shown, as text.
_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
  function fold(text) {
    return text.normalize("NFD").replace(/[\\u0300-\\u036f]/g, "").toLowerCase();
  }
  function key(value, kind) {
    if (value === null || value === undefined || value === "") return null;
    if (kind === "number") return Number(value);
    if (kind === "date") { var t = Date.parse(value); return isNaN(t) ? null : t; }
    return String(value);
  }
  function sortable(table, keys) {
    if (!table) return;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, column) {
      var kind = th.getAttribute("data-kind");
      th.querySelector("button").addEventListener("click", function () {
        var descending = th.getAttribute("aria-sort") === "ascending";
        Array.prototype.forEach.call(heads, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var sign = descending ? -1 : 1;
        var order = rows.map(function (row) {
          var n = Number(row.getAttribute("data-row"));
          return {row: row, n: n, value: key(keys[n][column], kind)};
        });
        order.sort(function (a, b) {
          if (a.value === null || b.value === null) {
            if (a.value === b.value) return a.n - b.n;
            return a.value === null ? 1 : -1;  // empty cells last, either way
          }
          var c = kind === "text" ? collator.compare(a.value, b.value) : a.value - b.value;
          return c !== 0 ? sign * c : a.n - b.n;
        });
        var fragment = document.createDocumentFragment();
        order.forEach(function (item) { fragment.appendChild(item.row); });
        body.appendChild(fragment);
      });
    });
  }
  sortable(document.getElementById("sectors"), data.sectors);
  sortable(document.getElementById("incidents"), data.incidents);

  var table = document.getElementById("incidents");
  var controls = document.getElementById("controls");
  var text = document.getElementById("filter-text");
  var type = document.getElementById("filter-type");
  var shown = document.getElementById("shown");
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var folded = null;
  function filter() {
    if (folded === null) folded = rows.map(function (row) { return fold(row.textContent); });
    var words = fold(text.value).split(/\\s+/).filter(Boolean);
    var chosen = type.value;
    var count = 0;
    rows.forEach(function (row) {
      var n = Number(row.getAttribute("data-row"));
      var match = (!chosen || data.incidents[n][1] === chosen) && words.every(function (w) {
        return folded[n].indexOf(w) !== -1;
      });
      row.hidden = !match;
      if (match) count += 1;
    });
    shown.textContent = count + " of " + rows.length + " incidents shown";
  }
  text.addEventListener("input", filter);
  type.addEventListener("change", filter);
  controls.hidden = false;
  filter();
})();
"""
