"""Theatres: the borders geomap measures zones from, and how their maps are framed, as data.

A theatre profile is a small TOML file (``geomap/theatres/<name>.toml``, or any file given by path)
naming the borders to measure from (pairs of ISO 3166-1 alpha-2 codes, several allowed), the metric
CRS (a PROJ string, or ``"auto"``: an azimuthal equidistant projection centred on the borders), the
default zone bands, the map's extent and the countries whose outlines the basemap draws (see
``geomap/theatres/russia-ukraine.toml``)::

    title = "..."
    borders = ["XX:YY", "XX:ZZ"]  # ISO codes; the first country's units come first in sector names
    crs = "auto"
    zones_km = [10, 25, 50]
    extent = [22.0, 44.0, 41.0, 53.0]  # west, south, east, north
    countries = ["XX", "YY", "ZZ", "WW"]

``--theatre NAME|FILE`` picks one, ``--border AM:AZ`` alone is enough (a shipped profile with the same
borders is used when there is one), and with neither geomap derives the borders from the countries
where the incidents are (:func:`derive`). Nothing here knows any country: the codes live in the profiles.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from geomap.errors import GeomapError

PROFILE_DIR = Path(__file__).resolve().parent / "theatres"
DEFAULT_ZONES_KM = (5.0, 10.0, 20.0)
#: A country takes part in a derived theatre when it holds at least this share of the located incidents.
DERIVED_SHARE = 0.1
_CODE = re.compile(r"[A-Z]{2}")


class TheatreError(GeomapError, ValueError):
    """A theatre profile or a border that cannot be read; the message names it and the problem."""


@dataclass(frozen=True, slots=True)
class Border:
    """The border between two countries (ISO 3166-1 alpha-2); the first one's units come first in
    sector names ("Syunik–Zangilan" on AM:AZ)."""

    first: str
    second: str

    @classmethod
    def parse(cls, text: str) -> Border:
        """``"AM:AZ"`` (case and spaces do not matter)."""
        parts = [p.strip().upper() for p in text.split(":")]
        if len(parts) != 2 or not all(_CODE.fullmatch(p) for p in parts):
            raise TheatreError(f"border {text!r}: expected two ISO country codes as AM:AZ")
        if parts[0] == parts[1]:
            raise TheatreError(f"border {text!r}: a country has no border with itself")
        return cls(parts[0], parts[1])

    @property
    def countries(self) -> frozenset[str]:
        return frozenset((self.first, self.second))

    def __str__(self) -> str:
        return f"{self.first}:{self.second}"


def parse_borders(text: str) -> tuple[Border, ...]:
    """``"UA:RU,UA:BY"``: one or more borders, comma-separated; a border named twice is one."""
    borders: list[Border] = []
    for part in text.split(","):
        if part.strip():
            border = Border.parse(part)
            if all(b.countries != border.countries for b in borders):
                borders.append(border)
    if not borders:
        raise TheatreError(f"borders {text!r}: no border given")
    return tuple(borders)


@dataclass(frozen=True, slots=True)
class Theatre:
    """The borders zones are measured from and the framing of the maps (see the module's docstring)."""

    name: str
    title: str
    borders: tuple[Border, ...]
    crs: str | None = None  # a PROJ string; None: an azimuthal equidistant projection on the borders
    zones_km: tuple[float, ...] = DEFAULT_ZONES_KM
    extent: tuple[float, float, float, float] | None = None  # west, south, east, north; None: the borders'
    countries: tuple[str, ...] = field(default=())  # whose outlines the basemap draws

    @property
    def border_countries(self) -> tuple[str, ...]:
        """The countries on either side of the borders, in the order the profile names them."""
        return tuple(dict.fromkeys(code for b in self.borders for code in (b.first, b.second)))

    @property
    def map_countries(self) -> tuple[str, ...]:
        """The border countries, then the profile's other countries."""
        return tuple(dict.fromkeys((*self.border_countries, *self.countries)))

    def same_borders(self, borders: Iterable[Border]) -> bool:
        """Whether ``borders`` are this theatre's, whatever their order and direction."""
        return {b.countries for b in borders} == {b.countries for b in self.borders}


def _field(data: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...], default: Any = None):
    value = data.get(key, default)
    if value is not None and not isinstance(value, kind):
        raise TheatreError(f"{where}: '{key}' has the wrong type ({type(value).__name__})")
    return value


def _numbers(value: Any, where: str, key: str, count: int | None = None) -> tuple[float, ...]:
    if not isinstance(value, list) or not all(isinstance(v, int | float) for v in value):
        raise TheatreError(f"{where}: '{key}' must be a list of numbers")
    if count is not None and len(value) != count:
        raise TheatreError(f"{where}: '{key}' needs {count} numbers")
    return tuple(float(v) for v in value)


