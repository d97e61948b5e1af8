"""What an incident cost: the killed and injured figures a sentence reports.

A figure is a number, in digits ("6 500", "49") or French words ("dix-huit", "vingt et un"), next to
a word for the dead or wounded: "trois soldats ont été tués", "a fait au moins dix victimes",
"cinq blessés". The number words, the nouns for victims and the approximators ("au moins") come
from the lexicon (``casualties.toml``); the shape of the phrases is the grammar below.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from geomap.lexicon import load

_LEXICON = load()

# French number words and their values; compounds are read by ``parse_number``.
NUMBER_WORDS: Mapping[str, int] = MappingProxyType(
    {e.text: e.value for e in _LEXICON["casualties.number"].entries if e.value is not None}
)
_NUMBER_WORD = "(?:" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + ")"
# A number has at most this many groups of three digits after the first ("1 200 000" has two) and
# this many words after the first ("deux-cent-quatre-vingt-dix-neuf-mille-neuf-cent-quatre-vingt-
# dix-neuf" has eleven). Unbounded, the patterns below tried every shorter number at every start:
# "vingt-vingt-..." or "111 111 ..." cost the square of their length (48 KB took 33 s).
MAX_DIGIT_GROUPS = 6
MAX_NUMBER_WORDS = 12
# Digits ("6 500", "49") or French number words, compounds included ("dix-huit", "vingt et un").
_NUMBER = (
    r"(?<!\w)(\d{1,3}(?:[ \u00a0\u202f.]\d{3}){1,"
    + str(MAX_DIGIT_GROUPS)
    + r"}|\d+|"
    + _NUMBER_WORD
    + r"(?:(?:-et-|-| et )"
    + _NUMBER_WORD
    + r"){0,"
    + str(MAX_NUMBER_WORDS - 1)
    + r"})(?!\w)"
)
# A casualty figure has at most this many digits: a longer one is no count of people (and would not
# fit a GeoPackage's integer column, nor, beyond 4,300 digits, even become a Python int).
MAX_COUNT_DIGITS = 9
_VICTIMS = _LEXICON["casualties.victim"].alternation()
_ABOUT = _LEXICON["casualties.approximator"].alternation(suffix=" ") + "?"
_KILLED = re.compile(
    _ABOUT
    + _NUMBER
    + r"\s+(?:\w+\s+){0,2}?"
    + r"(?:morts?|tués?|(?:"
    + _VICTIMS
    + r"(?:\s+\w+){0,2}\s+(?:ont été |a été |sont |est |ont )?(?:tués?|morts?|décédés?)))",
    re.I,
)
_KILLED_AFTER = re.compile(r"(?:tué|fait)\s+" + _ABOUT + _NUMBER + r"\s+" + _VICTIMS, re.I)
_INJURED = re.compile(
    _ABOUT + _NUMBER + r"\s+(?:(?!morts?\b|tués?\b|et\b)[^\W\d]+\s+){0,3}?(?:ont été |a été |sont )?blessés?",
    re.I,
)
_INJURY = "bless"  # a killed figure whose phrase speaks of wounds is the injured one

_DIGIT_GROUPING = re.compile(r"[ \u00a0\u202f.]")
_NUMBER_WORD_SEPARATORS = re.compile(r"[- ]+")


def parse_number(text: str) -> int | None:
    """An integer from digits ("6 500") or French words ("dix-huit", "quatre-vingt-dix", "deux cents")."""
    text = text.lower().strip()
    digits = _DIGIT_GROUPING.sub("", text)
    if digits.isdigit():
        return int(digits) if len(digits) <= MAX_COUNT_DIGITS else None
    words = [w for w in _NUMBER_WORD_SEPARATORS.split(text) if w and w != "et"]
    if not words or any(w.rstrip("s") not in NUMBER_WORDS and w not in NUMBER_WORDS for w in words):
        return None
    total, current = 0, 0
    for word in words:
        value = NUMBER_WORDS.get(word, NUMBER_WORDS.get(word.rstrip("s"), 0))
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


def casualties(sentence: str) -> tuple[int | None, int | None]:
    """Fatalities and injured a sentence reports, or None when it gives no number."""
    killed = None
    for pattern in (_KILLED, _KILLED_AFTER):
        for match in pattern.finditer(sentence):
            if _INJURY in match.group(0).lower():
                continue
            value = parse_number(match.group(1))
            if value is not None:
                killed = max(killed or 0, value)
    injured = None
    for match in _INJURED.finditer(sentence):
        value = parse_number(match.group(1))
        if value is not None:
            injured = max(injured or 0, value)
    return killed, injured
