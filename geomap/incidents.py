"""Find incidents in resolved articles: what happened, where, when, to whom, with the evidence.

A sentence reports an incident when it holds an event trigger (affrontements, bombardements, frappe
de drone, franchir la frontière, cessez-le-feu, blocus...). The incident is placed at the place where
it happened, read from the sentence's wording ("à Lachin", "dans la région de Karakilise", "le long
de la frontière", "le territoire arménien"), never at a capital or a country that only speaks or
accuses ("Bakou a rejeté", "le ministère de la Défense à Erevan"). Types follow ACLED's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from spacy.tokens import Span

from geomap.dates import article_date, incident_date
from geomap.gazetteer import Gazetteer
from geomap.ingest import normalise_for_nlp
from geomap.models import Article, Incident, Place, Resolution


@dataclass(frozen=True, slots=True)
class EventRule:
    """A trigger pattern and the ACLED-style type it signals."""

    event_type: str
    sub_event_type: str
    pattern: re.Pattern[str]


def _rule(event_type: str, sub_event_type: str, *words: str) -> EventRule:
    return EventRule(event_type, sub_event_type, re.compile(r"\b(?:" + "|".join(words) + r")", re.I))


# Ordered: the first rule that fires names the incident; more specific rules come first.
EVENT_RULES: tuple[EventRule, ...] = (
    _rule(
        "Strategic developments",
        "Ceasefire/agreement",
        r"(?:affrontements?|combats?|tirs|hostilités) (?:ont|avaient) cessé",
        r"fin des (?:combats|hostilités)",
    ),
    _rule(
        "Strategic developments",
        "Ceasefire violation",
        r"violations? (?:du|de la|des|de l'|d'un) (?:cessez-le-feu|trêve)",
        r"(?:violé|viole|violent|violer|rompu) (?:le|la|un|une|les) (?:cessez-le-feu|trêve)",
    ),
    _rule(
        "Explosions/Remote violence",
        "Air/drone strike",
        r"frappes? (?:aériennes?|de drones?|par drones?)",
        r"drones?\b",
        r"raids? aériens?",
        r"bombardements? aériens?",
        r"attaques? (?:de|par) drones?",
    ),
    _rule(
        "Explosions/Remote violence",
        "Shelling/artillery/missile attack",
        r"bombardements?",
        r"bombardé",
        r"pilonn",
        r"tirs? d'artillerie",
        r"obus",
        r"roquettes?",
        r"missiles?",
        r"mortiers?",
        r"artillerie",
        r"tirs? de (?:lance-roquettes|mortier)",
    ),
    _rule(
        "Violence against civilians",
        "Attack on civilians",
        r"(?:attaques?|tirs?|frappes?|bombardements?) [^.]{0,60}contre (?:des|les) (?:civils|populations?)",
        r"(?:civils?|habitants?) (?:ont été |a été )?(?:tués?|blessés?|visés?|pris pour cible)",
    ),
    _rule(
        "Battles",
        "Armed clash",
        r"affrontements?",
        r"combats?",
        r"heurts?",
        r"escarmouches?",
        r"accrochages?",
        r"fusillades?",
        r"échanges? de tirs",
        r"échangé des (?:coups de feu|tirs)",
        r"coups de feu",
        r"bataille",
        r"offensive",
        r"assaut",
        r"hostilités",
        r"opération (?:militaire|de choc)",
        r"tirs",
        r"ouvert le feu",
        r"ouvrant le feu",
        r"tir(?:é|ée|és|ent|aient|ait|ant) (?:sur|contre|vers|en direction)",
        r"provocations? armées?",
        r"actions? de provocation",
        r"attaques?",
        r"attaqué",
        r"(?:guerre|conflit)\b[^.]{0,40}\béclat",
        r"(?:tués?|blessés?)\b",
    ),
    _rule(
        "Strategic developments",
        "Border incursion/seizure of positions",
        r"franchi[rst]? (?:la|les) frontières?",
        r"franchissant la frontière",
        r"infiltrations?",
        r"incursions?",
        r"pénétr[ée]",
        r"empiètements?",
        r"(?:pris|prennent|prendre|prise) (?:des|de) positions",
        r"s'emparer",
        r"emparés?",
        r"encercl",
        r"assiég",
        r"tenter d'avancer",
        r"avancée",
        r"violer (?:ses|les|leurs) frontières",
        r"intégrité territoriale",
        r"occupé",
        r"occupation",
    ),
    _rule(
        "Strategic developments",
        "Blockade/closure",
        r"blocus",
        r"bloqu(?:é|ée|és|ées|ant|er) (?:le|la|les|l'|du)? ?(?:corridor|route|route|passage|accès)",
        r"fermeture (?:du|de la|des) (?:corridor|route|frontière|poste)",
        r"poste de contrôle",
        r"(?:corridor|route|passage|poste|point de passage)[^.]{0,40}\b(?:bloqu|fermé)",
    ),
    _rule(
        "Strategic developments",
        "Ceasefire/agreement",
        r"cessez-le-feu",
        r"trêve",
        r"armistice",
        r"accord de paix",
        r"traité de paix",
    ),
    _rule(
        "Strategic developments",
        "Displacement",
        r"déplacés",
        r"réfugiés",
        r"exode",
        r"évacu(?:é|és|ées|ation)",
        r"ont fui",
        r"fuient",
    ),
)

# Words that say a sentence is about casualties, to fill fatalities/injured.
_NUMBER_WORDS = {
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
    "vingt": 20,
    "trente": 30,
    "quarante": 40,
    "cinquante": 50,
    "soixante": 60,
    "cent": 100,
    "mille": 1000,
}
_NUMBER_WORD = "(?:" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")"
# A number has at most this many groups of three digits after the first ("1 200 000" has two) and
# this many words after the first ("deux-cent-quatre-vingt-dix-neuf-mille-neuf-cent-quatre-vingt-
# dix-neuf" has eleven). Unbounded, the patterns below tried every shorter number at every start:
# "vingt-vingt-..." or "111 111 ..." cost the square of their length (48 KB took 33 s).
MAX_DIGIT_GROUPS = 6
MAX_NUMBER_WORDS = 12
# Digits ("6 500", "49") or French number words, compounds included ("dix-huit", "vingt et un").
_NUMBER = (
    r"(?<!\w)(\d{1,3}(?:[ \u00a0\u202f.]\d{3}){1,"
    + str(MAX_DIGIT_GROUPS)
    + r"}|\d+|"
    + _NUMBER_WORD
    + r"(?:(?:-et-|-| et )"
    + _NUMBER_WORD
    + r"){0,"
    + str(MAX_NUMBER_WORDS - 1)
    + r"})(?!\w)"
)
# A casualty figure has at most this many digits: a longer one is no count of people (and would not
# fit a GeoPackage's integer column, nor, beyond 4,300 digits, even become a Python int).
MAX_COUNT_DIGITS = 9
_VICTIMS = (
    r"(?:personnes?|soldats?|militaires?|civils?|morts?|victimes?|membres?|combattants?|policiers?|"
    r"gardes?[- ]frontières?|hommes|femmes|enfants|habitants?)"
)
_KILLED = re.compile(
    r"(?:au moins |plus de |près de |environ |quelque |quelques )?"
    + _NUMBER
    + r"\s+(?:\w+\s+){0,2}?"
    + r"(?:morts?|tués?|(?:"
    + _VICTIMS
    + r"(?:\s+\w+){0,2}\s+(?:ont été |a été |sont |est |ont )?(?:tués?|morts?|décédés?)))",
    re.I,
)
_KILLED_AFTER = re.compile(
    r"(?:tué|fait)\s+(?:au moins |plus de |près de |environ )?" + _NUMBER + r"\s+" + _VICTIMS, re.I
)
_INJURED = re.compile(
    r"(?:au moins |plus de |près de |environ )?"
    + _NUMBER
    + r"\s+(?:(?!morts?\b|tués?\b|et\b)[^\W\d]+\s+){0,3}?(?:ont été |a été |sont )?blessés?",
    re.I,
)

# Speech and political acts: a place that does these is an actor, not where something happened.
_ACTOR_VERB = re.compile(
    r"^\s*(?P<aside>,[^,]{0,80},\s*)?(?:a|ont|avait|avaient|aurait|auraient|ait|aient|s'est|se sont|se|s'|"
    r"n'a|ne|n'|va|vont|doit|a-t-il|a-t-elle|est|sont|était)?\s*"
    r"(?:également |ensuite |aussi |pas |déjà |de nouveau |immédiatement |encore |toujours |officiellement |"
    r"mardi |lundi |mercredi |jeudi |vendredi |samedi |dimanche |fermement |catégoriquement )?"
    r"(?:déclar|rejet|accus|affirm|annonc|indiqu|dit|dément|condamn|négoci|propos|appel|exig|souhait|estim|"
    r"assur|répond|réagi|menac|demand|insist|soulign|qualifi|averti|nié|nie|reconn|confirm|signal|inform|"
    r"invoqu|envoy|protest|dénonc|réclam|refus|prévenu|prévient|considér|juge|salu|craint|plaid|tient|tenu|"
    r"impliqu|libér|quitt|cédé|céder|signé|perdu|retir|déploy|soutien|soutenu|préoccup|inquiet|exprim|"
    r"ordonn|décid|décrét|imposé|instaur|bloqué|présent|montr|évoqu|transfér|parrain|réclam|salu|promet|promis)",
    re.I,
)
_COORDINATED_NAME = re.compile(r"^\s*(?:et|ou|,)\s+(?:l'|la |le )?[A-ZÉÈ][\w'-]+(?:\s+[A-ZÉÈ][\w'-]+)?(?=\s)")
_INVERTED_SUBJECT = re.compile(r"\w*\s+(?:le|la|l'|les|un|une|son|sa|ses|leur|leurs|M\.|Mme)\b", re.I)
# "le ministère de la Défense à Erevan": the seat of whoever speaks, not the scene.
_SEAT_BEFORE_WORDS = (
    r"(?:ministère|ministre|gouvernement|porte-parole|ambassade|bureau|parlement|présidence|autorités|"
    r"agence|journal|correspondant|envoyé|Kremlin|état-major|commandement|conférence de presse|"
    r"basée?s?|installée?s?|établie?s?|siège|siégeant|institut|centre|organisation)"
)
_DET = r"(?:\s*(?:l'|d')|\s+(?:la|le|les|de|du|des|de la))*\s*$"
# the seat is named right after its institution: no verb and no "que" between them
_SEAT_BEFORE = re.compile(
    _SEAT_BEFORE_WORDS
    + r"(?:\s+(?!qu'|que\b|a\b|ont\b|est\b|sont\b|était\b|avait\b)[^\s.,;:]+){0,6}\s+à"
    + _DET,
    re.I,
)
_ACTOR_BEFORE = re.compile(
    r"(?:\baccus\w*|\bselon|\bd'après|\bpour|\bpar|\bministère[^.,;]{0,60}|\bgouvernement[^.,;]{0,40}|"
    r"\bporte-parole[^.,;]{0,40}|\bcommuniqué[^.,;]{0,40}|\bprésident[^.,;]{0,40}|\bdiplomatie[^.,;]{0,40}|"
    r"\bambassade[^.,;]{0,40}|\bprocureur[^.,;]{0,40}|\bentre|\bavec|\bcontre|\bà l'égard|\benvers|"
    r"\bde la part|\bheure|\bmédiation|\bassistance|\baide|\bappui|\bvictoire pour|\bdéfaite pour|"
    r"\bsoutien|\binvasion)" + _DET,
    re.I,
)
_EVENT_NOUNS = (
    r"(?:\bbombardements?|\bpilonnages?|\bblocus|\bfermeture|\bsiège|\bprise|\breprise|\bchute|"
    r"\battaques?|\bfrappes?|\bassaut|\bencerclement|\bévacuation|\blibération|\boffensive|\binvasion"
    r"|\boccupation)"
)
# "les attaques de l'Arménie": after these nouns a country is the attacker, not the scene (a town is
# the target: "les frappes de Stepanakert" is rare; "l'invasion de l'Ukraine" is a scene)
_AGENT_NOUN_BEFORE = re.compile(
    r"(?:\bbombardements?|\bpilonnages?|\battaques?|\bfrappes?|\bassaut|\boffensive|\bprise|\breprise)"
    r"(?:\s+\w+)?\s*(?:de|du|des|d')" + _DET,
    re.I,
)
_LOCATIVE_BEFORE = re.compile(
    r"(?:"
    # a preposition of place: "à Tegh", "près de Sotk", "le long de la frontière"
    r"(?:\bà|\bau|\baux|\ben|\bdans|\bsur|\bprès|\bproche|\bvers|\bautour|\ble long|\bdepuis|\bjusqu'|"
    r"\baux abords|\baux alentours|\baux environs)"
    # a place noun, maybe with an adjective: "la région contestée du Haut-Karabakh", "le village de"
    r"|(?:\bterritoires?|\bvillages?|\bville|\blocalités?|\brégions?|\bdistricts?|\bprovinces?|\bzones?|"
    r"\bsecteurs?|\bdirection|\bfrontières?|\bcôté|\bsud|\bnord|\best|\bouest|\bintérieur|\bmilieu|"
    r"\bcentre|\bpositions?|\bbastion|\benclave)(?:\s+\w+){0,2}?"
    # the object of an event noun is where it happened: "le bombardement de Stepanakert", "le blocus du
    # corridor", "la prise de Choucha" (for countries see _AGENT_NOUN_BEFORE)
    r"|" + _EVENT_NOUNS + r"(?:\s+\w+)?\s*(?:de|du|des|d')"
    # the object of an attack verb is its target: "ont visé Kharkiv", "a bombardé Stepanakert"
    r"|\b(?:visée?s?|ciblée?s?|frappée?s?|bombardée?s?|pilonnée?s?|attaquée?s?|touchée?s?|atteinte?s?|"
    r"pris pour cible|prise pour cible|encerclée?s?|assiégée?s?)"
    r")" + _DET,
    re.I,
)
# After an actor, "X, Y et Z" are actors too; after a place, "à X et (à|de) Y" are places too.
_COORDINATION = re.compile(r"^\s*(?:,|et|ou)\s*(?:à|au|en|de|d'|dans)?" + _DET, re.I)
# Talks, calls and summits: a capital named in such a sentence is the venue, not the scene.
_DIPLOMACY = re.compile(
    r"\b(?:pourparlers|négoci|médiation|sommet|réunion|rencontre|entretien|conversation|téléphon|"
    r"discussions?|consultations?|visite|accord|traité|parrain|sign|conclu|paraph)",
    re.I,
)
_DEMONYM_AREA = re.compile(
    r"\b(territoire|sol|frontière|côté|région|positions?|villages?)\s+(?P<adj>[a-zéèëïô]+)\b", re.I
)

FORCE_NOUNS = (
    r"(?:soldats de la paix|casques bleus|soldats frontaliers|gardes-frontières|forces|armée|armées|soldats|"
    r"troupes|militaires|séparatistes|unités|combattants|police|milices?)"
)

PRECISION_BY_KIND = {
    "village": 1,
    "town": 1,
    "city": 1,
    "border_post": 1,
    "bridge": 1,
    "height": 1,
    "airport": 1,
    "border_area": 2,
    "district": 2,
    "lake": 2,
    "reservoir": 2,
    "pass": 2,
    "mountain": 2,
    "river": 2,
    "corridor": 2,
    "province": 2,
}


def _fold(text: str) -> str:
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
                table[_fold(form.strip())] = place
    return table


_DIGIT_GROUPING = re.compile(r"[ \u00a0\u202f.]")
_NUMBER_WORD_SEPARATORS = re.compile(r"[- ]+")


def parse_number(text: str) -> int | None:
    """An integer from digits ("6 500") or French words ("dix-huit", "quatre-vingt-dix", "deux cents")."""
    text = text.lower().strip()
    digits = _DIGIT_GROUPING.sub("", text)
    if digits.isdigit():
        return int(digits) if len(digits) <= MAX_COUNT_DIGITS else None
    words = [w for w in _NUMBER_WORD_SEPARATORS.split(text) if w and w != "et"]
    if not words or any(w.rstrip("s") not in _NUMBER_WORDS and w not in _NUMBER_WORDS for w in words):
        return None
    total, current = 0, 0
    for word in words:
        value = _NUMBER_WORDS.get(word, _NUMBER_WORDS.get(word.rstrip("s"), 0))
        if value == 1000:
            total += max(current, 1) * 1000
            current = 0
        elif value == 100:
            current = max(current, 1) * 100
        elif value == 20 and current % 100 == 4:  # quatre-vingt(s)
            current = current - 4 + 80
        else:
            current += value
    return total + current if total + current < 10**MAX_COUNT_DIGITS else None


def casualties(sentence: str) -> tuple[int | None, int | None]:
    """Fatalities and injured a sentence reports, or None when it gives no number."""
    killed = None
    for pattern in (_KILLED, _KILLED_AFTER):
        for match in pattern.finditer(sentence):
            if "bless" in match.group(0).lower():
                continue
            value = parse_number(match.group(1))
            if value is not None:
                killed = max(killed or 0, value)
    injured = None
    for match in _INJURED.finditer(sentence):
        value = parse_number(match.group(1))
        if value is not None:
            injured = max(injured or 0, value)
    return killed, injured


_FORCES = re.compile(FORCE_NOUNS + r"\s+([a-zéèëïôç-]+)(?:\s+([a-zéèëïôç-]+))?", re.I)


def actors_of(sentence: str, demonyms: dict[str, Place]) -> tuple[str, ...]:
    """Armed actors named by a force noun and a nationality: "forces arméniennes" -> Armenia's forces."""
    found: list[str] = []
    for match in _FORCES.finditer(sentence):
        place = demonyms.get(_fold(match.group(1))) or demonyms.get(_fold(match.group(2) or ""))
        if place:
            label = f"Military Forces of {place.name}"
            if "paix" in match.group(0).lower() or "casques" in match.group(0).lower():
                label = f"Peacekeepers of {place.name}"
            if label not in found:
                found.append(label)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class _Located:
    place: Place
    mention: str
    precision: int
    weight: float


