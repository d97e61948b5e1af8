"""When: date expressions resolved against the article's date, with their precision.

Explicit dates in either order ("le 13 septembre", "September 13, 2022", "13 Sept. 2022", "Sept
13-14", "13/09/2022"), weekdays ("mardi", "on Tuesday", "dans la nuit de lundi à mardi"), relative
words ("hier", "last night", "la semaine dernière", "three days ago") and months ("en août", "fin
septembre", "in mid-October"). A date is never invented: without the article's date, a weekday or a
relative word gives no date. An event whose sentence gives no date is dated by its article, as
"reported" (ACLED's time_precision 2).

The words are each language's data (``geomap/lexicon/<language>/dates.toml``: months, their
abbreviations, weekdays, relative words, number words, month cues, day suffixes and joiners); this
module keeps only the grammar that strings them together, the same for every language. Both day
orders are read in every language. Words match whatever their case, except a word the pack writes
with a capital (English "May", "March", "Sunday"): it needs its capital in the text, so that the verb
"may" or the adjective "august" is never a month. A month alone is no date ("Protesters March on
the capital"): it needs a day next to it or a month cue before it; a bare abbreviation also needs its
dot, or a year after it, or a day next to it ("Sept 13"); one written in lower case, as French
writes "sept" (also the number seven), needs its dot or a year when it follows the day.

Every date this module returns lies between :data:`EARLIEST` and :data:`LATEST` (1900 to 2200): news
text can say "le 31 décembre 9999" or carry a publication date of year 1, and later stages shift
dates by days or weeks (relative words here, the merge window of the incident stage), which must
never overflow ``datetime.date``. A date outside the window is no date at all.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from geomap.lexicon import DEFAULT_LANGUAGE, LEXICON_DIR, Entry, LexiconError, load, pack_language
from geomap.models import TIME_PRECISION, Article

_DATES_FILE = "dates"
_END = r"(?:\b|(?<=\.))"  # after a full name, or after an abbreviation's dot
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DATELINE_NUMERIC = re.compile(r"\b(\d{1,2})([/.])(\d{1,2})\2(\d{4})\b")
_DATELINE_LABEL_CHARS = 16  # "Publié le :", "Mis à jour le", "- Le", "Published:"
# What may follow a dateline's date: the end of the line, an agency, a dash, or a time, alone or after
# a short word ("14:05", "à 14h05", "à 9h", "at 9 a.m.").
_DATELINE_END = re.compile(
    r"[ \t]*(?:$|\n|[(|\-–—]|(?:[^\W\d]{1,2} )?\d{1,2}(?:[:h]\d{2}|h\b| ?[ap]\.?m\b))", re.M
)
# An agency dispatch's capitalised place, with its country ("SOUMY (Ukraine),", "KYIV, Ukraine,").
# A dispatch's dateline opening a sentence: a place in capitals, maybe a date and an agency, a dash.
_OPENING_DATELINE = re.compile(
    r"^\s*[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ'’/ .-]{2,}(?:\s*\([^)\n]{1,30}\))?,[^\n]{0,40}?\s[-–—]\s"
)
_DATELINE_PLACE = re.compile(
    r"[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ'’ -]+(?: \([^)\n]{1,30}\))?,(?: [A-ZÀ-ÖØ-Þ][\w'’. -]{1,30},)?"
)


@dataclass(frozen=True, slots=True)
class _DateGrammar:
    """One language's date words strung into the grammar's patterns (built once per language)."""

    months: Mapping[str, int]  # folded month name or abbreviation -> 1..12
    weekdays: Mapping[str, int]  # folded weekday -> 0 (Monday) .. 6
    numbers: Mapping[str, int]  # folded number word -> its value
    day_month: re.Pattern[str]  # "13 (et 14) septembre (2022)": groups day, month, year
    month_day: re.Pattern[str]  # "Sept. 13(-14)(, 2022)": groups month, day, year
    month_only: re.Pattern[str]  # "fin septembre (2022)": groups month, year
    cue_ends: re.Pattern[str]  # a month cue ending the text before a month ("in September 13 villages")
    weekday: re.Pattern[str]
    future_after: re.Pattern[str]  # matched right after a weekday ("mardi prochain")
    future_before: re.Pattern[str]  # ends the text before a weekday ("next Tuesday")
    relative: tuple[tuple[re.Pattern[str], int], ...]  # pattern, days before the article
    ago: tuple[tuple[re.Pattern[str], int], ...]  # pattern with a (?P<count>...) group, days per unit
    week: tuple[tuple[re.Pattern[str], int], ...]  # pattern, days before the article


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def _word(word: str) -> str:
    """A pack's word as a pattern: a word written with a capital needs its capital in the text."""
    if word[:1].isupper():
        return f"(?-i:{re.escape(word[0])}){re.escape(word[1:])}"
    return re.escape(word)


