"""The ``geomap`` group through click's CliRunner: help, exit codes and verbosity, shared by the
subcommands (each has its own test module: test_cli_build, test_cli_extract...)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import (
    GOOD,
    OUTPUTS,
    invoke,
    load,
    write,
)

pytestmark = pytest.mark.usefixtures("keep_log_level")  # -q/-v set the logger's level

# --- help -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["build", "--help"], ["extract", "--help"]])
def test_help(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


def test_top_help_lists_subcommands_and_verbosity() -> None:
    text = invoke("--help").stdout
    assert "build" in text and "extract" in text
    assert "--quiet" in text and "--verbose" in text


def test_subcommand_help_documents_options() -> None:
    assert "--out" in invoke("build", "--help").stdout
    assert "--format" in invoke("extract", "--help").stdout


# --- exit codes -----------------------------------------------------------------------------------


def test_bad_input_among_good_ones_exits_3_and_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder, "good.txt", GOOD)
    write(folder, "broken.txt", b"\x00\x01\x02binary")
    out = tmp_path / "out"
    result = invoke("build", folder, tmp_path / "missing.txt", "--out", out, "--offline")
    assert result.exit_code == 3
    assert "broken.txt" in result.stderr and "missing.txt" in result.stderr
    assert {p.name for p in out.iterdir()} >= OUTPUTS
    docs = {f["properties"]["doc"] for f in load(out / "incidents.geojson")["features"]}
    assert docs == {"good"}
    assert len(load(out / "summary.json")["problems"]) == 2


def test_jsonl_record_with_lone_surrogate_is_skipped_not_fatal(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "ok", "text": "Des combats ont éclaté à Kirants."}),
        '{"id": "bad", "text": "Des combats ont éclaté à Kut \\ud800."}',
    ]
    source = write(tmp_path / "in", "lot.jsonl", "\n".join(lines) + "\n")
    out = tmp_path / "out"
    result = invoke("build", source, "--out", out, "--offline", catch=True)
    assert result.exit_code == 3
    assert "lot.jsonl" in result.stderr
    assert {f["properties"]["doc"] for f in load(out / "incidents.geojson")["features"]} == {"ok"}


def test_only_bad_inputs_exit_1_and_write_nothing(tmp_path: Path) -> None:
    bad = write(tmp_path / "in", "broken.txt", b"\x00\x00")
    out = tmp_path / "out"
    result = invoke("build", bad, "--out", out, "--offline")
    assert result.exit_code == 1
    assert "broken.txt" in result.stderr
    assert not (out / "map.html").exists()


def test_extract_with_only_bad_inputs_exits_1(tmp_path: Path) -> None:
    result = invoke("extract", tmp_path / "absent.txt", "--offline")
    assert result.exit_code == 1
    assert "absent.txt" in result.stderr
    assert result.stdout == ""


def test_build_without_input_or_seeds_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("build", "--offline")
    assert result.exit_code == 2
    assert "no INPUT" in result.stderr and "seeds" in result.stderr
    assert not (tmp_path / "maps").exists()


def test_unknown_option_is_a_usage_error() -> None:
    assert invoke("build", "--no-such-option").exit_code == 2


# --- verbosity ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_before_or_after_the_subcommand(inputs: Path, tmp_path: Path, where: str) -> None:
    args = ["build", inputs / "good.txt", "--out", tmp_path / "out", "--offline"]
    args = ["-q", *args] if where == "before" else [*args, "-q"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (tmp_path / "out" / "map.html").exists()


@pytest.mark.parametrize(("args", "code"), [(["--version"], 0), (["extract", "/nonexistent/article.txt"], 1)])
def test_the_script_leaves_its_heap_to_the_exit_and_keeps_its_exit_code(args: list[str], code: int) -> None:
    """``main()`` freezes what is alive when the command is done (the interpreter's last collection
    would walk the whole model and gazetteer), whether the command succeeds or fails, and the exit
    code is the command's."""
    script = (
        "import gc, sys\n"
        "from geomap.cli import main\n"
        f"sys.argv = ['geomap', *{args!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    print('frozen', gc.get_freeze_count() > 0, 'code', exc.code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines()[-1].split() == ["frozen", "True", "code", str(code)], done.stderr
