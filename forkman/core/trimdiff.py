"""textdiff.edits and line_map for a small change to a long file: the same answers, without
difflib over the lines the two texts share at their start and end.

difflib's matcher first takes the longest common run of lines (the earliest, on a tie), then
matches what lies on either side of it. When the common start is provably that run, and the
common end is then provably the longest run of what is left, difflib spends its time finding
them (quadratic in repeated lines such as blank ones) and then diffs only the middle: here the
proofs are a set lookup per line and the middle alone goes to difflib. When a proof fails the
whole texts go to textdiff, so the answer is always textdiff's own (which is difflib's, in the
ranges small enough for textdiff to ask difflib: the only ones trimmed here).
"""

from __future__ import annotations

from collections.abc import Sequence

from forkman.core.textdiff import EXACT_PAIRS, Edit, edits, line_map

# Lines copied into the runs compared: past this the proof costs about what difflib does
_BUDGET = 1_000_000


def _prefix(a: Sequence[str], b: Sequence[str], most: int) -> int:
    n = 0
    while n < most and a[n] == b[n]:
        n += 1
    return n


def _suffix(a: Sequence[str], b: Sequence[str], most: int) -> int:
    n = 0
    while n < most and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def _runs(seq: tuple[str, ...], lo: int, hi: int, size: int) -> dict[tuple[str, ...], list[int]]:
    """Every run of SIZE lines within seq[lo:hi], by its lines: where each starts."""
    out: dict[tuple[str, ...], list[int]] = {}
    for i in range(lo, hi - size + 1):
        out.setdefault(seq[i : i + size], []).append(i)
    return out


def _no_longer_run(a: tuple[str, ...], b: tuple[str, ...], size: int) -> bool:
    """No run of SIZE lines is common to A and B."""
    if size > min(len(a), len(b)):
        return True
    runs = _runs(b, 0, len(b), size)
    return all(a[i : i + size] not in runs for i in range(len(a) - size + 1))


def _only_run(a: tuple[str, ...], b: tuple[str, ...], lo: int, size: int) -> bool:
    """Within a[lo:] and b[lo:], the one common run of SIZE lines is the two texts' ends."""
    la, lb = len(a), len(b)
    runs = _runs(b, lo, lb, size)
    for i in range(lo, la - size + 1):
        found = runs.get(a[i : i + size])
        if found and (i != la - size or found != [lb - size]):
            return False
    return True


def _trim(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[int, int] | None:
    """(P, S): difflib's first matches are A and B's shared first P and last S lines, so that
    its answer is theirs plus its answer for the middle; None when that is not proved."""
    la, lb = len(a), len(b)
    counts: dict[str, int] = {}
    for line in b:
        counts[line] = counts.get(line, 0) + 1
    if sum(counts.get(line, 0) for line in a) > EXACT_PAIRS:
        return None  # textdiff itself does not ask difflib here: nothing to prove against
    p = _prefix(a, b, min(la, lb))
    s = _suffix(a, b, min(la, lb) - p)
    if (
        p + s == 0
        or max(lb - p, 0) * (p + 1) > _BUDGET
        or max(lb - p - s + 1, 0) * s > _BUDGET
        or (p and not _no_longer_run(a, b, p + 1))
        or (s and not _only_run(a, b, p, s))
    ):
        return None
    return p, s


def edits_trimmed(old: Sequence[str], new: Sequence[str]) -> tuple[Edit, ...]:
    """Exactly textdiff.edits(OLD, NEW)."""
    a, b = tuple(old), tuple(new)
    cut = _trim(a, b)
    if cut is None:
        return edits(a, b)
    p, s = cut
    middle = edits(a[p : len(a) - s], b[p : len(b) - s])
    return tuple(Edit(e.start + p, e.end + p, e.lines, e.new_start + p) for e in middle)


def line_map_trimmed(old: Sequence[str], new: Sequence[str]) -> dict[int, int]:
    """Exactly textdiff.line_map(OLD, NEW)."""
    a, b = tuple(old), tuple(new)
    cut = _trim(a, b)
    if cut is None:
        return line_map(a, b)
    p, s = cut
    la, lb = len(a), len(b)
    out = {i: i for i in range(p)}
    for i, j in line_map(a[p : la - s], b[p : lb - s]).items():
        out[i + p] = j + p
    for k in range(s):
        out[la - s + k] = lb - s + k
    return out
