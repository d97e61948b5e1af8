"""Incident detection on French sentences written for these tests, through the real pipeline.

Places used (all in the curated gazetteer): the Armenian border villages Berkaber, Kirants, Shurnukh,
Kut, Nerkin Hand and Chakaten, and the capitals Bakou, Erevan, Moscou and Bruxelles.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable

import pytest
import spacy
from spacy.tokens import Span

from geomap import guards
from geomap import incidents as incidents_module
from geomap.context import ContextModel, default_model
from geomap.dates import article_date, event_date
from geomap.incidents import (
    IncidentDetector,
    actors_of,
    casualties,
    load_demonyms,
    merge_reports,
    parse_number,
)
from geomap.models import Article, Incident, Mention, Place, Resolution
from geomap.pipeline import DocumentResult, Pipeline

PUBLISHED = dt.date(2023, 11, 2)  # a Thursday
SHELLING = "Shelling/artillery/missile attack"


def run(pipeline: Pipeline, text: str, date: dt.date | None = PUBLISHED) -> DocumentResult:
    """The pipeline's result for one article holding ``text``."""
    return next(pipeline.documents([Article(id="test", text=text, date=date)]))


def incidents(pipeline: Pipeline, text: str, date: dt.date | None = PUBLISHED) -> list[Incident]:
    return run(pipeline, text, date).incidents


def only(found: list[Incident]) -> Incident:
    """The single incident of a list, failing with the list when there is not exactly one."""
    assert len(found) == 1, [(i.sub_event_type, i.place.id) for i in found]
    return found[0]


def place_ids(found: list[Incident]) -> set[str]:
    return {i.place.id for i in found}


def place_names(found: list[Incident]) -> set[str]:
    return {i.place.name for i in found}


# --- where ----------------------------------------------------------------------------------------


def test_clash_is_placed_at_the_village_not_at_the_capital_that_rejects(pipeline: Pipeline) -> None:
    """ "Bakou a rejeté ..." makes Baku a speaker, never the scene."""
    text = (
        "Des affrontements ont éclaté à Berkaber dans la nuit de lundi. "
        "Bakou a rejeté toute responsabilité dans ces combats."
    )
    doc = run(pipeline, text)
    assert any(r.mention.text == "Bakou" and r.place for r in doc.resolutions)
    incident = only(doc.incidents)
    assert incident.place.id == "village-berkaber"
    assert (incident.event_type, incident.sub_event_type) == ("Battles", "Armed clash")
    assert incident.geo_precision == 1


@pytest.mark.parametrize(
    "text",
    [
        "Des affrontements ont éclaté à Berkaber, a déclaré le ministère de la Défense à Erevan.",
        "Selon le ministère de la Défense à Erevan, des affrontements ont éclaté à Berkaber.",
    ],
)
def test_clash_is_not_placed_at_the_capital_of_the_reporting_ministry(pipeline: Pipeline, text: str) -> None:
    """The ministry speaks from Yerevan; the clash happened at Berkaber only."""
    assert place_ids(incidents(pipeline, text)) == {"village-berkaber"}


@pytest.mark.parametrize(
    ("text", "village"),
    [
        ("De violents bombardements ont visé Shurnukh dans la nuit.", "village-shurnukh"),
        ("Des obus sont tombés sur le village de Kirants.", "village-kirants"),
    ],
)
def test_shelling_is_typed_as_artillery_attack(pipeline: Pipeline, text: str, village: str) -> None:
    incident = only(incidents(pipeline, text))
    assert incident.event_type == "Explosions/Remote violence"
    assert incident.sub_event_type == SHELLING
    assert incident.place.id == village


def test_drone_strike_is_typed_as_air_drone_strike(pipeline: Pipeline) -> None:
    incident = only(incidents(pipeline, "Une frappe de drone a détruit un camion militaire près de Kut."))
    assert incident.event_type == "Explosions/Remote violence"
    assert incident.sub_event_type == "Air/drone strike"
    assert incident.place.id == "village-kut"


