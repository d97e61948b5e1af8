"""Robustness of ``geomap build`` against bad inputs, huge inputs, a killed run and concurrent runs.

Every input is generated in a temporary folder by the fixtures below; nothing big is committed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyogrio
import pytest
from click.testing import CliRunner, Result

from geomap.cli import cli
from geomap.errors import InputError
from geomap.export import INCIDENT_CSV_COLUMNS
from geomap.ingest import iter_articles
from geomap.store import STORE_NAME

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("incidents", "places", "border", "zones", "sectors")
OUTPUTS = (
    "map.html",
    *(f"{layer}.geojson" for layer in LAYERS),
    *(f"{layer}.qml" for layer in LAYERS),
    "incidents.csv",
    "incidents_acled.csv",
    "incidents.csvt",
    "geomap.gpkg",
    "articles.jsonl",
    "report.html",
    "timeline.svg",
    "summary.json",
)
# What atomic_write and write_geopackage leave behind when killed: ".<output>.<random>.tmp|gpkg".
HIDDEN_TEMPORARY = re.compile(
    r"^\.(?:"
    + "|".join(re.escape(n) for n in OUTPUTS)
    + r")\.[A-Za-z0-9_]+\.(?:tmp|gpkg)(?:-journal|-wal|-shm)?$"
)
LOCK_FILE = ".geomap.lock"
STAGING = ".geomap-staging"  # where a run writes its outputs before swapping them in together
STORE_FILES = {STORE_NAME, f"{STORE_NAME}-wal", f"{STORE_NAME}-shm"}  # SQLite's, during a run
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def incident(place: str) -> str:
    """A sentence the detector turns into an armed clash at ``place``."""
    return f"Des affrontements ont éclaté à {place} mardi, faisant deux morts, selon le ministère.\n"


# --- helpers ----------------------------------------------------------------------------------


def invoke(*args: str | Path) -> Result:
    """``geomap ARGS`` in-process; an exception is kept in ``result.exception``, never raised."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)


def geomap_process(*args: str | Path, log: Path) -> subprocess.Popen:
    """``python -m geomap ARGS`` in its own process, standard output and error into ``log``."""
    with open(log, "wb") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "geomap", *map(str, args)],
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
        )


