"""What a pipeline is built from, apart from the pipeline itself: a build tells whether anything
changed since its last run, and workers on other machines get their recipe, without importing the
models (:mod:`geomap.pipeline` imports spaCy)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geomap.geocode import GeocoderConfig
    from geomap.pipeline import Pipeline


@dataclass(frozen=True, slots=True)
class Settings:
    """What a pipeline is built from. Picklable and printable: workers on other machines build the
    same pipeline from it, and the incremental store keys results by its ``repr``."""

    world: bool = True  # the offline world tier (GeoNames cities500)
    geocoder: GeocoderConfig | None = None  # the online fallback, None when offline

    def identity(self) -> str:
        """What of these settings the results depend on (not timeouts, rates or cache paths)."""
        g = self.geocoder
        online = "offline"
        if g is not None:
            online = f"{g.provider}|{g.scheme}://{g.domain or ''}|{g.language}|{g.username or ''}"
        return f"world={self.world};geocoder={online}"

    def geocoder_shared(self, processes: int) -> Settings:
        """These settings for one of ``processes`` processes geocoding at once: each waits
        ``processes`` times longer between requests and sends its share of the run's request cap, so
        that together they keep the provider's rate and the cap."""
        g = self.geocoder
        if g is None or processes <= 1:
            return self
        cap = None if g.max_requests is None else max(1, math.ceil(g.max_requests / processes))
        return replace(self, geocoder=replace(g, min_delay=g.min_delay * processes, max_requests=cap))

    def worker_pipeline(self, *, processes: int) -> Pipeline:
        """The per-article stages these settings describe, as one of ``processes`` worker processes
        builds them (a spawned or a Dask worker: :class:`geomap.runners.Recipe`); no border zones,
        which the parent computes over every article."""
        from geomap.pipeline import Pipeline  # the models: imported by the processes that run them

        return Pipeline.from_settings(self, processes=processes, with_zones=False)
