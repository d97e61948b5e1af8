#!/usr/bin/env python3
"""geomap's benchmark: prints figures, asserts nothing. Run by hand: ``python benchmarks/bench.py``.

Measures, on this machine:
- the offline world tier: time to open it, and to resolve 10,000 distinct names once loaded;
- the curated gazetteer: load time and lookups per second;
- ``geomap build`` on the sample articles in a fresh process: wall time and peak memory (RSS).
"""

from __future__ import annotations

import argparse
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench_world(n: int) -> dict[str, float]:
    from geomap.world import WorldTier, default_index_path

    started = time.perf_counter()
    tier = WorldTier()
    tier.candidates("Paris")  # opens (or, the first time on a machine, builds) the index
    opened = time.perf_counter() - started
    con = sqlite3.connect(f"file:{default_index_path()}?mode=ro", uri=True)
    names = [row[0] for row in con.execute("SELECT name FROM places ORDER BY id")]
    con.close()
    rng = random.Random(42)
    sample = rng.sample(names, n)
    started = time.perf_counter()
    found = sum(1 for name in sample if tier.candidates(name))
    elapsed = time.perf_counter() - started
    return {"open_s": opened, "names": n, "resolve_s": elapsed, "found": found}


def bench_gazetteer(n: int) -> dict[str, float]:
    from geomap.gazetteer import Gazetteer

    started = time.perf_counter()
    gaz = Gazetteer.load()
    loaded = time.perf_counter() - started
    names = [name for names in gaz.names.values() for name in names]
    sample = random.Random(7).choices(names, k=n)
    started = time.perf_counter()
    for name in sample:
        gaz.lookup(name)
    return {"load_s": loaded, "lookups": n, "lookup_s": time.perf_counter() - started}


def bench_build() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "geomap", "build", str(ROOT / "seeds"), "--out", out, "--offline", "-q"],
            check=True,
        )
        wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"build_s": wall, "peak_rss_mb": peak_kib / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=10_000, help="names resolved by the world tier")
    args = parser.parse_args()
    world = bench_world(args.names)
    print(
        f"world tier: opened in {world['open_s']:.2f} s; {world['names']:,} distinct names resolved in "
        f"{world['resolve_s']:.3f} s ({world['names'] / world['resolve_s']:,.0f} names/s, "
        f"{world['found']:,} found)"
    )
    gaz = bench_gazetteer(100_000)
    print(
        f"gazetteer: loaded in {gaz['load_s']:.2f} s; {gaz['lookups']:,} lookups in {gaz['lookup_s']:.3f} s"
    )
    build = bench_build()
    print(f"geomap build seeds/: {build['build_s']:.1f} s wall, peak RSS {build['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
