"""Every lexicon entry against its own example sentences, and the loader's validation.

One test per entry (ids ``file:entry``): its positive sentences must show what the entry does, its
negative ones what it must not do, as ``geomap.lexicon`` defines per list. An example marked
``xfail`` in the data is one the current rules get wrong: the test expects it to fail, and fails
when it passes (remove the mark then). Examples are written for this test, not taken from any
article used for evaluation.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from geomap import context, extract, locating
from geomap.actors import actors_of, load_demonyms
from geomap.casualties import casualties
from geomap.dates import event_date
from geomap.gazetteer import Gazetteer
from geomap.ingest import normalise_for_nlp
from geomap.lexicon import (
    LEXICON_DIR,
    Entry,
    Example,
    LexiconError,
    TriggerRule,
    languages,
    load,
    pack_list,
    unmark,
)
from geomap.models import Article, Place
from geomap.pipeline import Pipeline
from geomap.triggers import EVENT_RULES, event_rules, first_event

LEXICON = load()
ENTRIES = [(language, *entry) for language in languages() for entry in load(language).entries()]
PUBLISHED = dt.date(2024, 3, 14)
DATES_PUBLISHED = dt.date(2022, 9, 16)  # a Friday: what the dates lists' examples are read against
HEADLINE = "Kherson bombardée"  # what the furniture list's example lines are read after


@pytest.fixture(scope="module")
def demonyms(gazetteer: Gazetteer) -> Callable[[str], dict[str, Place]]:
    tables = {language: load_demonyms(gazetteer, language) for language in languages()}
    return tables.__getitem__


# --- what an example asserts, list by list (see geomap.lexicon's docstring) -------------------


def _around(text: str) -> tuple[str, str, str]:
    """A marked example as the locating rules read it: the plain sentence, the text before the
    bracketed name (in its sentence, at most CONTEXT_CHARS) and the text after it."""
    plain, start, end = unmark(text)
    plain = normalise_for_nlp(plain)
    before = plain[max(0, start - locating.CONTEXT_CHARS) : start]
    return plain, before, plain[end : end + locating.CONTEXT_CHARS]


def _tokens(pipeline: Pipeline, text: str, language: str) -> tuple[extract.Tokens, int, int]:
    """A marked example tokenised as the extractor reads it, and the bracketed name's token range."""
    plain, start, end = unmark(text)
    doc = pipeline.extractor.pipeline(language).make_doc(extract.nlp_text(plain))
    span = doc.char_span(start, end)
    assert span is not None, f"the [name] of {text!r} does not fall on token boundaries"
    return extract.Tokens(doc, language=language), span.start, span.end


def _cued_at(pipeline: Pipeline, text: str, language: str) -> bool:
    tokens, start, _ = _tokens(pipeline, text, language)
    return any(s == start for s, _ in extract.cued_names(tokens, set()))


def _blocked_by_title(pipeline: Pipeline, text: str, language: str) -> bool:
    tokens, start, _ = _tokens(pipeline, text, language)
    return all(s != start for s, _ in extract.proper_names(tokens, set()))


def _stripped(pipeline: Pipeline, text: str, language: str) -> bool:
    tokens, start, end = _tokens(pipeline, text, language)
    return extract.strip_determiners(tokens, start, end)[0] != start


def _look_alike(pipeline: Pipeline, text: str, language: str) -> bool:
    tokens, start, end = _tokens(pipeline, text, language)
    return extract.is_look_alike(tokens, start, end)


def _cue(kind: str) -> Callable[[Pipeline, str, str], bool]:
    def probe(pipeline: Pipeline, text: str, language: str) -> bool:
        tokens, start, _ = _tokens(pipeline, text, language)
        return getattr(extract.cues_before(tokens, start), kind)

    return probe


def _has_figure(text: str, language: str) -> bool:
    return casualties(text, language=language) != (None, None)


def _grammar_probe(entry: Entry, kind: str) -> Callable[[Example, bool], str | None]:
    """The bracketed words are the entry's: its word, or a full match of its pattern."""
    pattern = re.compile(entry.text if kind == "pattern" else re.escape(entry.text), re.I)

    def probe(example: Example, expected: bool) -> str | None:
        plain, start, end = unmark(example.text)
        found = bool(pattern.fullmatch(plain[start:end]))
        side = "positive" if expected else "negative"
        return None if found == expected else f"{side}: [{plain[start:end]}] in {example.text!r}"

    return probe


