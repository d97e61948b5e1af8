"""The context model: its data, its training, and what it decides on sentences it was not trained on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from geomap.context import (
    ContextModel,
    ContextModelError,
    data_files,
    default_model,
    digest,
    masked,
    model_digest,
    read_sentences,
    score,
    train,
    training_sentences,
)


def test_names_and_numbers_are_masked_but_acronyms_and_words_kept():
    text = "Selon l'ONU, des obus sont tombés sur Marioupol et d'Avdiïvka le 3 mars 2024 (AFP)."
    assert masked(text) == "Selon l'ONU, des obus sont tombés sur Xx et d'Xx le 0 mars 0 (AFP)."


def test_a_sentence_keeps_its_first_word():
    assert masked("Des tirs ont visé Kherson.").startswith("Des tirs")


def test_every_data_file_holds_both_labels_and_many_kinds():
    files = data_files()
    assert len(files) >= 3
    for path in files:
        sentences = read_sentences(path)
        labels = Counter(s.event for s in sentences)
        assert labels[True] and labels[False], path.name
        assert len({s.kind for s in sentences}) >= 5, path.name


def test_no_sentence_is_labelled_both_ways():
    labels: dict[str, set[bool]] = {}
    for s in training_sentences():
        labels.setdefault(masked(s.text), set()).add(s.event)
    assert [text for text, seen in labels.items() if len(seen) > 1] == []


def test_the_packaged_model_was_trained_on_the_current_data():
    """After a data file changes, ``python -m geomap.context train``: this test says when it was not run."""
    assert model_digest() == digest(training_sentences())


def test_a_bad_line_names_its_file_and_line(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "Des tirs ont visé Kherson.", "event": true}\n{"text": "x", "event": "yes"}\n')
    with pytest.raises(ContextModelError, match=r"bad\.jsonl:2"):
        read_sentences(path)
    path.write_text("not json\n")
    with pytest.raises(ContextModelError, match=r"bad\.jsonl:1"):
        read_sentences(path)


def test_a_missing_model_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ContextModelError, match="cannot load the context model"):
        ContextModel.from_disk(tmp_path / "nowhere")


def test_held_out_sentences_are_labelled_well():
    """Trained on four fifths of the data, the model labels the fifth it never saw."""
    sentences = training_sentences()
    held_out = sentences[::5]
    model = ContextModel(train([s for i, s in enumerate(sentences) if i % 5]))
    scores = score(model, held_out)
    assert scores.count >= 300
    assert scores.accuracy >= 0.85, scores
    assert scores.precision >= 0.8, scores
    assert scores.recall >= 0.8, scores


def test_training_is_deterministic():
    sentences = training_sentences()[::7]
    first, second = ContextModel(train(sentences)), ContextModel(train(sentences))
    probe = "Des roquettes ont frappé un marché de Goma dimanche, faisant quatre morts."
    assert first.probability(probe) == second.probability(probe)


# Sentences of this test's own, in none of the data files: what the packaged model must decide.
EVENTS = [
    "Des obus de mortier sont tombés lundi soir sur le marché central de Beni, tuant deux commerçants.",
    "Les rebelles ont attaqué à l'aube un poste de l'armée près de Mopti, selon une source sécuritaire.",
    "Trois drones ont frappé dans la nuit un dépôt de carburant dans la région de Belgorod.",
    "Des échanges de tirs ont opposé jeudi les gardes-frontières des deux pays près du village de Tegh.",
]
OTHERS = [
    "Le ministre des Finances a lancé une véritable offensive contre la fraude fiscale à Lyon.",
    "Le film, tourné à Tbilissi, reconstitue les bombardements de la ville avec des figurants.",
    "En finale, Lens a bombardé le but adverse sans jamais parvenir à marquer.",
    "L'exposition montre des photographies des combats de 1993 autour de la ville.",
]


@pytest.mark.parametrize("sentence", EVENTS)
def test_reports_of_fighting_are_events(sentence: str):
    assert default_model().reports_event(sentence), default_model().probability(sentence)


@pytest.mark.parametrize("sentence", OTHERS)
def test_other_senses_of_the_words_are_not(sentence: str):
    assert not default_model().reports_event(sentence), default_model().probability(sentence)


def test_an_article_that_surely_reports_an_event_lowers_the_threshold_of_its_other_sentences():
    model = default_model()
    assert model.threshold_for([]) == model.threshold
    assert model.threshold_for([0.3, model.anchor - 0.01]) == model.threshold
    assert model.threshold_for([0.3, model.anchor]) == model.in_report_threshold < model.threshold
