"""Running forkman and pre-commit as subprocesses for the guard tests: this repo importable, no network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import ROOT


def forkman_env(tmp: Path) -> dict[str, str]:
    """The environment for `python -m forkman` and pre-commit: this repo importable, no network."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["PRE_COMMIT_HOME"] = str(tmp / "pre-commit-home")
    env["PIP_NO_INDEX"] = "1"
    return env


def forkman(args: list[str], cwd: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "forkman", *args],
        cwd=cwd,
        env=forkman_env(tmp),
        capture_output=True,
        text=True,
        check=False,
    )
