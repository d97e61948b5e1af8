"""The one place where the stages are wired: ingest -> extract -> resolve -> incidents -> outputs."""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from geomap import runners
from geomap.errors import GazetteerError, InputError, RunError
from geomap.extract import Extractor, ParsedArticle
from geomap.gazetteer import Gazetteer, default_gazetteer
from geomap.incidents import IncidentDetector, merge_reports
from geomap.ingest import Inputs, LanguageSkipped, Read, read_all, settle_languages
from geomap.lexicon import pack_language
from geomap.models import Article, DocumentResult, Incident, Resolution, Result
from geomap.resolve import GazetteerTier, Resolver, Tier, shown
from geomap.settings import Settings
from geomap.store import ResultStore, document_from, record
from geomap.theatre import Theatre
from geomap.web import WebReader
from geomap.world import WorldTier

if TYPE_CHECKING:  # the zones stage (shapely, pyproj): imported when a build reaches it, not by extract
    from geomap.zones import BorderZones, ZoneConfig

log = logging.getLogger("geomap")


def settled(reads: Sequence[Read], language: str | None) -> tuple[list[Article], list[InputError], float]:
    """:func:`~geomap.ingest.settle_languages` of ``reads``: the articles, the inputs skipped for
    their language, and the seconds it took."""
    started = time.perf_counter()
    skipped: list[InputError] = []
    articles = list(settle_languages(reads, skipped, language=language))
    return articles, skipped, time.perf_counter() - started


def _forks(start_method: str | None) -> bool:
    return (start_method or runners.default_start_method()) == "fork"


