"""Find incidents in resolved articles: what happened, where, when, to whom, with the evidence.

The stages, one module each: ``geomap.triggers`` says whether a sentence reports an event and of
which ACLED type, and ``geomap.guards`` rules out the trigger words that report no current incident
(denials, plans, metaphors, sport, history); ``geomap.locating`` reads where it happened from the
sentence's wording; ``geomap.casualties`` and ``geomap.actors`` read its toll and its armed actors;
``geomap.merging`` makes one record of each event reported twice. ``IncidentDetector`` wires them
over an article.
The words all of them read come from the lexicon (``geomap/lexicon/<language>/*.toml``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from spacy.tokens import Span

from geomap.actors import actors_of, load_demonyms
from geomap.casualties import MAX_COUNT_DIGITS, MAX_DIGIT_GROUPS, MAX_NUMBER_WORDS, casualties, parse_number
from geomap.context import ContextModel, default_model
from geomap.dates import article_date, earliest_publication, incident_date
from geomap.gazetteer import Gazetteer
from geomap.guards import continues_history, current_event, sentence_guarded
from geomap.ingest import normalise_for_nlp
from geomap.lexicon import DEFAULT_LANGUAGE, pack_language
from geomap.locating import PRECISION_BY_KIND, locate, national_area
from geomap.merging import MAX_EVIDENCE_CHARS, merge, merge_reports, with_id
from geomap.models import Article, Incident, Place, Resolution
from geomap.triggers import EVENT_RULES, EventRule

__all__ = [
    "EVENT_RULES",
    "MAX_COUNT_DIGITS",
    "MAX_DIGIT_GROUPS",
    "MAX_EVIDENCE_CHARS",
    "MAX_NUMBER_WORDS",
    "PRECISION_BY_KIND",
    "EventRule",
    "IncidentDetector",
    "actors_of",
    "casualties",
    "load_demonyms",
    "merge_reports",
    "parse_number",
]


# A change of control dated more than a year before the article is a recall of who holds the place
# ("le district, rendu il y a trois ans"), not news; one of the last year is still reported as news,
# and fighting dated as long ago is still news too (see geomap.guards).
CONTROL_RECALL_DAYS = 365
CONTROL_TYPES = frozenset(
    {
        "Government regains territory",
        "Non-state actor overtakes territory",
        "Non-violent transfer of territory",
    }
)


# The rule that names no event, only its effect on a place ("Sotk a été touché"): such a sentence
# often follows the one that names the event ("Des drones ont attaqué la région. Les villages de A
# et B ont été les plus touchés."), whose type it takes when that type is one of these.
EFFECT_RULE = "place-hit"
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
CARRIED_TYPES = frozenset(
    {"Armed clash", "Shelling/artillery/missile attack", "Air/drone strike", "Attack on civilians"}
)


def _recalled_control(rule: EventRule, date: dt.date | None, published: dt.date | None) -> bool:
    """A change of control the sentence dates long before the article: background, not an event."""
    if rule.sub_event_type not in CONTROL_TYPES or date is None or published is None:
        return False
    return (published - date).days > CONTROL_RECALL_DAYS


def _carried(
    plain: str, previous: Span, *, published: dt.date | None, quiet: bool, language: str
) -> EventRule | None:
    """The rule of the event the previous sentence reports, when its type can carry over to a
    sentence that only tells which places were hit."""
    sentence = plain[previous.start_char : previous.end_char].strip()
    found = current_event(sentence, published=published, quiet=quiet, language=language)
    if found is None or found[0].id == EFFECT_RULE or found[0].sub_event_type not in CARRIED_TYPES:
        return None
    return found[0]


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A sentence whose trigger fired and survived the guards, before the context model's verdict."""

    index: int  # the sentence's rank in the article
    offset: int  # where the sentence starts in the article's text
    text: str  # the sentence as written
    clean: str  # the same, normalised for reading
    rule: EventRule
    trigger_at: int
    mentions: Sequence[Resolution]
    probability: float  # that it reports an event (geomap.context)


def _goes_on_with_history(
    plain: str, sentences: Sequence[Span], candidate: _Candidate, *, published: dt.date | None, language: str
) -> bool:
    """Whether the candidate's sentence, undated, follows a sentence of its paragraph that tells
    history (see ``geomap.guards.continues_history``)."""
    if candidate.index == 0:
        return False
    previous = sentences[candidate.index - 1]
    between = plain[previous.start_char : candidate.offset]
    if _PARAGRAPH_BREAK.search(between):
        return False  # a new paragraph starts a new story
    return continues_history(candidate.clean, between.strip(), published=published, language=language)


def _first_sentence(plain: str, sentences: Sequence[Span]) -> str:
    """The article's first sentence, its headline when the article has no title."""
    return plain[sentences[0].start_char : sentences[0].end_char].strip() if sentences else ""


