"""The wiring of the stages and the settings a pipeline is built from (its workers: test_runners)."""

from __future__ import annotations

import json
import pickle
import sqlite3

import pytest

from geomap.errors import GeomapError, RunError
from geomap.geocode import GeocoderConfig, GeocoderTier
from geomap.models import Article
from geomap.pipeline import Pipeline
from geomap.settings import Settings
from geomap.store import ResultStore

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
    """With forked workers the languages are detected in a process of their own while the models of
    the first batch's languages load, and each worker writes the store's text of its results: the
    same articles, languages, skipped inputs, incidents and store rows as one process."""
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
    (folder / "00-en.txt").write_text(  # first: its pipeline is loaded before the workers start
        "Azerbaijani forces shelled Sotk overnight, killing two soldiers, the defence ministry said.",
        encoding="utf-8",
    )
    rows = {}
    for workers in (1, 2):
        with ResultStore(tmp_path / f"store{workers}.sqlite", "fp") as store:
            run = pipeline.run([folder], workers=workers, start_method="fork", store=store)
        with sqlite3.connect(tmp_path / f"store{workers}.sqlite") as db:
            rows[workers] = sorted(db.execute("SELECT key, doc, data FROM results"))
        if workers == 1:
            alone = run
        else:
            forked = run
    # the store's text of each result, written by the workers, is the one this process writes
    assert rows[2] == rows[1] and len(rows[1]) == 41
    assert all(json.loads(data)["article"]["id"] == doc for _, doc, data in rows[2])
    assert [(a.id, a.language) for a in forked.articles] == [(a.id, a.language) for a in alone.articles]
    assert {a.language for a in forked.articles} == {"fr", "en"}
    assert forked.problems == alone.problems and any("German (de)" in p for p in forked.problems)
    assert forked.incidents == alone.incidents and len(forked.incidents) >= 40