def test_crossing_the_border_is_a_border_incursion(pipeline: Pipeline) -> None:
    incident = only(incidents(pipeline, "Des soldats ont franchi la frontière près de Nerkin Hand."))
    assert incident.sub_event_type == "Border incursion/seizure of positions"
    assert incident.place.id == "village-nerkin-hand"


def test_ceasefire_is_typed_as_agreement(pipeline: Pipeline) -> None:
    incident = only(incidents(pipeline, "Un cessez-le-feu est entré en vigueur à Berkaber."))
    assert (incident.event_type, incident.sub_event_type) == ("Strategic developments", "Ceasefire/agreement")


def test_ceasefire_violation_is_its_own_type_and_not_at_the_accuser(pipeline: Pipeline) -> None:
    incident = only(incidents(pipeline, "Erevan a dénoncé une violation du cessez-le-feu près de Chakaten."))
    assert incident.sub_event_type == "Ceasefire violation"
    assert incident.place.id == "village-chakaten"


def test_capitals_only_hosting_or_brokering_talks_get_no_incident(pipeline: Pipeline) -> None:
    """Brussels hosts the talks and Moscow brokers the deal: neither is the scene of anything."""
    text = (
        "Des pourparlers à Bruxelles ont porté sur le cessez-le-feu. "
        "Un accord de paix a été négocié par Moscou."
    )
    doc = run(pipeline, text)
    assert {r.mention.text for r in doc.resolutions if r.place} >= {"Bruxelles", "Moscou"}
    assert doc.incidents == []


def test_brokered_ceasefire_is_placed_where_it_applies(pipeline: Pipeline) -> None:
    text = (
        "Un cessez-le-feu négocié par Moscou est entré en vigueur à Berkaber. "
        "Des pourparlers se sont tenus à Bruxelles sur le cessez-le-feu à Kirants."
    )
    found = incidents(pipeline, text)
    assert place_ids(found) == {"village-berkaber", "village-kirants"}
    assert {i.sub_event_type for i in found} == {"Ceasefire/agreement"}


def test_two_coordinated_regions_give_two_incidents(pipeline: Pipeline) -> None:
    found = incidents(pipeline, "Des combats ont éclaté dans les régions de Berkaber et de Kirants.")
    assert len(found) == 2
    assert place_ids(found) == {"village-berkaber", "village-kirants"}
    assert {i.sub_event_type for i in found} == {"Armed clash"}


def test_armenian_territory_locates_at_armenia_with_country_precision(pipeline: Pipeline) -> None:
    incident = only(incidents(pipeline, "Des tirs d'artillerie ont visé le territoire arménien."))
    assert incident.place.id == "country-am"
    assert incident.place.country == "AM"
    assert incident.geo_precision == 3
    assert incident.sub_event_type == SHELLING


# --- casualties -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fatalities", "injured"),
    [
        ("Les combats ont fait 14 morts à Berkaber.", 14, None),
        ("Les combats ont fait 6 500 morts à Berkaber.", 6500, None),
        ("Deux soldats ont été tués lors d'affrontements à Berkaber.", 2, None),
        ("Au moins 49 personnes ont été tuées dans des combats à Berkaber.", 49, None),
        ("Les affrontements à Berkaber ont fait 11 morts et 33 blessés.", 11, 33),
        ("Des affrontements ont éclaté à Berkaber.", None, None),
    ],
)
def test_casualties_are_read_from_the_evidence(
    pipeline: Pipeline, text: str, fatalities: int | None, injured: int | None
) -> None:
    incident = only(incidents(pipeline, text))
    assert incident.place.id == "village-berkaber"
    assert (incident.fatalities, incident.injured) == (fatalities, injured)


# --- dates ----------------------------------------------------------------------------------------


