"""kill -9 at many moments of every command that writes, on a file system that lists folders in
another order (a tmpfs the test mounts): the next command finishes the work or puts it back,
nothing is left half-written, and forkman's temporary files do not outlive it.

The moments: a `git` on PATH that counts forkman's git calls and, at call K, kills forkman (its
parent) with SIGKILL, for K spread over the command's own calls; and kills after a delay spread
over the command's run time. FORKMAN_KILL_POINTS=N tries N moments of each kind per command
(1 by default, to keep the suite fast; the full runs are in the note of the change).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import git, make_app, tree_snapshot
from killing import install_shim
from killing import run_forkman as _forkman

from forkman.autogpt.example import BLOCKS_INIT, COST_CONFIG, LLM_PY, OVERLAYS

V9 = "autogpt-platform-beta-v0.6.9"
POINTS = int(os.environ.get("FORKMAN_KILL_POINTS", "1"))


@pytest.fixture(scope="module")
def odd_fs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh tmpfs: it lists a folder newest first, where ext4 lists by hash."""
    where = tmp_path_factory.mktemp("tmpfs")
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@dataclass(frozen=True)
class Case:
    """A writing command, the state it starts from, and how a person carries on after a kill."""

    args: tuple[str, ...]
    prepare: Callable[[Path], None]  # brings a copied app (APP/app) to the command's start
    then: tuple[str, ...] | None = None  # after a kill: run this, else the command again


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _checkout(app: Path) -> Path:
    return app / "upstream" / "autogpt"


def _nothing(app: Path) -> None:
    pass


def _unapplied(app: Path) -> None:
    git(_checkout(app), "checkout", "-q", "-f", "--", ".")


def _new_edit(app: Path) -> None:
    _edit(_checkout(app) / COST_CONFIG, "}", "}\n# our note\n")


def _more_of_llm(app: Path) -> None:
    _edit(_checkout(app) / LLM_PY, "qwen2.5", "qwen2.5-more")


def _stopped_and_resolved(app: Path) -> None:
    code = _forkman(app, "sync").returncode
    assert code == 1
    checkout = _checkout(app)
    git(checkout, "checkout", "--ours", "--", BLOCKS_INIT)
    OVERLAYS["loader-symlink"][2](checkout)


def _stopped(app: Path) -> None:
    assert _forkman(app, "sync").returncode == 1


def _skipped(app: Path) -> None:
    for args in (("sync",), ("sync", "--skip"), ("sync", "--skip")):
        assert _forkman(app, *args).returncode in (0, 1)
    assert (app / "overlays" / "skipped" / "loader-symlink.patch").exists()


def _links_to_make(app: Path) -> None:
    _edit(
        app / "forkman.yaml",
        "links: []",
        "links:\n  - source: blocks/ours\n    target: autogpt_platform/backend/backend/blocks/ours",
    )
    (app / "blocks" / "ours").mkdir(parents=True)
    (app / "blocks" / "ours" / "__init__.py").write_text("")


def _with_fork(app: Path) -> None:
    git(app.parent, "init", "-q", "--bare", "fork.git")
    git(_checkout(app), "remote", "add", "fork", str(app.parent / "fork.git"))


def _patches_to_import(app: Path) -> None:
    checkout = _checkout(app)
    folder = app.parent / "patches"
    folder.mkdir()
    _edit(checkout / COST_CONFIG, "}", "}\n# imported\n")
    diff = subprocess.run(["git", "diff"], cwd=checkout, capture_output=True, check=True).stdout
    git(checkout, "checkout", "-q", "--", COST_CONFIG)
    header = b"From: A Person <a@example.com>\nSubject: [PATCH] A note in the cost config\n\n---\n"
    (folder / "0001-note.patch").write_bytes(header + diff)


CASES = {
    "apply": Case(("apply",), _unapplied),
    "capture": Case(("overlay", "capture", "note", "-m", "A note"), _new_edit),
    "refresh": Case(("overlay", "refresh", "llm-models"), _more_of_llm),
    "drop": Case(("overlay", "drop", "cost-config"), _nothing),
    "revive": Case(("overlay", "revive", "loader-symlink"), _skipped),
    "link": Case(("link",), _links_to_make),
    "sync": Case(("sync", "--to", V9), _nothing, ("sync", "--continue")),
    "sync --abort after a kill": Case(("sync", "--to", V9), _nothing, ("sync", "--abort")),
    "sync --continue": Case(("sync", "--continue"), _stopped_and_resolved),
    # --skip plans the series again from the plan cache its sync left: a kill mid-way leaves a
    # state the next --skip finishes
    "sync --skip": Case(("sync", "--skip"), _stopped),
    "upstream-pr --push": Case(
        ("upstream-pr", "cost-config", "--push", "--remote", "fork"), _with_fork
    ),
    "import": Case(("import", "--patches", "../patches"), _patches_to_import),
}