def _longest_first(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: -len(e.text))


def _values(entries: Iterable[Entry]) -> Mapping[str, int]:
    return MappingProxyType({_fold(e.text): e.value for e in entries if e.value is not None})


def _either(patterns: Iterable[str]) -> str:
    return "(?:" + "|".join(patterns) + ")"


def _valued(
    language: str, entries: Iterable[Entry], *, group: str | None = None
) -> tuple[tuple[re.Pattern[str], int], ...]:
    """Each pattern of a valued list as a whole-word regex with its value, in file order; ``group``
    names a group every pattern must hold."""
    compiled = []
    for entry in entries:
        pattern = re.compile(rf"\b(?:{entry.text})\b", re.I)
        if group and group not in pattern.groupindex:
            path = LEXICON_DIR / language / f"{_DATES_FILE}.toml"
            raise LexiconError(path, f"the pattern needs a (?P<{group}>...) group", entry=entry.id)
        compiled.append((pattern, entry.value or 0))
    return tuple(compiled)


@functools.cache
def _grammar(language: str) -> _DateGrammar:
    """The date grammar of ``language``, built from its pack's ``dates`` lists."""
    pack = load(language)
    months = _longest_first(pack["dates.month"].entries)
    abbreviations = _longest_first(pack["dates.month_abbreviation"].entries)
    weekdays = _longest_first(pack["dates.weekday"].entries)
    suffix = pack["dates.day_suffix"].alternation()
    joiner = pack["dates.day_joiner"].alternation()
    cues = pack["dates.month_cue"].alternation()
    full = [_word(m.text) + r"\b" for m in months]
    # A bare abbreviation needs its dot or a year after it; one with a capital ("Sept") may also
    # stand right after its day, where no look-alike takes a capital.
    dotted = [_word(a.text) + r"(?:\.|(?= \d{4}\b))" for a in abbreviations]
    after_day = [
        _word(a.text) + (r"(?:\.|\b)" if a.text[:1].isupper() else r"(?:\.|(?= \d{4}\b))")
        for a in abbreviations
    ]
    before_day = [_word(m.text) for m in months] + [_word(a.text) for a in abbreviations]
    day = rf"(\d{{1,2}})(?:{suffix})?"
    second_day = rf"(?:\s*{joiner}\s*\d{{1,2}}(?:{suffix})?\b)?"
    return _DateGrammar(
        months=MappingProxyType({**_values(abbreviations), **_values(months)}),
        weekdays=_values(weekdays),
        numbers=_values(pack["dates.number"].entries),
        day_month=re.compile(
            rf"\b{day}{second_day} ({_either(full + after_day)})(?: (\d{{4}}))?{_END}", re.I
        ),
        # Not after a number: "le 12 sept 15 soldats" is no 15 September.
        month_day=re.compile(
            rf"(?<!\d )\b({_either(before_day)})(?:\. ?| ){day}\b{second_day}(?:,? (\d{{4}})\b)?",
            re.I,
        ),
        month_only=re.compile(rf"\b{cues}\s*({_either(full + dotted)})(?: (\d{{4}}))?{_END}", re.I),
        cue_ends=re.compile(rf"\b{cues}\s*$", re.I),
        weekday=re.compile(rf"\b({_either(_word(w.text) for w in weekdays)})\b", re.I),
        future_after=re.compile(" " + pack["dates.future_after"].alternation(), re.I),
        future_before=re.compile(r"\b" + pack["dates.future_before"].alternation() + r"\s+$", re.I),
        relative=_valued(language, pack["dates.relative"].entries),
        ago=_valued(language, pack["dates.ago"].entries, group="count"),
        week=_valued(language, pack["dates.week"].entries),
    )


def _month(grammar: _DateGrammar, name: str) -> int | None:
    return grammar.months.get(_fold(name.rstrip(".")))


# A window wide enough for any news article, narrow enough that a few weeks either way stay valid dates.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2200, 12, 31)