def _furniture_probe(entry: Entry) -> Callable[[Example, bool], str | None]:
    """The lede reader (``context.lede``, after a headline) drops a positive line, which opens with
    the entry's word, and keeps a negative one. Every example line is long enough to be copy
    (``LEDE_MIN_WORDS``) and one sentence, so that only its opening word decides."""
    own = re.compile(re.escape(entry.text), re.I)

    def probe(example: Example, expected: bool) -> str | None:
        plain, start, end = unmark(example.text)
        side = "positive" if expected else "negative"
        if plain[:start].strip():
            return f"{side}: the [word] does not open the line {example.text!r}"
        if expected and not own.fullmatch(plain[start:end]):
            return f"positive: [{plain[start:end]}] is not the entry's word in {example.text!r}"
        if len(plain.split()) < context.LEDE_MIN_WORDS:
            return f"{side}: too short to be copy, dropped whatever its words: {example.text!r}"
        kept = context.lede(plain, title=HEADLINE).splitlines()[1:]
        if kept not in ([], [" ".join(plain.split())]):
            return f"{side}: the lede reader reads {kept} in {example.text!r}, not one line"
        verdict = "keeps" if kept else "drops"
        return None if (not kept) == expected else f"{side}: the lede reader {verdict} {example.text!r}"

    return probe


def _dates_probe(entry: Entry, name: str, language: str) -> Callable[[Example, bool], str | None]:
    """What a dates list's examples assert (see geomap.lexicon), read against :data:`DATES_PUBLISHED`."""

    def shows(date: dt.date | None, precision: str) -> bool:
        if name in ("month", "month_abbreviation"):
            return date is not None and date.month == entry.value
        if name == "weekday":
            return date is not None and date.weekday() == entry.value
        if name in ("relative", "week"):
            return date is not None and (DATES_PUBLISHED - date).days == entry.value
        if name == "ago":
            return date is not None and (DATES_PUBLISHED - date).days % (entry.value or 1) == 0
        if name in ("future_after", "future_before"):
            return date is None
        if name == "month_cue":
            return date is not None and precision == "month"
        if name in ("day_suffix", "day_joiner"):
            return date is not None and precision == "day"
        return date is not None  # number

    def probe(example: Example, expected: bool) -> str | None:
        date, precision = event_date(example.text, DATES_PUBLISHED, language=language)
        side = "positive" if expected else "negative"
        found = date is not None if name == "ago" and not expected else shows(date, precision)
        return None if found == expected else f"{side}: {date} ({precision}) in {example.text!r}"

    return probe


# Each probe answers "does the entry's effect happen in this sentence?": True for a positive one.
TEXT_PROBES: dict[str, Callable[[str, str], bool]] = {
    "actor_verbs": lambda text, lang: locating.acts(_around(text)[2], language=lang),
    "actor_cues": lambda text, lang: locating.actor_cue_before(_around(text)[1], language=lang),
    "seats": lambda text, lang: locating.seat_before(_around(text)[1], language=lang),
    "scene_cues": lambda text, lang: locating.locative_before(_around(text)[1], language=lang),
    "event_nouns": lambda text, lang: locating.locative_before(_around(text)[1], language=lang),
    "agent_nouns": lambda text, lang: locating.agent_noun_before(_around(text)[1], language=lang),
    "diplomacy": lambda text, lang: locating.about_talks(text, language=lang),
    "casualties": _has_figure,  # every list of the file but ``number`` (its own probe)
}
TOKEN_PROBES: dict[str, Callable[[Pipeline, str, str], bool]] = {
    "determiners": _stripped,
    "articles": _cue("locative"),
    "named_after": _look_alike,
    "quoted_org_nouns": _look_alike,
    "locative_cues": _cue("locative"),
    "weak_cues": _cue("weak"),
    "area_words": _cue("area"),
    "place_prepositions": _cued_at,
    "person_titles": _blocked_by_title,
}


def _failures(
    entry: Entry, probe: Callable[[Example, bool], str | None]
) -> tuple[list[str], list[tuple[Example, str | None]]]:
    """The unexpected failures of the entry's examples, and how its xfail examples fared."""
    unexpected, marked = [], []
    for expected, examples in ((True, entry.positive), (False, entry.negative)):
        for example in examples:
            problem = probe(example, expected)
            if example.xfail:
                marked.append((example, problem))
            elif problem:
                unexpected.append(problem)
    return unexpected, marked


