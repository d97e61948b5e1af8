"""Shared fixtures: the real gazetteer and the real spaCy pipeline, loaded once per test session."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from geomap.gazetteer import Gazetteer, default_gazetteer
from geomap.pipeline import Pipeline

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return default_gazetteer()


@pytest.fixture(scope="session")
def pipeline(gazetteer: Gazetteer) -> Pipeline:
    return Pipeline(gazetteer)


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="module", autouse=True)
def _keep_log_level() -> Iterator[None]:
    """CLI runs with -q/-v set the "geomap" logger's level; each test module gets it back after."""
    logger = logging.getLogger("geomap")
    level = logger.level
    yield
    logger.setLevel(level)
