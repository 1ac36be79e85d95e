"""Carry more of an overlay without asking: leave out what upstream already holds, and make the
changes whose lines upstream moved at their new place, before the 3-way merge is tried again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from forkman.core.explain import OtherFile
from forkman.core.memo import Memo, digest, remember
from forkman.core.moves import Move, follow, searched
from forkman.core.textdiff import apply_edits, body, split
from forkman.core.upstreamed import judge_file


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _bytes(lines: list[str] | tuple[str, ...]) -> bytes:
    return "".join(lines).encode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class Carried:
    """A file's merge restated: merge OVERLAY (from the same base) into UPSTREAM instead."""

    upstream: bytes  # upstream's file with the overlay's moved changes made
    overlay: bytes  # the overlay's file, less the changes that moved or upstream holds
    others: Mapping[str, bytes]  # other files of the new release with moved changes made
    moves: tuple[Move, ...] = ()
    upstreamed: int = 0  # the overlay's changes here that upstream already holds
    hints: tuple[str, ...] = ()


def holds_some(base: bytes, upstream: bytes, overlay: bytes) -> bool:
    """A cheap first look: upstream added some line that the overlay adds too."""
    # A body absent from BASE is only on lines absent from it: compare raw lines first (in C),
    # and normalise only the few lines each side added.
    raw = set(split(_text(base)))
    mine = {b for ln in set(split(_text(overlay))) - raw if len(b := body(ln)) >= 4}
    if not mine:
        return False
    both = mine & {body(ln) for ln in set(split(_text(upstream))) - raw}
    return bool(both) and bool(both - {body(ln) for ln in raw})


def without_upstreamed(base: bytes, upstream: bytes, overlay: bytes) -> tuple[bytes, int]:
    """The overlay's file without the changes upstream already holds (in place, or its added
    lines added elsewhere in the file), and how many changes that took out."""
    old = split(_text(base))
    judged = judge_file(old, split(_text(overlay)), split(_text(upstream)))
    if not judged.upstreamed:
        return overlay, 0
    return _bytes(apply_edits(old, judged.remainder)), len(judged.upstreamed)


def _trimmed(base: bytes, upstream: bytes, overlay: bytes, memo: Memo | None) -> tuple[bytes, int]:
    """without_upstreamed(), remembered (a remembered answer of another shape is worked out
    again)."""
    found = remember(
        memo,
        lambda: digest("trim", base, upstream, overlay),
        lambda: without_upstreamed(base, upstream, overlay),
        (tuple,),
    )
    match found:
        case (bytes(), int()):
            return found
    return without_upstreamed(base, upstream, overlay)


def searched_blocks(
    base: bytes, upstream: bytes, overlay: bytes, memo: Memo | None = None
) -> tuple[tuple[str, ...], ...]:
    """The blocks carry() looks for in other files (moves.searched of the file it merges): only
    the other files that may hold one of them can change its answer."""
    reduced, _ = _trimmed(base, upstream, overlay, memo)
    return searched(split(_text(base)), split(_text(reduced)), split(_text(upstream)))


def carry(
    path: str,
    base: bytes,
    upstream: bytes,
    overlay: bytes,
    others: Mapping[str, OtherFile] | None = None,
    memo: Memo | None = None,
) -> Carried | None:
    """For a file whose merge conflicts: the merge to try instead (None: nothing to try).

    MEMO keeps what upstream already holds of the overlay here, which the other files (where
    moved lines may have gone) do not change."""
    reduced, held = _trimmed(base, upstream, overlay, memo)
    old = split(_text(base))
    new = split(_text(upstream))
    followed = follow(path, old, split(_text(reduced)), new, others)
    if not held and not followed.moves:
        return Carried(upstream, overlay, {}, hints=followed.hints) if followed.hints else None
    mine = _bytes(apply_edits(old, followed.rest)) if followed.moves else reduced
    return Carried(
        _bytes(followed.files[path]) if path in followed.files else upstream,
        mine,
        {p: _bytes(v) for p, v in followed.files.items() if p != path},
        followed.moves,
        held,
        followed.hints,
    )