class IncidentDetector:
    """Turns one article's sentences and resolved mentions into incidents."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self.demonyms = load_demonyms(gazetteer)

    def detect(
        self, article: Article, sentences: Sequence[Span], resolutions: Sequence[Resolution]
    ) -> list[Incident]:
        """Every incident of the article, one per (type, place), with all its evidence merged."""
        published = article_date(article)
        by_sentence: dict[int, list[Resolution]] = {}
        for r in resolutions:
            if r.place is not None:
                by_sentence.setdefault(r.mention.sentence, []).append(r)
        merged: dict[tuple[str, str], Incident] = {}
        plain = _clean(article.text)  # one character for one character: slices of it are clean slices
        for index, sent in enumerate(sentences):
            raw = article.text[sent.start_char : sent.end_char]
            text = raw.strip()
            offset = sent.start_char + len(raw) - len(raw.lstrip())
            clean = plain[offset : offset + len(text)]
            mentions = by_sentence.get(index, [])
            if not mentions and self._national_area(clean) is None:
                continue  # no place to put an event at: no need to look for one
            found = self._event(clean)
            if found is None:
                continue
            rule, trigger_at = found
            places = self.locate(plain, offset, text, trigger_at, mentions)
            if not places:
                continue
            date, precision = incident_date(clean, published)
            killed, injured = casualties(clean)
            actors = actors_of(clean, self.demonyms)
            for located in places:
                incident = Incident(
                    id="",
                    doc=article.id,
                    event_type=rule.event_type,
                    sub_event_type=rule.sub_event_type,
                    place=located.place,
                    mention=located.mention,
                    geo_precision=located.precision,
                    evidence=text,
                    date=date,
                    date_precision=precision,
                    fatalities=killed,
                    injured=injured,
                    actors=actors,
                    sources=({"doc": article.id, "title": article.title, "url": article.url},),
                    confidence=round(min(0.95, 0.3 + 0.12 * located.weight), 3),
                )
                key = (rule.sub_event_type, located.place.id)
                merged[key] = _merge(merged[key], incident) if key in merged else incident
        return [_with_id(i) for i in merged.values()]

    @staticmethod
    def _event(sentence: str) -> tuple[EventRule, int] | None:
        for rule in EVENT_RULES:
            match = rule.pattern.search(sentence)
            if match:
                return rule, match.start()
        return None

    def locate(
        self, plain_text: str, offset: int, sentence: str, trigger_at: int, mentions: Sequence[Resolution]
    ) -> list[_Located]:
        """Where the sentence's event happened: the places its wording puts it at, finest first.

        ``plain_text`` is the article's text made plain by ``normalise_for_nlp`` (same offsets),
        ``sentence`` the sentence as written, starting at ``offset``.

        A mention is an *actor* when it speaks or acts ("Bakou a rejeté"), is accused or mediates
        ("accusé Bakou de", "par Moscou"), or is listed with one; it is *locative* when a preposition
        or place noun introduces it ("à Lachin", "dans la région de", "le long de la frontière") or it
        is listed with one. Countries must be locative; capitals named in talks are venues.
        """
        diplomacy = bool(_DIPLOMACY.search(sentence))
        roles: list[str] = []
        candidates: list[tuple[_Located, str]] = []
        previous_end = -1
        for r in sorted(mentions, key=lambda r: r.mention.start):
            assert r.place is not None
            before = plain_text[max(offset, r.mention.start - 80) : r.mention.start]
            after = plain_text[r.mention.end : r.mention.end + 80]
            gap = plain_text[previous_end : r.mention.start] if previous_end >= 0 else None
            acts = _acts(after) or bool(_SEAT_BEFORE.search(before))
            if r.place.kind == "country" and _AGENT_NOUN_BEFORE.search(before):
                acts = True
            if _LOCATIVE_BEFORE.search(before) and not acts:
                role = "locative"
            elif acts or _ACTOR_BEFORE.search(before):
                role = "actor"
            elif gap is not None and roles and _COORDINATION.match(gap):
                role = roles[-1]
            elif r.place.kind == "country" and _subject_position(before):
                role = "actor"
            else:
                role = "neutral"
            roles.append(role)
            previous_end = r.mention.end
            place = r.place
            if role == "actor" or place.kind in ("continent", "sea"):
                continue
            if _speaks_for_a_state(place) and role != "locative":
                continue  # countries and capitals not introduced as places are the states that act
            if diplomacy and place.kind == "city" and place.population >= 500_000:
                continue
            precision = (
                3 if place.kind in ("country", "region", "province") else PRECISION_BY_KIND.get(place.kind, 2)
            )
            if not place.country:
                precision = 3
            distance = abs((r.mention.start - offset) - trigger_at)
            weight = (2.0 if role == "locative" else 0.5) + (3 - precision) * 0.75 + r.confidence
            weight += 1.0 / (1.0 + distance / 60) - (0.5 if not place.country else 0.0)
            candidates.append((_Located(place, r.mention.text, precision, weight), role))
        located = [c for c, role in candidates if role == "locative"]
        if located:
            fine = [c for c in located if c.precision < 3]
            return _unique_places(fine) if fine else [max(located, key=lambda c: c.weight)]
        if area := self._national_area(plain_text[offset : offset + len(sentence)]):
            return [area]
        if candidates:
            return [max((c for c, _ in candidates), key=lambda c: c.weight)]
        return []

    def _national_area(self, sentence: str) -> _Located | None:
        """The country of the first national area the (plain) sentence names: "le territoire
        arménien", "les positions azerbaïdjanaises"."""
        for match in _DEMONYM_AREA.finditer(sentence):
            place = self.demonyms.get(_fold(match.group("adj")))
            if place:
                return _Located(place, match.group(0), 3, 1.0)
        return None


