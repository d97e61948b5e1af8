"""Running the per-article stages over batches of articles: here, or on local worker processes.

Whoever runs them (this module's process pool, or :mod:`geomap.cluster` on Dask) reads the articles
as it goes, in batches, with a bounded number of batches in flight, and hands the results back in
input order, so that the outputs are the same whichever way the articles went.

A worker either inherits the parent's loaded pipeline (the ``fork`` start method: the models are
loaded once and their memory shared) or builds its own from a :class:`Recipe` (``spawn``, and every
Dask worker): the picklable description of a pipeline, :class:`geomap.settings.Settings`. Fork is
the default on Linux; spawn elsewhere, where fork is missing (Windows) or unsafe (macOS).

This module knows pipelines only through the two small protocols below, so that
:mod:`geomap.pipeline` can ask it to run its stages without an import cycle.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from geomap.errors import RunError, WorkerError
from geomap.models import Article, DocumentResult

BATCH_SIZE = 8  # small batches keep both workers busy to the end (measured: 8 beats 16 and 32)
MIN_ARTICLES_PER_WORKER = 16  # below this, starting workers costs more than it saves
START_METHODS = ("fork", "spawn")
log = logging.getLogger("geomap")
T = TypeVar("T")


class Stages(Protocol):
    """The per-article stages of a pipeline (:class:`geomap.pipeline.Pipeline`)."""

    def documents(self, articles: Iterable[Article]) -> Iterator[DocumentResult]:
        """Each article's results, in input order."""
        ...

    def load(self) -> Stages:
        """Load every stage now (before forking workers that should share them)."""
        ...

    def after_fork(self) -> None:
        """In a forked worker: reopen what must not cross a fork (SQLite connections)."""
        ...


class Recipe(Hashable, Protocol):
    """What a worker process builds its own pipeline from: picklable, hashable, and printable as an
    ``identity`` of what the results depend on (:class:`geomap.settings.Settings`)."""

    def identity(self) -> str:
        """What of the recipe the results depend on."""
        ...

    def worker_pipeline(self, *, processes: int) -> Stages:
        """The stages, for one of ``processes`` worker processes (they share an online rate)."""
        ...


def default_start_method() -> str:
    """``fork`` on Linux: workers share the models the parent loaded instead of loading their own
    (seconds and hundreds of MB each); ``spawn`` elsewhere (Windows has no fork; on macOS, system
    libraries are not safe to use in a forked child)."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def spreads(workers: int, count: int) -> bool:
    """Whether :func:`on_workers` sends ``count`` articles to ``workers`` processes."""
    return workers > 1 and count >= MIN_ARTICLES_PER_WORKER * 2


def on_workers(
    stages: Stages,
    articles: Iterable[Article],
    *,
    count: int,
    workers: int,
    recipe: Recipe | None = None,
    start_method: str | None = None,
    aside: Callable[[], object] | None = None,
) -> Iterator[DocumentResult]:
    """``stages.documents(articles)``, spread over ``workers`` processes when ``count`` articles
    justify it; results in input order. Forked workers inherit ``stages`` (loaded here first);
    spawned ones build theirs from ``recipe``, and without one the articles are processed here.

    ``aside`` is work for this process while its workers run (e.g. importing what comes next): it
    runs in a thread started once every worker is started, and is done when the results are."""
    method = start_method or default_start_method()
    if method not in START_METHODS:
        raise RunError(f"unknown start method {method!r} (expected one of {', '.join(START_METHODS)})")
    if not spreads(workers, count):
        if count:
            stages.load()
        yield from stages.documents(articles)
        return
    if method == "spawn" and recipe is None:
        log.warning("a pipeline not built from settings cannot be rebuilt by spawned workers: one process")
        yield from stages.documents(articles)
        return
    # with fork the arguments are inherited, not pickled: the loaded stages are shared, not copied
    inherited = stages.load() if method == "fork" else None
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_start_worker,
        initargs=(
            os.getpid(),
            inherited,
            recipe if inherited is None else None,
            workers,
            log.getEffectiveLevel(),
        ),
    )
    helper: list[threading.Thread] = []

    def submit(batch: list[Article]) -> Any:
        future = pool.submit(_process_batch, batch)
        if aside is not None and not helper:
            # the first submit started every worker (forked ones all at once, and the pool never
            # forks again): no fork can copy a lock this thread holds
            helper.append(threading.Thread(target=_quietly, args=(aside,), name="geomap-aside", daemon=True))
            helper[0].start()
        return future

    with pool:
        batches = batched(articles, BATCH_SIZE)
        try:
            yield from in_order(submit, batches, 2 * workers + 2)
        except BrokenProcessPool as exc:
            raise WorkerError(
                "a worker process ended without finishing its articles (killed, or out of memory: "
                f"each needs about 400 MB); try fewer workers than {workers}"
            ) from exc
        finally:
            for thread in helper:
                thread.join()


def _quietly(work: Callable[[], object]) -> None:
    """``work``, whose failure only means that it is done again later, where it is needed."""
    try:
        work()
    except Exception as exc:
        log.debug("work aside failed: %s", exc)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), read as they are needed."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def in_order(submit: Callable[[list[T]], Any], batches: Iterable[list[T]], in_flight: int) -> Iterator[Any]:
    """The results of every batch, in input order, with at most ``in_flight`` batches submitted and
    not yet taken back: a corpus of any size streams through in bounded memory. ``submit`` returns a
    future (of ``concurrent.futures`` or of Dask) whose ``result()`` is the batch's list of results."""
    pending: deque[Any] = deque()
    for batch in batches:
        pending.append(submit(batch))
        if len(pending) >= in_flight:
            yield from pending.popleft().result()
    while pending:
        yield from pending.popleft().result()


