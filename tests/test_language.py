"""Language detection: the page's word first, else py3langid on short news texts."""

from __future__ import annotations

import collections
import socket
import time
from pathlib import Path

import pytest

from geomap import language, userplaces
from geomap.language import detect, guess, normalise

FIXTURES = Path(__file__).parent / "fixtures" / "language"
FRENCH = (
    "Dans le village frontalier de Tegh, à quelques kilomètres du corridor de Lachin, les habitants ont "
    "de nouveau été réveillés par des tirs peu après minuit. Trois maisons de la rue principale ont été "
    "touchées et une grange a brûlé, selon le chef de la communauté, qui demande des renforts."
)


def labelled() -> list[tuple[str, str]]:
    rows = []
    for line in (FIXTURES / "short_news.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            lang, text = line.split("\t", 1)
            rows.append((lang, text))
    return rows


def test_labelled_set_is_short_news_in_many_languages():
    rows = labelled()
    counts = collections.Counter(lang for lang, _ in rows)
    for lang in ("fr", "en", "ru", "uk", "es", "de"):
        assert counts[lang] >= 20
    assert {"hy", "az", "ar", "fa", "tr", "it"} <= set(counts)
    assert max(len(text) for _, text in rows) < 130  # titles and one or two sentences


def test_accuracy_on_short_news_texts():
    rows = labelled()
    right = collections.Counter()
    total = collections.Counter()
    for lang, text in rows:
        total[lang] += 1
        right[lang] += detect(text) == lang
    assert sum(right.values()) / len(rows) >= 0.95
    for lang in ("fr", "en", "ru", "uk", "es", "de"):  # Russian and Ukrainian are told apart too
        assert right[lang] / total[lang] >= 0.9, lang


@pytest.mark.parametrize(
    "text",
    ["", "   ", "Goris", "AFP", "14/09/2022", "Sotk, 14.09.2022", "Kapan, Jermuk", "Goris Kapan Sotk Tegh",
     "Kapan — Jermuk — Goris", "— • —", "12 345 678"],
)  # fmt: skip
def test_too_short_or_ambiguous_gives_none(text):
    assert detect(text) is None


@pytest.mark.parametrize(
    ("declared", "code"),
    [
        ("fr", "fr"), ("fr-FR", "fr"), ("fr_FR", "fr"), ("FR", "fr"), (" fr-fr ", "fr"),
        ("fr_FR.UTF-8", "fr"), ("fra", "fr"), ("fre", "fr"), ("French", "fr"), ("français", "fr"),
        ("en-US, fr", "en"), ("en-GB", "en"), ("ru-RU", "ru"), ("uk-UA", "uk"), ("hy-AM", "hy"),
        ("az-Latn-AZ", "az"), ("zh-Hant-TW", "zh"), ("deu", "de"), ("iw", "he"), ("sv-SE", "sv"),
        ("und", None), ("x-default", None), ("*", None), ("", None), (None, None), ("klingon", None),
    ],
)  # fmt: skip
def test_declared_language_is_normalised(declared, code):
    assert normalise(declared) == code


def test_declared_language_wins_on_short_text():
    assert detect("Goris, Kapan", declared="fr-FR") == "fr"
    assert detect("Shelling near Sotk", declared="fr") == "fr"
    assert detect(FRENCH, declared="fr_FR") == "fr"


def test_a_template_language_is_overruled_by_a_long_text():
    # WordPress themes left at "en-US" on French sites: the text says otherwise, without doubt
    assert detect(FRENCH, declared="en-US") == "fr"
    assert detect(FRENCH, declared="ru") == "fr"


def test_a_declared_language_the_detector_does_not_know_stands():
    assert detect(FRENCH, declared="sv-SE") == "sv"


def test_unusable_declaration_falls_back_to_the_detector():
    assert detect(FRENCH, declared="und") == "fr"
    assert detect("Residents of Kapan spent the night in basements.", declared="") == "en"


def test_guess_gives_a_probability():
    code, probability = guess(FRENCH)
    assert code == "fr"
    assert probability > 0.99
    assert guess("Goris") == (None, 0.0)


def test_the_model_ships_with_the_package_and_needs_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("language detection must not open a socket")

    language._identifier.cache_clear()
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    try:
        assert detect("Des obus sont tombés sur Jermuk dans la nuit de lundi à mardi.") == "fr"
    finally:
        monkeypatch.undo()


def test_detection_is_fast_once_loaded():
    rows = labelled()
    detect(rows[0][1])
    start = time.perf_counter()
    for _ in range(3):
        for _, text in rows:
            detect(text)
    per_call = (time.perf_counter() - start) / (3 * len(rows))
    assert per_call < 0.005  # about 0.1 ms here; a bound, not a benchmark


def test_long_texts_are_read_from_their_head():
    assert detect(FRENCH * 500) == "fr"


def test_the_decompressed_model_is_kept_in_the_cache_and_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model decompressed once into the user cache gives the packaged model's answers; a damaged
    copy is not used, and is made again on the next start."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    monkeypatch.setenv(userplaces.CACHE_ENV, str(tmp_path))
    kept = language._cached_identifier()
    [path] = (tmp_path / "langid").glob("model-*.npz")
    packaged = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    assert kept is not None
    for text in ("Des tirs ont visé Sotk mardi.", "Shells hit Sotk on Tuesday.", "Zwei Soldaten verletzt."):
        assert kept.classify(text) == packaged.classify(text)
    path.write_bytes(b"not a model")
    assert language._cached_identifier() is None and not path.exists()
    assert language._cached_identifier() is not None and path.exists()
