"""Run forkman as a user would (in-process through `main()`, or as a subprocess); read trees."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What `initialised_app` passes to `forkman init`.
BASE_REF = "autogpt-platform-beta-v0.6.8"
RELEASE_PATTERN = "autogpt-platform-beta-v*"
PR_BRANCH = "dev"
CHECKOUT = "upstream/autogpt"  # the checkout's folder inside the app repo


@dataclass(frozen=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str


def run_main(args: list[str], cwd: Path) -> Run:
    """`forkman ARGS` in CWD, in-process through `forkman.cli.main()` (errors -> exit codes)."""
    from forkman.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_argv, old_cwd = sys.argv, os.getcwd()
    code = 0
    try:
        sys.argv = ["forkman", *args]
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
    return Run(code, out.getvalue(), err.getvalue())


def run_subprocess(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """`python -m forkman ARGS` in CWD, with this repo first on PYTHONPATH."""
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [full_env.get("PYTHONPATH")])]
    )
    proc = subprocess.run([sys.executable, "-m", "forkman", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    return Run(proc.returncode, proc.stdout, proc.stderr)


def assert_one_line_error(run: Run, *mentions: str, code: int = 2) -> None:
    """A user error: exit CODE, exactly one line on stderr (mentioning MENTIONS), no traceback."""
    assert run.exit_code == code, (run.exit_code, run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    for text in mentions:
        assert text in run.stderr, (text, run.stderr)


def checkout(app: Path) -> Path:
    """The upstream checkout of APP, as its forkman.yaml places it."""
    from forkman.project import open_project

    return open_project(app).checkout


def tree_snapshot(root: Path, skip: tuple[str, ...] = (".git",)) -> dict[str, tuple[str, bytes]]:
    """Every file under ROOT (outside SKIP): relative path -> (git mode, bytes or link target)."""
    snap: dict[str, tuple[str, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = [d for d in dirnames if (rel_dir / d).as_posix() not in skip
                       and not (Path(dirpath) / d).is_symlink()]  # fmt: skip
        links = [d for d in os.listdir(dirpath) if (Path(dirpath) / d).is_symlink()]
        for name in sorted({*filenames, *links}):
            rel = (rel_dir / name).as_posix()
            if rel in skip:
                continue
            full = Path(dirpath) / name
            info = full.lstat()
            if stat.S_ISLNK(info.st_mode):
                snap[rel] = ("120000", os.readlink(full).encode())
            else:
                snap[rel] = (
                    "100755" if info.st_mode & stat.S_IXUSR else "100644",
                    full.read_bytes(),
                )
    return snap


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr}")
    return proc.stdout.strip()
