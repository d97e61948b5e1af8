"""Reading articles: text, Markdown with front matter, JSON Lines, directories and bad inputs."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geomap.errors import InputError
from geomap.ingest import expand_inputs, http_url, iter_articles, normalise_for_nlp, read_text_file

BODY = "Des tirs ont visé Goris dans la nuit.\nL’armée a démenti à Erevan.\n"


def read_all(*paths: Path) -> tuple[list, list[InputError]]:
    """Every article of the inputs, and the errors reported for them."""
    errors: list[InputError] = []
    return list(iter_articles(paths, errors)), errors


# --- plain text and front matter -------------------------------------------------------------


def test_plain_text_id_is_the_stem_and_text_is_unaltered(tmp_path: Path) -> None:
    """A .txt file becomes one article named after the file, its text exactly as written."""
    path = tmp_path / "depeche-2023-09-19.txt"
    path.write_text(BODY, encoding="utf-8")
    [article], errors = read_all(path)
    assert errors == []
    assert article.id == "depeche-2023-09-19"
    assert article.text == BODY
    assert article.title is None and article.date is None and article.url is None
    assert article.path == str(path)


FRONT_MATTER = (
    "---\n"
    "title: Tirs à la frontière\n"
    "date: 2023-09-19\n"
    "url: https://example.org/article/42\n"
    "source: Agence exemple\n"
    "---\n"
)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_front_matter_sets_metadata_and_keeps_body_offsets(tmp_path: Path, newline: str) -> None:
    """Front matter is read, then blanked (not cut): body offsets are those of the file."""
    raw = (FRONT_MATTER + BODY).replace("\n", newline)
    path = tmp_path / "article.md"
    path.write_bytes(raw.encode("utf-8"))
    article = read_text_file(path)

    assert article.id == "article"
    assert article.title == "Tirs à la frontière"
    assert article.date == dt.date(2023, 9, 19)
    assert article.url == "https://example.org/article/42"
    assert article.source == "Agence exemple"

    assert len(article.text) == len(raw)
    for word in ("Goris", "Erevan", "L’armée"):
        start = raw.index(word)
        assert article.text[start : start + len(word)] == word
    header_end = raw.index("Des tirs")
    assert article.text[:header_end].strip() == ""
    assert article.text[:header_end].count("\n") == raw[:header_end].count("\n")
    assert "title" not in article.text


def test_front_matter_datetime_becomes_a_date(tmp_path: Path) -> None:
    """A timestamp in the front matter gives the article its calendar date."""
    path = tmp_path / "a.md"
    path.write_text("---\ndate: 2020-10-04T08:30:00Z\n---\n" + BODY, encoding="utf-8")
    assert read_text_file(path).date == dt.date(2020, 10, 4)


@pytest.mark.parametrize(
    "header",
    [
        "---\ntitle: [pas fermé\n---\n",  # invalid YAML
        "---\ntitle: a\n  - b: : c\n---\n",  # invalid YAML (bad indentation)
        "---\n- un\n- deux\n---\n",  # YAML, but a list, not a mapping
    ],
)
def test_malformed_front_matter_is_reported(tmp_path: Path, header: str) -> None:
    """Front matter that is not a YAML mapping is an InputError naming the file."""
    path = tmp_path / "broken.md"
    path.write_text(header + BODY, encoding="utf-8")
    articles, errors = read_all(path)
    assert articles == []
    assert len(errors) == 1
    assert errors[0].path == str(path)
    assert str(path) in str(errors[0])
    assert "front matter" in errors[0].problem


# --- JSON Lines ------------------------------------------------------------------------------


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_reads_every_good_line(tmp_path: Path) -> None:
    """Each line is one article with its metadata; a record without id is named file-line."""
    path = write_lines(
        tmp_path / "lot.jsonl",
        [
            json.dumps({"id": "a1", "text": "Frappe sur Choucha.", "title": "Choucha", "date": "2020-11-08"}),
            "",
            json.dumps({"text": "Calme à Bakou.", "url": "https://example.org/b", "source": "AFP"}),
        ],
    )
    articles, errors = read_all(path)
    assert errors == []
    assert [a.id for a in articles] == ["a1", "lot-3"]
    first, second = articles
    assert first.text == "Frappe sur Choucha."
    assert first.title == "Choucha"
    assert first.date == dt.date(2020, 11, 8)
    assert second.url == "https://example.org/b"
    assert second.source == "AFP"
    assert all(a.path == str(path) for a in articles)


def test_jsonl_bad_line_is_reported_with_its_number_and_others_are_kept(tmp_path: Path) -> None:
    """One line of broken JSON among good ones: the good ones are read, the bad one named."""
    path = write_lines(
        tmp_path / "lot.jsonl",
        [
            json.dumps({"id": "a", "text": "Goris"}),
            '{"id": "b", "text": "Erevan"',  # truncated object
            json.dumps({"id": "c", "text": "Bakou"}),
        ],
    )
    articles, errors = read_all(path)
    assert [a.id for a in articles] == ["a", "c"]
    assert len(errors) == 1
    assert errors[0].line == 2
    assert f"{path}:2:" in str(errors[0])
    assert "JSON" in errors[0].problem


@pytest.mark.parametrize(
    "record",
    [{"id": "x", "title": "sans texte"}, {"id": "x", "text": 42}, ["pas", "un", "objet"]],
)
def test_jsonl_record_without_text_is_reported(tmp_path: Path, record: object) -> None:
    """A record with no "text" string is skipped and reported with its line."""
    path = write_lines(
        tmp_path / "lot.jsonl", [json.dumps({"id": "ok", "text": "Goris"}), json.dumps(record)]
    )
    articles, errors = read_all(path)
    assert [a.id for a in articles] == ["ok"]
    assert [(e.path, e.line) for e in errors] == [(str(path), 2)]
    assert '"text"' in errors[0].problem


def test_jsonl_line_separator_inside_a_string_is_not_a_line_break(tmp_path: Path) -> None:
    """JSON allows a raw U+2028 in a string; only \\n separates JSON Lines records."""
    path = write_lines(
        tmp_path / "lot.jsonl",
        [
            json.dumps({"id": "a", "text": "Goris\u2028Erevan"}, ensure_ascii=False),
            "{pas du JSON",
        ],
    )
    articles, errors = read_all(path)
    assert [a.text for a in articles] == ["Goris\u2028Erevan"]
    assert [e.line for e in errors] == [2]


# --- directories, paths and links ------------------------------------------------------------


def test_directory_yields_supported_files_in_sorted_order(tmp_path: Path) -> None:
    """A folder means every .txt/.md/.jsonl file below it, sorted; other files are ignored."""
    folder = tmp_path / "corpus"
    (folder / "sous").mkdir(parents=True)
    (folder / "b.txt").write_text("Goris", encoding="utf-8")
    (folder / "a.md").write_text("Erevan", encoding="utf-8")
    (folder / "c.jsonl").write_text(json.dumps({"id": "c1", "text": "Bakou"}) + "\n", encoding="utf-8")
    (folder / "sous" / "d.text").write_text("Choucha", encoding="utf-8")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (folder / "notes.csv").write_text("a,b\n", encoding="utf-8")
    (folder / "README").write_text("pas un article", encoding="utf-8")

    errors: list[InputError] = []
    files = expand_inputs([folder], errors)
    assert errors == []
    assert files == sorted(files)
    assert [p.relative_to(folder).as_posix() for p in files] == ["a.md", "b.txt", "c.jsonl", "sous/d.text"]

    articles, errors = read_all(folder)
    assert errors == []
    assert [a.id for a in articles] == ["a", "b", "c1", "d"]


def test_directory_without_articles_is_reported(tmp_path: Path) -> None:
    """A folder with nothing readable in it is an error, not a silent no-op."""
    (tmp_path / "vide").mkdir()
    (tmp_path / "vide" / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    articles, errors = read_all(tmp_path / "vide")
    assert articles == []
    assert len(errors) == 1 and errors[0].path == str(tmp_path / "vide")


def test_missing_path_is_reported_and_others_still_read(tmp_path: Path) -> None:
    """A path that does not exist is named in an error; the other inputs are processed."""
    good = tmp_path / "ok.txt"
    good.write_text("Goris", encoding="utf-8")
    missing = tmp_path / "absent.txt"
    articles, errors = read_all(missing, good)
    assert [a.id for a in articles] == ["ok"]
    assert len(errors) == 1
    assert errors[0].path == str(missing)
    assert "no such file" in errors[0].problem


def test_broken_symlink_is_reported(tmp_path: Path) -> None:
    """A symbolic link to nothing is reported as such."""
    link = tmp_path / "lien.txt"
    os.symlink(tmp_path / "disparu.txt", link)
    articles, errors = read_all(link)
    assert articles == []
    assert len(errors) == 1
    assert errors[0].path == str(link)
    assert "symbolic link" in errors[0].problem


# --- encodings and bad bytes -----------------------------------------------------------------


def test_utf8_bom_is_tolerated(tmp_path: Path) -> None:
    """A UTF-8 byte order mark is not part of the text."""
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + BODY.encode("utf-8"))
    [article], errors = read_all(path)
    assert errors == []
    assert article.text == BODY


def test_utf8_bom_before_front_matter(tmp_path: Path) -> None:
    """A BOM does not hide the front matter."""
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf" + (FRONT_MATTER + BODY).encode("utf-8"))
    article = read_text_file(path)
    assert article.title == "Tirs à la frontière"
    assert article.text.endswith(BODY)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom_is_decoded(tmp_path: Path, encoding: str) -> None:
    """UTF-16 text with a byte order mark, in either byte order, is read."""
    data = BODY.encode(encoding)
    if encoding != "utf-16":  # the plain codec writes its own BOM
        data = ("\ufeff").encode(encoding) + data
    path = tmp_path / "seize.txt"
    path.write_bytes(data)
    [article], errors = read_all(path)
    assert errors == []
    assert article.text == BODY


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ("bytes.txt", bytes(range(256)) * 4),
        ("controls.txt", b"\x01\x02\x03\x04\x05\x06\x07\x08" * 50),
    ],
)
def test_binary_data_is_rejected_naming_the_file(tmp_path: Path, name: str, data: bytes) -> None:
    """Binary data is an InputError naming the file; nothing is read from it."""
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        read_text_file(path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    assert "binary" in info.value.problem
    articles, errors = read_all(path)
    assert articles == [] and [e.path for e in errors] == [str(path)]


@pytest.mark.parametrize(
    ("name", "data", "encoding"),
    [
        ("latin1.txt", "Tirs à Erevan, l'été dernier.".encode("latin-1"), "windows-1252"),
        ("cp1252.md", "L’armée a démenti, à Goris.".encode("cp1252"), "windows-1252"),
        ("seize-sans-bom.txt", "Tirs à Goris.".encode("utf-16-le"), "utf-16-le"),
        ("trente-deux.txt", "Tirs à Goris.".encode("utf-32"), "utf-32"),
        ("mojibake.txt", "L’armée a tiré à Goris.".encode().decode("cp1252").encode("utf-8"),
         "utf-8 (mojibake repaired)"),
        ("mixte.txt", "Tirs à Goris.\n".encode() + "L’armée a démenti.\n".encode("cp1252"),
         "mixed utf-8/windows-1252"),
    ],
)  # fmt: skip
def test_legacy_encodings_are_read_and_reported(
    tmp_path: Path, name: str, data: bytes, encoding: str
) -> None:
    """Text that is not UTF-8 is decoded, and the encoding used is recorded on the article."""
    path = tmp_path / name
    path.write_bytes(data)
    article = read_text_file(path)
    assert article.encoding == encoding
    assert "Goris" in article.text or "Erevan" in article.text
    assert "Ã" not in article.text and "\x00" not in article.text


@pytest.mark.parametrize("content", ["", "  \n\t\n", "---\ntitle: seul\n---\n"])
def test_empty_article_is_rejected(tmp_path: Path, content: str) -> None:
    """A file with no text (or only a front matter) is an error, not an empty article."""
    path = tmp_path / "vide.md"
    path.write_text(content, encoding="utf-8")
    articles, errors = read_all(path)
    assert articles == []
    assert len(errors) == 1 and errors[0].path == str(path)
    assert "empty" in errors[0].problem


# --- normalisation for the NLP pipeline ------------------------------------------------------


def test_normalise_maps_apostrophes_and_spaces() -> None:
    """Curly apostrophes become ', no-break and narrow no-break spaces become plain spaces."""
    text = "L’armée\u00a0: «\u202fGoris\u202f» et l’Arménie"
    assert normalise_for_nlp(text) == "L'armée : « Goris » et l'Arménie"


