"""`forkman demo DIR`: the README's first command, run as a user would, leaves a real example."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import assert_one_line_error, git, run_subprocess

from forkman.autogpt.example import RELEASES


def test_demo_walks_through_and_leaves_a_working_example(tmp_path: Path) -> None:
    result = run_subprocess(["demo", str(tmp_path / "demo")], cwd=tmp_path)

    assert result.exit_code == 0, result.stderr
    shown = [line for line in result.stdout.splitlines() if line.startswith("$ forkman")]
    assert "$ forkman sync --continue" in shown and "$ forkman overlay status" in shown
    app = tmp_path / "demo" / "app"
    assert (app / "overlays" / "series").read_text().split() == [
        "loader-symlink",
        "llm-models",
        "cost-config",
    ]
    assert json.loads((app / "forkman.lock").read_text())["upstream"]["ref"] == RELEASES[2]
    assert list((app / "overlays" / "resolutions").glob("*.yaml"))
    assert git(app, "status", "--porcelain") != ""  # the guard step's refresh, left to commit
    fork = tmp_path / "demo" / "fork.git"
    assert git(fork, "log", "--format=%s", "-1", "forkman/pr/loader-symlink").startswith(
        "Load blocks"
    )


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep me\n")

    result = run_subprocess(["demo", str(tmp_path / "full")], cwd=tmp_path)

    assert_one_line_error(result, "not empty")
    assert (tmp_path / "full" / "mine.txt").read_text() == "keep me\n"
