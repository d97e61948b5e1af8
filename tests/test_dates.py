"""Dates of events: explicit, relative and partial dates, and the window every returned date lies in."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomap.dates import (
    EARLIEST,
    LATEST,
    article_date,
    earliest_publication,
    event_date,
    incident_date,
    plausible,
    time_precision,
)
from geomap.models import Article

PUBLISHED = dt.date(2023, 9, 20)  # a Wednesday

# --- what the module reads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Des tirs le 13 septembre près du poste.", (dt.date(2023, 9, 13), "day")),
        ("Des tirs le 1er novembre 2020.", (dt.date(2020, 11, 1), "day")),
        ("Des tirs le 13/09/2022.", (dt.date(2022, 9, 13), "day")),
        ("Des tirs hier soir.", (dt.date(2023, 9, 19), "day")),
        ("Des tirs avant-hier.", (dt.date(2023, 9, 18), "day")),
        ("Des tirs dans la nuit de lundi à mardi.", (dt.date(2023, 9, 18), "day")),
        ("Des tirs la semaine dernière.", (dt.date(2023, 9, 13), "week")),
        ("Des tirs en décembre.", (dt.date(2022, 12, 1), "month")),
        ("Des tirs sans date.", (None, "unknown")),
    ],
)
def test_event_dates_against_the_article_date(sentence: str, expected: tuple) -> None:
    assert event_date(sentence, PUBLISHED) == expected


def test_relative_words_need_the_article_date() -> None:
    assert event_date("Des tirs hier.", None) == (None, "unknown")


# --- the window ---------------------------------------------------------------------------------


def test_window_bounds() -> None:
    assert dt.date(1900, 1, 1) == EARLIEST
    assert dt.date(2200, 12, 31) == LATEST
    assert plausible(EARLIEST) == EARLIEST and plausible(LATEST) == LATEST
    assert plausible(dt.date(1899, 12, 31)) is None and plausible(dt.date(2201, 1, 1)) is None
    assert plausible(dt.datetime(2023, 9, 20, 23, 59)) == PUBLISHED
    assert plausible(None) is None


@pytest.mark.parametrize(
    "sentence",
    [
        "Le 31 décembre 9999, des tirs ont visé le poste.",
        "Des tirs le 31/12/9999.",
        "Des tirs le 9999-12-31.",
        "Des tirs le 1er janvier 0001.",
        "Des tirs en janvier 0000.",  # dt.date(0, 1, 1) does not even exist
        "Des tirs fin décembre 9999.",
    ],
)
def test_a_date_outside_the_window_is_no_date(sentence: str) -> None:
    """A year the text gives that no news article means is read as no date, never as a crash."""
    assert event_date(sentence, PUBLISHED) == (None, "unknown")
    assert event_date(sentence, None) == (None, "unknown")


@pytest.mark.parametrize("published", [dt.date.min, dt.date(1, 1, 3), dt.date.max, dt.date(9999, 12, 30)])
def test_relative_words_against_an_implausible_article_date_give_no_date(published: dt.date) -> None:
    """Year 1 (or 9999) as the article's date: "hier" and "mardi" give no date, not an OverflowError."""
    for sentence in ("Des tirs hier.", "Des tirs avant-hier.", "Des tirs mardi.", "la semaine dernière"):
        assert event_date(sentence, published) == (None, "unknown")


def test_article_date_ignores_an_implausible_metadata_date() -> None:
    """The metadata date is out of the window: the dateline gives the date, or there is none."""
    assert article_date(Article(id="a", text="Tirs.", date=dt.date(1, 1, 1))) is None
    dated = Article(id="b", text="Erevan, 14 septembre 2022 - Tirs.", date=dt.date(9999, 12, 31))
    assert article_date(dated) == dt.date(2022, 9, 14)
    assert article_date(Article(id="c", text="Bakou, 31/12/9999. Tirs.")) is None


