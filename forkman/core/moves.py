"""Follow upstream's moves: make an overlay's change where upstream moved the lines it changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from forkman.core.explain import OtherFile, Place, Verdict, classify, places
from forkman.core.explain import anchor as _anchor
from forkman.core.textdiff import Edit, apply_edits, body, edits, reindent


@dataclass(frozen=True)
class Move:
    """One change of the overlay carried to where upstream moved its lines."""

    source: str
    old_start: int  # 1-based lines of the old file the change stood on
    old_end: int
    to: Place

    def __str__(self) -> str:
        lines = (
            f"{self.old_start}"
            if self.old_end <= self.old_start
            else f"{self.old_start}-{self.old_end}"
        )
        return f"{self.source}:{lines} to {self.to}"


@dataclass(frozen=True)
class Followed:
    """The overlay's moved changes made at their new places, and the changes left to merge."""

    moves: tuple[Move, ...]
    files: Mapping[str, tuple[str, ...]]  # upstream's new files with the moved changes made
    rest: tuple[Edit, ...]  # the overlay's changes to this file that did not move
    hints: tuple[str, ...] = ()  # moves seen but not followed, and why


def searched(
    old: Sequence[str], mine: Sequence[str], new: Sequence[str]
) -> tuple[tuple[str, ...], ...]:
    """The blocks of OLD that follow() looks for in other files: the lines each change of the
    overlay (OLD -> MINE) stands on, where upstream (OLD -> NEW) changed them. An other file
    that holds none of them cannot change what follow() does."""
    upstream = edits(old, new)
    out = []
    for edit in edits(old, mine):
        a, b = _anchor(old, edit)
        if any(e.touches(a, b) for e in upstream):
            out.append(tuple(old[a:b]))
    return tuple(out)


def may_hold(blocks: Sequence[Sequence[str]], data: bytes) -> bool:
    """Whether DATA (an other file) could hold one of BLOCKS where places() looks (False: it
    cannot). A place holds every line of the block with text, re-indented at most, so each
    such line, without its indentation, is somewhere in DATA."""
    for block in blocks:
        wanted = {b.encode("utf-8", "surrogateescape") for ln in block if (b := body(ln))}
        # the longest lines first: the likeliest to be missing ("}" is everywhere)
        if wanted and all(w in data for w in sorted(wanted, key=len, reverse=True)):
            return True
    return False


def follow(
    path: str,
    old: Sequence[str],
    mine: Sequence[str],
    new: Sequence[str],
    others: Mapping[str, OtherFile] | None = None,
) -> Followed:
    """For each change of the overlay (OLD -> MINE) whose lines upstream moved (OLD -> NEW, or
    into another file), make it at the unique new place, re-indented like it; an ambiguous
    place is left to the merge, with a hint."""
    others = others or {}
    upstream = edits(old, new)
    files: dict[str, list[str]] = {}
    pending: dict[str, list[Edit]] = {}
    moves: list[Move] = []
    rest: list[Edit] = []
    hints: list[str] = []
    for edit in edits(old, mine):
        a, b = _anchor(old, edit)
        if not any(e.touches(a, b) for e in upstream):
            rest.append(edit)
            continue
        found = places(list(old[a:b]), path, old, new, others)
        if len(found) != 1:
            if found:
                hints.append(
                    f"{path}:{a + 1}-{b}: upstream moved these lines, to "
                    + " or ".join(str(p) for p in found)
                    + "; the place is ambiguous"
                )
            rest.append(edit)
            continue
        place = found[0]
        moved = _moved_edit(old, edit, a, place)
        pending.setdefault(place.path, []).append(moved)
        moves.append(Move(path, a + 1, b, place))
    for where, changes in pending.items():
        base = list(new) if where == path else list(others[where].new)
        files[where] = apply_edits(base, changes)
    return Followed(
        tuple(moves), {p: tuple(v) for p, v in files.items()}, tuple(rest), tuple(hints)
    )


def _moved_edit(old: Sequence[str], edit: Edit, anchor_start: int, place: Place) -> Edit:
    """EDIT restated at PLACE: its lines shifted and re-indented like the moved block."""
    first = next(ln for ln in old[anchor_start:] if body(ln))
    old_prefix = first[: len(first) - len(first.lstrip(" \t"))]
    offset = place.line - 1 - anchor_start
    lines = tuple(reindent(ln, old_prefix, place.indent) for ln in edit.lines)
    return Edit(edit.start + offset, edit.end + offset, lines)


def after_move(
    path: str,
    mine: Sequence[str],
    span: tuple[int, int],
    old: Mapping[str, Sequence[str]],
    mid: Mapping[str, Sequence[str]],
    new: Mapping[str, Sequence[str]],
) -> tuple[Place, Verdict] | None:
    """When upstream first moved the old lines [start, end) of PATH (OLD -> MID, a move the
    planner follows) and then changed them (MID -> NEW): where the move had put the lines the
    overlay's change (OLD -> MINE) stands on there, and what upstream then did to them.
    OLD, MID and NEW hold upstream's files by path: PATH and the files lines may move to."""
    others = {p: OtherFile(tuple(old.get(p, ())) or None, tuple(v)) for p, v in mid.items()}
    followed = follow(path, old.get(path, ()), mine, mid.get(path, ()), others)
    for move in followed.moves:
        if move.old_end <= span[0] or move.old_start - 1 >= span[1]:
            continue
        to = move.to
        at = (to.line - 1, to.end)
        return to, classify(to.path, mid.get(to.path, ()), new.get(to.path, ()), at)
    return None
