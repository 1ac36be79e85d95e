"""git's diff of content held in memory: no repository, every setting pinned, byte-stable patches."""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from forkman.core.values import FileState, Tree
from forkman.errors import GitError
from forkman.git import runner
from forkman.git.runner import last_line, require_git, scratch_dir, scratch_prefix

# Every setting that changes what a diff looks like, pinned, so that exports are byte-stable
# whatever the user's ~/.gitconfig says (Electron and patch-package learnt this the hard way).
STABLE_DIFF_CONFIG = (
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.mnemonicPrefix=false",
    "-c",
    "diff.renames=false",
    "-c",
    "diff.algorithm=myers",
    "-c",
    "diff.context=3",
    "-c",
    "diff.interHunkContext=0",
    "-c",
    "diff.indentHeuristic=true",
    "-c",
    "diff.suppressBlankEmpty=false",
    "-c",
    "core.abbrev=7",
    "-c",
    "color.ui=never",
    "-c",
    "diff.external=",
    "-c",
    "core.quotePath=false",
    "-c",
    "diff.relative=false",
)


def diff_trees(before: Tree, after: Tree) -> str:
    """A deterministic git-style patch from BEFORE to AFTER over the union of their paths."""
    return diff_many([(before, after)])[0]


def diff_many(pairs: Sequence[tuple[Tree, Tree]], renames: bool = True) -> list[str]:
    """One patch per (BEFORE, AFTER) pair, all made by a single `git diff --no-index`.

    Each pair's two sides are written under `a/jNNNNN/` and `b/jNNNNN/` in a temporary folder,
    so one diff engine (git's) makes every patch forkman writes, with every setting pinned.
    Plain paths are written flat under stand-in names (creating folders is what costs most
    on a deep tree) and put back into the headers; git's output is otherwise the same.
    Binary files come as git binary patches (with the full `index` line git apply needs).
    With RENAMES, a pair that deletes one file and adds another is diffed again on its own with
    git's rename detection (on its own: in the batch, git would pair files across pairs).
    """
    require_git()
    if not pairs:
        return []
    flats = [_flat_names({*before, *after}) for before, after in pairs]
    chunks = _diff_jobs(pairs, flats, renames=False)
    if renames:
        for job, (before, after) in enumerate(pairs):
            gone = any(
                before.get(p) is not None and after.get(p) is None for p in {*before, *after}
            )
            new = any(before.get(p) is None and after.get(p) is not None for p in {*before, *after})
            if gone and new:
                chunks[job] = _diff_jobs([(before, after)], [None], renames=True)[0]
    return chunks


def _diff_jobs(
    pairs: Sequence[tuple[Tree, Tree]], flats: Sequence[dict[str, str] | None], renames: bool
) -> list[str]:
    with tempfile.TemporaryDirectory(prefix=scratch_prefix("diff"), dir=scratch_dir()) as tmp:
        _write_sides(Path(tmp), pairs, flats)
        text = _run_diff(Path(tmp), renames)
    sections = _split_jobs(text, len(pairs))
    chunks = []
    for job_sections, flat in zip(sections, flats, strict=True):
        kept: list[str] = []
        for section in job_sections:
            binary = "GIT binary patch\n" in section
            # no blob ids in text diffs (stable review diffs); git apply needs them for binary
            kept += [ln for ln in section if binary or not ln.startswith("index ")]
        chunks.append("".join(_header(ln) for ln in (_real_names(kept, flat) if flat else kept)))
    return chunks


def _write_sides(
    root: Path, pairs: Sequence[tuple[Tree, Tree]], flats: Sequence[dict[str, str] | None]
) -> None:
    """Each pair's BEFORE under a/, its AFTER under b/, one folder (or name prefix) a job."""
    for side in ("a", "b"):
        (root / side).mkdir()
    for job, ((before, after), flat) in enumerate(zip(pairs, flats, strict=True)):
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


def _run_diff(root: Path, renames: bool) -> str:
    """`git diff --no-index a b` in ROOT with no config but the pinned settings."""
    pins = {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_COUNT": "0",
        "GIT_DIFF_OPTS": "",
        "HOME": str(root),
        "LC_ALL": "C",
    }
    proc = runner.run(
        [
            "git",
            *STABLE_DIFF_CONFIG,
            "diff",
            "--no-index",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--find-renames" if renames else "--no-renames",
            "--binary",
            "--full-index",
            "--diff-algorithm=myers",
            "--indent-heuristic",
            "-U3",
            "--inter-hunk-context=0",
            "--no-prefix",
            "a",
            "b",
        ],
        cwd=root,
        env=pins,
    )
    if proc.returncode not in (0, 1):
        raise GitError(f"git diff failed: {last_line(proc.stderr.decode(errors='replace'))}")
    return proc.stdout.decode("utf-8", "surrogateescape")


def _split_jobs(text: str, count: int) -> list[list[list[str]]]:
    """git's one output cut back into each job's file sections, the job folders taken out."""
    lines = io.StringIO(text).readlines()  # split on "\n" only: a \f or \r inside a line is content
    sections: list[list[list[str]]] = [[] for _ in range(count)]
    job = 0
    in_header = False
    for line in lines:
        match = _JOB.match(line)
        if match:
            job, in_header = int(match.group(1)), True
            sections[job].append([])
        elif line.startswith("@@"):
            in_header = False
        if in_header:
            for sep in ("-", "/"):
                line = line.replace(f"a/j{job:05d}{sep}", "a/").replace(f"b/j{job:05d}{sep}", "b/")
            if line.startswith(("rename ", "copy ")):  # their names carry no a/ or b/
                line = re.sub(r'^((?:rename|copy) (?:from|to) "?)[ab]/', r"\1", line)
        sections[job][-1].append(line)
    return sections


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