# Pieces of sentences that carry dates, plausible or not.
DATE_PIECES = st.one_of(
    st.sampled_from(
        [
            "hier",
            "avant-hier",
            "ce matin",
            "lundi",
            "dimanche",
            "la semaine dernière",
            "cette semaine",
            "en janvier",
            "fin décembre",
            "le 1er",
            "le 31",
            "yesterday",
            "Tuesday",
            "next",
            "last week",
            "2 weeks ago",
            "in May",
            "Sept.",
            "September",
            "13th",
            ",",
            " ",
            "/",
            "-",
            ".",
        ]
    ),
    st.integers(0, 9999).map(lambda y: f" {y:04d} "),
    st.tuples(st.integers(0, 39), st.integers(0, 19), st.integers(0, 9999)).map(
        lambda t: f"{t[0]}/{t[1]}/{t[2]:04d}"
    ),
    st.tuples(st.integers(0, 9999), st.integers(0, 19), st.integers(0, 39)).map(
        lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"
    ),
    st.sampled_from(["janvier", "décembre", "1er", "Dec", "December"]),
)
SENTENCES = st.lists(DATE_PIECES, max_size=6).map(" ".join)


@pytest.mark.parametrize("language", ["fr", "en"])
@settings(max_examples=300, deadline=None)
@given(SENTENCES, st.one_of(st.none(), st.dates()))
def test_every_event_date_can_be_shifted_by_weeks(
    language: str, sentence: str, published: dt.date | None
) -> None:
    """Whatever the text, the language and the article's date (any date Python has), the event date
    lies in the window, so the incident stage can add or take a few weeks to it without overflowing."""
    date, precision = event_date(sentence, published, language=language)
    if date is None:
        assert precision == "unknown"
        return
    assert EARLIEST <= date <= LATEST
    assert precision in {"day", "week", "month"}
    assert date - dt.timedelta(weeks=8) < date < date + dt.timedelta(weeks=8)


@settings(max_examples=200, deadline=None)
@given(SENTENCES, st.one_of(st.none(), st.dates()))
def test_every_article_date_lies_in_the_window(head: str, published: dt.date | None) -> None:
    date = article_date(Article(id="x", text=head + " Tirs.", date=published))
    assert date is None or EARLIEST <= date <= LATEST
    date = article_date(Article(id="x", text=head + " Shelling.", date=published, language="en"))
    assert date is None or EARLIEST <= date <= LATEST


# --- abbreviations, "il y a", the night before, and the article's own date ------------------------

SEPT_14 = dt.date(2022, 9, 14)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Le 13 sept. 2022, des tirs ont visé Sotk.", (dt.date(2022, 9, 13), "day")),
        ("Des tirs le 13 sept 2022 près de Jermuk.", (dt.date(2022, 9, 13), "day")),
        ("Depuis le 1er janv., trois incidents.", (dt.date(2022, 1, 1), "day")),
        ("Des combats ont éclaté fin déc. 2021.", (dt.date(2021, 12, 1), "month")),
        ("Il y a trois jours, un drone a frappé Kapan.", (dt.date(2022, 9, 11), "day")),
        ("Il y a 2 semaines, des tirs visaient Goris.", (dt.date(2022, 8, 31), "week")),
        ("La nuit dernière, des obus sont tombés sur Tegh.", (dt.date(2022, 9, 13), "day")),
        # negatives: the number seven, a plural, a word that only contains an abbreviation
        ("Le 12 sept soldats ont été blessés.", (None, "unknown")),
        ("Les 3 septembres de la décennie.", (None, "unknown")),
        ("Une octave plus bas, le 4 octo.", (None, "unknown")),
    ],
)
def test_abbreviated_and_relative_dates(sentence: str, expected: tuple[dt.date | None, str]) -> None:
    assert event_date(sentence, SEPT_14) == expected


def test_an_event_without_a_date_is_dated_by_its_article_as_reported() -> None:
    assert incident_date("Des tirs ont visé Sotk.", SEPT_14) == (SEPT_14, "reported")
    assert incident_date("Des tirs ont visé Sotk hier.", SEPT_14) == (dt.date(2022, 9, 13), "day")
    assert incident_date("Des tirs ont visé Sotk.", None) == (None, "unknown")  # never invented
    assert incident_date("Des tirs ont visé Sotk.", dt.date(1, 1, 1)) == (None, "unknown")


