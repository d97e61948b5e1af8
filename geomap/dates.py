"""When: French date expressions resolved against the article's date, with their precision.

Explicit dates ("le 13 septembre", "13/09/2022", "le 1er novembre 2020"), weekdays ("mardi", "dans
la nuit de lundi à mardi"), relative words ("hier", "avant-hier", "ce matin", "la semaine
dernière") and months ("en août", "fin septembre"). A date is never invented: without the article's
date, a weekday or a relative word gives no date.

Every date this module returns lies between :data:`EARLIEST` and :data:`LATEST` (1900 to 2200): news
text can say "le 31 décembre 9999" or carry a publication date of year 1, and later stages shift
dates by days or weeks (relative words here, the merge window of the incident stage), which must
never overflow ``datetime.date``. A date outside the window is no date at all.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from geomap.models import Article

MONTHS = {
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12, "decembre": 12,
}  # fmt: skip
WEEKDAYS = {"lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6}
_MONTH = "(" + "|".join(MONTHS) + ")"
_DAY_MONTH = re.compile(
    r"\b(1er|\d{1,2})(?: (?:et|au) (?:le )?\d{1,2})? " + _MONTH + r"(?: (\d{4}))?\b", re.I
)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_WEEKDAY = re.compile(r"\b(" + "|".join(WEEKDAYS) + r")\b(?! (?:prochain|suivant))", re.I)
_RELATIVE = (
    (re.compile(r"\bavant-hier\b", re.I), 2),
    (re.compile(r"\bhier\b", re.I), 1),
    (re.compile(r"\b(?:aujourd'hui|ce matin|cet après-midi|ce soir|cette nuit)\b", re.I), 0),
)
_LAST_WEEK = re.compile(r"\b(?:la semaine dernière|la semaine passée)\b", re.I)
_THIS_WEEK = re.compile(r"\bcette semaine\b", re.I)
_MONTH_ONLY = re.compile(r"\b(?:en|début|mi-|fin|courant)\s*" + _MONTH + r"(?: (\d{4}))?\b", re.I)
_DATELINE_PATTERNS = (
    re.compile(r"\b(1er|\d{1,2}) " + _MONTH + r" (\d{4})\b", re.I),
    re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b"),
)


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def _month(name: str) -> int | None:
    return MONTHS.get(name.lower()) or MONTHS.get(_fold(name))


def _day(text: str) -> int:
    return 1 if text.lower() == "1er" else int(text)


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

    A metadata date outside the window is ignored (the dateline may still give one)."""
    if published := plausible(article.date):
        return published
    head = article.text[:400]
    match = _DATELINE_PATTERNS[0].search(head)
    if match and (month := _month(match.group(2))):
        return _safe_date(int(match.group(3)), month, _day(match.group(1)))
    match = _DATELINE_PATTERNS[1].search(head)
    if match:
        return _safe_date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    return None


def _year_for(month: int, published: dt.date | None) -> int | None:
    """The year of a month named without one: the latest not after the article's date."""
    if published is None:
        return None
    return published.year if month <= published.month else published.year - 1


def event_date(sentence: str, published: dt.date | None) -> tuple[dt.date | None, str]:
    """The date a sentence gives its event and its precision ("day", "week", "month", "unknown").

    An article date outside the window counts as no date: "hier" is never resolved against year 1."""
    date, precision = _event_date(sentence, plausible(published))
    return (date, precision) if plausible(date) else (None, "unknown")


def _event_date(sentence: str, published: dt.date | None) -> tuple[dt.date | None, str]:
    for pattern, order in ((_NUMERIC_DATE, (3, 2, 1)), (_ISO_DATE, (1, 2, 3))):
        match = pattern.search(sentence)
        if match:
            year, month, day = (int(match.group(i)) for i in order)
            if found := _safe_date(year, month, day):
                return found, "day"
    match = _DAY_MONTH.search(sentence)
    if match and (month := _month(match.group(2))):
        year = int(match.group(3)) if match.group(3) else _year_for(month, published)
        if year and (found := _safe_date(year, month, _day(match.group(1)))):
            return found, "day"
    if published:
        for pattern, days in _RELATIVE:
            if pattern.search(sentence):
                return published - dt.timedelta(days=days), "day"
        match = _WEEKDAY.search(sentence)  # "dans la nuit de lundi à mardi": the night began on Monday
        if match:
            back = (published.weekday() - WEEKDAYS[match.group(1).lower()]) % 7
            return published - dt.timedelta(days=back), "day"
        if _LAST_WEEK.search(sentence):
            return published - dt.timedelta(days=7), "week"
        if _THIS_WEEK.search(sentence):
            return published, "week"
    match = _MONTH_ONLY.search(sentence)
    if match and (month := _month(match.group(1))):
        year = int(match.group(2)) if match.group(2) else _year_for(month, published)
        if year and (found := _safe_date(year, month, 1)):
            return found, "month"
    return None, "unknown"
