"""The wiring of the stages: parallel workers give the same results as one process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

from geomap.models import Article
from geomap.pipeline import BATCH_SIZE, MIN_ARTICLES_PER_WORKER, Pipeline, batched, in_order

VILLAGES = ["Tegh", "Sotk", "Jermuk", "Kapan", "Goris", "Vardenis", "Berd", "Ijevan"]


def articles(count: int) -> list[Article]:
    return [
        Article(
            id=f"a{i:03d}",
            text=f"Des tirs d'artillerie ont visé {VILLAGES[i % len(VILLAGES)]} dans la nuit, "
            f"a indiqué Erevan. Deux soldats ont été blessés près de {VILLAGES[(i + 3) % len(VILLAGES)]}.",
        )
        for i in range(count)
    ]


def test_two_workers_give_the_same_documents_in_the_same_order(pipeline: Pipeline) -> None:
    batch = articles(MIN_ARTICLES_PER_WORKER * 3)
    alone = list(pipeline.documents_with_workers(batch, len(batch), 1))
    parallel = list(pipeline.documents_with_workers(batch, len(batch), 2))
    assert [d.article.id for d in parallel] == [a.id for a in batch]
    assert [(d.resolutions, d.incidents) for d in parallel] == [(d.resolutions, d.incidents) for d in alone]
    assert sum(len(d.incidents) for d in parallel) >= len(batch)


def test_batches_stream_through_with_a_bounded_number_in_flight() -> None:
    submitted: list[list[int]] = []

    def submit(batch: list[int]) -> Future:
        future: Future = Future()
        future.set_result([f"result {n}" for n in batch])
        submitted.append(batch)
        return future

    results = in_order(submit, batched(iter(range(100)), 3), 4)  # type: ignore[arg-type]
    assert next(results) == "result 0"
    assert len(submitted) == 4  # the corpus is read as results are taken, not all at once
    assert list(results) == [f"result {n}" for n in range(1, 100)]
    assert [len(b) for b in submitted] == [3] * 33 + [1]


def test_forked_workers_read_the_articles_as_they_go(pipeline: Pipeline) -> None:
    batch = articles(BATCH_SIZE * 12)
    read = 0

    def stream() -> Iterator[Article]:
        nonlocal read
        for article in batch:
            read += 1
            yield article

    docs = pipeline.documents_with_workers(stream(), len(batch), 2)
    first = next(docs)
    assert first.article.id == batch[0].id
    assert read <= BATCH_SIZE * (2 * 2 + 2)
    assert len([first, *docs]) == len(batch)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for article in articles(MIN_ARTICLES_PER_WORKER * 40):
        (corpus / f"{article.id}.txt").write_text(article.text * 3, encoding="utf-8")
    parent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "geomap",
            "build",
            str(corpus),
            "--out",
            str(tmp_path / "out"),
            "--offline",
            "--workers",
            "2",
            "-q",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.1)
            workers = _children(parent.pid)
        assert len(workers) == 2, "the build never started its two workers"
        parent.kill()  # SIGKILL: the parent cannot tell its workers anything
        parent.wait()
        deadline = time.monotonic() + 15
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers)
    finally:
        parent.kill()
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)


def test_processes_share_the_geocoders_rate_and_request_cap(tmp_path: Path) -> None:
    from geomap.geocode import GeocoderConfig
    from geomap.pipeline import Settings

    config = GeocoderConfig(user_agent="geomap-tests/0.1 (t@example.org)", min_delay=1.0, max_requests=500)
    shared = Settings(geocoder=config).geocoder_shared(3).geocoder
    assert shared is not None and (shared.min_delay, shared.max_requests) == (3.0, 167)
    assert Settings(geocoder=config).geocoder_shared(1).geocoder == config
