"""The wiring of the stages: parallel workers give the same results as one process."""

from __future__ import annotations

from geomap.models import Article
from geomap.pipeline import MIN_ARTICLES_PER_WORKER, Pipeline

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