def test_day_and_month_take_the_article_year(pipeline: Pipeline) -> None:
    incident = only(incidents(pipeline, "Des combats ont eu lieu à Berkaber le 13 septembre."))
    assert (incident.date, incident.date_precision) == (dt.date(2023, 9, 13), "day")


def test_weekday_is_resolved_against_the_article_date(pipeline: Pipeline) -> None:
    incident = only(incidents(pipeline, "Des affrontements ont éclaté mardi à Berkaber."))
    assert (incident.date, incident.date_precision) == (dt.date(2023, 10, 31), "day")


def test_no_date_is_invented_without_article_or_sentence_date(pipeline: Pipeline) -> None:
    incident = only(incidents(pipeline, "Des combats ont eu lieu à Berkaber.", date=None))
    assert incident.date is None
    assert incident.date_precision == "unknown"


# --- merging and actors ---------------------------------------------------------------------------


def test_two_reports_of_one_event_merge_keeping_both_sentences(pipeline: Pipeline) -> None:
    first = "Des affrontements ont éclaté à Berkaber mardi."
    second = "Ces combats à Berkaber ont fait trois morts."
    incident = only(incidents(pipeline, f"{first} {second}"))
    assert first in incident.evidence and second in incident.evidence
    assert incident.date == dt.date(2023, 10, 31)
    assert incident.fatalities == 3


def test_actor_named_after_the_scene_is_labelled_with_its_country(pipeline: Pipeline) -> None:
    text = "Des combats ont éclaté à Berkaber avec les forces arméniennes."
    incident = only(incidents(pipeline, text))
    assert any("Armenia" in actor for actor in incident.actors), incident.actors


def test_actor_followed_by_a_verb_is_labelled_with_its_country(pipeline: Pipeline) -> None:
    incident = only(incidents(pipeline, "Les forces arméniennes ont bombardé Kirants."))
    assert incident.sub_event_type == SHELLING
    assert any("Armenia" in actor for actor in incident.actors), incident.actors


# --- pure helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", 12),
        ("6 500", 6500),
        ("6\u202f500", 6500),
        ("1.200", 1200),
        ("deux", 2),
        ("Onze", 11),
        ("abc", None),
        ("", None),
    ],
)
def test_parse_number(text: str, value: int | None) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Les combats ont fait 6 500 morts et 1 200 blessés.", (6500, 1200)),
        ("Deux soldats ont été tués.", (2, None)),
        ("Au moins 49 personnes ont été tuées.", (49, None)),
        ("Le bilan est de 11 morts et 33 blessés.", (11, 33)),
        ("Les bombardements ont tué trois civils.", (3, None)),
        ("Trois soldats ont été blessés.", (None, 3)),
        ("Des tirs ont été entendus toute la nuit.", (None, None)),
    ],
)
def test_casualties(sentence: str, expected: tuple[int | None, int | None]) -> None:
    assert casualties(sentence) == expected


def test_casualties_none_reported_is_not_one() -> None:
    assert casualties("Aucun mort n'a été signalé.")[0] in (None, 0)


def test_casualties_compound_number_word() -> None:
    assert casualties("Dix-huit soldats ont été tués.") == (18, None)


