"""git's diff and merge on content held in memory: no repository, deterministic output."""

from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from forkman.errors import GitError
from forkman.gitrepo import STABLE_DIFF_CONFIG, FileState, Tree, last_line, require_git


def diff_trees(before: Tree, after: Tree) -> str:
    """A deterministic git-style patch from BEFORE to AFTER over the union of their paths."""
    return diff_many([(before, after)])[0]


def diff_many(pairs: Sequence[tuple[Tree, Tree]]) -> list[str]:
    """One patch per (BEFORE, AFTER) pair, all made by a single `git diff --no-index`.

    Each pair's two sides are written under `a/jNNNNN/` and `b/jNNNNN/` in a temporary folder,
    so one diff engine (git's) makes every patch forkman writes, with every setting pinned.
    Plain paths are written flat under stand-in names (creating folders is what costs most
    on a deep tree) and put back into the headers; git's output is otherwise the same.
    """
    require_git()
    if not pairs:
        return []
    flats = [_flat_names({*before, *after}) for before, after in pairs]
    with tempfile.TemporaryDirectory(prefix="forkman-diff-", dir=_scratch()) as tmp:
        root = Path(tmp)
        for side in ("a", "b"):
            (root / side).mkdir()
        for job, ((before, after), flat) in enumerate(zip(pairs, flats)):
            for side, states in (("a", before), ("b", after)):
                for path, state in states.items():
                    if state is None:
                        continue
                    if flat:  # no folders at all: a/j00001-f000001
                        _materialise(root / side / f"j{job:05d}-{flat[path]}", state)
                    else:
                        target = root / side / f"j{job:05d}" / path
                        target.parent.mkdir(parents=True, exist_ok=True)
                        _materialise(target, state)
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            {
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "HOME": tmp,
                "LC_ALL": "C",
            }
        )
        proc = subprocess.run(
            [
                "git",
                *STABLE_DIFF_CONFIG,
                "diff",
                "--no-index",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--no-renames",
                "--diff-algorithm=myers",
                "--indent-heuristic",
                "-U3",
                "--inter-hunk-context=0",
                "--no-prefix",
                "a",
                "b",
            ],
            cwd=root,
            env=env,
            capture_output=True,
            check=False,
        )
        if proc.returncode not in (0, 1):
            raise GitError(f"git diff failed: {last_line(proc.stderr.decode(errors='replace'))}")
    text = proc.stdout.decode("utf-8", "surrogateescape")
    lines = io.StringIO(text).readlines()  # split on "\n" only: a \f or \r inside a line is content
    chunks: list[list[str]] = [[] for _ in pairs]
    job = 0
    in_header = False
    for line in lines:
        match = _JOB.match(line)
        if match:
            job, in_header = int(match.group(1)), True
        elif line.startswith("@@"):
            in_header = False
        if in_header:
            if line.startswith("index "):
                continue
            for sep in ("-", "/"):
                line = line.replace(f"a/j{job:05d}{sep}", "a/").replace(f"b/j{job:05d}{sep}", "b/")
        chunks[job].append(line)
    return [
        "".join(_header(ln) for ln in (_real_names(c, flat) if flat else c))
        for c, flat in zip(chunks, flats)
    ]


_JOB = re.compile(r'^diff --git "?[ab]/j(\d{5})[-/]')
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_.+=,~-]+(?:/[A-Za-z0-9_.+=,~-]+)*")
_FLAT_PATH = re.compile(r"^diff --git [ab]/(f\d{6}) ")


def _flat_names(paths: set[str]) -> dict[str, str] | None:
    """Stand-in names numbered in the order git walks the real folders (each level sorted).

    None when a path would be quoted in a diff header, or is also another path's folder:
    then the real layout is written.
    """
    if not all(_PLAIN_PATH.fullmatch(p) for p in paths):
        return None
    folders = {p[:i] for p in paths for i, ch in enumerate(p) if ch == "/"}
    if folders & paths:
        return None
    return {p: f"f{n:06d}" for n, p in enumerate(sorted(paths, key=lambda p: p.split("/")))}


