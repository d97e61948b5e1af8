"""What a build tells as it goes (geomap.build, geomap.pipeline and ``geomap build``'s -v/-vv/-q): real
builds of small articles written here, through click's CliRunner and ``geomap.build.run``.

Under pytest the root logger already has pytest's handler, so the CLI's own (``logging.basicConfig``)
is not installed in-process: the log records are read from ``caplog``, what click writes from
``result.stderr``, and one test runs ``geomap`` in a process of its own to read its real stderr.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from geomap import build as library
from geomap.cli import cli
from geomap.geocode import GeocoderConfig

FRENCH = (
    "Le 14 septembre 2022\n"
    "Des affrontements ont éclaté à Kirants, faisant deux morts. "
    "Une frappe de drone a touché un poste près de Kut. Bakou a rejeté ces accusations.\n"
)
ENGLISH = (
    "---\ntitle: Shelling hits Sotk and Kut\ndate: 2022-09-14\n---\n"
    "YEREVAN, Sept. 14 - Azerbaijani forces shelled Sotk overnight, killing two soldiers, the defence "
    "ministry in Yerevan said on Wednesday. A drone strike also hit a post near Kut, it said. Baku said "
    "its troops had responded to provocations.\n"
)
# Incidents in France and Belgium, whose zones come from the world areas file; its date is no date,
# which ingest drops with a warning.
ACROSS = (
    "---\ntitle: Clashes at the border\ndate: not a date\n---\n"
    "Clashes broke out in Lille, France, killing two people on Tuesday. Clashes broke out in Mons, "
    "Belgium, killing three soldiers. Fighting was reported in Roubaix, France. Fighting was reported "
    "in Tournai, Belgium.\n"
)
STAGES = ("inputs read in", "articles to process", "extraction, resolution and incidents in", "zones in")


def invoke(*args: str | Path) -> Result:
    """``geomap ARGS`` in-process (one worker: the articles are few), stdout and stderr apart."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def build(*flags: str, inputs: Path, out: Path) -> Result:
    """``geomap FLAGS build INPUTS --out OUT --offline --workers 1``, which must succeed."""
    result = invoke(*flags, "build", inputs, "--out", out, "--offline", "--workers", "1")
    assert result.exit_code in (0, 3), result.stderr
    return result


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    """The messages geomap logged at exactly ``level``."""
    return [r.getMessage() for r in caplog.records if r.name == "geomap" and r.levelno == level]


def one(found: list[str], part: str) -> str:
    """The one line of ``found`` that holds ``part``."""
    matching = [line for line in found if part in line]
    assert len(matching) == 1, (part, found)
    return matching[0]