def _speaks_for_a_state(place: Place) -> bool:
    """Countries and big cities (capitals mostly) stand for governments unless a cue makes them places."""
    return place.kind == "country" or (place.kind == "city" and place.population >= 500_000)


def _acts(after: str) -> bool:
    """The name is the subject of a speech or political verb ("Bakou a rejeté", "Erevan, lui, accuse",
    "Washington et Paris réclamaient").

    A verb reached across a comma and followed by its own subject is an inverted report of the
    whole sentence ("près de Sotk, a annoncé le ministère"), not the name's act.
    """
    after = _COORDINATED_NAME.sub("", after, count=1)
    match = _ACTOR_VERB.match(after)
    if match is None:
        return False
    inverted = _INVERTED_SUBJECT.match(after[match.end() :])
    return not (match.group("aside") and inverted)


def _unique_places(located: list[_Located]) -> list[_Located]:
    seen: dict[str, _Located] = {}
    for c in located:
        if c.place.id not in seen or c.weight > seen[c.place.id].weight:
            seen[c.place.id] = c
    return list(seen.values())


def _clean(text: str) -> str:
    return normalise_for_nlp(text)


_CLAUSE_START_BEFORE = re.compile(
    r"(?:^|[.;:\n«»\"“”(]|\bque|\bqu'|\blorsque|\blorsqu'|\bquand|\bsi)\s*(?:(?:l'|la|le|les)\s*)?$", re.I
)


