"""Compile ``countries.csv``: every ISO 3166-1 country with its numeric and alpha codes, ACLED's name
and ACLED's region, and the other names it goes by (so an actor label naming a country can be
read back to its code).

Run once when a source changes (``pip install '.[build-data]'`` for pycountry)::

    python geomap/acled_codebook/build.py

Sources: ``sources/acled_countries.csv`` (ACLED's country names and regions), pycountry's ISO 3166-1
table, ``sources/country_overrides.csv`` (hand-written: ACLED's spellings that match no ISO name,
Kosovo, and ISO entries ACLED does not list), and the country names of geomap's gazetteer
(``gazetteer/places.csv``, which geomap's actor labels use). The output is sorted and deterministic.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
GAZETTEER = HERE.parent.parent / "gazetteer" / "places.csv"
COLUMNS = ["iso", "iso2", "iso3", "country", "region", "names"]


def fold(name: str) -> str:
    """A name as names are compared: lower case, no accents, punctuation as single spaces."""
    name = "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", name).strip()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def gazetteer_names() -> dict[str, str]:
    """ISO alpha-2 -> the country's name in geomap's gazetteer (empty without the repository)."""
    if not GAZETTEER.exists():
        return {}
    return {row["country"]: row["name"] for row in read_csv(GAZETTEER) if row["kind"] == "country"}


def build() -> list[dict[str, str]]:
    import pycountry

    acled = {row["country"]: row["region"] for row in read_csv(HERE / "sources" / "acled_countries.csv")}
    acled_by_name = {fold(name): name for name in acled}
    overrides = {row["iso2"]: row for row in read_csv(HERE / "sources" / "country_overrides.csv")}
    geomap_names = gazetteer_names()
    entries = [
        {
            "iso2": c.alpha_2,
            "iso3": c.alpha_3,
            "iso": str(int(c.numeric)),
            "iso_names": [c.name, getattr(c, "common_name", ""), getattr(c, "official_name", "")],
        }
        for c in pycountry.countries
    ]
    entries += [
        {"iso2": iso2, "iso3": row["iso3"], "iso": row["iso"], "iso_names": [row["country"]]}
        for iso2, row in overrides.items()
        if pycountry.countries.get(alpha_2=iso2) is None
    ]
    rows = []
    for entry in entries:
        override = overrides.get(entry["iso2"], {})
        names = [n for n in entry["iso_names"] if n]
        name = override.get("country") or next(
            (acled_by_name[fold(n)] for n in names if fold(n) in acled_by_name), None
        )
        if name is None:
            raise SystemExit(f"{entry['iso2']} ({names[0]}): no ACLED name; add it to country_overrides.csv")
        region = override.get("region") or acled.get(name)
        if not region:
            raise SystemExit(f"{entry['iso2']} ({name}): no region; add it to country_overrides.csv")
        others = [*names, geomap_names.get(entry["iso2"], "")]
        aliases = sorted({n for n in others if n and fold(n) != fold(name)}, key=fold)
        rows.append(
            {
                "iso": entry["iso"],
                "iso2": entry["iso2"],
                "iso3": entry["iso3"],
                "country": name,
                "region": region,
                "names": "|".join(aliases),
            }
        )
    unused = set(acled) - {row["country"] for row in rows}
    if unused:
        raise SystemExit(f"ACLED countries matched by no ISO entry: {sorted(unused)}")
    return sorted(rows, key=lambda row: row["iso2"])


def main() -> None:
    rows = build()
    with (HERE / "countries.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} countries -> {HERE / 'countries.csv'}")


if __name__ == "__main__":
    main()