@pytest.mark.parametrize(
    ("precision", "acled"), [("day", 1), ("week", 2), ("reported", 2), ("month", 3), ("unknown", None)]
)
def test_time_precision_is_acleds(precision: str, acled: int | None) -> None:
    assert time_precision(precision) == acled


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tirs à Sotk\n\nPublié le : 03/02/2021 - 17:40\nDes tirs...", dt.date(2021, 2, 3)),
        ("Tirs à Sotk\n- Le 9 avril 2021\nDes tirs...", dt.date(2021, 4, 9)),
        ("Combats\n\nGORIS, 2 mars 2021 (AFP) - Des tirs...", dt.date(2021, 3, 2)),
        ("Exode\n\nSOUMY (Ukraine), 7 juin 2021 (AFP) - Des civils...", dt.date(2021, 6, 7)),
        ("Mines\n\nR. Guliyev |21.10.2021 - 09:05\nDeux démineurs...", dt.date(2021, 10, 21)),
        ("Mines\n21.10.2021 - 09:05\nDeux démineurs...", dt.date(2021, 10, 21)),
        # a date inside a sentence of the lead is the event's, not the article's
        ("Bilan\n\nLes combats qui ont éclaté près de Goris le 13 septembre 2022 ont fait 49 morts.", None),
        ("Bilan\nUn an après les tirs du 13/09/2022 à Jermuk, les habitants reviennent.", None),
        ("Récits\n\nLe 13 septembre 2022, vers une heure du matin, les obus sont tombés.", None),
        ("Tirs\nLe 13 septembre 2022 à 14h05\nDes obus sont tombés.", dt.date(2022, 9, 13)),
    ],
)
def test_a_dateline_opens_a_line(text: str, expected: dt.date | None) -> None:
    assert article_date(Article(id="a", text=text)) == expected


# --- English (the packs' own examples are run by tests/test_lexicon.py) -----------------------------

FRIDAY = dt.date(2022, 9, 16)  # the date the packs' examples are read against (tests/test_lexicon.py)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # both orders, abbreviations with and without their dot, suffixes and joiners
        ("Shelling hit Jermuk on September 13, 2022.", (dt.date(2022, 9, 13), "day")),
        ("Shelling hit Jermuk on 13 September 2022.", (dt.date(2022, 9, 13), "day")),
        ("Shelling hit Jermuk on Sept. 13.", (dt.date(2022, 9, 13), "day")),
        ("Shelling hit Jermuk on Sept 13-14.", (dt.date(2022, 9, 13), "day")),
        ("Shelling hit Jermuk on 13 Sept.", (dt.date(2022, 9, 13), "day")),
        ("Shelling hit Jermuk on the 13th of September.", (dt.date(2022, 9, 13), "day")),
        ("Fighting on the night of 12 to 13 September.", (dt.date(2022, 9, 12), "day")),
        ("The ceasefire of Nov. 10, 2020 held.", (dt.date(2020, 11, 10), "day")),
        ("Shelling hit Jermuk on 13/09/2022.", (dt.date(2022, 9, 13), "day")),
        # weekdays and relative words
        ("Shelling hit Jermuk on Tuesday.", (dt.date(2022, 9, 13), "day")),
        ("Shelling hit Jermuk last night.", (dt.date(2022, 9, 15), "day")),
        ("Shelling hit Jermuk yesterday.", (dt.date(2022, 9, 15), "day")),
        ("Shelling hit Jermuk the day before yesterday.", (dt.date(2022, 9, 14), "day")),
        ("Shelling hit Jermuk overnight.", (FRIDAY, "day")),
        ("Shelling hit Jermuk three days ago.", (dt.date(2022, 9, 13), "day")),
        ("Shelling hit Jermuk two weeks ago.", (dt.date(2022, 9, 2), "week")),
        ("Shelling hit Jermuk a week ago.", (dt.date(2022, 9, 9), "week")),
        ("Shelling hit Jermuk last week.", (dt.date(2022, 9, 9), "week")),
        ("Shelling hit Jermuk earlier this week.", (FRIDAY, "week")),
        # months
        ("Shelling hit Jermuk in early September.", (dt.date(2022, 9, 1), "month")),
        ("Shelling hit Jermuk in mid-October.", (dt.date(2021, 10, 1), "month")),
        ("Shelling hit Jermuk in May 2021.", (dt.date(2021, 5, 1), "month")),
        ("In September 13 villages were shelled.", (dt.date(2022, 9, 1), "month")),
        # look-alikes and coming days
        ("The shelling may resume, officials warn.", (None, "unknown")),
        ("Troops in may advance, a typo says.", (None, "unknown")),
        ("Protesters March on the capital.", (None, "unknown")),
        ("Veterans will March on 2 fronts.", (None, "unknown")),
        ("Shelling hit homes in Mar Elias.", (None, "unknown")),
        ("Talks resume next Monday.", (None, "unknown")),
        ("Speaking to Armenia Today, the mayor described the shelling.", (None, "unknown")),
        ("The last night of the siege was the worst.", (None, "unknown")),
        ("Just days ago, a drone hit Kapan.", (None, "unknown")),
    ],
)
def test_english_dates(sentence: str, expected: tuple[dt.date | None, str]) -> None:
    assert event_date(sentence, FRIDAY, language="en") == expected