def _subject_position(before: str) -> bool:
    """A name opening its clause ("L'Arménie a accusé...", "« Les États-Unis sont..."): the doer."""
    return bool(_CLAUSE_START_BEFORE.search(before.rstrip() + " "))


# An incident's evidence grows by a sentence for each report merged into it, until it holds this
# many characters: past it, reports still add their figures and sources but no more text. Each merge
# copies and searches the evidence, so without a bound an article repeating one event (or a corpus
# reporting it thousands of times) cost the square of its length; a few hundred sentences are
# evidence enough for one record.
MAX_EVIDENCE_CHARS = 50_000


def _merge(a: Incident, b: Incident) -> Incident:
    """One incident reported twice: keep the first, add the other's evidence and fill what it lacks."""
    if len(a.evidence) >= MAX_EVIDENCE_CHARS or b.evidence in a.evidence:
        evidence = a.evidence
    else:
        evidence = f"{a.evidence} … {b.evidence}"
    return replace(
        a,
        evidence=evidence,
        date=a.date or b.date,
        date_precision=a.date_precision if a.date else b.date_precision,
        fatalities=_max_or_none(a.fatalities, b.fatalities),
        injured=_max_or_none(a.injured, b.injured),
        actors=tuple(dict.fromkeys(a.actors + b.actors)),
        sources=tuple({s["doc"]: s for s in a.sources + b.sources}.values()),
        confidence=max(a.confidence, b.confidence),
    )


