"""The Resolver over the real tiers: the curated gazetteer, then the offline world tier (GeoNames)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from geomap.gazetteer import Gazetteer
from geomap.geocode import GeocoderConfig, GeocoderTier
from geomap.models import Article, Mention, Place, Resolution
from geomap.pipeline import Pipeline
from geomap.resolve import GazetteerTier, Resolver
from geomap.world import WorldTier


@dataclass
class FakeOnlineTier:
    """A test double of an online geocoder tier: one made-up village (2,000 people) for any name,
    calls counted."""

    source: str = "fake-online"
    online: bool = True
    calls: list[str] = field(default_factory=list)

    def candidates(self, name: str) -> list[Place]:
        self.calls.append(name)
        return [
            Place(
                id=f"online-{name}",
                name=name,
                kind="village",
                country="ZZ",
                lat=1.0,
                lon=2.0,
                population=2000,
            )
        ]


@pytest.fixture(scope="module")
def world(gazetteer: Gazetteer) -> WorldTier:
    return WorldTier(stop=gazetteer.stop)


@pytest.fixture
def resolver(gazetteer: Gazetteer, world: WorldTier) -> Resolver:
    return Resolver([GazetteerTier(gazetteer), world])


@pytest.fixture
def online() -> FakeOnlineTier:
    return FakeOnlineTier()


@pytest.fixture
def with_online(gazetteer: Gazetteer, world: WorldTier, online: FakeOnlineTier) -> Resolver:
    return Resolver([GazetteerTier(gazetteer), world, online])


def mentions(*spec: tuple[str, str]) -> list[Mention]:
    """Mentions (text, origin) of one document, one after the other."""
    out, start = [], 0
    for text, origin in spec:
        out.append(Mention(doc="d", start=start, end=start + len(text), text=text, origin=origin))
        start += len(text) + 1
    return out


def placed(resolutions: list[Resolution]) -> dict[str, tuple[str, str | None] | None]:
    """(place name, country) for each mention text kept."""
    return {r.mention.text: (r.place.name, r.place.country) if r.place else None for r in resolutions}


# --- which tiers a name goes down ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Lachin", "Kalbajar", "Arménie", "Azerbaïdjan", "France", "Ukraine"])
def test_a_name_the_gazetteer_settles_is_not_sent_down(resolver: Resolver, name: str) -> None:
    """A theatre place or a country from the gazetteer stops the chain: no GeoNames candidate."""
    found = resolver.candidates(name)
    assert found
    assert {source for _, source in found} == {"gazetteer"}


def test_the_world_tier_would_have_answered_lachin(resolver: Resolver, world: WorldTier) -> None:
    """The world tier does know a Lachin: it is the gazetteer that stops the chain."""
    assert world.candidates("Lachin")
    assert {source for _, source in resolver.candidates("Lachin")} == {"gazetteer"}


def test_a_foreign_city_of_the_gazetteer_is_also_asked_of_the_world_tier(resolver: Resolver) -> None:
    """The gazetteer knows "Valence" only as Valencia (ES): GeoNames adds the French Valence."""
    found = resolver.candidates("Valence")
    sources = {(place.name, place.country): source for place, source in found}
    assert sources[("Valencia", "ES")] == "gazetteer"
    assert sources[("Valence", "FR")] == "geonames"
    assert len({place.geonames_id or place.id for place, _ in found}) == len(found)  # merged, no duplicate


def test_a_name_only_the_world_tier_knows(resolver: Resolver, gazetteer: Gazetteer) -> None:
    assert gazetteer.lookup("Pokrovsk") == []
    found = resolver.candidates("Pokrovsk")
    assert found
    assert {source for _, source in found} == {"geonames"}


# --- context chooses among the candidates ------------------------------------------------------


def test_valence_in_an_article_naming_france_is_valence_fr(resolver: Resolver) -> None:
    out = resolver.resolve(mentions(("Valence", "gazetteer"), ("France", "gazetteer")))
    valence = out[0]
    assert valence.place is not None
    assert (valence.place.name, valence.place.country) == ("Valence", "FR")
    assert valence.source == "geonames"
    assert valence.place.lat == pytest.approx(44.93, abs=0.05)
    assert "country FR named in the article" in valence.reasons


def test_valence_without_context_is_valencia(resolver: Resolver) -> None:
    """Without France named, the curated, far more populous Valencia wins."""
    out = resolver.resolve(mentions(("Valence", "gazetteer")))
    assert placed(out) == {"Valence": ("Valencia", "ES")}


def test_pokrovsk_with_ukraine_named_is_in_ukraine(resolver: Resolver) -> None:
    out = resolver.resolve(mentions(("Ukraine", "gazetteer"), ("Pokrovsk", "ner")))
    assert placed(out) == {"Ukraine": ("Ukraine", "UA"), "Pokrovsk": ("Pokrovsk", "UA")}
    assert out[1].source == "geonames"


def test_pipeline_reads_valence_and_pokrovsk_in_context(pipeline: Pipeline) -> None:
    """The same choices from real articles through the real extractor."""
    articles = [
        Article(id="v", text="Des agriculteurs ont manifesté jeudi à Valence, en France, contre les prix."),
        Article(id="p", text="Les forces russes progressent vers Pokrovsk, dans l'est de l'Ukraine."),
    ]
    got = {}
    for doc in pipeline.documents(articles, incidents=False):
        got.update({(doc.article.id, r.mention.text): r.place for r in doc.resolutions})
    assert got[("v", "Valence")] is not None and got[("v", "Valence")].country == "FR"
    assert got[("p", "Pokrovsk")] is not None and got[("p", "Pokrovsk")].country == "UA"


# --- model-only names that only the world tier knows -------------------------------------------


def test_model_only_small_place_without_cue_or_country_is_dropped(resolver: Resolver) -> None:
    """ "Gap" (FR, 42,715 people; also two small US places), from the model alone: not kept."""
    best = resolver.explain("Gap")[0].place
    assert (best.country, best.population < 100_000) == ("FR", True)
    assert resolver.resolve(mentions(("Gap", "ner"))) == []


def test_model_only_single_candidate_small_place_is_dropped(resolver: Resolver) -> None:
    """ "Sisteron" (FR, 7,605 people, GeoNames only), alone in a text with no cue: not kept."""
    ((place, source),) = resolver.candidates("Sisteron")
    assert (source, place.country, place.population < 100_000) == ("geonames", "FR", True)
    assert resolver.resolve(mentions(("Sisteron", "ner"))) == []


def test_explain_does_not_claim_an_unnamed_country(resolver: Resolver) -> None:
    """Nothing names France: the reasons must not say it is named."""
    (scored,) = resolver.explain("Sisteron")
    assert not any("named in the article" in reason for reason in scored.reasons)


def test_model_only_small_place_after_a_locative_cue_is_kept(resolver: Resolver) -> None:
    out = resolver.resolve(mentions(("Gap", "ner")), cues=frozenset({0}))
    assert placed(out) == {"Gap": ("Gap", "FR")}
    assert out[0].source == "geonames"


def test_model_only_small_place_in_a_named_country_is_kept(resolver: Resolver) -> None:
    out = resolver.resolve(mentions(("France", "gazetteer"), ("Gap", "ner")))
    assert placed(out) == {"France": ("France", "FR"), "Gap": ("Gap", "FR")}


def test_model_only_well_known_place_is_kept(resolver: Resolver) -> None:
    """Pokrovsk alone goes to Engels (RU, 196,011 people): a well-known place passes the gate."""
    out = resolver.resolve(mentions(("Pokrovsk", "ner")))
    assert len(out) == 1 and out[0].place is not None
    assert out[0].place.population >= 100_000


def test_gazetteer_origin_small_world_place_is_kept(resolver: Resolver) -> None:
    """The gate applies to model-only names: a gazetteer-matched mention is always resolved."""
    out = resolver.resolve(mentions(("Gap", "gazetteer")))
    assert placed(out) == {"Gap": ("Gap", "FR")}


def test_model_only_unknown_name_is_dropped_unless_cued(resolver: Resolver) -> None:
    name = "Xqzvillebourg"
    assert resolver.resolve(mentions((name, "ner"))) == []
    (kept,) = resolver.resolve(mentions((name, "ner")), cues=frozenset({0}))
    assert kept.place is None and kept.source is None
    assert kept.reasons == ("no candidate in any tier",)


# --- the online tier ---------------------------------------------------------------------------


def test_online_tier_is_asked_for_an_unknown_gazetteer_origin_name(
    with_online: Resolver, online: FakeOnlineTier
) -> None:
    out = with_online.resolve(mentions(("Xqzvillebourg", "gazetteer")))
    assert online.calls == ["Xqzvillebourg"]
    assert out[0].source == "fake-online"
    assert out[0].place is not None and out[0].place.country == "ZZ"


def test_online_tier_is_not_asked_for_an_uncued_model_only_name(
    with_online: Resolver, online: FakeOnlineTier
) -> None:
    assert with_online.resolve(mentions(("Xqzvillebourg", "ner"))) == []
    assert online.calls == []


def test_online_tier_is_asked_for_a_cued_model_name(with_online: Resolver, online: FakeOnlineTier) -> None:
    out = with_online.resolve(mentions(("Xqzvillebourg", "ner")), cues=frozenset({0}))
    assert online.calls == ["Xqzvillebourg"]
    assert [r.source for r in out] == ["fake-online"]


def test_online_tier_is_not_asked_for_a_name_only_a_preposition_proposed(
    with_online: Resolver, online: FakeOnlineTier
) -> None:
    """ "à Poutine": a capitalised word after "à" is looked up offline, never sent to a service."""
    assert with_online.resolve(mentions(("Xqzvillebourg", "cue")), cues=frozenset({0})) == []
    assert online.calls == []


@pytest.mark.parametrize(
    ("name", "origin", "cued"),
    [
        ("Lachin", "gazetteer", False),  # settled by the gazetteer
        ("Valence", "gazetteer", True),  # gazetteer (weak) and world tier
        ("Gap", "gazetteer", True),  # world tier only
        ("Pokrovsk", "ner", True),  # world tier only
    ],
)
def test_online_tier_is_not_asked_when_an_offline_tier_knows_the_name(
    with_online: Resolver, online: FakeOnlineTier, name: str, origin: str, cued: bool
) -> None:
    out = with_online.resolve(mentions((name, origin)), cues=frozenset({0}) if cued else frozenset())
    assert online.calls == []
    assert all(r.source in ("gazetteer", "geonames") for r in out)
    assert all(source != "fake-online" for _, source in with_online.candidates(name))


def test_online_tier_is_asked_once_per_name(with_online: Resolver, online: FakeOnlineTier) -> None:
    doc = mentions(("Xqzvillebourg", "gazetteer"), ("Arménie", "gazetteer"), ("Xqzvillebourg", "gazetteer"))
    with_online.resolve(doc)
    with_online.resolve(doc)
    assert online.calls == ["Xqzvillebourg"]


def test_candidates_offline_never_asks_the_online_tier(with_online: Resolver, online: FakeOnlineTier) -> None:
    assert with_online.candidates("Xqzvillebourg", online=False) == ()
    assert online.calls == []


# --- explain ------------------------------------------------------------------------------------


def test_explain_ranks_candidates_with_reasons(resolver: Resolver) -> None:
    ranked = resolver.explain("Valence", ["France"])
    assert len(ranked) > 2
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)
    top = ranked[0]
    assert (top.place.name, top.place.country, top.source) == ("Valence", "FR", "geonames")
    for scored in ranked:
        assert scored.reasons[0] == f"{scored.source}: {scored.place.kind}"
    valencia = next(s for s in ranked if s.place.country == "ES")
    assert "curated" in valencia.reasons
    assert "country FR named in the article" not in valencia.reasons


def test_explain_context_changes_the_ranking(resolver: Resolver) -> None:
    assert resolver.explain("Valence")[0].place.country == "ES"
    assert resolver.explain("Valence", ["France"])[0].place.country == "FR"
    assert resolver.explain("Pokrovsk", ["Ukraine"])[0].place.country == "UA"


def test_explain_area_cue_prefers_the_district(resolver: Resolver) -> None:
    ranked = resolver.explain("Lachin", wants_area=True)
    assert ranked[0].place.kind == "district"
    assert "introduced as an administrative area" in ranked[0].reasons


def test_explain_of_an_unknown_name_is_empty(resolver: Resolver) -> None:
    assert resolver.explain("Xqzvillebourg") == []


def test_an_article_full_of_unknown_cued_names_asks_the_service_at_most_the_cap(
    gazetteer: Gazetteer, world: WorldTier
) -> None:
    """Hundreds of unknown names after "à" in one article: the online tier stops at its per-run cap
    (it used to send every one of them to the public service, one a second)."""
    sent: list[str] = []

    def service(query: str) -> None:  # the network: answers "no result", counts what was asked
        sent.append(query)

    config = GeocoderConfig(
        user_agent="geomap-tests/0.1 (tests@example.org)", cache_path=None, max_requests=20
    )
    tier = GeocoderTier(config, geocode=service)
    names = [f"Xqz{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}ville" for i in range(300)]
    spec = [(name, "ner") for name in names]
    out = Resolver([GazetteerTier(gazetteer), world, tier]).resolve(
        mentions(*spec), cues=frozenset(range(len(spec)))
    )
    assert len(sent) == 20
    assert tier.disabled  # the articles needing it are processed again next run
    assert len(out) == 300 and all(r.place is None for r in out)
