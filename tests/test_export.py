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
    DEFAULT_FORMATS,
    FIELD_TYPES,
    FORMATS,
    LAYER_SPECS,
    FormatError,
    Layer,
    atomic_write,
    csv_cell,
    dumps_geojson,
    feature_collection,
    feature_id,
    feature_ids,
    flat_properties,
    format_files,
    incident_features,
    incidents_csv,
    incidents_csvt,
    inert,
    layer_fields,
    layer_frame,
    layer_geojson,
    parse_formats,
    place_features,
    result_layers,
    typed,
    write_formats,
    write_geopackage,
)
from geomap.models import (
    Article,
    Incident,
    Mention,
    Place,
    Resolution,
    Result,
    point_feature,
    point_geometry,
)
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
    layer = Layer(LAYER_SPECS["incidents"], tuple(collection["features"]))
    text = dumps_geojson(layer_geojson(layer))
    assert url.strip().split(":")[0].lower() not in text.lower()
    write_geopackage(tmp_path / "g.gpkg", [layer])
    frame = pyogrio.read_dataframe(tmp_path / "g.gpkg", layer="incidents")
    assert [json.loads(s)[0]["url"] for s in frame["sources"]] == [None, "https://example.org/ok"]


def test_inert_clears_non_http_urls_at_any_depth() -> None:
    value = {"url": "javascript:x", "a": [{"url": "data:x"}, {"b": {"url": "https://ok.example/"}}], "n": -1}
    assert inert(value) == {"url": None, "a": [{"url": None}, {"b": {"url": "https://ok.example/"}}], "n": -1}


# --- typed layers: one rule for every format ------------------------------------------------------


def incident(ident: str, place: Place = KIRANTS, **fields: object) -> Incident:
    base = {
        "doc": "d",
        "event_type": "Battles",
        "sub_event_type": "Armed clash",
        "mention": place.name,
        "geo_precision": 1,
        "evidence": "Des tirs.",
    }
    return Incident(id=ident, place=place, **{**base, **fields})  # type: ignore[arg-type]


def incidents_layer(*incidents: Incident) -> Layer:
    return Layer(LAYER_SPECS["incidents"], tuple(incident_features(incidents)))


def test_every_declared_field_has_one_of_the_five_types() -> None:
    assert set(FIELD_TYPES.values()) == {"str", "int", "float", "date", "json"}
    for spec in LAYER_SPECS.values():
        assert set(spec.fields) <= set(FIELD_TYPES), spec.name
    assert {
        FIELD_TYPES[n] for n in ("fatalities", "injured", "geonames_id", "population", "time_precision")
    } == {"int"}
    assert (FIELD_TYPES["date"], FIELD_TYPES["confidence"], FIELD_TYPES["actors"]) == (
        "date",
        "float",
        "json",
    )


def test_typed_values_follow_the_one_rule() -> None:
    assert typed(None, "int") is None and typed(None, "json") is None
    assert typed(2.0, "int") == 2 and isinstance(typed(1, "float"), float)
    assert typed("2023-09-13", "date") == dt.date(2023, 9, 13)
    assert typed(["a", "é"], "json") == '["a", "é"]' and typed({"u": None}, "json") == '{"u": null}'
    fields = {"date": "date", "n": "int", "x": "float", "l": "json", "s": "str"}
    flat = flat_properties({"date": "2023-09-13", "n": 3, "x": 1, "l": ["a"]}, fields)
    assert flat == {"date": "2023-09-13", "n": 3, "x": 1.0, "l": '["a"]', "s": None}
    assert json.dumps(flat["x"]) == "1.0"  # a float keeps its decimal point: GDAL reads a Real


def test_a_field_no_table_declares_takes_the_type_of_its_values() -> None:
    features = (
        point_feature(40, 45, {"id": "a", "score": 1, "ratio": 0.5, "tags": ["x"], "note": None}),
        point_feature(40, 45, {"id": "b", "score": None, "ratio": 2, "tags": [], "note": "n"}),
    )
    fields = layer_fields(Layer(LAYER_SPECS["incidents"], features))
    assert list(fields)[: len(LAYER_SPECS["incidents"].fields)] == list(LAYER_SPECS["incidents"].fields)
    assert {k: fields[k] for k in ("score", "ratio", "tags", "note")} == {
        "score": "int",
        "ratio": "float",
        "tags": "json",
        "note": "str",
    }


