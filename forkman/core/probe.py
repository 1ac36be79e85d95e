"""Whether an overlay's outcome at one upstream commit already differs from its outcome at the pin.

The culprit search asks this of a few commits per broken overlay; every question but "does it
conflict" (a real merge, asked by the git side) is answered here from the file contents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

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

    # A bisection asks one question of many commits: what depends on the question alone
    # (its files' lines, the overlay's edits) is worked out once, not once per commit.
    @cached_property
    def changed(self) -> tuple[str, ...]:
        """The files the overlay changes."""
        return tuple(p for p in self.after if self.after[p] != self.before.get(p))

    @cached_property
    def texts(self) -> dict[str, tuple[list[str], list[str]]]:
        return {p: (_text(self.before.get(p)), _text(self.after[p])) for p in self.changed}

    @cached_property
    def windows(self) -> dict[str, tuple[tuple[int, int, tuple[str, ...]], ...]]:
        """Per path, the old lines (with context) each of the overlay's edits needs in place."""
        out = {}
        for path, (old, mine) in self.texts.items():
            spans = (
                (max(e.start - CONTEXT, 0), min(e.end + CONTEXT, len(old)))
                for e in edits(old, mine)
            )
            out[path] = tuple((lo, hi, tuple(old[lo:hi])) for lo, hi in spans)
        return out


def _text(data: bytes | None) -> list[str]:
    return split(data.decode("utf-8", "surrogateescape")) if data is not None else []


def in_place(windows: Sequence[tuple[int, int, tuple[str, ...]]], now_data: bytes | None) -> bool:
    """Each change of the overlay still finds its lines and context (WINDOWS: from
    Question.windows) at the same line numbers in NOW: the patch would apply with no offset."""
    now = _text(now_data)
    return all(tuple(now[lo:hi]) == lines for lo, hi, lines in windows)


def is_bad(question: Question, now: Files) -> bool:
    """Whether the upstream files NOW (at some commit) already show the outcome being explained.
    Not for CONFLICT, which takes a merge."""
    paths = question.changed
    if question.kind == GONE:
        return any(now.get(p) is None and question.before.get(p) is not None for p in paths)
    if question.kind == MOVED:
        return not all(in_place(question.windows[p], now.get(p)) for p in paths)
    texts = {p: (*question.texts[p], _text(now.get(p))) for p in paths}
    # a file the overlay deletes is upstream's doing once upstream deleted it too
    deleted = [now.get(p) is None for p in paths if question.after[p] is None]
    judged = [judge_file(*t) for p, t in texts.items() if question.after[p] is not None]
    if question.kind == UPSTREAMED:
        return all(j.whole for j in judged) and all(deleted)
    if question.kind == PARTLY:
        return any(j.upstreamed for j in judged) or any(deleted)
    raise ValueError(f"not a question the file contents answer: {question.kind}")