class Pipeline:
    """Models and gazetteers loaded once (on first use); articles streamed through every stage."""

    def __init__(
        self,
        gazetteer: Gazetteer | None = None,
        *,
        world: bool = True,
        extra_tiers: Sequence[Tier] = (),
        zones: ZoneConfig | None = None,
        theatre: Theatre | None = None,
        with_zones: bool = True,
    ) -> None:
        self._gazetteer = gazetteer
        self._world = world
        self._extra_tiers = list(extra_tiers)
        self.zone_config = zones  # None: the theatre's bands
        self.theatre = theatre  # None: the theatre the incidents are in (geomap.zones.derive_theatre)
        self.with_zones = with_zones
        self._zones: BorderZones | None = None
        self.records = False  # documents() also writes each result's store text (store.record)
        # A pipeline built from the defaults can be described, hence rebuilt by workers elsewhere.
        described = gazetteer is None and not extra_tiers
        self.settings: Settings | None = Settings(world=world) if described else None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        processes: int = 1,
        zones: ZoneConfig | None = None,
        theatre: Theatre | None = None,
        with_zones: bool = True,
    ) -> Pipeline:
        """The pipeline ``settings`` describe (the default gazetteer, the world tier, the geocoder),
        for one of ``processes`` processes that share the online geocoder's rate."""
        extra: list[Tier] = []
        if settings.geocoder is not None:
            from geomap.geocode import GeocoderTier

            extra.append(GeocoderTier(settings.geocoder_shared(processes).geocoder))
        pipeline = cls(
            world=settings.world, extra_tiers=extra, zones=zones, theatre=theatre, with_zones=with_zones
        )
        pipeline.settings = settings
        return pipeline

    @cached_property
    def gazetteer(self) -> Gazetteer:
        """The curated gazetteer."""
        return self._gazetteer or default_gazetteer()

    @cached_property
    def extractor(self) -> Extractor:
        """The extraction stage (loads spaCy, once per process and gazetteer)."""
        return _extractor(self.gazetteer)

    @cached_property
    def resolver(self) -> Resolver:
        """The resolution stage: the curated gazetteer, the world tier, then any extra tier."""
        tiers: list[Tier] = [GazetteerTier(self.gazetteer)]
        if self._world:
            tiers.append(WorldTier(stop=self.gazetteer.stop))
        return Resolver([*tiers, *self._extra_tiers])

    @cached_property
    def detector(self) -> IncidentDetector:
        """The incident stage."""
        return IncidentDetector(self.gazetteer)

    def load(self, languages: Iterable[str | None] = ()) -> Pipeline:
        """Load every per-article stage now (before forking workers that should share them), and
        the language-specific parts (spaCy pipeline, context model) of each of ``languages``.

        What is alive then (the models, the gazetteer, the articles read) lives as long as the
        process: it is frozen out of the garbage collector's generations, whose full collections
        would otherwise walk its millions of objects again and again, and in each forked worker
        write to every one of them, copying the parent's pages (Python's advice for fork: freeze
        before forking). Without this, two workers spent 10-15 % more CPU per article than one."""
        _ = (self.extractor, self.resolver, self.detector)  # each cached_property loads its stage
        for code in {pack_language(code) for code in languages}:
            self.extractor.pipeline(code)
            self.detector.context_of(code)
        gc.freeze()
        return self

    def after_fork(self) -> None:
        """In a forked worker: each tier reopens what must not cross a fork (an SQLite connection)."""
        for tier in self.resolver.tiers:
            reopen = getattr(tier, "after_fork", None)
            if reopen is not None:
                reopen()

    def zones(self, incidents: Sequence[Incident] = ()) -> BorderZones | None:
        """The border zones stage of the pipeline's theatre, or of the one ``incidents`` are in; built
        once per theatre. None when there is no theatre (the incidents' countries are not neighbours)."""
        from geomap.areas import theatre_areas
        from geomap.zones import BorderZones, ZoneConfig, derive_theatre

        theatre = self.theatre or derive_theatre(incidents)
        if theatre is None:
            return None
        if self._zones is None or self._zones.theatre != theatre:
            config = self.zone_config or ZoneConfig(theatre.zones_km)
            self._zones = BorderZones(theatre_areas(theatre.border_countries), theatre, config)
        return self._zones

    def _zones_for(self, incidents: Sequence[Incident]) -> BorderZones | None:
        """The zones stage for a run: a theatre the user named must be computable (its error
        stops the run); one derived from the incidents is skipped with a warning when it is not."""
        try:
            return self.zones(incidents)
        except GazetteerError as error:
            if self.theatre is not None:
                raise
            log.warning("no border zones: %s", error)
            return None

    def documents(self, articles: Iterable[Article], *, incidents: bool = True) -> Iterator[DocumentResult]:
        """Each article's resolved mentions (and incidents), streamed in input order; at debug level,
        each article's counts are logged with the seconds since the previous one (spaCy parses in
        batches, so an article's share of the parsing lands on the first of its batch, and the first
        article of a language also pays for loading that language's model)."""
        debug = log.isEnabledFor(logging.DEBUG)
        last = time.perf_counter()
        for parsed in self.extractor.parse(articles):
            failures = self._tier_failures()
            resolutions = self._resolve(parsed)
            found = (
                self.detector.detect(parsed.article, list(parsed.doc.sents), resolutions) if incidents else []
            )
            # An article is complete when no tier was off and none failed on one of its names: the
            # store keeps only complete results, so the next run retries the others.
            complete = self._tier_failures() == failures and not any(
                getattr(tier, "disabled", False) for tier in self.resolver.tiers
            )
            if debug:
                now = time.perf_counter()
                _log_article(parsed, resolutions, found, seconds=now - last)
                last = now
            doc = DocumentResult(parsed.article, resolutions, found, complete)
            yield replace(doc, record=record(doc)) if self.records and complete else doc

    def _tier_failures(self) -> int:
        """Failed requests of the online tiers so far (each tier counts its own in ``failures``)."""
        return sum(getattr(tier, "failures", 0) for tier in self.resolver.tiers)

    def process(
        self,
        articles: Iterable[Article],
        count: int,
        *,
        workers: int = 1,
        scheduler: str | None = None,
        start_method: str | None = None,
        aside: Callable[[], object] | None = None,
    ) -> Iterator[DocumentResult]:
        """The per-article stages on ``count`` articles: here, in ``workers`` processes started with
        ``start_method`` (None: :func:`geomap.runners.default_start_method`), or on the Dask cluster
        whose scheduler is at ``scheduler``; results always come in input order. ``aside`` is work
        for this process while its workers run (:func:`geomap.runners.on_workers`)."""
        if scheduler is None:
            yield from runners.on_workers(
                self,
                articles,
                count=count,
                workers=workers,
                recipe=self.settings,
                start_method=start_method,
                aside=aside,
            )
            return
        if self.settings is None:
            raise RunError("only a pipeline built from Settings can run on a cluster")
        from geomap.cluster import documents_on_cluster

        yield from documents_on_cluster(scheduler, self.settings, articles)

    def _settled_while_loading(
        self, reads: Sequence[Read], language: str | None, store: ResultStore | None, start_method: str | None
    ) -> tuple[list[Article], list[InputError], float]:
        """:func:`settled` for a run on forked workers: the languages of all but the first batch are
        detected in a process of their own while this one loads the stages, and the pipelines of the
        languages that first batch needs (articles the store does not hold): loaded once here, they
        are shared by the workers instead of loaded by each, and on two cores neither side waits.
        A language first met later is loaded by the workers as before."""
        head, rest = reads[: runners.BATCH_SIZE], reads[runners.BATCH_SIZE :]
        first, skipped, seconds = settled(head, language)
        waiting = runners.elsewhere(settled, rest, language, start_method=start_method)
        needed = [a for a in first if store is None or store.get(store.key(a)) is None]
        self.load(languages={a.language for a in needed})
        more, more_skipped, more_seconds = waiting()
        return [*first, *more], [*skipped, *more_skipped], seconds + more_seconds

    def _resolve(self, parsed: ParsedArticle) -> list[Resolution]:
        return self.resolver.resolve(
            parsed.mentions, cues=parsed.cues, area_cues=parsed.area_cues, weak_cues=parsed.weak_cues
        )

    def run(
        self,
        inputs: Iterable[str | Path] | Inputs,
        *,
        progress: Callable[[list[Article]], Iterable[Article]] | None = None,
        workers: int = 1,
        store: ResultStore | None = None,
        scheduler: str | None = None,
        web: WebReader | None = None,
        language: str | None = None,
        start_method: str | None = None,
        aside: Callable[[], object] | None = None,
    ) -> Result:
        """Process every input (or the :class:`~geomap.ingest.Inputs` already read); bad inputs are
        recorded in ``Result.problems`` and skipped.

        With ``workers`` > 1 and enough articles, batches of articles go to worker processes
        (:mod:`geomap.runners`: forked ones share the loaded models; ``start_method`` "spawn" makes
        each build its own from ``settings``); with ``scheduler``, they go to a Dask cluster. Articles
        found in ``store`` (same content, same code and settings) are taken from it instead of being
        processed, and the others are added to it. Results are merged in input order, so the outputs
        are the same whichever way the articles went. ``language`` reads every article as written in
        it (else each article's declared or detected language decides). ``aside`` is work for this
        process while its workers run.
        """
        result = Result()
        read = inputs if isinstance(inputs, Inputs) else read_all(inputs, web=web)
        if scheduler is None and runners.spreads(workers, len(read.reads)) and _forks(start_method):
            settling = self._settled_while_loading(read.reads, language, store, start_method)
        else:
            settling = settled(read.reads, language)
        articles, skipped, seconds = settling
        errors = [*read.errors, *skipped]
        result.timings["ingest_s"] = round(read.seconds + seconds, 3)
        _log_inputs(articles, errors, seconds=result.timings["ingest_s"])
        started = time.perf_counter()
        keys: list[str] = []
        reused: dict[int, DocumentResult] = {}
        if store is not None:
            keys = [store.key(a) for a in articles]
            found = ((i, store.get(key)) for i, key in enumerate(keys))
            reused = {i: document_from(data) for i, data in found if data is not None}
        todo = [a for i, a in enumerate(articles) if i not in reused]
        log.info(
            "%d articles to process, %d reused from the store%s",
            len(todo),
            len(reused),
            "" if store is not None else " (no store)",
        )
        stream = progress(todo) if progress else todo
        # the process that finds an article's results writes the store's text of them: forked
        # workers share that work instead of leaving it all to this process
        self.records = store is not None
        fresh = self.process(
            stream, len(todo), workers=workers, scheduler=scheduler, start_method=start_method, aside=aside
        )
        for i in range(len(articles)):
            doc = reused.get(i)
            if doc is None:
                doc = next(fresh)
                if store is not None and doc.complete:  # the next run retries what a tier missed
                    store.put(keys[i], doc.article.id, doc.record or record(doc))
                result.incomplete += not doc.complete
            result.articles.append(doc.article)
            result.resolutions.extend(doc.resolutions)
            result.incidents.extend(doc.incidents)
        result.reused = len(reused)
        reports = len(result.incidents)
        result.incidents = merge_reports(result.incidents)
        result.timings["nlp_resolve_incidents_s"] = round(time.perf_counter() - started, 3)
        _log_documents(result, reports=reports, processed=len(todo))
        if self.with_zones:
            started = time.perf_counter()
            if (zones := self._zones_for(result.incidents)) is not None:
                result.incidents = zones.place(result.incidents)
                result.zones = zones.geojson(result.incidents)
                result.theatre, result.zone_widths = zones.theatre, zones.config.widths_km
            else:  # no theatre: the same layers, empty, so that a day without incidents keeps its files
                from geomap.zones import empty_zones

                result.zones = empty_zones()
            result.timings["zones_s"] = round(time.perf_counter() - started, 3)
            _log_zones(result)
        result.problems = [str(e) for e in errors]
        for error in errors:
            if isinstance(error, LanguageSkipped):
                result.skipped_languages[error.language] = result.skipped_languages.get(error.language, 0) + 1
        return result