def test_feature_ids_are_stable_unique_and_read_from_the_incident_id() -> None:
    assert feature_id("99eda853dbc7") == 0x99EDA853DBC7
    assert feature_id("gn-147625") == feature_id("gn-147625") < 2**48
    layer = incidents_layer(incident("99eda853dbc7"), incident("99eda853dbc7"), incident("other"))
    fids = feature_ids(layer)
    assert fids[:2] == [0x99EDA853DBC7, 0x99EDA853DBC7 + 1] and len(set(fids)) == 3
    border = Layer(LAYER_SPECS["border"], (point_feature(40, 45, {}),))
    assert feature_ids(border) == [1]


def test_layer_geojson_holds_one_geometry_type_and_flat_typed_properties() -> None:
    square = {"type": "Polygon", "coordinates": [[[45, 40], [46, 40], [46, 41], [45, 40]]]}
    multi = {"type": "MultiPolygon", "coordinates": [square["coordinates"]]}
    features = (
        {
            "type": "Feature",
            "geometry": square,
            "properties": {"label": "0–5 km", "inner_km": 0, "width_km": 5},
        },
        {
            "type": "Feature",
            "geometry": multi,
            "properties": {"label": "5–10 km", "inner_km": 5, "width_km": 10},
        },
    )
    collection = layer_geojson(Layer(LAYER_SPECS["zones"], features))
    assert [f["geometry"] for f in collection["features"]] == [multi, multi]
    assert collection["features"][0]["properties"] == {"label": "0–5 km", "inner_km": 0.0, "width_km": 5.0}
    found = incidents_layer(
        incident("abc", date=dt.date(2023, 9, 13), fatalities=2, actors=("A", "B"), confidence=1.0)
    )
    (props,) = (f["properties"] for f in layer_geojson(found)["features"])
    assert list(props) == list(LAYER_SPECS["incidents"].fields)
    assert (props["date"], props["fatalities"], props["injured"]) == ("2023-09-13", 2, None)
    assert props["actors"] == '["A", "B"]' and json.loads(props["sources"]) == []
    assert props["confidence"] == 1.0 and isinstance(props["confidence"], float)


def test_layer_frame_has_nullable_typed_columns_indexed_by_fid() -> None:
    frame = layer_frame(incidents_layer(incident("0000000000aa", fatalities=2), incident("0000000000bb")))
    assert frame.index.tolist() == [0xAA, 0xBB] and frame.index.name == "fid"
    assert str(frame["fatalities"].dtype) == "Int32" and frame["fatalities"].isna().tolist() == [False, True]
    assert str(frame["confidence"].dtype) == "Float64" and frame.crs.to_epsg() == 4326


def test_geopackage_layers_are_typed_and_empty_layers_keep_their_fields(tmp_path: Path) -> None:
    path = tmp_path / "g.gpkg"
    layers = [
        incidents_layer(incident("0000000000aa", date=dt.date(2023, 9, 13), fatalities=2, injured=0)),
        Layer(LAYER_SPECS["places"], ()),
    ]
    write_geopackage(path, layers, metadata={"ATTRIBUTION": "GeoNames"})
    info = pyogrio.read_info(path, layer="incidents")
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert info["fid_column"] == "fid" and info["geometry_type"] == "Point"
    assert (types["date"], types["fatalities"], types["confidence"]) == ("OFTDate", "OFTInteger", "OFTReal")
    assert info["layer_metadata"]["IDENTIFIER"] == "Incidents"
    assert "CC BY 4.0" in info["layer_metadata"]["DESCRIPTION"]
    assert info["dataset_metadata"] == {"ATTRIBUTION": "GeoNames"}
    frame = pyogrio.read_dataframe(path, layer="incidents", fid_as_index=True)
    assert frame.index.tolist() == [0xAA] and (frame["fatalities"][0xAA], frame["injured"][0xAA]) == (2, 0)
    places = pyogrio.read_info(path, layer="places")
    assert places["features"] == 0 and list(places["fields"]) == list(LAYER_SPECS["places"].fields)
    assert [name for name, _ in pyogrio.list_layers(path)] == ["incidents", "places"]  # no styles asked


