"""Resolve toponym mentions to places, using the document's context to choose among candidates.

A :class:`Resolver` asks its tiers in order (the curated gazetteer first; the offline world tier and
the online geocoder plug in behind it through the :class:`Tier` protocol) and scores each candidate
with the document's context: the countries it names, the places already resolved near it, the kind
of place its wording asks for ("le district de Lachin"), and the place's importance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from geomap.gazetteer import Gazetteer, name_key
from geomap.models import Mention, Place, Resolution

THEATRE = frozenset({"AM", "AZ"})
AREA_KINDS = frozenset({"district", "province", "region"})
SETTLEMENT_KINDS = frozenset({"city", "town", "village"})
KIND_WEIGHT = {
    "country": 3.0,
    "continent": 2.5,
    "region": 2.2,
    "province": 2.0,
    "city": 1.6,
    "district": 1.5,
    "sea": 1.4,
    "lake": 1.3,
    "corridor": 1.3,
    "town": 1.2,
    "border_area": 1.2,
    "village": 0.8,
}


class Tier(Protocol):
    """A source of candidate places for a name."""

    source: str

    def candidates(self, name: str) -> list[Place]:
        """Places that may be meant by ``name`` (empty when none)."""
        ...


@dataclass(slots=True)
class GazetteerTier:
    """The curated gazetteer as a resolution tier."""

    gazetteer: Gazetteer
    source: str = "gazetteer"

    def candidates(self, name: str) -> list[Place]:
        return self.gazetteer.lookup(name)


def km_between(a: Place, b: Place) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True, slots=True)
class Scored:
    place: Place
    score: float
    reasons: tuple[str, ...]


class Resolver:
    """Resolves all the mentions of one document together."""

    def __init__(self, tiers: Sequence[Tier]) -> None:
        self.tiers = list(tiers)
        self._cache: dict[str, tuple[str | None, list[Place]]] = {}

    def candidates(self, name: str) -> tuple[str | None, list[Place]]:
        """The first tier with candidates for ``name``, and its candidates (each name asked once)."""
        key = name_key(name)
        if key not in self._cache:
            found: tuple[str | None, list[Place]] = (None, [])
            for tier in self.tiers:
                places = tier.candidates(name)
                if places:
                    found = (tier.source, places)
                    break
            self._cache[key] = found
        return self._cache[key]

    def resolve(
        self,
        mentions: Sequence[Mention],
        *,
        cues: frozenset[int] = frozenset(),
        area_cues: frozenset[int] = frozenset(),
    ) -> list[Resolution]:
        """Resolutions of one document's mentions, in order.

        ``cues`` marks mentions preceded by a locative word (a name the model alone proposed is kept
        unresolved only with one); ``area_cues`` marks those introduced as an administrative area.
        """
        looked = [self.candidates(m.text) for m in mentions]
        context = self._context(looked)
        by_key: dict[str, list[int]] = {}
        for i, m in enumerate(mentions):
            by_key.setdefault(name_key(m.text), []).append(i)
        chosen: dict[str, tuple[Scored | None, float, str | None]] = {}
        for key, indexes in by_key.items():
            source, places = looked[indexes[0]]
            wants_area = any(i in area_cues for i in indexes)
            chosen[key] = (*self._choose(places, context, wants_area), source)
        out = []
        for i, m in enumerate(mentions):
            best, confidence, source = chosen[name_key(m.text)]
            if best is None:
                if m.origin == "ner" and i not in cues:
                    continue  # the model's guess, with nothing saying it is a place
                out.append(Resolution(m, None, None, 0.3, ("no candidate in any tier",)))
                continue
            out.append(Resolution(m, best.place, source, confidence, best.reasons))
        return out

    def _context(self, looked: list[tuple[str | None, list[Place]]]) -> dict[str, object]:
        countries: set[str] = set()
        anchors: list[Place] = []
        for _, places in looked:
            if len(places) == 1:
                place = places[0]
                if place.country:
                    countries.add(place.country)
                if place.kind not in ("country", "continent"):
                    anchors.append(place)
            for place in places:
                if place.kind == "country" and place.country:
                    countries.add(place.country)
        return {"countries": countries, "anchors": anchors}

    def _choose(
        self, places: list[Place], context: dict[str, object], wants_area: bool
    ) -> tuple[Scored | None, float]:
        if not places:
            return None, 0.0
        scored = sorted((self._score(p, context, wants_area) for p in places), key=lambda s: -s.score)
        best = scored[0]
        if len(scored) == 1:
            return best, 0.95
        margin = best.score - scored[1].score
        return best, round(0.5 + 0.45 * math.tanh(margin), 3)

    def _score(self, place: Place, context: dict[str, object], wants_area: bool) -> Scored:
        reasons = [f"kind {place.kind}"]
        score = KIND_WEIGHT.get(place.kind, 1.0)
        if place.population:
            score += math.log10(place.population + 1) / 4
            reasons.append(f"population {place.population}")
        countries = context["countries"]
        assert isinstance(countries, set)
        if place.country and place.country in countries:
            score += 2.0
            reasons.append(f"country {place.country} named in the article")
        if place.country in THEATRE:
            score += 0.5
            reasons.append("in the theatre")
        if wants_area and place.kind in AREA_KINDS:
            score += 1.5
            reasons.append("introduced as an administrative area")
        anchors = context["anchors"]
        assert isinstance(anchors, list)
        near = [km_between(place, a) for a in anchors if a.id != place.id]
        if near and min(near) < 200:
            closest = min(near)
            score += 1.5 if closest < 50 else 1.0 if closest < 100 else 0.5
            reasons.append(f"{closest:.0f} km from another place of the article")
        return Scored(place, score, tuple(reasons))
