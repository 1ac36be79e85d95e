"""`forkman sync --stepwise`: release by release, stopping at the step that breaks; --abort puts
back the state from before the whole walk; --continue finishes the step and walks on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import forkman, git, make_app, snapshot

from forkman.autogpt.example import BLOCKS_INIT
from forkman.commands.stepwise import Step, WalkReport, _Walk
from forkman.commands.sync import SyncReport
from forkman.core.planner import OverlayResult
from forkman.core.states import Phase, SyncState
from forkman.render import walk_json, walk_markdown, walk_text

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


def _walked() -> WalkReport:
    """Two steps: the first carried an overlay by following a move, the second cleanly."""
    moved = OverlayResult(
        "loader-symlink", SyncState.MOVED, (BLOCKS_INIT,), followed=("move of 3 lines",)
    )
    clean = OverlayResult("loader-symlink", SyncState.CLEAN, (BLOCKS_INIT,))
    last = SyncReport(V9, "a" * 40, V10, "b" * 40, Phase.DONE, (clean,))
    steps = (Step.of(SyncReport("v8", "c" * 40, V9, "a" * 40, Phase.DONE, (moved,))), Step.of(last))
    return WalkReport(steps, last, (V9, V10))


def test_what_an_earlier_step_asks_to_review_is_still_said_at_the_end() -> None:
    report = _walked()
    said = "loader-symlink (moved): followed upstream's move of 3 lines"
    assert report.steps[0].review == (said,) and report.steps[1].review == ()
    assert f"  review: {said}" in walk_text(report).splitlines()
    assert f"- `{V9}`: {said}" in walk_markdown(report).splitlines()
    assert [s["needs_review"] for s in json.loads(walk_json(report))["steps"]] == [[said], []]


def test_the_walk_record_keeps_review_lines_and_reads_older_records(
    upstream: Path, app_repo: Path
) -> None:
    walk = _Walk(make_app(app_repo, upstream, ()))
    walk.dir.mkdir(parents=True)
    steps = list(_walked().steps)
    walk.save_steps([V9, V10], steps)
    assert walk.load_steps() == ([V9, V10], steps)
    old = {"planned": [V9], "made": [[V9, "a" * 40, "done", [["loader-symlink", "moved"]]]]}
    walk.steps_file.write_text(json.dumps(old))
    assert walk.load_steps()[1] == [Step(V9, "a" * 40, "done", (("loader-symlink", "moved"),))]
