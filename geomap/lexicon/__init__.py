"""The words and patterns geomap reads a language with, as data: one TOML file per concern and language.

Every trigger, cue, role verb, force noun, named-after noun, title, stop word and word of page
furniture that ``geomap.triggers``, ``geomap.guards``, ``geomap.locating``, ``geomap.casualties``,
``geomap.actors``, ``geomap.extract`` and ``geomap.context`` use lives in
``geomap/lexicon/<language>/*.toml``; the code keeps only the grammar that strings them together.
A file holds one or more *lists* (arrays of tables); each *entry* of a list is one word or one
regular-expression fragment, with example sentences written for it::

    [[verb]]
    pattern = "annonc"
    examples.positive = ["[Goris] a annoncé la réouverture des écoles."]
    examples.negative = ["[Goris], annoncée comme calme, a reçu des renforts."]

An example is a string, or a table ``{ text = "...", xfail = "why it fails today" }`` for an example
the current rules get wrong: the test expects it to fail (strictly: when the rules are fixed it
turns red until the mark is removed). Loading validates every file: known lists and keys only,
each entry with at least one positive and one negative example, each pattern a regular expression
that compiles, no two entries of a file with the same id (an entry's id is its ``id`` key, or else
its word or pattern), every example of a *marked* list (below) holding exactly one ``[name]``. A bad
file raises ``LexiconError`` naming the file and the entry.

What the examples assert, list by list (``tests/test_lexicon.py`` runs them all). A marked list's
examples put the name the rule is about between brackets; "before" is the sentence's text before
that name (at most 80 characters), "after" the text after it, as ``geomap.locating`` reads them.

- ``triggers`` rule entries: a positive sentence makes the entry's pattern fire, is typed by the
  entry's rule (the first rule whose patterns fire on it), and the whole pipeline finds in it an
  incident of the rule's sub-event type. A negative sentence names a place the pipeline resolves,
  yet the pipeline finds no incident of that sub-event type in it: a look-alike word the pattern must
  not match, or a sense (a metaphor, sport, a denial) that the pattern matches but the detector
  must rule out.
- ``guards`` (``geomap.guards``): ``before`` — words just before a trigger that deny it or make it
  hypothetical ("aucune attaque", "en cas d'offensive"); ``after`` — a qualifier just after it that
  makes it a metaphor or a plan ("bataille électorale", "tirs prévus"); ``sentence`` — words anywhere
  in the sentence that make it no current incident (sport, a denial, fiction, a commemoration). A
  positive sentence makes a trigger fire, holds the entry's pattern, and the pipeline finds no
  incident in it; a negative one is a real incident, often with a look-alike of the guard, and the
  pipeline finds an incident in it.
- ``dates`` (``geomap.dates``): each example is an event's sentence in an article of the pack's
  language published on Friday 16 September 2022 (``event_date(sentence, published, language=...)``).
  ``month`` and ``month_abbreviation`` — a positive sentence gives a date in the entry's month, a
  negative one none in it (a look-alike: "may", the planet Mars, "sept" the number); ``weekday`` —
  a date on that weekday, or none on it (a coming "next Monday"); ``relative`` and ``week`` — a date
  ``value`` days before the article, or none at that distance; ``ago`` — a date a whole multiple of
  ``value`` days before, or no date; ``number`` — an "ago" phrase with the word gives a date, the
  word alone none; ``future_after`` and ``future_before`` — a weekday with the word gives no date,
  one without it gives a date; ``month_cue`` — a date of precision "month", or none;
  ``day_suffix`` and ``day_joiner`` — a date of precision "day", or no date.
- ``casualties``: ``number`` — the word's ``value`` is among the killed and injured figures
  ``casualties()`` reads in a positive sentence and not among those of a negative one; the other
  lists (victims, approximators, words for the dead and wounded, auxiliaries, verbs, the joiner of
  compound numbers) — ``casualties()`` reads a figure in a positive sentence and none in a negative one.
- ``forces``: ``force`` — ``actors_of()`` names an armed actor in a positive sentence and none in a
  negative one; ``peacekeeper`` — it names peacekeepers in a positive sentence and none in a negative.
- ``actor_verbs`` (marked): the text after the name makes it the subject of a speech or political
  act (``locating.acts``) in a positive sentence, not in a negative one.
- ``actor_cues`` (marked): the text before the name introduces an actor (``locating.actor_cue_before``),
  or does not.
- ``seats`` (marked): the text before the name makes it the seat of an institution
  (``locating.seat_before``), or does not.
- ``scene_cues`` and ``event_nouns`` (marked): the text before the name makes it the scene of the
  event (``locating.locative_before``), or does not; ``agent_nouns`` (marked): it makes a country
  named there the doer (``locating.agent_noun_before``), or does not.
- ``diplomacy``: the sentence is about talks (``locating.about_talks``), or is not.
- ``national_areas``: the sentence names a national area ("le territoire arménien") whose country
  ``locating.national_area`` finds, or names none.
- ``determiners`` (marked; the brackets hold a candidate name with the word before it):
  ``extract.strip_determiners`` removes the leading word from the bracketed span, or removes none.
- ``articles``, ``locative_cues`` (marked): the name has a locative cue among the two words before it
  in its clause, articles left out (``extract.cues_before``), or has none; ``area_words`` and
  ``weak_cues`` (marked): the same for an area cue and a weak cue.
- ``named_after`` and ``quoted_org_nouns`` (marked): the bracketed name is a look-alike, the name of
  something else (``extract.is_look_alike``), or is not.
- ``place_prepositions`` (marked): ``extract.cued_names`` proposes a name starting at the bracket, or
  proposes none there.
- ``grammar`` (marked; the brackets hold the grammar word itself): a positive example's bracketed
  words are the entry's (its word, or a full match of its pattern, whatever the case), a negative
  one's are a look-alike that is not. What the words do is shown by the examples of the lists the
  rules string together with them.
- ``person_titles`` (marked): the title keeps ``extract.proper_names`` from taking the bracketed
  name (a person's), or the word is there and the name is still taken.
- ``furniture`` (marked; the brackets hold the word that opens the line): each example is a line of
  a saved page, of at least ``context.LEDE_MIN_WORDS`` words, after a headline. A positive one opens
  with the entry's word and is page furniture (a byline, a date of publication or update, a reading
  time, a credit) that ``context.lede`` drops; a negative one is a line of copy that opens with a
  look-alike ("Parmi", "Bypass"), which it keeps. The lede reader reads the words of every pack.

A negative example is a sentence where a naive reader might expect the entry to apply (another
sense, a look-alike word, a metaphor, a denial) and where it must not.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from geomap.errors import GeomapError

LEXICON_DIR = Path(__file__).resolve().parent
DEFAULT_LANGUAGE = "fr"
_MARK = re.compile(r"\[([^\[\]]+)\]")


@cache
def languages() -> tuple[str, ...]:
    """The languages geomap has a pack for (a folder of ``geomap/lexicon``), the default first."""
    found = sorted(p.name for p in LEXICON_DIR.iterdir() if (p / f"{TRIGGERS_FILE}.toml").is_file())
    return tuple(sorted(found, key=lambda code: code != DEFAULT_LANGUAGE))


def pack_language(code: str | None) -> str:
    """The pack an article of language ``code`` is read with: its own, or the default language's
    when its language is unknown (too short to tell) or has no pack."""
    return code if code in languages() else DEFAULT_LANGUAGE


class LexiconError(GeomapError, ValueError):
    """A lexicon file that cannot be read or breaks the schema; the message names file and entry."""

    def __init__(self, path: Path | str, problem: str, *, entry: str | None = None) -> None:
        self.path = str(path)
        self.entry = entry
        self.problem = problem
        where = f"{self.path} [{entry}]" if entry else self.path
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class Example:
    """One example sentence; ``xfail`` says why the current rules get it wrong, if they do."""

    text: str
    xfail: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One word or pattern of a list, with the sentences that show what it does and must not do."""

    id: str
    text: str  # the word, or the regular-expression fragment
    positive: tuple[Example, ...]
    negative: tuple[Example, ...]
    value: int | None = None  # a number word's value