def exit_with_parent(parent: int, *, every: float = 0.5) -> None:
    """In a worker process: exit as soon as ``parent`` is gone. A parent killed outright (SIGKILL, the
    out-of-memory killer, the task manager) cannot tell its workers, and each would keep its ~400 MB
    waiting for work on a queue that nobody will ever close. On POSIX an orphan is re-parented, so
    polling the parent's pid tells (unlike Linux's PR_SET_PDEATHSIG, on every POSIX system); on
    Windows, which does not re-parent, the worker waits on the parent's process handle."""

    def watch() -> None:
        if os.name == "nt":
            parent_process = multiprocessing.parent_process()
            if parent_process is None:
                return  # not a multiprocessing child: nothing to watch
            parent_process.join()
        else:
            while os.getppid() == parent:
                time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="geomap-exit-with-parent", daemon=True).start()


def worker_stages(recipe: Recipe, *, processes: int) -> Stages:
    """In a worker process: the pipeline ``recipe`` describes, built on first use and kept for the
    next batches (a Dask worker may serve several runs, hence one per recipe)."""
    key = (recipe, processes)
    stages = _BUILT.get(key)
    if stages is None:
        stages = _BUILT[key] = recipe.worker_pipeline(processes=processes)
    return stages


def is_built(recipe: Recipe, *, processes: int) -> bool:
    """Whether this process already built the pipeline ``recipe`` describes."""
    return (recipe, processes) in _BUILT


_BUILT: dict[tuple[Recipe, int], Stages] = {}  # in a worker process: its pipelines, by recipe
_WORKER: Stages | None = None  # in a local worker process: the pipeline its batches go through


def _start_worker(
    parent: int, inherited: Stages | None, recipe: Recipe | None, processes: int, level: int = logging.WARNING
) -> None:
    """In a new local worker: watch the parent, then take the pipeline it ``inherited`` through a
    fork or build one from ``recipe``. A spawned worker starts a new interpreter: it is given the
    parent's log level and format, so that ``-vv`` shows its articles too."""
    global _WORKER
    exit_with_parent(parent)
    if inherited is None:
        logging.basicConfig(format="geomap: %(message)s", stream=sys.stderr)
        logging.getLogger("geomap").setLevel(level)
    if inherited is not None:
        inherited.after_fork()
        _WORKER = inherited
    elif recipe is not None:
        _WORKER = worker_stages(recipe, processes=processes)


def _process_batch(batch: list[Article]) -> list[DocumentResult]:
    """In a local worker: one batch through the worker's pipeline."""
    if _WORKER is None:
        raise RuntimeError("a geomap worker started without a pipeline")
    return list(_WORKER.documents(batch))


def elsewhere(function: Callable[..., T], *args: Any, start_method: str | None = None) -> Callable[[], T]:
    """Start ``function(*args)`` in a process of its own; a function that waits for it and returns
    its value or raises its error (with the error's cause, e.g. the OSError of a full disk).

    A forked process reads ``args`` from the parent's memory as they are; a spawned one gets them
    pickled. The process is stopped if the waiting side gives up (an error of its own, Ctrl-C)."""
    context = multiprocessing.get_context(start_method or default_start_method())
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_call_and_send, args=(sender, function, args), daemon=True)
    process.start()
    sender.close()  # the child holds its own end: a child that dies closes the pipe

    def wait() -> T:
        try:
            try:
                kind, value, cause = receiver.recv()
            except EOFError:
                process.join()
                raise WorkerError(f"a worker process stopped (exit code {process.exitcode})") from None
            if kind == "error":
                raise value from cause
            return value
        finally:
            receiver.close()
            if process.is_alive():
                process.terminate()
            process.join()

    return wait


def _call_and_send(sender: Any, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """In the child of :func:`elsewhere`: the call's value, or its error and the error's cause."""
    try:
        sender.send(("value", function(*args), None))
    except BaseException as exc:  # every error goes back to the parent
        try:
            sender.send(("error", exc, exc.__cause__))
        except Exception:  # an error that does not pickle: its text
            sender.send(("error", WorkerError(f"{type(exc).__name__}: {exc}"), None))
    finally:
        sender.close()