def _judge(entry: Entry, probe: Callable[[Example, bool], str | None]) -> None:
    unexpected, marked = _failures(entry, probe)
    assert not unexpected, "\n".join(unexpected)
    passing = [e.text for e, problem in marked if problem is None]
    assert not passing, f"xfail examples now pass (remove their mark): {passing}"
    if marked:
        pytest.xfail("; ".join(sorted({e.xfail or "" for e, _ in marked})))


def _boolean(check: Callable[[str], bool]) -> Callable[[Example, bool], str | None]:
    def probe(example: Example, expected: bool) -> str | None:
        found = check(example.text)
        side = "positive" if expected else "negative"
        return None if found == expected else f"{side} example gives {found}: {example.text!r}"

    return probe


def _document(pipeline: Pipeline, text: str, language: str):  # -> DocumentResult
    article = Article(id="lexicon", text=text, date=PUBLISHED, language=language)
    return next(pipeline.documents([article]))


def _trigger_probe(
    pipeline: Pipeline, rule: TriggerRule, entry: Entry, language: str
) -> Callable[[Example, bool], str | None]:
    own = re.compile(r"\b(?:" + entry.text + ")", re.I)

    def probe(example: Example, expected: bool) -> str | None:
        text = example.text
        result = _document(pipeline, text, language)
        types = sorted({i.sub_event_type for i in result.incidents})
        if expected:
            if not own.search(normalise_for_nlp(text)):
                return f"the pattern does not fire on {text!r}"
            first = first_event(normalise_for_nlp(text), event_rules(language))
            if first is None or first[0].id != rule.id:
                return f"typed by rule {first and first[0].id!r}, not {rule.id!r}: {text!r}"
            if rule.sub_event_type not in types:
                return f"no {rule.sub_event_type!r} incident (found {types}) in {text!r}"
            return None
        if not any(r.place is not None for r in result.resolutions):
            return f"the negative example names no place the pipeline resolves: {text!r}"
        if rule.sub_event_type in types:
            return f"a {rule.sub_event_type!r} incident in negative example {text!r}"
        return None

    return probe


def _guard_probe(pipeline: Pipeline, entry: Entry, language: str) -> Callable[[Example, bool], str | None]:
    own = re.compile(entry.text, re.I)

    def probe(example: Example, expected: bool) -> str | None:
        text = example.text
        result = _document(pipeline, text, language)
        types = sorted({i.sub_event_type for i in result.incidents})
        if not expected:
            return None if types else f"the guard blocks the real incident of {text!r}"
        plain = normalise_for_nlp(text)
        if not own.search(plain):
            return f"the guard's pattern does not fire on {text!r}"
        if first_event(plain, event_rules(language)) is None:
            return f"no trigger fires on {text!r}: nothing to guard"
        if not any(r.place is not None for r in result.resolutions):
            return f"the positive example names no place the pipeline resolves: {text!r}"
        return f"incidents {types} in guarded {text!r}" if types else None

    return probe


def _number_probe(entry: Entry, language: str) -> Callable[[Example, bool], str | None]:
    def probe(example: Example, expected: bool) -> str | None:
        figures = casualties(example.text, language=language)
        found = entry.value in figures
        side = "positive" if expected else "negative"
        return None if found == expected else f"{side}: {figures} in {example.text!r}"

    return probe


def _forces_probe(
    demonyms: dict[str, Place], language: str, *, peacekeepers: bool
) -> Callable[[Example, bool], str | None]:
    def probe(example: Example, expected: bool) -> str | None:
        actors = actors_of(example.text, demonyms, language=language)
        found = any(a.startswith("Peacekeepers") for a in actors) if peacekeepers else bool(actors)
        side = "positive" if expected else "negative"
        return None if found == expected else f"{side}: actors {actors} in {example.text!r}"

    return probe


def _national_area_probe(demonyms: dict[str, Place], language: str) -> Callable[[Example, bool], str | None]:
    def probe(example: Example, expected: bool) -> str | None:
        found = locating.national_area(normalise_for_nlp(example.text), demonyms, language=language)
        side = "positive" if expected else "negative"
        if (found is not None) == expected:
            return None
        return f"{side}: national area {found and found.mention!r} in {example.text!r}"

    return probe


