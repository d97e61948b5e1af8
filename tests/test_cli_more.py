"""``geomap resolve``, ``geomap evaluate`` and ``geomap gazetteer``, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from geomap.cli import cli

RECORD_KEYS = {"rank", "name", "place_id", "kind", "country", "lat", "lon", "source", "score"}
ARTICLE = (
    "Le 14 septembre 2022\n"
    "Des affrontements ont éclaté à Kirants, faisant deux morts. "
    "Une frappe de drone a touché un poste près de Kut. Bakou a rejeté ces accusations.\n"
)
CONTEXT = (
    "Des tirs ont été signalés dans le district de Kalbajar et près de Lachin, "
    "non loin de la frontière arménienne, selon le ministère de la Défense.\n"
)


def invoke(*args: str | Path) -> Result:
    """Run ``geomap ARGS`` in-process; stdout and stderr stay apart."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def lines(result: Result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def topo(text: str, lat: float, lon: float, tol: float, kind: str, cc: str) -> dict:
    return {
        "text": text,
        "name": text,
        "variants_in_text": [text],
        "lat": lat,
        "lon": lon,
        "tol_km": tol,
        "kind": kind,
        "country_code": cc,
    }


@pytest.fixture
def context_file(tmp_path: Path) -> Path:
    path = tmp_path / "context.txt"
    path.write_text(CONTEXT, encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, Path]:
    """A gold file and a folder with the one article it annotates."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "kirants.txt").write_text(ARTICLE, encoding="utf-8")
    gold = tmp_path / "gold.json"
    annotations = [
        {
            "doc": "kirants",
            "toponyms": [
                topo("Kirants", 41.05, 45.11, 10, "village", "AM"),
                topo("Kut", 40.2, 45.817, 10, "village", "AM"),
                topo("Bakou", 40.3777, 49.892, 25, "city", "AZ"),
            ],
            "optional": [],
            "incident_places": ["Kirants"],
            "incident_optional": ["Kut"],
            "not_places": [],
        }
    ]
    gold.write_text(json.dumps(annotations, ensure_ascii=False), encoding="utf-8")
    return gold, folder


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


# --- evaluate -----------------------------------------------------------------------------------


def test_evaluate_prints_the_recognition_line(corpus: tuple[Path, Path]) -> None:
    gold, folder = corpus
    result = invoke("evaluate", gold, folder, "--offline")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "docs 1  gold toponyms 3" in text
    assert "recognition  P 1.000  R 1.000  F1 1.000" in text
    assert "resolution accuracy 1.000" in text
    assert "incident places  P" in text


def test_evaluate_json(corpus: tuple[Path, Path]) -> None:
    gold, folder = corpus
    result = invoke("evaluate", gold, folder, "--offline", "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["docs"] == 1
    assert scores["recognition"]["tp"] == 3
    assert scores["recognition"]["fn"] == 0
    assert scores["resolution_accuracy"] == 1.0
    assert scores["incident_places"]["tp"] == 1


def test_evaluate_no_incidents(corpus: tuple[Path, Path]) -> None:
    gold, folder = corpus
    result = invoke("evaluate", gold, folder, "--offline", "--json", "--no-incidents")
    assert result.exit_code == 0, result.output
    assert "incident_places" not in json.loads(result.stdout)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"doc": "kirants", "toponyms": []}', "expected a JSON list"),
        ('[{"toponyms": []}]', "expected a JSON list"),
        ("[1, 2]", "expected a JSON list"),
        ("[{not json", "not a readable JSON gold file"),
    ],
)
def test_evaluate_bad_gold_file(
    corpus: tuple[Path, Path], tmp_path: Path, content: str, message: str
) -> None:
    _, folder = corpus
    gold = tmp_path / "bad-gold.json"
    gold.write_text(content, encoding="utf-8")
    result = invoke("evaluate", gold, folder, "--offline")
    assert result.exit_code == 1
    assert str(gold) in result.stderr
    assert message in result.stderr
    assert result.stdout == ""


def test_evaluate_missing_gold_is_a_usage_error(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    _, folder = corpus
    result = invoke("evaluate", tmp_path / "nogold.json", folder, "--offline")
    assert result.exit_code == 2
    assert "nogold.json" in result.stderr


# --- gazetteer ----------------------------------------------------------------------------------


def test_gazetteer_info() -> None:
    result = invoke("gazetteer", "info")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["places"] > 1000
    assert 0 < info["theatre_places"] <= info["places"]
    assert info["names"] >= info["keys"] > 0
    assert sum(info["by_kind"].values()) == info["places"]
    assert info["by_kind"]["country"] > 100


def test_gazetteer_check_passes_on_the_shipped_data() -> None:
    """The shipped gazetteer is sound: unique ids, normalised names, no common-word alias, valid
    geometries, every theatre point inside its country and its admin unit (or a documented exception)."""
    result = invoke("gazetteer", "check")
    assert result.exit_code == 0, result.output
    assert "gazetteer OK" in result.stdout
