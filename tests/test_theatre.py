"""Theatre profiles: reading them, naming borders, and deriving a theatre from where incidents are."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from shapely.geometry import shape

from geomap import theatre
from geomap.areas import theatre_map_areas, world_areas
from geomap.errors import GeomapError
from geomap.export import result_layers
from geomap.gazetteer import Gazetteer
from geomap.maps import build_map, render_map
from geomap.models import Result
from geomap.pipeline import Pipeline
from geomap.theatre import (
    Border,
    Theatre,
    TheatreError,
    code_title,
    derive,
    for_borders,
    named,
    parse_borders,
    shipped,
)
from geomap.zones import BorderZones, ZoneConfig

GEOMAP = Path(theatre.__file__).parent


def test_the_shipped_profiles_read_and_name_their_borders() -> None:
    profiles = shipped()
    assert {"armenia-azerbaijan", "israel-lebanon", "russia-ukraine", "sudan-chad"} <= set(profiles)
    ukraine = profiles["russia-ukraine"]
    assert [str(b) for b in ukraine.borders] == ["UA:RU", "UA:BY"]
    assert ukraine.border_countries == ("UA", "RU", "BY")
    assert ukraine.crs is None  # "auto"
    assert profiles["armenia-azerbaijan"].crs.startswith("+proj=aeqd")
    for profile in profiles.values():
        assert profile.title and profile.zones_km == tuple(sorted(profile.zones_km))
        west, south, east, north = profile.extent
        assert west < east and south < north
        assert set(profile.border_countries) <= set(profile.map_countries)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AM:AZ", ["AM:AZ"]),
        (" il : lb ", ["IL:LB"]),
        ("UA:RU,UA:BY", ["UA:RU", "UA:BY"]),
        ("UA:RU,RU:UA", ["UA:RU"]),
    ],
)
def test_borders_are_iso_pairs(text: str, expected: list[str]) -> None:
    assert [str(b) for b in parse_borders(text)] == expected


@pytest.mark.parametrize("text", ["", "AM", "AM:AM", "ARM:AZE", "AM:AZ:GE", "A1:AZ", ","])
def test_a_bad_border_is_named(text: str) -> None:
    with pytest.raises(
        TheatreError, match=re.escape(repr(text.split(",")[0])) if text.strip(",") else "no border"
    ):
        parse_borders(text)
    assert issubclass(TheatreError, GeomapError) and issubclass(TheatreError, ValueError)


def test_borders_find_the_shipped_profile_whatever_their_order() -> None:
    assert for_borders(parse_borders("LB:IL")).name == "israel-lebanon"
    assert for_borders(parse_borders("BY:UA,RU:UA")).name == "russia-ukraine"
    own = for_borders(parse_borders("ML:NE"))
    assert (
        own.name == "ml-ne"
        and own.crs is None
        and own.extent is None
        and own.border_countries == ("ML", "NE")
    )
    assert own.title == "ML–NE" == code_title(own.borders)
    assert code_title(own.borders, {"ML": "Mali", "NE": "Niger"}) == "Mali–Niger"


def test_a_theatre_of_borders_alone_is_titled_by_its_countries_names() -> None:
    own = for_borders(parse_borders("ML:NE,ML:BF"))
    zones = BorderZones(world_areas(own.border_countries), own)
    features = zones.geojson([])["features"]
    titles = {f["properties"]["name"] for f in features if f["properties"]["kind"] == "border"}
    assert titles == {"Mali–Niger, Mali–Burkina Faso"}


def test_a_profile_file_is_read_and_its_errors_name_it(tmp_path: Path) -> None:
    path = tmp_path / "sahel.toml"
    path.write_text('title = "Tri-border"\nborders = ["ML:NE", "ML:BF", "NE:BF"]\nzones_km = [10, 30]\n')
    sahel = named(str(path))
    assert sahel.name == "sahel" and sahel.title == "Tri-border" and sahel.zones_km == (10.0, 30.0)
    assert sahel.border_countries == ("ML", "NE", "BF")
    for text, problem in [
        ("borders = []", "at least one border"),
        ('borders = ["ML-NE"]', "ISO country codes"),
        ('borders = ["ML:NE"]\nextent = [1, 2, 3]', "needs 4 numbers"),
        ('borders = ["ML:NE"]\nextent = [10, 5, 2, 8]', "west, south, east, north"),
        ('borders = ["ML:NE"]\ncolour = "red"', "unknown keys"),
        ('borders = ["ML:NE"]\ncountries = ["Mali"]', "ISO codes"),
        ("borders = [", "not a TOML"),
    ]:
        path.write_text(text)
        with pytest.raises(TheatreError, match=re.escape(str(path)) + ".*" + re.escape(problem)):
            named(str(path))
    with pytest.raises(TheatreError, match="no such profile"):
        named("atlantis")
    with pytest.raises(TheatreError, match="cannot read"):
        named(str(tmp_path / "missing.toml"))


def _neighbours(*pairs: str):
    linked = {frozenset(p.split(":")) for p in pairs}
    return lambda a, b: frozenset((a, b)) in linked


def test_incidents_on_both_sides_of_a_shipped_border_take_its_profile() -> None:
    found = derive({"AM": 9, "AZ": 7, "FR": 1}, _neighbours("AM:AZ", "AM:GE"))
    assert found is not None and found.name == "armenia-azerbaijan"


def test_incidents_elsewhere_get_a_theatre_of_their_own_busiest_country_first() -> None:
    found = derive({"NE": 3, "ML": 8, "BF": 5}, _neighbours("ML:NE", "ML:BF", "NE:BF"))
    assert found is not None and [str(b) for b in found.borders] == ["ML:BF", "ML:NE", "BF:NE"]


def test_countries_with_few_incidents_or_no_shared_border_give_no_border() -> None:
    assert derive({"FR": 10, "JP": 10}, _neighbours()) is None
    assert derive({"ML": 30, "NE": 1}, _neighbours("ML:NE")) is None  # 1 of 31 is under the share
    assert derive({}, _neighbours()) is None


def test_incidents_in_one_country_take_the_shipped_profile_on_its_border() -> None:
    assert derive({"AM": 4}, _neighbours()).name == "armenia-azerbaijan"
    assert derive({"TD": 4, "FR": 0}, _neighbours()).name == "sudan-chad"
    assert derive({"JP": 4}, _neighbours()) is None


def test_no_country_code_is_written_in_geomap_code_outside_the_profiles() -> None:
    """Countries live in the profiles (geomap/theatres) and the gazetteer's data, not in code."""
    # (a code followed by a colon is a dictionary key of GeoNames' feature codes, as "SD": sound)
    codes = re.compile(r"[\"'](?:AM|AZ|GE|IR|TR|RU|UA|BY|IL|LB|SY|SD|TD|ML|NE|BF)[\"'](?!\s*:)")
    found = [
        f"{path.relative_to(GEOMAP)}:{number}"
        for path in sorted(GEOMAP.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if codes.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == []


def test_a_theatre_is_a_value() -> None:
    one = Theatre(name="x", title="X", borders=(Border("ML", "NE"),))
    assert one == Theatre(name="x", title="X", borders=(Border("ML", "NE"),))
    assert one.same_borders([Border("NE", "ML")])


def test_build_refuses_theatre_and_border_together(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Des obus sont tombés mardi sur Goris.", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "geomap", "build", str(tmp_path / "a.txt"), "--out", str(tmp_path / "out"),
         "--offline", "--theatre", "sudan-chad", "--border", "AM:AZ"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2 and "give one" in run.stderr
    run = subprocess.run(
        [sys.executable, "-m", "geomap", "build", str(tmp_path / "a.txt"), "--out", str(tmp_path / "out"),
         "--offline", "--border", "AM-AZ"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2 and "AM:AZ" in run.stderr and "--border" in run.stderr


# --- every shipped profile, end to end --------------------------------------------------------------
# Small article sets of our own (tests/data/theatres/<profile>/, with gold.json): real places on both
# sides of each border, most within 25 km of it and some far from it. The gold distances were measured
# on another Natural Earth rendering (world-atlas 1:10m), hence the tolerance.

THEATRE_SETS = Path(__file__).parent / "data" / "theatres"
PROFILES = sorted(path.name for path in THEATRE_SETS.iterdir() if (path / "gold.json").is_file())


def _gold(profile: str) -> dict:
    return json.loads((THEATRE_SETS / profile / "gold.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def theatre_runs(gazetteer: Gazetteer) -> dict[str, Result]:
    """Each set built in its own profile (as --theatre NAME does)."""
    return {
        profile: Pipeline(gazetteer, theatre=named(profile)).run([THEATRE_SETS / profile])
        for profile in PROFILES
    }


def test_there_is_a_set_for_every_shipped_profile_but_the_seeds() -> None:
    assert set(PROFILES) == set(shipped()) - {"armenia-azerbaijan"}


@pytest.mark.parametrize("profile", PROFILES)
def test_zones_follow_the_profiles_borders(profile: str, theatre_runs: dict[str, Result]) -> None:
    result = theatre_runs[profile]
    assert result.theatre == shipped()[profile]
    borders = [f for f in result.zones["features"] if f["properties"]["kind"] == "border"]
    assert sorted(f["properties"]["border"] for f in borders) == sorted(
        str(b) for b in result.theatre.borders
    )
    for feature in borders:
        line = shape(feature["geometry"])
        first, second = feature["properties"]["border"].split(":")
        outlines = world_areas([first, second])
        for code in (first, second):
            assert line.distance(outlines.by_id(f"country-{code.lower()}").geometry.boundary) < 1e-3
        assert feature["properties"]["length_km"] > 50
    bands = [
        f["properties"]["width_km"] for f in result.zones["features"] if f["properties"]["kind"] == "zone"
    ]
    assert tuple(bands) == result.theatre.zones_km


@pytest.mark.parametrize("profile", PROFILES)
def test_incidents_get_their_distance_band_and_sector(profile: str, theatre_runs: dict[str, Result]) -> None:
    result, gold = theatre_runs[profile], _gold(profile)
    config = ZoneConfig(result.theatre.zones_km)
    sectors = {
        f["properties"]["name"]: f["properties"]
        for f in result.zones["features"]
        if f["properties"]["kind"] == "sector"
    }
    units = world_areas(result.theatre.border_countries)
    for expected in gold["incidents"]:
        found = [
            i
            for i in result.incidents
            if i.place.name == expected["geomap_place"] and i.doc.endswith(expected["doc"])
        ]
        assert found, (expected["doc"], expected["geomap_place"])
        incident = found[0]
        assert incident.place.country == expected["country"]
        assert incident.distance_km == pytest.approx(
            expected["approx_km_to_border"], abs=max(2.5, 0.1 * expected["approx_km_to_border"])
        )
        inside = [
            label
            for width, label in zip(config.widths_km, config.labels, strict=True)
            if incident.distance_km <= width
        ]
        assert incident.zone == (inside[0] if inside else None)
        if incident.zone is None:
            assert incident.sector is None
            continue
        sector = sectors[incident.sector]
        own = [a for a in units.containing(incident.place.lat, incident.place.lon) if a.kind != "country"]
        assert own, incident.place
        assert own[0].id in sector["units"] or incident.distance_km < 5, (incident.place.name, sector)
        assert sector["incidents"] >= 1


@pytest.mark.parametrize("profile", PROFILES)
def test_the_theatre_is_derived_from_where_the_incidents_are(profile: str, gazetteer: Gazetteer) -> None:
    result = Pipeline(gazetteer).run([THEATRE_SETS / profile])
    countries = {c for border in shipped()[profile].borders for c in (border.first, border.second)}
    assert result.theatre is not None
    assert {c for b in result.theatre.borders for c in (b.first, b.second)} <= countries
    assert {i.place.country for i in result.incidents} <= set(result.theatre.border_countries)


LAYER_NAMES = (
    "[...document.querySelectorAll('.leaflet-control-layers-overlays span')].map(e => e.innerText.trim())"
)


def test_build_with_border_il_lb_writes_the_israel_lebanon_maps(tmp_path: Path) -> None:
    """The command the README shows: a shipped profile found by its border alone."""
    out = tmp_path / "maps"
    run = subprocess.run(
        [sys.executable, "-m", "geomap", "build", str(THEATRE_SETS / "israel-lebanon"), "--border", "IL:LB",
         "--out", str(out), "--offline", "-q", "--no-report"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    settings = json.loads((out / "summary.json").read_text(encoding="utf-8"))["settings"]
    assert settings["theatre"] == "israel-lebanon" and settings["borders"] == ["IL:LB"]
    assert settings["zone_km"] == [2.0, 5.0, 10.0]
    sectors = json.loads((out / "sectors.geojson").read_text(encoding="utf-8"))["features"]
    assert sectors and {f["properties"]["border"] for f in sectors} == {"IL:LB"}


@pytest.mark.browser
@pytest.mark.parametrize("profile", PROFILES)
def test_each_profiles_map_opens_offline_without_error(
    profile: str, theatre_runs: dict[str, Result], tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    result = theatre_runs[profile]
    places = next(layer for layer in result_layers(result) if layer.name == "places")
    fmap = build_map(
        result.incidents,
        list(places.features),
        zones=result.zones,
        areas=theatre_map_areas(result),
        extent=result.theatre.extent,
    )
    path = tmp_path / "map.html"
    path.write_text(render_map(fmap), encoding="utf-8")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_context(offline=True).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(path.resolve().as_uri(), wait_until="load")
        layers = page.evaluate(LAYER_NAMES)
        browser.close()
    assert errors == []
    assert f"{shipped()[profile].title} border" in layers
    assert any(name.startswith("Provinces and districts (") and profile_code in name for name in layers
               for profile_code in result.theatre.border_countries)  # fmt: skip
