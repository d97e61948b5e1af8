"""The timeline: the period chosen by the span, stacks that add up to the data, fatalities per period,
and a readable picture for a single day or no date at all."""

from __future__ import annotations

import datetime as dt
import itertools
import struct
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from matplotlib.collections import Collection
from matplotlib.colors import to_hex
from matplotlib.dates import date2num
from matplotlib.patches import Patch

from geomap import timeline
from geomap.maps import COLOURS
from geomap.models import Incident, Place
from geomap.static_map import StaticMapError

PLACE = Place("t-1", "Tavush test village", "village", "AM", 41.0, 45.1)
TYPES = list(COLOURS)


def make(n: int, day: dt.date | None, kind: str = TYPES[0], fatalities: int | None = None) -> Incident:
    return Incident(
        id=f"i{n}",
        doc=f"d{n}",
        event_type="Battles",
        sub_event_type=kind,
        place=PLACE,
        mention=PLACE.name,
        geo_precision=1,
        evidence="Un texte de test.",
        date=day,
        date_precision="day" if day else "unknown",
        fatalities=fatalities,
    )


def spread(days: int, count: int = 60) -> list[Incident]:
    """``count`` incidents over ``days`` days from 1 March 2023, types and fatalities cycling."""
    start = dt.date(2023, 3, 1)
    return [
        make(
            n,
            start + dt.timedelta(days=n * (days - 1) // max(1, count - 1)),
            TYPES[n % 4],
            [None, 0, 2, 7][n % 4],
        )
        for n in range(count)
    ]


def bars(drawn: timeline.Timeline) -> dict[str, list[tuple[float, float, float, float]]]:
    """The bars as drawn, read back from the figure whatever artists hold them: by type (known by its
    colour), each non-empty bar as (left, right, bottom, top) in data units, left to right."""
    kinds = {to_hex(colour): kind for kind, colour in COLOURS.items()}
    found: dict[str, list[tuple[float, float, float, float]]] = {}
    for artist in drawn.ax.get_children():
        if isinstance(artist, Patch) and artist is not drawn.ax.patch:
            paths = [(artist.get_path().transformed(artist.get_patch_transform()), artist.get_facecolor())]
        elif isinstance(artist, Collection):
            colours = artist.get_facecolors()
            paths = [(path, colours[k % len(colours)]) for k, path in enumerate(artist.get_paths())]
        else:
            continue
        for path, colour in paths:
            kind = kinds.get(to_hex(colour))
            for polygon in path.to_polygons() if kind else []:
                (left, bottom), (right, top) = polygon.min(axis=0), polygon.max(axis=0)
                if top > bottom:
                    found.setdefault(kind, []).append(
                        tuple(round(float(v), 6) for v in (left, right, bottom, top))
                    )
    return {kind: sorted(rectangles) for kind, rectangles in found.items()}


def expected_bar(period: dt.date, unit: str, bottom: int, count: int) -> tuple[float, ...]:
    """A bar in the middle 84% of its period, from ``bottom`` up ``count`` incidents."""
    start, end = date2num(period), date2num(timeline.next_period(period, unit))
    edges = (start + 0.08 * (end - start), start + 0.92 * (end - start), bottom, bottom + count)
    return tuple(round(float(v), 6) for v in edges)


@pytest.mark.parametrize(
    ("days", "unit"), [(1, "day"), (30, "day"), (62, "day"), (63, "week"), (700, "week"), (1200, "month")]
)
def test_the_period_follows_the_span(days: int, unit: str) -> None:
    first = dt.date(2023, 3, 1)
    assert timeline.unit_for(first, first + dt.timedelta(days=days - 1)) == unit


def test_periods_start_on_the_day_the_monday_or_the_first() -> None:
    wednesday = dt.date(2023, 3, 15)
    assert timeline.period_start(wednesday, "day") == wednesday
    assert timeline.period_start(wednesday, "week") == dt.date(2023, 3, 13)
    assert timeline.period_start(wednesday, "month") == dt.date(2023, 3, 1)
    assert timeline.next_period(dt.date(2023, 12, 1), "month") == dt.date(2024, 1, 1)


@pytest.mark.parametrize("days", [20, 200, 1000])
def test_stacks_and_fatalities_add_up_to_the_data(days: int) -> None:
    incidents = [*spread(days), make(999, None, TYPES[5], 40)]
    drawn = timeline.draw(incidents)
    dated = [i for i in incidents if i.date]
    assert drawn.undated == 1
    assert {t: sum(c) for t, c in drawn.counts.items()} == Counter(i.sub_event_type for i in dated)
    assert sum(drawn.fatalities) == sum(i.fatalities or 0 for i in dated)
    # every period of the span has its bar, the empty ones too, one period apart
    assert drawn.periods[0] <= min(i.date for i in dated) and drawn.periods[-1] <= max(i.date for i in dated)
    assert all(timeline.next_period(a, drawn.unit) == b for a, b in itertools.pairwise(drawn.periods))
    # the bars drawn are the counts: each stack's height is the period's number of incidents
    heights = Counter()
    for rectangles in bars(drawn).values():
        for left, _, bottom, top in rectangles:
            heights[round(left, 6)] += top - bottom
    totals = [sum(c[k] for c in drawn.counts.values()) for k in range(len(drawn.periods))]
    assert sorted(heights.values()) == sorted(t for t in totals if t)
    texts = [t.get_text() for t in drawn.figure.texts]
    assert any("1 incident without a date" in t for t in texts)


def test_one_day_gives_one_labelled_bar() -> None:
    day = dt.date(2023, 9, 19)
    drawn = timeline.draw([make(n, day, TYPES[n % 3], 1) for n in range(7)])
    assert drawn.unit == "day" and drawn.periods == [day] and drawn.fatalities == [7]
    assert [t.get_text() for t in drawn.ax.get_xticklabels()] == ["19 Sep 2023"]
    left, right = drawn.ax.get_xlim()
    bar = max(high - low for rectangles in bars(drawn).values() for low, high, _, _ in rectangles)
    assert bar < 0.5 * (right - left)  # a bar, not a wall


def test_each_bar_sits_in_its_period_on_the_types_below() -> None:
    """A known set, read back bar by bar: the commonest type at the bottom, the others stacked on it
    in their colours, nothing drawn for an empty day, and a Sunday and a Monday in different weeks."""
    a, b, c = TYPES[:3]
    day = dt.date(2023, 3, 1)
    data = [(0, a), (0, a), (0, b), (0, c), (2, a), (2, c), (3, b), (3, a), (4, a), (4, b)]
    drawn = timeline.draw([make(n, day + dt.timedelta(days=k), kind, 1) for n, (k, kind) in enumerate(data)])
    assert drawn.unit == "day" and len(drawn.periods) == 5
    days = [day + dt.timedelta(days=k) for k in range(5)]
    assert bars(drawn) == {
        a: [expected_bar(days[0], "day", 0, 2), *(expected_bar(days[k], "day", 0, 1) for k in (2, 3, 4))],
        b: [expected_bar(days[0], "day", 2, 1), *(expected_bar(days[k], "day", 1, 1) for k in (3, 4))],
        c: [expected_bar(days[0], "day", 3, 1), expected_bar(days[2], "day", 1, 1)],
    }
    assert drawn.ax.get_ylim() == pytest.approx((0, 4 * 1.15))

    sunday, monday = dt.date(2023, 3, 5), dt.date(2023, 3, 6)
    weekly = [
        make(1, sunday, b),
        make(2, sunday, b),
        make(3, monday, a),
        make(4, monday, b),
        make(5, sunday + dt.timedelta(days=90), a),
    ]
    drawn = timeline.draw(weekly)
    assert drawn.unit == "week" and drawn.periods[:2] == [dt.date(2023, 2, 27), monday]
    drawn_bars = bars(drawn)
    assert drawn_bars[b] == [expected_bar(drawn.periods[0], "week", 0, 2), expected_bar(monday, "week", 0, 1)]
    assert drawn_bars[a] == [
        expected_bar(monday, "week", 1, 1),
        expected_bar(dt.date(2023, 5, 29), "week", 0, 1),
    ]


@pytest.mark.parametrize("incidents", [[], [make(1, None), make(2, None)]])
def test_no_date_still_gives_a_picture_that_says_so(incidents: list[Incident]) -> None:
    drawn = timeline.draw(incidents)
    assert drawn.unit is None and drawn.ax is None
    text = " ".join(t.get_text() for t in drawn.figure.texts)
    assert (
        ("No dated incident" in text and "2 incidents without a date" in text)
        if incidents
        else "No incident" in text
    )
    data = timeline.render(incidents)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_and_svg_files() -> None:
    incidents = spread(90)
    png = timeline.render(incidents)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1500, 510)
    svg = timeline.render(incidents, fmt="svg")
    assert ET.fromstring(svg).tag.endswith("svg")
    assert timeline.render(incidents, fmt="svg") == svg  # the same bytes for the same data
    with pytest.raises(StaticMapError):
        timeline.render(incidents, fmt="pdf")