class IncidentDetector:
    """Turns one article's sentences and resolved mentions into incidents, read with the lexicon,
    the nationality adjectives and the context model of the article's language."""

    def __init__(self, gazetteer: Gazetteer, *, context: ContextModel | None = None) -> None:
        self.gazetteer = gazetteer
        self._demonyms: dict[str, dict[str, Place]] = {}
        self._contexts: dict[str, ContextModel] = {} if context is None else {DEFAULT_LANGUAGE: context}

    @property
    def demonyms(self) -> dict[str, Place]:
        """The default language's nationality adjectives."""
        return self.demonyms_of(DEFAULT_LANGUAGE)

    @property
    def context(self) -> ContextModel:
        """The default language's context model."""
        return self.context_of(DEFAULT_LANGUAGE)

    def demonyms_of(self, language: str) -> dict[str, Place]:
        """The nationality adjectives of ``language``, read once."""
        if language not in self._demonyms:
            self._demonyms[language] = load_demonyms(self.gazetteer, language)
        return self._demonyms[language]

    def context_of(self, language: str) -> ContextModel:
        """The context model of ``language``, loaded once."""
        if language not in self._contexts:
            self._contexts[language] = default_model(language)
        return self._contexts[language]

    def detect(
        self, article: Article, sentences: Sequence[Span], resolutions: Sequence[Resolution]
    ) -> list[Incident]:
        """Every incident of the article, one per (type, place), with all its evidence merged."""
        language = pack_language(article.language)
        demonyms, context_model = self.demonyms_of(language), self.context_of(language)
        published = article_date(article)
        since = earliest_publication(article)  # what history is measured from (see geomap.guards)
        by_sentence: dict[int, list[Resolution]] = {}
        for r in resolutions:
            if r.place is not None:
                by_sentence.setdefault(r.mention.sentence, []).append(r)
        merged: dict[tuple[str, str], Incident] = {}
        plain = normalise_for_nlp(article.text)  # one character for one: slices of it are clean slices
        headline = normalise_for_nlp(article.title) if article.title else _first_sentence(plain, sentences)
        quiet = sentence_guarded(headline, published=since, language=language)  # about no new incident
        candidates = []
        for index, sent in enumerate(sentences):
            raw = article.text[sent.start_char : sent.end_char]
            text = raw.strip()
            offset = sent.start_char + len(raw) - len(raw.lstrip())
            clean = plain[offset : offset + len(text)]
            mentions = by_sentence.get(index, [])
            if not mentions and national_area(clean, demonyms, language=language) is None:
                continue  # no place to put an event at: no need to look for one
            found = current_event(clean, published=since, quiet=quiet, language=language)  # geomap.guards
            if found is None:
                continue
            rule, trigger_at = found
            context = clean
            if rule.id == EFFECT_RULE and index > 0:
                carried = _carried(
                    plain, sentences[index - 1], published=since, quiet=quiet, language=language
                )
                if carried is not None:
                    rule = carried
                    context = plain[sentences[index - 1].start_char : offset].strip() + " " + clean
            probability = context_model.probability(context)
            candidates.append(_Candidate(index, offset, text, clean, rule, trigger_at, mentions, probability))
        # how likely the article is news of a conflict, from its headline and lede (geomap.context);
        # a headline the guards rule out (an anniversary, a denial, a book) says another genre outright
        genre = context_model.article_probability(plain, title=article.title) if candidates else None
        if quiet and candidates:
            genre = 0.0
        threshold = context_model.threshold_for([c.probability for c in candidates], article=genre)
        other_genre = genre is not None and genre < context_model.article_floor
        for candidate in candidates:
            if candidate.probability < threshold:
                continue  # the trigger word is used in another sense (see geomap.context)
            if other_genre and _goes_on_with_history(
                plain, sentences, candidate, published=since, language=language
            ):
                continue
            offset, text, clean, rule = candidate.offset, candidate.text, candidate.clean, candidate.rule
            places = locate(
                plain,
                offset,
                text,
                candidate.trigger_at,
                candidate.mentions,
                demonyms=demonyms,
                language=language,
            )
            if not places:
                continue
            date, precision = incident_date(clean, published, language=language)
            if _recalled_control(rule, date, since):
                continue
            killed, injured = casualties(clean, language=language)
            actors = actors_of(clean, demonyms, language=language)
            for located in places:
                incident = Incident(
                    id="",
                    doc=article.id,
                    event_type=rule.event_type,
                    sub_event_type=rule.sub_event_type,
                    place=located.place,
                    mention=located.mention,
                    geo_precision=located.precision,
                    evidence=text,
                    date=date,
                    date_precision=precision,
                    fatalities=killed,
                    injured=injured,
                    actors=actors,
                    sources=({"doc": article.id, "title": article.title, "url": article.url},),
                    confidence=round(min(0.95, 0.3 + 0.12 * located.weight), 3),
                )
                key = (rule.sub_event_type, located.place.id)
                merged[key] = merge(merged[key], incident) if key in merged else incident
        return [with_id(i) for i in merged.values()]