def merge_reports(incidents: Iterable[Incident], *, window_days: int = 1) -> list[Incident]:
    """One record per event across articles: incidents of the same type at the same place whose
    dates are both known and at most ``window_days`` apart are merged, keeping every source and
    evidence sentence. Undated reports are merged only within their own article (by ``detect``).

    Each incident joins the earliest kept record it matches; records are found through an index by
    (type, place, date), so the work grows with the number of incidents, not with its square."""
    merged: list[Incident] = []
    by_day: dict[tuple[str, str, dt.date], list[int]] = {}
    for incident in incidents:
        if incident.date is None:
            merged.append(incident)
            continue
        near = (
            i
            for offset in range(-window_days, window_days + 1)
            for i in by_day.get(_day_key(incident, incident.date + dt.timedelta(days=offset)), ())
        )
        match = min((i for i in near if merged[i].doc != incident.doc), default=None)
        if match is None:
            by_day.setdefault(_day_key(incident, incident.date), []).append(len(merged))
            merged.append(incident)
        else:
            merged[match] = _merge(merged[match], incident)  # a dated record keeps its date
    return merged


def _day_key(incident: Incident, day: dt.date) -> tuple[str, str, dt.date]:
    return (incident.sub_event_type, incident.place.id, day)


def _max_or_none(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _with_id(incident: Incident) -> Incident:
    digest = hashlib.sha1(
        f"{incident.doc}|{incident.sub_event_type}|{incident.place.id}".encode()
    ).hexdigest()
    return replace(incident, id=digest[:12])
