"""Small setup for the sync tests: an app repo tracking the example upstream, with its three overlays."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from forkman.edit import capture
from forkman.example import OVERLAYS, PR_BRANCH, RELEASE_PATTERN, RELEASES
from forkman.project import Project, open_project
from forkman.upstream import init


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def make_app(app: Path, upstream: Path, names: tuple[str, ...] = tuple(OVERLAYS)) -> Project:
    """`forkman init` at v0.6.8, then each overlay edited in the checkout and captured, then committed."""
    init(
        app,
        url=str(upstream),
        ref=RELEASES[0],
        release_pattern=RELEASE_PATTERN,
        pr_branch=PR_BRANCH,
    )
    project = open_project(app)
    for name in names:
        subject, body, edit = OVERLAYS[name]
        edit(project.checkout)
        capture(project, name, f"{subject}\n\n{body}")
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", "track upstream with overlays")
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
            checkout[line] = hashlib.sha256(
                full.read_bytes() if not full.is_symlink() else str(full.readlink()).encode()
            ).hexdigest()
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
    """Run `forkman ARGS --repo REPO` in-process through main() (its error handler); exit code and stdout."""
    import sys

    from forkman.cli import main

    capsys.readouterr()
    argv = sys.argv
    sys.argv = ["forkman", *args, "--repo", str(repo)]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    captured = capsys.readouterr()
    forkman.last_err = captured.err  # type: ignore[attr-defined]
    return code, captured.out
