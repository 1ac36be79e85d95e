"""Batched merges (one `git merge-tree --stdin`) give `git merge-file`'s bytes and conflict counts."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

from forkman.core.values import MergeJob, MergeResult
from forkman.git.merge import BATCH_AT, merge_many

LABELS = ("rel-v2", "rel-v1", "overlay fix")
BASE = b"".join(b"line %d\n" % n for n in range(1, 21))


def _replace(text: bytes, line: int, new: bytes) -> bytes:
    lines = text.splitlines(keepends=True)
    lines[line] = new
    return b"".join(lines)


CASES = [
    # far apart: merges
    (BASE, _replace(BASE, 1, b"upstream 2\n"), _replace(BASE, 15, b"overlay 16\n")),
    # the same line: conflict
    (BASE, _replace(BASE, 5, b"upstream 6\n"), _replace(BASE, 5, b"overlay 6\n")),
    # adjacent lines: git conflicts
    (BASE, _replace(BASE, 5, b"upstream 6\n"), _replace(BASE, 6, b"overlay 7\n")),
    # one line apart: merges
    (BASE, _replace(BASE, 5, b"upstream 6\n"), _replace(BASE, 7, b"overlay 8\n")),
    # both make the same change
    (BASE, _replace(BASE, 3, b"same\n"), _replace(BASE, 3, b"same\n")),
    # no newline at the end, on one side and on both
    (b"a\nb\nc\nd\ne\nf", b"A\nb\nc\nd\ne\nf", b"a\nb\nc\nd\ne\nF"),
    (b"a\nb\nc\nd\ne\nf\n", b"A\nb\nc\nd\ne\nf\n", b"a\nb\nc\nd\ne\nf"),
    # CRLF kept byte for byte
    (b"a\r\nb\r\nc\r\nd\r\ne\r\n", b"A\r\nb\r\nc\r\nd\r\ne\r\n", b"a\r\nb\r\nc\r\nd\r\nE\r\n"),
    # an empty base: both sides add the file
    (b"", b"one\ntwo\n", b"one\ntwo\nthree\n"),
    (b"", b"one\n", b"uno\n"),
    # everything removed on one side, edited on the other
    (BASE, b"", _replace(BASE, 2, b"edited\n")),
    # two conflicts separated only by a line without letters (merge-file's level joins them)
    (
        b"a\nb\n}\nc\nd\n",
        b"A1\nb\n}\nC1\nd\n",
        b"A2\nb\n}\nC2\nd\n",
    ),
    # non-UTF-8 bytes
    (b"caf\xe9\nx\ny\nz\nw\n", b"caf\xe9!\nx\ny\nz\nw\n", b"caf\xe9\nx\ny\nz\nW\n"),
]


def _merge_file(job: MergeJob, folder: Path) -> MergeResult:
    paths = []
    for side, data in (("ours", job.ours), ("base", job.base), ("theirs", job.theirs)):
        path = folder / side
        path.write_bytes(data)
        paths.append(str(path))
    labels = [arg for label in job.labels for arg in ("-L", label)]
    proc = subprocess.run(
        ["git", "merge-file", "-p", "--diff3", *labels, *paths], capture_output=True, check=False
    )
    return MergeResult(proc.stdout, proc.returncode)


def _random_side(rng: random.Random, base: list[bytes]) -> bytes:
    lines = list(base)
    for _ in range(rng.randint(0, 4)):
        at = rng.randrange(len(lines) + 1)
        kind = rng.random()
        if kind < 0.4 and at < len(lines):
            lines[at] = b"changed %d\n" % rng.randint(0, 3)
        elif kind < 0.7:
            lines.insert(at, rng.choice([b"\n", b"}\n", b"new %d\n" % rng.randint(0, 3)]))
        elif at < len(lines):
            del lines[at]
    return b"".join(lines)


def _random_cases(count: int) -> list[tuple[bytes, bytes, bytes]]:
    rng = random.Random(14)
    cases = []
    for _ in range(count):
        base = [
            rng.choice([b"x\n", b"\n", b"}\n", b"line %d\n" % rng.randint(0, 30)])
            for _ in range(rng.randint(0, 25))
        ]
        cases.append((b"".join(base), _random_side(rng, base), _random_side(rng, base)))
    return cases


def test_batched_merges_equal_merge_file_byte_for_byte(tmp_path: Path) -> None:
    jobs = [MergeJob(b, o, t, LABELS) for b, o, t in CASES + _random_cases(300)]
    assert len(jobs) >= BATCH_AT
    expected = [_merge_file(job, tmp_path) for job in jobs]
    assert merge_many(jobs) == expected
    assert {r.conflicts > 0 for r in expected} == {True, False}  # both kinds were exercised


def test_favoured_and_few_merges_take_merge_file(tmp_path: Path) -> None:
    conflict = CASES[1]
    jobs = [MergeJob(*conflict, LABELS, favor="theirs")] + [
        MergeJob(b, o, t, LABELS) for b, o, t in CASES[:BATCH_AT]
    ]
    results = merge_many(jobs)
    assert results[0].conflicts == 0 and b"overlay 6\n" in results[0].data
    assert results[1:] == [_merge_file(job, tmp_path) for job in jobs[1:]]
    assert merge_many(jobs[1:2]) == [_merge_file(jobs[1], tmp_path)]
