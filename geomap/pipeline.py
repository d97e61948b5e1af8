"""The one place where the stages are wired: ingest -> extract -> resolve -> incidents -> outputs."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geomap.areas import default_areas
from geomap.errors import InputError
from geomap.export import (
    atomic_write,
    dumps_geojson,
    feature_collection,
    frame_of,
    incident_features,
    incidents_csv,
    output_lock,
    place_features,
    write_geopackage,
)
from geomap.extract import Extractor, ParsedArticle
from geomap.gazetteer import Gazetteer, default_gazetteer
from geomap.incidents import IncidentDetector, merge_reports
from geomap.ingest import iter_articles
from geomap.models import Article, Incident, Resolution, Result
from geomap.resolve import GazetteerTier, Resolver, Tier
from geomap.world import WorldTier
from geomap.zones import BorderZones, ZoneConfig


@dataclass(frozen=True, slots=True)
class DocumentResult:
    """What the pipeline found in one article."""

    article: Article
    resolutions: list[Resolution]
    incidents: list[Incident] = field(default_factory=list)


class Pipeline:
    """Models and gazetteers loaded once; articles streamed through every stage."""

    def __init__(
        self,
        gazetteer: Gazetteer | None = None,
        *,
        world: bool = True,
        extra_tiers: Sequence[Tier] = (),
        zones: ZoneConfig | None = None,
        with_zones: bool = True,
    ) -> None:
        self.gazetteer = gazetteer or default_gazetteer()
        self.extractor = Extractor(self.gazetteer)
        tiers: list[Tier] = [GazetteerTier(self.gazetteer)]
        if world:
            tiers.append(WorldTier(stop=self.gazetteer.stop))
        self.resolver = Resolver([*tiers, *extra_tiers])
        self.detector = IncidentDetector(self.gazetteer)
        self.zone_config = zones or ZoneConfig()
        self.with_zones = with_zones
        self._zones: BorderZones | None = None

    def zones(self) -> BorderZones | None:
        """The border zones stage, built on first use (None when the gazetteer ships no areas)."""
        if self._zones is None:
            areas = default_areas()
            if areas is None:
                return None
            self._zones = BorderZones(areas, self.zone_config)
        return self._zones

    def documents(self, articles: Iterable[Article], *, incidents: bool = True) -> Iterator[DocumentResult]:
        """Each article's resolved mentions (and incidents), streamed in input order."""
        for parsed in self.extractor.parse(articles):
            resolutions = self._resolve(parsed)
            found = (
                self.detector.detect(parsed.article, list(parsed.doc.sents), resolutions) if incidents else []
            )
            yield DocumentResult(parsed.article, resolutions, found)

    def documents_with_workers(
        self, articles: Iterable[Article], count: int, workers: int
    ) -> Iterator[DocumentResult]:
        """``documents`` spread over ``workers`` forked processes when ``count`` articles justify it."""
        if workers <= 1 or count < MIN_ARTICLES_PER_WORKER * 2:
            yield from self.documents(articles)
            return
        global _FORKED
        _FORKED = self  # forked workers inherit the loaded pipeline instead of loading their own
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for batch in pool.map(_process_batch, _batches(articles, BATCH_SIZE)):
                yield from batch

    def _resolve(self, parsed: ParsedArticle) -> list[Resolution]:
        return self.resolver.resolve(
            parsed.mentions, cues=parsed.cues, area_cues=parsed.area_cues, weak_cues=parsed.weak_cues
        )

    def run(
        self,
        inputs: Iterable[str | Path],
        *,
        progress: Callable[[Iterable[Article]], Iterable[Article]] | None = None,
        workers: int = 1,
    ) -> Result:
        """Process every input; bad inputs are recorded in ``Result.problems`` and skipped.

        With ``workers`` > 1 and enough articles, batches of articles go to forked worker processes
        that share the loaded models; results come back in input order, so the outputs are the same.
        """
        result = Result()
        errors: list[InputError] = []
        started = time.perf_counter()
        articles = list(iter_articles(inputs, errors))
        result.timings["ingest_s"] = round(time.perf_counter() - started, 3)
        stream: Iterable[Article] = progress(articles) if progress else articles
        started = time.perf_counter()
        for doc in self.documents_with_workers(stream, len(articles), workers):
            result.articles.append(doc.article)
            result.resolutions.extend(doc.resolutions)
            result.incidents.extend(doc.incidents)
        result.incidents = merge_reports(result.incidents)
        result.timings["nlp_resolve_incidents_s"] = round(time.perf_counter() - started, 3)
        if self.with_zones and (zones := self.zones()) is not None:
            started = time.perf_counter()
            result.incidents = zones.place(result.incidents)
            result.zones = zones.geojson(result.incidents)
            result.timings["zones_s"] = round(time.perf_counter() - started, 3)
        result.problems = [str(e) for e in errors]
        return result


