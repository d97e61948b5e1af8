"""The static map: file formats and sizes, labels that never overlap, a scale bar true to the ground,
legend counts and notes that account for every incident."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
import struct
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from pyproj import Geod, Transformer

from geomap import static_map
from geomap.maps import COLOURS
from geomap.models import Article, Incident, Place
from geomap.static_map import SIZES, MapOptions, StaticMap, StaticMapError, draw, parse_bbox, render

GEOD = Geod(ellps="WGS84")
TYPES = list(COLOURS)

# Places of our own in the Caucasus (names invented, coordinates plausible), and two areas.
SMALL_PLACES = [
    Place(f"t-{name.lower()}", name, "village", country, lat, lon)
    for name, country, lat, lon in (
        ("Arevashogh", "AM", 40.86, 45.02),
        ("Berdavan", "AM", 41.02, 45.07),
        ("Chinchinik", "AM", 40.93, 45.24),
        ("Dovegh", "AM", 40.99, 45.16),
        ("Getahovit", "AM", 40.90, 45.13),
        ("Kirants", "AM", 41.03, 44.97),
        ("Sotkashen", "AM", 40.20, 45.78),
        ("Vardakar", "AM", 40.17, 45.73),
        ("Jermukavan", "AM", 39.84, 45.67),
        ("Kornidzor", "AM", 39.33, 46.33),
        ("Tegher", "AM", 39.52, 46.21),
        ("Ghazakh", "AZ", 41.10, 45.36),
        ("Aghstafa", "AZ", 41.12, 45.45),
    )
]
ARMENIA = Place("country-am", "Armenia", "country", "AM", 40.07, 45.04)
KARABAKH = Place("region-nk", "Nagorno-Karabakh", "region", "AZ", 39.82, 46.75)


def make_incident(
    n: int,
    place: Place,
    kind: str,
    *,
    day: dt.date | None = dt.date(2022, 9, 13),
    fatalities: int | None = None,
    doc: str = "d1",
    url: str | None = None,
    precision: int = 1,
) -> Incident:
    return Incident(
        id=f"i{n}",
        doc=doc,
        event_type="Battles",
        sub_event_type=kind,
        place=place,
        mention=place.name,
        geo_precision=precision,
        evidence="Un texte de test.",
        date=day,
        date_precision="day" if day else "unknown",
        fatalities=fatalities,
        sources=({"doc": doc, "title": None, "url": url},),
    )


def small_set() -> list[Incident]:
    """16 incidents: 13 at villages over ten days, 2 at country level, 1 at region level."""
    incidents = [
        make_incident(
            n,
            place,
            TYPES[n % 5],
            day=dt.date(2022, 9, 12) + dt.timedelta(days=n % 10),
            fatalities=[None, 0, 3, 12, 60][n % 5],
            doc=f"d{n % 6}",
            url=f"https://www.outlet{n % 3}.example/{n % 6}" if n % 6 < 4 else None,
        )
        for n, place in enumerate(SMALL_PLACES)
    ]
    incidents.append(make_incident(13, ARMENIA, TYPES[0], precision=3, doc="d1"))
    incidents.append(make_incident(14, ARMENIA, TYPES[1], precision=3, doc="d2", day=None))
    incidents.append(make_incident(15, KARABAKH, TYPES[2], precision=3, doc="d3"))
    return incidents


def synthetic(count: int, *, seed: int = 15, places: int = 60) -> list[Incident]:
    """``count`` incidents spread over ``places`` invented villages between 38.9N 44.4E and 41.2N 46.9E."""
    rnd = random.Random(seed)
    syllables = ["ar", "ba", "chen", "dzor", "ga", "hov", "ka", "li", "mar", "ner", "tegh", "van", "ze"]
    spots = [
        Place(
            f"s-{k}",
            "".join(rnd.choice(syllables) for _ in range(rnd.randint(2, 4))).capitalize(),
            "village",
            rnd.choice(["AM", "AZ"]),
            round(rnd.uniform(38.9, 41.2), 4),
            round(rnd.uniform(44.4, 46.9), 4),
        )
        for k in range(places)
    ]
    return [
        make_incident(
            n,
            rnd.choice(spots),
            rnd.choice(TYPES[:8]),
            day=dt.date(2021, 5, 1) + dt.timedelta(days=rnd.randrange(150)),
            fatalities=rnd.choice([None, 0, 1, 2, 5, 20, 150]),
            doc=f"d{n % 50}",
            url=f"https://outlet{n % 9}.example/{n % 50}",
        )
        for n in range(count)
    ]


@pytest.fixture(scope="module")
def small() -> StaticMap:
    articles = [Article(id="d5", text="", url="https://outlet9.example/x")]
    drawn = draw(small_set(), articles=articles, options=MapOptions(title="Test map"))
    drawn.figure.canvas.draw()
    return drawn


@pytest.fixture(scope="module")
def crowded() -> StaticMap:
    """300 incidents on the smallest preset: the hardest case for labels and legend."""
    drawn = draw(synthetic(300), options=MapOptions(title="Three hundred", size="1200x675"))
    drawn.figure.canvas.draw()
    return drawn


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def figure_text(drawn: StaticMap) -> str:
    return "\n".join(t.get_text().replace("\n", " ") for t in drawn.figure.texts)


def boxes(drawn: StaticMap) -> list[tuple[str, object]]:
    renderer = drawn.figure.canvas.get_renderer()
    return [(label.name, label.text.get_window_extent(renderer)) for label in drawn.labels]


# --- formats and sizes -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
def test_png_has_the_preset_size_in_pixels(size: str) -> None:
    data = render(small_set()[:4], title="t", size=size)
    assert png_size(data) == SIZES[size].pixels
    assert 20_000 < len(data) < 3_000_000


def test_svg_and_pdf_are_real_files_of_the_page_size(small: StaticMap) -> None:
    svg = small.to_bytes("svg")
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg") and root.get("width") == "841.889764pt"
    pdf = small.to_bytes("pdf")
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert box and round(float(box[1])) == 842 and round(float(box[2])) == 595  # A4 landscape
    assert small.to_bytes("pdf") == pdf and small.to_bytes("svg") == svg  # no dates inside
    with pytest.raises(StaticMapError):
        small.to_bytes("gif")


def test_unknown_options_are_refused() -> None:
    with pytest.raises(StaticMapError, match="size"):
        MapOptions(size="a3")
    with pytest.raises(StaticMapError, match="format"):
        MapOptions(fmt="jpeg")
    with pytest.raises(StaticMapError):
        parse_bbox("46,40,44,41")  # west > east
    with pytest.raises(StaticMapError):
        parse_bbox("44,40,46")
    with pytest.raises(ValueError):
        parse_bbox("a,b,c,d")
    assert parse_bbox("44.5, 39, 46.5, 41.2") == (44.5, 39.0, 46.5, 41.2)


# --- labels ------------------------------------------------------------------------------------------


def assert_apart(drawn: StaticMap) -> None:
    found = boxes(drawn)
    for (a, box_a), (b, box_b) in itertools.combinations(found, 2):
        assert not box_a.overlaps(box_b), f"labels {a!r} and {b!r} overlap"
    frame = drawn.ax.get_window_extent(drawn.figure.canvas.get_renderer())
    for name, box in found:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, name
        if drawn.scalebar is not None:
            assert not box.overlaps(drawn.scalebar.info.window_extent), f"label {name!r} is on the scale bar"


def test_every_incident_place_of_a_small_map_is_labelled_and_none_overlap(small: StaticMap) -> None:
    assert_apart(small)
    incident_labels = {label.name for label in small.labels if label.kind == "incident"}
    assert incident_labels == {p.name for p in SMALL_PLACES}
    assert small.unlabelled == 0
    assert "All 13 incident places labelled." in figure_text(small)
    kinds = Counter(label.kind for label in small.labels)
    assert kinds["country"] >= 2 and kinds["capital"] + kinds["town"] >= 1  # context from the gazetteer
    assert {"ARMENIA", "AZERBAIJAN"} <= {label.text.get_text() for label in small.labels}


def test_a_crowded_map_labels_the_busiest_places_without_overlap_and_counts_the_rest(
    crowded: StaticMap,
) -> None:
    assert_apart(crowded)
    incidents = synthetic(300)
    per_place = Counter(i.place.name for i in incidents)
    labelled = [label.name for label in crowded.labels if label.kind == "incident"]
    assert 5 <= len(labelled) <= SIZES["1200x675"].max_labels
    assert crowded.unlabelled == len(per_place) - len(labelled)
    assert f"{crowded.unlabelled} of {len(per_place)} incident places not labelled" in figure_text(crowded)
    # the place with most incidents is never the one left out
    busiest = max(per_place.items(), key=lambda kv: (kv[1], -ord(kv[0][0])))[0]
    assert busiest in labelled or per_place[busiest] == per_place[labelled[0]]


def test_text_from_articles_is_never_markup_or_maths() -> None:
    hostile = Place("h", "$\\frac{1}{0}$ <script>alert(1)</script> {{x}}", "village", "AM", 40.5, 45.0)
    # "$x^$" is not valid mathtext: drawing it would fail if it were read as maths
    drawn = draw([make_incident(1, hostile, TYPES[0])], options=MapOptions(title="$x^$ & <b>"))
    assert png_size(drawn.to_bytes("png")) == SIZES["a4-landscape"].pixels
    svg = drawn.to_bytes("svg")
    ET.fromstring(svg)
    assert b"<script" not in svg
    assert [label.text.get_text() for label in drawn.labels if label.kind == "incident"] == [hostile.name]


# --- scale and projection ----------------------------------------------------------------------------


def test_the_scale_bar_measures_the_ground(small: StaticMap) -> None:
    info = small.scalebar.info
    km = info.value * {"km": 1.0, "m": 0.001}[info.units]
    bar_px = small.ax.transData.transform((info.length_px, 0))[0] - small.ax.transData.transform((0, 0))[0]
    # pixels per km on the map, from two places 135 km apart by the geodesic (Berdavan, Kornidzor)
    to_map = Transformer.from_crs("EPSG:4326", small.crs, always_xy=True)
    a, b = SMALL_PLACES[1], SMALL_PLACES[9]
    _, _, metres = GEOD.inv(a.lon, a.lat, b.lon, b.lat)
    pa = small.ax.transData.transform(to_map.transform(a.lon, a.lat))
    pb = small.ax.transData.transform(to_map.transform(b.lon, b.lat))
    px_per_km = float(((pa - pb) ** 2).sum() ** 0.5) / (metres / 1000)
    assert bar_px / km == pytest.approx(px_per_km, rel=0.01)
    # and the map is not stretched: a km is as long across as up and down
    x_scale = small.ax.transData.transform((1000, 0))[0] - small.ax.transData.transform((0, 0))[0]
    y_scale = small.ax.transData.transform((0, 1000))[1] - small.ax.transData.transform((0, 0))[1]
    assert x_scale == pytest.approx(y_scale, rel=1e-3)


def test_the_extent_fits_the_incidents_and_a_bbox_overrides_it() -> None:
    incidents = small_set()
    drawn = draw(incidents)
    to_map = Transformer.from_crs("EPSG:4326", drawn.crs, always_xy=True)
    x0, x1 = drawn.ax.get_xlim()
    y0, y1 = drawn.ax.get_ylim()
    xs, ys = zip(*(to_map.transform(p.lon, p.lat) for p in SMALL_PLACES), strict=True)
    assert x0 < min(xs) < max(xs) < x1 and y0 < min(ys) < max(ys) < y1
    margin = min(min(xs) - x0, x1 - max(xs), min(ys) - y0, y1 - max(ys))
    assert 5_000 < margin < 0.5 * (max(ys) - min(ys))  # a margin, not a continent
    assert drawn.outside == 0

    # only the northern villages (Tavush) are inside this box
    box = (44.8, 40.6, 45.6, 41.3)
    framed = draw(incidents, options=MapOptions(bbox=box))
    north = [p for p in SMALL_PLACES if p.lat > 40.6]
    assert sum(framed.legend_counts.values()) == len(north)
    assert framed.outside == len(SMALL_PLACES) - len(north)
    assert f"{framed.outside} incidents outside the map's extent" in figure_text(framed)
    to_map = Transformer.from_crs("EPSG:4326", framed.crs, always_xy=True)
    corners = [to_map.transform(lon, lat) for lon in box[::2] for lat in box[1::2]]
    fx0, fx1 = framed.ax.get_xlim()
    fy0, fy1 = framed.ax.get_ylim()
    assert all(fx0 - 1 <= x <= fx1 + 1 and fy0 - 1 <= y <= fy1 + 1 for x, y in corners)
    assert (fx1 - fx0) < 0.6 * (x1 - x0)


# --- legend and notes --------------------------------------------------------------------------------


def legend_counts(drawn: StaticMap) -> dict[str, int]:
    found = {}
    for text in drawn.legend.get_texts():
        match = re.fullmatch(r"(.+) \(([\d,]+)\)", text.get_text().replace("\n", " "))
        if match and match[1] in COLOURS:
            found[match[1]] = int(match[2].replace(",", ""))
    return found


def test_legend_counts_equal_the_incidents_drawn(small: StaticMap, crowded: StaticMap) -> None:
    drawn = [i for i in small_set() if i.geo_precision < 3]
    assert legend_counts(small) == Counter(i.sub_event_type for i in drawn)
    assert legend_counts(crowded) == Counter(i.sub_event_type for i in synthetic(300))
    assert small.legend_counts == legend_counts(small)


def test_incidents_without_a_point_are_listed_not_dropped(small: StaticMap) -> None:
    text = figure_text(small)
    assert "2 incidents located only at country level, not drawn: Armenia 2." in text
    assert "1 incident located only at region level, not drawn: Nagorno-Karabakh 1." in text
    assert small.coarse == {"Armenia": 2, "Nagorno-Karabakh": 1}
    assert sum(small.legend_counts.values()) + sum(small.coarse.values()) == 16


def test_title_dates_and_sources_are_on_the_map(small: StaticMap) -> None:
    text = figure_text(small)
    assert "Test map" in text
    assert "12 Sep 2022 – 21 Sep 2022 (1 undated) · 16 incidents" in text
    # docs d0..d5; outlets: three hosts for d0..d3, d4 has no url (its id), d5's article url
    assert "Sources: 6 articles from 5 outlets" in text
    assert "GeoNames (CC BY 4.0)" in text and "Natural Earth" in text
    assert small.inset is not None and small.inset.patches  # the locator frame


def test_countries_in_view_come_from_the_data_not_a_theatre() -> None:
    sahel = [
        Place("m1", "Dialassagou", "village", "ML", 14.1, -3.1),
        Place("m2", "Boulkessi", "village", "ML", 14.6, -1.2),
        Place("m3", "Djibasso", "village", "BF", 13.1, -4.2),
    ]
    drawn = draw([make_incident(n, p, TYPES[n]) for n, p in enumerate(sahel)])
    countries = {label.text.get_text() for label in drawn.labels if label.kind == "country"}
    assert "MALI" in countries and "ARMENIA" not in countries
    assert {label.name for label in drawn.labels if label.kind == "incident"} == {p.name for p in sahel}


def test_a_map_across_continents_has_no_scale_bar_and_a_long_title_fits() -> None:
    spread = [
        Place("w1", "Sévaré test", "town", "ML", 14.5, -4.1),
        Place("w2", "Donetsk test", "town", "UA", 48.0, 37.8),
        Place("w3", "Goma test", "town", "CD", -1.7, 29.2),
    ]
    title = "Une carte de plusieurs continents avec un titre bien trop long pour une seule ligne " * 2
    drawn = draw(
        [make_incident(n, p, TYPES[n]) for n, p in enumerate(spread)], options=MapOptions(title=title)
    )
    drawn.figure.canvas.draw()
    assert drawn.scalebar is None  # its length would hold at the centre only
    assert_apart(drawn)
    assert {label.name for label in drawn.labels if label.kind == "incident"} == {p.name for p in spread}
    heading = drawn.figure.texts[0]
    assert heading.get_text() == title
    assert heading.get_window_extent(drawn.figure.canvas.get_renderer()).x1 <= drawn.figure.bbox.width


def test_an_empty_or_coarse_only_set_still_gives_a_map() -> None:
    assert png_size(render([], size="1200x675")) == SIZES["1200x675"].pixels
    drawn = draw([make_incident(1, ARMENIA, TYPES[0], precision=3)])
    assert drawn.legend_counts == {} and drawn.coarse == {"Armenia": 1}
    assert "1 incident located only at country level" in figure_text(drawn)


def test_the_seeds_render_with_every_incident_accounted_for(pipeline, seeds_dir: Path) -> None:
    result = pipeline.run([seeds_dir])
    drawn = draw(result.incidents, result.zones, articles=result.articles)
    drawn.figure.canvas.draw()
    assert_apart(drawn)
    assert sum(drawn.legend_counts.values()) + sum(drawn.coarse.values()) + drawn.outside == len(
        result.incidents
    )
    assert legend_counts(drawn) == drawn.legend_counts
    assert png_size(drawn.to_bytes("png")) == SIZES["a4-landscape"].pixels


def test_drawing_grows_no_faster_than_the_incidents() -> None:
    """10,000 incidents draw in about the time of 2,500 (the basemap dominates; labels are capped)."""
    timings = []
    for count in (2_500, 10_000):
        incidents = synthetic(count, places=300)
        started = time.perf_counter()
        drawn = draw(incidents, options=MapOptions(size="1200x675"))
        timings.append(time.perf_counter() - started)
        assert sum(drawn.legend_counts.values()) == count
    assert timings[1] < 4 * timings[0] + 1.0


def test_marker_size_grows_with_fatalities() -> None:
    sizes = [static_map.marker_size_pt(f) for f in (None, 0, 1, 10, 100, 1000)]
    assert sizes[0] == sizes[1] < sizes[2] < sizes[3] < sizes[4] < sizes[5] < 4 * sizes[0]
