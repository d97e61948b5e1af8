"""Who took part: armed actors named by a force noun and a nationality ("les forces arméniennes").

The force nouns and the words that make a force peacekeepers come from the lexicon
(``forces.toml``); nationality adjectives from the gazetteer's ``demonyms.csv``.
"""

from __future__ import annotations

import re
import unicodedata

from geomap.gazetteer import Gazetteer
from geomap.lexicon import load
from geomap.models import Place

_LEXICON = load()
FORCE_NOUNS = _LEXICON["forces.force"].alternation()
_PEACEKEEPING = tuple(w.lower() for w in _LEXICON["forces.peacekeeper"].texts)
_FORCES = re.compile(FORCE_NOUNS + r"\s+([a-zéèëïôç-]+)(?:\s+([a-zéèëïôç-]+))?", re.I)


def fold(text: str) -> str:
    """Lower case without accents: how nationality adjectives are looked up."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def load_demonyms(gazetteer: Gazetteer) -> dict[str, Place]:
    """French nationality adjectives (masculine and feminine, singular and plural) -> country."""
    from geomap.gazetteer import data_dir

    table: dict[str, Place] = {}
    path = data_dir() / "demonyms.csv"
    if not path.exists():
        return table
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if not line.strip():
            continue
        iso2, forms = line.split(",", 1)
        place = gazetteer.places.get(f"country-{iso2.strip().lower()}")
        if place:
            for form in forms.split("|"):
                table[fold(form.strip())] = place
    return table


def actors_of(sentence: str, demonyms: dict[str, Place]) -> tuple[str, ...]:
    """Armed actors named by a force noun and a nationality: "forces arméniennes" -> Armenia's forces."""
    found: list[str] = []
    for match in _FORCES.finditer(sentence):
        place = demonyms.get(fold(match.group(1))) or demonyms.get(fold(match.group(2) or ""))
        if place:
            label = f"Military Forces of {place.name}"
            if any(word in match.group(0).lower() for word in _PEACEKEEPING):
                label = f"Peacekeepers of {place.name}"
            if label not in found:
                found.append(label)
    return tuple(found)