def plausible(date: dt.date | None) -> dt.date | None:
    """``date`` (a datetime's calendar date) when it lies in the window, else None."""
    if isinstance(date, dt.datetime):
        date = date.date()
    return date if date is not None and EARLIEST <= date <= LATEST else None


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    """The date, when it exists and lies in the window ("31/02/2023" and "1/1/9999" give None)."""
    try:
        return plausible(dt.date(year, month, day))
    except ValueError:
        return None


def article_date(article: Article) -> dt.date | None:
    """The article's date: from its metadata, else from a dateline in its first 400 characters.

    A dateline is a full date that opens a line ("Publié le : 03/02/2021", "- Le 9 avril 2021",
    "Published: September 13, 2022") or follows the capitalised place of an agency dispatch
    ("GORIS, 2 mars 2021 (AFP)", "KYIV, Ukraine, 13 September 2022 —"); a date inside a sentence
    of the lead ("les combats du 13 septembre 2022") is an event's, not the article's. A dateline
    without its year ("YEREVAN, Sept 13 (Reuters) -") gives no date: the year would be invented
    (see :func:`earliest_publication`). The words are read in the article's language when it has a
    pack, else in the default one. A metadata date outside the window is ignored (the dateline may
    still give one)."""
    if published := plausible(article.date):
        return published
    grammar = _grammar(pack_language(article.language))
    head = article.text[:400]
    for pattern, (d, m, y) in ((grammar.day_month, (1, 2, 3)), (grammar.month_day, (2, 1, 3))):
        for match in pattern.finditer(head):
            if match.group(y) and _is_dateline(head, match) and (month := _month(grammar, match.group(m))):
                return _safe_date(int(match.group(y)), month, int(match.group(d)))
    for match in _DATELINE_NUMERIC.finditer(head):
        if _is_dateline(head, match):
            return _safe_date(int(match.group(4)), int(match.group(3)), int(match.group(1)))
    return None


_MENTIONED_YEAR = re.compile(r"(?<![\d/.-])(19\d\d|2[01]\d\d)(?![\d/-])")


def earliest_publication(article: Article) -> dt.date | None:
    """The earliest date the article can have been published: its date, or else the first day of the
    latest year its text names (an undated text naming 2020 and 1992 was written in 2020 or later),
    or that year's day of a dateline without a year ("YEREVAN, Sept 13 (Reuters)": 13 September).

    A lower bound is what the history guard needs: measured from it, an event dated decades before
    is still history, while a recent one is never taken for history (see ``geomap.guards``)."""
    if published := article_date(article):
        return published
    years = [int(m.group(1)) for m in _MENTIONED_YEAR.finditer(article.text)]
    years = [y for y in years if EARLIEST.year <= y <= dt.date.today().year]
    if not years:
        return None
    year = max(years)
    day = _yearless_dateline(article.text[:400], _grammar(pack_language(article.language)))
    return (day and _safe_date(year, *day)) or dt.date(year, 1, 1)


def _yearless_dateline(head: str, grammar: _DateGrammar) -> tuple[int, int] | None:
    """The (month, day) of a dateline that gives no year, if ``head`` opens with one."""
    for pattern, (d, m) in ((grammar.day_month, (1, 2)), (grammar.month_day, (2, 1))):
        for match in pattern.finditer(head):
            if _is_dateline(head, match) and (month := _month(grammar, match.group(m))):
                return month, int(match.group(d))
    return None


def _is_dateline(text: str, match: re.Match[str]) -> bool:
    """Whether the date ``match`` found is a dateline: it opens its line, after at most a short label
    ("Publié le :", "- Le") or an agency dispatch's capitalised place ("SOUMY (Ukraine),"), and
    ends it or is followed by an agency, a dash or a time, not by the rest of a sentence ("Le 13
    septembre 2022, vers une heure du matin, ...")."""
    before = text[text.rfind("\n", 0, match.start()) + 1 : match.start()].strip()
    opens = len(before) <= _DATELINE_LABEL_CHARS or bool(_DATELINE_PLACE.fullmatch(before))
    return opens and bool(_DATELINE_END.match(text, match.end()))


def _year_for(month: int, published: dt.date | None) -> int | None:
    """The year of a month named without one: the latest not after the article's date."""
    if published is None:
        return None
    return published.year if month <= published.month else published.year - 1


