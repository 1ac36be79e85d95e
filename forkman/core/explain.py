"""What upstream did to the lines an overlay stands on: moved, reformatted, rewritten, deleted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from forkman.core.culprit import Culprit
from forkman.core.textdiff import Edit, body, edits, find_block, inserted, tokens, unified

MOVED = "moved"
REFORMATTED = "reformatted"
REWRITTEN = "rewritten"
DELETED = "deleted"
UNTOUCHED = "untouched"  # upstream left these lines alone (the conflict is next to them)


@dataclass(frozen=True)
class Place:
    path: str
    line: int  # 1-based, in upstream's new file
    end: int
    indent: str = ""  # the indentation the moved block has there

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}"
            if self.end <= self.line
            else f"{self.path}:{self.line}-{self.end}"
        )


@dataclass(frozen=True)
class Verdict:
    """Upstream's doing to one range of old lines, and upstream's own diff of them."""

    did: str
    moved_to: Place | None = None
    candidates: tuple[Place, ...] = ()  # every place the lines now stand when there are several
    upstream_diff: str = ""

    @property
    def ambiguous(self) -> bool:
        return self.did == MOVED and self.moved_to is None


@dataclass(frozen=True)
class OtherFile:
    """Another file of the new release where moved lines may have gone (OLD: None when new)."""

    old: tuple[str, ...] | None
    new: tuple[str, ...]


CONTEXT = 2


def anchor(old: Sequence[str], edit: Edit) -> tuple[int, int]:
    """The old lines that locate a change: those it replaces, or the context of an insertion."""
    meaningful = sum(1 for ln in old[edit.start : edit.end] if body(ln))
    if meaningful >= 2:
        return edit.start, edit.end
    if meaningful == 1:
        # one line alone may stand anywhere by chance: its neighbours must have moved with it
        return max(edit.start - 1, 0), min(edit.end + 1, len(old))
    return max(edit.start - CONTEXT, 0), min(edit.end + CONTEXT, len(old))


def stands_on(edit: Edit) -> tuple[int, int]:
    """The old lines an overlay's change stands on: those it replaces, or the two around an
    insertion."""
    if edit.end > edit.start:
        return edit.start, edit.end
    return max(edit.start - 1, 0), edit.start + 1


def places(
    block: Sequence[str],
    path: str,
    old: Sequence[str],
    new: Sequence[str],
    others: Mapping[str, OtherFile],
) -> tuple[Place, ...]:
    """Where BLOCK went: the places, in lines upstream inserted (this file or another), that hold
    it whole, re-indented or not."""
    if not any(body(ln) for ln in block):
        return ()
    found = []
    for where, (before, after) in [(path, (tuple(old), tuple(new)))] + [
        (p, (o.old, o.new)) for p, o in sorted(others.items()) if p != path
    ]:
        # most candidate files do not hold the block at all: compare old and new (the costly
        # part) only for those that do
        matches = find_block(block, after)
        if not matches:
            continue
        fresh = inserted(before or (), after)
        for m in matches:
            if all(m.start + k in fresh for k in range(len(block))):
                found.append(Place(where, m.start + 1, m.start + len(block), m.new_prefix))
    return tuple(found)


def classify(
    path: str,
    old: Sequence[str],
    new: Sequence[str],
    span: tuple[int, int],
    others: Mapping[str, OtherFile] | None = None,
) -> Verdict:
    """What upstream's change OLD -> NEW did to old lines [start, end) of PATH."""
    others = others or {}
    start, end = span
    touching = [e for e in edits(old, new) if e.touches(start, end)]
    diff = unified(old, new, path, path, focus=span)
    if not touching:
        return Verdict(UNTOUCHED, upstream_diff=diff)
    block = list(old[start:end])
    found = places(block, path, old, new, others)
    if found:
        diff = diff + "".join(_destination_diffs(path, found, others, old, new, diff))
        return Verdict(MOVED, found[0] if len(found) == 1 else None, found, diff)
    region_start = min(e.start for e in touching)
    region_end = max(e.end for e in touching)
    replaced = [ln for e in touching for ln in e.lines]
    if tokens(old[region_start:region_end]) == tokens(replaced) and replaced:
        return Verdict(REFORMATTED, upstream_diff=diff)
    survivors = [ln for ln in replaced if body(ln)]
    if not survivors or all(not body(ln) for ln in block):
        return Verdict(DELETED, upstream_diff=diff)
    return Verdict(REWRITTEN, upstream_diff=diff)


