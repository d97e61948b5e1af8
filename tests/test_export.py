"""Output writing: atomic files, GeoJSON axis order and RFC 7946 shape, CSV columns, place aggregation."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from pathlib import Path

import pyogrio
import pytest

from geomap.errors import GeomapError, OutputError
from geomap.export import (
    atomic_write,
    csv_cell,
    dumps_geojson,
    feature_collection,
    frame_of,
    incident_features,
    incidents_csv,
    inert,
    place_features,
    write_geopackage,
)
from geomap.models import Article, Incident, Mention, Place, Resolution, point_feature, point_geometry
from geomap.pipeline import Pipeline

CSV_COLUMNS = [
    "id",
    "doc",
    "event_type",
    "sub_event_type",
    "date",
    "time_precision",
    "date_precision",
    "place",
    "place_id",
    "mention",
    "geo_precision",
    "admin1",
    "country",
    "latitude",
    "longitude",
    "fatalities",
    "injured",
    "actors",
    "evidence",
    "sources",
    "confidence",
    "distance_km",
    "zone",
    "sector",
]
KIRANTS = Place("village-kirants", "Kirants", "village", "AM", 41.05, 45.11, admin1="Tavush Province")
KUT = Place("village-kut", "Kut", "village", "AM", 40.2, 45.817, admin1="Gegharkunik Province")
ARTICLE = (
    "Des affrontements ont éclaté à Berkaber le 13 septembre, faisant deux morts. "
    "Une frappe de drone a touché un poste près de Kut. "
    "Des obus sont tombés sur Kirants, selon les forces arméniennes."
)


def leftovers(folder: Path) -> list[str]:
    """Temporary files atomic_write may have left behind."""
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def resolution(doc: str, text: str, place: Place | None, start: int = 0) -> Resolution:
    mention = Mention(doc=doc, start=start, end=start + len(text), text=text, origin="gazetteer")
    return Resolution(mention, place, "gazetteer" if place else None, 0.9 if place else 0.0)


@pytest.fixture(scope="module")
def found(pipeline: Pipeline):
    """Resolutions and incidents of a small article, through the real pipeline."""
    doc = next(pipeline.documents([Article(id="exp", text=ARTICLE, date=dt.date(2023, 9, 20))]))
    assert len(doc.incidents) >= 3
    return doc


# --- atomic_write ---------------------------------------------------------------------------------


def test_atomic_write_creates_then_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.json"
    atomic_write(target, "premier")
    assert target.read_text(encoding="utf-8") == "premier"
    atomic_write(target, "deuxième — é".encode())
    assert target.read_text(encoding="utf-8") == "deuxième — é"
    assert leftovers(target.parent) == []
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_atomic_write_to_a_directory_raises_output_error(tmp_path: Path) -> None:
    target = tmp_path / "map.html"
    target.mkdir()
    (target / "keep.txt").write_text("ancien", encoding="utf-8")
    with pytest.raises(OutputError) as info:
        atomic_write(target, "nouveau")
    assert isinstance(info.value, GeomapError) and isinstance(info.value, OSError)
    assert "map.html" in str(info.value)
    assert (target / "keep.txt").read_text(encoding="utf-8") == "ancien"
    assert leftovers(tmp_path) == []


def test_failed_write_leaves_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk that fills up midway (fsync fails) must not clobber the previous output."""
    target = tmp_path / "incidents.geojson"
    target.write_text("ancien contenu", encoding="utf-8")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OutputError, match=r"incidents\.geojson"):
        atomic_write(target, "nouveau contenu")
    assert target.read_text(encoding="utf-8") == "ancien contenu"
    assert leftovers(tmp_path) == []


# --- GeoJSON --------------------------------------------------------------------------------------


def test_point_geometry_is_lon_lat() -> None:
    assert point_geometry(40.123, 45.456) == {"type": "Point", "coordinates": [45.456, 40.123]}
    assert point_geometry(-33.9, 151.2)["coordinates"] == [151.2, -33.9]
    assert point_geometry(40.12345678, 45.98765432)["coordinates"] == [45.987654, 40.123457]


def test_point_feature_holds_geometry_and_properties() -> None:
    feature = point_feature(41.0, 45.0, {"name": "x"})
    assert feature == {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [45.0, 41.0]},
        "properties": {"name": "x"},
    }


