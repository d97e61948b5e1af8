"""Whether a sentence that holds a trigger word reports a current conflict event: the context model.

Trigger words (``geomap.triggers``) find every sentence that may report an incident, and the guards
(``geomap.guards``) rule out the forms a rule can name: "aucune attaque", "en cas d'offensive",
"la bataille électorale". But ordinary news uses the same words in more ways than rules can list:
an opposition that "ouvre le feu sur la politique sociale", speakers who "pilonnent la hausse des
prix", a museum where "on voit des villages bombardés", extras who "jouent les habitants qui fuient".
What tells them from a report of fighting is the rest of the sentence, so a small text classifier
(spaCy's bag-of-words ``textcat``) reads it and says how likely it is to report an event.

It is trained on labelled sentences of the team's own writing: ``geomap/lexicon/<language>/context/
*.jsonl`` (conflict events of every ACLED type, their nearest misses, the conflict vocabulary in
politics, economy, sport, culture, accidents and disasters, and history, denials, plans and fiction),
plus the guards' example sentences of the lexicon. Names are masked before the model sees them
(``masked``): it must learn the wording, not which towns the examples happened to use, so that it
reads any theatre the same way. Numbers are masked too: which date makes an event history is the
guards' business (``geomap.guards``). (Leaving years out altogether was tried: the model then lost the
cue of history told without a date the guards can read, and false incidents rose on ordinary news.)

A sentence is not the whole story: "on y voit des villages bombardés" reports an event in a dispatch
and none in a film review, "la ville était tombée" is news in a war report and history in a feature on
reconstruction. So a second classifier of the same kind reads the article's headline and lede (its
first sentences, ``lede``), as an editor sorts copy, and says how likely the article is a report of a
current event. It is trained on headlines and ledes of the team's own writing (``context/articles/
*.jsonl``: dispatches, live pages, NGO reports, and the genres that borrow their words: reviews,
commemorations, fact-checks, sport, economy, diplomacy, drills, forecasts). In an article of another
genre only the sentences that surely report an event count (``ContextModel.threshold_for``).

The trained model ships in ``geomap/context_model/<language>/``; its ``meta.json`` records the
digest of the data it was trained on, and the tests fail when the data changed and the model was
not retrained: ``python -m geomap.context train`` retrains it (deterministic, a few seconds).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from geomap.errors import GeomapError
from geomap.lexicon import DEFAULT_LANGUAGE, LEXICON_DIR, languages, load, pack_list

MODEL_ROOT = Path(__file__).resolve().parent / "context_model"
THRESHOLD = 0.35  # the probability from which a sentence read alone reports an event
# In an article one sentence of which surely reports an event (REPORT_ANCHOR), the others are read
# in that light: a conflict report recalls earlier rounds and tells its events in the words of
# analysis ("l'offensive vise à créer une zone tampon"), which alone would look like commentary.
REPORT_ANCHOR = 0.5
IN_REPORT_THRESHOLD = 0.05
# An article whose headline and lede read as another genre (ARTICLE_FLOOR) keeps only the sentences
# that surely report an event (GENRE_THRESHOLD): a review may still tell of a strike the week before.
ARTICLE_FLOOR = 0.3
GENRE_THRESHOLD = 0.8
# An article that surely is news of a conflict (NEWS_ANCHOR) reads its sentences in that light, as a
# sure sentence does (REPORT_ANCHOR): "les attaques contre des civils, qui ont fait 11 morts" is news
# there, commentary in an essay.
NEWS_ANCHOR = 0.9
NEWS_THRESHOLD = 0.2
LEDE_WORDS = 50  # the lede is the headline and the first sentences up to this many words (or LEDE_PARTS)
LEDE_PARTS = 4
LEDE_MIN_WORDS = 6
GENRE_MIN_WORDS = 30  # a shorter text (a line, a brief) shows no genre: it is read sentence by sentence
EVENT, OTHER = "EVENT", "OTHER"
SENTENCE_PIPE, ARTICLE_PIPE = "textcat", "article_textcat"
SEED = 13
EPOCHS = 12
HASH_ROWS = 2**17  # rows of the bag-of-words table: collisions are rare at this size, the file is 1 MB
ARTICLE_HASH_ROWS = 2**16  # the article classifier has fewer, longer examples

# A capitalised word that does not open the sentence is a name (a place, a person, an outlet);
# all-capital acronyms (ONU, OTAN, AFP) are kept: they are words of the trade.
_NAME = re.compile(r"(?<=[\s'’«(\"-])[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+(?:[-'’][A-ZÀ-ÖØ-Þa-zà-öø-ÿ]+)*")
_DIGITS = re.compile(r"\d+")
# Code, markup and addresses are not wording: their pieces would only add noise to the sum of weights.
_NOT_WORDS = re.compile(r"\S*[{}<>\[\]_|\\=#*@$^~`/]\S*")
# A dispatch's dateline names its town in capitals ("EREVAN, 12 mars (AFP) -"): a name like any other.
_DATELINE = re.compile(
    r"^(?:\([^)\n]{2,30}\)\s*"  # (APA) Le ministère...
    # EREVAN, 3 mai (AFP) -
    r"|[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ'’. -]{2,}(?:,[^-–—\n]{0,40})?(?:\s*\([^)\n]{2,30}\))?\s*[-–—]\s*"
    r"|[A-ZÀ-ÖØ-Þ][\w'’-]*(?: [A-ZÀ-ÖØ-Þ][\w'’-]*)*"  # Kiev (Reuters) - / Bakou, 3 mai 2024 -
    r"(?:,\s*(?:le\s+)?\d[^-–—\n]{0,30}(?:\s*\([^)\n]{2,30}\))?|\s*\([^)\n]{2,30}\))\s*[-–—]\s*)"
)
FURNITURE_LIST = "furniture.word"  # the lede reader's page furniture, in each language's pack
# Where a lede's sentences end: the model masks each sentence on its own, so that its first word stays.
_SENTENCE_END = re.compile(r"(?<=[.!?…»])\s+(?=[«\"A-ZÀ-ÖØ-Þ0-9(])|\s*\n\s*")


class ContextModelError(GeomapError):
    """The context model or its training data cannot be read; the message names the file."""


@dataclass(frozen=True, slots=True)
class LabelledSentence:
    """One training sentence: whether it reports a current event, its category and its file."""

    text: str
    event: bool
    kind: str
    source: str


def masked(text: str) -> str:
    """The sentence as the model reads it: names as ``Xx``, numbers as ``0``, code and urls left out."""
    return _DIGITS.sub("0", _NAME.sub("Xx", " ".join(_NOT_WORDS.sub(" ", text).split())))


@cache
def _furniture() -> re.Pattern[str]:
    """A page's furniture that reads like a line of copy: a line that opens with a word of byline,
    date of publication or update, reading time or credit (``geomap/lexicon/<language>/furniture.toml``).
    The words of every pack, whatever the article's language: a page's furniture is often in another
    language than its copy (a French site on an English template says "Published", "By")."""
    words = (
        re.escape(word) for language in languages() for word in pack_list(language, FURNITURE_LIST).texts
    )
    return re.compile(r"\s*(?:" + "|".join(words) + r")\b", re.IGNORECASE)


def lede(text: str, *, title: str | None = None) -> str:
    """The headline and the first sentences of an article, one per line, as the article model reads
    them: up to ``LEDE_WORDS`` words or ``LEDE_PARTS`` sentences, the way an editor reads copy. A
    saved page's furniture between them ("Publié le : 26/09/2023 - 08:14", "Texte par : AFP", share
    counts) is not copy: lines of fewer than ``LEDE_MIN_WORDS`` words are skipped after the headline,
    and so are lines that open with a word of page furniture of any language (``_furniture``)."""
    furniture = _furniture()
    parts = [" ".join(title.split())] if title and title.strip() else []
    words = 0
    for part in _SENTENCE_END.split(text[: LEDE_WORDS * 30]):
        if words >= LEDE_WORDS or len(parts) >= LEDE_PARTS:
            break
        count = len(part.split())
        if (count >= LEDE_MIN_WORDS and not furniture.match(part)) or (not parts and count >= 2):
            parts.append(" ".join(part.split()))
            words += count
    return "\n".join(parts)


def masked_lede(text: str) -> str:
    """A lede (``lede``) as the article model reads it: each line masked on its own, datelines too."""
    return " | ".join(_masked_line(line.strip()) for line in text.splitlines() if line.strip())


def _masked_line(line: str) -> str:
    dateline = _DATELINE.match(line)
    return f"Xx - {masked(line[dateline.end() :])}" if dateline else masked(line)


def data_files(language: str = DEFAULT_LANGUAGE) -> list[Path]:
    """The labelled sentence files of ``language``, in name order."""
    return sorted((LEXICON_DIR / language / "context").glob("*.jsonl"))


def article_files(language: str = DEFAULT_LANGUAGE) -> list[Path]:
    """The labelled headline-and-lede files of ``language``, in name order."""
    return sorted((LEXICON_DIR / language / "context" / "articles").glob("*.jsonl"))


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ContextModelError(f"{path}: cannot read: {error}") from error


def read_sentences(path: Path) -> list[LabelledSentence]:
    """The labelled sentences of one JSONL file; a bad line raises ``ContextModelError``."""
    sentences = []
    for number, line in enumerate(_lines(path), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            text, event, kind = record["text"], record["event"], record.get("kind", "")
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ContextModelError(f"{path}:{number}: not a labelled sentence: {error}") from error
        if not isinstance(text, str) or not text.strip() or not isinstance(event, bool):
            raise ContextModelError(f"{path}:{number}: needs a non-empty 'text' and a boolean 'event'")
        sentences.append(LabelledSentence(text.strip(), event, str(kind), path.name))
    return sentences


def read_articles(path: Path) -> list[LabelledSentence]:
    """The labelled headlines and ledes of one JSONL file (``title``, ``text``, ``event``, ``genre``),
    each as its ``lede``; a bad line raises ``ContextModelError``."""
    articles = []
    for number, line in enumerate(_lines(path), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            title, text, event, genre = (
                record["title"],
                record["text"],
                record["event"],
                record.get("genre", ""),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ContextModelError(f"{path}:{number}: not a labelled article: {error}") from error
        if (
            not isinstance(title, str)
            or not isinstance(text, str)
            or not text.strip()
            or not isinstance(event, bool)
        ):
            raise ContextModelError(
                f"{path}:{number}: needs a 'title', a non-empty 'text' and a boolean 'event'"
            )
        articles.append(LabelledSentence(lede(text, title=title), event, str(genre), path.name))
    return articles


def lexicon_sentences(language: str = DEFAULT_LANGUAGE) -> list[LabelledSentence]:
    """The lexicon's example sentences whose label is known (see ``geomap.lexicon``): a trigger's
    positive example reports an incident; a guard's positive example reports none (the guard rules
    it out) and its negative one reports a real incident. A trigger's negative example is left out:
    it may report an incident of another type."""
    lexicon = load(language)
    sentences = [
        LabelledSentence(example.text, True, f"trigger:{trigger.id}", "triggers.trigger")
        for rule in lexicon.rules
        for trigger in rule.triggers
        for example in trigger.positive
    ]
    for key, words in lexicon.lists.items():
        if words.file != "guards":
            continue
        for entry in words.entries:
            for example in entry.positive:
                sentences.append(LabelledSentence(example.text, False, f"guard:{entry.id}", key))
            for example in entry.negative:
                sentences.append(LabelledSentence(example.text, True, f"guard:{entry.id}", key))
    return sentences


def training_sentences(language: str = DEFAULT_LANGUAGE) -> list[LabelledSentence]:
    """Every labelled sentence the model of ``language`` is trained on."""
    return [s for path in data_files(language) for s in read_sentences(path)] + lexicon_sentences(language)


def other_genres(language: str = DEFAULT_LANGUAGE) -> frozenset[str]:
    """The genres whose articles report no current incident by their nature (``context/articles/
    genres.toml``): reviews, commemorations, sport... but not the talks and threats of a conflict."""
    path = LEXICON_DIR / language / "context" / "articles" / "genres.toml"
    try:
        genres = tomllib.loads(path.read_text(encoding="utf-8"))["other"]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError) as error:
        raise ContextModelError(f"{path}: cannot read the list of other genres: {error}") from error
    return frozenset(genres)


def training_articles(language: str = DEFAULT_LANGUAGE) -> list[LabelledSentence]:
    """Every lede the article model of ``language`` is trained on, labelled as news of a conflict
    (it reports an event, or its genre is not one of ``other_genres``) or as another genre."""
    other = other_genres(language)
    return [
        replace(a, event=a.event or a.kind not in other)
        for path in article_files(language)
        for a in read_articles(path)
    ]


def digest(sentences: Iterable[LabelledSentence], articles: Iterable[LabelledSentence] = ()) -> str:
    """A fingerprint of the training data and settings, recorded with the model."""
    h = hashlib.sha256(f"{SEED} {EPOCHS} {HASH_ROWS} {THRESHOLD}".encode())
    for s in sentences:
        h.update(f"{s.event}\t{s.text}\n".encode())
    articles = list(articles)
    if articles:  # a model without an article classifier keeps its old digest
        settings = (ARTICLE_HASH_ROWS, ARTICLE_FLOOR, GENRE_THRESHOLD, NEWS_ANCHOR, GENRE_MIN_WORDS)
        h.update(f"articles {settings}\n".encode())
        for a in articles:
            h.update(f"{a.event}\t{a.text}\n".encode())
    return h.hexdigest()[:16]


def _cats(event: bool) -> dict[str, float]:
    return {EVENT: 1.0, OTHER: 0.0} if event else {EVENT: 0.0, OTHER: 1.0}


def _bag_of_words(rows: int) -> dict:
    return {
        "model": {
            "@architectures": "spacy.TextCatBOW.v3",
            "exclusive_classes": True,
            "ngram_size": 2,
            "no_output_layer": False,
            "length": rows,
        }
    }


def train(
    sentences: Sequence[LabelledSentence],
    articles: Sequence[LabelledSentence] = (),
    *,
    language: str = DEFAULT_LANGUAGE,
    seed: int = SEED,
):
    """A spaCy pipeline with two ``textcat``: one trained on ``sentences``, one on the ledes of
    ``articles`` (deterministic for a seed). They share the tokenizer; each is run on its own."""
    import spacy
    from spacy.training import Example
    from spacy.util import fix_random_seed, minibatch

    fix_random_seed(seed)
    nlp = spacy.blank(language)
    for name, rows in ((SENTENCE_PIPE, HASH_ROWS), (ARTICLE_PIPE, ARTICLE_HASH_ROWS)):
        textcat = nlp.add_pipe("textcat", name=name, config=_bag_of_words(rows))
        textcat.add_label(EVENT)
        textcat.add_label(OTHER)
    by_pipe = {
        SENTENCE_PIPE: [
            Example.from_dict(nlp.make_doc(masked(s.text)), {"cats": _cats(s.event)}) for s in sentences
        ],
        ARTICLE_PIPE: [
            Example.from_dict(nlp.make_doc(masked_lede(a.text)), {"cats": _cats(a.event)}) for a in articles
        ],
    }
    nlp.initialize(lambda: by_pipe[SENTENCE_PIPE] + by_pipe[ARTICLE_PIPE])
    order = random.Random(seed)
    for name, examples in by_pipe.items():
        others = [other for other in by_pipe if other != name]
        for _ in range(EPOCHS):
            order.shuffle(examples)
            for batch in minibatch(examples, size=16):
                nlp.update(batch, drop=0.1, exclude=others)
    return nlp


@dataclass(frozen=True, slots=True)
class Scores:
    """How a model labels held-out sentences."""

    accuracy: float
    precision: float  # of the sentences it says report an event
    recall: float  # of the sentences that report one
    count: int


def score(model: ContextModel, sentences: Sequence[LabelledSentence]) -> Scores:
    """The model's accuracy, precision and recall for the event label on ``sentences``."""
    return _scores([model.reports_event(s.text) for s in sentences], [s.event for s in sentences])


