"""One command at a time changes an app repo: a lock file in forkman's state folder, held with flock.

While a command runs, the file names it (pid, start, command); it is emptied when the command
ends, so the next command that finds a name there knows that one was killed and clears up after it.
"""

from __future__ import annotations

import fcntl
import functools
import os
import time
from collections.abc import Callable
from typing import IO, Concatenate, ParamSpec, TypeVar

from forkman.errors import ForkmanError, Interrupted
from forkman.store.project import Project
from forkman.store.recovery import Run, recover

P = ParamSpec("P")
R = TypeVar("R")


def exclusive(func: Callable[Concatenate[Project, P], R]) -> Callable[Concatenate[Project, P], R]:
    """Run FUNC holding the app repo's forkman lock: two commands never change it at once."""

    @functools.wraps(func)
    def locked(project: Project, /, *args: P.args, **kwargs: P.kwargs) -> R:
        folder = project.state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "r+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ForkmanError(
                    "another forkman command is changing this repo right now",
                    where=str(project.root),
                    hint="wait for it to finish, then run the command again",
                ) from None
            previous = Run.parse(handle.read())
            _note(handle, Run(os.getpid(), time.time(), func.__name__).text())
            recover(project, previous)
            try:
                return func(project, *args, **kwargs)
            except KeyboardInterrupt:
                raise Interrupted(_interrupted(project, func.__name__)) from None
            finally:
                _note(handle, "")

    return locked


def _note(handle: IO[str], text: str) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(text)
    handle.flush()


def _interrupted(project: Project, command: str) -> str:
    if project.sync_in_progress():
        return (
            "forkman: interrupted (the sync stopped midway: resume it with "
            "`forkman sync --continue` or undo it with `forkman sync --abort`)"
        )
    return (
        f"forkman: interrupted during `{command}` (files are written whole or not at all; "
        "run the command again to finish it)"
    )