@given(st.text())
def test_normalise_keeps_length_and_plain_characters(text: str) -> None:
    """One character for one: every offset into the normalised text is an offset into the source."""
    out = normalise_for_nlp(text)
    assert len(out) == len(text)
    for before, after in zip(text, out, strict=True):
        if before.isascii() and before != "`":
            assert after == before


# --- bad metadata values: the field is dropped, the article kept -----------------------------


def dropped(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The "field dropped" warnings logged so far."""
    return [r.getMessage() for r in caplog.records if r.name == "geomap" and "dropped" in r.getMessage()]


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ("date: 2024-02-30", "date", "not a date"),
        ("date: 2024-01-01 25:61:00", None, None),  # the calendar date is good: only it is read
        ("date: 25:61:00", "date", "not a date"),
        ("date: 0001-01-01", "date", "outside 1900-2200"),
        ("date: 9999-12-31", "date", "outside 1900-2200"),
        ("date: [2023, 9, 19]", "date", "a list"),
        ("date: !!timestamp 2024-02-30", "date", "not a date"),
        ("title: " + "7" * 5000, None, None),  # a long title made of digits is still a title
        ("title: " + "[" * 5000 + "]" * 5000, "title", "a list"),
        ("title: {a: [b, {c: d}]}", "title", "a mapping"),
        ("id: " + "9" * 5000, "id", "more than 256"),
        ('id: "a\\x1b[31mb"', "id", "control characters"),
        ("url: javascript:alert(1)", "url", "http(s)"),
        ('url: "data:text/html,<script>alert(1)</script>"', "url", "http(s)"),
        ("url: //example.org/relative", "url", "http(s)"),
        ("url: [https://example.org]", "url", "a list"),
        ('source: "\\ud800"', "source", "surrogate"),
    ],
)
def test_a_bad_front_matter_value_drops_only_its_field(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, line: str, field: str | None, reason: str | None
) -> None:
    """One bad value in the front matter: the article is read, that field is None and a warning
    names the file and the field; the other fields are kept."""
    path = tmp_path / "article.md"
    path.write_text(f"---\ntitle: Tirs\nsource: AFP\n{line}\n---\n" + BODY, encoding="utf-8")
    [article], errors = read_all(path)
    assert errors == []
    assert article.text.endswith(BODY)
    if field is None:
        assert dropped(caplog) == []
        return
    assert getattr(article, field) == ("article" if field == "id" else None)  # an id falls back to the stem
    for other in {"title", "source"} - {field}:
        assert getattr(article, other) is not None
    [message] = dropped(caplog)
    assert message.startswith(f'{path}: field "{field}" dropped') and reason in message


def test_front_matter_scalars_stay_text(tmp_path: Path) -> None:
    """Plain YAML scalars are read as written, not as YAML 1.1 numbers, booleans or sexagesimals."""
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: 007\nsource: yes\nid: 1:30\ndate: 2023-9-1\n---\n" + BODY, encoding="utf-8")
    article = read_text_file(path)
    assert (article.title, article.source, article.id, article.date) == (
        "007",
        "yes",
        "1:30",
        dt.date(2023, 9, 1),
    )


@pytest.mark.parametrize(
    ("value", "field", "reason"),
    [
        ("7" * 5000, "id", "more than 256"),  # a bare 5,000-digit number: Python's int->str limit
        ("7" * 5000, "title", None),
        ('"2024-02-30"', "date", "not a date"),
        ('"0001-01-01"', "date", "outside 1900-2200"),
        ("20230919", "date", "a number"),
        ("true", "title", "a boolean"),
        ("[[[[1]]]]", "source", "a list"),
        ('{"a": 1}', "title", "a mapping"),
        ('"javascript:alert(1)"', "url", "http(s)"),
        ('"\\ud800"', "title", "surrogate"),
        ("1e999", "title", "a number"),
        ("NaN", "source", "a number"),
    ],
)
def test_a_bad_jsonl_value_drops_only_its_field(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, value: str, field: str, reason: str | None
) -> None:
    """The warning names the file, the line and the field; the record is kept."""
    record = '{"text": "Tirs à Goris hier.", "%s": %s}' % (field, value)  # noqa: UP031 - raw JSON
    path = write_lines(tmp_path / "lot.jsonl", [json.dumps({"id": "ok", "text": "Goris"}), record])
    articles, errors = read_all(path)
    assert errors == []
    assert len(articles) == 2
    kept = articles[1]
    if reason is None:
        assert getattr(kept, field) == "7" * 5000 and dropped(caplog) == []
        return
    assert getattr(kept, field) == ("lot-2" if field == "id" else None)  # an id falls back to file-line
    [message] = dropped(caplog)
    assert message.startswith(f'{path}:2: field "{field}" dropped') and reason in message
    assert "ud800" not in message and "alert" not in message  # the value itself is never echoed


@pytest.mark.parametrize(
    "url",
    ["https://example.org/a?b=1#c", "http://127.0.0.1:8080/x", "  HTTPS://Example.org/ ", "https://例え.jp/"],
)
def test_http_urls_are_kept(tmp_path: Path, url: str) -> None:
    path = write_lines(tmp_path / "lot.jsonl", [json.dumps({"text": "Goris", "url": url})])
    [article], errors = read_all(path)
    assert errors == [] and article.url == url.strip() and http_url(url) == url.strip()


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox",
        "file:///etc/passwd",
        "ftp://example.org/",
        "//example.org",
        "/relative",
        "https://",
        "http://[::1",
        "https://exa mple.org",
        "https://example.org/\x1b[2J",
        "http:\\\\evil",
    ],
)
def test_other_urls_are_not_links(url: str) -> None:
    assert http_url(url) is None


# --- duplicates -----------------------------------------------------------------------------


def test_a_file_given_several_ways_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twice by name, as ./name, through a link, and inside its folder: one article."""
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / "a.txt"
    path.write_text(BODY, encoding="utf-8")
    (tmp_path / "lien.txt").symlink_to(path)
    monkeypatch.chdir(folder)
    articles, errors = read_all(path, path, Path("./a.txt"), Path("a.txt"), tmp_path / "lien.txt", folder)
    assert errors == []
    assert [a.id for a in articles] == ["a"]
    assert articles[0].path == str(path)  # named as it was first met


def test_a_repeated_jsonl_id_is_named_and_the_later_record_skipped(tmp_path: Path) -> None:
    """In one file, across files, and between a JSON record and a text file's id."""
    first = write_lines(
        tmp_path / "un.jsonl",
        [
            json.dumps({"id": "x", "text": "Goris"}),
            json.dumps({"id": "y", "text": "Erevan"}),
            json.dumps({"id": "x", "text": "Bakou"}),
        ],
    )
    second = write_lines(tmp_path / "deux.jsonl", [json.dumps({"id": "y", "text": "Kut"})])
    text = tmp_path / "trois.md"
    text.write_text("---\nid: x\n---\nTegh", encoding="utf-8")
    articles, errors = read_all(first, second, text)
    assert [(a.id, a.text.strip()) for a in articles] == [("x", "Goris"), ("y", "Erevan")]
    assert [(e.path, e.line) for e in errors] == [(str(first), 3), (str(second), 1), (str(text), None)]
    assert all("duplicate id" in e.problem for e in errors)
    assert f"first read from {first}:1" in errors[0].problem
    assert f"first read from {first}:2" in errors[1].problem
    assert str(errors[0]).startswith(f"{first}:3: duplicate id 'x'")


def test_a_number_id_and_a_text_id_with_the_same_digits_collide(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "lot.jsonl",
        [json.dumps({"id": 7, "text": "Goris"}), json.dumps({"id": "7", "text": "Kut"})],
    )
    articles, errors = read_all(path)
    assert [a.id for a in articles] == ["7"] and [e.line for e in errors] == [2]


def test_files_of_one_name_in_two_folders_are_two_articles(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="geomap")
    for folder, village in (("lundi", "Goris"), ("mardi", "Kapan")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "depeche.txt").write_text(f"Des tirs ont visé {village}.", encoding="utf-8")
    articles, errors = read_all(tmp_path / "lundi", tmp_path / "mardi")
    assert errors == []
    assert [a.id for a in articles] == ["depeche", "mardi/depeche"]
    assert "id 'depeche' is already" in caplog.text