@dataclass(frozen=True, slots=True)
class WordList:
    """The entries of one list of one file, in file order (order matters to some patterns)."""

    file: str
    name: str
    kind: Literal["word", "pattern"]
    marked: bool
    entries: tuple[Entry, ...]

    @property
    def texts(self) -> tuple[str, ...]:
        """The words or patterns, in file order."""
        return tuple(e.text for e in self.entries)

    def alternation(self, *, prefix: str = "", suffix: str = "") -> str:
        """One non-capturing group matching any entry, each wrapped in ``prefix`` and ``suffix``
        (words are escaped, patterns are not)."""
        parts = (e.text if self.kind == "pattern" else re.escape(e.text) for e in self.entries)
        return "(?:" + "|".join(prefix + p + suffix for p in parts) + ")"


@dataclass(frozen=True, slots=True)
class TriggerRule:
    """Event triggers and the ACLED-style type they signal; rules are tried by ``order``."""

    id: str
    order: int
    event_type: str
    sub_event_type: str
    triggers: tuple[Entry, ...]
    pattern: re.Pattern[str]  # any of the triggers, at the start of a word, whatever the case


@dataclass(frozen=True, slots=True)
class Lexicon:
    """A language's lists (keyed ``"file.list"``) and event rules (in order)."""

    language: str
    lists: Mapping[str, WordList]
    rules: tuple[TriggerRule, ...]

    def __getitem__(self, key: str) -> WordList:
        try:
            return self.lists[key]
        except KeyError:
            raise KeyError(f"no list {key!r} in the {self.language!r} lexicon") from None

    def words(self, key: str) -> frozenset[str]:
        """The words of a word list, as a set."""
        return frozenset(self[key].texts)

    def entries(self) -> Iterator[tuple[str, str, Entry, TriggerRule | None]]:
        """Every entry as (file, list, entry, its rule for a trigger), for the examples' test."""
        for rule in self.rules:
            for trigger in rule.triggers:
                yield "triggers", "trigger", trigger, rule
        for words in self.lists.values():
            for entry in words.entries:
                yield words.file, words.name, entry, None


