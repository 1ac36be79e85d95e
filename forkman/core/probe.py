"""Whether an overlay's outcome at one upstream commit already differs from its outcome at the pin.

The culprit search asks this of a few commits per broken overlay; every question but "does it
conflict" (a real merge, asked by the git side) is answered here from the file contents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from forkman.core.textdiff import edits, split
from forkman.core.upstreamed import judge_file

CONFLICT = "conflict"  # needs a merge: the git side answers
MOVED = "moved"
UPSTREAMED = "upstreamed"
PARTLY = "partly-upstreamed"
GONE = "gone"  # one of its files no longer exists
CONTEXT = 3

Files = Mapping[str, "bytes | None"]


@dataclass(frozen=True)
class Question:
    """What to ask of each commit for one overlay: KIND, over its files before and after it."""

    kind: str
    before: Files  # the overlay's files at the pin (with earlier overlays applied)
    after: Files  # the same files with the overlay applied


def _text(data: bytes | None) -> list[str]:
    return split(data.decode("utf-8", "surrogateescape")) if data is not None else []


def in_place(old: Sequence[str], mine: Sequence[str], now: Sequence[str]) -> bool:
    """Each change of the overlay (OLD -> MINE) still finds its lines and context at the same
    line numbers in NOW: the patch would apply with no offset."""
    for edit in edits(old, mine):
        lo, hi = max(edit.start - CONTEXT, 0), min(edit.end + CONTEXT, len(old))
        if list(now[lo:hi]) != list(old[lo:hi]):
            return False
    return True


def is_bad(question: Question, now: Files) -> bool:
    """Whether the upstream files NOW (at some commit) already show the outcome being explained.
    Not for CONFLICT, which takes a merge."""
    paths = [p for p in question.after if question.after[p] != question.before.get(p)]
    if question.kind == GONE:
        return any(now.get(p) is None and question.before.get(p) is not None for p in paths)
    texts = {
        p: (_text(question.before.get(p)), _text(question.after[p]), _text(now.get(p)))
        for p in paths
    }
    if question.kind == MOVED:
        return not all(in_place(*t) for t in texts.values())
    # a file the overlay deletes is upstream's doing once upstream deleted it too
    deleted = [now.get(p) is None for p in paths if question.after[p] is None]
    judged = [judge_file(*t) for p, t in texts.items() if question.after[p] is not None]
    if question.kind == UPSTREAMED:
        return all(j.whole for j in judged) and all(deleted)
    if question.kind == PARTLY:
        return any(j.upstreamed for j in judged) or any(deleted)
    raise ValueError(f"not a question the file contents answer: {question.kind}")
