"""Which language an article is written in: the page's own word first, else a detector.

geomap reads French; an English or Russian article must be named and skipped, never processed as
French. :func:`detect` answers with an ISO 639-1 code ("fr", "en", "ru"...) or None when it cannot
tell (a place name alone, a date, a word or two).

The detector is py3langid (a maintained fork of langid.py, by trafilatura's author), restricted to
:data:`LANGUAGES`. It was chosen over lingua-language-detector on short news texts with border place
names (``tests/fixtures/language/short_news.tsv``, compared by ``compare_detectors.py`` there):
py3langid got 191 of 192 right, lingua 189 (high-accuracy mode) or 185 (low-accuracy mode); py3langid
installs in 4.5 MB against lingua's 96 MB, needs about 120 MB of memory against 357 MB, and answers
in about 0.1 ms. Its model ships inside the package: nothing is downloaded, ever (fasttext-langdetect,
which downloads its model on first use, was ruled out for that).
"""

from __future__ import annotations

import contextlib
import functools
import lzma
import re
import shutil
import threading
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from geomap.cache import cache_dir, keep

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

# The languages the detector chooses among: those of the outlets that report on the Armenia-Azerbaijan
# border, plus the major languages of international news. A short list is what makes short texts
# reliable: among all 97 of the model's languages, "Zwei Soldaten an der Grenze verletzt" is read as
# Luxembourgish and a Russian title as Bulgarian.
LANGUAGES = (
    "fr", "en", "ru", "uk", "hy", "az", "ka", "tr", "ar", "fa", "he",
    "es", "pt", "it", "de", "nl", "pl", "el", "zh", "ja", "ko",
)  # fmt: skip
# Below this many letters there is nothing to tell a language by ("Goris", "14/09/2022", "AFP").
MIN_LETTERS = 10
# Below this probability the detector is guessing: place names alone score 0.2 to 0.4, real
# sentences from 0.6 up.
MIN_CONFIDENCE = 0.5
# A declared language is overruled only by a confident reading of this much text: WordPress themes
# and CMS templates often declare "en-US" on pages written in French.
OVERRULE_LETTERS = 200
OVERRULE_CONFIDENCE = 0.95
# The detector reads at most this much: a language shows in its first paragraphs (on the 350 seed,
# dev and negative articles, 1,000 characters read as 3,000 do, for a third of the time).
MAX_CHARS = 1500

# ISO 639-2/3 codes and names (in English and in the language itself) as pages and feeds write them.
_NAMES = {
    "fr": ("fra", "fre", "french", "français", "francais"),
    "en": ("eng", "english"),
    "ru": ("rus", "russian", "русский"),
    "uk": ("ukr", "ukrainian", "українська"),
    "hy": ("hye", "arm", "armenian", "հայերեն"),
    "az": ("aze", "azj", "azerbaijani", "azeri", "azərbaycan", "azərbaycanca"),
    "ka": ("kat", "geo", "georgian", "ქართული"),
    "tr": ("tur", "turkish", "türkçe"),
    "ar": ("ara", "arabic", "العربية"),
    "fa": ("fas", "per", "persian", "farsi", "فارسی"),
    "he": ("heb", "hebrew", "עברית"),
    "es": ("spa", "spanish", "español", "espanol"),
    "pt": ("por", "portuguese", "português"),
    "it": ("ita", "italian", "italiano"),
    "de": ("deu", "ger", "german", "deutsch"),
    "nl": ("nld", "dut", "dutch", "nederlands"),
    "pl": ("pol", "polish", "polski"),
    "el": ("ell", "gre", "greek", "ελληνικά"),
    "zh": ("zho", "chi", "chinese", "中文"),
    "ja": ("jpn", "japanese", "日本語"),
    "ko": ("kor", "korean", "한국어"),
}
_ALIASES = {alias: code for code, aliases in _NAMES.items() for alias in aliases}
# Codes that say "no language" or "several"; "iw", "in", "ji" are the old codes of he, id, yi.
_NOT_A_LANGUAGE = frozenset({"und", "mul", "zxx", "mis", "x", "i"})
_OLD_CODES = {"iw": "he", "in": "id", "ji": "yi", "mo": "ro"}
_TAG = re.compile(r"[A-Za-z]{2,3}(?=$|[-_.@ ])")
_lock = threading.Lock()


