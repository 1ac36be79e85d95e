"""git's 3-way merge of content held in memory (`git merge-file`), and its options.

The options: diff3-style markers (base shown), one label per side, and FAVOR ("ours",
"theirs", "union") to settle conflicts one way when only a foresight is needed.
"""

from __future__ import annotations

import os
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


def merge_many(jobs: Sequence[MergeJob]) -> list[MergeResult]:
    """Many independent `git merge-file` runs (diff3 style) over one temporary folder, several at once."""
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
