"""Whether an overlay's outcome at one upstream commit already differs from its outcome at the pin.

The culprit search asks this of a few commits per broken overlay; every question but "does it
conflict" and "does it still fail to carry" (real merges, run by the git side on the jobs made
here) is answered here from the file contents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from forkman.core.carry import carry, holds_some, without_upstreamed
from forkman.core.explain import OtherFile
from forkman.core.textdiff import Edit, split
from forkman.core.trimdiff import edits_trimmed
from forkman.core.upstreamed import judge_file
from forkman.core.values import MergeJob

CONFLICT = "conflict"  # needs a merge: the git side answers
# Does it still fail to carry, the way the planner carries (lines upstream already holds left
# out, upstream's moves followed)? Merges again; answered in levels (core.culprit.CLEAN..BROKEN).
CARRY = "carry"
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
    # CARRY: other files where upstream may move the overlay's lines, at the pin (None: new)
    near: Files = field(default_factory=dict)

    # A bisection asks one question of many commits: what depends on the question alone
    # (its files' lines, the overlay's edits) is worked out once, not once per commit.
    @cached_property
    def paths(self) -> tuple[str, ...]:
        """The files whose upstream content the question is put to."""
        return tuple(sorted(set(self.changed) | set(self.near)))

    @cached_property
    def looked_at(self) -> frozenset[str]:
        """Every file whose upstream content a probe of it may read (is_bad, first_merges and
        restated read no other): the upstream content it is put to needs no more."""
        return frozenset((*self.before, *self.after, *self.near))

    @cached_property
    def changed(self) -> tuple[str, ...]:
        """The files the overlay changes."""
        return tuple(p for p in self.after if self.after[p] != self.before.get(p))

    @cached_property
    def texts(self) -> dict[str, tuple[list[str], list[str]]]:
        return {p: (_text(self.before.get(p)), _text(self.after[p])) for p in self.changed}

    @cached_property
    def _windows(self) -> dict[str, tuple[tuple[int, int, tuple[str, ...]], ...]]:
        return {}

    @cached_property
    def _edits(self) -> dict[str, tuple[Edit, ...]]:
        return {}

    def edits(self, path: str) -> tuple[Edit, ...]:
        """The overlay's edits of PATH (edits_trimmed of its text before and after), worked
        out on first need: a file upstream has not changed yet needs no diff."""
        known = self._edits.get(path)
        if known is None:
            known = self._edits[path] = edits_trimmed(*self.texts[path])
        return known

    def windows(self, path: str) -> tuple[tuple[int, int, tuple[str, ...]], ...]:
        """The old lines (with context) each of the overlay's edits to PATH needs in place."""
        known = self._windows.get(path)
        if known is None:
            old = self.texts[path][0]
            spans = (
                (max(e.start - CONTEXT, 0), min(e.end + CONTEXT, len(old)))
                for e in self.edits(path)
            )
            known = self._windows[path] = tuple((lo, hi, tuple(old[lo:hi])) for lo, hi in spans)
        return known


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
        return not all(
            now.get(p) == question.before.get(p) or in_place(question.windows(p), now.get(p))
            for p in paths
        )
    if question.kind not in (UPSTREAMED, PARTLY):
        raise ValueError(f"not a question the file contents answer: {question.kind}")
    # a file the overlay deletes is upstream's doing once upstream deleted it too
    deleted = [now.get(p) is None for p in paths if question.after[p] is None]
    # each file judged only as far as the answer needs (judging is pure: the answer is the
    # one judging every file gives)
    judged = (
        judge_file(*question.texts[p], _text(now.get(p)), question.edits(p))
        for p in paths
        if question.after[p] is not None
    )
    if question.kind == UPSTREAMED:
        return all(deleted) and all(j.whole for j in judged)
    return any(deleted) or any(j.upstreamed for j in judged)


_LABELS = ("upstream", "base", "overlay")


def first_merges(question: Question, now: Files) -> tuple[bool, tuple[tuple[str, MergeJob], ...]]:
    """For CONFLICT and CARRY: whether NOW already breaks the overlay without a merge (a file of
    it gone upstream), and the 3-way merge of each file both sides changed. CARRY's merges leave
    out, as the planner's do, the lines upstream already added itself."""
    gone = False
    jobs: list[tuple[str, MergeJob]] = []
    for path, mine in question.after.items():
        before = question.before.get(path)
        if mine == before:
            continue
        theirs = now.get(path)
        if mine is None or theirs is None:
            gone = gone or (theirs is None and before is not None)
            continue
        if theirs in (before, mine):
            continue
        base = before or b""
        if question.kind == CARRY and holds_some(base, theirs, mine):
            mine = without_upstreamed(base, theirs, mine)[0]
        jobs.append((path, MergeJob(base, theirs, mine, _LABELS)))
    return gone, tuple(jobs)


def restated(question: Question, now: Files, path: str, job: MergeJob) -> MergeJob | None:
    """For CARRY, once JOB (PATH's first merge) conflicts: the merge the planner tries instead,
    with the overlay's changes made where upstream moved their lines (None: nothing to try)."""
    near = {
        p: OtherFile(tuple(_text(old)) or None, tuple(_text(now.get(p))))
        for p, old in {**question.before, **question.near}.items()
        if p != path and now.get(p) is not None
    }
    carried = carry(path, job.base, job.ours, job.theirs, near)
    if carried is None or not (carried.moves or carried.upstreamed):
        return None
    return MergeJob(job.base, carried.upstream, carried.overlay, job.labels)
