"""Which trigger words report no current incident: denials, plans, metaphors, sport and history.

A trigger word ("bataille", "tirs", "offensive") is not yet an incident. Real news is mostly
politics, economy, sport and culture, where the same words are metaphors ("la bataille électorale"),
sport ("tirs au but"), fiction, commemorations of old wars, denials ("a démenti que des tirs aient eu
lieu") and plans ("en cas d'offensive", "des tirs réels sont prévus"). The guards rule them out:

- a word just before the trigger that denies it or makes it hypothetical (``guards.before``);
- a qualifier just after it that makes it a metaphor or a plan (``guards.after``);
- words anywhere in the sentence that make it no current incident (``guards.sentence``);
- a date: an event the sentence dates in a year at least :data:`HISTORY_YEARS` before the
  article's, or, when it gives no date, a sentence naming such a year ("en 1992", "la guerre de
  1918"), tells history, not news; a year after "depuis" ("since", the pack's ``grammar.since``)
  does not count ("les pires combats depuis
  1994" is news). Five years, not a few months: news articles recall the last rounds of the same
  conflict ("l'offensive de septembre 2022 avait fait 300 morts") as incidents an analyst wants
  mapped (the team's gold files count them), while battles of other decades are history. In an
  article whose headline is itself guarded (a commemoration, a denial, a book), the article is about
  no new incident: there an event dated more than :data:`QUIET_HISTORY_DAYS` before it, or a year
  at least :data:`QUIET_HISTORY_YEARS` before, is the article's background, not news.

The words live in ``geomap/lexicon/<language>/guards.toml`` with their examples. A guard on one
trigger word leaves the sentence's other triggers free to fire ("la bataille électorale" guarded,
"des tirs" in the same sentence still count); a sentence guard or a date rules out them all.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from geomap.dates import event_date
from geomap.lexicon import DEFAULT_LANGUAGE, TriggerRule, load

HISTORY_YEARS = 5
QUIET_HISTORY_DAYS = 90
QUIET_HISTORY_YEARS = 2
WINDOW_CHARS = 100  # how far before and after a trigger word its own guards look

_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_WORD_END = re.compile(r"\w*")


@dataclass(frozen=True, slots=True)
class _Guards:
    """One language's guards, compiled from its lexicon."""

    before: re.Pattern[str]
    after: re.Pattern[str]
    sentence: re.Pattern[str]
    since: re.Pattern[str]  # a year after this word is a starting point: "depuis 1994", "since 2020"
    rules: tuple[TriggerRule, ...]


@cache
def _guards(language: str) -> _Guards:
    lexicon = load(language)
    return _Guards(
        before=re.compile(lexicon["guards.before"].alternation() + r"\s*$", re.I),
        after=re.compile(lexicon["guards.after"].alternation(), re.I),
        sentence=re.compile(r"\b" + lexicon["guards.sentence"].alternation(), re.I),
        since=re.compile(r"\b" + lexicon["grammar.since"].alternation() + r"\b[^.;:]{0,30}$", re.I),
        rules=lexicon.rules,
    )


def sentence_guarded(
    sentence: str, *, published: dt.date | None, quiet: bool = False, language: str = DEFAULT_LANGUAGE
) -> bool:
    """Whether nothing in the sentence can be a current incident (its words, or its date);
    ``quiet``: the article's headline is guarded (see ``is_history``)."""
    if _guards(language).sentence.search(sentence):
        return True
    return is_history(sentence, published=published, quiet=quiet, language=language)


def is_history(
    sentence: str, *, published: dt.date | None, quiet: bool = False, language: str = DEFAULT_LANGUAGE
) -> bool:
    """Whether the sentence tells of an event long before the article (see the module's docstring);
    ``quiet`` for an article whose headline reports no incident, where recent past is history too."""
    if published is None:
        return False
    last_historic_year = published.year - (QUIET_HISTORY_YEARS if quiet else HISTORY_YEARS)
    date, _ = event_date(sentence, published, language=language)
    if date is not None and quiet:
        return date < published - dt.timedelta(days=QUIET_HISTORY_DAYS)
    if date is not None:
        return date.year <= last_historic_year
    return any(
        int(m.group(1)) <= last_historic_year and not _guards(language).since.search(sentence[: m.start()])
        for m in _YEAR.finditer(sentence)
    )


def continues_history(
    sentence: str, previous: str, *, published: dt.date | None, language: str = DEFAULT_LANGUAGE
) -> bool:
    """Whether an undated sentence goes on telling the history its paragraph's previous sentence
    dates ("Le 1er février 2008, des colonnes rebelles entrent dans la ville. Pendant deux jours,
    des obus tombent sur les quartiers."): a narrative keeps its time until a new date is given.
    Read so only in an article of another genre (a review, a commemoration): a report's undated
    sentence after a recalled battle is as often the new event ("En 2020, la ville avait été prise.
    Des tirs l'ont visée mardi." has a date; a report seldom leaves it out, a novel's review seldom
    gives it)."""
    if published is None or _YEAR.search(sentence):
        return False
    if event_date(sentence, published, language=language)[0] is not None:
        return False
    return is_history(previous, published=published, quiet=True, language=language)


def _word_end(sentence: str, at: int) -> int:
    match = _WORD_END.match(sentence, at)
    return match.end() if match else at


def trigger_guarded(sentence: str, start: int, end: int, *, language: str = DEFAULT_LANGUAGE) -> bool:
    """Whether the trigger at ``start:end`` is denied, hypothetical or a metaphor.

    The qualifier may follow the trigger's first word ("attaques verbales contre les populations",
    where the trigger spans the whole phrase) or the whole trigger ("échange de tirs au but").
    """
    guards = _guards(language)
    if guards.before.search(sentence[max(0, start - WINDOW_CHARS) : start]):
        return True
    ends = {_word_end(sentence, start), _word_end(sentence, end)}
    return any(guards.after.match(sentence[at : at + WINDOW_CHARS]) for at in ends)


def current_event(
    sentence: str,
    *,
    published: dt.date | None,
    quiet: bool = False,
    language: str = DEFAULT_LANGUAGE,
    rules: Sequence[TriggerRule] | None = None,
) -> tuple[TriggerRule, int] | None:
    """The first rule one of whose trigger words reports a current incident, and where that word
    starts; None when no trigger fires or every one is guarded (rules are tried in order, as in
    ``geomap.triggers.first_event``; by default the language's own). ``quiet``: the article's
    headline is guarded.

    Most sentences hold no trigger word: the sentence's guards (its words, its dates, which take
    the longest to read) are read only once a trigger is found."""
    chosen = _guards(language).rules if rules is None else rules
    found = ((rule, match) for rule in chosen for match in rule.pattern.finditer(sentence))
    first = next(found, None)
    if first is None or sentence_guarded(sentence, published=published, quiet=quiet, language=language):
        return None
    for rule, match in itertools.chain([first], found):
        if not trigger_guarded(sentence, match.start(), match.end(), language=language):
            return rule, match.start()
    return None
