"""Clearing up after a forkman process that was killed: its temporary files, folders and git locks.

Each command that changes an app repo notes itself in forkman's lock file while it runs and
empties it when it ends, so a note found there means the last one never finished. Only what
forkman itself leaves is removed, and each removal of a git lock is said.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from forkman.errors import ForkmanError
from forkman.git.runner import INDEX_LOCK_WAITS, SCRATCH_PREFIX
from forkman.store.files import TEMP_FILE
from forkman.store.project import Project

log = logging.getLogger("forkman")


@dataclass(frozen=True)
class Run:
    """A forkman command noted in the lock file: who it was and when it started."""

    pid: int
    started: float
    command: str

    def text(self) -> str:
        return f"{self.pid} {self.started:.6f} {self.command}\n"

    @classmethod
    def parse(cls, text: str) -> Run | None:
        parts = text.split()
        try:
            return cls(int(parts[0]), float(parts[1]), parts[2] if len(parts) > 2 else "?")
        except (IndexError, ValueError):
            return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(project: Project, previous: Run | None) -> None:
    """After a command that never finished (PREVIOUS), remove what it left; always, old scratch."""
    # here, not at the top: the journal's model costs ~4 ms to import, and status and guard,
    # which ask only about a stale git lock, never recover
    from forkman.store.journal import sweep as sweep_journal

    sweep_journal(project)
    _sweep_scratch()
    if previous is None:
        return
    _sweep_temp_files(project.root, deep=False)
    _sweep_temp_files(project.overlays_dir, deep=True)
    checkout = project.checkout
    if (checkout / ".git").exists():
        _sweep_temp_files(checkout, deep=True)
        _clear_stale_index_lock(checkout, previous)


def _owner_gone(match: re.Match[str]) -> bool:
    return not alive(int(match.group("pid")))


def _sweep_temp_files(folder: Path, *, deep: bool) -> None:
    if not folder.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != ".git"] if deep else []
        for name in filenames:
            match = TEMP_FILE.match(name)
            if match and _owner_gone(match):
                Path(dirpath, name).unlink(missing_ok=True)


def _sweep_scratch() -> None:
    for base in {"/dev/shm", tempfile.gettempdir()}:
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            match = re.match(rf"^{SCRATCH_PREFIX}(\d+)-[a-z]+-", name)
            if match and not alive(int(match.group(1))):
                shutil.rmtree(Path(base, name), ignore_errors=True)


def index_lock(checkout: Path) -> Path:
    return checkout / ".git" / "index.lock"


def held_open(path: Path) -> bool:
    """Whether some process has PATH open (git holds its lock file open while it works)."""
    target = str(path)
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not pid.isdigit():
            continue
        fd_dir = f"/proc/{pid}/fd"
        try:
            for fd in os.listdir(fd_dir):
                if os.readlink(f"{fd_dir}/{fd}") == target:
                    return True
        except OSError:
            continue
    return False


def require_free_index(checkout: Path) -> None:
    """Refuse, before anything is changed, while git's index lock stays taken in CHECKOUT."""
    lock = index_lock(checkout)
    for delay in INDEX_LOCK_WAITS:  # as long as git's own calls wait for it
        if not lock.exists():
            return
        time.sleep(delay)
    if lock.exists():
        held = (
            "a git process holds it"
            if held_open(lock)
            else "no process holds it (a git was killed)"
        )
        raise ForkmanError(
            f"git's lock {lock} is taken: {held}",
            where=str(checkout),
            hint="if no git runs in the checkout (an editor, a terminal), delete that file, "
            "then run the command again",
        )


def require_writable(project: Project, action: str) -> None:
    """Refuse before anything changes when a place the command writes is read-only."""
    checkout = project.checkout
    places = [checkout, checkout / ".git", project.root, project.overlays_dir, project.state_dir()]
    for place in places:
        if place.exists() and not os.access(place, os.W_OK):
            raise ForkmanError(
                f"{action} refused: {place} is read-only",
                where=str(place),
                hint="make it writable (a read-only mount, permissions), then run the command "
                "again; `forkman sync --check` needs no writing",
            )


def stale_git_lock(checkout: Path) -> Path | None:
    """The checkout's index lock when no process holds it: a killed git left it behind."""
    lock = index_lock(checkout)
    return lock if lock.exists() and not held_open(lock) else None


def stale_lock_text(lock: Path) -> str:
    return (
        f"git's lock {lock} is there but no process holds it (a git was killed): "
        "if no git runs in the checkout, delete it"
    )


def _clear_stale_index_lock(checkout: Path, previous: Run) -> None:
    lock = index_lock(checkout)
    try:
        made = lock.stat().st_mtime
    except FileNotFoundError:
        return
    # forkman's killed run made it (it appeared while that run was going) and nobody holds it
    if made >= previous.started - 1 and not held_open(lock) and not alive(previous.pid):
        lock.unlink(missing_ok=True)
        log.warning(
            "forkman: notice: removed %s, left by forkman (pid %d, `%s`) when it was killed %s",
            lock,
            previous.pid,
            previous.command,
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(previous.started)),
        )