def _scores(said: Sequence[bool], truth: Sequence[bool]) -> Scores:
    hits = sum(a and b for a, b in zip(said, truth, strict=True))
    return Scores(
        accuracy=sum(a == b for a, b in zip(said, truth, strict=True)) / max(1, len(truth)),
        precision=hits / max(1, sum(said)),
        recall=hits / max(1, sum(truth)),
        count=len(truth),
    )


def score_articles(model: ContextModel, articles: Sequence[LabelledSentence]) -> Scores:
    """The article classifier's accuracy, precision and recall on held-out ledes: an article "reports
    an event" unless it reads as another genre (``ARTICLE_FLOOR``)."""
    said = [(model.article_probability(a.text) or 0.0) >= model.article_floor for a in articles]
    return _scores(said, [a.event for a in articles])


class ContextModel:
    """The trained classifier of one language: the probability that a sentence reports an event."""

    def __init__(
        self,
        nlp,
        *,
        threshold: float = THRESHOLD,
        anchor: float = REPORT_ANCHOR,
        in_report_threshold: float = IN_REPORT_THRESHOLD,
        article_floor: float = ARTICLE_FLOOR,
        genre_threshold: float = GENRE_THRESHOLD,
        news_anchor: float = NEWS_ANCHOR,
        news_threshold: float = NEWS_THRESHOLD,
    ) -> None:
        self.nlp = nlp
        self.threshold = threshold
        self.anchor = anchor
        self.in_report_threshold = in_report_threshold
        self.article_floor = article_floor
        self.genre_threshold = genre_threshold
        self.news_anchor = news_anchor
        self.news_threshold = news_threshold

    @classmethod
    def from_disk(cls, path: Path) -> ContextModel:
        """The model saved in ``path`` (``geomap/context_model/<language>``)."""
        import spacy

        try:
            return cls(spacy.load(path))
        except (OSError, ValueError) as error:
            raise ContextModelError(f"{path}: cannot load the context model: {error}") from error

    def _probability(self, pipe: str, text: str) -> float:
        return float(self.nlp.get_pipe(pipe)(self.nlp.make_doc(text)).cats[EVENT])

    def probability(self, sentence: str) -> float:
        """How likely the sentence reports a current conflict event, from 0 to 1."""
        return self._probability(SENTENCE_PIPE, masked(sentence))

    def article_probability(self, text: str, *, title: str | None = None) -> float | None:
        """How likely the article is news of a conflict, read from its headline and lede; None when
        the model has no article classifier or the text is too short to show a genre
        (``GENRE_MIN_WORDS``): then the article's genre is not read."""
        if ARTICLE_PIPE not in self.nlp.pipe_names:
            return None
        read = lede(text, title=title)
        if len(read.split()) < GENRE_MIN_WORDS:
            return None
        return self._probability(ARTICLE_PIPE, masked_lede(read))

    def reports_event(self, sentence: str) -> bool:
        """Whether the sentence, read alone, reports a current conflict event."""
        return self.probability(sentence) >= self.threshold

    def threshold_for(self, probabilities: Sequence[float], *, article: float | None = None) -> float:
        """The threshold for the trigger sentences of one article, given all their probabilities and
        the article's (``article_probability``): higher in an article of another genre (see
        ``ARTICLE_FLOOR``), lower in one that surely reports an event (see ``REPORT_ANCHOR``) or
        surely is news of a conflict (see ``NEWS_ANCHOR``)."""
        if article is not None and article < self.article_floor:
            return self.genre_threshold
        threshold = self.threshold
        if article is not None and article >= self.news_anchor:
            threshold = min(threshold, self.news_threshold)
        if probabilities and max(probabilities) >= self.anchor:
            threshold = min(threshold, self.in_report_threshold)
        return threshold


