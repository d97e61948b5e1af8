"""The helpers the subcommands share: progress without a terminal, problem reports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from geomap.cli import common
from geomap.models import Article


def _articles(n: int) -> list[Article]:
    return [Article(id=f"a{i}", text="Des tirs à Sotk.") for i in range(n)]


def test_without_a_terminal_progress_is_a_line_every_few_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    """Ten articles asked for every 2 s, a line every 5 s: the articles go through unchanged and in
    order, with a line at 6 s, 12 s and 18 s, and the total at the end."""
    ticks = iter(range(0, 100, 2))
    articles = _articles(10)
    through = list(common._lines(articles, every=5.0, clock=lambda: next(ticks)))
    assert through == articles
    lines = capsys.readouterr().err.splitlines()
    assert lines[:3] == [
        "geomap: 2/10 articles, 0.3 articles/s, about 24 s left",
        "geomap: 5/10 articles, 0.4 articles/s, about 12 s left",
        "geomap: 8/10 articles, 0.4 articles/s, about 5 s left",
    ]
    assert lines[-1].startswith("geomap: 10/10 articles") and "left" not in lines[-1]


def test_quiet_and_short_runs_show_no_progress(capsys: pytest.CaptureFixture[str]) -> None:
    articles = _articles(20)
    assert common.progress(True)(articles) is articles
    few = _articles(common.PROGRESS_THRESHOLD)
    assert common.progress(False)(few) is few
    assert capsys.readouterr().err == ""


def test_progress_off_a_terminal_prints_lines_not_a_bar(capsys: pytest.CaptureFixture[str]) -> None:
    articles = _articles(common.PROGRESS_THRESHOLD + 1)
    wrapped = common.progress(False, every=0.0)(articles)  # pytest's stderr is no terminal
    assert isinstance(wrapped, Iterator)
    assert list(wrapped) == articles
    err = capsys.readouterr().err
    assert "Articles" not in err and err.count("geomap: ") >= len(articles)


def test_a_progress_line_says_done_rate_and_time_left() -> None:
    assert (
        common.progress_line(120, 440, 10.0) == "geomap: 120/440 articles, 12.0 articles/s, about 27 s left"
    )
    assert common.progress_line(0, 440, 0.0) == "geomap: 0/440 articles, 0.0 articles/s"