def test_parse_formats_names_the_known_ones() -> None:
    assert parse_formats("csv, GPKG,geojson") == ("gpkg", "geojson", "csv")
    assert parse_formats("all") == tuple(FORMATS)
    assert DEFAULT_FORMATS == ("gpkg", "geojson", "csv", "acled")
    with pytest.raises(FormatError, match=r"'shp'.*choose among gpkg, geojson"):
        parse_formats("gpkg,shp")
    with pytest.raises(FormatError):
        parse_formats(" , ")
    assert issubclass(FormatError, GeomapError) and issubclass(FormatError, ValueError)


def test_format_files_lists_what_each_format_writes() -> None:
    assert format_files(["csv"]) == ["incidents.csv", "incidents.csvt"]
    assert format_files(["fgb"], ["incidents"]) == ["incidents.fgb", "incidents.qml"]
    everything = format_files(FORMATS)
    assert len(everything) == len(set(everything)) and {"geomap.gpkg", "geomap.kml"} <= set(everything)


def test_write_formats_writes_each_chosen_format_and_reads_back(tmp_path: Path) -> None:
    layers = [
        incidents_layer(incident("0000000000aa", date=dt.date(2023, 9, 13), fatalities=2)),
        Layer(LAYER_SPECS["places"], tuple(place_features([resolution("d", "Kut", KUT)]))),
    ]
    chosen = ("gpkg", "geojson", "csv", "fgb", "kml")
    written = write_formats(tmp_path, layers, formats=chosen, incidents=[incident("0000000000aa")])
    assert sorted(written) == sorted(format_files(chosen, ["incidents", "places"]))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written)
    for name in ("geomap.gpkg", "incidents.fgb", "incidents.geojson"):
        frame = pyogrio.read_dataframe(tmp_path / name, layer="incidents")
        assert frame["fatalities"].tolist() == [2] and frame.crs.to_epsg() == 4326, name
    kml = dict(pyogrio.list_layers(tmp_path / "geomap.kml"))
    assert set(kml) == {"incidents", "places"}
    header = (tmp_path / "incidents.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    types = (tmp_path / "incidents.csvt").read_text(encoding="utf-8").strip().split(",")
    assert len(types) == len(header) and dict(zip(header, types, strict=True))["date"] == '"Date"'
    assert incidents_csvt().count('"Coord') == 2


def test_geoparquet_is_skipped_with_a_clear_message_without_its_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("geomap.export.parquet_available", lambda: False)
    written = write_formats(tmp_path, [incidents_layer(incident("a"))], formats=["parquet"])
    assert written == [] and not list(tmp_path.iterdir())  # nor its style, with no layer file
    assert "GeoParquet skipped: it needs geopandas and pyarrow (pip install 'geomap[parquet]')" in caplog.text


def test_geoparquet_columns_are_typed(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    written = write_formats(
        tmp_path, [incidents_layer(incident("0000000000aa", fatalities=1))], formats=["parquet"]
    )
    assert written == ["incidents.parquet", "incidents.qml"]
    schema = pq.read_schema(tmp_path / "incidents.parquet")
    assert str(schema.field("fatalities").type) == "int32" and str(schema.field("date").type) == "date32[day]"
    assert b"geo" in schema.metadata


def test_result_layers_split_the_zones_by_geometry() -> None:
    line = {"type": "LineString", "coordinates": [[45, 40], [46, 41]]}
    square = {"type": "Polygon", "coordinates": [[[45, 40], [46, 40], [46, 41], [45, 40]]]}
    zones = feature_collection(
        [
            {"type": "Feature", "geometry": line, "properties": {"kind": "border", "length_km": 1.0}},
            {"type": "Feature", "geometry": square, "properties": {"kind": "zone", "label": "0–5 km"}},
            {"type": "Feature", "geometry": square, "properties": {"kind": "sector", "name": "A–B"}},
        ],
        "zones",
    )
    layers = {layer.name: layer for layer in result_layers(Result(zones=zones))}
    assert list(layers) == ["incidents", "places", "border", "zones", "sectors"]
    assert [len(layer.features) for layer in layers.values()] == [0, 0, 1, 1, 1]
    assert "kind" not in layers["sectors"].features[0]["properties"]
    assert [layer.name for layer in result_layers(Result())] == ["incidents", "places"]
