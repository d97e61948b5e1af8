"""The wiring of the stages: parallel workers give the same results as one process."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future

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
