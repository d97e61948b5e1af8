"""Scoring against a gold file in the dev-set format, with every figure worked out by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from geomap.evaluate import evaluate, holds, report, surface_key

SHARED_EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
KM_PER_DEGREE = 6371.0088 * 3.141592653589793 / 180  # 111.195 km along a meridian


def topo(text: str, lat: float, lon: float, tol: float, kind: str, cc: str, *variants: str) -> dict[str, Any]:
    return {
        "text": text,
        "name": text,
        "variants_in_text": [text, *variants],
        "lat": lat,
        "lon": lon,
        "tol_km": tol,
        "kind": kind,
        "country_code": cc,
    }


GOLD: list[dict[str, Any]] = [
    {
        "doc": "a",
        "toponyms": [
            topo("Erevan", 40.18, 44.51, 25, "city", "AM", "Yerevan"),
            topo("Arménie", 40.0, 45.0, 50, "country", "AM", "l'Arménie"),
            topo("Lachin", 39.64, 46.55, 20, "district", "AZ"),
            topo("Kalbajar", 40.10, 46.04, 20, "district", "AZ"),
        ],
        "optional": [topo("Caucase", 42.5, 44.5, 300, "region", "")],
        "incident_places": ["Lachin", "Kalbajar"],
        "incident_optional": ["Erevan"],
        "not_places": ["Croix-Rouge"],
    },
    {
        "doc": "b",
        "toponyms": [
            topo("Goris", 39.51, 46.34, 15, "town", "AM"),
            topo("Azerbaïdjan", 40.3, 47.7, 100, "country", "AZ"),
        ],
        "optional": [],
        "incident_places": ["Goris"],
        "incident_optional": [],
        "not_places": [],
    },
]


def mention(doc: str, text: str, lat: float | None, lon: float | None, **extra: Any) -> dict[str, Any]:
    return {"doc": doc, "text": text, "name": extra.pop("name", text), "lat": lat, "lon": lon, **extra}


MENTIONS = [
    # a / Erevan: two variants, one form 1 degree off, the other 0.1 degree off (11.1 km <= 25): resolved.
    mention("a", "Yerevan", 41.18, 44.51, kind="city", country="AM"),
    mention("a", "Erevan", 40.28, 44.51, kind="city", country="AM"),
    mention("a", "Erevan", 40.28, 44.51, kind="city", country="AM"),
    # a / Arménie: a longer form holding the variant; 2 degrees off (222.4 km > 50) but ISO code AM and
    # kind country: resolved, error 222.4 km.
    mention("a", "république d'Arménie", 42.0, 45.0, kind="country", country="AM"),
    # a / Lachin: found, 1 degree off (111.2 km > 20): wrong.
    mention("a", "Lachin", 40.64, 46.55, kind="district", country="AZ"),
    # a / Kalbajar: no mention: missed.
    # a / Caucase: optional, unresolved: neither rewarded nor penalised.
    mention("a", "Caucase", None, None, name=None),
    # a: two false positives, one of them a known non-place.
    mention("a", "Croix-Rouge", None, None, name=None),
    mention("a", "Moscou", 55.75, 37.62, kind="city", country="RU"),
    # b / Goris: found, unresolved (no coordinates): wrong, no error distance.
    mention("b", "Goris", None, None, name=None),
    # b / Azerbaïdjan: elided form; ISO code right but kind city, 3 degrees off (333.6 km > 100): wrong.
    mention("b", "l'Azerbaïdjan", 43.3, 47.7, kind="city", country="AZ"),
    # not in the gold file: ignored; an empty text is not a form.
    mention("zzz", "Paris", 48.85, 2.35),
    mention("a", "  ", None, None),
]

INCIDENTS = [
    # Lachin found by distance (0.06 degree = 6.7 km <= 20) though named otherwise.
    {"doc": "a", "lat": 39.70, "lon": 46.55, "mention": "le corridor", "place": "Corridor"},
    # Kalbajar found by name, far from its point.
    {"doc": "a", "lat": 41.0, "lon": 44.0, "mention": "Kalbajar", "place": "Somewhere"},
    # Near the optional Erevan: not a false positive.
    {"doc": "a", "lat": 40.19, "lon": 44.51, "mention": "la capitale", "place": "Yerevan"},
    # Moscow: a false positive, counted once though reported twice (same point to 2 decimals).
    {"doc": "a", "lat": 55.75, "lon": 37.62, "mention": "Moscou", "place": "Moscow"},
    {"doc": "a", "lat": 55.751, "lon": 37.619, "mention": "Moscou", "place": "Moscow"},
    # Not in the gold file: ignored. (b has no incident: Goris is an incident miss.)
    {"doc": "zzz", "lat": 1.0, "lon": 1.0, "mention": "Nulle part", "place": "Nowhere"},
]

# Toponyms: tp 5 (Erevan, Arménie, Lachin, Goris, Azerbaïdjan), fn 1 (Kalbajar), fp 2 (Croix-Rouge, Moscou).
#   P = 5/7 = 0.7143, R = 5/6 = 0.8333, F1 = 2*5 / (2*5 + 2 + 1) = 10/13 = 0.7692.
# Resolved 2 of 5 (Erevan, Arménie): accuracy 0.4; wrongly resolved 3.
#   End-to-end: tp 2, fp 2 + 3 = 5, fn 1 + 3 = 4: P = 2/7 = 0.2857, R = 2/6 = 0.3333, F1 = 4/13 = 0.3077.
# Errors: 11.12 (Erevan), 222.39 (Arménie), 111.20 (Lachin), 333.59 (Azerbaïdjan); Goris has none.
#   Median = (111.20 + 222.39) / 2 = 166.79 -> 166.8.
# Forms: a has yerevan, erevan, republique d'armenie, lachin, caucase, croix-rouge, moscou (7); b has 2.
# Incidents: tp 2 (Lachin, Kalbajar), fn 1 (Goris), fp 1 (Moscou): P = R = F1 = 2/3 = 0.6667.
EXPECTED: dict[str, Any] = {
    "docs": 2,
    "gold_toponyms": 6,
    "predicted_forms": 9,
    "recognition": {"precision": 0.7143, "recall": 0.8333, "f1": 0.7692, "tp": 5, "fp": 2, "fn": 1},
    "resolution_accuracy": 0.4,
    "end_to_end": {"precision": 0.2857, "recall": 0.3333, "f1": 0.3077},
    "median_error_km": 166.8,
    "not_place_hits": 1,
    "misses": ["a: Kalbajar"],
    "wrong": [
        "a: Lachin -> Lachin (40.64, 46.55) 111 km off",
        "b: Goris -> None (None, None) unresolved",
        "b: Azerbaïdjan -> l'Azerbaïdjan (43.3, 47.7) 334 km off",
    ],
    "false_positives": ["a: Croix-Rouge", "a: Moscou"],
    "not_place_examples": ["a: Croix-Rouge"],
    "incident_places": {
        "precision": 0.6667,
        "recall": 0.6667,
        "f1": 0.6667,
        "tp": 2,
        "fp": 1,
        "fn": 1,
        "misses": ["b: Goris"],
        "false_positives": ["a: Moscou (55.75, 37.62)"],
    },
}


def test_hand_computed_scores() -> None:
    assert evaluate(GOLD, MENTIONS, INCIDENTS) == EXPECTED


def test_without_incidents_there_is_no_incident_score() -> None:
    result = evaluate(GOLD, MENTIONS)
    assert "incident_places" not in result
    assert result == {k: v for k, v in EXPECTED.items() if k != "incident_places"}


def test_distances_behind_the_figures() -> None:
    """The hand-computed errors: along a meridian, one degree is 111.195 km."""
    assert abs(KM_PER_DEGREE - 111.195) < 1e-3
    errors = sorted([0.1 * KM_PER_DEGREE, 2 * KM_PER_DEGREE, 1 * KM_PER_DEGREE, 3 * KM_PER_DEGREE])
    assert round((errors[1] + errors[2]) / 2, 1) == 166.8


def test_mention_order_does_not_change_the_scores() -> None:
    """Resolution takes the best mention of a toponym, whichever comes first."""
    flipped = evaluate(GOLD, list(reversed(MENTIONS)), INCIDENTS)
    for key in ("recognition", "resolution_accuracy", "end_to_end", "median_error_km", "predicted_forms"):
        assert flipped[key] == EXPECTED[key], key


def test_optional_toponym_is_neither_rewarded_nor_penalised() -> None:
    without = [m for m in MENTIONS if m["text"] != "Caucase"]
    result = evaluate(GOLD, without, INCIDENTS)
    assert result["recognition"] == EXPECTED["recognition"]
    assert result["predicted_forms"] == EXPECTED["predicted_forms"] - 1


def test_no_prediction_at_all() -> None:
    result = evaluate(GOLD, [], [])
    assert result["recognition"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 0, "fn": 6}
    assert result["resolution_accuracy"] == 0.0
    assert result["median_error_km"] is None
    assert result["incident_places"]["fn"] == 3
    assert result["incident_places"]["fp"] == 0


def test_incident_found_by_its_place_name() -> None:
    """An incident far from Goris whose canonical place name is a variant of it still finds it."""
    incidents = [{"doc": "b", "lat": 10.0, "lon": 10.0, "mention": "la ville", "place": "Goris"}]
    result = evaluate(GOLD, MENTIONS, incidents)["incident_places"]
    assert (result["tp"], result["fp"], result["fn"]) == (1, 0, 2)


def test_country_needs_kind_country_to_be_accepted_far_away() -> None:
    """The ISO code alone is not enough: the mention must be of kind country."""
    gold = [{"doc": "c", "toponyms": [topo("Arménie", 40.0, 45.0, 50, "country", "AM")]}]
    as_country = [mention("c", "Arménie", 42.0, 45.0, kind="country", country="am")]
    as_city = [mention("c", "Arménie", 42.0, 45.0, kind="city", country="AM")]
    wrong_code = [mention("c", "Arménie", 42.0, 45.0, kind="country", country="AZ")]
    assert evaluate(gold, as_country)["resolution_accuracy"] == 1.0
    assert evaluate(gold, as_city)["resolution_accuracy"] == 0.0
    assert evaluate(gold, wrong_code)["resolution_accuracy"] == 0.0


def test_longer_form_only_up_to_25_more_characters() -> None:
    gold = [{"doc": "c", "toponyms": [topo("Arménie", 40.0, 45.0, 50, "country", "AM")]}]
    near = evaluate(gold, [mention("c", "république d'Arménie", 40.0, 45.0)])
    far = evaluate(gold, [mention("c", "la très ancienne et très sainte république d'Arménie", 40.0, 45.0)])
    assert near["recognition"]["tp"] == 1
    assert (far["recognition"]["tp"], far["recognition"]["fp"]) == (0, 1)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("l’Arménie", "armenie"),
        ("L'ARMÉNIE", "armenie"),
        ("de la Drôme", "drome"),
        ("  Kalbajar, ", "kalbajar"),
        ("«Goris»", "goris"),
        (None, ""),
    ],
)
def test_surface_key(text: str | None, key: str) -> None:
    assert surface_key(text) == key


@pytest.mark.parametrize(
    ("form", "variant", "expected"),
    [
        ("republique d'armenie", "armenie", True),
        ("armeniens", "armenie", False),
        ("nouvelle-armenie", "armenie", True),
        ("armenie", "", False),
    ],
)
def test_holds(form: str, variant: str, expected: bool) -> None:
    assert holds(form, variant) is expected


def test_report_lines() -> None:
    text = report(EXPECTED)
    assert "recognition  P 0.714  R 0.833  F1 0.769" in text
    assert "resolution accuracy 0.400  median error km 166.8" in text
    assert "end-to-end   P 0.286  R 0.333  F1 0.308  not-place hits 1" in text
    assert "incident places  P 0.667  R 0.667  F1 0.667" in text
    assert "-- misses: a: Kalbajar" in text
    assert "-- incident false_positives: a: Moscou (55.75, 37.62)" in text


# --- the shared scorer -------------------------------------------------------------------------


def test_same_figures_as_the_shared_scorer(tmp_path: Path) -> None:
    """geomap.evaluate gives exactly what ../shared/eval/score.py gives on the same inputs."""
    script = SHARED_EVAL / "score.py"
    if not script.is_file():
        pytest.skip(f"{script} not found (no ../shared next to the repository)")
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps(GOLD, ensure_ascii=False), encoding="utf-8")
    mentions = tmp_path / "mentions.jsonl"
    mentions.write_text(
        "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in MENTIONS),
        encoding="utf-8",
    )
    incidents = tmp_path / "incidents.geojson"
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [i["lon"], i["lat"]]},
            "properties": {"doc": i["doc"], "mention": i["mention"], "place": i["place"]},
        }
        for i in INCIDENTS
    ]
    incidents.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--gold",
            str(gold),
            "--mentions",
            str(mentions),
            "--incidents",
            str(incidents),
            "--json",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    )
    theirs = json.loads(done.stdout)
    ours = evaluate(GOLD, MENTIONS, INCIDENTS)
    common = sorted(set(theirs) & set(ours))
    assert "recognition" in common and "incident_places" in common
    assert {k: ours[k] for k in common} == {k: theirs[k] for k in common}
    assert ours == EXPECTED
