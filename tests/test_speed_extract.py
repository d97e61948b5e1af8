"""The extraction stage's shortcuts for speed give what the plain spaCy calls give (no timings here)."""

from __future__ import annotations

import itertools

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


# --- long texts in pieces ----------------------------------------------------------------------

PIECE_TEXT = (
    "Titre sans point\nDes tirs ont visé Goris. Puis Sisian, selon Erevan !\n\n"
    "Le ministère à Bakou dément.  Deux espaces.\tUne tabulation ; l'Arménie proteste…\n"
) * 40


@pytest.mark.parametrize("size", [40, 100, 333, 1000])
def test_pieces_cover_the_text_in_order_within_their_size(size: int) -> None:
    pieces = list(extract.pieces(PIECE_TEXT, size))
    assert "".join(pieces) == PIECE_TEXT
    assert all(0 < len(p) <= size for p in pieces)
    # a piece ends after a line break when its second half holds one, and no piece starts in a word
    for piece, following in itertools.pairwise(pieces):
        if "\n" in piece[size // 2 : -1]:
            assert piece[-1].isspace() and "\n" in piece[len(piece.rstrip()) :]
        assert piece[-1].isspace() and not following[0].isspace()


def test_pieces_of_a_text_without_spaces_are_cut_anywhere() -> None:
    text = "x" * 1050
    assert [len(p) for p in extract.pieces(text, 100)] == [100] * 10 + [50]


def test_a_doc_joined_from_pieces_has_the_tokens_sentences_and_names_of_the_whole(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut after line breaks, the pieces tokenise, split into sentences and match gazetteer names as
    the whole text does (the model's entities may differ at a piece's first words)."""
    extractor = pipeline.extractor
    text = normalise_for_nlp(PIECE_TEXT)
    monkeypatch.setattr(extract, "PIECE_CHARS", 700)
    joined, whole = extractor.parse_long(text), extractor.nlp(text)
    assert joined.text == whole.text
    assert [(t.idx, t.text, t.whitespace_) for t in joined] == [(t.idx, t.text, t.whitespace_) for t in whole]
    assert [s.start_char for s in joined.sents] == [s.start_char for s in whole.sents]
    spans = [(s.start_char, s.end_char) for s in joined.spans[extract.SPANS_KEY]]
    assert spans == [(s.start_char, s.end_char) for s in whole.spans[extract.SPANS_KEY]]
    assert len(spans) == 5 * 40  # Goris, Sisian, Erevan, Bakou, Arménie