def _log_inputs(articles: Sequence[Article], errors: Sequence[InputError], *, seconds: float) -> None:
    """ "inputs read in 0.12 s: 40 articles (12 en, 28 fr), 2 skipped (1 in another language)"."""
    if not log.isEnabledFor(logging.INFO):
        return
    languages = Counter(a.language or "undetected" for a in articles)
    by_language = ", ".join(f"{n} {language}" for language, n in sorted(languages.items()))
    other = sum(isinstance(e, LanguageSkipped) for e in errors)
    log.info(
        "inputs read in %.2f s: %d articles (%s), %d skipped%s",
        seconds,
        len(articles),
        by_language or "none",
        len(errors),
        f" ({other} in another language)" if other else "",
    )


def _log_article(
    parsed: ParsedArticle, resolutions: Sequence[Resolution], found: Sequence[Incident], *, seconds: float
) -> None:
    """ "article kirants-2022 (fr): 12 mentions, 5 kept, 4 resolved, 2 incidents, 0.031 s"."""
    log.debug(
        "article %s (%s): %d mentions, %d kept, %d resolved, %d incidents, %.3f s",
        shown(parsed.article.id),
        parsed.article.language or "undetected",
        len(parsed.mentions),
        len(resolutions),
        sum(r.place is not None for r in resolutions),
        len(found),
        seconds,
    )


