"""The incremental store: unchanged articles are taken from it, and the outputs stay those of a full run."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from geomap.cli import cli
from geomap.geocode import GeocoderConfig, GeocoderTier
from geomap.models import Article, Result
from geomap.outputs import write_outputs
from geomap.pipeline import Pipeline
from geomap.settings import Settings
from geomap.store import (
    STORE_NAME,
    ResultStore,
    StoreError,
    article_key,
    document_from,
    fingerprint,
    plain,
)

Comparable = Callable[[Path], dict[str, bytes]]


def build(pipeline: Pipeline, corpus: Path, out: Path, *, fp: str = "fp", reuse: bool = True) -> Result:
    with ResultStore(out / STORE_NAME, fp, reuse=reuse) as store:
        result = pipeline.run([corpus], store=store)
    write_outputs(result, out)
    return result


@pytest.fixture
def corpus(tmp_path: Path, seeds_dir: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for path in sorted(seeds_dir.glob("*.txt"))[:3]:
        shutil.copy(path, folder)
    return folder


def test_adding_articles_processes_only_them_and_gives_the_full_outputs(
    pipeline: Pipeline, corpus: Path, seeds_dir: Path, tmp_path: Path, comparable: Comparable
) -> None:
    out = tmp_path / "maps"
    first = build(pipeline, corpus, out)
    assert (first.reused, len(first.articles)) == (0, 3)
    for path in sorted(seeds_dir.glob("*.txt"))[3:]:
        shutil.copy(path, corpus)

    again = build(pipeline, corpus, out)
    assert (again.reused, len(again.articles)) == (3, 5)
    assert json.loads((out / "summary.json").read_text())["run"] == {
        "reused_articles": 3,
        "processed_articles": 2,
    }

    full = build(pipeline, corpus, tmp_path / "full", reuse=False)
    assert full.reused == 0
    assert again.resolutions == full.resolutions
    assert again.incidents == full.incidents
    assert comparable(out) == comparable(tmp_path / "full")
    assert len(again.incidents) > 0


def test_a_changed_article_is_processed_again_and_a_removed_one_leaves_the_store(
    pipeline: Pipeline, corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "maps"
    build(pipeline, corpus, out)
    changed, removed, *_ = sorted(corpus.glob("*.txt"))
    changed.write_text(changed.read_text(encoding="utf-8") + "\nDes tirs ont visé Tegh mardi.\n")
    removed.unlink()

    result = build(pipeline, corpus, out)
    assert (result.reused, len(result.articles)) == (1, 2)
    assert any(r.mention.text == "Tegh" for r in result.resolutions)
    with sqlite3.connect(out / STORE_NAME) as db:
        docs = sorted(row[0] for row in db.execute("SELECT doc FROM results"))
    assert docs == sorted(a.id for a in result.articles)


def test_other_code_or_settings_reuse_nothing(pipeline: Pipeline, corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "maps"
    build(pipeline, corpus, out, fp="one")
    assert build(pipeline, corpus, out, fp="two").reused == 0
    assert build(pipeline, corpus, out, fp="two").reused == 3


def test_the_fingerprint_follows_what_results_depend_on() -> None:
    offline = Settings()
    assert fingerprint(offline.identity()) == fingerprint(Settings().identity())
    assert fingerprint(offline.identity()) != fingerprint(Settings(world=False).identity())
    article = Article(id="a", text="Des tirs à Tegh.")
    assert article_key(article, "fp") != article_key(Article(id="a", text="Des tirs à Berd."), "fp")
    assert article_key(article, "fp") != article_key(Article(id="b", text="Des tirs à Tegh."), "fp")
    assert article_key(article, "fp") != article_key(article, "other")


@pytest.mark.parametrize("name", ["places.csv", "world_areas.gpkg", "theatre.toml", "basemap.geojson"])
def test_the_fingerprint_follows_each_shipped_data_file(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gazetteer, the world areas zones are measured in, the default theatre, the basemap: a
    change to any of them is a new fingerprint (results and outputs made again)."""
    from geomap import gazetteer

    data = tmp_path / "data"
    shutil.copytree(gazetteer.data_dir(), data, ignore=shutil.ignore_patterns(".cache", "sources"))
    monkeypatch.setattr("geomap.store.data_dir", lambda: data)
    before = fingerprint(Settings().identity())
    with (data / name).open("ab") as fh:
        fh.write(b"\n")
    assert fingerprint(Settings().identity()) != before


def test_results_round_trip_through_json(pipeline: Pipeline, seeds_dir: Path) -> None:
    from geomap.ingest import iter_articles

    docs = list(pipeline.documents(iter_articles([seeds_dir])))
    assert any(d.incidents and d.incidents[0].date for d in docs)
    for doc in docs:
        text = json.dumps(plain(doc))
        assert document_from(json.loads(text)) == doc


def test_an_unresolved_mention_round_trips(pipeline: Pipeline) -> None:
    article = Article(id="x", text="Les combats se poursuivent près du village de Zzyxgrad, dans le Tavush.")
    (doc,) = pipeline.documents([article])
    assert [r.place for r in doc.resolutions if r.mention.text == "Zzyxgrad"] == [None]
    assert document_from(json.loads(json.dumps(plain(doc)))) == doc


def test_an_interrupted_run_keeps_what_it_had_finished(tmp_path: Path) -> None:
    path = tmp_path / STORE_NAME
    store = ResultStore(path, "fp")
    store.put("k1", "a", {"n": 1})
    store.close()  # no finish(): the run stopped before its end
    with ResultStore(path, "fp") as again:
        assert again.get("k1") == {"n": 1}
        assert again.get("k2") is None


