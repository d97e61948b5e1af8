"""The user cache folder and the files geomap keeps there."""

from __future__ import annotations

from pathlib import Path

import pytest

from geomap import cache


def test_the_cache_folder_can_be_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    assert cache.cache_dir() == tmp_path
    monkeypatch.delenv(cache.CACHE_ENV)
    assert cache.cache_dir().name == "geomap"


def test_a_kept_file_replaces_its_older_versions(tmp_path: Path) -> None:
    folder = tmp_path / "kept"
    assert cache.keep(folder / "fr-1.json", lambda out: out.write(b"[1]"), older="fr-*.json")
    (folder / "en-1.json").write_bytes(b"[]")
    assert cache.keep(folder / "fr-2.json", lambda out: out.write(b"[2]"), older="fr-*.json")
    assert sorted(p.name for p in folder.iterdir()) == ["en-1.json", "fr-2.json"]
    assert (folder / "fr-2.json").read_bytes() == b"[2]"


def test_a_file_that_fails_while_written_leaves_nothing(tmp_path: Path) -> None:
    def fail(out) -> None:
        out.write(b"half")
        raise ValueError("stopped")

    with pytest.raises(ValueError):
        cache.keep(tmp_path / "a.json", fail, older="*.json")
    assert list(tmp_path.iterdir()) == []


def test_a_cache_that_cannot_be_written_is_only_slower(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert cache.keep(blocker / "sub" / "a.json", lambda out: out.write(b"x"), older="*.json") is False
