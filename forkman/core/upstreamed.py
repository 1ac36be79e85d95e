"""Whether the new release already holds an overlay's change: hunk by hunk, and in another form."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from forkman.core.textdiff import Edit, body, edits, line_map, similar, similarity, split, words
from forkman.core.trimdiff import edits_trimmed, line_map_trimmed

CONTEXT = 3
SIMILAR = 0.75  # a line this close (difflib ratio) counts as present in another form


def _meaningful(line: str) -> bool:
    """A line worth matching on its own: not blank, not a lone bracket or keyword."""
    text = body(line)
    return len(text) >= 4 and any(ch.isalnum() for ch in text)


def _contains(lines: Sequence[str], block: Sequence[str]) -> bool:
    if not block:
        return True
    size, first, want = len(block), block[0], list(block)
    return any(
        lines[i] == first and list(lines[i : i + size]) == want
        for i in range(len(lines) - size + 1)
    )


def applies_in_reverse(old: Sequence[str], new: Sequence[str], edit: Edit) -> bool:
    """NEW holds the overlay's result with its context, as `patch -R` would find it; or, where
    upstream rewrote the context further out, with fewer context lines (as patch's fuzz does),
    as long as the context left holds two real lines and OLD never had that run of lines."""
    if not any(_meaningful(ln) for ln in edit.lines):
        return False  # a pure deletion leaves nothing to recognise but its context
    for context in range(CONTEXT, 0, -1):
        before = list(old[max(edit.start - context, 0) : edit.start])
        after = list(old[edit.end : edit.end + context])
        result = [*before, *edit.lines, *after]
        if context < CONTEXT and (
            sum(map(_meaningful, before + after)) < 2 or _contains(old, result)
        ):
            continue
        if _contains(new, result):
            return True
    return False


def stands_in_place(old: Sequence[str], new: Sequence[str], edit: Edit) -> bool:
    """The overlay's added lines stand where its removed lines stood (their old neighbours,
    as upstream kept them, on either side), and none of the removed lines is left there."""
    want = [body(ln) for ln in edit.lines if body(ln)]
    if not want:
        return False  # nothing added to stand anywhere: no line map needed to say so
    kept = line_map_trimmed(old, new)
    above = max((i for i in kept if i < edit.start), default=None)
    below = min((i for i in kept if i >= edit.end), default=None)
    lo = kept[above] + 1 if above is not None else 0
    hi = kept[below] if below is not None else len(new)
    there = [body(ln) for ln in new[lo:hi] if body(ln)]
    gone = {body(ln) for ln in old[edit.start : edit.end] if body(ln)} - set(want)
    if gone & set(there):
        return False
    return any(there[i : i + len(want)] == want for i in range(len(there) - len(want) + 1))


def deleted_too(old: Sequence[str], mine: Sequence[str], new: Sequence[str], edit: Edit) -> bool:
    """A deletion upstream made too: no removed line has more copies in NEW than in the
    overlay's file MINE (upstream did not keep or move it), and between the removed lines'
    nearest neighbours that upstream kept, NEW holds nothing (blank lines aside) or only its
    own rewrite of the lines around, none of it a form of theirs. The neighbours must stand
    close: a deletion inside lines upstream never had (an earlier overlay's) is not upstream's."""
    removed = [ln for ln in old[edit.start : edit.end] if _meaningful(ln)]
    if any(_meaningful(ln) for ln in edit.lines) or not removed:
        return False
    counts_mine, counts_new = _counts(tuple(mine)), _counts(tuple(new))
    if any(counts_new[body(ln)] > counts_mine[body(ln)] for ln in removed):
        return False
    kept = line_map(old, new)
    above = max((i for i in kept if i < edit.start), default=None)
    below = min((i for i in kept if i >= edit.end), default=None)
    if (
        above is None
        or below is None
        or above < edit.start - CONTEXT
        or below >= edit.end + CONTEXT
    ):
        return False  # upstream lacks the block's neighbourhood: nothing to stand on
    there = [ln for ln in new[kept[above] + 1 : kept[below]] if _meaningful(ln)]
    return not there or (
        len(there) <= len(removed) + 2 * CONTEXT
        and not any(similar(ln, up, SIMILAR) is not None for ln in removed for up in there)
    )


def added_elsewhere(old: Sequence[str], new: Sequence[str], line: str) -> bool:
    """Upstream added LINE somewhere in the file (it has more copies of it than the old file)."""
    return _counts(tuple(new))[body(line)] > _counts(tuple(old))[body(line)]


@lru_cache(maxsize=64)
def _counts(lines: tuple[str, ...]) -> Counter[str]:
    return Counter(body(ln) for ln in lines)


def hunk_upstreamed(
    old: Sequence[str], mine: Sequence[str], new: Sequence[str], edit: Edit
) -> bool:
    if (
        applies_in_reverse(old, new, edit)
        or stands_in_place(old, new, edit)
        or deleted_too(old, mine, new, edit)
    ):
        return True
    # Upstream made the addition elsewhere in the file (its removals are gone too).
    adds = [ln for ln in edit.lines if _meaningful(ln)]
    removed = {body(ln) for ln in old[edit.start : edit.end] if _meaningful(ln)}
    present = {body(ln) for ln in new}
    return (
        bool(adds)
        and all(added_elsewhere(old, new, ln) for ln in adds)
        and not (removed - {body(ln) for ln in adds}) & present
    )


@dataclass(frozen=True)
class FileJudgement:
    """One file of an overlay against the new release."""

    upstreamed: tuple[Edit, ...]  # the overlay's changes the new release already holds
    remainder: tuple[Edit, ...]  # the rest, without lines upstream added elsewhere

    @property
    def whole(self) -> bool:
        return bool(self.upstreamed) and not self.remainder


def judge_file(
    old: Sequence[str],
    mine: Sequence[str],
    new: Sequence[str],
    changes: Sequence[Edit] | None = None,
) -> FileJudgement:
    """Split the overlay's change OLD -> MINE into what NEW (upstream) already holds and the rest.
    CHANGES: edits_trimmed(OLD, MINE) when the caller has it (a probe judges one overlay's
    change against many upstream commits).

    The rest never adds again a line upstream added elsewhere in the file: such lines are
    taken out of the overlay's change (the line upstream wrote is the one kept)."""
    done: list[Edit] = []
    rest: list[Edit] = []
    for edit in edits_trimmed(old, mine) if changes is None else changes:
        if hunk_upstreamed(old, mine, new, edit):
            done.append(edit)
            continue
        lines = tuple(
            ln for ln in edit.lines if not (_meaningful(ln) and added_elsewhere(old, new, ln))
        )
        if lines != edit.lines:
            done.append(edit)
            if lines or edit.end > edit.start:
                rest.append(Edit(edit.start, edit.end, lines, edit.new_start))
        else:
            rest.append(edit)
    return FileJudgement(tuple(done), tuple(rest))


def files_upstreamed(
    before: Mapping[str, str | None],
    after: Mapping[str, str | None],
    new: Mapping[str, str | None],
) -> bool:
    """NEW (upstream's files) already holds the overlay's whole change BEFORE -> AFTER in every
    one of these files (None: no such file)."""
    for path, mine in after.items():
        old, theirs = before.get(path), new.get(path)
        if mine in (theirs, old):
            continue
        if (
            mine is None
            or theirs is None
            or not judge_file(split(old or ""), split(mine), split(theirs)).whole
        ):
            return False
    return True


@dataclass(frozen=True)
class Likeness:
    """How close upstream's change of the same lines is to the overlay's."""

    words_missing: int  # identifiers and literals the overlay adds that upstream's lines lack
    words_added: int
    lines_held: float  # the share of the overlay's added lines upstream has, or nearly

    @property
    def words_held(self) -> bool:
        """Upstream's lines have the overlay's identifiers and literals: all of a few, or all but
        one in ten (on real packages upstream renames a variable or a type on the way)."""
        return self.words_missing <= self.words_added // 10

    @property
    def likely(self) -> bool:
        return self.words_held and self.lines_held > 0.5


def likeness(old: Sequence[str], mine: Sequence[str], new: Sequence[str]) -> Likeness | None:
    """The overlay's change OLD -> MINE against upstream's OLD -> NEW where they overlap
    (None when upstream did not touch the overlay's lines)."""
    theirs = edits(old, new)
    added: list[str] = []
    removed: list[str] = []
    upstream_lines: list[str] = []
    held = 0
    for edit in edits(old, mine):
        near = [e for e in theirs if e.touches(edit.start, edit.end)]
        if not near:
            continue
        adds = [ln for ln in edit.lines if _meaningful(ln)]
        gone = list(old[edit.start : edit.end])
        ups = [ln for e in near for ln in e.lines]
        added, removed, upstream_lines = added + adds, removed + gone, upstream_lines + ups
        # a line of upstream's counts for the overlay's only when it is closer to the overlay's
        # line than to the line the overlay replaced (upstream may just have edited that one)
        held += sum(
            1
            for ln in adds
            if any(
                (near_ln := similar(ln, up, SIMILAR)) is not None
                and all(similarity(g, up) < near_ln for g in gone if _meaningful(g))
                for up in ups
            )
        )
    if not added:
        return None
    fresh = words(added) - words(removed)
    return Likeness(len(fresh - words(upstream_lines)), len(fresh), held / len(added))
