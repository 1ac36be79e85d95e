"""`python -m forkman` as a separate process: what a user's shell (or CI) actually runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import (
    CHECKOUT,
    INIT_OPTIONS,
    assert_one_line_error,
    run_subprocess,
    tree_snapshot,
)

from forkman import __version__
from forkman.autogpt.example import OVERLAYS


def test_version_and_help(tmp_path: Path) -> None:
    version = run_subprocess(["--version"], tmp_path)
    assert version.exit_code == 0 and __version__ in version.stdout

    for args in (["--help"], ["overlay", "--help"], ["init", "--help"]):
        shown = run_subprocess(args, tmp_path)
        assert shown.exit_code == 0, shown
        assert "Usage" in shown.stdout
    assert {"init", "apply", "link", "overlay"} <= set(
        run_subprocess(["--help"], tmp_path).stdout.split()
    )


def test_init_capture_apply_status_in_a_shell(app_repo: Path, upstream: Path) -> None:
    def forkman(*args: str) -> str:
        result = run_subprocess(list(args), app_repo)
        assert result.exit_code == 0, result
        return result.stdout

    forkman(
        "init",
        "--upstream",
        str(upstream),
        *INIT_OPTIONS,
    )
    checkout = app_repo / CHECKOUT
    for name, (subject, body, edit) in OVERLAYS.items():
        edit(checkout)
        forkman("overlay", "capture", name, "-m", f"{subject}\n\n{body}")
    by_hand = tree_snapshot(checkout)

    shutil.rmtree(checkout)
    forkman("apply")

    assert tree_snapshot(checkout) == by_hand
    report = json.loads(forkman("overlay", "status", "--json"))
    assert [(o["name"], o["state"]) for o in report["overlays"]] == [
        (n, "applied") for n in OVERLAYS
    ]
    assert report["clean"] is True


def test_errors_exit_2_with_one_line(app_with_overlays: Path) -> None:
    assert_one_line_error(
        run_subprocess(["overlay", "show", "nope"], app_with_overlays), "llm-models"
    )
    (app_with_overlays / "forkman.yaml").write_text("upstream: [\n")
    assert_one_line_error(run_subprocess(["apply"], app_with_overlays), "forkman.yaml:")


def test_the_installed_console_script(app_with_overlays: Path) -> None:
    """`forkman` as pip installs it (the venv's bin/forkman), not `python -m forkman`."""
    script = Path(sys.executable).with_name("forkman")
    assert script.is_file(), f"no {script}: install forkman into this venv (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *args],
            cwd=app_with_overlays,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    version = run("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"forkman {__version__}")
    listed = run("overlay", "list")
    assert listed.returncode == 0
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == list(OVERLAYS)
    where = run("overlay", "show", "nope")
    assert where.returncode == 2 and len(where.stderr.strip().splitlines()) == 1
