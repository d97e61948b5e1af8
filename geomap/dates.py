"""When: French date expressions resolved against the article's date, with their precision.

Explicit dates ("le 13 septembre", "13/09/2022", "le 1er novembre 2020"), weekdays ("mardi", "dans
la nuit de lundi à mardi"), relative words ("hier", "avant-hier", "ce matin", "la semaine
dernière", "il y a trois jours") and months ("en août", "fin septembre", "13 sept. 2022"). A date is
never invented: without the article's date, a weekday or a relative word gives no date. An event
whose sentence gives no date is dated by its article, as "reported" (ACLED's time_precision 2).

Every date this module returns lies between :data:`EARLIEST` and :data:`LATEST` (1900 to 2200): news
text can say "le 31 décembre 9999" or carry a publication date of year 1, and later stages shift
dates by days or weeks (relative words here, the merge window of the incident stage), which must
never overflow ``datetime.date``. A date outside the window is no date at all.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from geomap.models import TIME_PRECISION, Article

MONTHS = {
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12, "decembre": 12,
}  # fmt: skip
# The abbreviations of agency dispatches and datelines ("13 sept. 2022", "1er janv."), dot optional.
MONTH_ABBREVIATIONS = {
    "janv": 1, "févr": 2, "fevr": 2, "fév": 2, "fev": 2, "avr": 4, "juil": 7, "sept": 9, "oct": 10,
    "nov": 11, "déc": 12, "dec": 12,
}  # fmt: skip
NUMBER_WORDS = {
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
    "neuf": 9, "dix": 10, "quinze": 15,
}  # fmt: skip
WEEKDAYS = {"lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6}
# An abbreviation needs its dot or a year after it: "le 12 sept soldats" is not the 12th of September.
_ABBREVIATED = "|".join(rf"{a}(?:\.|(?= \d{{4}}\b))" for a in MONTH_ABBREVIATIONS)
_MONTH = "(" + "|".join(MONTHS) + "|" + _ABBREVIATED + ")"
_END = r"(?:\b|(?<=\.))"  # after a full name, or after an abbreviation's dot
_DAY_MONTH = re.compile(
    r"\b(1er|\d{1,2})(?: (?:et|au) (?:le )?\d{1,2})? " + _MONTH + r"(?: (\d{4}))?" + _END, re.I
)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_WEEKDAY = re.compile(r"\b(" + "|".join(WEEKDAYS) + r")\b(?! (?:prochain|suivant))", re.I)
_RELATIVE = (
    (re.compile(r"\bavant-hier\b", re.I), 2),
    (re.compile(r"\bhier\b", re.I), 1),
    (re.compile(r"\b(?:aujourd'hui|ce matin|cet après-midi|ce soir|cette nuit)\b", re.I), 0),
    (re.compile(r"\b(?:la nuit dernière|la nuit passée|dans la nuit d'hier)\b", re.I), 1),
)
_AGO = re.compile(r"\bil y a (\d{1,2}|" + "|".join(NUMBER_WORDS) + r") (jours?|semaines?)\b", re.I)
_LAST_WEEK = re.compile(r"\b(?:la semaine dernière|la semaine passée)\b", re.I)
_THIS_WEEK = re.compile(r"\bcette semaine\b", re.I)
_MONTH_ONLY = re.compile(r"\b(?:en|début|mi-|fin|courant)\s*" + _MONTH + r"(?: (\d{4}))?" + _END, re.I)
_DATELINE_PATTERNS = (
    re.compile(r"\b(1er|\d{1,2}) " + _MONTH + r" (\d{4})\b", re.I),
    re.compile(r"\b(\d{1,2})([/.])(\d{1,2})\2(\d{4})\b"),
)
_DATELINE_LABEL_CHARS = 16  # "Publié le :", "Mis à jour le", "- Le"
_DATELINE_END = re.compile(r"[ \t]*(?:$|\n|[(|\-–—]|à \d|\d{1,2}[:h]\d{2})", re.M)
_DATELINE_PLACE = re.compile(r"[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ'’ -]+(?: \([^)\n]{1,30}\))?,")


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def _month(name: str) -> int | None:
    name = name.lower().rstrip(".")
    return MONTHS.get(name) or MONTHS.get(_fold(name)) or MONTH_ABBREVIATIONS.get(name)


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

    A dateline is a full date that opens a line ("Publié le : 03/02/2021", "- Le 9 avril 2021")
    or follows the capitalised place of an agency dispatch ("GORIS, 2 mars 2021 (AFP)"); a
    date inside a sentence of the lead ("les combats du 13 septembre 2022") is an event's, not the
    article's. A metadata date outside the window is ignored (the dateline may still give one)."""
    if published := plausible(article.date):
        return published
    head = article.text[:400]
    for match in _DATELINE_PATTERNS[0].finditer(head):
        if _is_dateline(head, match) and (month := _month(match.group(2))):
            return _safe_date(int(match.group(3)), month, _day(match.group(1)))
    for match in _DATELINE_PATTERNS[1].finditer(head):
        if _is_dateline(head, match):
            return _safe_date(int(match.group(4)), int(match.group(3)), int(match.group(1)))
    return None


_MENTIONED_YEAR = re.compile(r"(?<![\d/.-])(19\d\d|2[01]\d\d)(?![\d/-])")


def earliest_publication(article: Article) -> dt.date | None:
    """The earliest date the article can have been published: its date, or else the first day of the
    latest year its text names (an undated text naming 2020 and 1992 was written in 2020 or later).

    A lower bound is what the history guard needs: measured from it, an event dated decades before
    is still history, while a recent one is never taken for history (see ``geomap.guards``)."""
    if published := article_date(article):
        return published
    years = [int(m.group(1)) for m in _MENTIONED_YEAR.finditer(article.text)]
    years = [y for y in years if EARLIEST.year <= y <= dt.date.today().year]
    return dt.date(max(years), 1, 1) if years else None


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


def event_date(sentence: str, published: dt.date | None) -> tuple[dt.date | None, str]:
    """The date a sentence gives its event and its precision ("day", "week", "month", "unknown").

    An article date outside the window counts as no date: "hier" is never resolved against year 1."""
    date, precision = _event_date(sentence, plausible(published))
    return (date, precision) if plausible(date) else (None, "unknown")


def incident_date(sentence: str, published: dt.date | None) -> tuple[dt.date | None, str]:
    """The date of an event told in ``sentence``: the one the sentence gives, else the article's
    own date ("reported": the event happened by then), else none at all (never invented)."""
    date, precision = event_date(sentence, published)
    if date is None and (published := plausible(published)):
        return published, "reported"
    return date, precision


def time_precision(precision: str) -> int | None:
    """ACLED's time_precision (1 day, 2 week, 3 month) of a date of ``precision``; None for no date."""
    return TIME_PRECISION.get(precision)


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
        match = _AGO.search(sentence)
        if match:
            count = int(match.group(1)) if match.group(1).isdigit() else NUMBER_WORDS[match.group(1).lower()]
            weeks = match.group(2).lower().startswith("semaine")
            return published - dt.timedelta(days=count * (7 if weeks else 1)), "week" if weeks else "day"
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