@pytest.fixture(scope="module")
def articles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A French and an English article of the Armenia-Azerbaijan theatre."""
    folder = tmp_path_factory.mktemp("articles")
    (folder / "kirants.txt").write_text(FRENCH, encoding="utf-8")
    (folder / "sotk.md").write_text(ENGLISH, encoding="utf-8")
    return folder


@pytest.fixture
def across(tmp_path: Path) -> Path:
    folder = tmp_path / "across"
    folder.mkdir()
    (folder / "lille.md").write_text(ACROSS, encoding="utf-8")
    return folder


@pytest.fixture
def damaged_world_areas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A world areas file that cannot be read: zones derived from it fail, and a build goes on
    without them (with a warning)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "world_areas.gpkg").write_bytes(b"not a GeoPackage")
    monkeypatch.setattr("geomap.areas.data_dir", lambda: data)


# --- -v: each stage once, with its timing and counts -------------------------------------------


def test_verbose_logs_each_stage_once_with_its_counts(
    articles: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    result = invoke(
        "-v", "build", articles, tmp_path / "absent.txt", "--out", out, "--offline", "--workers", "1"
    )
    assert result.exit_code == 3, result.stderr  # the absent input is skipped and named
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    info = lines(caplog, logging.INFO)

    read = one(info, "inputs read in")
    assert re.fullmatch(r"inputs read in \d+\.\d\d s: 2 articles \(1 en, 1 fr\), 1 skipped", read), read
    assert one(info, "2 articles to process") == "2 articles to process, 0 reused from the store"
    documents = one(info, "extraction, resolution and incidents in")
    assert "(2 articles processed, " in documents
    assert (
        f": {summary['mentions']} mentions kept, {summary['resolved_mentions']} resolved, "
        f"{summary['incidents']} incidents (from " in documents
    )
    zones = one(info, "zones in")
    assert re.search(
        rf"theatre armenia-azerbaijan \(5, 10, 20 km\), \d+ of {summary['incidents']} incidents", zones
    )
    for name in ("map.html", "incidents.geojson", "summary.json"):
        written = one(info, f"wrote {out / name} (")
        assert re.fullmatch(r".* \(\d+(\.\d)? (B|kB|MB)\)", written), written
    assert re.fullmatch(r"\d+ outputs written in \d+\.\d\d s; build done in \d+\.\d\d s", info[-1]), info[-1]
    assert not lines(caplog, logging.DEBUG)  # -v is not -vv
    # the stage lines come in the order the stages run
    order = [next(i for i, line in enumerate(info) if s in line) for s in STAGES]
    assert order == sorted(order)


def test_verbose_rebuild_says_what_the_store_gave(
    articles: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    build(inputs=articles, out=out)
    (out / "map.html").unlink()  # an output gone: the build runs again, from the store
    caplog.clear()
    build("-v", inputs=articles, out=out)
    info = lines(caplog, logging.INFO)
    assert one(info, "0 articles to process") == "0 articles to process, 2 reused from the store"
    assert "(0 articles processed)" in one(info, "extraction, resolution and incidents in")


def test_the_library_logs_the_same_stages(
    articles: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``geomap.build.run`` logs through the "geomap" logger whoever calls it (a notebook, a cron job)."""
    caplog.set_level(logging.INFO, logger="geomap")
    built = library.run([articles], tmp_path / "out", options=library.BuildOptions(workers=1))
    info = lines(caplog, logging.INFO)
    for stage in STAGES:
        one(info, stage)
    assert len([line for line in info if line.startswith("wrote ")]) == len(built.written)


# --- -vv: each article and each tier decision -------------------------------------------------


