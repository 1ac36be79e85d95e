"""The one top-level error handler: every way out of `forkman` ends in a documented exit code.

ForkmanError: its own code (2 bad input, 1 problems found), one line. The machine refusing
a write (full disk, read-only folder, ...): 2, one line. Ctrl-C: 130. Anything else is a
bug: 3, one line naming a log (forkman's, git's and Python's versions, the traceback) written
to a new file of its own in forkman's state folder.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import select
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from forkman import __version__
from forkman.core.terminal import printable
from forkman.core.urls import redact_text
from forkman.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_USER_ERROR,
    ForkmanError,
    Interrupted,
)

_INTERRUPTED = (
    "forkman: interrupted (a sync stopped midway resumes with `forkman sync --continue` "
    "or is undone with `forkman sync --abort`)"
)

# The machine or the user's files, not forkman: one line and exit 2 (ELOOP: a file that is a
# symlink to itself, or a loop of them).
_MACHINE_ERRORS = {
    errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR,
    errno.ENOTDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP, errno.EMFILE, errno.ENFILE,
    errno.EIO, errno.ETXTBSY, errno.EMLINK, errno.EXDEV, errno.EFBIG,
}  # fmt: skip
_MACHINE_HINT = (
    "files are written whole or not at all, so nothing is half-written: fix this, then run "
    "the command again; a sync under way resumes with `forkman sync --continue` or is undone "
    "with `forkman sync --abort`"
)


def _interrupted_text(exc: BaseException) -> str:
    """What the interrupted command said about itself (forkman.errors.Interrupted), if anything."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, Interrupted):
            return seen.message
        seen = seen.__context__
    return Interrupted.last or _INTERRUPTED


def _note(text: str) -> None:
    sys.stderr.write(printable(redact_text(text)) + "\n")  # not typer: fast_cli runs without it
    sys.stderr.flush()


def _typer_exit(exc: BaseException | None) -> bool:
    typer = sys.modules.get("typer")  # only a command that typer ran can end in typer.Exit
    return typer is not None and isinstance(exc, typer.Exit)


def run(app: Callable[[], object]) -> None:
    """Run APP; one handler maps errors to exit codes and one-line messages."""
    try:
        try:
            app()
        finally:
            # The last of the output is still in the buffer: a reader gone away shows here.
            sys.stdout.flush()
    except SystemExit as exc:
        # typer turns Ctrl-C into a silent exit 130: say what happened, as for any interrupt
        if exc.code == EXIT_INTERRUPTED and _typer_exit(exc.__context__):
            _note(_interrupted_text(exc))
        raise
    except ForkmanError as exc:
        _note(f"forkman: error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        _note(_interrupted_text(exc))
        sys.exit(EXIT_INTERRUPTED)
    except shutil.Error as exc:  # copytree's list of (source, destination, why)
        failed = exc.args[0][0] if exc.args and isinstance(exc.args[0], list) else None
        where = f"{failed[1]}: {failed[2]}" if failed and len(failed) == 3 else str(exc)
        _note(f"forkman: error: {where} ({_MACHINE_HINT})")
        sys.exit(EXIT_USER_ERROR)
    except BrokenPipeError as exc:
        if not _reader_gone():
            _bug(exc)
        _quiet_exit()
    except OSError as exc:
        if exc.errno not in _MACHINE_ERRORS:
            _bug(exc)
        _note(f"forkman: error: {exc.filename or 'a file'}: {exc.strerror} ({_MACHINE_HINT})")
        sys.exit(EXIT_USER_ERROR)
    except Exception as exc:
        _bug(exc)


def _reader_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it (`forkman overlay list | head -1`).

    A broken pipe to one of forkman's own git processes is a bug; the user's `head` leaving
    early is not. Linux and the BSDs report the closed reader as POLLERR on the write end.
    """
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _quiet_exit() -> None:
    """Leave as git does when its reader goes away: silently, with 128 + SIGPIPE."""
    # Python flushes stdout once more on the way out; into a closed pipe that would print
    # "Exception ignored ... BrokenPipeError" after all.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_BROKEN_PIPE)


def _bug(exc: BaseException) -> None:
    """Exit 3 with one line; the details go to a log of their own."""
    summary = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    try:
        log = write_log(_report(exc), state_folders(sys.argv[1:], Path.cwd()))
    except OSError as failed:
        _note(f"forkman: internal error (a bug): {summary}; could not write its log ({failed})")
    else:
        _note(f"forkman: internal error (a bug): {summary}; details in {log} (please report it)")
    sys.exit(EXIT_INTERNAL)


def _report(exc: BaseException) -> str:
    import platform  # only a crash needs it: ~1 ms of every command's start-up

    try:
        from forkman.git.runner import git_version

        git = ".".join(str(p) for p in git_version())
    except Exception as failed:
        git = f"unknown ({type(failed).__name__})"
    lines = [
        f"forkman {__version__}",
        f"git {git}",
        f"Python {platform.python_version()} ({sys.executable}) on {platform.platform()}",
        f"command: forkman {' '.join(sys.argv[1:])}",
        f"cwd: {os.getcwd()}",
        "",
        *traceback.format_exception(type(exc), exc, exc.__traceback__),
    ]
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"


def state_folders(args: Sequence[str], cwd: Path) -> list[Path]:
    """Where a crash log may go, best first: the app repo's state folder, then the user's own."""
    from forkman.store.project import find_root, state_dir

    folders = []
    start = cwd
    for flag, value in itertools.pairwise(args):
        if flag in ("--repo", "-C"):
            start = cwd / value
    with contextlib.suppress(ForkmanError, OSError):
        folders.append(state_dir(find_root(start)))
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    folders.append(Path(state_home) / "forkman")
    return folders


def write_log(text: str, folders: Sequence[Path]) -> Path:
    """TEXT in a new file (O_EXCL, mode 0600) in the first of FOLDERS that takes it."""
    failure: OSError | None = None
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, name = tempfile.mkstemp(prefix="crash-", suffix=".log", dir=folder)
        except OSError as exc:
            failure = exc
            continue
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
            handle.write(text)
        return Path(name)
    raise failure or OSError(errno.ENOENT, "no folder for the log")
