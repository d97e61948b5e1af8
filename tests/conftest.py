"""Shared fixtures: the real gazetteer and the real spaCy pipeline, loaded once per test session."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
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


def _comparable(folder: Path) -> dict[str, bytes]:
    """The outputs of a build, comparable between runs: run figures (timings, reuse) left out."""
    found = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix == ".gpkg":
            continue
        data = path.read_bytes()
        if path.name == "summary.json":
            summary = json.loads(data)
            del summary["timings"], summary["run"]
            data = json.dumps(summary, sort_keys=True).encode()
        found[path.name] = data
    return found


@pytest.fixture(scope="session")
def comparable() -> Callable[[Path], dict[str, bytes]]:
    """A function from an output folder to its files, as two runs that did the same work agree on."""
    return _comparable


@pytest.fixture(scope="module", autouse=True)
def _keep_log_level() -> Iterator[None]:
    """CLI runs with -q/-v set the "geomap" logger's level; each test module gets it back after."""
    logger = logging.getLogger("geomap")
    level = logger.level
    yield
    logger.setLevel(level)
