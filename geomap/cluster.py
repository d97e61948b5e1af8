"""The per-article stages on a Dask distributed cluster (``geomap build --scheduler ADDRESS``).

The client sends batches of articles to the cluster's workers and takes their results back in input
order, a bounded number of batches in flight (:mod:`geomap.runners` does the batching, as for local
workers); merging, border zones and outputs stay on the client, so a cluster run writes what a local
run writes. Each worker process builds one pipeline from the run's :class:`~geomap.runners.Recipe`
(:class:`~geomap.settings.Settings`) on its first batch, keeps it for the next ones, and runs it in
one dedicated thread (spaCy and the SQLite tiers then never cross threads). A worker whose geomap
code, data or model differ from the client's refuses the work instead of answering differently.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from geomap.errors import GeomapError
from geomap.models import Article, DocumentResult
from geomap.runners import Recipe, batched, in_order, is_built, worker_stages
from geomap.store import fingerprint

BATCH_SIZE = 16  # larger than the local workers' 8: each batch crosses the network twice
CONNECT_TIMEOUT_S = 30
WORKERS_TIMEOUT_S = 120


class ClusterError(GeomapError, RuntimeError):
    """The cluster cannot be reached, has no worker, or runs another geomap."""


def connect(address: str) -> Any:
    """A ``distributed.Client`` for the scheduler at ``address`` (``tcp://host:8786``...) or described
    by the scheduler file ``address`` (the JSON that ``dask scheduler --scheduler-file`` writes)."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise ClusterError(
            "--scheduler needs Dask's distributed scheduler: pip install 'geomap[dask]'"
        ) from exc
    try:
        if Path(address).is_file():
            return Client(scheduler_file=address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        return Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc


def documents_on_cluster(
    address: str, recipe: Recipe, articles: Iterable[Article], *, batch_size: int = BATCH_SIZE
) -> Iterator[DocumentResult]:
    """Each article's results, computed on the cluster at ``address`` by pipelines built from
    ``recipe``, streamed back in input order."""
    client = connect(address)
    try:
        try:
            client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
        except TimeoutError as exc:
            raise ClusterError(f"no Dask worker joined the scheduler at {address}") from exc
        processes = len(client.nthreads())  # they share the online geocoder's rate
        expected = fingerprint(recipe.identity())
        yield from in_order(
            lambda batch: client.submit(run_batch, recipe, processes, expected, batch, pure=False),
            batched(articles, batch_size),
            2 * processes + 2,
        )
    finally:
        client.close()


_THREAD: ThreadPoolExecutor | None = None


def run_batch(recipe: Recipe, processes: int, expected: str, batch: list[Article]) -> list[DocumentResult]:
    """On a worker: the results of ``batch`` from this process's pipeline for ``recipe`` (one of
    ``processes`` worker processes; ``expected`` is the client's fingerprint)."""
    global _THREAD
    if _THREAD is None:
        _THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="geomap")
    return _THREAD.submit(_documents, recipe, processes, expected, batch).result()


def _documents(recipe: Recipe, processes: int, expected: str, batch: list[Article]) -> list[DocumentResult]:
    if not is_built(recipe, processes=processes) and fingerprint(recipe.identity()) != expected:
        from geomap import __version__

        raise ClusterError(
            f"the worker on {socket.gethostname()} runs geomap {__version__} with other code, data "
            "or model than the client: install the same geomap on every worker"
        )
    return list(worker_stages(recipe, processes=processes).documents(batch))
