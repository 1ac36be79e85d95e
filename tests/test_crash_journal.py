"""A sync's journal under damage and interruption: --abort restores from the plain-file backups
even when journal.json cannot be read, the end of a sync is one rename, and a --continue killed
after it recorded the resolution is taken up by the next one. Real git in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import forkman, git, make_app, snapshot
from killing import install_shim, run_forkman

from forkman.autogpt.example import BLOCKS_INIT, LLM_PY, OVERLAYS
from forkman.store.journal import Journal
from forkman.store.project import Project

V9 = "autogpt-platform-beta-v0.6.9"


@pytest.fixture
def stopped(
    upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[Project, dict[str, object]]:
    """An app whose sync to the newest release stopped on a conflict, and its state before."""
    project = make_app(app_repo, upstream)
    before = snapshot(project, refs=False)
    code, _ = forkman(capsys, "sync", repo=project.root)
    assert code == 1 and project.sync_in_progress()
    return project, before


def test_abort_restores_from_the_backups_when_the_journal_is_damaged(stopped, capsys) -> None:  # type: ignore[no-untyped-def]
    project, before = stopped
    Journal(project).file.write_text('{"from": {"ref": ')  # a torn write, a bad merge, a disk
    code, out = forkman(capsys, "sync", "--abort", repo=project.root)
    assert code == 0 and "restored from the backups" in out
    assert not project.sync_in_progress()
    assert snapshot(project, refs=False) == before


@pytest.mark.parametrize("command", [("sync", "--continue"), ("apply",)])
def test_a_damaged_journal_points_at_abort_not_in_a_circle(stopped, capsys, command) -> None:  # type: ignore[no-untyped-def]
    project, _ = stopped
    Journal(project).file.write_text("not json")
    code, _ = forkman(capsys, *command, repo=project.root)
    assert code == 2 and "--abort" in forkman.last_err  # type: ignore[attr-defined]
    code, _ = forkman(capsys, "sync", "--abort", repo=project.root)
    assert code == 0


def test_abort_says_what_it_could_not_restore_and_keeps_the_backups(stopped, capsys) -> None:  # type: ignore[no-untyped-def]
    project, _ = stopped
    journal = Journal(project)
    (journal.backup / "forkman.lock").unlink()
    code, _ = forkman(capsys, "sync", "--abort", repo=project.root)
    err = forkman.last_err  # type: ignore[attr-defined]
    assert code == 2 and "forkman.lock" in err and len(err.strip().splitlines()) == 1
    assert (journal.backup / "overlays").is_dir()  # kept for a person to finish by hand


def test_the_checkout_backup_is_plain_files(stopped) -> None:  # type: ignore[no-untyped-def]
    project, _ = stopped
    journal = Journal(project)
    data = json.loads(journal.file.read_text())
    assert data["version"] == 1 and "checkout_backup" not in data
    tree = journal.backup / "checkout" / "tree"
    pinned = (tree / next(iter(journal.checkout_backup()))).read_bytes()
    assert pinned  # a person can read (and copy back) what was there
    assert (journal.backup / "HEAD").read_text().strip() == data["head"]


def test_a_finished_sync_leaves_no_journal_even_when_killed_while_deleting(stopped, capsys) -> None:  # type: ignore[no-untyped-def]
    """The end is one rename: what a kill during the delete leaves is a folder nobody reads."""
    project, _ = stopped
    state = project.state_dir()
    # as a kill in the middle of deleting the renamed folder leaves it: backups gone, journal there
    leftover = state / "sync.finished.dead"
    (leftover / "backup").mkdir(parents=True)
    (leftover / "journal.json").write_text("{}")
    code, _ = forkman(capsys, "sync", "--abort", repo=project.root)
    assert code == 0 and not project.sync_in_progress()
    code, _ = forkman(capsys, "apply", repo=project.root)
    assert code == 0 and not leftover.exists()


def test_a_continue_killed_after_it_took_the_resolution_is_taken_up_by_the_next(
    stopped, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The resolution is in the journal before anything else: the next --continue goes on with it."""
    project, _ = stopped
    checkout = project.checkout
    git(checkout, "checkout", "--ours", "--", BLOCKS_INIT)
    OVERLAYS["loader-symlink"][2](checkout)
    resolved = (checkout / BLOCKS_INIT).read_bytes()
    shim = install_shim(tmp_path / "shim")
    # `git reset -q -- PATH` unstages the conflict right after the resolution is recorded
    killed = run_forkman(project.root, "sync", "--continue", kill_dir=shim, on="reset")
    assert killed.returncode == -9
    after = run_forkman(project.root, "sync", "--continue")
    assert after.returncode == 1 and "llm-models" in after.stdout, after.stderr  # the next stop
    data = json.loads(Journal(project).file.read_text())
    assert data["current"] == "llm-models" and "loader-symlink" in data["overrides"]
    git(checkout, "checkout", "--ours", "--", LLM_PY)
    OVERLAYS["llm-models"][2](checkout)
    done = run_forkman(project.root, "sync", "--continue")
    assert done.returncode == 0, done.stderr
    assert (checkout / BLOCKS_INIT).read_bytes() == resolved


def test_ctrl_c_during_apply_says_what_to_do_about_apply(
    upstream: Path, app_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not the sync hint: no sync is under way, and running apply again finishes it."""
    project = make_app(app_repo, upstream)
    git(project.checkout, "checkout", "-q", "-f", "--", ".")
    monkeypatch.setenv("KILL_SIGNAL", "INT")  # Ctrl-C, at forkman's second git call
    interrupted = run_forkman(project.root, "apply", kill_dir=install_shim(tmp_path / "shim"), at=2)
    lines = interrupted.stderr.strip().splitlines()
    assert interrupted.returncode == 130 and len(lines) == 1, interrupted.stderr
    assert "interrupted during `apply`" in lines[0] and "sync" not in lines[0]
    assert run_forkman(project.root, "apply").returncode == 0


@pytest.mark.parametrize("command", [("sync",), ("sync", "--abort"), ("sync", "--continue")])
def test_a_stray_file_where_the_sync_folder_goes_is_named_and_left_alone(  # type: ignore[no-untyped-def]
    upstream, app_repo, capsys, command
) -> None:
    project = make_app(app_repo, upstream)
    before = snapshot(project, refs=False)
    stray = Journal(project).dir
    stray.write_text("someone's notes\n")
    code, _ = forkman(capsys, *command, repo=project.root)
    err = forkman.last_err  # type: ignore[attr-defined]
    assert code == 2 and "in the way" in err and str(stray) in err
    assert len(err.strip().splitlines()) == 1
    assert stray.read_text() == "someone's notes\n"
    assert snapshot(project, refs=False) == before
    assert [p.name for p in stray.parent.iterdir() if p.name.startswith("sync.")] == []