@pytest.mark.parametrize(
    ("sentence", "published", "expected"),
    [
        ("le 13 septembre", PUBLISHED, (dt.date(2023, 9, 13), "day")),
        ("le 1er novembre", PUBLISHED, (dt.date(2023, 11, 1), "day")),
        ("le 2 décembre", PUBLISHED, (dt.date(2022, 12, 2), "day")),  # later month: the year before
        ("le 4 août 2021", PUBLISHED, (dt.date(2021, 8, 4), "day")),
        ("le 13/09/2022", None, (dt.date(2022, 9, 13), "day")),
        ("mardi", PUBLISHED, (dt.date(2023, 10, 31), "day")),
        ("jeudi", PUBLISHED, (PUBLISHED, "day")),
        ("la semaine dernière", PUBLISHED, (dt.date(2023, 10, 26), "week")),
        ("le 13 septembre", None, (None, "unknown")),
        ("mardi", None, (None, "unknown")),
        ("le 31 février", PUBLISHED, (None, "unknown")),
        ("hier soir", PUBLISHED, (PUBLISHED - dt.timedelta(days=1), "day")),
        ("avant-hier", PUBLISHED, (PUBLISHED - dt.timedelta(days=2), "day")),
        ("ce matin", PUBLISHED, (PUBLISHED, "day")),
        ("hier", None, (None, "unknown")),
        ("le 2022-09-13", None, (dt.date(2022, 9, 13), "day")),
        ("jeudi prochain", PUBLISHED, (None, "unknown")),
        ("en août", PUBLISHED, (dt.date(2023, 8, 1), "month")),
        ("fin septembre 2020", None, (dt.date(2020, 9, 1), "month")),
        ("en décembre", None, (None, "unknown")),
        ("dans la nuit de lundi à mardi", PUBLISHED, (dt.date(2023, 10, 30), "day")),
    ],
)
def test_event_date(sentence: str, published: dt.date | None, expected: tuple[dt.date | None, str]) -> None:
    assert event_date(sentence, published) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Le 22 Novembre 2024\nDes combats ont éclaté.", dt.date(2024, 11, 22)),
        ("EREVAN, le 1er août 2021 (AFP) - Des tirs.", dt.date(2021, 8, 1)),
        ("Des tirs ont éclaté dans la nuit.", None),
        ("Le 31 février 2024, des tirs.", None),
    ],
)
def test_article_date_from_dateline(text: str, expected: dt.date | None) -> None:
    assert article_date(Article(id="x", text=text)) == expected


def test_article_date_metadata_wins_over_dateline() -> None:
    article = Article(id="x", text="Le 22 Novembre 2024\nDes combats.", date=dt.date(2024, 11, 23))
    assert article_date(article) == dt.date(2024, 11, 23)


def test_actors_of_labels_forces_by_nationality(gazetteer) -> None:
    demonyms = load_demonyms(gazetteer)
    assert actors_of("tirs des troupes azerbaïdjanaises.", demonyms) == ("Military Forces of Azerbaijan",)
    assert actors_of("les forces armées arméniennes tirent", demonyms) == ("Military Forces of Armenia",)
    assert actors_of("des tirs ont été entendus", demonyms) == ()


def _report(doc: str, date: dt.date | None, evidence: str) -> Incident:
    place = Place(id="village-x", name="Tegh", kind="village", country="AM", lat=39.56, lon=46.48)
    return Incident(
        id=doc, doc=doc, event_type="Battles", sub_event_type="Armed clash", place=place, mention="Tegh",
        geo_precision=1, evidence=evidence, date=date, date_precision="day" if date else "unknown",
        sources=({"doc": doc, "title": None, "url": f"https://example.org/{doc}"},),
    )  # fmt: skip


def test_reports_of_one_event_in_two_articles_become_one_record() -> None:
    a = _report("a", dt.date(2022, 9, 13), "Des combats ont éclaté près de Tegh.")
    b = _report("b", dt.date(2022, 9, 14), "Tegh a été le théâtre d'affrontements.")
    (merged,) = merge_reports([a, b])
    assert [s["doc"] for s in merged.sources] == ["a", "b"]
    assert a.evidence in merged.evidence and b.evidence in merged.evidence


def test_reports_far_apart_or_undated_stay_apart() -> None:
    a = _report("a", dt.date(2022, 9, 13), "Combats près de Tegh.")
    later = _report("b", dt.date(2022, 9, 20), "Nouveaux combats près de Tegh.")
    undated = _report("c", None, "Des combats près de Tegh.")
    assert len(merge_reports([a, later, undated])) == 3


