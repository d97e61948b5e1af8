"""Who took part: armed actors named by a force noun and a nationality ("les forces arméniennes",
"Azerbaijani troops").

The force nouns and the words that make a force peacekeepers come from the language's lexicon
(``forces.toml``); nationality adjectives from the gazetteer's ``demonyms.csv``, per language. The
adjective is read on either side of the noun: French puts it after ("les forces russes"), English
before ("Russian forces"), and neither order is read as the other in running text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from geomap.gazetteer import Gazetteer
from geomap.lexicon import DEFAULT_LANGUAGE, load
from geomap.models import Place

_ADJECTIVE = r"([^\W\d_][\w'-]*)"


@dataclass(frozen=True, slots=True)
class _Forces:
    """One language's force phrases: adjectives before the noun (groups 1, 2: "Iraqi Shiite militias")
    or after it (3, 4: "les forces russes")."""

    pattern: re.Pattern[str]
    peacekeeping: tuple[str, ...]  # lower case


@cache
def _forces(language: str) -> _Forces:
    lexicon = load(language)
    noun = lexicon["forces.force"].alternation()
    before, after = rf"(?:{_ADJECTIVE}\s+)?" * 2, rf"(?:\s+{_ADJECTIVE}(?:\s+{_ADJECTIVE})?)?"
    pattern = rf"{before}\b{noun}(?!\w){after}"
    return _Forces(re.compile(pattern, re.I), tuple(w.lower() for w in lexicon["forces.peacekeeper"].texts))


def fold(text: str) -> str:
    """Lower case without accents: how nationality adjectives are looked up."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def load_demonyms(gazetteer: Gazetteer, language: str = DEFAULT_LANGUAGE) -> dict[str, Place]:
    """Nationality adjectives of ``language`` (all their written forms, folded) -> country."""
    from geomap.gazetteer import data_dir

    table: dict[str, Place] = {}
    path = data_dir() / "demonyms.csv"
    if not path.exists():
        return table
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if not line.strip():
            continue
        iso2, lang, forms = line.split(",", 2)
        place = gazetteer.places.get(f"country-{iso2.strip().lower()}")
        if place and lang.strip() == language:
            for form in forms.split("|"):
                table[fold(form.strip())] = place
    return table


def actors_of(
    sentence: str, demonyms: dict[str, Place], *, language: str = DEFAULT_LANGUAGE
) -> tuple[str, ...]:
    """Armed actors named by a force noun and a nationality: "forces arméniennes", "Armenian troops"
    -> Armenia's forces (``demonyms`` are those of ``language``)."""
    forces = _forces(language)
    found: list[str] = []
    for match in forces.pattern.finditer(sentence):
        adjectives = (match.group(3), match.group(4), match.group(2), match.group(1))
        place = next((demonyms[fold(a)] for a in adjectives if a and fold(a) in demonyms), None)
        if place:
            label = f"Military Forces of {place.name}"
            if any(word in match.group(0).lower() for word in forces.peacekeeping):
                label = f"Peacekeepers of {place.name}"
            if label not in found:
                found.append(label)
    return tuple(found)