def _destination_diffs(
    path: str,
    found: Sequence[Place],
    others: Mapping[str, OtherFile],
    old: Sequence[str] = (),
    new: Sequence[str] = (),
    shown: str = "",
) -> list[str]:
    """Upstream's diff where the moved lines arrived (the hunk, in this file, unless the diff of
    the lines' old place already shows it)."""
    out = []
    for place in found:
        if place.path == path:
            if "\n+" + new[place.line - 1] in shown:
                continue
            at = _old_position(old, new, place.line - 1)
            diff = unified(old, new, path, path, focus=(at, at))
            out.append("".join(diff.splitlines(keepends=True)[2:]))
            continue
        other = others.get(place.path)
        if other is None:
            continue
        before = other.old or ()
        at = _old_position(before, other.new, place.line - 1)
        out.append(unified(before, other.new, place.path, place.path, focus=(at, at)))
    return out


def _old_position(old: Sequence[str], new: Sequence[str], new_line: int) -> int:
    """The old line index where new line NEW_LINE (0-based) was inserted."""
    for e in edits(old, new):
        if e.new_start <= new_line < e.new_start + len(e.lines):
            return e.start
    return 0


def locate(old: Sequence[str], block: Sequence[str], near: int = 0) -> tuple[int, int] | None:
    """Old lines [start, end) holding BLOCK (a conflict's base side), the nearest to NEAR when it
    occurs more than once; None when the old file does not hold it."""
    size = len(block)
    if not size:
        return None
    hits = [i for i in range(len(old) - size + 1) if list(old[i : i + size]) == list(block)]
    if not hits:
        return None
    at = min(hits, key=lambda i: abs(i - near))
    return at, at + size


ADDED = "added"  # upstream added its own lines at the very place the overlay adds its


@dataclass(frozen=True)
class HunkWhy:
    """What upstream did to the lines under one conflict."""

    upstream_did: str
    moved_to: str | None = None  # FILE:LINE when the lines went to one place
    upstream_diff: str = ""
    hint: str = ""


@dataclass(frozen=True)
class Explanation:
    """Why an overlay is not clean: the commit that did it, and per conflict what it did."""

    culprit: Culprit | None = None
    hunks: tuple[HunkWhy, ...] = ()  # aligned with the result's hunks
    likely_upstreamed: bool = False
    note: str = ""
    # the earlier commit that moved the lines (a move the planner follows); CULPRIT then
    # changed them at their new place
    moved_by: Culprit | None = None


def why_hunk(
    path: str,
    old: Sequence[str],
    new: Sequence[str],
    mine: Sequence[str],
    base_side: Sequence[str],
    near: int,
    others: Mapping[str, OtherFile] | None = None,
) -> HunkWhy:
    """Explain one conflict from its base side (the old lines both sides changed): first
    whether the lines the overlay's own changes there stand on went elsewhere, else what
    became of the whole conflicting range."""
    span = locate(old, base_side, near)
    if span is None:
        diff = unified(old, new, path, path, focus=(near, near))
        return HunkWhy(ADDED, upstream_diff=diff)
    verdict = classify(path, old, new, span, others)
    if verdict.did != MOVED:
        for edit in edits(old, mine):
            a, b = anchor(old, edit)
            if not (span[0] <= a and b <= span[1]):
                continue
            found = places(list(old[a:b]), path, old, new, others or {})
            if found:
                diff = verdict.upstream_diff + "".join(
                    _destination_diffs(path, found, others or {}, old, new, verdict.upstream_diff)
                )
                verdict = Verdict(MOVED, found[0] if len(found) == 1 else None, found, diff)
                break
    hint = ""
    if verdict.ambiguous:
        hint = "upstream moved these lines to " + " and ".join(str(p) for p in verdict.candidates)
    moved_to = str(verdict.moved_to) if verdict.moved_to else None
    return HunkWhy(verdict.did, moved_to, verdict.upstream_diff, hint)