def _merge_by_definition(incidents: list[Incident], window_days: int) -> list[Incident]:
    """merge_reports as its docstring defines it, comparing each report with every kept record."""
    merged: list[Incident] = []
    for incident in incidents:
        for i, kept in enumerate(merged):
            if (
                (kept.sub_event_type, kept.place.id) == (incident.sub_event_type, incident.place.id)
                and kept.date is not None
                and incident.date is not None
                and kept.doc != incident.doc
                and abs((kept.date - incident.date).days) <= window_days
            ):
                merged[i] = merge_reports([kept, incident], window_days=window_days)[0]
                break
        else:
            merged.append(incident)
    return merged


@pytest.mark.parametrize("seed", range(40))
def test_the_indexed_merge_agrees_with_its_definition(seed: int) -> None:
    import random
    from dataclasses import replace

    rng = random.Random(seed)
    reports = []
    for k in range(60):
        day = rng.choice([None, *(dt.date(2022, 9, 10) + dt.timedelta(days=d) for d in range(6))])
        report = _report(f"d{rng.randrange(6)}", day, f"Rapport {k} sur Tegh.")
        place = replace(report.place, id=rng.choice(["village-x", "village-y"]))
        reports.append(replace(report, sub_event_type=rng.choice(["Armed clash", "Shelling"]), place=place))
    for window in (0, 1, 3):
        expected = _merge_by_definition(reports, window)
        assert merge_reports(reports, window_days=window) == expected
        assert len(expected) < len(reports)


@pytest.mark.parametrize(
    ("text", "scene"),
    [
        ("Les frappes de la Russie contre des civils en Ukraine ont fait trois morts.", "country-ua"),
        ("Les bombardements de l'Azerbaïdjan ont visé des civils en Arménie.", "country-am"),
    ],
)
def test_country_after_an_attack_noun_is_the_attacker(pipeline: Pipeline, text: str, scene: str) -> None:
    """ "les frappes de la Russie": the country that strikes, not where; the scene is named by "en"."""
    assert place_ids(incidents(pipeline, text)) == {scene}


def test_town_after_an_event_noun_is_the_scene(pipeline: Pipeline) -> None:
    """ "le bombardement de Goris": the town is where it happened."""
    incident = only(incidents(pipeline, "Le bombardement de Goris a duré toute la nuit, selon Erevan."))
    assert incident.place.name == "Goris"


# --- bounded work on hostile text -------------------------------------------------------------


def _seconds(work: Callable[[], object]) -> float:
    """The shortest of a few runs of ``work`` (a single run when one is long enough to measure)."""
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
        if best > 0.5:
            break
    return best


@pytest.mark.parametrize("unit", ["vingt-", "cent et ", "111 ", "quatre-vingt-"])
def test_casualty_patterns_take_time_linear_in_a_chain_of_numbers(unit: str) -> None:
    """ "vingt-vingt-..." made the number pattern try every shorter number at every start."""
    small, large = unit * 500, unit * 8000
    ratio = _seconds(lambda: casualties(large)) / _seconds(lambda: casualties(small))
    # sixteen times the text: about 16 when linear, 256 when quadratic (a wide margin, for a shared
    # machine: a ratio of 8 against 4 failed once when another process took the core)
    assert ratio < 64


def test_an_absurd_figure_is_no_casualty_count() -> None:
    """Too long to be a count of people, or to become an int (5,000 digits raised ValueError)."""
    assert casualties("1" * 5000 + " morts dans la nuit.") == (None, None)
    assert casualties("Le bilan est de 1 234 567 890 morts.") == (None, None)
    assert parse_number("-".join(["cent"] * 12)) is None
    assert casualties("Au moins 999 999 999 personnes ont été tuées.") == (999_999_999, None)


