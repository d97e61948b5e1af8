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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from geomap.errors import GeomapError
from geomap.lexicon import DEFAULT_LANGUAGE, LEXICON_DIR, load

MODEL_ROOT = Path(__file__).resolve().parent / "context_model"
THRESHOLD = 0.35  # the probability from which a sentence read alone reports an event
# In an article one sentence of which surely reports an event (REPORT_ANCHOR), the others are read
# in that light: a conflict report recalls earlier rounds and tells its events in the words of
# analysis ("l'offensive vise à créer une zone tampon"), which alone would look like commentary.
REPORT_ANCHOR = 0.5
IN_REPORT_THRESHOLD = 0.05
EVENT, OTHER = "EVENT", "OTHER"
SEED = 13
EPOCHS = 12
HASH_ROWS = 2**17  # rows of the bag-of-words table: collisions are rare at this size, the file is 1 MB

# A capitalised word that does not open the sentence is a name (a place, a person, an outlet);
# all-capital acronyms (ONU, OTAN, AFP) are kept: they are words of the trade.
_NAME = re.compile(r"(?<=[\s'’«(\"-])[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+(?:[-'’][A-ZÀ-ÖØ-Þa-zà-öø-ÿ]+)*")
_DIGITS = re.compile(r"\d+")
# Code, markup and addresses are not wording: their pieces would only add noise to the sum of weights.
_NOT_WORDS = re.compile(r"\S*[{}<>\[\]_|\\=#*@$^~`/]\S*")


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


def data_files(language: str = DEFAULT_LANGUAGE) -> list[Path]:
    """The labelled sentence files of ``language``, in name order."""
    return sorted((LEXICON_DIR / language / "context").glob("*.jsonl"))


def read_sentences(path: Path) -> list[LabelledSentence]:
    """The labelled sentences of one JSONL file; a bad line raises ``ContextModelError``."""
    sentences = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ContextModelError(f"{path}: cannot read: {error}") from error
    for number, line in enumerate(lines, 1):
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


def digest(sentences: Iterable[LabelledSentence]) -> str:
    """A fingerprint of the training data and settings, recorded with the model."""
    h = hashlib.sha256(f"{SEED} {EPOCHS} {HASH_ROWS} {THRESHOLD}".encode())
    for s in sentences:
        h.update(f"{s.event}\t{s.text}\n".encode())
    return h.hexdigest()[:16]


def _cats(event: bool) -> dict[str, float]:
    return {EVENT: 1.0, OTHER: 0.0} if event else {EVENT: 0.0, OTHER: 1.0}


def train(sentences: Sequence[LabelledSentence], *, language: str = DEFAULT_LANGUAGE, seed: int = SEED):
    """A spaCy pipeline with one ``textcat`` trained on ``sentences`` (deterministic for a seed)."""
    import spacy
    from spacy.training import Example
    from spacy.util import fix_random_seed, minibatch

    fix_random_seed(seed)
    nlp = spacy.blank(language)
    config = {
        "model": {
            "@architectures": "spacy.TextCatBOW.v3",
            "exclusive_classes": True,
            "ngram_size": 2,
            "no_output_layer": False,
            "length": HASH_ROWS,
        }
    }
    textcat = nlp.add_pipe("textcat", config=config)
    textcat.add_label(EVENT)
    textcat.add_label(OTHER)
    examples = [Example.from_dict(nlp.make_doc(masked(s.text)), {"cats": _cats(s.event)}) for s in sentences]
    nlp.initialize(lambda: examples)
    order = random.Random(seed)
    for _ in range(EPOCHS):
        order.shuffle(examples)
        for batch in minibatch(examples, size=16):
            nlp.update(batch, drop=0.1)
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
    said = [model.reports_event(s.text) for s in sentences]
    truth = [s.event for s in sentences]
    hits = sum(a and b for a, b in zip(said, truth, strict=True))
    return Scores(
        accuracy=sum(a == b for a, b in zip(said, truth, strict=True)) / max(1, len(sentences)),
        precision=hits / max(1, sum(said)),
        recall=hits / max(1, sum(truth)),
        count=len(sentences),
    )


class ContextModel:
    """The trained classifier of one language: the probability that a sentence reports an event."""

    def __init__(
        self,
        nlp,
        *,
        threshold: float = THRESHOLD,
        anchor: float = REPORT_ANCHOR,
        in_report_threshold: float = IN_REPORT_THRESHOLD,
    ) -> None:
        self.nlp = nlp
        self.threshold = threshold
        self.anchor = anchor
        self.in_report_threshold = in_report_threshold

    @classmethod
    def from_disk(cls, path: Path) -> ContextModel:
        """The model saved in ``path`` (``geomap/context_model/<language>``)."""
        import spacy

        try:
            return cls(spacy.load(path))
        except (OSError, ValueError) as error:
            raise ContextModelError(f"{path}: cannot load the context model: {error}") from error

    def probability(self, sentence: str) -> float:
        """How likely the sentence reports a current conflict event, from 0 to 1."""
        return float(self.nlp(masked(sentence)).cats[EVENT])

    def reports_event(self, sentence: str) -> bool:
        """Whether the sentence, read alone, reports a current conflict event."""
        return self.probability(sentence) >= self.threshold

    def threshold_for(self, probabilities: Sequence[float]) -> float:
        """The threshold for the trigger sentences of one article, given all their probabilities:
        lower in an article that surely reports an event (see ``REPORT_ANCHOR``)."""
        if probabilities and max(probabilities) >= self.anchor:
            return min(self.threshold, self.in_report_threshold)
        return self.threshold


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
    sentences = training_sentences(args.language)
    if args.command == "train":
        model = train(sentences, language=args.language)
        save(model, MODEL_ROOT / args.language, data_digest=digest(sentences))
        print(f"trained on {len(sentences)} sentences -> {MODEL_ROOT / args.language}")
        return 0
    held_out = [s for i, s in enumerate(sentences) if i % 5 == 0]
    model = ContextModel(train([s for i, s in enumerate(sentences) if i % 5], language=args.language))
    print(score(model, held_out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
