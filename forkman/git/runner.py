"""The one place forkman starts a process: git (and the few other programs) under one env policy.

The policy: the caller's environment minus the variables git exports to describe *its*
repository (a hook runs with GIT_INDEX_FILE, GIT_DIR and friends set for the app repo, which
would point forkman's git in the checkout at the wrong index), plus what each call pins.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Generic, TypeVar

from forkman.core.urls import redact_text
from forkman.errors import GitError, GitTooOld

MIN_GIT = (2, 38)
MIN_GIT_TEXT = "2.38"

# `git rev-parse --local-env-vars` (git 2.39), the variables that describe one repository, and
# GIT_QUARANTINE_PATH (set for pre-receive hooks). Unlike pre-commit's no_git_env() the user's
# own settings (GIT_AUTHOR_*, GIT_SSH_COMMAND, GIT_CONFIG_GLOBAL, GIT_CONFIG_COUNT and its
# KEY_/VALUE_ pairs, ...) pass through: forkman's commits and config follow the user's.
GIT_REPO_VARIABLES = frozenset(
    {
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_OBJECT_DIRECTORY",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_IMPLICIT_WORK_TREE",
        "GIT_GRAFT_FILE",
        "GIT_INDEX_FILE",
        "GIT_NO_REPLACE_OBJECTS",
        "GIT_REPLACE_REF_BASE",
        "GIT_PREFIX",
        "GIT_INTERNAL_SUPER_PREFIX",
        "GIT_SHALLOW_FILE",
        "GIT_COMMON_DIR",
        "GIT_QUARANTINE_PATH",
    }
)


def environment(pins: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every process forkman starts: the caller's, minus git's repository
    variables, plus PINS."""
    env = {k: v for k, v in os.environ.items() if k not in GIT_REPO_VARIABLES}
    if pins:
        env.update(pins)
    return env


def run(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ARGV to its end (stdout and stderr captured as bytes); ENV is pinned on top of the policy."""
    return subprocess.run(
        list(argv),
        cwd=cwd,
        env=environment(env),
        input=stdin,
        capture_output=True,
        check=False,
    )


T = TypeVar("T")


class Background(Generic[T]):
    """FN run on a thread of its own while the caller goes on (a git process runs while Python
    works); result() waits for it and raises what it raised. Leaving the `with` waits too, as
    a ThreadPoolExecutor's does, so no git is cut off midway by an error in the caller.

    Not concurrent.futures: importing it costs ~3 ms, a tenth of `overlay status`'s own work.
    """

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # handed to result(), in the caller's thread
            self._error = exc

    def __enter__(self) -> Background[T]:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._thread.join()

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set: _run ended without an error


class TimedOut(Exception):
    """A `run:` check still running after its timeout (it was killed)."""


def run_check(
    command: str | Sequence[str], *, shell: bool, cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """A `run:` check of forkman.yaml in CWD, output captured as text: COMMAND's words as a
    program and its arguments, or (SHELL) a line for /bin/sh. TimedOut after TIMEOUT seconds."""
    try:
        return _run_check(command, shell=shell, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimedOut(command) from None


def _run_check(
    command: str | Sequence[str], *, shell: bool, cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command if shell else list(command),
        shell=shell,
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def stream(argv: Sequence[str], *, cwd: Path | str | None, on_line: Callable[[str], None]) -> int:
    """Run ARGV, passing each line (or `\\r`-ended progress update) of its stderr to ON_LINE."""
    with subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stderr is not None
        pending = b""
        # os.read returns what is there: progress arrives as it is written, not a buffer later
        while chunk := os.read(proc.stderr.fileno(), 65536):
            pending += chunk
            *lines, pending = re.split(rb"[\r\n]", pending)
            for line in lines:
                if line:
                    on_line(line.decode(errors="replace"))
        if pending:
            on_line(pending.decode(errors="replace"))
        return proc.wait()


def git(
    *args: str,
    cwd: Path | str | None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    ok_codes: Iterable[int] = (0,),
) -> bytes:
    """`git ARGS` in CWD: its stdout, or GitError with what git said.

    An index lock that another git holds (an editor's `git status`) is waited for briefly.
    """
    codes = tuple(ok_codes)
    for delay in INDEX_LOCK_WAITS:
        proc = run(["git", *args], cwd=cwd, env=env, stdin=stdin)
        if proc.returncode in codes or not _INDEX_LOCKED.search(proc.stderr):
            break
        time.sleep(delay)
    if proc.returncode not in codes:
        stderr = proc.stderr.decode(errors="replace")
        said = redact_text(complaint(stderr)) or f"exit {proc.returncode}"
        locked = _INDEX_LOCKED.search(proc.stderr)
        raise GitError(
            f"`git {' '.join(args[:3])}` failed: {said}",
            where=str(cwd) if cwd is not None else None,
            hint=(
                f"another git process holds {locked.group(1).decode(errors='replace')}; if none is "
                "running there (an editor, a killed git), delete that file and run forkman again"
            )
            if locked
            else None,
        )
    return proc.stdout


# git takes `index.lock` with O_EXCL and gives up at once; an editor's `git status` holds it
# for milliseconds, so a short wait lets forkman through instead of failing midway
INDEX_LOCK_WAITS = (0.05, 0.1, 0.2, 0.4, 0.8, 0.0)
_INDEX_LOCKED = re.compile(rb"Unable to create '([^']*\.lock)': File exists")


def complaint(text: str) -> str:
    """What git said went wrong: its first `fatal:`/`error:` line (which names the path or ref),
    else its last line."""
    for line in text.splitlines():
        if line.startswith(("fatal: ", "error: ")):
            return line.strip()
    return last_line(text)


def last_line(text: str) -> str:
    """Git's last word on a failure; GitPython wraps stderr as "stderr: '...'", which is unwrapped."""
    text = re.sub(r"^\s*stderr: '", "", text).rstrip().removesuffix("'")
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and ln.strip() != "'"]
    return lines[-1] if lines else ""


SCRATCH_PREFIX = "forkman-"  # scratch folders: forkman-PID-KIND-RANDOM


def scratch_prefix(kind: str) -> str:
    """The prefix of a scratch folder: the pid in it says whose it is once its owner is gone."""
    return f"{SCRATCH_PREFIX}{os.getpid()}-{kind}-"


@lru_cache(maxsize=1)
def scratch_dir() -> str | None:
    """Where throw-away files go: memory (/dev/shm) when the machine has it, else the temp folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


@lru_cache(maxsize=1)
def git_version() -> tuple[int, ...]:
    try:
        proc = run(["git", "--version"])
    except OSError as exc:
        raise GitTooOld(
            f"cannot run git ({exc})", hint=f"install git {MIN_GIT_TEXT} or newer"
        ) from None
    out = proc.stdout.decode(errors="replace")
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
    if proc.returncode or not match:
        raise GitTooOld(f"cannot read git's version from {out.strip()!r}")
    return tuple(int(p) for p in match.groups(default="0"))


def require_git() -> None:
    version = git_version()
    if version[:2] < MIN_GIT:
        found = ".".join(str(p) for p in version)
        raise GitTooOld(
            f"forkman needs git {MIN_GIT_TEXT} or newer; found git {found}",
            hint="upgrade git (for example from your distribution's backports)",
        )