def test_very_verbose_logs_each_article_and_each_decision(
    articles: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    build("-vv", inputs=articles, out=tmp_path / "out")
    debug = lines(caplog, logging.DEBUG)
    french = one(debug, "article kirants (fr): ")
    assert re.fullmatch(
        r"article kirants \(fr\): \d+ mentions, \d+ kept, \d+ resolved, \d+ incidents, \d+\.\d{3} s", french
    )
    one(debug, "article sotk (en): ")
    kirants = one(debug, 'resolve kirants: "Kirants" -> ')
    assert re.fullmatch(
        r'resolve kirants: "Kirants" -> village-kirants \(gazetteer, score [\d.]+, confidence 0\.\d+\)',
        kirants,
    )
    one(debug, 'resolve sotk: "Sotk" -> ')
    for stage in STAGES:  # -vv says all that -v does
        one(lines(caplog, logging.INFO), stage)


def test_article_ids_in_log_lines_are_cut(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An article's id is data: a long one is cut (ingest already refuses control characters in it;
    test_resolve checks that they are escaped in names)."""
    folder = tmp_path / "in"
    folder.mkdir()
    record = {"id": "long-" + "x" * 200, "text": FRENCH, "language": "fr"}
    (folder / "feed.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    build("-vv", inputs=folder, out=tmp_path / "out")
    debug = [
        line for line in lines(caplog, logging.DEBUG) if line.startswith(("article long-", "resolve long-"))
    ]
    assert len(debug) >= 2 and all(f" long-{'x' * 55}…" in line for line in debug)  # 60 characters


# --- default and -q ---------------------------------------------------------------------------


def test_by_default_neither_stages_nor_articles(
    articles: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    result = build(inputs=articles, out=tmp_path / "out")
    assert not [r for r in caplog.records if r.name == "geomap" and r.levelno < logging.WARNING]
    assert result.stderr.startswith("2 articles (0 unchanged since the last run)")  # the one summary line
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.usefixtures("damaged_world_areas")
def test_warnings_go_through_logging(across: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Without -q a build that cannot compute zones says so as a logged warning (as it does of a
    dropped field), and goes on."""
    result = build(inputs=across, out=tmp_path / "out")
    assert result.exit_code == 0
    warnings = lines(caplog, logging.WARNING)
    assert any(w.startswith("no border zones: ") and "unreadable world areas" in w for w in warnings), (
        warnings
    )
    assert any('field "date" dropped' in w for w in warnings), warnings
    assert "no border zones" not in result.stderr  # not printed past logging


@pytest.mark.usefixtures("damaged_world_areas")
def test_quiet_prints_no_warning(across: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    result = build("-q", inputs=across, out=tmp_path / "out")
    assert result.exit_code == 0 and (tmp_path / "out" / "map.html").is_file()
    assert result.stderr == ""
    assert not [r for r in caplog.records if r.name == "geomap" and r.levelno < logging.ERROR]


def test_quiet_keeps_the_skipped_inputs(articles: Path, tmp_path: Path) -> None:
    """-q still names each skipped input: that is the report of its errors."""
    result = invoke("-q", "build", articles, tmp_path / "absent.txt", "--out", tmp_path / "out", "--offline")
    assert result.exit_code == 3
    assert result.stderr.startswith("geomap: skipped ") and "absent.txt" in result.stderr
    assert len(result.stderr.splitlines()) == 1


# --- the outputs do not depend on the verbosity ------------------------------------------------


def test_outputs_are_the_same_with_and_without_verbose(
    articles: Path, tmp_path: Path, comparable: Callable[[Path], dict[str, bytes]]
) -> None:
    build(inputs=articles, out=tmp_path / "plain")
    build("-vv", inputs=articles, out=tmp_path / "verbose")
    assert comparable(tmp_path / "plain") == comparable(tmp_path / "verbose")


# --- a process of its own: what reaches the real standard error ---------------------------------


def run_geomap(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m geomap ARGS`` in a process of its own, its output and errors kept as text."""
    command = [sys.executable, "-m", "geomap", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def test_a_real_process_prints_the_stage_lines(articles: Path, tmp_path: Path) -> None:
    done = run_geomap(
        *("-v", "build", articles, "--out", tmp_path / "out"),
        *("--offline", "--workers", "1", "--no-report", "--formats", "geojson"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    logged = [line for line in done.stderr.splitlines() if line.startswith("geomap: ")]
    for stage in STAGES:
        one(logged, stage)
    assert "geomap: article " not in done.stderr  # -v, not -vv


# --- nothing changed: the outputs are kept ---------------------------------------------------------


def stamps(out: Path) -> dict[str, int]:
    """Each output's modification time in nanoseconds: a kept file keeps its own."""
    return {p.name: p.stat().st_mtime_ns for p in out.iterdir() if not p.name.startswith(".")}


def test_a_rebuild_where_nothing_changed_keeps_every_output(
    articles: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    first = build(inputs=articles, out=out)
    before = stamps(out)
    caplog.clear()
    again = build("-v", inputs=articles, out=out)
    assert stamps(out) == before  # not one file written again
    info = lines(caplog, logging.INFO)
    assert "its 19 outputs are kept" in one(info, "nothing changed since the run that wrote")
    assert not any("articles to process" in line for line in info)  # no store, no pipeline
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    said = f"2 articles (nothing changed since the last run, outputs kept), {summary['incidents']} incidents"
    assert again.stderr.startswith(said), again.stderr
    assert first.stderr.split("->")[1] == again.stderr.split("->")[1]  # the same outputs named


@pytest.mark.parametrize(
    "change",
    [
        "an article edited",
        "an article added",
        "an output edited",
        "an output removed",
        "another title",
        "another language forced",
        "--full",
    ],
)
def test_any_change_builds_again(articles: Path, tmp_path: Path, change: str) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for path in articles.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "out"
    build(inputs=folder, out=out)
    before = stamps(out)
    flags: list[str] = []
    if change == "an article edited":
        (folder / "kirants.txt").write_text(FRENCH.replace("deux morts", "trois morts"), encoding="utf-8")
    elif change == "an article added":
        (folder / "more.txt").write_text(FRENCH.replace("Kirants", "Sotk"), encoding="utf-8")
    elif change == "an output edited":
        with (out / "incidents.csv").open("a", encoding="utf-8") as fh:
            fh.write("edited by hand\n")
    elif change == "an output removed":
        (out / "timeline.svg").unlink()
    elif change == "another title":
        flags = ["--title", "Another title"]
    elif change == "another language forced":
        flags = ["--lang", "fr"]
    else:
        flags = ["--full"]
    result = invoke("build", folder, "--out", out, "--offline", "--workers", "1", *flags)
    assert result.exit_code == 0, result.stderr
    assert "nothing changed" not in result.stderr
    after = stamps(out)
    assert set(after) == set(before)
    assert all(after[name] != before[name] for name in before), change  # every output written again
    assert "edited by hand" not in (out / "incidents.csv").read_text(encoding="utf-8")


def test_how_the_work_is_spread_is_no_change(articles: Path, tmp_path: Path) -> None:
    """Workers and start method change no output: a rebuild with others keeps the outputs."""
    out = tmp_path / "out"
    build(inputs=articles, out=out)
    before = stamps(out)
    result = invoke("build", articles, "--out", out, "--offline", "--workers", "2")
    assert result.exit_code == 0 and "nothing changed since the last run" in result.stderr
    assert stamps(out) == before


def test_the_library_says_the_outputs_were_kept(articles: Path, tmp_path: Path) -> None:
    options = library.BuildOptions(workers=1)
    first = library.run([articles], tmp_path / "out", options=options)
    again = library.run([articles], tmp_path / "out", options=options)
    assert not first.kept and first.result is not None
    assert again.kept and again.result is None
    assert again.written == first.written
    for key in ("articles", "incidents", "resolved_mentions", "problems", "build_digest"):
        assert again.summary[key] == first.summary[key], key
    assert len(first.summary["build_digest"]) == 64


def test_a_rebuild_where_nothing_changed_loads_no_model(articles: Path, tmp_path: Path) -> None:
    """In a process of its own: the second build imports neither spaCy nor the pipeline."""
    out = tmp_path / "out"
    build(inputs=articles, out=out)
    script = (
        "import sys\n"
        "from geomap import build\n"
        f"built = build.run([{str(articles)!r}], {str(out)!r}, options=build.BuildOptions(workers=1))\n"
        "print(built.kept, 'spacy' in sys.modules, 'geomap.pipeline' in sys.modules)\n"
    )
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert shown.stdout.split() == ["True", "False", "False"], shown.stderr


def test_a_run_a_tier_missed_is_never_kept(tmp_path: Path, unreachable_geocoder: GeocoderConfig) -> None:
    """An article whose name the geocoder could not be asked about (nothing listens at its address)
    is processed again by the next build, which therefore writes its outputs again."""
    from geomap.settings import Settings

    config = unreachable_geocoder
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("Les combats se poursuivent près du village de Zzyxgrad, dans le Tavush.")
    options = library.BuildOptions(workers=1)
    first = library.run([folder], tmp_path / "out", settings=Settings(geocoder=config), options=options)
    assert first.result is not None and first.result.incomplete == 1
    assert first.summary["build_digest"] is None
    again = library.run([folder], tmp_path / "out", settings=Settings(geocoder=config), options=options)
    assert not again.kept and again.result is not None and again.result.reused == 0


# --- without geomap[print]: no matplotlib ------------------------------------------------------


def without_print(tmp_path: Path) -> dict[str, str]:
    """The environment of a process where geomap[print] is not installed: a sitecustomize marks
    matplotlib absent (None in sys.modules: an import fails and find_spec finds nothing) in that
    process and in any it starts."""
    site = tmp_path / "no-print"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\nfor name in ('matplotlib', 'matplotlib_scalebar'):\n    sys.modules[name] = None\n"
    )
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
    }


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_without_print_the_build_writes_everything_but_the_pictures(
    articles: Path, tmp_path: Path, workers: str
) -> None:
    out = tmp_path / "out"
    done = run_geomap(
        "build", articles, "--out", out, "--offline", "--workers", workers, env=without_print(tmp_path)
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pip install 'geomap[print]'" in done.stderr  # said once, with what to install
    assert done.stderr.count("geomap[print]") == 1
    written = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    assert {"map.html", "geomap.gpkg", "incidents.geojson", "incidents.csv", "report.html"} <= written
    assert not {"timeline.svg", "timeline.png", "map.png"} & written
    report = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="timeline-section"' not in report and 'alt="Static map of the incidents"' not in report
    assert "Kirants" in report  # the incidents' table is all there
    assert set(json.loads((out / "summary.json").read_text())["outputs"]) == written - {"summary.json"}


@pytest.mark.slow
def test_without_print_a_static_map_asked_for_stops_before_any_work(articles: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_geomap("build", articles, "--out", out, "--png", "--pdf", env=without_print(tmp_path))
    assert done.returncode == 1
    assert "map.png/pdf (the static map) needs matplotlib: pip install 'geomap[print]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
