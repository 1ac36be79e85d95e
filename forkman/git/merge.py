"""git's 3-way merge of content held in memory (`git merge-file`, batched), and its options.

The options: diff3-style markers (base shown), one label per side, and FAVOR ("ours",
"theirs", "union") to settle conflicts one way when only a foresight is needed.
"""

from __future__ import annotations

import io
import os
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from forkman.core.values import MergeJob, MergeResult
from forkman.errors import GitError
from forkman.git import runner
from forkman.git.runner import last_line, scratch_dir, scratch_prefix


def merge_file(
    base: bytes, ours: bytes, theirs: bytes, labels: tuple[str, str, str], favor: str | None = None
) -> MergeResult:
    """A 3-way merge of one file's content with `git merge-file` (no repository needed).

    FAVOR settles conflicts one way; forkman uses it only to foresee what later overlays will
    meet, never for a result that it writes.
    """
    return merge_many([MergeJob(base, ours, theirs, labels, favor)])[0]


BATCH_AT = 4  # from this many merges on, one batch of git processes beats one process each
_LAST_RECURSIVE = (2, 49)  # git 2.50 runs `git merge-recursive` with ort (histogram diffs)


def merge_many(jobs: Sequence[MergeJob]) -> list[MergeResult]:
    """Many independent 3-way merges, each as `git merge-file -p --diff3` would make it.

    From BATCH_AT merges on, all of them go through one `git merge-recursive` (four git
    processes in all, whatever the count): the same xdiff merge with the same (Myers) diff as
    merge-file, so its clean results are merge-file's byte for byte; merge-file's merge level
    differs only in how conflicts are split, so the jobs that conflict are merged again by
    `git merge-file`, and their markers and conflict counts are merge-file's own.
    (`git merge-tree --stdin` would batch too, but its ort backend diffs with histogram, which
    merges some ambiguous changes that merge-file calls conflicts: tests/test_merge_batch.py.)
    """
    if not jobs:
        return []
    results: list[MergeResult | None] = [None] * len(jobs)
    plain = [i for i, job in enumerate(jobs) if job.favor is None]
    if len(plain) >= BATCH_AT and runner.git_version()[:2] <= _LAST_RECURSIVE:
        for i, data in zip(plain, _merge_batch([jobs[i] for i in plain]), strict=True):
            if data is not None:
                results[i] = MergeResult(data, 0)
    rest = [i for i, result in enumerate(results) if result is None]
    for i, result in zip(rest, _merge_files([jobs[i] for i in rest]), strict=True):
        results[i] = result
    return [r for r in results if r is not None]


def _batch_stream(jobs: Sequence[MergeJob]) -> tuple[bytes, tuple[int, int, int]]:
    """fast-import input: every job's three blobs, then three commits (base, upstream, overlays)
    holding job N's side as file fNNNNNN; and the three commits' marks."""
    count = len(jobs)
    out = io.BytesIO()
    for n, job in enumerate(jobs):
        for side, data in enumerate((job.base, job.ours, job.theirs)):
            out.write(b"blob\nmark :%d\ndata %d\n%s\n" % (3 * n + side + 1, len(data), data))
    commits = (3 * count + 1, 3 * count + 2, 3 * count + 3)
    for side, mark in enumerate(commits):
        out.write(b"commit refs/heads/side%d\nmark :%d\n" % (side, mark))
        out.write(b"committer forkman <forkman@invalid> 0 +0000\ndata 0\n")
        if side:
            out.write(b"from :%d\n" % commits[0])
        for n in range(count):
            out.write(b"M 100644 :%d f%06d\n" % (3 * n + side + 1, n))
    return out.getvalue(), commits


def _merge_batch(jobs: Sequence[MergeJob]) -> list[bytes | None]:
    """JOBS merged together in a scratch repository: each clean one's bytes, None otherwise.

    `git fast-import` writes the commits, `git read-tree` checks out upstream's side,
    `git merge-recursive` merges the overlays' side into it, `git ls-files -u` names the
    files that conflict. No config or attributes (none of the user's either) reach the merge.
    """
    failed: list[bytes | None] = [None] * len(jobs)
    with tempfile.TemporaryDirectory(prefix=scratch_prefix("merge"), dir=scratch_dir()) as tmp:
        git_dir, work = os.path.join(tmp, "git"), os.path.join(tmp, "work")
        os.makedirs(os.path.join(git_dir, "objects"))
        os.mkdir(os.path.join(git_dir, "refs"))
        os.mkdir(work)
        head = Path(git_dir, "HEAD")
        head.write_bytes(b"ref: refs/heads/main\n")
        pins = {
            "GIT_DIR": git_dir,
            "GIT_WORK_TREE": work,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_COUNT": "0",
            "HOME": tmp,
            "XDG_CONFIG_HOME": tmp,
            "LC_ALL": "C",
        }

        def git(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
            return runner.run(["git", *args], cwd=work, env=pins, stdin=stdin)

        stream, commits = _batch_stream(jobs)
        marks = os.path.join(tmp, "marks")
        if git("fast-import", "--quiet", f"--export-marks={marks}", stdin=stream).returncode:
            return failed
        sha = dict(line.split() for line in Path(marks).read_text().splitlines())
        base, ours, theirs = (sha[f":{mark}"] for mark in commits)
        head.write_text(ours + "\n")
        if git("read-tree", "--reset", "-u", ours).returncode:
            return failed
        if git("merge-recursive", base, "--", ours, theirs).returncode not in (0, 1):
            return failed
        unmerged = git("ls-files", "-u", "-z")
        if unmerged.returncode:
            return failed
        conflicted = {
            record.split(b"\t", 1)[1].decode() for record in unmerged.stdout.split(b"\0") if record
        }
        return [
            None if f"f{n:06d}" in conflicted else Path(work, f"f{n:06d}").read_bytes()
            for n in range(len(jobs))
        ]


def _merge_files(jobs: Sequence[MergeJob]) -> list[MergeResult]:
    """One `git merge-file` (diff3 style) per job, over one temporary folder, several at once."""
    if not jobs:
        return []
    with tempfile.TemporaryDirectory(prefix=scratch_prefix("merge"), dir=scratch_dir()) as tmp:

        def run(numbered: tuple[int, MergeJob]) -> MergeResult:
            number, job = numbered
            files = []
            for side, data in (("ours", job.ours), ("base", job.base), ("theirs", job.theirs)):
                path = Path(tmp) / f"{number}.{side}"
                path.write_bytes(data)
                files.append(str(path))
            ours_label, base_label, theirs_label = job.labels
            args = [
                "git",
                "merge-file",
                "-p",
                "--diff3",
                *("-L", ours_label, "-L", base_label, "-L", theirs_label),
                *([f"--{job.favor}"] if job.favor else []),
            ]
            proc = runner.run([*args, *files])
            if proc.returncode < 0 or proc.returncode > 127:
                raise GitError(
                    f"git merge-file failed: {last_line(proc.stderr.decode(errors='replace'))}"
                )
            return MergeResult(proc.stdout, proc.returncode)

        if len(jobs) == 1:
            return [run((0, jobs[0]))]
        with ThreadPoolExecutor(max_workers=min(8, 2 * (os.cpu_count() or 1))) as pool:
            return list(pool.map(run, enumerate(jobs)))