@dataclass(frozen=True, slots=True)
class ListSpec:
    """What one list holds: words or patterns, and whether its examples mark a name."""

    kind: Literal["word", "pattern"]
    marked: bool = False
    valued: bool = False  # entries carry an integer ``value``


_W, _P = ListSpec("word"), ListSpec("pattern")
_MW, _MP = ListSpec("word", marked=True), ListSpec("pattern", marked=True)

# The lists each file must hold; any other file, list or key is an error.
SCHEMA: Mapping[str, Mapping[str, ListSpec]] = MappingProxyType(
    {
        # geomap.casualties and geomap.actors
        "casualties": {
            "number": ListSpec("word", valued=True),
            "victim": _P,
            "approximator": _P,
            "killed": _P,
            "injured": _P,
            "auxiliary": _P,
            "killing_verb": _P,
            "injuring_verb": _P,
            "joiner": _P,
        },
        "forces": {"force": _P, "peacekeeper": _W},
        # geomap.locating
        "actor_verbs": {"auxiliary": _MP, "adverb": _MP, "verb": _MP},
        "actor_cues": {"cue": _MP},
        "seats": {"institution": _MP},
        "scene_cues": {"preposition": _MP, "place_noun": _MP, "attack_participle": _MP},
        "event_nouns": {"noun": _MP},
        "agent_nouns": {"noun": _MP},
        "diplomacy": {"word": _P},
        "national_areas": {"noun": _P},
        # geomap.guards
        "guards": {"before": _P, "after": _P, "sentence": _P},
        # geomap.dates
        "dates": {
            "month": ListSpec("word", valued=True),
            "month_abbreviation": ListSpec("word", valued=True),
            "weekday": ListSpec("word", valued=True),
            "future_after": _W,
            "future_before": _W,
            "relative": ListSpec("pattern", valued=True),
            "ago": ListSpec("pattern", valued=True),
            "number": ListSpec("word", valued=True),
            "week": ListSpec("pattern", valued=True),
            "month_cue": _P,
            "day_suffix": _P,
            "day_joiner": _P,
        },
        # geomap.extract
        "determiners": {"word": _MW},
        "articles": {"word": _MW},
        "named_after": {"before": _MW, "after": _MW},
        "quoted_org_nouns": {"noun": _MW},
        "locative_cues": {"word": _MW},
        "weak_cues": {"word": _MW},
        "area_words": {"word": _MW},
        "place_prepositions": {"preposition": _MW, "near": _MW},
        "person_titles": {"title": _MW},
        # geomap.context: the lede reader's page furniture (read in every pack: see ``pack_list``)
        "furniture": {"word": _MW},
        # the grammar words of geomap.locating, geomap.extract and geomap.guards
        "grammar": {
            "of": _MW,
            "agent": _MW,
            "object": _MW,
            "filler": _MW,
            "conjunction": _MW,
            "coordination_preposition": _MW,
            "subject_determiner": _MW,
            "clause_opener": _MW,
            "seat_preposition": _MW,
            "finite_verb": _MP,
            "passive": _MP,
            "since": _MW,
        },
    }
)
TRIGGERS_FILE = "triggers"
_RULE_KEYS = {"id", "order", "event_type", "sub_event_type", "trigger"}
_ENTRY_KEYS = {"id", "word", "pattern", "value", "examples"}


