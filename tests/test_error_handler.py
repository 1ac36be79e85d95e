"""Every way out of main() ends in a documented exit code; a bug is 3, with a log of its own."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, assert_one_line_error, run_main

from forkman import __version__
from forkman.commands import status as status_command
from forkman.errors import EXIT_BROKEN_PIPE


def test_an_overlay_file_that_is_a_symlink_to_itself_is_one_line_exit_2(
    app_with_overlays: Path,
) -> None:
    patch = app_with_overlays / "overlays" / "cost-config.patch"
    patch.unlink()
    patch.symlink_to(patch.name)
    for args in (["overlay", "list"], ["overlay", "status"], ["guard"], ["apply"]):
        run = run_main(args, app_with_overlays)
        assert_one_line_error(run, "cost-config.patch")


def _crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug for the test\nwith a second line")

    monkeypatch.setattr(status_command, "status", broken)


def test_a_bug_is_exit_3_with_one_line_and_a_log_in_the_app_repos_state_folder(
    app_with_overlays: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _crash(monkeypatch)
    first = run_main(["overlay", "status"], app_with_overlays)
    second = run_main(["overlay", "status"], app_with_overlays)
    for run in (first, second):
        assert run.exit_code == 3 and run.stdout == ""
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "internal error" in run.stderr and "Traceback" not in run.stderr
    logs = sorted((app_with_overlays / ".git" / "forkman").glob("crash-*.log"))
    assert len(logs) == 2  # one file per crash, never a fixed name
    for log in logs:
        assert str(log) in first.stderr or str(log) in second.stderr
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
        text = log.read_text()
        assert f"forkman {__version__}" in text
        assert "\ngit 2." in text and "\nPython 3." in text
        assert "Traceback" in text and "RuntimeError: a bug for the test" in text


def test_without_an_app_repo_the_log_goes_to_the_users_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("no app repo, still a bug")

    monkeypatch.setattr("forkman.store.project.open_project", broken)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = run_main(["overlay", "list"], elsewhere)
    assert run.exit_code == 3 and len(run.stderr.strip().splitlines()) == 1
    (log,) = (state / "forkman").glob("crash-*.log")
    assert str(log) in run.stderr and "ValueError: no app repo" in log.read_text()


def test_a_bug_whose_log_cannot_be_written_is_still_one_line_exit_3(
    app_with_overlays: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _crash(monkeypatch)
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocked))  # a file where a folder would go
    state = app_with_overlays / ".git" / "forkman"
    if state.exists():
        shutil.rmtree(state)
    state.write_text("")  # a file where the state folder would go (root ignores modes)
    run = run_main(["overlay", "status"], app_with_overlays)
    assert run.exit_code == 3 and len(run.stderr.strip().splitlines()) == 1
    assert "could not write its log" in run.stderr


_LONG_OUTPUT = """
import typer
from forkman.error_handler import run

run(lambda: [typer.echo(f"overlay-{i}") for i in range(200_000)])
"""


@pytest.mark.parametrize("reader_leaves", [True, False])
def test_a_reader_that_leaves_early_ends_forkman_silently_as_git_does(
    tmp_path: Path, reader_leaves: bool
) -> None:
    # `forkman overlay list | head -1`: the pipe closes under forkman's feet; git exits 141
    # without a word, and a script's `set -o pipefail` sees the same code from either tool.
    writer = subprocess.Popen(
        [sys.executable, "-c", _LONG_OUTPUT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert writer.stdout is not None and writer.stderr is not None
    first = writer.stdout.readline()
    if reader_leaves:
        writer.stdout.close()
        rest = b""
    else:
        rest = writer.stdout.read()
    errors = writer.stderr.read()
    code = writer.wait()
    assert first == b"overlay-0\n"
    assert errors == b""
    if reader_leaves:
        assert code == EXIT_BROKEN_PIPE
        assert not list(tmp_path.rglob("crash-*.log"))
    else:
        assert code == 0
        assert rest.endswith(b"overlay-199999\n")


@pytest.mark.parametrize(
    "args",
    [["overlay", "list"], ["overlay", "status"], ["overlay", "status", "--json", "--json"]],
    ids=["typer", "fast", "fast-command-through-typer"],
)
def test_a_reader_gone_before_the_first_line_is_141_through_every_way_in(
    app_with_overlays: Path, args: list[str]
) -> None:
    # Click's own main turns any broken pipe into a silent exit 1 ("problems found")
    reader, writer = os.pipe()
    os.close(reader)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "forkman", *args],
            stdout=writer,
            stderr=subprocess.PIPE,
            cwd=app_with_overlays,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=False,
        )
    finally:
        os.close(writer)
    assert (proc.returncode, proc.stderr) == (EXIT_BROKEN_PIPE, b"")
    assert not list(app_with_overlays.rglob("crash-*.log"))


@pytest.mark.parametrize("args", [["--version"], ["overlay", "status"], ["overlay", "list"]])
def test_a_closed_stdout_is_not_a_bug(app_with_overlays: Path, args: list[str]) -> None:
    # a job started with stdout closed (`>&-`): Python has no sys.stdout at all
    proc = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "forkman", *args],
        capture_output=True,
        text=True,
        cwd=app_with_overlays,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert not list(app_with_overlays.rglob("crash-*.log"))
