"""Properties that hold for any input: decoding, ingest, extraction offsets and the outputs.

The real spaCy model and gazetteer (the session ``pipeline`` fixture) run on every generated example.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import pyogrio
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from geomap.dates import EARLIEST, LATEST
from geomap.errors import InputError
from geomap.ingest import MAX_ID_CHARS, decode, http_url, iter_articles, normalise_for_nlp
from geomap.models import Article
from geomap.outputs import write_outputs
from geomap.pipeline import Pipeline

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


# --- metadata values of every kind: a bad value costs its field, never the build -------------

FIELDS = ["id", "title", "date", "url", "source", "tags"]
# Values that broke ingest or would: impossible dates and times, numbers past Python's int->str
# limit, YAML 1.1 look-alikes, explicit tags, deep nesting, control characters, lone surrogates.
WEIRD_WORDS = [
    "2024-02-30", "2024-01-01 25:61:00", "25:61:00", "0001-01-01", "9999-12-31", "2023-09-19",
    "2023-9-1", "2020-10-04T08:30:00Z", "0000-00-00", "yes", "no", "on", "~", "null", "true", "0x1F",
    "0o17", "1_000", ".inf", "-.inf", ".nan", "1e999", "-0", "+1", "=1+2", "@SUM(A1)",
    "javascript:alert(1)", "data:text/html,x", "https://example.org/a", "http://[::1", "<<", "=",
]  # fmt: skip
YAML_TAGS = ["!!int", "!!float", "!!bool", "!!timestamp", "!!binary", "!!str", "!!null", "!!set", "!!omap"]
YAML_SCALARS = st.one_of(
    st.sampled_from(WEIRD_WORDS),
    st.integers(4000, 6000).map(lambda n: "7" * n),
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(repr),
    st.dates().map(str),
    st.text(ENCODABLE, max_size=20).map(json.dumps),  # double-quoted: any escape, control characters
    st.text(max_size=8).map(json.dumps),  # "\ud800" escapes: lone surrogates
    st.text(ENCODABLE, max_size=20),  # plain: may well not be YAML at all
)
YAML_VALUES = st.one_of(
    YAML_SCALARS,
    st.tuples(st.sampled_from(YAML_TAGS), st.sampled_from(WEIRD_WORDS)).map(" ".join),
    st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 2000).map(lambda n: "{a: " * n + "b" + "}" * n),
    st.lists(YAML_SCALARS, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
)
FRONT_MATTER = st.dictionaries(st.sampled_from(FIELDS), YAML_VALUES, max_size=5).map(
    lambda meta: "---\n" + "".join(f"{key}: {value}\n" for key, value in meta.items()) + "---\n"
)


def assert_well_typed(article: Article) -> None:
    """What every later stage may rely on, whatever the metadata said."""
    assert isinstance(article.text, str) and article.text.strip()
    assert isinstance(article.id, str) and 0 < len(article.id) <= MAX_ID_CHARS
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in article.id)
    for value in (article.id, article.title, article.source, article.url):
        assert value is None or isinstance(value, str)
        if value is not None:
            value.encode("utf-8")
    assert article.url is None or http_url(article.url) == article.url
    assert article.date is None or type(article.date) is dt.date
    assert article.date is None or EARLIEST <= article.date <= LATEST


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(FRONT_MATTER, st.one_of(st.just("Tirs à Goris hier.\n"), FRENCHY))
def test_any_front_matter_gives_a_well_typed_article_or_names_the_file(
    tmp_path: Path, header: str, body: str
) -> None:
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "article.md"
    path.write_bytes((header + body).encode("utf-8", errors="surrogatepass"))
    errors: list[InputError] = []
    articles = list(iter_articles([path], errors))  # raises nothing
    assert len(articles) + len(errors) == 1
    assert all(isinstance(e, InputError) and e.path == str(path) for e in errors)
    for article in articles:
        assert_well_typed(article)


class Raw(str):
    """JSON source written as it is (json.dumps cannot write a 5,000-digit int)."""


def to_json(value: object) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(to_json(v) for v in value) + "]"
    return json.dumps(value)  # lone surrogates become "\ud800" escapes, NaN and inf are kept


RAW_JSON = st.one_of(
    st.integers(4000, 6000).map(lambda n: Raw("7" * n)),
    st.integers(4000, 6000).map(lambda n: Raw("-" + "1" * n + ".5e3")),
    st.sampled_from([Raw("1e999"), Raw("-1e999"), Raw("NaN"), Raw("Infinity"), Raw("-0")]),
    st.integers(1, 3000).map(lambda n: Raw("[" * n + "]" * n)),
    st.integers(1, 3000).map(lambda n: Raw('{"a": ' * n + "1" + "}" * n)),
)
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),  # with lone surrogates and control characters
    st.sampled_from(WEIRD_WORDS),
    st.dates().map(str),
    st.datetimes().map(str),
    RAW_JSON,
)
META_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
WILD_RECORDS = st.fixed_dictionaries(
    {"text": st.one_of(st.just("Hier, des tirs à Goris."), st.text(max_size=60), FRENCHY)},
    optional={name: META_VALUES for name in FIELDS},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(WILD_RECORDS.map(to_json), min_size=1, max_size=6))
def test_any_jsonl_record_gives_a_well_typed_article_or_names_its_line(
    tmp_path: Path, lines: list[str]
) -> None:
    """Every line is a well-typed article or an InputError naming the file and that line; ids stay
    unique (a repeated one is an error of its own)."""
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "feed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")  # to_json writes ASCII only
    errors: list[InputError] = []
    articles = list(iter_articles([path], errors))  # raises nothing
    assert len(articles) + len(errors) == len(lines)
    assert all(
        isinstance(e, InputError) and e.path == str(path) and 1 <= e.line <= len(lines) for e in errors
    )
    for article in articles:
        assert_well_typed(article)
    assert len({a.id for a in articles}) == len(articles)


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
    assert layers["incidents"] == "Point"  # written with its fields even when empty
    assert len(pyogrio.read_dataframe(root / "out" / "geomap.gpkg", layer="incidents")) == len(incidents)