@cache
def load(language: str = DEFAULT_LANGUAGE, *, directory: Path | None = None) -> Lexicon:
    """The validated lexicon of ``language`` (loaded once per process).

    ``directory`` replaces the packaged one (``geomap/lexicon/<language>``), for tests.
    """
    folder = directory or LEXICON_DIR / language
    if not folder.is_dir():
        raise LexiconError(folder, f"no lexicon for language {language!r}")
    present = {p.stem for p in folder.glob("*.toml")}
    expected = {*SCHEMA, TRIGGERS_FILE}
    if missing := sorted(expected - present):
        raise LexiconError(folder, f"missing file(s): {', '.join(f + '.toml' for f in missing)}")
    if unknown := sorted(present - expected):
        raise LexiconError(folder, f"unknown file(s): {', '.join(f + '.toml' for f in unknown)}")
    lists: dict[str, WordList] = {}
    for name, specs in SCHEMA.items():
        path = folder / f"{name}.toml"
        lists.update({f"{name}.{w.name}": w for w in _read_lists(path, name, _read_toml(path), specs)})
    triggers = folder / f"{TRIGGERS_FILE}.toml"
    rules = _read_rules(triggers, _read_toml(triggers))
    return Lexicon(language, MappingProxyType(lists), rules)


@cache
def pack_list(language: str, key: str) -> WordList:
    """One list (``"file.list"``) of the pack of ``language``, read and validated alone: for a reader
    that needs one list of every pack (the lede reader drops the page furniture of every language),
    without loading every pack whole (a pack takes a tenth of a second, one small file a millisecond)."""
    file, _, name = key.partition(".")
    specs = SCHEMA.get(file, {})
    if name not in specs:
        raise LexiconError(LEXICON_DIR / language, f"no list {key!r} in the lexicon's schema")
    path = LEXICON_DIR / language / f"{file}.toml"
    return next(w for w in _read_lists(path, file, _read_toml(path), specs) if w.name == name)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise LexiconError(path, f"cannot read: {error}") from error


def _read_lists(path: Path, file: str, data: dict[str, Any], specs: Mapping[str, ListSpec]) -> list[WordList]:
    if unknown := sorted(set(data) - set(specs)):
        raise LexiconError(path, f"unknown list(s) {unknown}; expected {sorted(specs)}")
    ids: set[str] = set()
    found = []
    for name, spec in specs.items():
        raw = data.get(name)
        if not isinstance(raw, list) or not raw:
            raise LexiconError(path, f"list {name!r} is missing or empty (write it as [[{name}]] tables)")
        entries = tuple(_read_entry(path, name, item, spec, ids) for item in raw)
        found.append(WordList(file, name, spec.kind, spec.marked, entries))
    return found


