"""The everyday commands (`overlay status`, `apply`, `guard`, `sync`) run without importing typer.

typer and building its command tree cost ~40 ms, as much again as these commands' own work on a
thousand overlays, and a sync that stops pays it again at every `--skip` and `--continue`. When the words are ones this module reads without doubt (the command, its
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
    from forkman.commands.stepwise import WalkReport
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


@dataclass(frozen=True)
class SyncArgs:
    """`sync`'s options (the README's "forkman sync")."""

    to: str | None = None
    pre: bool = False
    check: bool = False
    continue_: bool = False
    abort: bool = False
    skip: bool = False
    fetch: bool = True
    summary: Path | None = None
    stepwise: bool = False
    explain: bool = True
    json_output: bool = False


def sync(args: SyncArgs, repo: Path | None) -> None:
    from forkman import render
    from forkman.commands import stepwise as walk
    from forkman.commands import sync as core
    from forkman.errors import ForkmanError

    project = project_at(repo)
    if sum((args.continue_, args.abort, args.skip, args.check)) > 1:
        raise ForkmanError("use only one of --continue, --abort, --skip and --check")
    if args.stepwise and args.check:
        raise ForkmanError(
            "--stepwise makes each step's sync; it cannot be combined with --check",
            hint="use `forkman sync --check --to RELEASE` for one step",
        )
    walking = walk.in_progress(project)
    with progress() as bar:
        if walking and (args.abort or args.continue_ or args.skip):
            if args.abort:
                result = walk.abort(project)
            else:
                steps = walk.resume(project, skip=args.skip, progress=bar)
                _walk_out(steps, args.summary, args.json_output)
                return
        elif args.stepwise:
            steps = walk.start(project, to=args.to, pre=args.pre, fetch=args.fetch, progress=bar)
            _walk_out(steps, args.summary, args.json_output)
            return
        elif args.abort:
            result = core.abort(project)
        elif args.continue_ or args.skip:
            result = core.resume(project, skip=args.skip, progress=bar)
        else:
            result, _ = core.start(
                project,
                to=args.to,
                pre=args.pre,
                check=args.check,
                fetch=args.fetch,
                progress=bar,
                explain=args.explain,
            )
    if args.summary is not None and result.results:
        args.summary.write_text(render.sync_markdown(result))
    out(render.sync_json(result) if args.json_output else render.sync_text(result, colour()))
    if not result.ok:
        raise SystemExit(EXIT_PROBLEMS)


def _walk_out(steps: WalkReport, summary: Path | None, json_output: bool) -> None:
    from forkman import render

    if summary is not None:
        summary.write_text(render.walk_markdown(steps))
    out(render.walk_json(steps) if json_output else render.walk_text(steps, colour()))
    if not steps.ok:
        raise SystemExit(EXIT_PROBLEMS)


# -- reading the words --------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One of the commands above with its arguments, read from the command line."""

    command: str  # "overlay status", "apply", "guard" or "sync"
    repo: Path | None = None
    json_output: bool = False
    install_upstream_hook: bool = False
    files: tuple[str, ...] = ()
    sync: SyncArgs | None = None


_FLAGS = {
    "overlay status": {"--json": "json_output"},
    "apply": {},
    "guard": {"--install-upstream-hook": "install_upstream_hook"},
    "sync": {"--json": "json_output"},
}
# sync's flags: the field each sets, and to what (a pair like --fetch/--no-fetch sets one field)
_SYNC_FLAGS = {
    "--pre": ("pre", True),
    "--check": ("check", True),
    "--continue": ("continue_", True),
    "--abort": ("abort", True),
    "--skip": ("skip", True),
    "--stepwise": ("stepwise", True),
    "--fetch": ("fetch", True),
    "--no-fetch": ("fetch", False),
    "--explain": ("explain", True),
    "--no-explain": ("explain", False),
}
_SYNC_VALUES = {"--to": "to", "--summary": "summary"}


def read_call(args: Sequence[str]) -> Call | None:
    """ARGS as a Call, or None when typer should read them (help, an unknown option, anything
    this reader might take differently from Click)."""
    if args[:2] == ["overlay", "status"]:
        command, rest = "overlay status", list(args[2:])
    elif args[:1] in (["apply"], ["guard"], ["sync"]):
        command, rest = args[0], list(args[1:])
    else:
        return None
    flags: dict[str, bool] = {}
    repo: Path | None = None
    files: list[str] = []
    sync: dict[str, object] = {}
    while rest:
        word = rest.pop(0)
        if word in ("--repo", "-C") and repo is None and rest and _plain(rest[0]):
            repo = Path(rest.pop(0))
        elif word in _FLAGS[command] and _FLAGS[command][word] not in flags:
            flags[_FLAGS[command][word]] = True
        elif command == "guard" and _plain(word):
            files.append(word)
        elif command == "sync" and word in _SYNC_FLAGS and _SYNC_FLAGS[word][0] not in sync:
            sync[_SYNC_FLAGS[word][0]] = _SYNC_FLAGS[word][1]
        elif (
            command == "sync"
            and word in _SYNC_VALUES
            and _SYNC_VALUES[word] not in sync
            and rest
            and _plain(rest[0])
        ):
            value = rest.pop(0)
            sync[_SYNC_VALUES[word]] = Path(value) if word == "--summary" else value
        else:
            return None
    json_output = flags.get("json_output", False)
    return Call(
        command,
        repo,
        json_output=json_output,
        install_upstream_hook=flags.get("install_upstream_hook", False),
        files=tuple(files),
        sync=SyncArgs(json_output=json_output, **sync) if command == "sync" else None,  # type: ignore[arg-type]
    )


def _plain(word: str) -> bool:
    return bool(word) and not word.startswith("-")


def run(call: Call) -> None:
    if call.command == "overlay status":
        overlay_status(call.json_output, call.repo)
    elif call.command == "apply":
        apply(call.repo)
    elif call.sync is not None:
        sync(call.sync, call.repo)
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
