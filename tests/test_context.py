"""The context model: its data, its training, and what it decides on sentences it was not trained on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from geomap.context import (
    ContextModel,
    ContextModelError,
    article_files,
    data_files,
    default_model,
    digest,
    lede,
    masked,
    masked_lede,
    model_digest,
    read_articles,
    read_sentences,
    score,
    score_articles,
    train,
    training_articles,
    training_sentences,
)


def test_names_and_numbers_are_masked_but_acronyms_and_words_kept():
    text = "Selon l'ONU, des obus sont tombés sur Marioupol et d'Avdiïvka le 3 mars 2024 (AFP)."
    assert masked(text) == "Selon l'ONU, des obus sont tombés sur Xx et d'Xx le 0 mars 0 (AFP)."


def test_a_sentence_keeps_its_first_word():
    assert masked("Des tirs ont visé Kherson.").startswith("Des tirs")


@pytest.mark.parametrize("files, read", [(data_files, read_sentences), (article_files, read_articles)])
def test_every_data_file_holds_both_labels_and_many_kinds(files, read):
    assert len(files()) >= 2
    for path in files():
        sentences = read(path)
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
    assert model_digest() == digest(training_sentences(), training_articles())


def test_a_bad_line_names_its_file_and_line(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "Des tirs ont visé Kherson.", "event": true}\n{"text": "x", "event": "yes"}\n')
    with pytest.raises(ContextModelError, match=r"bad\.jsonl:2"):
        read_sentences(path)
    path.write_text("not json\n")
    with pytest.raises(ContextModelError, match=r"bad\.jsonl:1"):
        read_sentences(path)


def test_a_bad_article_line_names_its_file_and_line(tmp_path: Path):
    path = tmp_path / "ledes.jsonl"
    path.write_text(
        '{"title": "", "text": "Des tirs ont visé Kherson.", "event": true}\n{"text": "x", "event": true}\n'
    )
    with pytest.raises(ContextModelError, match=r"ledes\.jsonl:2"):
        read_articles(path)


def test_the_lede_is_the_headline_and_the_first_sentences():
    text = (
        "Des obus sont tombés mardi sur Kherson.\nPublié le : 03/02/2024 - 08:14\nPar la rédaction\n"
        "Deux civils ont été blessés dans leur maison. " + "Le reste suit dans la page. " * 40
    )
    assert lede(text, title="Kherson bombardée").splitlines() == [
        "Kherson bombardée",
        "Des obus sont tombés mardi sur Kherson.",
        "Deux civils ont été blessés dans leur maison.",
        "Le reste suit dans la page.",
    ]
    assert len(lede("Un mot de plus dans la phrase. " * 200).splitlines()) <= 4
    assert lede("Kherson bombardée\nDes obus sont tombés mardi sur la ville de Kherson.").startswith(
        "Kherson bombardée\n"
    )


def test_the_lede_skips_the_page_furniture_of_every_language():
    """The furniture words are the packs' (``furniture.toml``), all read whatever the copy's language:
    a French page on an English template says "Published", an English one may say "Mis à jour"."""
    french = (
        "Published on 14 September 2024 at 10:32 GMT\nPar Jean Dupont, envoyé spécial à Kharkiv\n"
        "Deux civils ont été blessés dans leur maison de Kharkiv."
    )
    assert lede(french, title="Kharkiv bombardée").splitlines() == [
        "Kharkiv bombardée",
        "Deux civils ont été blessés dans leur maison de Kharkiv.",
    ]
    english = (
        "Mis à jour le 14 septembre 2024 à 11 h 05\nBy John Smith and Jane Doe in Kyiv\n"
        "Two civilians were wounded in their home in Kharkiv."
    )
    assert lede(english, title="Kharkiv shelled").splitlines()[1:] == [
        "Two civilians were wounded in their home in Kharkiv."
    ]
    # a look-alike opens a line of copy, which stays
    assert lede("Parmi les victimes figurent deux enfants, selon les secours.", title="Kharkiv") == (
        "Kharkiv\nParmi les victimes figurent deux enfants, selon les secours."
    )


@pytest.mark.parametrize(
    "line",
    [
        "EREVAN, 12 mars (AFP) - Des obus sont tombés sur Jermuk.",
        "Kiev (Reuters) - Des obus sont tombés sur Jermuk.",
        "Bakou, 3 mai 2024 - Des obus sont tombés sur Jermuk.",
        "Paris, le 3 mai - Des obus sont tombés sur Jermuk.",
        "(APA) Des obus sont tombés sur Jermuk.",
    ],
)
def test_a_dateline_is_masked_and_the_sentence_after_it_keeps_its_first_word(line: str):
    assert masked_lede(line) == "Xx - Des obus sont tombés sur Xx."


def test_a_sentence_without_dateline_is_masked_as_a_sentence():
    assert masked_lede("Des tirs (selon la police) ont visé Kherson.") == masked(
        "Des tirs (selon la police) ont visé Kherson."
    )


def test_a_missing_model_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ContextModelError, match="cannot load the context model"):
        ContextModel.from_disk(tmp_path / "nowhere")


@pytest.mark.slow
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


@pytest.mark.slow
def test_held_out_ledes_are_sorted_well():
    """Trained on four fifths of the headlines and ledes, the article model sorts the fifth it never saw."""
    articles = training_articles()
    model = ContextModel(train(training_sentences()[::3], [a for i, a in enumerate(articles) if i % 5]))
    scores = score_articles(model, articles[::5])
    assert scores.count >= 80
    assert scores.accuracy >= 0.8, scores
    assert scores.recall >= 0.85, scores  # a report taken for another genre costs its incidents


@pytest.mark.slow
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


def test_an_article_of_another_genre_raises_the_threshold_of_all_its_sentences():
    model = default_model()
    assert (
        model.threshold_for([0.9], article=model.article_floor - 0.01)
        == model.genre_threshold
        > model.threshold
    )
    assert model.threshold_for([0.9], article=model.article_floor) == model.in_report_threshold
    assert model.threshold_for([0.3], article=None) == model.threshold


# Headlines and ledes of this test's own, in none of the data files.
REPORTS = [
    (
        "Frappes de drones sur Odessa",
        "Odessa, 4 juin (AFP) - Des drones ont frappé dans la nuit le port d'Odessa, blessant trois dockers, "
        "selon l'administration régionale. Un entrepôt de céréales a pris feu et les pompiers ont lutté "
        "jusqu'à l'aube contre l'incendie.",
    ),
    (
        "",
        "BAMAKO (Reuters) - Des hommes armés ont attaqué lundi un convoi de l'armée près de Ségou, tuant "
        "quatre soldats, a indiqué une source sécuritaire. L'attaque n'a pas été revendiquée, mais la zone "
        "est le théâtre d'opérations de groupes jihadistes depuis plusieurs années.",
    ),
]
GENRES = [
    (
        "« Les Ruines », le film qui rejoue le siège de Homs",
        "Le réalisateur reconstitue les bombardements de la vieille ville et suit une famille qui fuit les "
        "combats. Un film âpre, porté par ses acteurs, qui sort mercredi en salles après avoir été primé au "
        "festival de Locarno.",
    ),
    (
        "Il y a trente ans, la chute de Vukovar",
        "Les anciens combattants se sont recueillis dimanche devant le mémorial, en souvenir des assauts qui "
        "avaient ravagé la ville pendant trois mois. Une messe a été célébrée dans l'église reconstruite, "
        "en présence du maire et de plusieurs ministres.",
    ),
]


def test_a_text_too_short_to_show_its_genre_is_not_given_one():
    assert (
        default_model().article_probability("Des obus sont tombés mardi sur Kherson.", title="Kherson")
        is None
    )


@pytest.mark.parametrize("title, text", REPORTS)
def test_reports_read_as_reports(title: str, text: str):
    model = default_model()
    assert model.article_probability(text, title=title) >= model.article_floor


@pytest.mark.parametrize("title, text", GENRES)
def test_other_genres_read_as_other_genres(title: str, text: str):
    model = default_model()
    assert model.article_probability(text, title=title) < model.article_floor


def test_the_english_sentences_are_labelled_data_for_the_english_model():
    """English (issue #17) has its own labelled sentences, read the same way; its model is trained
    once the pipeline reads English."""
    files = data_files("en")
    assert files, "geomap/lexicon/en/context/*.jsonl"
    sentences = [s for path in files for s in read_sentences(path)]
    labels = Counter(s.event for s in sentences)
    assert labels[True] >= 200 and labels[False] >= 300, labels
    assert not any(" les " in s.text or " des " in s.text for s in sentences)  # English, not French
