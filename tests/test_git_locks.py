"""git's index lock in the checkout: one a killed forkman left is cleared with a notice, one of
unknown origin is named (status, guard, the refusing command), and a held one is waited for."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from helpers import forkman, make_app

from forkman.git import runner
from forkman.store.project import Project

V9 = "autogpt-platform-beta-v0.6.9"


@pytest.fixture
def project(upstream: Path, app_repo: Path) -> Project:
    return make_app(app_repo, upstream)


def _killed_forkman_left(project: Project) -> Path:
    """The state kill -9 during a sync's `git checkout` leaves: forkman's note of itself in its
    lock file (a pid that is gone) and git's index lock, made after forkman started."""
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    state = project.state_dir()
    state.mkdir(parents=True, exist_ok=True)
    (state / "lock").write_text(f"{dead} {time.time() - 5:.6f} start\n")
    lock = project.checkout / ".git" / "index.lock"
    lock.write_bytes(b"")
    return lock


def test_a_lock_a_killed_forkman_left_is_cleared_with_a_notice(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    lock = _killed_forkman_left(project)
    code, _ = forkman(capsys, "sync", "--to", V9, repo=project.root)
    assert code == 0 and not lock.exists()
    notice = forkman.last_err  # type: ignore[attr-defined]
    assert "removed" in notice and str(lock) in notice and "killed" in notice


def test_a_lock_of_unknown_origin_is_named_not_removed(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    lock = project.checkout / ".git" / "index.lock"
    lock.write_bytes(b"")
    code, out = forkman(capsys, "overlay", "status", repo=project.root)
    assert str(lock) in out + forkman.last_err  # type: ignore[attr-defined]
    code, out = forkman(capsys, "guard", repo=project.root)
    assert code == 1 and "index.lock" in out + forkman.last_err  # type: ignore[attr-defined]
    code, _ = forkman(capsys, "sync", "--to", V9, repo=project.root)
    err = forkman.last_err  # type: ignore[attr-defined]
    assert code == 2 and str(lock) in err and len(err.strip().splitlines()) == 1
    assert lock.exists() and not project.sync_in_progress()


def _held_for(lock: Path, seconds: float) -> threading.Timer:
    """git's lock taken now, as a `git status` takes it, and let go after SECONDS."""
    fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)

    def release() -> None:
        os.close(fd)
        os.unlink(lock)

    timer = threading.Timer(seconds, release)
    timer.start()
    return timer


def test_sync_waits_for_a_lock_held_for_a_moment(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    timer = _held_for(project.checkout / ".git" / "index.lock", 0.3)
    code, _ = forkman(capsys, "sync", "--to", V9, repo=project.root)
    timer.join()
    assert code == 0, forkman.last_err  # type: ignore[attr-defined]
    assert project.lock().ref == V9


def test_a_git_command_waits_for_a_lock_held_for_a_moment(project: Project) -> None:
    """The runner retries git's "Unable to create ... index.lock" instead of failing midway."""
    (project.checkout / "README.md").write_text("changed\n")
    timer = _held_for(project.checkout / ".git" / "index.lock", 0.3)
    runner.git("checkout", "-q", "--", "README.md", cwd=project.checkout)
    timer.join()
    assert (project.checkout / "README.md").read_text() != "changed\n"


def test_what_a_killed_forkman_left_is_swept_by_the_next_command(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    """Its temporary files (beside the lock, in overlays/, in the checkout) and scratch folders:
    never taken for a person's edit, removed by the next command that writes."""
    _killed_forkman_left(project).unlink()
    dead = int((project.state_dir() / "lock").read_text().split()[0])
    left = [
        project.root / f".forkman.lock.{dead}.0123abcd.tmp",
        project.overlays_dir / f".llm-models.patch.{dead}.0123abcd.tmp",
        project.checkout / "autogpt_platform" / f".README.md.{dead}.0123abcd.tmp",
    ]
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half\n")
    scratch = Path("/dev/shm" if os.path.isdir("/dev/shm") else "/tmp") / f"forkman-{dead}-merge-x"
    scratch.mkdir(exist_ok=True)
    code, out = forkman(capsys, "guard", repo=project.root)
    assert code == 0, out + forkman.last_err  # type: ignore[attr-defined]
    code, _ = forkman(capsys, "apply", repo=project.root)
    assert code == 0 and not any(p.exists() for p in left) and not scratch.exists()