def name(code: str) -> str:
    """The English name of a language code ("en" -> "English"), else the code itself."""
    for alias in _NAMES.get(code, ()):
        if len(alias) > 3 and alias.isascii():
            return alias.capitalize()
    return code


def normalise(declared: str | None) -> str | None:
    """An ISO 639-1 code from what a page or feed declares, or None.

    "fr", "fr-FR", "fr_FR", "FR", "fr-FR.UTF-8", "fra", "French", "français" all give "fr";
    "und", "x-default", "*" and empty values give None. A two-letter code geomap has no name for
    ("sv-SE") is kept as it is written ("sv"): it is still a language, and not French.
    """
    if not isinstance(declared, str):
        return None
    value = declared.strip().split(",")[0].strip().casefold()  # "fr-FR, en" (Content-Language)
    if not value:
        return None
    if value in _ALIASES:
        return _ALIASES[value]
    match = _TAG.match(value)
    if match is None:
        return None
    tag = match.group()
    if tag in _NOT_A_LANGUAGE:
        return None
    if len(tag) == 2:
        return _OLD_CODES.get(tag, tag)
    return _ALIASES.get(tag)


@functools.cache
def _identifier() -> LanguageIdentifier:
    """The detector, loaded once. The package ships its model compressed, and decompressing it takes
    about a second at every start: the decompressed model is kept in the user cache (``langid/``,
    named by py3langid's version) and read from there, which takes a fraction of that."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = _cached_identifier() or LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def _cached_identifier() -> LanguageIdentifier | None:
    """The detector from the decompressed model in the user cache (kept there on first use); None
    when it cannot be kept or read, or this py3langid lays its model out differently."""
    from py3langid import langid, modelio

    path = None
    try:
        version = metadata.version("py3langid")
        path = cache_dir() / "langid" / f"model-{version}.npz"
        if not path.exists():
            _keep_decompressed(langid.MODEL_DIR / langid.MODEL_FILE, path)
        with np.load(path, allow_pickle=False) as data:
            return langid.LanguageIdentifier(
                np.asarray(data["ptc"]),
                np.asarray(data["pc"]),
                data["classes"].tolist(),
                modelio._to_array(data["nextmove"]),
                data["out_feat"].tolist(),
                tk_row=modelio._to_array(data["nextmove_row"]),
                norm_probs=True,
            )
    except (
        OSError,
        ValueError,
        KeyError,
        AttributeError,
        TypeError,
        lzma.LZMAError,
        metadata.PackageNotFoundError,
    ):
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)  # a damaged copy is made again next time
        return None


def _keep_decompressed(source: Path, path: Path) -> None:
    """Decompress the packaged model into ``path`` (older versions' files removed)."""

    def decompress(out: BinaryIO) -> None:
        with lzma.open(source) as compressed:
            shutil.copyfileobj(compressed, out, length=1 << 20)

    keep(path, decompress, older="model-*.npz")


def guess(text: str) -> tuple[str | None, float]:
    """The detector's reading of ``text`` and its probability; (None, 0.0) when the text is too
    short to tell (fewer than :data:`MIN_LETTERS` letters)."""
    sample = text[:MAX_CHARS]
    if sum(c.isalpha() for c in sample) < MIN_LETTERS:
        return None, 0.0
    with _lock:  # the identifier is not documented as thread-safe
        code, probability = _identifier().classify(sample)
    return code, float(probability)


def detect(text: str, *, declared: str | None = None) -> str | None:
    """The ISO 639-1 code of the language ``text`` is written in, or None when it cannot be told.

    ``declared`` is what the page or feed says (``<html lang>``, ``og:locale``, ``inLanguage``,
    ``<language>``): it wins, unless a long text (:data:`OVERRULE_LETTERS` letters) is read as
    another language with near certainty, as when a French article sits in a template declaring
    "en-US". Without a usable declaration the detector decides, and a short or ambiguous text
    (a title made of place names, a date) gives None rather than a guess.
    """
    stated = normalise(declared)
    if stated is not None:
        # a language the detector does not know ("sv") cannot be overruled by it
        if stated not in LANGUAGES or sum(c.isalpha() for c in text[:MAX_CHARS]) < OVERRULE_LETTERS:
            return stated
        code, probability = guess(text)
        return code if code and code != stated and probability >= OVERRULE_CONFIDENCE else stated
    code, probability = guess(text)
    return code if probability >= MIN_CONFIDENCE else None
