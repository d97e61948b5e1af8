"""The resolver's index of anchors finds the distance a scan of every anchor finds (no timings here)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from geomap.models import Place
from geomap.resolve import _NEAR_CHORD2, NEAR_KM, AnchorIndex, _unit_vector, km_between

LATITUDES = st.floats(min_value=-90, max_value=90)
LONGITUDES = st.floats(min_value=-180, max_value=180)
KEYS = st.sampled_from(["a", "b", "c", "d"])


def _place(lat: float, lon: float, ident: str = "") -> Place:
    return Place(id=ident or f"{lat},{lon}", name="x", kind="village", country="AM", lat=lat, lon=lon)


# Places anywhere, or packed around a few spots (so that many are near, some at the same position,
# some on both sides of NEAR_KM), under a few ids (one place may be settled by several names).
SPOTS = st.sampled_from([(40.0, 45.0), (89.99, 10.0), (-12.5, 179.99), (0.0, -179.99)])
OFFSETS = st.sampled_from([0.0, 0.0001, 0.3, 1.0, 1.79, 1.8, 1.81, 3.0])
NEAR_SPOT = st.builds(
    lambda spot, dlat, dlon, sign: (max(-90.0, min(90.0, spot[0] + sign * dlat)), spot[1] + sign * dlon),
    SPOTS,
    OFFSETS,
    OFFSETS,
    st.sampled_from([-1, 1]),
)
POSITIONS = st.one_of(st.tuples(LATITUDES, LONGITUDES), NEAR_SPOT)
PLACES = st.builds(lambda pos, ident: _place(*pos, ident), POSITIONS, st.sampled_from(["", "p1", "p2"]))


def _scan(anchors: list[tuple[str, Place]], key: str, place: Place) -> float | None:
    """The distance as the resolver first computed it: every anchor of another name and place."""
    near = [km_between(place, a) for k, a in anchors if k != key and a.id != place.id]
    return min(near) if near and min(near) < NEAR_KM else None


@settings(max_examples=500)
@given(st.lists(st.tuples(KEYS, PLACES), max_size=40), KEYS, PLACES)
def test_the_index_finds_the_distance_a_scan_of_all_anchors_finds(
    anchors: list[tuple[str, Place]], key: str, place: Place
) -> None:
    assert AnchorIndex(anchors).nearest_km(key, place) == _scan(anchors, key, place)


def _chord2(a: Place, b: Place) -> float:
    return sum(
        (x - y) ** 2 for x, y in zip(_unit_vector(a.lat, a.lon), _unit_vector(b.lat, b.lon), strict=True)
    )


@given(LATITUDES, LONGITUDES, LATITUDES, LONGITUDES)
def test_places_apart_in_a_straight_line_are_not_near(
    lat1: float, lon1: float, lat2: float, lon2: float
) -> None:
    a, b = _place(lat1, lon1), _place(lat2, lon2)
    if _chord2(a, b) > _NEAR_CHORD2:
        assert km_between(a, b) >= NEAR_KM


@given(st.floats(min_value=-85, max_value=85), LONGITUDES)
def test_the_bound_is_tight(lat: float, lon: float) -> None:
    # a little nearer in a straight line, on one meridian, two places are near: the index skips nothing
    north = _place(lat + math.degrees(NEAR_KM / 6371.0088) * 0.99, lon)
    assert _chord2(_place(lat, lon), north) < _NEAR_CHORD2
    assert km_between(_place(lat, lon), north) < NEAR_KM