def event_date(
    sentence: str, published: dt.date | None, *, language: str = DEFAULT_LANGUAGE
) -> tuple[dt.date | None, str]:
    """The date a sentence gives its event and its precision ("day", "week", "month", "unknown"),
    read with the words of ``language``'s pack.

    An article date outside the window counts as no date: "hier" is never resolved against year 1.
    A sentence opening with a dispatch's dateline ("YEREVAN, Nov. 2 (Reuters) - ... on Tuesday")
    dates its event by its own words first; the dateline's date is the event's only when they give
    none."""
    grammar = _grammar(language)
    if dateline := _OPENING_DATELINE.match(sentence):
        date, precision = _event_date(sentence[dateline.end() :], plausible(published), grammar)
        if plausible(date):
            return date, precision
    date, precision = _event_date(sentence, plausible(published), grammar)
    return (date, precision) if plausible(date) else (None, "unknown")


def incident_date(
    sentence: str, published: dt.date | None, *, language: str = DEFAULT_LANGUAGE
) -> tuple[dt.date | None, str]:
    """The date of an event told in ``sentence``: the one the sentence gives, else the article's
    own date ("reported": the event happened by then), else none at all (never invented)."""
    date, precision = event_date(sentence, published, language=language)
    if date is None and (published := plausible(published)):
        return published, "reported"
    return date, precision


def time_precision(precision: str) -> int | None:
    """ACLED's time_precision (1 day, 2 week, 3 month) of a date of ``precision``; None for no date."""
    return TIME_PRECISION.get(precision)


def _event_date(
    sentence: str, published: dt.date | None, grammar: _DateGrammar
) -> tuple[dt.date | None, str]:
    for pattern, order in ((_NUMERIC_DATE, (3, 2, 1)), (_ISO_DATE, (1, 2, 3))):
        match = pattern.search(sentence)
        if match:
            year, month, day = (int(match.group(i)) for i in order)
            if found := _safe_date(year, month, day):
                return found, "day"
    if found := _named_day(sentence, published, grammar):
        return found, "day"
    if published and (relative := _relative_date(sentence, published, grammar)):
        return relative
    match = grammar.month_only.search(sentence)
    if match and (month := _month(grammar, match.group(1))):
        year = int(match.group(2)) if match.group(2) else _year_for(month, published)
        if year and (found := _safe_date(year, month, 1)):
            return found, "month"
    return None, "unknown"


def _named_day(sentence: str, published: dt.date | None, grammar: _DateGrammar) -> dt.date | None:
    """A day the sentence names with its month, day first ("le 13 septembre") or month first
    ("Sept. 13, 2022"); a month cue before a month first means the month alone ("in September 13
    villages were shelled"), unless a year follows."""
    match = grammar.day_month.search(sentence)
    candidates = [(match, 1, 2, 3)] if match else []
    for found in grammar.month_day.finditer(sentence):
        if found.group(3) or not grammar.cue_ends.search(sentence, 0, found.start()):
            candidates.append((found, 2, 1, 3))
            break
    for match, d, m, y in candidates:
        if month := _month(grammar, match.group(m)):
            year = int(match.group(y)) if match.group(y) else _year_for(month, published)
            if year and (found_date := _safe_date(year, month, int(match.group(d)))):
                return found_date
    return None


def _relative_date(sentence: str, published: dt.date, grammar: _DateGrammar) -> tuple[dt.date, str] | None:
    """A date the sentence gives relative to the article's: a relative word, a weekday, "N days ago"
    or a week, tried in that order."""
    for pattern, days in grammar.relative:
        if pattern.search(sentence):
            return published - dt.timedelta(days=days), "day"
    for match in grammar.weekday.finditer(sentence):  # "dans la nuit de lundi à mardi": Monday
        if grammar.future_after.match(sentence, match.end()):
            continue
        if grammar.future_before.search(sentence, 0, match.start()):
            continue
        back = (published.weekday() - grammar.weekdays[_fold(match.group(1))]) % 7
        return published - dt.timedelta(days=back), "day"
    for pattern, days in grammar.ago:
        for match in pattern.finditer(sentence):
            count = _count(match.group("count"), grammar)
            if count is not None:
                return published - dt.timedelta(days=count * days), "week" if days % 7 == 0 else "day"
    for pattern, days in grammar.week:
        if pattern.search(sentence):
            return published - dt.timedelta(days=days), "week"
    return None


def _count(word: str, grammar: _DateGrammar) -> int | None:
    """A count of days or weeks: one or two digits, or a number word of the pack."""
    if word.isdigit():
        return int(word) if len(word) <= 2 else None
    return grammar.numbers.get(_fold(word))
