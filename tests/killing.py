"""Killing forkman at a chosen moment: a `git` on PATH that sends SIGKILL to forkman, its parent."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from helpers import ROOT

SHIM = """#!/bin/sh
# forkman's Nth git call kills forkman; git's own calls of git (its parent is git) pass
# (or, with KILL_ON, the first call whose arguments contain KILL_ON)
if [ -n "$KILL_AT$KILL_ON" ] && grep -q python "/proc/$PPID/comm" 2>/dev/null; then
    n=$(( $(cat "$KILL_DIR/count" 2>/dev/null || echo 0) + 1 ))
    echo "$n" > "$KILL_DIR/count"
    if [ "$n" = "$KILL_AT" ]; then kill -"${{KILL_SIGNAL:-9}}" "$PPID"; sleep 5; exit 137; fi
    case " $* " in *" $KILL_ON "*) [ -n "$KILL_ON" ] && kill -"${{KILL_SIGNAL:-9}}" "$PPID" && sleep 5 && exit 137;; esac
fi
exec "{git}" "$@"
"""


def install_shim(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "git").write_text(SHIM.format(git=shutil.which("git")))
    (folder / "git").chmod(0o755)
    return folder


def _env(kill_dir: Path, at: int | None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), KILL_DIR=str(kill_dir))
    env["PATH"] = f"{kill_dir}{os.pathsep}{env['PATH']}"
    if at is not None:
        env["KILL_AT"] = str(at)
    return env


def run_forkman(
    app: Path,
    *args: str,
    kill_dir: Path | None = None,
    at: int | None = None,
    on: str | None = None,
    delay: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m forkman ARGS` in APP; killed at git call AT, at the call containing ON, or after DELAY."""
    env = _env(kill_dir, at) if kill_dir else dict(os.environ, PYTHONPATH=str(ROOT))
    if on is not None:
        env["KILL_ON"] = on
    proc = subprocess.Popen(
        [sys.executable, "-m", "forkman", *args],
        cwd=app,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    if delay is not None:
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            # forkman alone, as an OOM kill takes it: a git it started runs on to its end
            # (killing the group would also kill a local fork's receive-pack mid-update,
            # which leaves a stale ref lock in the fork: the remote's state, not forkman's)
            os.kill(proc.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