def _state(app: Path) -> dict[str, object]:
    """What a command may change: the app repo's files and the checkout's files, HEAD and index."""
    checkout = _checkout(app)
    return {
        "app": tree_snapshot(app, skip=(".git", "upstream")),
        "checkout": tree_snapshot(checkout),
        "head": git(checkout, "rev-parse", "HEAD"),
        "index": git(checkout, "ls-files", "-s"),
    }


LEFTOVER = re.compile(r"(\.tmp$|forkman-tmp)")


def _leftovers(app: Path) -> list[str]:
    found = [p for p in tree_snapshot(app, skip=(".git",)) if LEFTOVER.search(p)]
    state = app / ".git" / "forkman"
    found += [p.name for p in state.glob("sync.*")] if state.is_dir() else []
    return found


@pytest.fixture(scope="module")
def template(
    odd_fs: Path, tmp_path_factory: pytest.TempPathFactory, upstream_template: Path
) -> Path:
    """An app with the three overlays and its checkout, on the tmpfs; each case copies it."""
    base = odd_fs / "template"
    upstream = Path(shutil.copytree(upstream_template, base / "upstream-repo", symlinks=True))
    app = base / "app"
    app.mkdir(parents=True)
    git(app, "init", "-q")
    (app / "README.md").write_text("# app\n")
    git(app, "add", "-A")
    git(app, "commit", "-qm", "init")
    make_app(app, upstream)
    return base


def _fresh(template: Path, into: Path, case: Case) -> Path:
    if into.exists():
        shutil.rmtree(into)
    shutil.copytree(template, into, symlinks=True)
    app = into / "app"
    case.prepare(app)
    return app


def _moments(total: int, runtime: float) -> list[tuple[int | None, float | None]]:
    calls = sorted({max(1, round(total * (i + 1) / (POINTS + 1))) for i in range(POINTS)})
    delays = [runtime * (i + 0.5) / POINTS for i in range(POINTS)]
    return [(k, None) for k in calls] + [(None, d) for d in delays]


@pytest.mark.parametrize("name", list(CASES))
def test_a_kill_at_any_moment_is_finished_or_undone(
    name: str, template: Path, odd_fs: Path
) -> None:
    case = CASES[name]
    work = odd_fs / re.sub(r"\W+", "-", name)
    shim_dir = work.with_name(work.name + "-shim")
    install_shim(shim_dir)

    # the uninterrupted run: its result, its number of git calls, its time
    app = _fresh(template, work, case)
    before = _state(app)
    (shim_dir / "count").unlink(missing_ok=True)
    started = time.monotonic()
    clean = _forkman(app, *case.args, kill_dir=shim_dir, at=0)
    runtime = time.monotonic() - started
    assert clean.returncode in (0, 1), clean.stderr
    total = int((shim_dir / "count").read_text())
    wanted = _state(app)

    for at, delay in _moments(total, runtime):
        app = _fresh(template, work, case)
        (shim_dir / "count").unlink(missing_ok=True)
        killed = _forkman(app, *case.args, kill_dir=shim_dir, at=at, delay=delay)
        moment = f"{name}: killed at git call {at}" if at else f"{name}: killed after {delay:.2f}s"
        if killed.returncode in (0, 1) or _state(app) == wanted:  # done before the kill came
            assert _state(app) == wanted, moment
            continue
        in_progress = (app / ".git" / "forkman" / "sync").is_dir()
        if case.then == ("sync", "--abort"):
            # killed before the journal began: the next command that writes clears up after it
            after = _forkman(app, *(case.then if in_progress else ("apply",)))
            assert after.returncode == 0, (moment, after.stderr)
            assert _state(app) == before, moment
        else:
            then = case.then if in_progress and case.then else case.args
            after = _forkman(app, *then)
            assert after.returncode in (0, 1), (moment, after.returncode, after.stderr)
            assert _state(app) == wanted, moment
        assert "Traceback" not in after.stderr, moment
        assert not _leftovers(app), (moment, _leftovers(app))