def _repeated_report(count: int) -> tuple[Article, list[Span], list[Resolution]]:
    """An article telling ``count`` times, in as many sentences, of shelling at Berkaber."""
    place = Place(id="village-berkaber", name="Berkaber", kind="village", country="AM", lat=41.0, lon=45.1)
    parts, resolutions, offset = [], [], 0
    for i in range(count):
        sentence = f"Rapport {i} : des obus sont tombés sur Berkaber. "
        start = offset + sentence.index("Berkaber")
        mention = Mention(
            doc="long", start=start, end=start + 8, text="Berkaber", origin="gazetteer", sentence=i
        )
        resolutions.append(Resolution(mention, place, "gazetteer", 0.95, ()))
        parts.append(sentence)
        offset += len(sentence)
    nlp = spacy.blank("fr")
    nlp.add_pipe("sentencizer")
    article = Article(id="long", text="".join(parts))
    sentences = list(nlp(article.text).sents)
    assert len(sentences) == count
    return article, sentences, resolutions


def test_the_evidence_of_an_event_told_again_and_again_is_bounded(gazetteer) -> None:
    """Each report merged in copied and searched the whole evidence: 16,000 repeats of one event
    took 9 s, the evidence grew to the article's size and its cost to the square of it."""
    article, sentences, resolutions = _repeated_report(4000)
    every_genre = ContextModel(default_model().nlp, article_floor=0.0)  # evidence is tested, not genre
    (incident,) = IncidentDetector(gazetteer, context=every_genre).detect(article, sentences, resolutions)
    assert incident.evidence.startswith("Rapport 0 : des obus sont tombés sur Berkaber. … Rapport 1 :")
    size = len(incident.evidence)
    assert size < len(article.text) / 3  # not the whole article again
    assert size <= incidents_module.MAX_EVIDENCE_CHARS + 60


def test_the_evidence_of_an_event_reported_by_many_articles_is_bounded() -> None:
    reports = [
        _report(f"d{k}", dt.date(2022, 9, 13), f"Rapport {k} : des combats près de Tegh.")
        for k in range(3000)
    ]
    (merged,) = merge_reports(reports)
    assert len(merged.sources) == 3000
    assert merged.evidence.startswith("Rapport 0 : des combats près de Tegh. … Rapport 1 :")
    size = len(merged.evidence)
    assert size < sum(len(r.evidence) for r in reports) / 2
    assert size <= incidents_module.MAX_EVIDENCE_CHARS + 60


# --- guards: sentences with a trigger word that report no current incident ---------------------


@pytest.mark.parametrize(
    ("sentence", "history"),
    [
        ("En 1992, les obus tombaient chaque jour sur Kut.", True),
        ("Le 21 février 1916, l'artillerie a ouvert le feu près de Kut.", True),
        ("Les pires combats depuis 1994 ont frappé Kut mardi.", False),  # "depuis": news
        ("Mardi, des tirs ont visé Kut, comme lors de la guerre de 1992.", False),  # dated this week
        ("Des tirs ont visé Kut en septembre 2022.", False),  # a recent round: not yet history
        ("Des tirs ont visé Kut.", False),
    ],
)
def test_history_is_an_old_date_or_an_old_year(sentence: str, history: bool) -> None:
    assert guards.is_history(sentence, published=PUBLISHED) is history


def test_history_needs_the_article_date() -> None:
    assert not guards.is_history("En 1992, les obus tombaient sur Kut.", published=None)


def test_a_guarded_trigger_leaves_the_others_free() -> None:
    """ "la bataille électorale" is a metaphor, the shelling in the same sentence is not."""
    found = guards.current_event(
        "La bataille électorale continue à Kut malgré les obus.", published=PUBLISHED
    )
    assert found is not None and found[0].sub_event_type == SHELLING
    assert guards.current_event("La bataille électorale continue à Kut.", published=PUBLISHED) is None


def test_a_sentence_guard_rules_out_every_trigger() -> None:
    assert (
        guards.current_event("Le ministre a démenti que des obus et des tirs aient visé Kut.", published=None)
        is None
    )


