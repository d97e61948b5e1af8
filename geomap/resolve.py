"""Resolve toponym mentions to places, using the document's context to choose among candidates.

A :class:`Resolver` asks its tiers in order (the curated gazetteer first; the offline world tier and
the online geocoder plug in behind it through the :class:`Tier` protocol) and scores each candidate
with the document's context: the countries it names, the places already resolved near it, the kind
of place its wording asks for ("le district de Lachin"), and the place's importance.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from geomap.gazetteer import Gazetteer, VariantMatch, name_key, theatre_countries, written_key
from geomap.models import Mention, Place, Resolution
from geomap.world import PhysicalFeatures, default_physical, km_apart

log = logging.getLogger("geomap")

# A place this far from a river's course or farther says nothing about which stretch a story means.
RIVER_ANCHOR_KM = 250.0
# Places too large to say where along a river's course a story is.
_TOO_LARGE = frozenset({"country", "continent", "sea", "region", "river", "mountain"})
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


# Characters a log line must not carry raw: control characters, line and bidi overrides (an article
# could otherwise forge log lines or reorder a terminal's text).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
SHOWN_CHARS = 60  # a name or an id in a log line: enough to recognise it, not a paragraph


def shown(text: object, *, limit: int = SHOWN_CHARS) -> str:
    """Text from an article as a log line shows it: it is data, not the log's own words, so control
    characters are escaped (``\\x1b``) and it is cut to ``limit`` characters (then an ellipsis)."""
    value = str(text)
    if len(value) > limit:
        value = value[:limit] + "…"
    return _CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)


# The origins of names a statistical model proposes ("ner"), or that stand in for them in a language
# read without one ("title": a capitalised name inside a sentence; see geomap.extract).
MODEL_LIKE = frozenset({"ner", "title"})


class Tier(Protocol):
    """A source of candidate places for a name (``online = True`` marks a network service)."""

    source: str

    def candidates(self, name: str) -> list[Place]:
        """Places that may be meant by ``name`` (empty when none)."""
        ...


@dataclass(slots=True)
class GazetteerTier:
    """The curated gazetteer as a resolution tier: a name by its exact key, else as a spelling
    variant of a theatre name (see :meth:`Gazetteer.lookup_variant`)."""

    gazetteer: Gazetteer
    source: str = "gazetteer"

    def candidates(self, name: str) -> list[Place]:
        exact = self.gazetteer.lookup(name)
        if exact:
            return exact
        match = self.gazetteer.lookup_variant(name)
        return list(match.places) if match else []

    def variant(self, name: str) -> VariantMatch | None:
        """How ``name`` was matched when it is only a spelling variant of the gazetteer's names."""
        return None if self.gazetteer.lookup(name) else self.gazetteer.lookup_variant(name)


# A spelling variant's candidates score this much less than the same place named exactly, and its
# confidence is scaled by VARIANT_CONFIDENCE: a reader would check it.
VARIANT_PENALTY = 0.8
VARIANT_CONFIDENCE = 0.8


EARTH_RADIUS_KM = 6371.0088
# A place this close to another place of the article is helped by it.
NEAR_KM = 200


def km_between(a: Place, b: Place) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def _unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


# The straight-line distance through the Earth (on the unit sphere, squared) of two places NEAR_KM
# apart, with room for rounding: places further apart in a straight line are further apart on the
# surface too.
_NEAR_CHORD2 = (2 * math.sin(NEAR_KM / (2 * EARTH_RADIUS_KM))) ** 2 * (1 + 1e-9)
# Chords within this of the shortest are measured on the surface too, so that the distance reported
# is the smallest great-circle distance however close two anchors are to a tie.
_TIE_CHORD2 = 1e-18


@dataclass(slots=True)
class _Spot:
    """Anchors at one position: their place ids, each with the name keys that settle it."""

    xyz: tuple[float, float, float]
    place: Place  # any of them: only the position is read
    keys_by_id: dict[str, set[str]]

    def serves(self, key: str, place_id: str) -> bool:
        """Whether some anchor here is another place than ``place_id`` settled by another name."""
        return any(
            ident != place_id and (len(keys) > 1 or key not in keys)
            for ident, keys in self.keys_by_id.items()
        )


# A k-d tree node: (spot index, axis, lower subtree, upper subtree); None for an empty subtree.
_Node = tuple[int, int, "_Node | None", "_Node | None"]


