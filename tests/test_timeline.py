"""The timeline: the period chosen by the span, stacks that add up to the data, fatalities per period,
and a readable picture for a single day or no date at all."""

from __future__ import annotations

import datetime as dt
import itertools
import struct
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

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
    for patch in drawn.ax.patches:
        heights[round(patch.get_x(), 6)] += patch.get_height()
    totals = [sum(c[k] for c in drawn.counts.values()) for k in range(len(drawn.periods))]
    assert sorted(heights.values()) == sorted(totals)
    texts = [t.get_text() for t in drawn.figure.texts]
    assert any("1 incident without a date" in t for t in texts)


def test_one_day_gives_one_labelled_bar() -> None:
    day = dt.date(2023, 9, 19)
    drawn = timeline.draw([make(n, day, TYPES[n % 3], 1) for n in range(7)])
    assert drawn.unit == "day" and drawn.periods == [day] and drawn.fatalities == [7]
    assert [t.get_text() for t in drawn.ax.get_xticklabels()] == ["19 Sep 2023"]
    left, right = drawn.ax.get_xlim()
    bar = max(p.get_width() for p in drawn.ax.patches)
    assert bar < 0.5 * (right - left)  # a bar, not a wall


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