def assert_rfc7946(collection: dict, name: str) -> None:
    """FeatureCollection with only 'name' as foreign member, Points in [lon, lat] within range."""
    assert set(collection) == {"type", "name", "features"}
    assert collection["type"] == "FeatureCollection"
    assert collection["name"] == name
    assert collection["features"]
    for feature in collection["features"]:
        assert set(feature) == {"type", "geometry", "properties"}
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90
    assert json.loads(dumps_geojson(collection)) == collection


def test_incident_collection_is_rfc7946(found) -> None:
    collection = feature_collection(incident_features(found.incidents), "incidents")
    assert_rfc7946(collection, "incidents")
    for feature, incident in zip(collection["features"], found.incidents, strict=True):
        lon, lat = feature["geometry"]["coordinates"]
        assert (lon, lat) == (round(incident.place.lon, 6), round(incident.place.lat, 6))
        assert feature["properties"]["place_id"] == incident.place.id
        assert feature["properties"]["event_type"] == incident.event_type


def test_place_collection_is_rfc7946(found) -> None:
    collection = feature_collection(place_features(found.resolutions), "places")
    assert_rfc7946(collection, "places")
    by_id = {r.place.id: r.place for r in found.resolutions if r.place}
    for feature in collection["features"]:
        place = by_id[feature["properties"]["place_id"]]
        assert feature["geometry"]["coordinates"] == [round(place.lon, 6), round(place.lat, 6)]


# --- CSV ------------------------------------------------------------------------------------------


