"""Running the per-article stages on worker processes: forked or spawned, the same documents as one
process, in input order, read as they go; workers that never outlive their parent."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from geomap import runners
from geomap.errors import GeomapError, RunError, WorkerError
from geomap.models import Article, DocumentResult
from geomap.pipeline import Pipeline
from geomap.runners import BATCH_SIZE, MIN_ARTICLES_PER_WORKER, batched, in_order
from geomap.settings import Settings

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


def same_documents(found: list[DocumentResult], expected: list[DocumentResult]) -> None:
    assert [d.article.id for d in found] == [d.article.id for d in expected]
    assert [(d.resolutions, d.incidents, d.complete) for d in found] == [
        (d.resolutions, d.incidents, d.complete) for d in expected
    ]


def test_forked_workers_give_the_documents_of_one_process_in_order(pipeline: Pipeline) -> None:
    batch = articles(MIN_ARTICLES_PER_WORKER * 3)
    alone = list(pipeline.documents(batch))
    forked = list(pipeline.process(batch, len(batch), workers=2, start_method="fork"))
    same_documents(forked, alone)
    assert sum(len(d.incidents) for d in forked) >= len(batch)


def test_spawned_workers_build_their_own_pipeline_and_give_the_same_documents(pipeline: Pipeline) -> None:
    batch = articles(MIN_ARTICLES_PER_WORKER * 3)
    described = Pipeline.from_settings(Settings())  # what spawned workers can build again
    spawned = list(described.process(batch, len(batch), workers=2, start_method="spawn"))
    assert not {"extractor", "resolver", "detector"} & set(vars(described))  # nothing loaded here
    same_documents(spawned, list(pipeline.documents(batch)))


def test_a_pipeline_no_settings_describe_runs_here_when_workers_would_be_spawned(
    pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    assert pipeline.settings is None  # the session's pipeline has its own gazetteer object
    batch = articles(MIN_ARTICLES_PER_WORKER * 2)
    with caplog.at_level(logging.WARNING, logger="geomap"):
        docs = list(pipeline.process(batch, len(batch), workers=2, start_method="spawn"))
    assert [d.article.id for d in docs] == [a.id for a in batch]
    assert "cannot be rebuilt by spawned workers" in caplog.text


def test_an_unknown_start_method_is_a_geomap_error(pipeline: Pipeline) -> None:
    with pytest.raises(RunError, match="unknown start method 'thread'") as raised:
        list(pipeline.process([], 0, workers=2, start_method="thread"))
    assert isinstance(raised.value, GeomapError)


class Crashing:
    """Stages whose worker dies on its first batch, as one the out-of-memory killer ends."""

    def documents(self, articles: Iterable[Article]) -> Iterator[DocumentResult]:
        os._exit(9)

    def load(self) -> Crashing:
        return self

    def after_fork(self) -> None:
        pass


def test_a_worker_that_dies_is_a_geomap_error_not_a_hang() -> None:
    batch = articles(MIN_ARTICLES_PER_WORKER * 2)
    with pytest.raises(WorkerError, match="try fewer workers than 2"):
        list(runners.on_workers(Crashing(), batch, count=len(batch), workers=2, start_method="fork"))


def test_fork_is_the_default_on_linux_and_spawn_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    assert runners.default_start_method() == ("fork" if sys.platform.startswith("linux") else "spawn")
    for platform in ("win32", "darwin"):
        monkeypatch.setattr(runners.sys, "platform", platform)
        assert runners.default_start_method() == "spawn"


def test_batches_stream_through_with_a_bounded_number_in_flight() -> None:
    submitted: list[list[int]] = []

    def submit(batch: list[int]) -> Future:
        future: Future = Future()
        future.set_result([f"result {n}" for n in batch])
        submitted.append(batch)
        return future

    results = in_order(submit, batched(iter(range(100)), 3), 4)
    assert next(results) == "result 0"
    assert len(submitted) == 4  # the corpus is read as results are taken, not all at once
    assert list(results) == [f"result {n}" for n in range(1, 100)]
    assert [len(b) for b in submitted] == [3] * 33 + [1]


def test_workers_read_the_articles_as_they_go(pipeline: Pipeline) -> None:
    batch = articles(BATCH_SIZE * 12)
    read = 0

    def stream() -> Iterator[Article]:
        nonlocal read
        for article in batch:
            read += 1
            yield article

    docs = pipeline.process(stream(), len(batch), workers=2)
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


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
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


# --- one call in a process of its own ---------------------------------------------------------------


def _pid_and(value: int) -> tuple[int, int]:
    return os.getpid(), value * 2


def _fails_on_disk(path: str) -> None:
    try:
        open(os.path.join(path, "absent", "file"), "w")  # noqa: SIM115 - the OSError is the point
    except OSError as exc:
        raise RunError(f"cannot write {path}") from exc


def _dies() -> None:
    os._exit(7)


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_call_elsewhere_runs_in_another_process_and_returns_its_value(start_method: str) -> None:
    wait = runners.elsewhere(_pid_and, 21, start_method=start_method)
    pid, value = wait()
    assert value == 42 and pid != os.getpid()


def test_a_call_elsewhere_raises_its_error_with_the_errors_cause(tmp_path: Path) -> None:
    wait = runners.elsewhere(_fails_on_disk, str(tmp_path))
    with pytest.raises(RunError, match="cannot write") as raised:
        wait()
    assert isinstance(raised.value.__cause__, FileNotFoundError)


def test_a_call_elsewhere_whose_process_dies_is_a_geomap_error() -> None:
    wait = runners.elsewhere(_dies)
    with pytest.raises(WorkerError, match="exit code 7"):
        wait()


def test_work_aside_runs_in_a_thread_while_the_workers_do(pipeline: Pipeline) -> None:
    batch = articles(MIN_ARTICLES_PER_WORKER * 3)
    ran: list[tuple[str, int]] = []

    def aside() -> None:  # when it runs, the workers are there already
        ran.append((threading.current_thread().name, len(multiprocessing.active_children())))

    docs = list(pipeline.process(batch, len(batch), workers=2, start_method="fork", aside=aside))
    assert [name for name, _ in ran] == ["geomap-aside"]
    assert ran[0][1] >= 2  # both workers (and maybe a process another test left to end)
    same_documents(docs, list(pipeline.documents(batch)))


def test_work_aside_that_fails_changes_nothing(pipeline: Pipeline, caplog: pytest.LogCaptureFixture) -> None:
    batch = articles(MIN_ARTICLES_PER_WORKER * 3)

    def aside() -> None:
        raise ImportError("No module named 'folium'")

    with caplog.at_level(logging.DEBUG, logger="geomap"):
        docs = list(pipeline.process(batch, len(batch), workers=2, start_method="fork", aside=aside))
    same_documents(docs, list(pipeline.documents(batch)))
    assert "work aside failed: No module named 'folium'" in caplog.text


def test_no_work_aside_without_workers(pipeline: Pipeline) -> None:
    ran: list[bool] = []
    batch = articles(3)
    list(pipeline.process(batch, len(batch), workers=2, aside=lambda: ran.append(True)))
    assert ran == []  # too few articles for workers: nothing runs beside them
