"""`overlay status`, `apply` and `guard` without typer: the words read the way Click reads them,
anything else left to typer, and the same output and exit codes either way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, run_main, run_subprocess

from forkman.fast_cli import Call, read_call


@pytest.mark.parametrize(
    ("args", "call"),
    [
        (["overlay", "status"], Call("overlay status")),
        (["overlay", "status", "--json"], Call("overlay status", json_output=True)),
        (["overlay", "status", "-C", "app", "--json"], Call("overlay status", Path("app"), True)),
        (["apply", "--repo", "x y"], Call("apply", Path("x y"))),
        (["guard"], Call("guard")),
        (
            ["guard", "a.py", "-C", "app", "b c.md"],
            Call("guard", Path("app"), files=("a.py", "b c.md")),
        ),
        (["guard", "--install-upstream-hook"], Call("guard", install_upstream_hook=True)),
    ],
)
def test_plain_words_are_read_here(args: list[str], call: Call) -> None:
    assert read_call(args) == call


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["sync"],
        ["overlay", "list"],
        ["overlay", "status", "-h"],
        ["overlay", "status", "--help"],
        ["overlay", "status", "--json", "--json"],
        ["overlay", "status", "extra"],
        ["apply", "--repo"],  # no value: Click's own message
        ["apply", "--repo", "--json"],  # a value that looks like an option
        ["apply", "-C", "a", "-C", "b"],
        ["apply", "--repo=app"],
        ["guard", "--", "-odd-name.py"],
        ["guard", "--bogus"],
        ["guard", ""],
    ],
)
def test_anything_else_is_left_to_typer(args: list[str]) -> None:
    assert read_call(args) is None


def test_status_needs_no_typer_and_says_what_typer_would(app_with_overlays: Path) -> None:
    imported = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "forkman", "overlay", "status", "--json"],
        cwd=app_with_overlays,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    modules = {line.rsplit("|", 1)[-1].strip() for line in imported.stderr.splitlines()}
    assert not {m for m in modules if m.split(".")[0] in ("typer", "click", "rich", "git")}
    typer_way = run_main(["overlay", "status", "--json"], app_with_overlays)  # forkman.cli
    assert (typer_way.exit_code, typer_way.stdout) == (0, imported.stdout)


def test_guard_findings_and_errors_exit_alike(app_with_overlays: Path) -> None:
    (app_with_overlays / "forkman.lock").write_text("{ not json")
    for args in (["guard"], ["apply"], ["overlay", "status"]):
        fast = run_subprocess(args, app_with_overlays)
        typer_way = run_main(args, app_with_overlays)
        assert fast.exit_code == typer_way.exit_code != 0, args
        assert (fast.stdout, fast.stderr) == (typer_way.stdout, typer_way.stderr), args