def test_incidents_csv_has_the_documented_columns(found) -> None:
    rows = list(csv.DictReader(io.StringIO(incidents_csv(found.incidents))))
    assert rows and list(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(found.incidents)
    for row, incident in zip(rows, found.incidents, strict=True):
        assert float(row["latitude"]) == incident.place.lat
        assert float(row["longitude"]) == incident.place.lon
        assert row["sub_event_type"] == incident.sub_event_type
        assert row["evidence"] == incident.evidence


def test_incidents_csv_flattens_lists_and_quotes_text() -> None:
    incident = Incident(
        id="abc",
        doc="d1",
        event_type="Battles",
        sub_event_type="Armed clash",
        place=KIRANTS,
        mention="Kirants",
        geo_precision=1,
        evidence='Des tirs, puis « l\'assaut », dit "X".',
        date=dt.date(2023, 9, 13),
        date_precision="day",
        fatalities=2,
        injured=None,
        actors=("Military Forces of Armenia", "Military Forces of Azerbaijan"),
        sources=(
            {"doc": "d1", "title": "T", "url": "https://example.org/a"},
            {"doc": "d2", "title": None, "url": None},
        ),
    )
    text = incidents_csv([incident])
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["actors"] == "Military Forces of Armenia; Military Forces of Azerbaijan"
    assert row["sources"] == "https://example.org/a; d2"
    assert row["evidence"] == incident.evidence
    assert (row["date"], row["fatalities"], row["injured"]) == ("2023-09-13", "2", "")
    assert (row["latitude"], row["longitude"]) == ("41.05", "45.11")


def test_incidents_csv_without_incidents_is_just_the_header() -> None:
    assert incidents_csv([]) == ",".join(CSV_COLUMNS) + "\n"


# --- place aggregation ----------------------------------------------------------------------------


def test_place_features_aggregate_mentions_and_documents() -> None:
    resolutions = [
        resolution("a", "Kirants", KIRANTS, 0),
        resolution("a", "Kiranc", KIRANTS, 20),
        resolution("b", "Kirants", KIRANTS, 5),
        resolution("b", "Kut", KUT, 40),
        resolution("b", "Nulle-Part", None, 60),
    ]
    features = place_features(resolutions)
    assert [f["properties"]["place_id"] for f in features] == ["village-kirants", "village-kut"]
    kirants, kut = (f["properties"] for f in features)
    assert kirants["mentions"] == 3
    assert kirants["doc_count"] == 2
    assert kirants["docs"] == [{"doc": "a", "mentions": 2}, {"doc": "b", "mentions": 1}]
    assert kirants["forms"] == ["Kirants", "Kiranc"]
    assert (kirants["name"], kirants["kind"], kirants["country"]) == ("Kirants", "village", "AM")
    assert (kut["mentions"], kut["doc_count"], kut["docs"]) == (1, 1, [{"doc": "b", "mentions": 1}])
    assert features[0]["geometry"]["coordinates"] == [45.11, 41.05]
    assert place_features([resolution("a", "Nulle-Part", None)]) == []


# --- inert outputs: formulas and urls -------------------------------------------------------------

FORMULAS = ["=1+2", "+1+2", "-1+2", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("https://evil.example","x")']
HOSTILE_URLS = [
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " JAVASCRIPT:x",
    "file:///x",
]


def hostile_incident(formula: str, url: str) -> Incident:
    """An incident whose every text field (and its place's) starts like a spreadsheet formula."""
    place = Place(formula + "id", formula + "place", "village", formula, -33.9, -45.5, admin1=formula)
    return Incident(
        id=formula + "i",
        doc=formula + "doc",
        event_type=formula,
        sub_event_type=formula,
        place=place,
        mention=formula + "m",
        geo_precision=1,
        evidence=formula + " des tirs",
        date=dt.date(2023, 9, 13),
        fatalities=2,
        injured=0,
        actors=(formula + "a", "b"),
        sources=({"doc": formula + "doc", "title": formula + "t", "url": url},),
        distance_km=-1.5,
        zone=formula + "z",
        sector=formula + "s",
    )


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_csv_text_cells_never_start_like_a_formula(formula: str, url: str) -> None:
    """OWASP: text cells starting with = + - @ tab or CR get a leading '; numbers stay numbers."""
    (row,) = csv.DictReader(io.StringIO(incidents_csv([hostile_incident(formula, url)])))
    numbers = {"latitude", "longitude", "fatalities", "injured", "geo_precision", "confidence", "distance_km"}
    for column, cell in row.items():
        if column in numbers:
            float(cell)  # written as a number, not neutralised
        elif cell:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    written = "'" + formula.replace("\r", "\n")  # a line break in a cell is written as \n
    assert row["id"] == written + "i" and row["evidence"] == written + " des tirs"
    assert (row["latitude"], row["longitude"], row["distance_km"]) == ("-33.9", "-45.5", "-1.5")
    assert row["date"] == "2023-09-13"
    assert row["sources"] == written + "doc"  # the url is not a link: the source's id instead
    assert url.strip().split(":")[0].lower() not in incidents_csv([hostile_incident(formula, url)]).lower()


def test_csv_keeps_plain_text_and_http_urls_as_written() -> None:
    incident = hostile_incident("Kirants", "https://example.org/a?b=-1")
    (row,) = csv.DictReader(io.StringIO(incidents_csv([incident])))
    assert row["id"] == "Kirantsi" and row["sources"] == "https://example.org/a?b=-1"
    assert csv_cell("a=1") == "a=1" and csv_cell(-3) == -3 and csv_cell(None) is None
    assert csv_cell("-3") == "'-3"  # text that looks like a negative number is still text
    assert csv_cell("a\rb\r\nc") == "a\nb\nc"  # a lone CR would end the row for a CSV reader


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_geojson_and_geopackage_properties_hold_only_http_urls(tmp_path: Path, url: str) -> None:
    """A url that is not http(s) is null in incidents.geojson and in the GeoPackage layer."""
    incidents = [hostile_incident("x", url), hostile_incident("y", "https://example.org/ok")]
    collection = feature_collection(incident_features(incidents), "incidents")
    sources = [f["properties"]["sources"] for f in collection["features"]]
    assert sources == [
        [{"doc": "xdoc", "title": "xt", "url": None}],
        [{"doc": "ydoc", "title": "yt", "url": "https://example.org/ok"}],
    ]
    text = dumps_geojson(collection)
    assert url.strip().split(":")[0].lower() not in text.lower()
    write_geopackage(tmp_path / "g.gpkg", {"incidents": frame_of(collection)})
    frame = pyogrio.read_dataframe(tmp_path / "g.gpkg", layer="incidents")
    assert [json.loads(s)[0]["url"] for s in frame["sources"]] == [None, "https://example.org/ok"]


def test_inert_clears_non_http_urls_at_any_depth() -> None:
    value = {"url": "javascript:x", "a": [{"url": "data:x"}, {"b": {"url": "https://ok.example/"}}], "n": -1}
    assert inert(value) == {"url": None, "a": [{"url": None}, {"b": {"url": "https://ok.example/"}}], "n": -1}
