"""What an incident cost: the killed and injured figures a sentence reports.

A figure is a number, in digits ("6 500", "49") or words ("dix-huit", "vingt et un", "twenty-one"),
next to a word for the dead or wounded: "trois soldats ont été tués", "two civilians were killed",
"a fait au moins dix victimes", "wounded five soldiers". The number words, the nouns for victims,
the words for the dead and the wounded, the auxiliaries and verbs, and the approximators ("au moins",
"at least") come from the language's lexicon (``casualties.toml``); the shape of the phrases is the
grammar below, the same in every language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from geomap.lexicon import DEFAULT_LANGUAGE, load

# A number has at most this many groups of three digits after the first ("1 200 000" has two) and
# this many words after the first ("deux-cent-quatre-vingt-dix-neuf-mille-neuf-cent-quatre-vingt-
# dix-neuf" has eleven). Unbounded, the patterns below tried every shorter number at every start:
# "vingt-vingt-..." or "111 111 ..." cost the square of their length (48 KB took 33 s).
MAX_DIGIT_GROUPS = 6
MAX_NUMBER_WORDS = 12
# A casualty figure has at most this many digits: a longer one is no count of people (and would not
# fit a GeoPackage's integer column, nor, beyond 4,300 digits, even become a Python int).
MAX_COUNT_DIGITS = 9
_DIGIT_GROUPING = re.compile(r"[ \u00a0\u202f.]")
_NUMBER_WORD_SEPARATORS = re.compile(r"[- ]+")


@dataclass(frozen=True, slots=True)
class _Grammar:
    """One language's casualty phrases, compiled from its lexicon."""

    numbers: Mapping[str, int]  # number words and their values
    joiners: re.Pattern[str]  # the word inside compounds ("vingt et un")
    killed: tuple[re.Pattern[str], ...]  # a killed figure in group 1
    injured: tuple[re.Pattern[str], ...]  # an injured figure in group 1
    injury: re.Pattern[str]  # a word for the wounded: a "killed" phrase holding one is the injured figure


@cache
def _grammar(language: str) -> _Grammar:
    lexicon = load(language)

    def any_of(key: str, *, suffix: str = "") -> str:
        return lexicon[key].alternation(suffix=suffix)

    numbers = MappingProxyType(
        {e.text: e.value for e in lexicon["casualties.number"].entries if e.value is not None}
    )
    word = "(?:" + "|".join(re.escape(w) for w in sorted(numbers, key=len, reverse=True)) + ")"
    joiner = any_of("casualties.joiner")
    # Digits ("6 500", "49") or number words, compounds included ("dix-huit", "vingt et un").
    number = (
        r"(?<!\w)(\d{1,3}(?:[ \u00a0\u202f.]\d{3}){1,"
        + str(MAX_DIGIT_GROUPS)
        + r"}|\d+|"
        + word
        + rf"(?:(?:-{joiner}-|-| {joiner} )"
        + word
        + r"){0,"
        + str(MAX_NUMBER_WORDS - 1)
        + r"})(?!\w)"
    )
    about = any_of("casualties.approximator", suffix=" ") + "?"
    victims = any_of("casualties.victim")
    dead = any_of("casualties.killed") + r"\b"
    wounded = any_of("casualties.injured") + r"\b"
    auxiliary = any_of("casualties.auxiliary", suffix=r"\s+") + "?"
    # "trois soldats tués", "deux civils ont été tués", "two soldiers were killed"
    killed = about + number + r"\s+(?:\w+\s+){0,2}?(?:" + dead + "|" + victims
    killed += r"(?:\s+\w+){0,2}\s+" + auxiliary + dead + ")"
    # "a tué trois civils", "a fait dix victimes", "left ten people dead"
    killed_after = any_of("casualties.killing_verb") + r"\s+" + about + number + r"\s+" + victims
    # "cinq blessés", "deux soldats ont été blessés", "five were wounded"
    injured = about + number + r"\s+(?:(?!" + dead + "|" + joiner + r"\b)[^\W\d]+\s+){0,3}?"
    injured += auxiliary + wounded
    # "a blessé deux soldats", "wounding three civilians"
    injured_after = any_of("casualties.injuring_verb") + r"\s+" + about + number + r"\s+" + victims
    return _Grammar(
        numbers=numbers,
        joiners=re.compile(r"^" + joiner + "$", re.I),
        killed=(re.compile(killed, re.I), re.compile(killed_after, re.I)),
        injured=(re.compile(injured, re.I), re.compile(injured_after, re.I)),
        injury=re.compile(r"\b" + wounded, re.I),
    )


def parse_number(text: str, *, language: str = DEFAULT_LANGUAGE) -> int | None:
    """An integer from digits ("6 500") or number words ("dix-huit", "quatre-vingt-dix", "deux
    cents", "one hundred and twenty"): tens and units add up, "cent"/"hundred" and "mille"/"thousand"
    multiply, and a twenty after a four is eighty (French "quatre-vingts")."""
    text = text.lower().strip()
    digits = _DIGIT_GROUPING.sub("", text)
    if digits.isdigit():
        return int(digits) if len(digits) <= MAX_COUNT_DIGITS else None
    grammar = _grammar(language)
    numbers = grammar.numbers
    words = [w for w in _NUMBER_WORD_SEPARATORS.split(text) if w and not grammar.joiners.match(w)]
    if not words or any(w.rstrip("s") not in numbers and w not in numbers for w in words):
        return None
    total, current = 0, 0
    for word in words:
        value = numbers.get(word, numbers.get(word.rstrip("s"), 0))
        if value == 1000:
            total += max(current, 1) * 1000
            current = 0
        elif value == 100:
            current = max(current, 1) * 100
        elif value == 20 and current % 100 == 4:  # quatre-vingt(s)
            current = current - 4 + 80
        else:
            current += value
    return total + current if total + current < 10**MAX_COUNT_DIGITS else None


def casualties(sentence: str, *, language: str = DEFAULT_LANGUAGE) -> tuple[int | None, int | None]:
    """Fatalities and injured a sentence reports, or None when it gives no number."""
    grammar = _grammar(language)
    killed = None
    for pattern in grammar.killed:
        for match in pattern.finditer(sentence):
            if grammar.injury.search(match.group(0)):
                continue
            value = parse_number(match.group(1), language=language)
            if value is not None:
                killed = max(killed or 0, value)
    injured = None
    for pattern in grammar.injured:
        for match in pattern.finditer(sentence):
            value = parse_number(match.group(1), language=language)
            if value is not None:
                injured = max(injured or 0, value)
    return killed, injured