def assert_no_traceback(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stdout and "Traceback" not in result.stderr, result.stderr[-3000:]


def coordinate_pairs(coordinates: Any) -> Iterator[list[float]]:
    """Every [x, y] position of a GeoJSON geometry's nested coordinates."""
    if coordinates and isinstance(coordinates[0], int | float):
        yield coordinates
    else:
        for part in coordinates:
            yield from coordinate_pairs(part)


def check_feature_collection(data: Any) -> list[dict]:
    """An RFC 7946 FeatureCollection whose positions are [lon, lat] in range; its features."""
    assert isinstance(data, dict) and data["type"] == "FeatureCollection"
    assert isinstance(data["features"], list)
    for feature in data["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["properties"], dict)
        geometry = feature["geometry"]
        assert geometry["type"] in {
            "Point",
            "MultiPoint",
            "LineString",
            "MultiLineString",
            "Polygon",
            "MultiPolygon",
        }
        pairs = list(coordinate_pairs(geometry["coordinates"]))
        assert pairs
        for lon, lat, *_ in pairs:
            assert -180 <= lon <= 180 and -90 <= lat <= 90, (lon, lat)
        props = feature["properties"]
        if geometry["type"] == "Point" and props.get("country") in ("AM", "AZ"):
            lon, lat = geometry["coordinates"]  # the theatre: lon 43–51, lat 38–42.5, never swapped
            assert 43 < lon < 51 and 38 < lat < 42.5, (props, lon, lat)
    return data["features"]


def check_geopackage(path: Path) -> dict[str, int]:
    """Every layer of the GeoPackage read back in WGS84 with in-range bounds; rows per layer."""
    layers = dict(pyogrio.list_layers(path))
    assert set(LAYERS) <= set(layers) <= {*LAYERS, "layer_styles"}
    counts = {}
    for name, geometry_type in layers.items():
        if geometry_type is None:  # QGIS's layer_styles: a table without geometry
            continue
        frame = pyogrio.read_dataframe(path, layer=name)
        assert frame.crs is not None and frame.crs.to_epsg() == 4326
        if len(frame):
            minx, miny, maxx, maxy = frame.total_bounds
            assert -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
        counts[name] = len(frame)
    return counts


def check_csv(text: str) -> list[dict[str, str]]:
    assert text.endswith("\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == INCIDENT_CSV_COLUMNS
    assert all(len(row) == len(INCIDENT_CSV_COLUMNS) for row in rows[1:])
    return [dict(zip(INCIDENT_CSV_COLUMNS, row, strict=True)) for row in rows[1:]]


def check_output(path: Path, scratch: Path) -> None:
    """``path`` (one of OUTPUTS) is a complete file of its kind."""
    name = path.name
    if name == "geomap.gpkg":
        copy = scratch / f"copy-{time.monotonic_ns()}.gpkg"  # never let the reader touch OUT
        shutil.copyfile(path, copy)
        check_geopackage(copy)
        return
    text = path.read_bytes().decode("utf-8")
    if name.endswith(".geojson"):
        check_feature_collection(json.loads(text))
    elif name == "summary.json":
        summary = json.loads(text)
        assert {"articles", "incidents", "problems", "encodings", "timings"} <= set(summary)
    elif name == "incidents.csv":
        check_csv(text)
    elif name == "incidents_acled.csv":
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
        assert rows[0][:2] == ["event_id_cnty", "event_date"]
        assert all(len(row) == len(rows[0]) for row in rows[1:])
    elif name == "incidents.csvt":
        assert len(next(csv.reader(io.StringIO(text)))) == len(INCIDENT_CSV_COLUMNS)
    elif name.endswith(".qml"):
        assert ET.fromstring(text).tag == "qgis"
    elif name == "articles.jsonl":
        assert text == "" or text.endswith("\n")
        assert all(isinstance(json.loads(line)["text"], str) for line in text.splitlines())
    elif name in ("map.html", "report.html"):
        assert text.lstrip().lower().startswith("<!doctype html>")
        assert text.rstrip().endswith("</html>")
    elif name == "timeline.svg":
        assert ET.fromstring(text).tag == "{http://www.w3.org/2000/svg}svg"
    else:  # pragma: no cover - OUTPUTS lists every kind
        raise AssertionError(name)


def check_folder_names(out: Path) -> None:
    """Only outputs, the lock, the store and hidden temporary files; nothing else named like an output."""
    for entry in os.listdir(out):
        known = {LOCK_FILE, STAGING, *STORE_FILES}
        assert entry in OUTPUTS or entry in known or HIDDEN_TEMPORARY.match(entry), entry


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --- a corpus of bad inputs -------------------------------------------------------------------


class Corpus:
    """The generated inputs and what a build must say about each."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / "corpus"
        self.extra: list[Path] = []  # passed on the command line beside the folder
        self.bad: dict[Path, tuple[int | None, str]] = {}  # path -> (line, reason pattern)
        self.good: dict[str, str] = {}  # doc id -> place name of its incident
        self.encodings: dict[Path, set[str]] = {}  # path -> the labels it may be reported with
        self.articles = 0

    def write(self, name: str, data: str | bytes) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path

    def add_bad(self, name: str, data: str | bytes, reason: str, line: int | None = None) -> Path:
        path = self.write(name, data)
        self.bad[path] = (line, reason)
        return path

    def add_good(self, name: str, data: str | bytes, place: str, *encodings: str) -> Path:
        path = self.write(name, data)
        self.good[Path(name).stem] = place
        self.articles += 1
        if encodings:
            self.encodings[path] = set(encodings)
        return path


def make_corpus(root: Path) -> Corpus:
    c = Corpus(root)
    # Bad inputs: each must be named on standard error with its reason.
    c.add_bad("empty.txt", b"", "empty article")
    c.add_bad("blank.md", " \n\t\r\n   \n", "empty article")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + b"\x00" * 2048 + bytes(range(256))
    c.add_bad("scan.txt", png, "binary data")
    c.add_bad("nul.txt", (incident("Kut") * 3).encode() + b"\x00\x00" + incident("Kut").encode(), "binary")
    c.add_bad("bad-front.md", "---\ntitle: [Tirs à Goris\ndate: : :\n---\n" + incident("Goris"), "malformed")
    c.add_bad("list-front.md", "---\n- un\n- deux\n---\n" + incident("Goris"), "not a mapping")
    # JSON Lines: a bad line among good ones, and a record with a lone surrogate.
    feed = [
        json.dumps({"id": "feed-vardenis", "text": incident("Vardenis")}, ensure_ascii=False),
        '{"id": "feed-broken", "text": "Tirs à Goris',
        json.dumps({"id": "feed-ijevan", "text": incident("Ijevan")}, ensure_ascii=False),
        json.dumps({"id": "feed-no-text", "title": "sans texte"}),
    ]
    c.write("feed.jsonl", "\n".join(feed) + "\n")
    c.bad[c.folder / "feed.jsonl"] = (2, "invalid JSON")
    c.good.update({"feed-vardenis": "Vardenis", "feed-ijevan": "Ijevan"})
    c.articles += 2
    lone = [
        json.dumps({"id": "surrogate-ok", "text": incident("Noyemberyan")}, ensure_ascii=False),
        json.dumps({"id": "surrogate-bad", "text": "Tirs \ud800 à Goris."}),  # \ud800 escaped, valid JSON
    ]
    c.write("surrogate.jsonl", "\n".join(lone) + "\n")
    c.bad[c.folder / "surrogate.jsonl"] = (2, "surrogate")
    c.good["surrogate-ok"] = "Noyemberyan"
    c.articles += 1
    if not IS_ROOT:  # root reads a mode-000 file anyway
        locked = c.add_bad("locked.txt", incident("Goris"), "cannot read")
        locked.chmod(0)
    # A broken symbolic link and a PNG named on the command line.
    dangling = root / "extra" / "dangling.txt"
    dangling.parent.mkdir()
    dangling.symlink_to(root / "extra" / "nowhere.txt")
    c.bad[dangling] = (None, "broken symbolic link")
    photo = root / "extra" / "photo.png"
    photo.write_bytes(png)
    c.bad[photo] = (None, "binary data")
    c.extra = [dangling, photo]

    # Readable inputs, most in encodings other than UTF-8: their incidents must be mapped.
    c.add_good("good.txt", "Le 14 septembre\n" + incident("Kirants"), "Kirants")
    c.add_good("dated.md", "---\ntitle: Meghri\ndate: 2022-09-14\n---\n" + incident("Meghri"), "Meghri")
    c.add_good(
        "cp1252.txt",
        ("L’armée a mis en œuvre un «\u00a0plan\u00a0».\n" + incident("Tegh")).encode("cp1252"),
        "Tegh",
        "windows-1252",
    )
    c.add_good(
        "latin1.txt",
        ("L'été a été calme à Erevan.\n" + incident("Sotk")).encode("latin-1"),
        "Sotk",
        "windows-1252",
        "latin-1",
    )
    c.add_good("utf16-bom.txt", incident("Berkaber").encode("utf-16"), "Berkaber", "utf-16")
    c.add_good("utf16le.txt", incident("Chakaten").encode("utf-16-le"), "Chakaten", "utf-16-le")
    c.add_good(
        "mixed.txt",
        "Réunion à Erevan l’après-midi.\n".encode() + incident("Jermuk").encode("cp1252"),
        "Jermuk",
        "mixed utf-8/windows-1252",
    )
    c.add_good(
        "mojibake.txt",
        ("L’armée a réagi.\n" + incident("Goris")).encode().decode("cp1252").encode(),
        "Goris",
        "utf-8 (mojibake repaired)",
    )
    # 2,000 small files, one of which reports an incident.
    for i in range(2000):
        text = incident("Kapan") if i == 1234 else f"Note {i} : rien à signaler aujourd'hui.\n"
        c.write(f"many/note-{i:04d}.txt", text)
    c.good["note-1234"] = "Kapan"
    c.articles += 2000
    return c


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return make_corpus(tmp_path_factory.mktemp("robust"))


@pytest.fixture(scope="module")
def corpus_build(corpus: Corpus) -> tuple[Result, Path]:
    """One ``geomap build CORPUS EXTRA... --out OUT --offline`` run shared by the checks below."""
    out = corpus.root / "out"
    started = time.perf_counter()
    result = invoke("build", corpus.folder, *corpus.extra, "--out", out, "--offline")
    print(f"corpus build: {time.perf_counter() - started:.1f} s")
    return result, out


def test_bad_corpus_build_exits_3_without_traceback(corpus_build: tuple[Result, Path]) -> None:
    result, _ = corpus_build
    assert_no_traceback(result)
    assert result.exit_code == 3, result.stderr[-3000:]


def test_every_bad_input_is_named_with_its_reason(corpus: Corpus, corpus_build: tuple[Result, Path]) -> None:
    result, _ = corpus_build
    skipped = [line for line in result.stderr.splitlines() if line.startswith("geomap: skipped ")]
    for path, (line, reason) in corpus.bad.items():
        where = re.escape(str(path)) + (f":{line}" if line is not None else "")
        pattern = re.compile(rf"^geomap: skipped {where}: .*{reason}", re.I)
        assert any(pattern.search(s) for s in skipped), (path, line, reason, skipped)
    assert len(skipped) == len(corpus.bad) + 1  # feed.jsonl also has a record without "text" (line 4)
    assert any(s.startswith(f"geomap: skipped {corpus.folder / 'feed.jsonl'}:4: ") for s in skipped)
    for doc in corpus.good:  # nothing readable is reported
        assert not any(f"/{doc}." in s for s in skipped), doc


def test_incidents_of_every_readable_input_are_mapped(
    corpus: Corpus, corpus_build: tuple[Result, Path]
) -> None:
    _, out = corpus_build
    features = check_feature_collection(load(out / "incidents.geojson"))
    found = {(f["properties"]["doc"], f["properties"]["place"]) for f in features}
    for doc, place in corpus.good.items():
        assert (doc, place) in found, (doc, place, sorted(found))
    for feature in features:  # decoded right: no mojibake, no replacement character in the evidence
        evidence = feature["properties"]["evidence"]
        assert "éclaté" in evidence and "Ã" not in evidence and "\ufffd" not in evidence, evidence


def test_summary_counts_articles_and_lists_non_utf8_encodings(
    corpus: Corpus, corpus_build: tuple[Result, Path]
) -> None:
    _, out = corpus_build
    summary = load(out / "summary.json")
    assert summary["articles"] == corpus.articles
    assert len(summary["problems"]) == len(corpus.bad) + 1
    encodings = summary["encodings"]
    for path, labels in corpus.encodings.items():
        assert encodings.get(str(path)) in labels, (path, encodings)
    assert set(encodings) == {str(p) for p in corpus.encodings}  # UTF-8 files are not listed


def test_every_output_of_the_bad_corpus_is_valid(corpus_build: tuple[Result, Path]) -> None:
    _, out = corpus_build
    check_folder_names(out)
    for name in OUTPUTS:
        check_output(out / name, out.parent)
    incidents = load(out / "incidents.geojson")["features"]
    assert len(check_csv((out / "incidents.csv").read_text(encoding="utf-8"))) == len(incidents)
    layers = check_geopackage(out / "geomap.gpkg")
    assert layers["incidents"] == len(incidents)
    assert layers["places"] == len(load(out / "places.geojson")["features"])
    check_feature_collection(load(out / "zones.geojson"))


def test_broken_symlink_inside_a_folder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(incident("Kirants"), encoding="utf-8")
    (folder / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    result = invoke("build", folder, "--out", tmp_path / "out", "--offline", "-q")
    assert_no_traceback(result)
    assert f"geomap: skipped {folder / 'dangling.txt'}: " in result.stderr
    assert result.exit_code == 3


@pytest.mark.skipif(IS_ROOT, reason="root reads a file whatever its mode")
def test_unreadable_file_alone_exits_1_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "locked.txt"
    path.write_text(incident("Goris"), encoding="utf-8")
    path.chmod(0)
    try:
        result = invoke("build", path, "--out", tmp_path / "out", "--offline", "-q")
    finally:
        path.chmod(0o600)
    assert_no_traceback(result)
    assert result.exit_code == 1
    assert f"geomap: skipped {path}: cannot read" in result.stderr


def test_a_file_name_that_is_not_utf8_does_not_stop_the_run(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text(incident("Tegh"), encoding="utf-8")
    try:
        legacy = folder / os.fsdecode(b"d\xe9p\xeache.txt")  # "dépêche" in Latin-1, as old archives name it
        legacy.write_text(incident("Kirants"), encoding="utf-8")
    except (OSError, UnicodeError):  # pragma: no cover - a file system that wants UTF-8 names
        pytest.skip("this file system refuses names that are not UTF-8")
    out = tmp_path / "out"
    result = invoke("build", folder, "--out", out, "--offline", "-q")
    assert_no_traceback(result)
    assert result.exit_code in (0, 3), result.stderr
    docs = {f["properties"]["doc"] for f in check_feature_collection(load(out / "incidents.geojson"))}
    assert "ok" in docs
    for name in OUTPUTS:
        check_output(out / name, tmp_path)


def test_a_deeply_nested_jsonl_record_is_one_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "profond.jsonl"
    deep = '{"text": "Tirs.", "meta": ' + "[" * 100_000 + "]" * 100_000 + "}"
    good = json.dumps({"id": "ok", "text": incident("Goris")}, ensure_ascii=False)
    path.write_text(f"{good}\n{deep}\n{good.replace('ok', 'ok2')}\n", encoding="utf-8")
    later = tmp_path / "later.txt"
    later.write_text(incident("Tegh"), encoding="utf-8")
    errors: list[InputError] = []
    articles = list(iter_articles([path, later], errors))
    assert [a.id for a in articles] == ["ok", "ok2", "later"]
    assert [(e.path, e.line) for e in errors] == [(str(path), 2)]


def test_a_yaml_alias_bomb_in_front_matter_stays_small(tmp_path: Path) -> None:
    levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 7)]
    path = tmp_path / "bombe.md"
    path.write_text("---\n" + "\n".join(levels) + "\ntitle: *a6\n---\n" + incident("Goris"), encoding="utf-8")
    errors: list[InputError] = []
    articles = list(iter_articles([path], errors))
    if articles:  # read, with a title no bigger than the file it came from
        assert len(articles[0].title or "") <= path.stat().st_size
    else:
        assert [e.path for e in errors] == [str(path)]


# --- bad values, formulas and duplicates through a whole build --------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMERIC_COLUMNS = {
    "latitude",
    "longitude",
    "fatalities",
    "injured",
    "geo_precision",
    "confidence",
    "distance_km",
}


def docs_of(out: Path) -> list[str]:
    return [f["properties"]["doc"] for f in check_feature_collection(load(out / "incidents.geojson"))]


def test_one_bad_value_costs_a_field_never_the_build(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Impossible dates and times, 5,000-digit values, a 5,000-deep list, year 9999 in the text and
    year 1 with "hier": every article is mapped, every dropped field named, exit 0."""
    folder = tmp_path / "in"
    folder.mkdir()
    front = {
        "feb30.md": ("date: 2024-02-30", "Kirants", "date"),
        "hour.md": ("date: 2024-01-01 25:61:00", "Tegh", None),
        "digits.md": ("title: " + "7" * 5000 + "\nid: " + "9" * 5000, "Sotk", "id"),
        "deep.md": ("title: " + "[" * 5000 + "]" * 5000, "Kapan", "title"),
    }
    for name, (header, place, _) in front.items():
        (folder / name).write_text(f"---\n{header}\n---\n" + incident(place), encoding="utf-8")
    (folder / "far.txt").write_text(
        "Le 31 décembre 9999, des affrontements ont éclaté à Berkaber, faisant deux morts.\n",
        encoding="utf-8",
    )
    feed = folder / "feed.jsonl"
    hier = "Hier, des affrontements ont éclaté à Vardenis, faisant deux morts, selon le ministère."
    feed.write_text(
        '{"id": ' + "7" * 5000 + ', "text": ' + json.dumps(incident("Jermuk")) + "}\n"
        + json.dumps({"id": "an-un", "date": "0001-01-01", "text": hier}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    out = tmp_path / "out"
    result = invoke("build", folder, "--out", out, "--offline")  # not -q: warnings are logged
    assert_no_traceback(result)
    assert result.exit_code == 0, result.stderr[-3000:]
    assert sorted(set(docs_of(out))) == sorted(["feb30", "hour", "digits", "deep", "far", "feed-1", "an-un"])
    for name in OUTPUTS:
        check_output(out / name, tmp_path)
    warnings = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    for name, (_, _, field) in front.items():
        if field is not None:
            assert any(w.startswith(f'{folder / name}: field "{field}" dropped') for w in warnings), warnings
    assert any(w.startswith(f'{feed}:1: field "id" dropped') for w in warnings), warnings
    assert any(w.startswith(f'{feed}:2: field "date" dropped') for w in warnings), warnings
    dates = {
        f["properties"]["doc"]: f["properties"]["date"] for f in load(out / "incidents.geojson")["features"]
    }
    assert dates["far"] is None and dates["an-un"] is None  # no year 9999, no day before year 1


def test_outputs_hold_no_formula_and_no_script_url(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Ids, titles, sources and sentences starting like formulas; javascript: and data: urls."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "hostile.md").write_text(
        "---\n"
        'id: "=HYPERLINK(\\"https://evil.example\\",\\"x\\")"\n'
        'title: "@SUM(1+1)"\n'
        "url: javascript:alert(1)\n"
        'source: "+cmd"\n'
        "---\n" + "-2+3 " + incident("Kirants"),
        encoding="utf-8",
    )
    records = [
        {"id": "@feed", "title": "=1+2", "url": "data:text/html,<script>alert(1)</script>",
         "text": "=1+2 " + incident("Tegh")},
        {"id": "-ok", "url": "https://example.org/ok", "text": incident("Sotk")},
    ]  # fmt: skip
    feed = folder / "feed.jsonl"
    feed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("build", folder, "--out", out, "--offline")  # not -q: warnings are logged
    assert_no_traceback(result)
    assert result.exit_code == 0, result.stderr[-3000:]
    rows = check_csv((out / "incidents.csv").read_text(encoding="utf-8"))
    assert {r["doc"] for r in rows} == {'\'=HYPERLINK("https://evil.example","x")', "'@feed", "'-ok"}
    for row in rows:
        for column, cell in row.items():
            if column in NUMERIC_COLUMNS and cell:
                float(cell)  # a number, written as one (a longitude may well be negative)
            else:
                assert not cell.startswith(FORMULA_STARTS), (column, cell)
    assert "https://example.org/ok" in {r["sources"] for r in rows}
    texts = {name: (out / name).read_text(encoding="utf-8") for name in OUTPUTS if name != "geomap.gpkg"}
    frame = pyogrio.read_dataframe(out / "geomap.gpkg", layer="incidents")
    texts["geomap.gpkg"] = " ".join(frame["sources"])
    for name, text in texts.items():
        assert "javascript:" not in text.lower() and "data:text" not in text.lower(), name
    features = load(out / "incidents.geojson")["features"]
    sources = [s for f in features for s in json.loads(f["properties"]["sources"])]
    assert {s["url"] for s in sources} == {None, "https://example.org/ok"}
    warnings = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert any(w.startswith(f'{folder / "hostile.md"}: field "url" dropped') for w in warnings), warnings
    assert any(w.startswith(f'{feed}:1: field "url" dropped') for w in warnings), warnings


def test_an_input_given_twice_and_a_repeated_id_are_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file named three ways, through a link and inside its folder is one article; a JSONL id seen
    before (same file or another) is named and its record skipped: no two incidents share an id."""
    folder = tmp_path / "in"
    folder.mkdir()
    article = folder / "a.txt"
    article.write_text(incident("Kirants"), encoding="utf-8")
    link = tmp_path / "lien.txt"
    link.symlink_to(article)
    feed = folder / "feed.jsonl"
    feed.write_text(
        "".join(
            json.dumps({"id": i, "text": incident(place)}, ensure_ascii=False) + "\n"
            for i, place in [("x", "Tegh"), ("y", "Sotk"), ("x", "Berkaber")]
        ),
        encoding="utf-8",
    )
    other = tmp_path / "autre.jsonl"
    other.write_text(json.dumps({"id": "y", "text": incident("Goris")}, ensure_ascii=False) + "\n", "utf-8")
    monkeypatch.chdir(folder)
    out = tmp_path / "out"
    result = invoke(
        "build", article, "a.txt", "./a.txt", link, folder, other, "--out", out, "--offline", "-q"
    )
    assert_no_traceback(result)
    assert result.exit_code == 3, result.stderr[-3000:]
    skipped = [line for line in result.stderr.splitlines() if line.startswith("geomap: skipped ")]
    assert skipped == [
        f"geomap: skipped {feed}:3: duplicate id 'x' (first read from {feed}:1)",
        f"geomap: skipped {other}:1: duplicate id 'y' (first read from {feed}:2)",
    ]
    features = check_feature_collection(load(out / "incidents.geojson"))
    assert sorted((f["properties"]["doc"], f["properties"]["place"]) for f in features) == [
        ("a", "Kirants"),
        ("x", "Tegh"),
        ("y", "Sotk"),
    ]
    ids = [f["properties"]["id"] for f in features]
    assert len(set(ids)) == len(ids)
    assert load(out / "summary.json")["articles"] == 3


# --- big inputs -------------------------------------------------------------------------------

SENTENCES = (
    "Des affrontements ont éclaté à Kirants mardi, faisant deux morts, selon le ministère.\n"
    "L’armée azerbaïdjanaise a bombardé des positions près de Tegh et de Sotk dans la nuit.\n"
    "Le gouvernement a réagi à Erevan, tandis que Bakou démentait toute attaque contre Goris.\n"
    "Un cessez-le-feu est entré en vigueur à Chakaten après une journée de tirs d’artillerie.\n"
)


def write_big(path: Path, size: int, block: str = SENTENCES) -> int:
    """``size`` bytes (rounded to whole blocks) of ``block`` written in ~1 MB chunks; the characters."""
    chunk = block * max(1, (1 << 20) // len(block.encode()))
    chars = written = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        while written < size:
            piece = chunk if written + len(chunk.encode()) <= size else block
            fh.write(piece)
            written += len(piece.encode())
            chars += len(piece)
    return chars


def test_a_50_mb_file_is_refused_by_name_quickly(tmp_path: Path) -> None:
    """50 MB in one article is more than the model reads: the file is named and skipped, fast."""
    path = tmp_path / "enorme.txt"
    write_big(path, 50 << 20)
    assert path.stat().st_size >= 50 << 20
    errors: list[InputError] = []
    started = time.perf_counter()
    articles = list(iter_articles([path], errors))
    print(f"50 MB ingest: {time.perf_counter() - started:.1f} s")
    assert articles == []
    assert [e.path for e in errors] == [str(path)] and "too long" in errors[0].problem


@pytest.mark.parametrize(
    ("name", "size", "block"),
    [
        # One 2 MB line with no line break: a few names, mostly lower-case words.
        ("ligne.txt", 2 << 20, "les habitants ont passé la journée dans le calme malgré la pluie, "),
        ("cinq-mega.txt", 5 << 20, SENTENCES),
    ],
    ids=["2mb-single-line", "5mb-pipeline"],
)
def test_an_oversize_article_is_processed_or_skipped_by_name(
    tmp_path: Path, name: str, size: int, block: str
) -> None:
    """A single article over a million characters: mapped, or named and skipped; never a crash."""
    path = tmp_path / name
    first = incident("Kirants").rstrip("\n") + " " if "\n" not in block else incident("Kirants")
    path.write_text(first, encoding="utf-8")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(block * (size // len(block.encode())))
    if "\n" not in block:
        assert path.read_bytes().count(b"\n") == 0
    out = tmp_path / "out"
    process = geomap_process("build", path, "--out", out, "--offline", "-q", log=tmp_path / "log.txt")
    try:
        code = process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = (tmp_path / "log.txt").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log, log[-2000:]
    assert code in (0, 1), log[-2000:]  # mapped, or (the only input) named and skipped
    if code == 1:
        assert f"geomap: skipped {path}: " in log
    else:
        assert load(out / "summary.json")["articles"] == 1
        for output in OUTPUTS:
            check_output(out / output, tmp_path)


# --- a run killed while it writes ------------------------------------------------------------


def write_articles(folder: Path, prefix: str, count: int) -> None:
    """``count`` articles, each a clash at one of a few villages and some filler sentences."""
    villages = ["Kirants", "Tegh", "Sotk", "Berkaber", "Chakaten", "Jermuk", "Vardenis", "Ijevan", "Kapan"]
    folder.mkdir(parents=True, exist_ok=True)
    filler = "La population attend des nouvelles du gouvernement, qui s’est réuni dans la soirée. " * 6
    for i in range(count):
        text = incident(villages[i % len(villages)]) + filler + "\n" + SENTENCES
        (folder / f"{prefix}-{i:03d}.txt").write_text(text, encoding="utf-8")


def snapshot(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in OUTPUTS}


def test_killed_build_leaves_old_or_complete_outputs(tmp_path: Path) -> None:
    """SIGKILL at several moments of a second build over the same OUT: every output is either the
    previous run's bytes or a complete new file, never a truncated one."""
    out = tmp_path / "out"
    first = tmp_path / "first"
    write_articles(first, "first", 2)
    result = invoke("build", first, "--out", out, "--offline", "-q")
    assert result.exit_code == 0, result.output
    old = snapshot(out)
    bigger = tmp_path / "bigger"
    write_articles(bigger, "bigger", 60)

    # Timed kills land in start-up, model loading and NLP; the watched ones while a file is written.
    # --full: a run that completes (the last timed one may) must not make the next ones find nothing
    # changed and write nothing.
    moments: list[float | str] = [1.0, 3.0, 6.0, "any-temporary", "gpkg-temporary"]
    seen: list[tuple[float | str, float, list[str]]] = []
    for moment in moments:
        process = geomap_process(
            "build", bigger, "--out", out, "--offline", "-q", "--full", log=tmp_path / f"log-{moment}.txt"
        )
        before = set(os.listdir(out))
        started = time.monotonic()
        deadline = started + (moment if isinstance(moment, float) else 120.0)
        temporaries: list[str] = []
        while time.monotonic() < deadline and process.poll() is None:
            if isinstance(moment, str):
                try:
                    staged = os.listdir(out / STAGING)
                except FileNotFoundError:  # not made yet, or swapped in and removed between two looks
                    staged = []
                temporaries = [n for n in os.listdir(out) if n.startswith(".") and n not in before]
                temporaries += [n for n in staged if n.startswith(".")]
                if moment == "gpkg-temporary":
                    temporaries = [n for n in temporaries if n.startswith(".geomap.gpkg.")]
                if temporaries:
                    break
                time.sleep(0.0005)
            else:
                time.sleep(0.01)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        code = process.wait(timeout=30)
        seen.append((moment, round(time.monotonic() - started, 2), temporaries))
        check_folder_names(out)
        for name in OUTPUTS:
            data = (out / name).read_bytes()
            if data != old[name]:
                check_output(out / name, tmp_path)
        assert code in (-signal.SIGKILL, 0), (moment, code)
    print("kills:", seen)
    # The watched kills did land while a temporary file was being written.
    assert any(temporaries for moment, _, temporaries in seen if isinstance(moment, str)), seen

    # And a run left alone replaces every output with a complete new version.
    process = geomap_process("build", bigger, "--out", out, "--offline", "-q", log=tmp_path / "log-end.txt")
    assert process.wait(timeout=300) == 0
    for name in OUTPUTS:
        check_output(out / name, tmp_path)
    assert load(out / "summary.json")["articles"] == 60
    assert (out / "incidents.geojson").read_bytes() != old["incidents.geojson"]


# --- two runs writing into the same folder at once -------------------------------------------


def test_concurrent_builds_into_one_folder_leave_one_consistent_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_articles(tmp_path / "a", "a", 4)
    write_articles(tmp_path / "b", "b", 7)
    processes = [
        geomap_process(
            "build", tmp_path / name, "--out", out, "--offline", "-q", log=tmp_path / f"{name}.log"
        )
        for name in ("a", "b")
    ]
    try:
        codes = [p.wait(timeout=300) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    logs = {name: (tmp_path / f"{name}.log").read_text(encoding="utf-8") for name in ("a", "b")}
    assert codes == [0, 0], logs
    check_folder_names(out)
    for name in OUTPUTS:
        check_output(out / name, tmp_path)
    # Every output comes from the same run: the one whose article count the summary gives.
    summary = load(out / "summary.json")
    prefix = {4: "a-", 7: "b-"}[summary["articles"]]
    incidents = load(out / "incidents.geojson")["features"]
    assert len(incidents) == summary["incidents"] > 0
    assert all(f["properties"]["doc"].startswith(prefix) for f in incidents)
    places = load(out / "places.geojson")["features"]
    assert all(d["doc"].startswith(prefix) for f in places for d in json.loads(f["properties"]["docs"]))
    rows = check_csv((out / "incidents.csv").read_text(encoding="utf-8"))
    assert sorted(r["id"] for r in rows) == sorted(f["properties"]["id"] for f in incidents)
    gpkg = pyogrio.read_dataframe(out / "geomap.gpkg", layer="incidents")
    assert sorted(gpkg["id"]) == sorted(f["properties"]["id"] for f in incidents)