class AnchorIndex:
    """An article's anchors in a k-d tree over their positions on the unit sphere.

    Every candidate of every name is scored against the nearest anchor: scanning them all made
    resolution cost the square of the number of names (32,000 distinct places took 240 s). The tree
    finds the nearest in about the logarithm of their number, and the same distance.
    """

    __slots__ = ("_spots", "_tree")

    def __init__(self, anchors: Sequence[tuple[str, Place]]) -> None:
        by_position: dict[tuple[float, float], _Spot] = {}
        for key, place in anchors:
            spot = by_position.get((place.lat, place.lon))
            if spot is None:
                spot = _Spot(_unit_vector(place.lat, place.lon), place, {})
                by_position[(place.lat, place.lon)] = spot
            spot.keys_by_id.setdefault(place.id, set()).add(key)
        self._spots = list(by_position.values())
        self._tree = self._build(list(range(len(self._spots))), 0)

    def _build(self, indexes: list[int], depth: int) -> _Node | None:
        if not indexes:
            return None
        axis = depth % 3
        indexes.sort(key=lambda i: self._spots[i].xyz[axis])
        middle = len(indexes) // 2
        lower = self._build(indexes[:middle], depth + 1)
        return (indexes[middle], axis, lower, self._build(indexes[middle + 1 :], depth + 1))

    def nearest_km(self, key: str, place: Place) -> float | None:
        """Great-circle distance from ``place`` to the nearest anchor of another place settled by a
        name other than ``key``, or None when there is none within ``NEAR_KM``."""
        tx, ty, tz = target = _unit_vector(place.lat, place.lon)
        best = _NEAR_CHORD2
        near: list[tuple[float, _Spot]] = []
        # subtrees to search, each with a lower bound of its chords (the plane that bounds it)
        stack: list[tuple[_Node | None, float]] = [(self._tree, 0.0)]
        while stack:
            node, bound = stack.pop()
            if node is None or bound > best + _TIE_CHORD2:
                continue
            index, axis, lower, upper = node
            spot = self._spots[index]
            x, y, z = spot.xyz
            chord2 = (x - tx) ** 2 + (y - ty) ** 2 + (z - tz) ** 2
            if chord2 <= best + _TIE_CHORD2 and spot.serves(key, place.id):
                near.append((chord2, spot))
                best = min(best, chord2)
            offset = target[axis] - spot.xyz[axis]
            stack.append((upper if offset < 0 else lower, offset * offset))
            stack.append((lower if offset < 0 else upper, 0.0))  # the target's side, searched first
        closest = min(
            (km_between(place, spot.place) for chord2, spot in near if chord2 <= best + _TIE_CHORD2),
            default=None,
        )
        return closest if closest is not None and closest < NEAR_KM else None


@dataclass(frozen=True, slots=True)
class Scored:
    """A candidate place with its score, the tier it came from and the reasons for the score."""

    place: Place
    source: str
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Context:
    """What an article says that helps choose among candidates.

    Evidence is kept per name, so that a name never vouches for itself: a lone "Sisteron" does not
    count as an article naming France.
    """

    countries: dict[str, frozenset[str]] = field(default_factory=dict)  # country -> name keys naming it
    anchors: tuple[tuple[str, Place], ...] = ()  # (name key, its only candidate)
    _index: AnchorIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", AnchorIndex(self.anchors))

    def names_country(self, country: str | None, key: str) -> bool:
        """True when some other name of the article places it in ``country``."""
        keys = self.countries.get(country or "")
        return bool(country) and bool(keys) and (len(keys) > 1 or key not in keys)

    def anchors_besides(self, key: str) -> list[Place]:
        return [place for anchor_key, place in self.anchors if anchor_key != key]

    def nearest_anchor_km(self, key: str, place: Place) -> float | None:
        """The distance from ``place`` to the nearest other place that another name of the article
        settles, when it is under ``NEAR_KM``."""
        return self._index.nearest_km(key, place)


def _variant_match(tier: Tier, name: str) -> VariantMatch | None:
    """The variant match of a tier that tells one (the curated gazetteer); None for exact names."""
    variant = getattr(tier, "variant", None)
    return variant(name) if callable(variant) else None


def _strong(place: Place) -> bool:
    """A candidate that settles a name: a country, an area, or any place of the theatre."""
    return place.kind not in SETTLEMENT_KINDS or place.country in theatre_countries()


