"""``geomap build --scheduler``: the per-article stages on a real Dask cluster, same outputs as at home."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from geomap import cluster, runners
from geomap.models import Article
from geomap.outputs import write_outputs
from geomap.pipeline import Pipeline
from geomap.settings import Settings

distributed = pytest.importorskip("distributed")
Comparable = Callable[[Path], dict[str, bytes]]


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A local cluster of two worker processes, one thread each, as ``dask worker`` would start them."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local.scheduler_address


def test_a_cluster_run_writes_what_a_single_process_run_writes(
    scheduler: str, pipeline: Pipeline, seeds_dir: Path, tmp_path: Path, comparable: Comparable
) -> None:
    alone = pipeline.run([seeds_dir], workers=1)
    write_outputs(alone, tmp_path / "alone")

    out = tmp_path / "cluster"
    done = subprocess.run(
        [sys.executable, "-m", "geomap", "build", str(seeds_dir), "--out", str(out), "--offline", "-q",
         "--title", "geomap", "--scheduler", scheduler],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert comparable(out) == comparable(tmp_path / "alone")
    assert len(alone.incidents) > 0


def test_results_come_back_in_input_order_from_both_workers(scheduler: str) -> None:
    articles = [
        Article(id=f"a{i:02d}", text=f"Des tirs ont visé le village de {name} dans la nuit de mardi.")
        for i, name in enumerate(["Tegh", "Berd", "Ijevan", "Sotk", "Kapan", "Goris"] * 4)
    ]
    docs = list(cluster.documents_on_cluster(scheduler, Settings(), articles, batch_size=2))
    assert [d.article.id for d in docs] == [a.id for a in articles]
    assert all(d.incidents for d in docs)
    client = cluster.connect(scheduler)
    try:
        busy = client.run(lambda: len(runners._BUILT))  # each worker built its pipeline once
    finally:
        client.close()
    assert len(busy) == 2
    assert set(busy.values()) == {1}


def test_a_worker_with_other_code_refuses_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runners, "_BUILT", {})
    with pytest.raises(cluster.ClusterError, match="same geomap on every worker"):
        cluster._documents(Settings(), 1, "a fingerprint of other code", [])


def test_an_unreachable_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2)
    with pytest.raises(
        cluster.ClusterError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"
    ):
        list(cluster.documents_on_cluster("tcp://127.0.0.1:9", Settings(), [Article(id="a", text="x")]))


def test_a_scheduler_file_is_accepted(scheduler: str, tmp_path: Path) -> None:
    import json

    path = tmp_path / "scheduler.json"
    path.write_text(json.dumps({"address": scheduler}))
    client = cluster.connect(str(path))
    try:
        assert len(client.nthreads()) == 2
    finally:
        client.close()
