"""``geomap resolve`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import invoke
from click.testing import Result

RECORD_KEYS = {"rank", "name", "place_id", "kind", "country", "lat", "lon", "source", "score"}
CONTEXT = (
    "Des tirs ont été signalés dans le district de Kalbajar et près de Lachin, "
    "non loin de la frontière arménienne, selon le ministère de la Défense.\n"
)


def lines(result: Result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture
def context_file(tmp_path: Path) -> Path:
    path = tmp_path / "context.txt"
    path.write_text(CONTEXT, encoding="utf-8")
    return path


# --- resolve ------------------------------------------------------------------------------------


def test_resolve_prints_one_json_line() -> None:
    result = invoke("resolve", "Karakilise", "--offline")
    assert result.exit_code == 0, result.output
    (record,) = lines(result)
    assert set(record) == RECORD_KEYS
    assert record["rank"] == 1
    assert record["country"] == "AM"
    assert -90 <= record["lat"] <= 90 and -180 <= record["lon"] <= 180


def test_resolve_explain_prints_ranked_lines_with_reasons() -> None:
    result = invoke("resolve", "Karakilise", "--offline", "--explain")
    assert result.exit_code == 0, result.output
    records = lines(result)
    assert len(records) >= 2
    assert [r["rank"] for r in records] == list(range(1, len(records) + 1))
    assert [r["score"] for r in records] == sorted((r["score"] for r in records), reverse=True)
    for record in records:
        assert set(record) == RECORD_KEYS | {"reasons"}
        assert record["reasons"] and all(isinstance(reason, str) for reason in record["reasons"])
        assert record["reasons"][0] == f"{record['source']}: {record['kind']}"
    assert records[0]["country"] == "AM"


def test_resolve_top_line_matches_explain_first_line() -> None:
    (top,) = lines(invoke("resolve", "Karakilise", "--offline"))
    first = lines(invoke("resolve", "Karakilise", "--offline", "--explain"))[0]
    del first["reasons"]
    assert top == first


def test_resolve_with_context(context_file: Path) -> None:
    result = invoke("resolve", "Karakilise", "--offline", "--context", context_file, "--explain")
    assert result.exit_code == 0, result.output
    records = lines(result)
    assert records[0]["country"] == "AM"
    assert all("reasons" in r for r in records)


def test_resolve_context_chooses_valence_in_france(tmp_path: Path) -> None:
    """Without context "Valence" is Valencia (ES); an article naming France makes it Valence (FR)."""
    article = tmp_path / "france.txt"
    article.write_text("Des agriculteurs ont manifesté jeudi en France, devant la préfecture.\n", "utf-8")
    (alone,) = lines(invoke("resolve", "Valence", "--offline"))
    (in_france,) = lines(invoke("resolve", "Valence", "--offline", "--context", article))
    assert alone["country"] == "ES"
    assert (in_france["name"], in_france["country"]) == ("Valence", "FR")


def test_resolve_area_flag_prefers_the_district() -> None:
    (record,) = lines(invoke("resolve", "Lachin", "--offline", "--area"))
    assert (record["kind"], record["country"]) == ("district", "AZ")


def test_resolve_unknown_name_exits_1_with_a_message() -> None:
    result = invoke("resolve", "Xqzvillebourg", "--offline")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no candidate for 'Xqzvillebourg'" in result.stderr


def test_resolve_missing_context_file_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("resolve", "Karakilise", "--offline", "--context", tmp_path / "missing.txt")
    assert result.exit_code == 2
    assert "missing.txt" in result.stderr