def _log_documents(result: Result, *, reports: int, processed: int) -> None:
    """ "extraction, resolution and incidents in 3.10 s (38 articles processed, 12.3 articles/s): 410
    mentions kept, 362 resolved, 57 incidents (from 64 reports)"."""
    if not log.isEnabledFor(logging.INFO):
        return
    seconds = result.timings["nlp_resolve_incidents_s"]
    rate = f", {processed / seconds:.1f} articles/s" if processed and seconds > 0 else ""
    log.info(
        "extraction, resolution and incidents in %.2f s (%d articles processed%s): %d mentions kept, "
        "%d resolved, %d incidents (from %d reports)",
        seconds,
        processed,
        rate,
        len(result.resolutions),
        sum(r.place is not None for r in result.resolutions),
        len(result.incidents),
        reports,
    )


def _log_zones(result: Result) -> None:
    """ "zones in 0.80 s: theatre armenia-azerbaijan (5, 10, 20 km), 41 of 57 incidents in a zone"."""
    if not log.isEnabledFor(logging.INFO):
        return
    seconds = result.timings["zones_s"]
    if result.theatre is None:
        log.info("zones in %.2f s: no theatre, no zones", seconds)
        return
    log.info(
        "zones in %.2f s: theatre %s (%s km), %d of %d incidents in a zone",
        seconds,
        shown(result.theatre.name),
        ", ".join(f"{w:g}" for w in result.zone_widths),
        sum(i.zone is not None for i in result.incidents),
        len(result.incidents),
    )


def _extractor(gazetteer: Gazetteer) -> Extractor:
    """The spaCy pipeline and its gazetteer patterns hold no state of a run: pipelines built one after
    another in one process (a notebook, a server, the tests' CLI runs) share them instead of spending
    seconds loading them again. Keyed by the gazetteer object itself (the last two are kept)."""
    for known, extractor in _EXTRACTORS:
        if known is gazetteer:
            return extractor
    extractor = Extractor(gazetteer)
    _EXTRACTORS.append((gazetteer, extractor))
    del _EXTRACTORS[:-2]
    return extractor


_EXTRACTORS: list[tuple[Gazetteer, Extractor]] = []