def _read_rules(path: Path, data: dict[str, Any]) -> tuple[TriggerRule, ...]:
    if set(data) != {"rule"} or not isinstance(data["rule"], list):
        raise LexiconError(path, "a triggers file holds [[rule]] tables and nothing else")
    ids: set[str] = set()
    orders: set[int] = set()
    rules = []
    for raw in data["rule"]:
        rule_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(rule_id, str) or not rule_id:
            raise LexiconError(path, "a rule without an id")
        if unknown := sorted(set(raw) - _RULE_KEYS):
            raise LexiconError(path, f"unknown key(s) {unknown}", entry=rule_id)
        for key in ("event_type", "sub_event_type"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise LexiconError(path, f"{key} must be a non-empty string", entry=rule_id)
        order = raw.get("order")
        if not isinstance(order, int) or isinstance(order, bool) or order in orders:
            raise LexiconError(path, "order must be an integer no other rule has", entry=rule_id)
        if rule_id in ids:
            raise LexiconError(path, "duplicate id", entry=rule_id)
        ids.add(rule_id)
        orders.add(order)
        triggers = raw.get("trigger")
        if not isinstance(triggers, list) or not triggers:
            raise LexiconError(path, "a rule needs [[rule.trigger]] entries", entry=rule_id)
        entries = tuple(_read_entry(path, f"{rule_id}.trigger", t, _P, ids) for t in triggers)
        pattern = _compile(path, rule_id, r"\b(?:" + "|".join(t.text for t in entries) + ")")
        rules.append(TriggerRule(rule_id, order, raw["event_type"], raw["sub_event_type"], entries, pattern))
    return tuple(sorted(rules, key=lambda r: r.order))


def _read_entry(path: Path, where: str, raw: object, spec: ListSpec, ids: set[str]) -> Entry:
    if not isinstance(raw, dict):
        raise LexiconError(path, f"an entry of {where!r} is not a table")
    key = spec.kind
    text = raw.get(key)
    entry_id = raw.get("id", text)
    label = entry_id if isinstance(entry_id, str) else f"{where}: {raw!r}"[:80]
    if not isinstance(text, str) or not text:
        raise LexiconError(path, f"an entry of {where!r} needs a non-empty {key!r}", entry=label)
    if not isinstance(entry_id, str) or not entry_id:
        raise LexiconError(path, "id must be a non-empty string", entry=label)
    unknown = sorted(set(raw) - _ENTRY_KEYS) + [k for k in ("word", "pattern") if k in raw and k != key]
    if unknown:
        raise LexiconError(path, f"unknown key(s) {unknown} in {where!r}", entry=entry_id)
    if entry_id in ids:
        raise LexiconError(path, "duplicate id", entry=entry_id)
    ids.add(entry_id)
    if key == "pattern":
        _compile(path, entry_id, text)
    value = raw.get("value")
    if spec.valued != (value is not None) or (value is not None and type(value) is not int):
        need = "an integer value" if spec.valued else "no value"
        raise LexiconError(path, f"entries of {where!r} take {need}", entry=entry_id)
    positive, negative = _read_examples(path, entry_id, raw.get("examples"), marked=spec.marked)
    return Entry(entry_id, text, positive, negative, value)


def _read_examples(
    path: Path, entry: str, raw: object, *, marked: bool
) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    if not isinstance(raw, dict) or set(raw) - {"positive", "negative"}:
        raise LexiconError(path, "examples must be a table of 'positive' and 'negative' lists", entry=entry)
    found = []
    for side in ("positive", "negative"):
        items = raw.get(side)
        if not isinstance(items, list) or not items:
            raise LexiconError(path, f"no {side} example", entry=entry)
        examples = tuple(_read_example(path, entry, side, item) for item in items)
        if marked:
            for example in examples:
                if len(_MARK.findall(example.text)) != 1:
                    raise LexiconError(
                        path, f"{side} example must mark one [name]: {example.text!r}", entry=entry
                    )
        found.append(examples)
    return found[0], found[1]


def _read_example(path: Path, entry: str, side: str, raw: object) -> Example:
    if isinstance(raw, str):
        text, xfail = raw, None
    elif isinstance(raw, dict) and set(raw) <= {"text", "xfail"}:
        text, xfail = raw.get("text"), raw.get("xfail")
    else:
        text, xfail = None, None
    if not isinstance(text, str) or not text.strip() or (xfail is not None and not isinstance(xfail, str)):
        raise LexiconError(
            path, f"a {side} example is a sentence or {{ text = ..., xfail = reason }}", entry=entry
        )
    return Example(text, xfail or None)


def _compile(path: Path, entry: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.I)
    except re.error as error:
        raise LexiconError(path, f"pattern does not compile: {error}: {pattern!r}", entry=entry) from error


def unmark(text: str) -> tuple[str, int, int]:
    """An example without its brackets, and where the bracketed name starts and ends in it."""
    match = _MARK.search(text)
    if match is None:
        return text, -1, -1
    plain = text[: match.start()] + match.group(1) + text[match.end() :]
    return plain, match.start(), match.start() + len(match.group(1))