@pytest.mark.parametrize(
    ("language", "file", "name", "entry", "rule"),
    ENTRIES,
    ids=[f"{language}:{file}:{entry.id}" for language, file, _, entry, _ in ENTRIES],
)
def test_entry_examples(
    request: pytest.FixtureRequest,
    language: str,
    file: str,
    name: str,
    entry: Entry,
    rule: TriggerRule | None,
) -> None:
    """The entry's positive examples show its effect, its negative ones its absence, in the
    entry's language."""
    key = f"{file}.{name}"
    if rule is not None:
        probe = _trigger_probe(request.getfixturevalue("pipeline"), rule, entry, language)
    elif file == "guards":
        probe = _guard_probe(request.getfixturevalue("pipeline"), entry, language)
    elif key == "casualties.number":
        probe = _number_probe(entry, language)
    elif file == "forces":
        demonyms = request.getfixturevalue("demonyms")(language)
        probe = _forces_probe(demonyms, language, peacekeepers=name == "peacekeeper")
    elif file == "national_areas":
        probe = _national_area_probe(request.getfixturevalue("demonyms")(language), language)
    elif file == "dates":
        probe = _dates_probe(entry, name, language)
    elif file == "grammar":
        probe = _grammar_probe(entry, load(language)[key].kind)
    elif file == "furniture":
        probe = _furniture_probe(entry)
    elif check := TEXT_PROBES.get(key) or TEXT_PROBES.get(file):
        probe = _boolean(lambda text: check(text, language))
    else:
        pipeline = request.getfixturevalue("pipeline")
        token_probe = TOKEN_PROBES[file]
        probe = _boolean(lambda text: token_probe(pipeline, text, language))
    _judge(entry, probe)


def test_every_list_has_a_probe() -> None:
    """A new list cannot slip in without saying what its examples assert."""
    special = {"triggers.trigger", "casualties.number", "forces.force", "forces.peacekeeper"}
    special |= {"guards.before", "guards.after", "guards.sentence"}
    for key in LEXICON.lists:
        file = key.split(".")[0]
        covered = key in special or key in TEXT_PROBES or file in TEXT_PROBES or file in TOKEN_PROBES
        assert covered or file in ("national_areas", "dates", "grammar", "furniture"), key


def test_one_list_of_a_pack_reads_as_in_the_whole_pack() -> None:
    """``pack_list`` reads one file of a pack alone (the lede reader reads every pack's furniture
    without loading every pack whole): the same entries as the whole pack's, and no unknown list."""
    for language in languages():
        assert pack_list(language, "furniture.word") == load(language)["furniture.word"]
    with pytest.raises(LexiconError, match=r"no list 'furniture\.line'"):
        pack_list("fr", "furniture.line")


def test_the_rules_keep_their_order() -> None:
    """The first rule that fires names the incident: the file's orders are strictly increasing."""
    orders = [r.order for r in EVENT_RULES]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)


