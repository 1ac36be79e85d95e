"""`overlay status`, `apply` and `guard` without typer: the words read the way Click reads them,
anything else left to typer, and the same output and exit codes either way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import new_app_repo
from helpers import ROOT, make_app, run_main, run_subprocess, snapshot

from forkman.fast_cli import Call, SyncArgs, read_call


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
        (["sync"], Call("sync", sync=SyncArgs())),
        (
            ["sync", "--to", "v2", "--no-fetch", "--json", "-C", "app"],
            Call("sync", Path("app"), True, sync=SyncArgs(to="v2", fetch=False, json_output=True)),
        ),
        (
            ["sync", "--skip", "--json"],
            Call("sync", json_output=True, sync=SyncArgs(skip=True, json_output=True)),
        ),
        (["sync", "--continue"], Call("sync", sync=SyncArgs(continue_=True))),
        (
            ["sync", "--check", "--no-explain", "--summary", "pr.md", "--pre"],
            Call("sync", sync=SyncArgs(check=True, explain=False, summary=Path("pr.md"), pre=True)),
        ),
        # the checks of sync's own body answer these, the same either way
        (["sync", "--skip", "--abort"], Call("sync", sync=SyncArgs(skip=True, abort=True))),
        (["sync", "--stepwise", "--fetch"], Call("sync", sync=SyncArgs(stepwise=True))),
    ],
)
def test_plain_words_are_read_here(args: list[str], call: Call) -> None:
    assert read_call(args) == call


@pytest.mark.parametrize(
    "args",
    [
        [],
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
        ["sync", "-h"],
        ["sync", "--to"],
        ["sync", "--to", "--json"],
        ["sync", "--to=v2"],
        ["sync", "--to", "a", "--to", "b"],
        ["sync", "--fetch", "--no-fetch"],  # Click takes the last: left to it
        ["sync", "--skip", "--skip"],
        ["sync", "v2"],
        ["sync", "--summary", ""],
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


def test_status_on_a_recorded_stack_imports_no_patch_parser(app_with_overlays: Path) -> None:
    """The stack record answers, so no patch is parsed: neither the parser nor the journal's
    model is imported, nor concurrent.futures or platform (together ~10 ms of start-up)."""
    run_subprocess(["overlay", "status"], app_with_overlays)  # the record, written
    imported = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "forkman", "overlay", "status"],
        cwd=app_with_overlays,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    modules = {line.rsplit("|", 1)[-1].strip() for line in imported.stderr.splitlines()}
    assert "forkman.store.stackrecord" in modules
    heavy = {"forkman.core.patches", "forkman.core.overlay", "forkman.store.journal"}
    assert modules & {*heavy, "concurrent.futures", "platform"} == set()


def test_guard_findings_and_errors_exit_alike(app_with_overlays: Path) -> None:
    (app_with_overlays / "forkman.lock").write_text("{ not json")
    for args in (["guard"], ["apply"], ["overlay", "status"]):
        fast = run_subprocess(args, app_with_overlays)
        typer_way = run_main(args, app_with_overlays)
        assert fast.exit_code == typer_way.exit_code != 0, args
        assert (fast.stdout, fast.stderr) == (typer_way.stdout, typer_way.stderr), args


def test_a_sync_with_stops_goes_alike_either_way(upstream: Path, tmp_path: Path) -> None:
    """The same sync, `--skip` and `--continue` on two twin apps, one through this module (in its
    own process, without typer), one through typer: the same output, exit codes and trees."""
    fast_app, typer_app = (make_app(new_app_repo(tmp_path / n), upstream) for n in ("a", "b"))
    steps = [["sync", "--no-fetch", "--json"], ["sync", "--skip", "--json"], ["sync", "--continue"]]
    for args in steps:
        fast = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "forkman", *args],
            cwd=fast_app.root,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=False,
        )
        modules = {line.rsplit("|", 1)[-1].strip() for line in fast.stderr.splitlines()}
        assert not {m for m in modules if m.split(".")[0] in ("typer", "click")}, args
        typer_way = run_main(args, typer_app.root)
        assert (fast.returncode, fast.stdout) == (typer_way.exit_code, typer_way.stdout), args
        assert snapshot(fast_app) == snapshot(typer_app), args
    assert fast.returncode == typer_way.exit_code == 2  # --continue with nothing resolved


def test_sync_errors_exit_alike(app_with_overlays: Path) -> None:
    for args in (["sync", "--skip"], ["sync", "--check", "--skip"], ["sync", "--abort"]):
        fast = run_subprocess(args, app_with_overlays)
        typer_way = run_main(args, app_with_overlays)
        assert fast.exit_code == typer_way.exit_code != 0, args
        assert (fast.stdout, fast.stderr) == (typer_way.stdout, typer_way.stderr), args