def test_english_words_are_not_read_in_french_and_the_default_is_french() -> None:
    assert event_date("Shelling hit Jermuk yesterday.", FRIDAY) == (None, "unknown")
    assert event_date("Des tirs hier.", FRIDAY, language="en") == (None, "unknown")
    assert event_date("Des tirs hier.", FRIDAY) == event_date("Des tirs hier.", FRIDAY, language="fr")
    assert incident_date("Shelling hit Jermuk.", FRIDAY, language="en") == (FRIDAY, "reported")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Clashes\n\nYEREVAN, Sept 13, 2022 (Reuters) - Shelling hit Jermuk.", dt.date(2022, 9, 13)),
        ("Clashes\nPublished: September 13, 2022\nShelling hit Jermuk.", dt.date(2022, 9, 13)),
        ("Clashes\nPublished: September 13, 2022 10:05 GMT\nShelling.", dt.date(2022, 9, 13)),
        ("Clashes\n\nKYIV, Ukraine, 13 September 2022 — Shelling hit Kharkiv.", dt.date(2022, 9, 13)),
        ("Clashes\nSTEPANAKERT, Nagorno-Karabakh, Sept. 13, 2022 (AP) — Shelling.", dt.date(2022, 9, 13)),
        # without a year the dateline gives no date (never invented); in a sentence it is an event's
        ("Clashes\n\nYEREVAN, Sept 13 (Reuters) - Shelling hit Jermuk.", None),
        ("Clashes\n\nThe fighting that broke out on September 13, 2022 killed dozens.", None),
        ("Clashes\n\nOn September 13, 2022, at about midnight, shells fell.", None),
    ],
)
def test_english_datelines(text: str, expected: dt.date | None) -> None:
    assert article_date(Article(id="a", text=text, language="en")) == expected


def test_the_article_language_selects_the_pack() -> None:
    text = "YEREVAN, September 13, 2022 (Reuters) - Shelling."
    assert article_date(Article(id="a", text=text, language="en")) == dt.date(2022, 9, 13)
    assert article_date(Article(id="b", text=text, language="de")) is None  # no pack: French words
    assert article_date(Article(id="c", text="GORIS, 2 mars 2021 (AFP) - Tirs.", language="de")) == dt.date(
        2021, 3, 2
    )


def test_a_yearless_dateline_raises_the_earliest_publication_to_its_day() -> None:
    """Undated, with a dateline without its year: published on that day of the latest year named
    or later (a lower bound, as the history guard needs), never an article date."""
    text = "YEREVAN, Sept 13 (Reuters) - Shelling, the worst since 2020, hit Jermuk."
    article = Article(id="a", text=text, language="en")
    assert article_date(article) is None
    assert earliest_publication(article) == dt.date(2020, 9, 13)
    assert earliest_publication(Article(id="b", text="YEREVAN, Sept 13 (Reuters) - Shelling.")) is None


@pytest.mark.parametrize(
    ("sentence", "language", "expected"),
    [
        ("YEREVAN, Nov. 2 (Reuters) - Shells hit Tegh on Tuesday.", "en", dt.date(2023, 10, 31)),
        ("YEREVAN, Nov. 2 (Reuters) - Shells hit Tegh.", "en", dt.date(2023, 11, 2)),
        ("EREVAN, 2 novembre (AFP) - Des obus sont tombés mardi sur Tegh.", "fr", dt.date(2023, 10, 31)),
        ("EREVAN, 2 novembre (AFP) - Des obus sont tombés sur Tegh.", "fr", dt.date(2023, 11, 2)),
    ],
)
def test_a_sentence_opening_with_a_dateline_is_dated_by_its_own_words_first(
    sentence: str, language: str, expected: dt.date
) -> None:
    assert event_date(sentence, dt.date(2023, 11, 2), language=language)[0] == expected