def test_a_damaged_store_is_started_afresh(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / STORE_NAME
    path.write_bytes(b"this is not a database" * 100)
    with ResultStore(path, "fp") as store:
        assert store.get("k") is None
        store.put("k", "a", {"n": 1})
    assert "damaged (file is not a database); moved aside" in caplog.text
    with ResultStore(path, "fp") as store:
        assert store.get("k") == {"n": 1}


def test_a_store_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="file"):
        ResultStore(blocker / STORE_NAME, "fp")


def test_cli_full_processes_everything_again(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "maps"
    runner = CliRunner()
    for args, processed in (([], 3), ([], 0), (["--full"], 3)):
        (out / "map.html").unlink(missing_ok=True)  # else nothing changed: the outputs would be kept
        done = runner.invoke(cli, ["build", str(corpus), "--out", str(out), "--offline", "-q", *args])
        assert done.exit_code == 0, done.output
        run = json.loads((out / "summary.json").read_text())["run"]
        assert run == {"reused_articles": 3 - processed, "processed_articles": processed}


def test_results_missed_by_an_unreachable_geocoder_are_not_kept(
    pipeline: Pipeline, tmp_path: Path, unreachable_geocoder: GeocoderConfig
) -> None:
    config = unreachable_geocoder
    online = Pipeline(pipeline.gazetteer, extra_tiers=[GeocoderTier(config)])
    online.extractor = pipeline.extractor  # the loaded model, shared
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Les combats se poursuivent près du village de Zzyxgrad, dans le Tavush.")
    with ResultStore(tmp_path / STORE_NAME, "fp") as store:
        result = online.run([corpus], store=store)
        assert [r.place for r in result.resolutions if r.mention.text == "Zzyxgrad"] == [None]
        assert store.stored == 0
    with ResultStore(tmp_path / STORE_NAME, "fp") as store:
        assert online.run([corpus], store=store).reused == 0


# --- a store that is locked, damaged or out of room ------------------------------------------------


def test_a_locked_store_is_waited_for_then_reported_never_deleted(tmp_path: Path) -> None:
    path = tmp_path / STORE_NAME
    with ResultStore(path, "fp") as first:
        first.put("k", "a", {"n": 1})
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")  # another build in the middle of writing
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="in use by another geomap build"):
            ResultStore(path, "fp", lock_timeout=0.5)
        assert 0.4 < time.monotonic() - started < 30
    finally:
        holder.rollback()
        holder.close()
    with ResultStore(path, "fp") as again:
        assert again.get("k") == {"n": 1}


def _damage_the_middle(path: Path) -> None:
    """Overwrite pages of the results table and its index, not the schema and the runs table (pages
    1-4): the file opens, and only a lookup that walks through a damaged page fails."""
    data = bytearray(path.read_bytes())
    page = 4096
    data[5 * page : -page] = b"\xa5" * (len(data) - 6 * page)
    path.write_bytes(bytes(data))


def _store_with_rows(path: Path, count: int) -> None:
    with ResultStore(path, "fp") as store:
        for i in range(count):
            store.put(f"k{i}", f"doc{i}", {"text": "x" * 500, "i": i})
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()


def test_a_store_damaged_in_the_middle_is_moved_aside_and_started_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="geomap")
    path = tmp_path / STORE_NAME
    _store_with_rows(path, 200)
    _damage_the_middle(path)
    with ResultStore(path, "fp") as store:
        assert store.get("k7") is None
        store.put("k7", "doc7", {"i": 7})
    assert f"{path}: damaged" in caplog.text and "moved aside" in caplog.text
    assert len(list(tmp_path.glob(f"{STORE_NAME}.damaged-*[0-9]"))) == 1  # with its -wal and -shm
    with ResultStore(path, "fp") as store:
        assert store.get("k7") == {"i": 7}


def test_cli_full_goes_on_past_a_damaged_store(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "maps"
    runner = CliRunner()
    assert runner.invoke(cli, ["build", str(corpus), "--out", str(out), "--offline", "-q"]).exit_code == 0
    _store_with_rows(out / STORE_NAME, 200)
    _damage_the_middle(out / STORE_NAME)
    for args in (["--full"], ["--title", "from the store"]):  # the second: a change, served by the store
        done = runner.invoke(cli, ["build", str(corpus), "--out", str(out), "--offline", *args])
        assert done.exit_code == 0, done.output
        assert "Traceback" not in done.output
    assert json.loads((out / "summary.json").read_text())["run"]["reused_articles"] == 3


def test_a_store_that_fills_the_disk_is_turned_off_and_the_run_goes_on(
    tmp_path: Path, tmpfs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="geomap")
    with tmpfs(tmp_path / "disk", "256k") as disk:
        path = disk / STORE_NAME
        with ResultStore(path, "fp") as store:
            for i in range(200):
                store.put(f"k{i}", "doc", {"text": "y" * 4000})
            assert 0 < store.stored < 200
        assert f"{path}: cannot keep results there any more" in caplog.text
        assert "full" in caplog.text


def test_a_build_goes_on_without_a_store_another_build_holds(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "maps"
    runner = CliRunner()
    assert runner.invoke(cli, ["build", str(corpus), "--out", str(out), "--offline", "-q"]).exit_code == 0
    monkeypatch.setattr("geomap.store.LOCK_TIMEOUT", 0.5)
    holder = sqlite3.connect(out / STORE_NAME)
    holder.execute("BEGIN EXCLUSIVE")  # another build in the middle of writing
    try:
        done = runner.invoke(cli, ["build", str(corpus), "--out", str(out), "--offline", "--title", "again"])
    finally:
        holder.rollback()
        holder.close()
    assert done.exit_code == 0, done.output
    assert "in use by another geomap build" in done.output and "goes on without it" in done.output
    assert json.loads((out / "summary.json").read_text())["run"]["processed_articles"] == 3
    assert (out / STORE_NAME).exists()
