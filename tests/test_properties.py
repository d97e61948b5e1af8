"""Properties that hold for any input: decoding, ingest, extraction offsets and the outputs.

The real spaCy model and gazetteer (the session ``pipeline`` fixture) run on every generated example.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pyogrio
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from geomap.errors import InputError
from geomap.ingest import decode, iter_articles, normalise_for_nlp
from geomap.models import Article
from geomap.pipeline import Pipeline, write_outputs

# Every character UTF-8 can hold: all categories but the surrogates.
ENCODABLE = st.characters(exclude_categories=("Cs",))
TEXT = st.text(ENCODABLE, max_size=200)
# Pieces of French news copy that wake up every stage: names, cues, incidents, typography, front matter.
FRAGMENTS = [
    "Des affrontements ont éclaté à Kirants mardi, faisant deux morts.",
    "Une frappe de drone a touché un poste près de Kut.",
    "Des obus sont tombés sur Berkaber le 14 septembre 2022.",
    "L’armée azerbaïdjanaise a bombardé Tegh",
    "le district de Kalbajar",
    "l’Arménie",
    "le Haut-Karabakh",
    "Nagorny-Karabakh",
    "à Erevan",
    "près de Goris",
    "M. Pashinyan",
    "groupe de Minsk",
    "Interfax-Azerbaïdjan",
    "« Hayastan »",
    "Bakou",
    "Moscou",
    "\u00a0",
    "\u202f",
    "\u2019",
    "\n",
    "\r\n",
    "\n\n",
    "---\n",
    "title: Tirs\n",
    "\ufeff",
    "Ã©",
    " ",
    ". ",
    "-",
    "\t",
]
FRENCHY = st.lists(st.one_of(st.sampled_from(FRAGMENTS), TEXT), max_size=12).map("".join)
ANY_TEXT = st.one_of(TEXT, FRENCHY)
CODECS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "latin-1"]
BOMS = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"]


@st.composite
def encoded_text(draw: st.DrawFn) -> bytes:
    """Text in some encoding (unencodable characters replaced), maybe glued to a BOM or to junk."""
    data = draw(ANY_TEXT).encode(draw(st.sampled_from(CODECS)), errors="replace")
    return draw(st.sampled_from(BOMS)) + data + draw(st.binary(max_size=8))


BYTES = st.one_of(st.binary(max_size=2000), encoded_text())
MODEST = settings(max_examples=60, deadline=None)
FAST = settings(max_examples=300, deadline=None)


# --- decoding and ingest ----------------------------------------------------------------------


@FAST
@given(BYTES)
def test_decode_returns_text_or_raises_input_error(data: bytes) -> None:
    """Any bytes at all: text (NUL-free, UTF-8-encodable) and an encoding label, or an InputError."""
    try:
        text, encoding = decode(data, "x.txt")
    except InputError as exc:
        assert exc.path == "x.txt" and exc.problem
        return
    assert isinstance(text, str) and isinstance(encoding, str) and encoding
    assert "\x00" not in text
    text.encode("utf-8")  # no lone surrogate escapes into the pipeline


@FAST
@given(st.text(ENCODABLE, max_size=300))
def test_plain_utf8_text_decodes_to_itself(text: str) -> None:
    """UTF-8 text with nothing mojibake-like, no BOM and no control characters is read unchanged."""
    assume(not text.startswith("\ufeff"))
    assume(not any(c in "ÃÂâ" or (ord(c) < 32 and c not in "\t\n\r") or c == "\x7f" for c in text))
    assert decode(text.encode("utf-8"), "x.txt") == (text, "utf-8")


@FAST
@given(st.text(ENCODABLE, max_size=300), st.sampled_from(["utf-16", "utf-32"]))
def test_text_with_a_bom_decodes_to_itself(text: str, codec: str) -> None:
    assume(not any((ord(c) < 32 and c not in "\t\n\r") or c == "\x7f" for c in text))
    assert decode(text.encode(codec), "x.txt") == (text, codec)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ANY_TEXT, st.sampled_from([".txt", ".md"]))
def test_ingest_reads_any_text_file_or_names_it(tmp_path: Path, text: str, suffix: str) -> None:
    """One article or one InputError naming the file; offsets survive the front matter blanking."""
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / f"article{suffix}"
    path.write_bytes(text.encode("utf-8"))
    errors: list[InputError] = []
    articles = list(iter_articles([path], errors))
    assert len(articles) + len(errors) == 1
    assert all(e.path == str(path) for e in errors)
    for article in articles:
        assert article.text.strip() and article.path == str(path)
        decoded, _ = decode(path.read_bytes(), str(path))
        assert len(article.text) == len(decoded)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
RECORDS = st.fixed_dictionaries(
    {"text": st.one_of(st.text(max_size=120), FRENCHY)},  # st.text() includes lone surrogates
    optional={"id": JSON_VALUES, "title": JSON_VALUES, "date": JSON_VALUES, "url": JSON_VALUES},
)
JSONL_LINES = st.one_of(
    RECORDS.map(json.dumps),
    RECORDS.map(lambda r: json.dumps(r, ensure_ascii=False, allow_nan=True)).filter(
        lambda line: "\n" not in line  # ensure_ascii=False keeps U+2028 and friends, never "\n"
    ),
    JSON_VALUES.map(json.dumps),
    st.text(ENCODABLE, max_size=60).filter(lambda line: "\n" not in line),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(JSONL_LINES, max_size=8))
def test_ingest_reads_any_jsonl_file_line_by_line(tmp_path: Path, lines: list[str]) -> None:
    """Every line is an article or an error naming its line; what is kept is valid, encodable text."""
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "feed.jsonl"
    data = "\n".join(lines).encode("utf-8", errors="surrogatepass")
    path.write_bytes(data)
    errors: list[InputError] = []
    articles = list(iter_articles([path], errors))
    for article in articles:
        assert article.text.strip()
        article.text.encode("utf-8")
        for value in (article.id, article.title, article.url, article.source):
            if value is not None:
                value.encode("utf-8")
    whole_file = [e for e in errors if e.line is None]
    if whole_file:  # the file itself could not be decoded (a lone surrogate made its bytes invalid)
        assert articles == [] and len(errors) == 1
        return
    assert all(1 <= e.line <= len(lines) for e in errors)
    assert len(articles) + len(errors) == sum(1 for line in lines if line.strip())


# --- normalisation and extraction -------------------------------------------------------------


@FAST
@given(st.text())
def test_normalise_keeps_length_and_is_idempotent(text: str) -> None:
    out = normalise_for_nlp(text)
    assert len(out) == len(text)
    assert normalise_for_nlp(out) == out


@MODEST
@given(ANY_TEXT)
def test_every_mention_is_the_text_at_its_offsets(pipeline: Pipeline, text: str) -> None:
    """Extraction, resolution and incident detection never fail, and offsets index the original text."""
    article = Article(id="h", text=text)
    [doc] = list(pipeline.documents([article]))
    event(f"mentions: {min(len(doc.resolutions), 3)}, incidents: {min(len(doc.incidents), 1)}")
    for r in doc.resolutions:
        m = r.mention
        assert 0 <= m.start < m.end <= len(text)
        assert article.text[m.start : m.end] == m.text
        assert m.text.strip() == m.text and "\n" not in m.text
        if r.place is not None:
            assert -90 <= r.place.lat <= 90 and -180 <= r.place.lon <= 180
    for found in doc.incidents:
        assert found.doc == "h" and found.evidence


# --- outputs ----------------------------------------------------------------------------------


def positions(coordinates) -> list[list[float]]:
    if coordinates and isinstance(coordinates[0], int | float):
        return [coordinates]
    return [p for part in coordinates for p in positions(part)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(FRENCHY, min_size=1, max_size=3))
def test_outputs_of_any_text_are_valid_geojson(pipeline: Pipeline, tmp_path: Path, texts: list[str]) -> None:
    """Articles of any text through run() and write_outputs(): every collection reloads, valid."""
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    for i, text in enumerate(texts):
        (root / f"a{i}.txt").write_text(text, encoding="utf-8")
    result = pipeline.run([root])
    event(f"articles: {len(result.articles)}, incidents: {min(len(result.incidents), 2)}")
    written = write_outputs(result, root / "out")
    assert all(path.exists() for path in written)
    for name in ("incidents.geojson", "places.geojson", "zones.geojson"):
        collection = json.loads((root / "out" / name).read_text(encoding="utf-8"))
        assert collection["type"] == "FeatureCollection"
        for feature in collection["features"]:
            assert feature["type"] == "Feature" and isinstance(feature["properties"], dict)
            for lon, lat in positions(feature["geometry"]["coordinates"]):
                assert -180 <= lon <= 180 and -90 <= lat <= 90
    incidents = json.loads((root / "out" / "incidents.geojson").read_text(encoding="utf-8"))["features"]
    summary = json.loads((root / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["articles"] == len(result.articles) and summary["incidents"] == len(incidents)
    layers = dict(pyogrio.list_layers(root / "out" / "geomap.gpkg"))
    if incidents:
        assert len(pyogrio.read_dataframe(root / "out" / "geomap.gpkg", layer="incidents")) == len(incidents)
    else:
        assert "incidents" not in layers