def test_an_old_battle_gives_no_incident_but_a_new_one_does(pipeline: Pipeline) -> None:
    text = "En 1992, de violents combats avaient eu lieu près de Kut. Mardi, des obus sont tombés sur Kut."
    assert [i.sub_event_type for i in incidents(pipeline, text)] == [SHELLING]


def test_in_an_article_about_no_new_incident_recent_past_is_background(pipeline: Pipeline) -> None:
    """Under a guarded headline (here a denial), an event dated months before is background; under
    a headline that reports an incident, the same sentence is still mapped."""
    background = "Le secteur de Kut avait été le théâtre de violents combats en mars 2022."
    quiet = "Erevan dément tout échange de tirs près de Kut\n\n" + background
    loud = "Des obus tombent sur Kut\n\n" + background
    assert not incidents(pipeline, quiet)
    assert {i.mention for i in incidents(pipeline, loud)} == {"Kut"}
    assert guards.is_history(background, published=PUBLISHED, quiet=True)
    assert not guards.is_history(background, published=PUBLISHED)


@pytest.mark.parametrize(
    "text",
    [
        "À Erevan, le ministre a rappelé son attachement à l'intégrité territoriale de l'Arménie.",
        "À Gyumri, la police a lancé mardi une opération de choc contre les vendeurs à la sauvette.",
    ],
)
def test_the_two_false_incidents_named_by_the_accuracy_issue_are_gone(pipeline: Pipeline, text: str) -> None:
    """Issue #13 found a border incursion at Yerevan and an armed clash at Gyumri in these."""
    assert incidents(pipeline, text) == []


def test_a_narrative_keeps_its_date_until_a_new_one() -> None:
    dated = "Le 1er février 2008, des colonnes rebelles sont entrées dans Kut."
    undated = "Pendant deux jours, des obus tombent sur les quartiers de Kut."
    assert guards.continues_history(undated, dated, published=PUBLISHED)
    assert not guards.continues_history("Mardi, des obus sont tombés sur Kut.", dated, published=PUBLISHED)
    assert not guards.continues_history("En 2023, des obus tombent sur Kut.", dated, published=PUBLISHED)
    recent = "Des colonnes rebelles sont entrées dans Kut mardi."
    assert not guards.continues_history(undated, recent, published=PUBLISHED)
    assert not guards.continues_history(undated, dated, published=None)


REVIEW = "Roman : « Les Deux Rives », une ville sous le feu"
OLD_ENTRY = "Le 1er février 2008, des colonnes rebelles sont entrées dans Kut."
NARRATED = "Pendant deux jours, des obus tombent sur les quartiers de Berkaber."