BATCH_SIZE = 16
MIN_ARTICLES_PER_WORKER = 16
_FORKED: Pipeline | None = None


def _batches(articles: Iterable[Article], size: int) -> Iterator[list[Article]]:
    batch: list[Article] = []
    for article in articles:
        batch.append(article)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _process_batch(batch: list[Article]) -> list[DocumentResult]:
    """In a worker process: the pipeline the parent had loaded when it forked, on one batch."""
    assert _FORKED is not None, "workers are forked from a process that set the pipeline"
    for tier in _FORKED.resolver.tiers:
        reopen = getattr(tier, "after_fork", None)
        if reopen is not None:
            reopen()  # an SQLite connection must not cross a fork
    return list(_FORKED.documents(batch))


def summary(result: Result) -> dict[str, Any]:
    """Counts, unresolved names, problems and timings of a run."""
    unresolved: dict[str, int] = {}
    for r in result.resolutions:
        if r.place is None:
            unresolved[r.mention.text] = unresolved.get(r.mention.text, 0) + 1
    by_type: dict[str, int] = {}
    for incident in result.incidents:
        by_type[incident.sub_event_type] = by_type.get(incident.sub_event_type, 0) + 1
    return {
        "articles": len(result.articles),
        "mentions": len(result.resolutions),
        "resolved_mentions": sum(1 for r in result.resolutions if r.place is not None),
        "places": len({r.place.id for r in result.resolutions if r.place is not None}),
        "incidents": len(result.incidents),
        "incidents_by_type": dict(sorted(by_type.items())),
        "unresolved": dict(sorted(unresolved.items(), key=lambda kv: (-kv[1], kv[0]))),
        "problems": result.problems,
        "encodings": {a.path or a.id: a.encoding for a in result.articles if a.encoding != "utf-8"},
        "timings": result.timings,
    }


def write_outputs(
    result: Result, out: Path, *, title: str = "geomap", offline: bool = True, png: bool = False
) -> list[Path]:
    """Write map.html, incidents.geojson, incidents.csv, places.geojson, zones.geojson, geomap.gpkg,
    summary.json (and map.png with ``png``) into ``out``, each atomically, under a lock on ``out``."""
    with output_lock(Path(out)):
        return _write_outputs(result, Path(out), title=title, offline=offline, png=png)


def _write_outputs(result: Result, out: Path, *, title: str, offline: bool, png: bool) -> list[Path]:
    from geomap.maps import build_map, render_map

    started = time.perf_counter()
    places = feature_collection(place_features(result.resolutions), "places")
    incidents = feature_collection(incident_features(result.incidents), "incidents")
    fmap = build_map(result.incidents, places["features"], title=title, zones=result.zones)
    outputs = [
        ("incidents.geojson", dumps_geojson(incidents)),
        ("places.geojson", dumps_geojson(places)),
        ("incidents.csv", incidents_csv(result.incidents)),
        ("map.html", render_map(fmap, offline=offline)),
    ]
    if result.zones is not None:
        outputs.append(("zones.geojson", dumps_geojson(result.zones)))
    written = []
    for name, text in outputs:
        atomic_write(out / name, text)
        written.append(out / name)
    layers = {"incidents": frame_of(incidents), "places": frame_of(places)}
    if result.zones is not None:
        for layer, kind in (("zones", "zone"), ("sectors", "sector"), ("border", "border")):
            features = [f for f in result.zones["features"] if f["properties"].get("kind") == kind]
            layers[layer] = frame_of({"features": features})
    write_geopackage(out / "geomap.gpkg", layers)
    written.append(out / "geomap.gpkg")
    if png:
        from geomap.maps import render_png

        atomic_write(out / "map.png", render_png(result.incidents, result.zones, title=title))
        written.append(out / "map.png")
    result.timings["outputs_s"] = round(time.perf_counter() - started, 3)
    atomic_write(out / "summary.json", json.dumps(summary(result), ensure_ascii=False, indent=1) + "\n")
    written.append(out / "summary.json")
    return written