# --- the loader -------------------------------------------------------------------------------


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the French lexicon to break."""
    target = tmp_path / "fr"
    shutil.copytree(LEXICON_DIR / "fr", target)
    return target


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_copy_loads(copy: Path) -> None:
    assert load("fr", directory=copy).rules == LEXICON.rules


def test_an_entry_without_a_negative_example_is_refused(copy: Path) -> None:
    _replace(
        copy / "weak_cues.toml", 'examples.negative = ["Des obus sont tombés sur la route de [Kherson]."]', ""
    )
    with pytest.raises(LexiconError, match=r"weak_cues\.toml \[sur\]: no negative example"):
        load("fr", directory=copy)


def test_an_entry_without_examples_is_refused(copy: Path) -> None:
    path = copy / "diplomacy.toml"
    path.write_text(path.read_text(encoding="utf-8") + '\n[[word]]\npattern = "palabre"\n', encoding="utf-8")
    with pytest.raises(LexiconError, match=r"diplomacy\.toml \[palabre\]: examples must be a table"):
        load("fr", directory=copy)


def test_an_empty_example_list_is_refused(copy: Path) -> None:
    path = copy / "diplomacy.toml"
    extra = '\n[[word]]\npattern = "palabre"\nexamples.positive = []\nexamples.negative = ["Non."]\n'
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    with pytest.raises(LexiconError, match=r"\[palabre\]: no positive example"):
        load("fr", directory=copy)


def test_a_pattern_that_does_not_compile_is_refused(copy: Path) -> None:
    path = copy / "diplomacy.toml"
    extra = '\n[[word]]\npattern = "sommet(s"\nexamples.positive = ["A."]\nexamples.negative = ["B."]\n'
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    with pytest.raises(LexiconError, match=r"diplomacy\.toml \[sommet\(s\]: pattern does not compile"):
        load("fr", directory=copy)


def test_a_duplicate_id_is_refused(copy: Path) -> None:
    path = copy / "weak_cues.toml"
    path.write_text(path.read_text(encoding="utf-8") * 2, encoding="utf-8")
    with pytest.raises(LexiconError, match=r"weak_cues\.toml \[sur\]: duplicate id"):
        load("fr", directory=copy)


def test_a_marked_list_needs_its_name_in_brackets(copy: Path) -> None:
    _replace(copy / "weak_cues.toml", "sur [Kherson].", "sur Kherson.")
    with pytest.raises(LexiconError, match=r"\[sur\]: positive example must mark one \[name\]"):
        load("fr", directory=copy)


def test_an_example_that_is_neither_a_sentence_nor_a_marked_table_is_refused(copy: Path) -> None:
    _replace(
        copy / "weak_cues.toml",
        '["Des obus sont tombés sur [Kherson]."]',
        '[{ text = "Sur [Kherson].", why = 1 }]',
    )
    with pytest.raises(LexiconError, match=r"\[sur\]: a positive example is a sentence"):
        load("fr", directory=copy)


def test_unknown_keys_lists_and_files_are_refused(copy: Path) -> None:
    _replace(copy / "weak_cues.toml", 'word = "sur"', 'word = "sur"\nweight = 2')
    with pytest.raises(LexiconError, match=r"\[sur\]: unknown key\(s\) \['weight'\]"):
        load("fr", directory=copy)
    shutil.copytree(LEXICON_DIR / "fr", copy, dirs_exist_ok=True)
    (copy / "extra.toml").write_text("", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"unknown file\(s\): extra\.toml"):
        load("fr", directory=copy)


def test_a_missing_file_and_bad_toml_are_refused(copy: Path) -> None:
    (copy / "seats.toml").unlink()
    with pytest.raises(LexiconError, match=r"missing file\(s\): seats\.toml"):
        load("fr", directory=copy)
    shutil.copy(LEXICON_DIR / "fr" / "seats.toml", copy)
    (copy / "seats.toml").write_text("[[institution]\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"seats\.toml: cannot read"):
        load("fr", directory=copy)


def test_a_rule_order_taken_twice_is_refused(copy: Path) -> None:
    text = (copy / "triggers.toml").read_text(encoding="utf-8")
    orders = re.findall(r"^order = (\d+)$", text, flags=re.M)
    _replace(copy / "triggers.toml", f"order = {orders[1]}\n", f"order = {orders[0]}\n")
    with pytest.raises(LexiconError, match=r"triggers\.toml \[.+\]: order must be an integer no other"):
        load("fr", directory=copy)


def test_lexicon_error_is_a_geomap_value_error() -> None:
    from geomap.errors import GeomapError

    assert issubclass(LexiconError, GeomapError) and issubclass(LexiconError, ValueError)


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(LexiconError, match="no lexicon for language 'xx'"):
        load("xx")


def test_the_english_pack_has_the_french_packs_files_lists_and_rule_types() -> None:
    """English (issue #17) is read through the same data files: the loader validates it (every entry
    with examples), and it holds every list and every ACLED type the French pack does; its examples
    run through the English pipeline above."""
    english = load("en")
    assert set(english.lists) == set(LEXICON.lists)
    assert all(words.entries for words in english.lists.values())
    french_types = {(r.event_type, r.sub_event_type) for r in LEXICON.rules}
    assert {(r.event_type, r.sub_event_type) for r in english.rules} == french_types
    texts = [e.text for _, _, entry, _ in english.entries() for e in (*entry.positive, *entry.negative)]
    assert len(texts) >= 1000
    assert not any(re.search(r"\b(?:le|la|les|des|du|est|sont)\b", t) for t in texts[:200])  # English
