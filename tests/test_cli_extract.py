"""``geomap extract`` through click's CliRunner, on small articles written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import CONTRACT, ENGLISH, GOOD, invoke, write

pytestmark = pytest.mark.usefixtures("keep_log_level")  # -q/-v set the logger's level

# --- extract --------------------------------------------------------------------------------------


def test_extract_prints_the_mention_contract(inputs: Path) -> None:
    good, dated = inputs / "good.txt", inputs / "dated.md"
    result = invoke("extract", good, dated, "--format", "jsonl", "--offline")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records
    sources = {"good": good.read_text(encoding="utf-8"), "dated": dated.read_text(encoding="utf-8")}
    for record in records:
        assert set(record) == CONTRACT
        assert record["lang"] == "fr"
        assert record["text"] == sources[record["doc"]][record["start"] : record["end"]]
        assert 0 <= record["confidence"] <= 1
        if record["place_id"] is not None:
            assert record["source"] == "gazetteer"
            assert -90 <= record["lat"] <= 90 and -180 <= record["lon"] <= 180
    names = {(r["doc"], r["text"], r["place_id"]) for r in records}
    assert ("good", "Kirants", "village-kirants") in names
    assert ("dated", "Berkaber", "village-berkaber") in names


def test_a_folder_mixing_french_and_english_maps_both(tmp_path: Path) -> None:
    """Each article is read in its own language (detected here: no page declares one): the French
    one with the French pack, the English one with the English pack, into one map."""
    folder = tmp_path / "mixed"
    write(folder, "fr.txt", GOOD)
    write(folder, "en.md", ENGLISH)
    out = tmp_path / "maps"
    result = invoke("build", folder, "--out", out, "--offline")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["languages"] == {"en": 1, "fr": 1}
    features = json.loads((out / "incidents.geojson").read_text(encoding="utf-8"))["features"]
    found = {
        (f["properties"]["doc"], f["properties"]["place"], f["properties"]["sub_event_type"])
        for f in features
    }
    assert ("fr", "Kirants", "Armed clash") in found
    assert ("en", "Sotk", "Shelling/artillery/missile attack") in found
    assert ("en", "Kut", "Air/drone strike") in found
    english = [f["properties"] for f in features if f["properties"]["doc"] == "en"]
    assert {p["date"] for p in english} == {"2022-09-14"}
    assert {p["fatalities"] for p in english if p["place"] == "Sotk"} == {2}
    assert not {p["place"] for p in english} & {"Yerevan", "Baku"}  # capitals that speak are no scenes
    mentions = [json.loads(line) for line in invoke("extract", folder, "--offline").stdout.splitlines()]
    assert {(m["doc"], m["lang"]) for m in mentions} == {("fr", "fr"), ("en", "en")}


def test_lang_reads_every_article_in_the_language_it_names(tmp_path: Path) -> None:
    """``--lang`` overrides the detector; ``auto`` (the default) keeps each article's own."""
    article = write(tmp_path / "in", "en.txt", ENGLISH.split("---\n", 2)[2])
    forced = [
        json.loads(line)
        for line in invoke("extract", article, "--offline", "--lang", "fr").stdout.splitlines()
    ]
    assert forced and {m["lang"] for m in forced} == {"fr"}
    auto = [json.loads(line) for line in invoke("extract", article, "--offline").stdout.splitlines()]
    assert auto and {m["lang"] for m in auto} == {"en"}
    refused = invoke("extract", article, "--offline", "--lang", "de")
    assert refused.exit_code == 2 and "--lang" in refused.stderr


def test_extract_needs_an_input() -> None:
    result = invoke("extract", "--format", "jsonl")
    assert result.exit_code == 2
