"""The resolver skips distances it can bound: a skipped pair is never near (no timings here)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from geomap.models import Place
from geomap.resolve import _NEAR_LATITUDE, NEAR_KM, km_between

LATITUDES = st.floats(min_value=-90, max_value=90)
LONGITUDES = st.floats(min_value=-180, max_value=180)


def _place(lat: float, lon: float) -> Place:
    return Place(id=f"{lat},{lon}", name="x", kind="village", country="AM", lat=lat, lon=lon)


@given(LATITUDES, LONGITUDES, LATITUDES, LONGITUDES)
def test_places_apart_in_latitude_are_not_near(lat1: float, lon1: float, lat2: float, lon2: float) -> None:
    if abs(lat1 - lat2) >= _NEAR_LATITUDE:
        assert km_between(_place(lat1, lon1), _place(lat2, lon2)) >= NEAR_KM


@given(st.floats(min_value=-85, max_value=85), LONGITUDES)
def test_the_bound_is_tight(lat: float, lon: float) -> None:
    # a little less apart in latitude, on one meridian, two places are near: the skip loses nothing
    north = _place(lat + _NEAR_LATITUDE * 0.99, lon)
    assert km_between(_place(lat, lon), north) < NEAR_KM
