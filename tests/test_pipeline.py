"""The wiring of the stages and the settings a pipeline is built from (its workers: test_runners)."""

from __future__ import annotations

import pickle

import pytest

from geomap.errors import GeomapError, RunError
from geomap.geocode import GeocoderConfig, GeocoderTier
from geomap.models import Article
from geomap.pipeline import Pipeline
from geomap.settings import Settings

CONFIG = GeocoderConfig(user_agent="geomap-tests/0.1 (t@example.org)", min_delay=1.0, max_requests=500)


def test_processes_share_the_geocoders_rate_and_request_cap() -> None:
    shared = Settings(geocoder=CONFIG).geocoder_shared(3).geocoder
    assert shared is not None and (shared.min_delay, shared.max_requests) == (3.0, 167)
    assert Settings(geocoder=CONFIG).geocoder_shared(1).geocoder == CONFIG


def test_a_worker_builds_from_settings_the_pipeline_they_describe() -> None:
    settings = pickle.loads(pickle.dumps(Settings(world=False, geocoder=CONFIG)))  # as a worker gets them
    worker = settings.worker_pipeline(processes=2)
    assert worker.settings == settings and not worker.with_zones  # the zones are the parent's work
    tiers = worker.resolver.tiers
    assert [type(t).__name__ for t in tiers] == ["GazetteerTier", "GeocoderTier"]  # no world tier
    geocoder = tiers[-1]
    assert isinstance(geocoder, GeocoderTier)
    assert (geocoder.config.min_delay, geocoder.config.max_requests) == (2.0, 250)  # its share


def test_only_a_pipeline_settings_describe_runs_on_a_cluster(pipeline: Pipeline) -> None:
    assert pipeline.settings is None  # the session's pipeline has a gazetteer object of its own
    with pytest.raises(RunError, match="built from Settings") as raised:
        list(pipeline.process([Article(id="a", text="x")], 1, scheduler="tcp://127.0.0.1:9"))
    assert isinstance(raised.value, GeomapError)


@pytest.mark.slow
def test_with_forked_workers_the_languages_settled_aside_give_the_same_run(
    pipeline: Pipeline, tmp_path
) -> None:
    """With forked workers the languages are detected in a process of their own while the models
    load: the same articles, languages, skipped inputs and incidents as one process."""
    villages = ["Tegh", "Sotk", "Jermuk", "Kapan", "Goris", "Vardenis", "Berd", "Ijevan"]
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(40):
        (folder / f"{i:02d}.txt").write_text(
            f"Des tirs d'artillerie ont visé {villages[i % 8]} dans la nuit, a indiqué Erevan. "
            f"Deux soldats ont été blessés près de {villages[(i + 3) % 8]}, selon le ministère.",
            encoding="utf-8",
        )
    (folder / "de.txt").write_text(
        "Die Regierung hat am Dienstag neue Gespräche über die Grenze angekündigt, "
        "teilte das Ministerium mit.",
        encoding="utf-8",
    )
    (folder / "en.txt").write_text(
        "Azerbaijani forces shelled Sotk overnight, killing two soldiers, the defence ministry said.",
        encoding="utf-8",
    )
    alone = pipeline.run([folder], workers=1)
    forked = pipeline.run([folder], workers=2, start_method="fork")
    assert [(a.id, a.language) for a in forked.articles] == [(a.id, a.language) for a in alone.articles]
    assert {a.language for a in forked.articles} == {"fr", "en"}
    assert forked.problems == alone.problems and any("German (de)" in p for p in forked.problems)
    assert forked.incidents == alone.incidents and len(forked.incidents) >= 40