def test_in_a_review_the_story_of_an_old_battle_gives_no_incident(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In an article of another genre an undated sentence goes on with its paragraph's history; a
    new paragraph starts anew. (Every sentence is let through the model here: the rule alone is tested.)"""
    monkeypatch.setattr(pipeline.detector.context, "genre_threshold", 0.0)
    assert "Berkaber" not in place_names(incidents(pipeline, f"{REVIEW}\n\n{OLD_ENTRY} {NARRATED}"))
    assert "Berkaber" in place_names(incidents(pipeline, f"{REVIEW}\n\n{OLD_ENTRY}\n\n{NARRATED}"))


def test_under_a_headline_the_guards_rule_out_only_sure_sentences_count(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A guarded headline (a denial, a review, an anniversary) says the article is of another genre:
    its sentences need the model's genre threshold, here out of reach."""
    body = "Des soldats ont ouvert le feu mardi sur un poste de Berkaber."
    monkeypatch.setattr(pipeline.detector.context, "genre_threshold", 1.01)
    assert incidents(pipeline, "Erevan dément tout échange de tirs près de Kut\n\n" + body) == []
    assert "Berkaber" in place_names(incidents(pipeline, "Des obus tombent sur Kut\n\n" + body))


# --- the context model (geomap.context) ------------------------------------------------------------

METAPHOR = "À Berkaber, l'opposition a ouvert le feu mardi sur le projet de budget du gouvernement."


def test_a_metaphor_no_guard_names_is_ruled_out_by_the_context_model(pipeline: Pipeline) -> None:
    assert guards.current_event(METAPHOR, published=PUBLISHED) is not None  # the guards let it through
    assert incidents(pipeline, METAPHOR) == []
    report = "Des soldats ont ouvert le feu mardi sur un poste de Berkaber."
    assert [i.sub_event_type for i in incidents(pipeline, report)] == ["Armed clash"]


def test_in_an_article_that_reports_fighting_a_weaker_sentence_still_counts(pipeline: Pipeline) -> None:
    """A sentence the model doubts alone is read in the light of a sure report beside it."""
    doubtful = "Selon les analystes, l'offensive cherche à isoler Kirants."
    model = default_model()
    assert model.in_report_threshold <= model.probability(doubtful) < model.threshold
    assert incidents(pipeline, doubtful) == []
    article = "Des soldats ont ouvert le feu mardi sur un poste de Berkaber. " + doubtful
    assert {i.place.name for i in incidents(pipeline, article)} == {"Berkaber", "Kirants"}


# --- English: the same stages, read with the English pack -----------------------------------------


def run_en(pipeline: Pipeline, text: str, date: dt.date | None = PUBLISHED) -> list[Incident]:
    return next(pipeline.documents([Article(id="en", text=text, date=date, language="en")])).incidents


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Two soldiers were killed and a dozen wounded.", (2, 12)),
        ("At least 49 people died in the strike.", (49, None)),
        ("The shelling killed three civilians and wounded five others.", (3, None)),
        ("The attack left at least ten people dead.", (10, None)),
        ("Twenty-one servicemen were killed.", (21, None)),
        ("One hundred and twenty people were injured.", (None, 120)),
        ("Gunfire was heard all night.", (None, None)),
        ("Two mortars were seized by the police.", (None, None)),
    ],
)
def test_english_casualties(sentence: str, expected: tuple[int | None, int | None]) -> None:
    assert casualties(sentence, language="en") == expected


def test_english_actors_read_the_nationality_before_the_noun(gazetteer) -> None:
    demonyms = load_demonyms(gazetteer, "en")
    assert actors_of("Azerbaijani troops fired on the village.", demonyms, language="en") == (
        "Military Forces of Azerbaijan",
    )
    assert actors_of("Russian peacekeepers withdrew.", demonyms, language="en") == ("Peacekeepers of Russia",)
    assert actors_of("Fire was heard near the border.", demonyms, language="en") == ()
    assert (
        actors_of("Azerbaijani troops fired.", load_demonyms(gazetteer), language="en") == ()
    )  # French adjectives


def test_an_english_report_gives_its_incidents_with_date_toll_and_actors(pipeline: Pipeline) -> None:
    found = run_en(
        pipeline,
        "YEREVAN, Nov. 2 - Azerbaijani forces shelled Berkaber on Tuesday, killing two soldiers, the "
        "defence ministry in Yerevan said. Baku denied the claim and said its troops had responded.",
    )
    incident = only(found)
    assert (incident.sub_event_type, incident.place.name) == (SHELLING, "Berkaber")
    assert (incident.date, incident.date_precision) == (dt.date(2023, 10, 31), "day")
    assert incident.fatalities == 2
    assert incident.actors == ("Military Forces of Azerbaijan",)


@pytest.mark.parametrize(
    "text",
    [
        "The film recreates the shelling of Berkaber in 1992 with unsettling precision.",
        "Azerbaijan denied that its troops had fired on Berkaber.",
        "The minister said in Yerevan that the talks on the border would resume next week.",
        "Berkaber's football team launched a fierce attack in the second half.",
    ],
)
def test_english_sentences_that_report_no_incident_give_none(pipeline: Pipeline, text: str) -> None:
    assert run_en(pipeline, text) == []
