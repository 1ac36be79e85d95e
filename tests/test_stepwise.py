"""`forkman sync --stepwise`: release by release, stopping at the step that breaks; --abort puts
back the state from before the whole walk; --continue finishes the step and walks on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import forkman, git, make_app, snapshot

from forkman.autogpt.example import BLOCKS_INIT

V9, V10 = "autogpt-platform-beta-v0.6.9", "autogpt-platform-beta-v0.6.10"


def _resolve(checkout: Path) -> None:
    text = git(checkout, "show", f":2:{BLOCKS_INIT}") + "\n"
    text = text.replace(
        'current_dir.rglob("*.py")',
        'map(Path, glob.glob(f"{current_dir}/**/*.py", recursive=True))',
    )
    (checkout / BLOCKS_INIT).write_text("import glob\n" + text)


def test_the_walk_stops_at_the_step_that_breaks_and_abort_restores_all(
    upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_app(app_repo, upstream)
    before = snapshot(project, refs=False)  # a fetch is not undone, as for one sync
    code, out = forkman(capsys, "sync", "--stepwise", "--json", "--to", V10, repo=app_repo)
    report = json.loads(out)
    assert code == 1 and report["planned"] == [V9, V10]
    assert [(s["ref"], s["phase"]) for s in report["steps"]] == [(V9, "done"), (V10, "stopped")]
    assert report["phase"] == "stopped" and report["current"] == "loader-symlink"
    assert json.loads(project.lock_path.read_text())["upstream"]["ref"] == V9  # step 1 is made
    code, out = forkman(capsys, "sync", "--abort", repo=app_repo)
    assert code == 0, out
    assert snapshot(project, refs=False) == before


def test_continue_finishes_the_step_and_the_walk(
    upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_app(app_repo, upstream, ("loader-symlink", "cost-config"))
    code, text = forkman(capsys, "sync", "--stepwise", "--to", V10, repo=app_repo)
    assert code == 1 and f"step 1/2 {V9}" in text and f"step 2/2 {V10}" in text
    _resolve(project.checkout)
    summary = app_repo.parent / "walk.md"
    code, out = forkman(
        capsys, "sync", "--continue", "--json", "--summary", str(summary), repo=app_repo
    )
    report = json.loads(out)
    assert code == 0, out
    assert [(s["ref"], s["phase"]) for s in report["steps"]] == [(V9, "done"), (V10, "done")]
    assert json.loads(project.lock_path.read_text())["upstream"]["ref"] == V10
    assert "### Steps" in summary.read_text()
    assert not (project.state_dir() / "walk").exists()
    code, out = forkman(capsys, "sync", "--stepwise", "--to", V10, repo=app_repo)
    assert code == 0 and "nothing to do" in out