def theatre_from_mapping(data: Mapping[str, Any], *, name: str, where: str) -> Theatre:
    """A theatre from a profile's parsed TOML; ``where`` names the file in error messages."""
    unknown = set(data) - {"title", "borders", "crs", "zones_km", "extent", "countries"}
    if unknown:
        raise TheatreError(f"{where}: unknown keys {sorted(unknown)}")
    borders = _field(data, "borders", where, list)
    if not borders or not all(isinstance(b, str) for b in borders):
        raise TheatreError(f"{where}: 'borders' must list at least one border as \"AM:AZ\"")
    try:
        parsed = parse_borders(",".join(borders))
    except TheatreError as error:
        raise TheatreError(f"{where}: {error}") from None
    crs = _field(data, "crs", where, str, "auto")
    extent = data.get("extent")
    zones = data.get("zones_km")
    countries = _field(data, "countries", where, list, [])
    if not all(isinstance(c, str) and _CODE.fullmatch(c) for c in countries):
        raise TheatreError(f"{where}: 'countries' must list ISO codes such as \"AM\"")
    theatre = Theatre(
        name=name,
        title=_field(data, "title", where, str) or name,
        borders=parsed,
        crs=None if crs == "auto" else crs,
        zones_km=_numbers(zones, where, "zones_km") if zones is not None else DEFAULT_ZONES_KM,
        extent=_numbers(extent, where, "extent", 4) if extent is not None else None,  # type: ignore[arg-type]
        countries=tuple(countries),
    )
    if theatre.extent is not None:
        west, south, east, north = theatre.extent
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise TheatreError(f"{where}: 'extent' must be west, south, east, north in degrees")
    return theatre


def load(path: Path) -> Theatre:
    """The theatre profile in ``path``; a missing or invalid file raises :class:`TheatreError`."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise TheatreError(f"{path}: cannot read the theatre profile: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise TheatreError(f"{path}: not a TOML theatre profile: {error}") from error
    return theatre_from_mapping(data, name=path.stem, where=str(path))


@cache
def shipped() -> dict[str, Theatre]:
    """The profiles that ship with geomap, by name."""
    return {path.stem: load(path) for path in sorted(PROFILE_DIR.glob("*.toml"))}


def named(name_or_file: str) -> Theatre:
    """The shipped profile of that name, or the profile file at that path."""
    if name_or_file in shipped():
        return shipped()[name_or_file]
    path = Path(name_or_file)
    if path.suffix == ".toml" or path.exists():
        return load(path)
    raise TheatreError(f"theatre {name_or_file!r}: no such profile (shipped: {', '.join(shipped())})")


def for_borders(borders: Iterable[Border]) -> Theatre:
    """The shipped profile with exactly these borders, else a theatre of its own for them."""
    borders = tuple(borders)
    for theatre in shipped().values():
        if theatre.same_borders(borders):
            return theatre
    name = "-".join(str(b).replace(":", "-").lower() for b in borders)
    return Theatre(name=name, title=code_title(borders), borders=borders)


def code_title(borders: Iterable[Border], names: Mapping[str, str] | None = None) -> str:
    """A title for borders no profile names: "ML–NE, ML–BF", or with ``names`` (ISO code to
    country name) "Mali–Niger, Mali–Burkina Faso"."""
    names = names or {}
    return ", ".join(f"{names.get(b.first, b.first)}–{names.get(b.second, b.second)}" for b in borders)


def derive(
    counts: Mapping[str, int], neighbours: Callable[[str, str], bool], *, share: float = DERIVED_SHARE
) -> Theatre | None:
    """The theatre of incidents in these countries (``counts``: incidents per country): the borders
    between every two neighbouring countries that each hold at least ``share`` of the incidents,
    the busiest country first; a shipped profile whose borders are all among them is preferred
    (the one covering most incidents). Incidents in one country only take the shipped profile that
    has it on a border. None when neither is found."""
    total = sum(counts.values())
    if not total:
        return None
    ranked = sorted((c for c, n in counts.items() if n >= share * total), key=lambda c: (-counts[c], c))
    pairs = [Border(a, b) for i, a in enumerate(ranked) for b in ranked[i + 1 :] if neighbours(a, b)]
    if not pairs:
        return next((t for t in shipped().values() if ranked and ranked[0] in t.border_countries), None)
    found = {p.countries for p in pairs}
    fitting = [t for t in shipped().values() if all(b.countries in found for b in t.borders)]
    if fitting:
        return max(fitting, key=lambda t: (sum(counts.get(c, 0) for c in t.border_countries), t.name))
    return for_borders(pairs)
