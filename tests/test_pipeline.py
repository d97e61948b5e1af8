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