class _Decisions:
    """The debug lines of one document's resolution: each name's decision said once (a name that an
    article repeats ten times was decided once), prefixed with the document's id."""

    __slots__ = ("_said",)

    def __init__(self) -> None:
        self._said: set[tuple[str, str]] = set()

    def tell(self, mention: Mention, decision: str) -> None:
        if (mention.text, decision) in self._said:
            return
        self._said.add((mention.text, decision))
        log.debug('resolve %s: "%s" %s', shown(mention.doc), shown(mention.text), decision)


class Resolver:
    """Resolves all the mentions of one document together, asking its tiers in order.

    A name goes down the chain only while the tiers asked so far have no strong candidate: the
    curated gazetteer settles "Lachin" or "Arménie", while "Valence", which it knows only as a
    foreign city's exonym, is also asked of the world tier and chosen in context. The last tier
    (the online geocoder) is asked only when no earlier tier knows the name at all.
    """

    def __init__(self, tiers: Sequence[Tier], *, physical: PhysicalFeatures | None = None) -> None:
        self.tiers = list(tiers)
        self._physical = physical  # the courses of rivers (default: the shipped physical.csv)
        self._cache: dict[tuple[str, bool, str], tuple[tuple[Place, str], ...]] = {}
        # name key -> {place id: why} for candidates found only as spelling variants
        self._variants: dict[str, dict[str, str]] = {}

    def candidates(self, name: str, *, online: bool = True) -> tuple[tuple[Place, str], ...]:
        """Every candidate for ``name`` with its tier's source (each name asked once per run).

        With ``online`` false, tiers marked ``online`` (the geocoder) are not asked.
        """
        key = (name_key(name), online, written_key(name))  # "Tigré" is not "Tigre", the common word
        if key not in self._cache:
            found: dict[str, tuple[Place, str]] = {}
            variants: dict[str, str] = {}  # ident -> why, for candidates that are only variants
            for tier in self.tiers:
                if getattr(tier, "online", False) and (found or not online):
                    break  # the online fallback only for names no offline tier knows
                places = tier.candidates(name)
                match = _variant_match(tier, name) if places else None
                for place in places:
                    ident = f"gn-{place.geonames_id}" if place.geonames_id else place.id
                    if ident not in found:
                        found[ident] = (place, tier.source)
                        if match is not None:
                            variants[ident] = match.reason
                # a variant does not settle a name: the next tier may know it as it is written
                if any(_strong(p) and i not in variants for i, (p, _) in found.items()):
                    break
            if variants and any(
                i not in variants and name_key(p.name) == key[0] for i, (p, _) in found.items()
            ):  # "Kurgan" is the Russian city of that name, not a variant of Gyurgyan
                found = {i: f for i, f in found.items() if i not in variants}
            self._cache[key] = tuple(found.values())
            self._variants.setdefault(key[0], {}).update(
                (found[i][0].id, why) for i, why in variants.items() if i in found
            )
        return self._cache[key]

    def resolve(
        self,
        mentions: Sequence[Mention],
        *,
        cues: frozenset[int] = frozenset(),
        area_cues: frozenset[int] = frozenset(),
        weak_cues: frozenset[int] = frozenset(),
    ) -> list[Resolution]:
        """Resolutions of one document's mentions, in order.

        ``cues`` marks mentions preceded by a locative word (``weak_cues`` by a word such as "sur" that
        is enough to accept a known place, not to keep an unknown name); ``area_cues`` those introduced as an
        administrative area. A name that only the statistical model proposed is kept only when a
        tier knows it and something says it is a place: a locative cue, a well-known place
        (100,000 people or more), or a place in a country the article names; with no candidate at
        all, it is kept (unresolved) only after a locative cue.
        """
        # Only names that the gazetteer matched, or that the model tagged after a locative cue, go online.
        looked = [
            self.candidates(m.text, online=m.origin == "gazetteer" or (m.origin in MODEL_LIKE and i in cues))
            for i, m in enumerate(mentions)
        ]
        context = self.context_of([name_key(m.text) for m in mentions], looked)
        by_key: dict[str, list[int]] = {}
        for i, m in enumerate(mentions):
            by_key.setdefault(name_key(m.text), []).append(i)
        chosen: dict[str, tuple[Scored | None, float]] = {}
        for key, indexes in by_key.items():
            wants_area = any(i in area_cues for i in indexes)
            candidates = max((looked[i] for i in indexes), key=len)
            chosen[key] = self._choose(key, candidates, context, wants_area)
        self._place_rivers(chosen, {k: [mentions[i].start for i in ix] for k, ix in by_key.items()})
        out = []
        said = _Decisions() if log.isEnabledFor(logging.DEBUG) else None
        for i, m in enumerate(mentions):
            best, confidence = chosen[name_key(m.text)]
            if best is None:
                if m.origin in ("cue", "name") or (m.origin in MODEL_LIKE and i not in cues):
                    if said is not None:
                        said.tell(m, f"no candidate; dropped (origin {m.origin}, nothing says it is a place)")
                    continue  # a guess, with nothing saying it is a place
                out.append(Resolution(m, None, None, 0.3, ("no candidate in any tier",)))
                if said is not None:
                    said.tell(m, "no candidate in any tier; kept unresolved (after a locative cue)")
                continue
            if (
                m.origin != "gazetteer"
                and (best.source != "gazetteer" or self._is_variant(name_key(m.text), best.place))
                and not self._plausible(best, context, m, i in cues or i in weak_cues)
            ):
                implausible = f"{best.place.name} ({best.place.country}) implausible"
                if m.origin in MODEL_LIKE and i in cues:  # a place, but not that one: say so, unresolved
                    out.append(Resolution(m, None, None, 0.3, (implausible,)))
                if said is not None:
                    kept = "kept unresolved" if m.origin in MODEL_LIKE and i in cues else "dropped"
                    where = f"{shown(best.place.name)} ({best.place.country}) = {best.place.id}"
                    said.tell(m, f"implausible: {where} ({best.source}, score {best.score:g}); {kept}")
                continue
            out.append(Resolution(m, best.place, best.source, confidence, best.reasons))
            if said is not None:
                said.tell(
                    m, f"-> {best.place.id} ({best.source}, score {best.score:g}, confidence {confidence:g})"
                )
        return out

    def explain(
        self, name: str, context_names: Sequence[str] = (), *, wants_area: bool = False
    ) -> list[Scored]:
        """The ranked candidates for ``name`` in a document that also names ``context_names``."""
        names = [*context_names, name]
        context = self.context_of([name_key(n) for n in names], [self.candidates(n) for n in names])
        return self._rank(name_key(name), self.candidates(name), context, wants_area)

    def _is_variant(self, key: str, place: Place) -> bool:
        return place.id in self._variants.get(key, {})

    @staticmethod
    def _plausible(best: Scored, context: Context, mention: Mention, cued: bool) -> bool:
        """Whether a name that only the model or a preposition proposed, and only a broad tier knows,
        is a place: a well-known one, one in a country the article names, or one after a cue."""
        place = best.place
        in_named_country = context.names_country(place.country, name_key(mention.text))
        if mention.origin == "name":  # a bare capitalised word: only a real town of a country in the story
            return in_named_country and place.population >= 5_000
        if place.population >= 100_000 or in_named_country:
            return True
        if any(context.names_country(c, name_key(mention.text)) for c in context.countries):
            return False  # a small place abroad, while the article names other countries
        return cued and (mention.origin in MODEL_LIKE or place.population >= 1_000)

    @staticmethod
    def context_of(keys: Sequence[str], looked: Sequence[Sequence[tuple[Place, str]]]) -> Context:
        """The countries an article names (by which names) and its unambiguous places."""
        countries: dict[str, set[str]] = {}
        anchors: dict[tuple[str, str], Place] = {}
        for key, candidates in zip(keys, looked, strict=True):
            if len(candidates) == 1:
                place = candidates[0][0]
                if place.country:
                    countries.setdefault(place.country, set()).add(key)
                if place.kind not in ("country", "continent"):
                    anchors[(key, place.id)] = place
            for place, _ in candidates:
                if place.kind == "country" and place.country:
                    countries.setdefault(place.country, set()).add(key)
        return Context(
            {c: frozenset(k) for c, k in countries.items()},
            tuple((key, place) for (key, _), place in anchors.items()),
        )

    def _rank(
        self, key: str, candidates: Sequence[tuple[Place, str]], context: Context, wants_area: bool
    ) -> list[Scored]:
        variants = self._variants.get(key, {})
        scored = (
            self._score(
                key, self._placed(key, p, context), source, context, wants_area, variant=variants.get(p.id)
            )
            for p, source in candidates
        )
        return sorted(scored, key=lambda s: (-s.score, s.place.id))

    def _placed(self, key: str, place: Place, context: Context) -> Place:
        """A river at the stretch of its course nearest the article's other settled places (the
        Euphrates of a story about Deir ez-Zor is at Deir ez-Zor, not mid-course); any other place
        as it is."""
        if place.kind != "river" or place.geonames_id:
            return place
        if self._physical is None:
            self._physical = default_physical()
        courses = self._physical.courses
        if place.id not in courses:
            return place
        points = [(p.lat, p.lon) for p in context.anchors_besides(key) if p.id not in courses]
        return self._physical.near(place, points)

    def _place_rivers(
        self, chosen: dict[str, tuple[Scored | None, float]], offsets: dict[str, list[int]]
    ) -> None:
        """Each chosen river moved to the stretch nearest the place named closest to it in the text
        ("le Dniepr près de Kherson", "les ports d'Odessa et du Danube"): a story about Munich and
        Odesa that names the Danube beside Odesa means its delta. Any chosen place counts, not only
        an unambiguous one; countries, seas and other rivers, too large to say where along the
        course, do not, nor a place ``RIVER_ANCHOR_KM`` or more from the course ("soutenues par
        Ankara": a government, not a stretch of the Euphrates). ``offsets`` holds each name key's
        mention offsets."""
        places = {k: s.place for k, (s, _) in chosen.items() if s is not None}
        for key, (best, confidence) in chosen.items():
            if best is None or best.place.kind != "river" or best.place.geonames_id:
                continue
            if self._physical is None:
                self._physical = default_physical()
            course = self._physical.courses.get(best.place.id, ())
            gaps = {
                k: min(abs(a - b) for a in offsets[k] for b in offsets[key])
                for k, p in places.items()
                if k != key
                and p.kind not in _TOO_LARGE
                and p.id not in self._physical.courses
                and any(km_apart((p.lat, p.lon), c) < RIVER_ANCHOR_KM for c in course)
            }
            if gaps:
                closest = min(gaps.values())
                points = [(places[k].lat, places[k].lon) for k, gap in gaps.items() if gap == closest]
                chosen[key] = (replace(best, place=self._physical.near(best.place, points)), confidence)

    def _choose(
        self, key: str, candidates: Sequence[tuple[Place, str]], context: Context, wants_area: bool
    ) -> tuple[Scored | None, float]:
        if not candidates:
            return None, 0.0
        ranked = self._rank(key, candidates, context, wants_area)
        best = ranked[0]
        if len(ranked) == 1:
            confidence = 0.95 if best.source == "gazetteer" else 0.8
        else:
            confidence = 0.5 + 0.45 * math.tanh(best.score - ranked[1].score)
        if self._is_variant(key, best.place):
            confidence *= VARIANT_CONFIDENCE
        return best, round(confidence, 3)

    @staticmethod
    def _score(
        key: str,
        place: Place,
        source: str,
        context: Context,
        wants_area: bool,
        *,
        variant: str | None = None,
    ) -> Scored:
        reasons = [f"{source}: {place.kind}"]
        score = KIND_WEIGHT.get(place.kind, 1.0)
        if variant is not None:
            score -= VARIANT_PENALTY
            reasons.append(variant)
        if place.population:
            # importance: a village of 1,000 people adds 1.5, Paris 3.2
            score += math.log10(place.population + 1) / 2
            reasons.append(f"population {place.population}")
        if context.names_country(place.country, key):
            score += 1.5
            reasons.append(f"country {place.country} named in the article")
        if place.country in theatre_countries():
            score += 0.5
            reasons.append("in the theatre")
        if source == "gazetteer" and variant is None:
            score += 0.3
            reasons.append("curated")
        if wants_area and place.kind in AREA_KINDS:
            score += 3.0  # "le district de Zangilan" settles it against the town of Zangilan
            reasons.append("introduced as an administrative area")
        closest = context.nearest_anchor_km(key, place)
        if closest is not None:
            score += 1.5 if closest < 50 else 1.0 if closest < 100 else 0.5
            reasons.append(f"{closest:.0f} km from another place of the article")
        return Scored(place, source, round(score, 3), tuple(reasons))
