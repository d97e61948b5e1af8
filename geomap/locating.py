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

from geomap.actors import fold
from geomap.lexicon import load
from geomap.models import Place, Resolution

_LEXICON = load()


def _any(key: str, *, prefix: str = "", suffix: str = "") -> str:
    return _LEXICON[key].alternation(prefix=prefix, suffix=suffix)


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

# Speech and political acts: a place that does these is an actor, not where something happened.
_ACTOR_VERB = re.compile(
    r"^\s*(?P<aside>,[^,]{0,80},\s*)?"
    + _any("actor_verbs.auxiliary")
    + r"?\s*"
    + _any("actor_verbs.adverb", suffix=" ")
    + "?"
    + _any("actor_verbs.verb"),
    re.I,
)
_COORDINATED_NAME = re.compile(r"^\s*(?:et|ou|,)\s+(?:l'|la |le )?[A-ZÉÈ][\w'-]+(?:\s+[A-ZÉÈ][\w'-]+)?(?=\s)")
_INVERTED_SUBJECT = re.compile(r"\w*\s+(?:le|la|l'|les|un|une|son|sa|ses|leur|leurs|M\.|Mme)\b", re.I)
# Articles and elisions between a cue and the name it introduces ("près de la", "à l'").
_DET = r"(?:\s*(?:l'|d')|\s+(?:la|le|les|de|du|des|de la))*\s*$"
# "l'ambassade à Erevan": the seat of whoever speaks, not the scene; the seat is named right after
# its institution, with no verb and no "que" between them.
_SEAT_BEFORE = re.compile(
    _any("seats.institution")
    + r"(?:\s+(?!qu'|que\b|a\b|ont\b|est\b|sont\b|était\b|avait\b)[^\s.,;:]+){0,6}\s+à"
    + _DET,
    re.I,
)
# "selon Moscou", "la médiation de Paris": whoever is named there acts or speaks.
_ACTOR_BEFORE = re.compile(_any("actor_cues.cue", prefix=r"\b") + _DET, re.I)
_OF = r"(?:\s+\w+)?\s*(?:de|du|des|d')"
# "les frappes de la Russie": after these nouns a country is the attacker, not the scene (a town is
# the target: "les frappes de Kherson" is rare; "l'invasion de la Crimée" is a scene).
_AGENT_NOUN_BEFORE = re.compile(_any("agent_nouns.noun", prefix=r"\b") + _OF + _DET, re.I)
_LOCATIVE_BEFORE = re.compile(
    r"(?:"
    # a preposition of place: "à Kut", "près de Sisian", "le long de la rivière"
    + _any("scene_cues.preposition", prefix=r"\b")
    # a place noun, maybe with an adjective: "la région montagneuse du Syunik", "le village de"
    + r"|"
    + _any("scene_cues.place_noun", prefix=r"\b")
    + r"(?:\s+\w+){0,2}?"
    # the object of an event noun is where it happened: "le pilonnage de Martouni", "le blocus du
    # col", "la reprise de Koupiansk" (for countries see _AGENT_NOUN_BEFORE)
    + r"|"
    + _any("event_nouns.noun", prefix=r"\b")
    + _OF
    # the object of an attack verb is its target: "ont visé Kherson", "a pilonné Martouni"
    + r"|"
    + _any("scene_cues.attack_participle", prefix=r"\b")
    + r")"
    + _DET,
    re.I,
)
# "Sotk a été touché", "Tegh et Kornidzor ont été pilonnés": the subject of a passive attack verb is
# its target, unless an agent that is no force follows ("touchée par la crise" is no attack; the
# trigger rules rule those out, and an actor named after "par" is no target either).
_HIT_AFTER = re.compile(
    r"^\s*(?:a|ont|avait|avaient|aurait|auraient)\s+"
    r"(?:aussi\s+|également\s+|encore\s+|de\s+nouveau\s+)?été\s+(?:\w+ment\s+|(?:le|la|les)\s+plus\s+)?"
    + _any("scene_cues.attack_participle", suffix=r"\b"),
    re.I,
)
# After an actor, "X, Y et Z" are actors too; after a place, "à X et (à|de) Y" are places too.
_COORDINATION = re.compile(r"^\s*(?:,|et|ou)\s*(?:à|au|en|de|d'|dans)?" + _DET, re.I)
# Talks, calls and summits: a capital named in such a sentence is the venue, not the scene.
_DIPLOMACY = re.compile(r"\b" + _any("diplomacy.word"), re.I)
_DEMONYM_AREA = re.compile(r"\b" + _any("national_areas.noun") + r"\s+(?P<adj>[a-zéèëïô]+)\b", re.I)
_CLAUSE_START_BEFORE = re.compile(
    r"(?:^|[.;:\n«»\"“”(]|\bque|\bqu'|\blorsque|\blorsqu'|\bquand|\bsi)\s*(?:(?:l'|la|le|les)\s*)?$", re.I
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
    diplomacy = about_talks(sentence)
    roles: list[str] = []
    gaps: list[str | None] = []
    candidates: list[tuple[Located, int]] = []
    previous_end = -1
    for r in sorted(mentions, key=lambda r: r.mention.start):
        assert r.place is not None
        before = plain_text[max(offset, r.mention.start - CONTEXT_CHARS) : r.mention.start]
        after = plain_text[r.mention.end : r.mention.end + CONTEXT_CHARS]
        gap = plain_text[previous_end : r.mention.start] if previous_end >= 0 else None
        acting = acts(after) or seat_before(before)
        if r.place.kind == "country" and agent_noun_before(before):
            acting = True
        if (locative_before(before) or hit_after(after)) and not acting:
            role = "locative"
        elif acting or actor_cue_before(before):
            role = "actor"
        elif gap is not None and roles and _COORDINATION.match(gap):
            role = roles[-1]
        elif r.place.kind == "country" and subject_position(before):
            role = "actor"
        else:
            role = "neutral"
        roles.append(role)
        gaps.append(gap)
        if role == "locative" and hit_after(after):
            _coordinated_subjects(roles, gaps)
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
    if area := national_area(plain_text[offset : offset + len(sentence)], demonyms):
        return [area]
    if candidates:
        return [max((c for c, _ in candidates), key=lambda c: c.weight)]
    return []


def _coordinated_subjects(roles: list[str], gaps: list[str | None]) -> None:
    """The names listed before the subject of a passive attack verb share its role ("Sotk, Kornidzor
    et Tegh ont été visés"): made locative in place, from the last one back."""
    for index in range(len(roles) - 2, -1, -1):
        gap = gaps[index + 1]
        if roles[index] != "neutral" or gap is None or not _COORDINATION.match(gap):
            return
        roles[index] = "locative"


def hit_after(after: str) -> bool:
    """The text after a name makes it the subject of a passive attack verb ("a été pilonné"): the target."""
    return bool(_HIT_AFTER.match(after))


def national_area(sentence: str, demonyms: dict[str, Place]) -> Located | None:
    """The country of the first national area the (plain) sentence names: "le sol arménien", "les
    positions ukrainiennes"."""
    for match in _DEMONYM_AREA.finditer(sentence):
        place = demonyms.get(fold(match.group("adj")))
        if place:
            return Located(place, match.group(0), 3, 1.0)
    return None


def acts(after: str) -> bool:
    """The name is the subject of a speech or political verb ("Bakou a démenti", "Erevan, de son
    côté, dénonce", "Paris et Berlin demandaient").

    A verb reached across a comma and followed by its own subject is an inverted report of the
    whole sentence ("près de Kut, a indiqué le porte-parole"), not the name's act.
    """
    after = _COORDINATED_NAME.sub("", after, count=1)
    match = _ACTOR_VERB.match(after)
    if match is None:
        return False
    inverted = _INVERTED_SUBJECT.match(after[match.end() :])
    return not (match.group("aside") and inverted)


def seat_before(before: str) -> bool:
    """The text before a name makes it the seat of an institution ("l'ambassade de France à")."""
    return bool(_SEAT_BEFORE.search(before))


def actor_cue_before(before: str) -> bool:
    """The text before a name introduces whoever acts or speaks ("selon", "accusé", "avec")."""
    return bool(_ACTOR_BEFORE.search(before))


def agent_noun_before(before: str) -> bool:
    """The text before a name makes it the doer of an attack ("les frappes de") — for countries."""
    return bool(_AGENT_NOUN_BEFORE.search(before))


def locative_before(before: str) -> bool:
    """The text before a name makes it a place: a preposition, a place noun, the object of an
    event noun or of an attack verb."""
    return bool(_LOCATIVE_BEFORE.search(before))


def about_talks(sentence: str) -> bool:
    """The sentence is about talks, calls or summits: a big city it names is their venue."""
    return bool(_DIPLOMACY.search(sentence))


def subject_position(before: str) -> bool:
    """A name opening its clause ("La Turquie a dit...", "« Les Pays-Bas sont..."): the doer."""
    return bool(_CLAUSE_START_BEFORE.search(before.rstrip() + " "))


def _speaks_for_a_state(place: Place) -> bool:
    """Countries and big cities (capitals mostly) stand for governments unless a cue makes them places."""
    return place.kind == "country" or (place.kind == "city" and place.population >= 500_000)


def _unique_places(located: list[Located]) -> list[Located]:
    seen: dict[str, Located] = {}
    for c in located:
        if c.place.id not in seen or c.weight > seen[c.place.id].weight:
            seen[c.place.id] = c
    return list(seen.values())
