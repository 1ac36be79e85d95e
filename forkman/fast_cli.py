"""The everyday commands (`overlay status`, `apply`, `guard`) run without importing typer.

typer and building its command tree cost ~40 ms, as much again as these commands' own work on a
thousand overlays. When the words are ones this module reads without doubt (the command, its
known options, plain file names), it runs the command itself; anything else (`-h`, an unknown
option, `--`, a value that looks like an option) goes to the typer app in forkman.cli, which
calls the same functions below, so both ways print and exit the same.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from forkman.core.terminal import printable
from forkman.core.urls import redact_text
from forkman.errors import EXIT_PROBLEMS

if TYPE_CHECKING:
    from forkman.core.values import ProgressFn
    from forkman.store.project import Project


def out(text: str = "") -> None:
    """A line on stdout (as click.echo: flushed, so it keeps its place among stderr's lines)."""
    sys.stdout.write(redact_text(text) + "\n")  # a URL's credentials never reach a terminal
    sys.stdout.flush()


def note(text: str) -> None:
    sys.stderr.write(printable(redact_text(text)) + "\n")  # a message: never read by a program
    sys.stderr.flush()


def colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def project_at(repo: Path | None) -> Project:
    from forkman.store.project import open_project

    return open_project(repo)


@contextlib.contextmanager
def progress() -> Iterator[ProgressFn | None]:
    """A progress bar for long fetches, on stderr, only when a person is watching."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        tasks: dict[str, object] = {}

        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        yield update


def findings(lines: list[str], notes: Sequence[str] = ()) -> None:
    """One finding a line (`path:line: message (hint)`), exit 1 if there is any."""
    for line in notes:
        note(f"forkman: {line}")
    for line in lines:
        out(printable(line))  # names and lines of the pull request's files
    if lines:
        raise SystemExit(EXIT_PROBLEMS)


class _Stderr(logging.Handler):
    """Notices from the layers below (a stale lock cleared) as lines on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        note(record.getMessage())


def notices_to_stderr() -> None:
    log = logging.getLogger("forkman")
    if not any(isinstance(h, _Stderr) for h in log.handlers):
        log.addHandler(_Stderr())
        log.propagate = False


# -- the commands, for this module and for forkman.cli ----------------------------------------
def overlay_status(json_output: bool, repo: Path | None) -> None:
    from forkman.commands.status import status
    from forkman.render import status_json, status_text

    report = status(project_at(repo))
    out(status_json(report) if json_output else status_text(report, colour()))


def apply(repo: Path | None) -> None:
    from forkman.commands.apply import apply as do_apply

    project = project_at(repo)
    with progress() as bar:
        result = do_apply(project, bar)
    if result.cloned:
        out(f"cloned the upstream into {result.checkout}")
    if result.moved:
        out(f"moved the checkout to {result.ref} ({result.commit[:12]})")
    for path in result.written:
        # the paths are the overlays': a pull request's text, escape sequences and all
        out(f"{'deleted' if path in result.deleted else 'wrote'} {printable(path)}")
    for link in result.links:
        out(f"linked {printable(link)}")
    if not (result.written or result.links or result.moved or result.cloned):
        out(
            f"already up to date: {result.ref} ({result.commit[:12]}) plus {len(project.series())} overlays"
        )
    for warning in result.warnings:
        note(f"warning: {warning}")


def guard(files: Sequence[str], install_upstream_hook: bool, repo: Path | None) -> None:
    from forkman.autogpt.blocks import guard_checks
    from forkman.commands.guard import guard as run_guard
    from forkman.commands.guard import install_upstream_hook as install

    project = project_at(repo)
    if install_upstream_hook:
        hook = install(project)
        kept = (
            f"; kept the existing hook as {hook.legacy.name} and chained to it"
            if hook.legacy
            else ""
        )
        note(f"installed {hook.path}{kept}")
    report = run_guard(project, tuple(files), Path.cwd(), guard_checks(project))
    findings([f.text() for f in report.findings], report.notes)


# -- reading the words --------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One of the commands above with its arguments, read from the command line."""

    command: str  # "overlay status", "apply" or "guard"
    repo: Path | None = None
    json_output: bool = False
    install_upstream_hook: bool = False
    files: tuple[str, ...] = ()


_FLAGS = {
    "overlay status": {"--json": "json_output"},
    "apply": {},
    "guard": {"--install-upstream-hook": "install_upstream_hook"},
}


def read_call(args: Sequence[str]) -> Call | None:
    """ARGS as a Call, or None when typer should read them (help, an unknown option, anything
    this reader might take differently from Click)."""
    if args[:2] == ["overlay", "status"]:
        command, rest = "overlay status", list(args[2:])
    elif args[:1] in (["apply"], ["guard"]):
        command, rest = args[0], list(args[1:])
    else:
        return None
    flags: dict[str, bool] = {}
    repo: Path | None = None
    files: list[str] = []
    while rest:
        word = rest.pop(0)
        if word in ("--repo", "-C") and repo is None and rest and _plain(rest[0]):
            repo = Path(rest.pop(0))
        elif word in _FLAGS[command] and _FLAGS[command][word] not in flags:
            flags[_FLAGS[command][word]] = True
        elif command == "guard" and _plain(word):
            files.append(word)
        else:
            return None
    return Call(
        command,
        repo,
        json_output=flags.get("json_output", False),
        install_upstream_hook=flags.get("install_upstream_hook", False),
        files=tuple(files),
    )


def _plain(word: str) -> bool:
    return bool(word) and not word.startswith("-")


def run(call: Call) -> None:
    if call.command == "overlay status":
        overlay_status(call.json_output, call.repo)
    elif call.command == "apply":
        apply(call.repo)
    else:
        guard(call.files, call.install_upstream_hook, call.repo)


def main(args: Sequence[str]) -> bool:
    """Run ARGS here when they are plain (under the one error handler); False: they are not."""
    call = read_call(args)
    if call is None:
        return False
    from forkman.error_handler import run as handled

    notices_to_stderr()
    handled(lambda: run(call))
    return True
