"""Compiled regular expressions kept across runs (geomap.patterns): the same Pattern as ``re`` builds,
served from the kept file, and ``re`` untouched whenever anything is off."""

from __future__ import annotations

import marshal
import re
from re import _compiler, _parser

import pytest
import spacy

from geomap import patterns
from geomap.patterns import kept_file, kept_patterns

# Patterns of the shapes spaCy's tokenizers compile: alternations, Unicode classes, groups, flags.
PATTERNS = [
    (r"(?iu)^(?:a[\-‐]t[\-‐]elle|aujourd'hui|[A-ZÀ-Ý][a-zà-ÿ]+(?:-[A-ZÀ-Ý][a-zà-ÿ]+)+)$", 0),
    (r"(?P<day>\d{1,2})\s+(?P<month>janvier|février|mars)\s+(?P<year>\d{4})", re.IGNORECASE),
    (r"^[\[\(«‹\"'“]|[\.,;:!?…]+$", 0),
    (r"(?x) \b (?:l|d|qu|j|n|s|c)['’] (?=\w)  # elisions", 0),
    (
        "|".join(
            f"(?:{w}-\\w+)"
            for w in ("anti", "arrière", "avant", "contre", "demi", "extra", "mi", "non", "semi")
        ),
        re.U,
    ),
]
TEXTS = [
    "Saint-Jean-de-Luz",
    "aujourd'hui",
    "a-t-elle",
    "12 mars 2024",
    "« Bonjour",
    "fin…",
    "l'Arménie",
    "anti-char",
]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOMAP_CACHE_DIR", str(tmp_path))
    re.purge()  # re's own in-process cache would answer before the compiler is asked
    yield tmp_path
    re.purge()


def compile_all(name: str = "test") -> list[re.Pattern]:
    re.purge()
    with kept_patterns(name):
        return [re.compile(p, f) for p, f in PATTERNS]


def fresh() -> list[re.Pattern]:
    """What ``re`` builds without this module (Pattern equality compares flags and the program)."""
    return [_compiler.compile(p, f) for p, f in PATTERNS]


def parses(monkeypatch) -> list[str]:
    """The patterns ``re``'s parser is asked to read from now on."""
    seen: list[str] = []
    parse = _parser.parse

    def counting(source, flags=0, *args):
        seen.append(source)
        return parse(source, flags, *args)

    monkeypatch.setattr(_parser, "parse", counting)
    return seen


def test_supported_on_this_interpreter():
    assert patterns.supported()


def test_a_pattern_compiled_again_comes_from_the_kept_program(cache, monkeypatch):
    first = compile_all()
    assert kept_file("test").is_file()
    seen = parses(monkeypatch)
    second = compile_all()
    assert seen == []  # nothing parsed: every program came from the file
    assert second == first == fresh()
    for a, b in zip(first, second, strict=True):
        assert (a.pattern, a.flags, a.groups, a.groupindex) == (b.pattern, b.flags, b.groups, b.groupindex)
        for text in TEXTS:
            assert [m.span() for m in a.finditer(text)] == [m.span() for m in b.finditer(text)]
            assert (a.match(text) and a.match(text).groupdict()) == (
                b.match(text) and b.match(text).groupdict()
            )


def test_outside_the_block_re_compiles_as_usual(cache, monkeypatch):
    compile_all()
    original = _compiler.compile
    with pytest.raises(KeyError), kept_patterns("test"):
        assert _compiler.compile is not original
        raise KeyError("an error inside the block")
    assert _compiler.compile is original and _compiler._sre is patterns._sre
    seen = parses(monkeypatch)
    re.purge()
    re.compile(*PATTERNS[0])
    assert seen == [PATTERNS[0][0]]


def resigned(change):
    """A damage that keeps the file's digest right: the programs' own checks must catch it."""

    def damage(data: bytes) -> bytes:
        kept = marshal.loads(data[patterns.DIGEST_SIZE :])
        return patterns.dumps(change(kept))

    return damage


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: b"not marshal at all",
        lambda data: data[:-5] + bytes([data[-5] ^ 1]) + data[-4:],  # one bit flipped
        lambda data: data[: patterns.DIGEST_SIZE] + marshal.dumps(["a", "list"]),
        resigned(lambda kept: ["a", "list"]),
        lambda data: marshal.dumps(
            {**marshal.loads(data[patterns.DIGEST_SIZE :]), "interpreter": "another python"}
        ),
        resigned(
            lambda kept: {k: (v[0], b"\xff\xff\x00\x00" * 3, *v[2:]) for k, v in kept["programs"].items()}
        ),
    ],
    ids=[
        "truncated",
        "garbage",
        "bit-flipped",
        "unsigned",
        "wrong-shape",
        "other-interpreter",
        "refused-code",
    ],
)
def test_a_damaged_or_foreign_file_means_compiling_as_usual(cache, monkeypatch, damage):
    compile_all()
    path = kept_file("test")
    path.write_bytes(damage(path.read_bytes()))
    seen = parses(monkeypatch)
    assert compile_all() == fresh()
    assert len(seen) >= len(PATTERNS)  # compiled again (fresh() parses too)
    kept = marshal.loads(path.read_bytes()[patterns.DIGEST_SIZE :])  # and kept again, whole
    assert kept["interpreter"] == patterns.interpreter() and len(kept["programs"]) == len(PATTERNS)


def test_the_file_holds_the_patterns_of_the_last_block_and_is_rewritten_only_when_they_change(cache):
    compile_all()
    path = kept_file("test")
    stamp = path.stat().st_mtime_ns
    compile_all()
    assert path.stat().st_mtime_ns == stamp  # nothing new: not rewritten
    re.purge()
    with kept_patterns("test"):
        re.compile(*PATTERNS[0])
        re.compile(r"un motif (nouveau)", 0)
    programs = marshal.loads(path.read_bytes()[patterns.DIGEST_SIZE :])["programs"]
    assert len(programs) == 2  # the block's two patterns: the others dropped out


def test_bytes_and_debug_patterns_pass_through(cache, capsys):
    with kept_patterns("test"):
        assert re.compile(rb"\d+").match(b"42")
        re.compile(r"a|b", re.DEBUG)
    assert "LITERAL" in capsys.readouterr().out  # re's own debug listing
    assert not kept_file("test").exists()  # neither is kept


def test_an_unwritable_cache_still_compiles(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GEOMAP_CACHE_DIR", str(blocked))
    assert compile_all() == fresh()


def test_spacys_french_tokenizer_from_kept_programs_is_the_same(cache):
    """A French tokenizer built in a second block (its prefix, suffix, infix and URL patterns served
    from the kept programs) holds the patterns spaCy compiles, and splits text the same way."""
    text = "L'armée a-t-elle tiré sur Saint-Jean-de-Luz (Pyrénées) ? « Non », dit-il : https://ex.fr/a-b."
    with kept_patterns("spacy-test"):
        first = spacy.blank("fr")
    re.purge()
    with kept_patterns("spacy-test"):
        second = spacy.blank("fr")
    assert len(marshal.loads(kept_file("spacy-test").read_bytes()[patterns.DIGEST_SIZE :])["programs"]) >= 3
    for attribute in ("prefix_search", "suffix_search", "infix_finditer", "url_match"):
        kept = getattr(second.tokenizer, attribute).__self__
        assert kept == _compiler.compile(kept.pattern, kept.flags & ~re.UNICODE)
    assert [t.text for t in second(text)] == [t.text for t in first(text)]
