"""Shared fixtures: the real gazetteer and the real spaCy pipeline, loaded once per test session."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import cli_support
import pytest
from click.testing import Result

from geomap.gazetteer import Gazetteer, default_gazetteer
from geomap.geocode import GeocoderConfig
from geomap.pipeline import Pipeline

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


# Modules whose tests build whole outputs, serve HTTP, start PostgreSQL or Chromium, spawn workers or
# time themselves: the fast lane (``pytest -m "not slow"``, for everyday work) leaves them out; CI
# and the README's command run everything. Slow tests of other modules carry ``@pytest.mark.slow``.
SLOW_MODULES = frozenset(
    {
        "test_acled", "test_browser", "test_build", "test_cli", "test_cli_build", "test_cli_extract",
        "test_cli_evaluate", "test_cli_resolve", "test_cluster",
        "test_export", "test_fetch", "test_geocode", "test_maps", "test_outputs", "test_postgis",
        "test_properties",
        "test_report", "test_robustness", "test_runners", "test_speed_extract", "test_speed_resolve",
        "test_static_map", "test_store", "test_theatre", "test_timeline", "test_web", "test_world",
        "test_world_areas", "test_zones",
    }
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.stem in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


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
        if path.name.startswith(".") or path.suffix == ".gpkg" or path.name.endswith(".aux.xml"):
            continue  # the GeoPackage is time-stamped; .aux.xml: what a GDAL reader may leave beside a file
        data = path.read_bytes()
        if path.name == "summary.json":
            summary = json.loads(data)
            del summary["timings"], summary["run"]
            summary.pop("outputs", None)  # the manifest: sizes and digests, the GeoPackage's time-stamped
            summary.pop("settings", None)  # how the run was asked for (CLI options or none)
            summary.pop("build_digest", None)  # of the options too (a library call records none)
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


@contextlib.contextmanager
def _tmpfs(where: Path, size: str, *, read_only: bool = False) -> Iterator[Path]:
    """A small real file system of its own at ``where`` (a full disk, a read-only mount), unmounted
    after. Mounting needs root, as the tests and CI run here; elsewhere the test is skipped."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


@pytest.fixture
def tmpfs() -> Callable[..., contextlib.AbstractContextManager[Path]]:
    """``tmpfs(path, "1m", read_only=False)``: a context manager mounting a small tmpfs at ``path``."""
    return _tmpfs


# --- the command-line test modules (test_cli*.py) --------------------------------------------------


@pytest.fixture(scope="module")
def keep_log_level():
    """-q/-v set the "geomap" logger's level; give other test modules theirs back."""
    logger = logging.getLogger("geomap")
    level = logger.level
    yield
    logger.setLevel(level)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a plain text article and a Markdown article with front matter."""
    folder = tmp_path_factory.mktemp("articles")
    write = cli_support.write
    write(folder, "good.txt", cli_support.GOOD)
    write(folder, "dated.md", cli_support.DATED)
    return folder


@pytest.fixture(scope="module")
def built(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """One ``geomap build INPUTS --out OUT --offline`` run shared by the output checks."""
    out = tmp_path_factory.mktemp("maps") / "out"
    return cli_support.invoke("build", inputs, "--out", out, "--offline"), out


@pytest.fixture
def unreachable_geocoder(tmp_path: Path) -> GeocoderConfig:
    """A geocoder at an address where nothing listens (a port bound then closed again): every
    request fails at once, without retries or waits."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return GeocoderConfig(
        user_agent="geomap-tests/0.1 (geomap-tests@example.org)",
        domain=f"127.0.0.1:{port}",
        scheme="http",
        timeout=1,
        min_delay=0,
        error_wait=0,
        max_retries=0,
        cache_path=tmp_path / "geocoder.sqlite",
    )