def _real_names(lines: list[str], flat: dict[str, str]) -> list[str]:
    """Put the real paths back into each file's header lines (those before its first hunk)."""
    real = {v: k for k, v in flat.items()}
    out = []
    name = None
    for line in lines:
        match = _FLAT_PATH.match(line)
        if match:
            name = match.group(1)
        elif line.startswith("@@"):
            name = None
        if name is not None:
            line = line.replace(f"a/{name}", f"a/{real[name]}").replace(
                f"b/{name}", f"b/{real[name]}"
            )
        out.append(line)
    return out


def _header(line: str) -> str:
    """`diff --git a/P b/P` for added and deleted files too, as format-patch writes it."""
    if not line.startswith("diff --git "):
        return line
    rest = line[len("diff --git ") :].rstrip("\n")
    half = (len(rest) - 1) // 2
    old, new = rest[:half], rest[half + 1 :]
    if old[2:] != new[2:] or old.startswith('"'):
        return line
    return f"diff --git a/{old[2:]} b/{new[2:]}\n"


def _materialise(target: Path, state: FileState) -> None:
    if state.mode == "120000":
        os.symlink(state.data.decode("utf-8", "surrogateescape"), target)
        return
    target.write_bytes(state.data)
    if state.mode == "100755":
        target.chmod(0o755)


@dataclass(frozen=True)
class MergeResult:
    data: bytes
    conflicts: int


@lru_cache(maxsize=1)
def _scratch() -> str | None:
    """Where throw-away files go: memory (/dev/shm) when the machine has it, else the temp folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


@dataclass(frozen=True)
class MergeJob:
    base: bytes
    ours: bytes
    theirs: bytes
    labels: tuple[str, str, str]
    favor: str | None = None  # "ours", "theirs" or "union" settles conflicts one way


def merge_file(
    base: bytes, ours: bytes, theirs: bytes, labels: tuple[str, str, str], favor: str | None = None
) -> MergeResult:
    """A 3-way merge of one file's content with `git merge-file` (no repository needed).

    FAVOR settles conflicts one way; forkman uses it only to foresee what later overlays will
    meet, never for a result that it writes.
    """
    return merge_many([MergeJob(base, ours, theirs, labels, favor)])[0]


def merge_many(jobs: Sequence[MergeJob]) -> list[MergeResult]:
    """Many independent `git merge-file` runs (diff3 style) over one temporary folder, several at once."""
    if not jobs:
        return []
    with tempfile.TemporaryDirectory(prefix="forkman-merge-", dir=_scratch()) as tmp:

        def run(numbered: tuple[int, MergeJob]) -> MergeResult:
            number, job = numbered
            files = []
            for side, data in (("ours", job.ours), ("base", job.base), ("theirs", job.theirs)):
                path = Path(tmp) / f"{number}.{side}"
                path.write_bytes(data)
                files.append(str(path))
            args = [
                "git",
                "merge-file",
                "-p",
                "--diff3",
                "-L",
                job.labels[0],
                "-L",
                job.labels[1],
                "-L",
                job.labels[2],
                *([f"--{job.favor}"] if job.favor else []),
            ]
            proc = subprocess.run([*args, *files], capture_output=True, check=False)
            if proc.returncode < 0 or proc.returncode > 127:
                raise GitError(
                    f"git merge-file failed: {last_line(proc.stderr.decode(errors='replace'))}"
                )
            return MergeResult(proc.stdout, proc.returncode)

        if len(jobs) == 1:
            return [run((0, jobs[0]))]
        with ThreadPoolExecutor(max_workers=min(8, 2 * (os.cpu_count() or 1))) as pool:
            return list(pool.map(run, enumerate(jobs)))
