"""kill -9 during `forkman import`: before its commit point nothing changed, after it the next run finishes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ForkmanRunner
from helpers import wait_for
from import_setup import CHECKOUT, app_state, make_app, make_lib, quilt_folder, tree

ROOT = Path(__file__).resolve().parents[1]

# Runs forkman with SIGKILL sent to itself at the commit point: right after the staged files and
# the plan were published, before any of them moved into the app repo.
KILL_AT_COMMIT_POINT = """
import os, signal, sys
from forkman.store import pending_import
finish = pending_import.finish
calls = []
def dying(project):
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return finish(project)
pending_import.finish = dying
from forkman.cli import main
sys.argv = ["forkman", *sys.argv[1:]]
main()
"""


@pytest.fixture
def app(app_repo: Path, tmp_path: Path, forkman_run: ForkmanRunner) -> Path:
    return make_app(app_repo, make_lib(tmp_path), forkman_run)


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def test_kill_9_while_a_patch_applies_changes_nothing(
    app: Path, tmp_path: Path, forkman_run: ForkmanRunner
) -> None:
    folder = quilt_folder(tmp_path)
    before, checkout = app_state(app), tree(app / CHECKOUT)
    started = tmp_path / "patch-started"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "patch").write_text(f"#!/bin/sh\ntouch '{started}'\nexec sleep 30\n")
    (bin_dir / "patch").chmod(0o755)
    proc = subprocess.Popen(
        [sys.executable, "-m", "forkman", "import", "--quilt", str(folder)],
        cwd=app,
        env=dict(_env(), PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(started, proc)
    assert started.exists()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    assert app_state(app) == before and tree(app / CHECKOUT) == checkout
    run = forkman_run("import", "--quilt", str(folder), cwd=app, expect=1)
    assert "imported 3 of 5" in run.stdout


def test_kill_9_at_the_commit_point_then_the_next_import_finishes_it(
    app: Path, tmp_path: Path, forkman_run: ForkmanRunner
) -> None:
    folder = quilt_folder(tmp_path)
    before = app_state(app)
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT_COMMIT_POINT, "import", "--quilt", str(folder)],
        cwd=app,
        env=_env(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL
    assert app_state(app) == before  # staged inside .git only

    run = forkman_run("import", "--quilt", str(folder), cwd=app)
    assert "finished the import that was interrupted: fix-main, p0_new, crlf" in run.stdout
    assert (app / "overlays" / "series").read_text() == "# from upstream\nfix-main\np0_new\ncrlf\n"
    assert forkman_run("guard", cwd=app).exit_code == 0
    assert "LINE 4" in (app / CHECKOUT / "src" / "main.c").read_text()
    # run again: now it is a fresh import, and every name is taken
    run = forkman_run("import", "--quilt", str(folder), "--dry-run", cwd=app, expect=1)
    assert "fix-main-2" in run.stdout
