"""The extraction stage's shortcuts for speed give what the plain spaCy calls give (no timings here)."""

from __future__ import annotations

import pytest
import spacy
from spacy.tokens import Doc

import geomap.extract as extract
from geomap.gazetteer import Gazetteer
from geomap.ingest import iter_articles, normalise_for_nlp
from geomap.pipeline import Pipeline

TEXTS = [
    "",
    "Erevan",
    "BAKOU, 13 septembre (AFP) - L'Arménie et l'Azerbaïdjan s'accusent.\n\nDes tirs près de Sotk.",
    "Titre sans point\nPremière ligne.  Deux espaces\tune tabulation\r\nFin\n",
    "« Hayastan » a dit M. Melikian : Interfax-Azerbaïdjan, Nagorny-Karabakh ; 6 500 soldats…",
    " \n  Commence par des espaces et finit par un saut de ligne\n",
]


def _old_line_breaks(doc: Doc) -> Doc:
    """The component as first written: a token by token scan."""
    for token in doc[:-1]:
        if "\n" in token.text or token.whitespace_ == "\n":
            doc[token.i + 1].is_sent_start = True
    return doc


@pytest.mark.parametrize("text", TEXTS)
def test_token_table_reads_what_spacy_tokens_say(pipeline: Pipeline, text: str) -> None:
    doc = pipeline.extractor.nlp(normalise_for_nlp(text))
    tokens = extract.Tokens(doc)
    assert len(tokens) == len(doc)
    for i, token in enumerate(doc):
        assert tokens.text[i] == token.text
        assert tokens.lower[i] == token.lower_
        assert bool(tokens.space_after[i]) == (token.whitespace_ == " ")
        assert bool(tokens.is_space[i]) == token.is_space
        assert bool(tokens.is_punct[i]) == token.is_punct
        assert bool(tokens.is_alpha[i]) == token.is_alpha
        assert bool(tokens.is_title[i]) == token.is_title
    for start in range(len(doc) + 1):
        for end in range(start, min(len(doc), start + 6) + 1):
            assert tokens.span_text(start, end) == doc[start:end].text


@pytest.mark.parametrize("text", TEXTS)
def test_line_breaks_start_the_same_sentences_as_a_token_scan(text: str) -> None:
    nlp = spacy.blank("fr")
    nlp.add_pipe("sentencizer")
    fast, slow = extract.line_breaks(nlp(text)), _old_line_breaks(nlp(text))
    assert [t.is_sent_start for t in fast] == [t.is_sent_start for t in slow]


def test_gazetteer_names_leave_the_word_cache_its_room(pipeline: Pipeline, gazetteer: Gazetteer) -> None:
    names = set(gazetteer.surface_names())
    default = spacy.blank("fr").tokenizer.max_cache_size
    assert pipeline.extractor.nlp.tokenizer.max_cache_size >= default + len(names)


def test_numpy_blas_finds_the_entities_blis_finds(
    pipeline: Pipeline, gazetteer: Gazetteer, seeds_dir, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not extract.one_blas_thread():
        pytest.skip("numpy's BLAS is not OpenBLAS here: the model keeps thinc's BLIS")
    fast = pipeline.extractor.nlp
    assert not fast.get_pipe("ner").model.ops.use_blis
    monkeypatch.setattr(extract, "one_blas_thread", lambda: False)
    blis = extract.load_pipeline(gazetteer)
    assert blis.get_pipe("ner").model.ops.use_blis
    texts = [normalise_for_nlp(a.text) for a in iter_articles([seeds_dir])]
    assert texts
    for a, b in zip(fast.pipe(texts), blis.pipe(texts), strict=True):
        assert [(e.start, e.end, e.label_) for e in a.ents] == [(e.start, e.end, e.label_) for e in b.ents]
