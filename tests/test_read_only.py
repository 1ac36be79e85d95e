"""Read-only places (a mount, a CI cache): a sync that would write refuses before it begins; a
check and an apply with nothing to do need no writing. Bind mounts made read-only by the test."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import forkman, make_app

from forkman.store.project import Project

V9 = "autogpt-platform-beta-v0.6.9"


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a read-only bind mount needs root and mount(8)")
    made = subprocess.run(
        ["mount", "--bind", str(folder), str(folder)], capture_output=True, check=False
    )
    if made.returncode:
        pytest.skip(f"cannot bind-mount here: {made.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.fixture
def project(upstream: Path, app_repo: Path) -> Project:
    return make_app(app_repo, upstream)


def test_sync_on_a_read_only_checkout_refuses_before_it_begins(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    with read_only(project.checkout):
        code, _ = forkman(capsys, "sync", "--to", V9, repo=project.root)
        err = forkman.last_err  # type: ignore[attr-defined]
        assert code == 2 and "read-only" in err and len(err.strip().splitlines()) == 1
        assert not project.sync_in_progress()


def test_apply_with_nothing_to_do_on_a_read_only_checkout(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    assert forkman(capsys, "apply", repo=project.root)[0] == 0  # up to date
    with read_only(project.checkout):
        code, _ = forkman(capsys, "apply", repo=project.root)
        assert code == 0, forkman.last_err  # type: ignore[attr-defined]


def test_check_on_a_read_only_app_repo(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    with read_only(project.root / ".git"), read_only(project.root / "overlays"):
        code, _ = forkman(capsys, "sync", "--check", "--to", V9, repo=project.root)
        assert code == 0, forkman.last_err  # type: ignore[attr-defined]
