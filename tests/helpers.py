"""Run forkman as a user would (in-process through `main()`, or as a subprocess); read trees."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forkman.autogpt.example import OVERLAYS
from forkman.commands.apply import apply
from forkman.commands.capture import capture
from forkman.commands.init import init
from forkman.store.project import Project, open_project

ROOT = Path(__file__).resolve().parents[1]

# What `initialised_app` passes to `forkman init`.
BASE_REF = "autogpt-platform-beta-v0.6.8"
RELEASE_PATTERN = "autogpt-platform-beta-v*"
PR_BRANCH = "dev"
CHECKOUT = "upstream/autogpt"  # the checkout's folder inside the app repo
# `forkman init` options after `--upstream URL`, as `initialised_app` passes them
INIT_OPTIONS = ("--ref", BASE_REF, "--release-pattern", RELEASE_PATTERN, "--pr-branch", PR_BRANCH,
                "--path", CHECKOUT)  # fmt: skip
BLOCKS = "autogpt_platform/backend/backend/blocks"
OUR_BLOCK = """\
from backend.data.block import Block


class GreetBlock(Block):
    def __init__(self):
        super().__init__(
            id="0b5a43e4-0c4e-4d0a-9a8e-3f2c1f1f9e11",
            description="Says hello.",
        )

    async def run(self, input_data, **kwargs):
        yield "greeting", "hello"
"""


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
    proc = subprocess.run(
        [sys.executable, "-m", "forkman", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def wait_for(started: Path, proc: subprocess.Popen[Any], seconds: float = 30) -> None:
    """Until the running command has got as far as touching STARTED (or has ended)."""
    for _ in range(int(seconds / 0.05)):
        if started.exists() or proc.poll() is not None:
            return
        time.sleep(0.05)


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
    from forkman.store.project import open_project

    return open_project(app).checkout


def tree_snapshot(root: Path, skip: tuple[str, ...] = (".git",)) -> dict[str, tuple[str, bytes]]:
    """Every file under ROOT (outside SKIP): relative path -> (git mode, bytes or link target)."""
    snap: dict[str, tuple[str, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = [
            d
            for d in dirnames
            if (rel_dir / d).as_posix() not in skip and not (Path(dirpath) / d).is_symlink()
        ]
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


# Set by conftest for the session: where make_app keeps the apps it built, to copy them.
TEMPLATES: dict[str, Path] = {}
_BUILT: dict[tuple[tuple[str, ...], str, bool], Path] = {}


def refs_state(repo: Path) -> tuple[tuple[str, bytes], ...]:
    """REPO's HEAD and refs as files (no git process): equal states clone alike."""
    git_dir = repo / ".git"
    files = [git_dir / "HEAD", git_dir / "packed-refs", *sorted((git_dir / "refs").rglob("*"))]
    return tuple((f.relative_to(git_dir).as_posix(), f.read_bytes()) for f in files if f.is_file())


def copy_app(template: Path, template_upstream: Path, app: Path, upstream: Path) -> Project:
    """A private copy of a TEMPLATE app whose upstream is UPSTREAM (the caller's own copy).

    The template's upstream path is replaced in the config, the lock and the checkout's
    remote; the last commit is amended, so the app repo is clean, as if built at APP.
    """
    shutil.copytree(template, app, symlinks=True)
    old, new = str(template_upstream), str(upstream)
    for file in (app / "forkman.yaml", app / "forkman.lock", app / CHECKOUT / ".git" / "config"):
        file.write_text(file.read_text().replace(old, new))
    git(app, "commit", "-q", "-a", "--amend", "--no-edit")
    return open_project(app)


def make_app(
    app: Path,
    upstream: Path | str,
    names: tuple[str, ...] = tuple(OVERLAYS),
    *,
    ref: str = BASE_REF,
    blocks: bool = False,
) -> Project:
    """`forkman init` on the example upstream at REF (with BLOCKS: our blocks folder linked in),
    then each overlay in NAMES edited in the checkout and captured, then committed.

    On a fresh app repo and an untouched copy of the example upstream, the app is built once
    per session and copied."""
    fresh = sorted(p.name for p in Path(app).iterdir()) == [".git", "README.md"]
    pristine = (
        isinstance(upstream, Path)
        and "root" in TEMPLATES
        and refs_state(upstream) == refs_state(TEMPLATES["upstream"])
    )
    if not (fresh and pristine):
        return _build(app, upstream, names, ref=ref, blocks=blocks)
    assert isinstance(upstream, Path)
    key = (names, ref, blocks)
    if key not in _BUILT:
        folder = TEMPLATES["root"] / f"app-{len(_BUILT)}"
        folder.mkdir()
        shutil.copytree(app, folder / "app", symlinks=True)
        _build(folder / "app", TEMPLATES["upstream"], names, ref=ref, blocks=blocks)
        _BUILT[key] = folder / "app"
    shutil.rmtree(app)
    return copy_app(_BUILT[key], TEMPLATES["upstream"], app, upstream)


def _build(
    app: Path,
    upstream: Path | str,
    names: tuple[str, ...],
    *,
    ref: str,
    blocks: bool,
) -> Project:
    init(
        app,
        url=str(upstream),
        ref=ref,
        path=CHECKOUT,
        release_pattern=RELEASE_PATTERN,
        pr_branch=PR_BRANCH,
    )
    if blocks:
        config = app / "forkman.yaml"
        link = (
            f"links:\n  - source: blocks/customized\n    target: {BLOCKS}/customized\n"
            "blocks:\n  - blocks/customized\n"
        )
        config.write_text(config.read_text().replace("links: []\n", link))
        (app / "blocks/customized").mkdir(parents=True)
        (app / "blocks/customized/__init__.py").write_text("")
        (app / "blocks/customized/greet.py").write_text(OUR_BLOCK)
        apply(open_project(app))
    project = open_project(app)
    for name in names:
        subject, body, edit = OVERLAYS[name]
        edit(project.checkout)
        capture(project, name, f"{subject}\n\n{body}")
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", "Track the upstream with overlays")
    return project


def snapshot(project: Project, refs: bool = True) -> dict[str, object]:
    """Everything a sync may touch: overlay files, lock, and the checkout's HEAD, index, refs and files."""
    files = {}
    for path in sorted(project.overlays_dir.rglob("*")):
        if path.is_file():
            files[str(path.relative_to(project.root))] = path.read_bytes()
    checkout = {}
    for line in git(project.checkout, "ls-files", "-z", "--others", "--cached").split("\0"):
        full = project.checkout / line
        if line and (full.is_file() or full.is_symlink()):
            data = full.read_bytes() if not full.is_symlink() else str(full.readlink()).encode()
            checkout[line] = hashlib.sha256(data).hexdigest()
    return {
        "overlays": files,
        "lock": project.lock_path.read_bytes(),
        "head": git(project.checkout, "rev-parse", "HEAD"),
        "index": git(project.checkout, "ls-files", "-s"),
        "status": git(project.checkout, "status", "--porcelain"),
        "refs": git(project.checkout, "for-each-ref") if refs else None,
        "files": checkout,
        "app_status": git(project.root, "status", "--porcelain"),
    }


def forkman(capsys, *args: str, repo: Path) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """`forkman ARGS --repo REPO` in-process through main(): exit code and stdout (stderr in .last_err)."""
    capsys.readouterr()
    run = run_main([*args, "--repo", str(repo)], cwd=repo)
    forkman.last_err = run.stderr  # type: ignore[attr-defined]
    return run.exit_code, run.stdout
