"""The value types every layer shares: commit ids, a file's content and mode, a tree of files."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, NewType

Sha = NewType("Sha", str)

# A long fetch reports (stage, done, total or None) as it goes.
ProgressFn = Callable[[str, int, "int | None"], None]


class FileState(NamedTuple):
    """A file's bytes and git mode ("100644", "100755" or "120000")."""

    data: bytes
    mode: str = "100644"


def file_hash(text: str | bytes) -> str:
    """An overlay file's sha256, as forkman.lock records it."""
    raw = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(raw).hexdigest()


# A path's state: its content, or None where the file does not exist.
Tree = Mapping[str, "FileState | None"]
State = dict[str, "FileState | None"]  # a Tree that is built up step by step


@dataclass(frozen=True)
class MergeJob:
    """One 3-way merge of a file's content: base, ours, theirs, their labels, and how to settle."""

    base: bytes
    ours: bytes
    theirs: bytes
    labels: tuple[str, str, str]
    favor: str | None = None  # "ours", "theirs" or "union" settles conflicts one way


@dataclass(frozen=True)
class MergeResult:
    data: bytes
    conflicts: int  # how many conflicts are left as markers in DATA


# Merges many files at once (git merge-file in forkman.git.merge; any pure function in tests).
MergeFn = Callable[[Sequence[MergeJob]], list[MergeResult]]
# One patch per (before, after) pair (git diff in forkman.git.diff).
DiffFn = Callable[[Sequence[tuple[Tree, Tree]]], list[str]]
