"""``geomap evaluate`` through click's CliRunner, on an article and a gold file written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import invoke

ARTICLE = (
    "Le 14 septembre 2022\n"
    "Des affrontements ont éclaté à Kirants, faisant deux morts. "
    "Une frappe de drone a touché un poste près de Kut. Bakou a rejeté ces accusations.\n"
)


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
