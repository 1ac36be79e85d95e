"""One command at a time changes an app repo: a lock file in forkman's state folder, held with flock."""

from __future__ import annotations

import fcntl
import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from forkman.errors import ForkmanError
from forkman.store.project import Project

P = ParamSpec("P")
R = TypeVar("R")


def exclusive(func: Callable[Concatenate[Project, P], R]) -> Callable[Concatenate[Project, P], R]:
    """Run FUNC holding the app repo's forkman lock: two commands never change it at once."""

    @functools.wraps(func)
    def locked(project: Project, *args: P.args, **kwargs: P.kwargs) -> R:
        folder = project.state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ForkmanError(
                    "another forkman command is changing this repo right now",
                    where=str(project.root),
                    hint="wait for it to finish, then run the command again",
                ) from None
            return func(project, *args, **kwargs)

    return locked
