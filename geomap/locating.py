"""Where an event happened: the roles the sentence's wording gives the places it names.

The incident is placed at the place where it happened, read from the wording ("à Berkaber", "dans
la région de Tavush", "le long de la rivière", "le sol arménien"), never at a capital or a
country that only speaks, accuses or hosts ("Bakou a démenti", "l'ambassade à Erevan"). The words
that give a name its role (speech verbs, actor cues, seats of institutions, place prepositions and
nouns, event nouns, words of talks, national-area nouns) come from the lexicon; the grammar that
strings them together is below.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from geomap.actors import fold
from geomap.lexicon import DEFAULT_LANGUAGE, load
from geomap.models import Place, Resolution

PRECISION_BY_KIND = {
    "village": 1,
    "town": 1,
    "city": 1,
    "border_post": 1,
    "bridge": 1,
    "height": 1,
    "airport": 1,
    "border_area": 2,
    "district": 2,
    "lake": 2,
    "reservoir": 2,
    "pass": 2,
    "mountain": 2,
    "river": 2,
    "corridor": 2,
    "province": 2,
}

# The end of a grammar word: a word boundary, or its own apostrophe or dot ("qu'", "l'", "M.").
_WORD_END = r"(?:(?<=['.])|(?!\w))"


@dataclass(frozen=True, slots=True)
class _Roles:
    """One language's role patterns, compiled from its lexicon (the words) and the grammar here (the
    shape of the phrases, the same in every language)."""

    actor_verb: re.Pattern[str]
    coordinated_name: re.Pattern[str]
    inverted_subject: re.Pattern[str]
    seat_before: re.Pattern[str]
    actor_before: re.Pattern[str]
    agent_noun_before: re.Pattern[str]
    locative_before: re.Pattern[str]
    hit_after: re.Pattern[str]
    coordination: re.Pattern[str]
    diplomacy: re.Pattern[str]
    demonym_area: re.Pattern[str]
    clause_start_before: re.Pattern[str]
    preposition_before: re.Pattern[str]
    target_before: re.Pattern[str]


@cache
def _roles(language: str) -> _Roles:
    lexicon = load(language)

    def any_of(key: str, *, prefix: str = "", suffix: str = "") -> str:
        return lexicon[key].alternation(prefix=prefix, suffix=suffix)

    conjunction = any_of("grammar.conjunction")
    # Articles and linking words between a cue and the name it introduces ("près de la", "à l'", "near the").
    filler = r"(?:\s*\b" + any_of("grammar.filler") + r")*\s*$"
    # A noun and the word linking it to its object or its doer: "les frappes de", "strikes by".
    of_object = r"(?:\s+\w+)?\s*\b" + any_of("grammar.object")
    of_agent = r"(?:\s+\w+)?\s*\b" + any_of("grammar.agent")
    area_noun = any_of("national_areas.noun")
    return _Roles(
        # Speech and political acts: a place that does these is an actor, not where something happened.
        actor_verb=re.compile(
            r"^\s*(?P<aside>,[^,]{0,80},\s*)?"
            + any_of("actor_verbs.auxiliary")
            + r"?\s*"
            + any_of("actor_verbs.adverb", suffix=" ")
            + "?"
            + any_of("actor_verbs.verb"),
            re.I,
        ),
        coordinated_name=re.compile(
            r"^\s*(?:" + conjunction + r"\b|,)\s+(?:" + any_of("articles.word", suffix=r"\s*") + r")?"
            r"[A-ZÉÈ][\w'-]+(?:\s+[A-ZÉÈ][\w'-]+)?(?=\s)"
        ),
        inverted_subject=re.compile(r"\w*\s+" + any_of("grammar.subject_determiner") + _WORD_END, re.I),
        # "l'ambassade à Erevan", "the embassy in Yerevan": the seat of whoever speaks, not the scene;
        # the seat is named right after its institution, with no verb between them.
        seat_before=re.compile(
            any_of("seats.institution")
            + r"(?:\s+(?!"
            + any_of("grammar.finite_verb")
            + _WORD_END
            + r")[^\s.,;:]+){0,6}\s+"
            + any_of("grammar.seat_preposition")
            + filler,
            re.I,
        ),
        # "selon Moscou", "la médiation de Paris": whoever is named there acts or speaks.
        actor_before=re.compile(any_of("actor_cues.cue", prefix=r"\b") + filler, re.I),
        # "les frappes de la Russie": after these nouns a country is the attacker, not the scene (a
        # town is the target: "les frappes de Kherson" is rare; "l'invasion de la Crimée" is a scene).
        agent_noun_before=re.compile(any_of("agent_nouns.noun", prefix=r"\b") + of_agent + filler, re.I),
        locative_before=re.compile(
            r"(?:"
            # a preposition of place: "à Kut", "près de Sisian", "le long de la rivière"
            + any_of("scene_cues.preposition", prefix=r"\b")
            # a place noun, maybe with an adjective: "la région montagneuse du Syunik", "le village de"
            + r"|"
            + any_of("scene_cues.place_noun", prefix=r"\b")
            + r"(?:\s+\w+){0,2}?"
            # the object of an event noun is where it happened: "le pilonnage de Martouni", "the
            # attack on Sotk" (for countries see agent_noun_before)
            + r"|"
            + any_of("event_nouns.noun", prefix=r"\b")
            + of_object
            # the object of an attack verb is its target: "ont visé Kherson", "shelled Martuni"
            + r"|"
            + any_of("scene_cues.attack_participle", prefix=r"\b")
            + r")"
            + filler,
            re.I,
        ),
        # "Sotk a été touché", "Tegh and Kornidzor were shelled": the subject of a passive attack verb
        # is its target, unless an agent that is no force follows ("touchée par la crise" is no
        # attack; the trigger rules rule those out, and an actor named after "par" is no target).
        hit_after=re.compile(
            r"^\s*"
            + any_of("grammar.passive")
            + r"\s+"
            + any_of("scene_cues.attack_participle", suffix=r"\b"),
            re.I,
        ),
        # After an actor, "X, Y et Z" are actors too; after a place, "à X et (à|de) Y" are places too.
        coordination=re.compile(
            r"^\s*(?:,|"
            + conjunction
            + r"\b)\s*(?:"
            + any_of("grammar.coordination_preposition")
            + ")?"
            + filler,
            re.I,
        ),
        # Talks, calls and summits: a capital named in such a sentence is the venue, not the scene.
        diplomacy=re.compile(r"\b" + any_of("diplomacy.word"), re.I),
        # "le sol arménien" or "Armenian soil": the adjective on either side of the noun.
        demonym_area=re.compile(
            r"\b(?:(?P<before>[^\W\d_]+)\s+)?" + area_noun + r"(?:\s+(?P<adj>[^\W\d_]+))?\b", re.I
        ),
        # "residents of Aghdam said", "at Barda, Baku said": a name after a preposition is no subject.
        preposition_before=re.compile(
            r"\b(?:"
            + "|".join(
                lexicon[key].alternation()
                for key in (
                    "grammar.object",
                    "grammar.coordination_preposition",
                    "place_prepositions.preposition",
                )
            )
            + r")"
            + filler,
            re.I,
        ),
        # "an attack on the government headquarters in X", "shelled the army's headquarters in X": an
        # institution that is the object of an attack is a building hit there, not a seat that speaks.
        target_before=re.compile(
            r"(?:"
            + any_of("event_nouns.noun", prefix=r"\b")
            + of_object
            + r"|"
            + any_of("scene_cues.attack_participle", prefix=r"\b")
            + r")(?:\s*\b"
            + any_of("grammar.filler")
            + r")*(?:\s+[\w'’]+){0,2}\s*$",
            re.I,
        ),
        clause_start_before=re.compile(
            r"(?:^|[.;:\n«»\"“”(]|\b"
            + any_of("grammar.clause_opener")
            + r")\s*(?:"
            + any_of("articles.word", suffix=r"\s*")
            + r")?$",
            re.I,
        ),
    )


# How much text before and after a name its role is read from.
CONTEXT_CHARS = 80


@dataclass(frozen=True, slots=True)
class Located:
    """A place an event is put at, with the words that named it, its precision and its weight."""

    place: Place
    mention: str
    precision: int
    weight: float


def locate(
    plain_text: str,
    offset: int,
    sentence: str,
    trigger_at: int,
    mentions: Sequence[Resolution],
    *,
    demonyms: dict[str, Place],
    language: str = DEFAULT_LANGUAGE,
) -> list[Located]:
    """Where the sentence's event happened: the places its wording puts it at, finest first.

    ``plain_text`` is the article's text made plain by ``normalise_for_nlp`` (same offsets),
    ``sentence`` the sentence as written, starting at ``offset``; ``trigger_at`` is where the event's
    trigger starts in it.

    A mention is an *actor* when it speaks or acts ("Bakou a démenti"), is accused or mediates
    ("accusé Moscou de", "selon Paris"), or is listed with one; it is *locative* when a preposition
    or place noun introduces it ("à Kut", "dans la région de", "le long de la rivière") or
    it is listed with one. Countries must be locative; capitals named in talks are venues.
    """
    grammar = _roles(language)
    diplomacy = about_talks(sentence, language=language)
    roles: list[str] = []
    gaps: list[str | None] = []
    candidates: list[tuple[Located, int]] = []
    previous_end = -1
    for r in sorted(mentions, key=lambda r: r.mention.start):
        assert r.place is not None
        before = plain_text[max(offset, r.mention.start - CONTEXT_CHARS) : r.mention.start]
        after = plain_text[r.mention.end : r.mention.end + CONTEXT_CHARS]
        gap = plain_text[previous_end : r.mention.start] if previous_end >= 0 else None
        subject = acts(after, language=language) and not grammar.preposition_before.search(before)
        acting = subject or seat_before(before, language=language)
        if r.place.kind == "country" and agent_noun_before(before, language=language):
            acting = True
        hit = hit_after(after, language=language)
        if (locative_before(before, language=language) or hit) and not acting:
            role = "locative"
        elif acting or actor_cue_before(before, language=language):
            role = "actor"
        elif gap is not None and roles and grammar.coordination.match(gap):
            role = roles[-1]
        elif r.place.kind == "country" and subject_position(before, language=language):
            role = "actor"
        else:
            role = "neutral"
        roles.append(role)
        gaps.append(gap)
        if role == "locative" and hit:
            _coordinated_subjects(roles, gaps, grammar.coordination)
        previous_end = r.mention.end
        place = r.place
        if role == "actor" or place.kind in ("continent", "sea"):
            continue
        if _speaks_for_a_state(place) and role != "locative":
            continue  # countries and capitals not introduced as places are the states that act
        if diplomacy and place.kind == "city" and place.population >= 500_000:
            continue
        precision = (
            3 if place.kind in ("country", "region", "province") else PRECISION_BY_KIND.get(place.kind, 2)
        )
        if not place.country:
            precision = 3
        distance = abs((r.mention.start - offset) - trigger_at)
        weight = (2.0 if role == "locative" else 0.5) + (3 - precision) * 0.75 + r.confidence
        weight += 1.0 / (1.0 + distance / 60) - (0.5 if not place.country else 0.0)
        candidates.append((Located(place, r.mention.text, precision, weight), len(roles) - 1))
    located = [c for c, index in candidates if roles[index] == "locative"]
    if located:
        fine = [c for c in located if c.precision < 3]
        return _unique_places(fine) if fine else [max(located, key=lambda c: c.weight)]
    if area := national_area(plain_text[offset : offset + len(sentence)], demonyms, language=language):
        return [area]
    if candidates:
        return [max((c for c, _ in candidates), key=lambda c: c.weight)]
    return []


def _coordinated_subjects(roles: list[str], gaps: list[str | None], coordination: re.Pattern[str]) -> None:
    """The names listed before the subject of a passive attack verb share its role ("Sotk, Kornidzor
    et Tegh ont été visés"): made locative in place, from the last one back."""
    for index in range(len(roles) - 2, -1, -1):
        gap = gaps[index + 1]
        if roles[index] != "neutral" or gap is None or not coordination.match(gap):
            return
        roles[index] = "locative"


def hit_after(after: str, *, language: str = DEFAULT_LANGUAGE) -> bool:
    """The text after a name makes it the subject of a passive attack verb ("a été pilonné"): the target."""
    return bool(_roles(language).hit_after.match(after))


def national_area(
    sentence: str, demonyms: dict[str, Place], *, language: str = DEFAULT_LANGUAGE
) -> Located | None:
    """The country of the first national area the (plain) sentence names: "le sol arménien", "les
    positions ukrainiennes", "Armenian soil" (``demonyms`` are those of ``language``)."""
    for match in _roles(language).demonym_area.finditer(sentence):
        for group in ("adj", "before"):
            place = demonyms.get(fold(match.group(group) or ""))
            if place:
                return Located(place, match.group(0), 3, 1.0)
    return None


def acts(after: str, *, language: str = DEFAULT_LANGUAGE) -> bool:
    """The name is the subject of a speech or political verb ("Bakou a démenti", "Erevan, de son
    côté, dénonce", "Paris et Berlin demandaient").

    A verb reached across a comma and followed by its own subject is an inverted report of the
    whole sentence ("près de Kut, a indiqué le porte-parole"), not the name's act.
    """
    grammar = _roles(language)
    after = grammar.coordinated_name.sub("", after, count=1)
    match = grammar.actor_verb.match(after)
    if match is None:
        return False
    inverted = grammar.inverted_subject.match(after[match.end() :])
    return not (match.group("aside") and inverted)


def seat_before(before: str, *, language: str = DEFAULT_LANGUAGE) -> bool:
    """The text before a name makes it the seat of an institution ("l'ambassade de France à"), unless
    the institution is the object of an attack ("an attack on the government headquarters in")."""
    roles = _roles(language)
    match = roles.seat_before.search(before)
    return match is not None and not roles.target_before.search(before[: match.start()])


def actor_cue_before(before: str, *, language: str = DEFAULT_LANGUAGE) -> bool:
    """The text before a name introduces whoever acts or speaks ("selon", "accusé", "avec")."""
    return bool(_roles(language).actor_before.search(before))


def agent_noun_before(before: str, *, language: str = DEFAULT_LANGUAGE) -> bool:
    """The text before a name makes it the doer of an attack ("les frappes de") — for countries."""
    return bool(_roles(language).agent_noun_before.search(before))


def locative_before(before: str, *, language: str = DEFAULT_LANGUAGE) -> bool:
    """The text before a name makes it a place: a preposition, a place noun, the object of an
    event noun or of an attack verb."""
    return bool(_roles(language).locative_before.search(before))


def about_talks(sentence: str, *, language: str = DEFAULT_LANGUAGE) -> bool:
    """The sentence is about talks, calls or summits: a big city it names is their venue."""
    return bool(_roles(language).diplomacy.search(sentence))


def subject_position(before: str, *, language: str = DEFAULT_LANGUAGE) -> bool:
    """A name opening its clause ("La Turquie a dit...", "« Les Pays-Bas sont..."): the doer."""
    return bool(_roles(language).clause_start_before.search(before.rstrip() + " "))


def _speaks_for_a_state(place: Place) -> bool:
    """Countries and big cities (capitals mostly) stand for governments unless a cue makes them places."""
    return place.kind == "country" or (place.kind == "city" and place.population >= 500_000)


def _unique_places(located: list[Located]) -> list[Located]:
    seen: dict[str, Located] = {}
    for c in located:
        if c.place.id not in seen or c.weight > seen[c.place.id].weight:
            seen[c.place.id] = c
    return list(seen.values())