@cache
def default_model(language: str = DEFAULT_LANGUAGE) -> ContextModel:
    """The packaged model of ``language`` (loaded once per process)."""
    return ContextModel.from_disk(MODEL_ROOT / language)


def model_digest(language: str = DEFAULT_LANGUAGE) -> str | None:
    """The training-data digest recorded with the packaged model, or None without one."""
    try:
        meta = json.loads((MODEL_ROOT / language / "meta.json").read_text(encoding="utf-8"))
        return meta["geomap_data_digest"]
    except (OSError, KeyError, ValueError):
        return None


def save(nlp, path: Path, *, data_digest: str) -> None:
    """Write the trained pipeline with the digest of its training data in its meta."""
    nlp.meta["name"] = "geomap_context"
    nlp.meta["geomap_data_digest"] = data_digest
    path.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(path)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m geomap.context train [--language fr]``: retrain and save the packaged model."""
    parser = argparse.ArgumentParser(prog="python -m geomap.context", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["train", "score"])
    parser.add_argument("--language", default=DEFAULT_LANGUAGE)
    args = parser.parse_args(argv)
    sentences, articles = training_sentences(args.language), training_articles(args.language)
    if args.command == "train":
        model = train(sentences, articles, language=args.language)
        save(model, MODEL_ROOT / args.language, data_digest=digest(sentences, articles))
        print(
            f"trained on {len(sentences)} sentences and {len(articles)} ledes -> {MODEL_ROOT / args.language}"
        )
        return 0
    kept = [s for i, s in enumerate(sentences) if i % 5]
    model = ContextModel(train(kept, [a for i, a in enumerate(articles) if i % 5], language=args.language))
    print("sentences", score(model, sentences[::5]))
    print("articles", score_articles(model, articles[::5]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
