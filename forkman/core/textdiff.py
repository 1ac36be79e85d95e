"""Line edits between two texts, in plain Python: what changed where, and indentation."""

from __future__ import annotations

import difflib
import hashlib
import re
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

from forkman.core.memo import Memo


@dataclass(frozen=True)
class Edit:
    """Lines [start, end) of the old text (0-based) replaced by LINES (at NEW_START in the new)."""

    start: int
    end: int
    lines: tuple[str, ...]
    new_start: int = -1

    def touches(self, start: int, end: int) -> bool:
        """Whether this edit overlaps or adjoins old lines [start, end), as git's merge sees it."""
        return self.start <= end and start <= self.end


def split(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def edits(old: Sequence[str], new: Sequence[str]) -> tuple[Edit, ...]:
    """The changes from OLD to NEW, as replaced runs of old lines."""
    return _edits(tuple(old), tuple(new))


Opcode = tuple[str, int, int, int, int]
Block = tuple[int, int, int]

# difflib's search for the longest matching run visits every pair of equal lines in the range
# (each blank line of one side against each of the other): past this many, the run is found
# through the lines that occur once on each side instead (see _longest).
EXACT_PAIRS = 40_000


# The same pairs of files are compared again and again while one conflict is explained and
# carried (every change of the overlay against every candidate file): compare each pair once,
# for both its edits and its line map.
@lru_cache(maxsize=256)
def _compare(
    old: tuple[str, ...], new: tuple[str, ...]
) -> tuple[tuple[Opcode, ...], tuple[Block, ...]]:
    """OLD -> NEW's opcodes and matching blocks, from one comparison."""
    blocks = _remembered_blocks(old, new)
    return _opcodes(blocks), blocks


# A sync that stops runs one process a stop, and each compares the same large pairs of files
# again (upstream's old and new files, for the moves and the explanations). While a sync runs it
# lends its plan cache here, so that each such comparison is worked out once for the whole sync.
# Its answer is matching_blocks' own, found again only for the very same two texts.
_MEMO: ContextVar[Memo | None] = ContextVar("forkman_comparisons", default=None)
REMEMBER_LINES = 400  # smaller comparisons cost less than a digest and a place in the cache


@contextmanager
def comparisons_remembered(memo: Memo | None) -> Iterator[None]:
    """Within: large comparisons asked of MEMO first, and told to it."""
    token = _MEMO.set(memo)
    try:
        yield
    finally:
        _MEMO.reset(token)


def _remembered_blocks(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[Block, ...]:
    memo = _MEMO.get()
    if memo is None or len(old) + len(new) < REMEMBER_LINES:
        return matching_blocks(old, new)
    key = comparison_key(old, new)
    found, value = memo.recall(key)
    if found and (blocks := blocks_from(value, len(old), len(new))) is not None:
        return blocks
    blocks = matching_blocks(old, new)
    memo.keep(key, tuple(n for block in blocks for n in block))
    return blocks


def comparison_key(old: Sequence[str], new: Sequence[str]) -> str:
    """The digest of two sequences of lines: their lengths, each line's, and their text."""
    h = hashlib.sha256(b"matching blocks\0")
    for lines in (old, new):
        text = "".join(lines).encode("utf-8", "surrogatepass")
        h.update(b"%d;%d;" % (len(lines), len(text)))
        h.update(array("q", map(len, lines)).tobytes())
        h.update(text)
    return h.hexdigest()


def blocks_from(value: object, old: int, new: int) -> tuple[Block, ...] | None:
    """Matching blocks kept flat (three numbers a block), or None when VALUE is not such blocks
    of texts of OLD and NEW lines (ascending, within both, ending with the (OLD, NEW, 0) one)."""
    if not isinstance(value, tuple) or len(value) % 3 or not value:
        return None
    if not all(type(n) is int and n >= 0 for n in value):
        return None
    blocks = tuple(zip(value[0::3], value[1::3], value[2::3], strict=True))
    if blocks[-1] != (old, new, 0):
        return None
    i = j = 0
    for a, b, size in blocks:
        if a < i or b < j or a + size > old or b + size > new:
            return None
        i, j = a + size, b + size
    return blocks


def matching_blocks(old: Sequence[str], new: Sequence[str]) -> tuple[Block, ...]:
    """difflib's matching blocks of OLD and NEW (longest run first, then the same on each side
    of it), with the same result as difflib's whenever each range's longest run holds a line
    that occurs once on each side, or the range is small: costs linear in the files' length
    where difflib's grows with the square of their repeated lines."""
    a, b = tuple(old), tuple(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    in_new: dict[str, int] = {}
    for line in b:
        in_new[line] = in_new.get(line, 0) + 1
    found: list[Block] = []
    todo = [(0, len(a), 0, len(b))]
    while todo:
        alo, ahi, blo, bhi = todo.pop()
        pairs = sum(in_new.get(line, 0) for line in a[alo:ahi])
        if pairs <= EXACT_PAIRS:
            i, j, k = matcher.find_longest_match(alo, ahi, blo, bhi)
        else:
            i, j, k = _longest(a, b, alo, ahi, blo, bhi)
        if not k:
            continue
        found.append((i, j, k))
        if alo < i and blo < j:
            todo.append((alo, i, blo, j))
        if i + k < ahi and j + k < bhi:
            todo.append((i + k, ahi, j + k, bhi))
    found.sort()
    out: list[Block] = []
    for i, j, k in found:  # adjacent runs make one, as in difflib
        if out and out[-1][0] + out[-1][2] == i and out[-1][1] + out[-1][2] == j:
            out[-1] = (out[-1][0], out[-1][1], out[-1][2] + k)
        else:
            out.append((i, j, k))
    out.append((len(a), len(b), 0))
    return tuple(out)


def _longest(
    a: tuple[str, ...], b: tuple[str, ...], alo: int, ahi: int, blo: int, bhi: int
) -> Block:
    """The longest run of equal lines in a[alo:ahi] and b[blo:bhi] that holds a line occurring
    once in each (the earliest of equal length), or else the run the ranges start or end with."""
    in_a: dict[str, int] = {}
    for line in a[alo:ahi]:
        in_a[line] = in_a.get(line, 0) + 1
    once_b: dict[str, int] = {}
    for j in range(blo, bhi):
        once_b[b[j]] = -1 if b[j] in once_b else j
    size, si, sj = 0, alo, blo
    reach: dict[int, int] = {}  # diagonal (i - j) -> end of the run last found on it
    for i in range(alo, ahi):
        j = once_b.get(a[i], -1)
        if j < 0 or in_a[a[i]] != 1 or reach.get(i - j, -1) > i:
            continue
        s, t = i, j
        while s > alo and t > blo and a[s - 1] == b[t - 1]:
            s, t = s - 1, t - 1
        e = i + 1
        while e < ahi and e - i + j < bhi and a[e] == b[e - i + j]:
            e += 1
        reach[i - j] = e
        if e - s > size or (e - s == size and (s, t) < (si, sj)):
            size, si, sj = e - s, s, t
    if size:
        return si, sj, size
    k = 0
    while alo + k < ahi and blo + k < bhi and a[alo + k] == b[blo + k]:
        k += 1
    if k:
        return alo, blo, k
    while k < ahi - alo and k < bhi - blo and a[ahi - 1 - k] == b[bhi - 1 - k]:
        k += 1
    return ahi - k, bhi - k, k


def _opcodes(blocks: Sequence[Block]) -> tuple[Opcode, ...]:
    """The edits between the matching BLOCKS, as difflib's get_opcodes states them."""
    i = j = 0
    out: list[Opcode] = []
    for ai, bj, size in blocks:
        tag = "replace" if i < ai and j < bj else "delete" if i < ai else "insert" if j < bj else ""
        if tag:
            out.append((tag, i, ai, j, bj))
        i, j = ai + size, bj + size
        if size:
            out.append(("equal", ai, i, bj, j))
    return tuple(out)


@lru_cache(maxsize=256)
def _edits(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[Edit, ...]:
    return tuple(
        Edit(i1, i2, tuple(new[j1:j2]), j1)
        for tag, i1, i2, j1, j2 in _compare(old, new)[0]
        if tag != "equal"
    )


def line_map(old: Sequence[str], new: Sequence[str]) -> dict[int, int]:
    """Old line index -> new line index, for the lines NEW keeps unchanged in place."""
    return dict(_line_map(tuple(old), tuple(new)))


@lru_cache(maxsize=256)
def _line_map(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    out: dict[int, int] = {}
    for i, j, size in _compare(old, new)[1]:
        for k in range(size):
            out[i + k] = j + k
    return tuple(out.items())


def apply_edits(old: Sequence[str], changes: Sequence[Edit]) -> list[str]:
    out: list[str] = []
    at = 0
    for edit in sorted(changes, key=lambda e: (e.start, e.end)):
        out.extend(old[at : edit.start])
        out.extend(edit.lines)
        at = max(at, edit.end)
    out.extend(old[at:])
    return out


def indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def body(line: str) -> str:
    """A line without its indentation and its line ending."""
    return line.strip(" \t").rstrip("\r\n").rstrip(" \t")


def reindent(line: str, old_prefix: str, new_prefix: str) -> str:
    """LINE moved from a block indented by OLD_PREFIX to one indented by NEW_PREFIX."""
    if not body(line):
        return line
    if line.startswith(old_prefix):
        return new_prefix + line[len(old_prefix) :]
    return line  # less indented than the block: a continuation left as it was


_TOKEN = re.compile(r"""[A-Za-z_][A-Za-z0-9_]*|\d[\w.]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S""")


def tokens(lines: Sequence[str]) -> tuple[str, ...]:
    """The tokens of LINES, whatever their layout: a trailing comma before a closing bracket
    (which formatters add or drop with the layout) does not count."""
    found = _TOKEN.findall("".join(lines))
    return tuple(
        t
        for i, t in enumerate(found)
        if not (t == "," and found[i + 1 : i + 2] in ([")"], ["]"], ["}"]))
    )


def words(lines: Sequence[str]) -> set[str]:
    """Identifiers and literals (no punctuation, no keywords that every line has)."""
    return {t for t in tokens(lines) if t[0].isalnum() or t[0] in "_\"'"}


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, body(a), body(b), autojunk=False).ratio()


def similar(a: str, b: str, at_least: float) -> float | None:
    """similarity(A, B) when it is AT_LEAST, else None. Most pairs of lines fall short by
    difflib's own upper bounds (the lengths, then the characters both hold, each match being
    one of those), which cost no comparison: an overlay's hundreds of added lines against
    upstream's hundreds otherwise cost minutes."""
    x, y = body(a), body(b)
    total = len(x) + len(y)
    if total and 2.0 * min(len(x), len(y)) / total < at_least:
        return None
    if total and 2.0 * sum((_chars(x) & _chars(y)).values()) / total < at_least:
        return None
    ratio = similarity(a, b)
    return ratio if ratio >= at_least else None


@lru_cache(maxsize=4096)
def _chars(text: str) -> Counter[str]:
    return Counter(text)


def unified(
    old: Sequence[str],
    new: Sequence[str],
    old_path: str,
    new_path: str,
    focus: tuple[int, int] | None = None,
    context: int = 2,
) -> str:
    """A unified diff OLD -> NEW; with FOCUS (old lines [a, b)) only the changes that touch those
    lines, in one hunk, so a large rewrite around them does not bury them."""
    ops = list(_compare(tuple(old), tuple(new))[0])
    if focus is None:
        groups = _grouped(ops, context)
    else:
        hit = [k for k, (tag, i1, i2, _, _) in enumerate(ops)
               if tag != "equal" and i1 <= focus[1] and focus[0] <= i2]  # fmt: skip
        if not hit:
            return ""
        chosen: list[Opcode] = list(ops[hit[0] : hit[-1] + 1])
        if hit[0] > 0:
            _, i1, i2, j1, j2 = ops[hit[0] - 1]
            keep = min(context, i2 - i1)
            chosen.insert(0, ("equal", i2 - keep, i2, j2 - keep, j2))
        if hit[-1] + 1 < len(ops):
            _, i1, i2, j1, j2 = ops[hit[-1] + 1]
            keep = min(context, i2 - i1)
            chosen.append(("equal", i1, i1 + keep, j1, j1 + keep))
        groups = [chosen]
    out: list[str] = []
    for group in groups:
        first, last = group[0], group[-1]
        out.append(
            f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@\n"
        )
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(" " + ln for ln in old[i1:i2])
                continue
            out.extend("-" + ln for ln in old[i1:i2])
            out.extend("+" + ln for ln in new[j1:j2])
    if not out:
        return ""
    text = [f"--- a/{old_path}\n", f"+++ b/{new_path}\n", *out]
    return "".join(
        ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n" for ln in text
    )


def _grouped(ops: list[Opcode], n: int) -> list[list[Opcode]]:
    """OPS in hunks with N lines of context, as difflib's get_grouped_opcodes makes them."""
    codes = list(ops) or [("equal", 0, 1, 0, 1)]
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - n), i2, max(j1, j2 - n), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)
    groups: list[list[Opcode]] = []
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * n:
            group.append((tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups


@dataclass(frozen=True)
class Match:
    """Where a block of lines stands in another text, and the indentation it has there."""

    start: int  # 0-based line in the other text
    old_prefix: str
    new_prefix: str


def find_block(
    block: Sequence[str], lines: Sequence[str], within: frozenset[int] | None = None
) -> list[Match]:
    """Every place LINES holds BLOCK, re-indented as a whole (blank lines match blank lines);
    with WITHIN, only places whose lines all belong to it."""
    first = next((k for k, ln in enumerate(block) if body(ln)), None)
    if first is None:
        return []
    old_prefix = indent(block[first])
    last = len(lines) - len(block) + first
    want = body(block[first])
    key = want.strip()
    # most texts searched do not hold the block at all: a substring test (in C) tells them
    # apart without indexing their lines (a line equal to KEY once stripped contains it)
    if key not in "".join(lines):
        return []
    found = []
    for j in _by_stripped(tuple(lines)).get(key, ()):
        if not first <= j <= last or body(lines[j]) != want:
            continue
        start = j - first
        new_prefix = indent(lines[j])
        if all(
            _same(lines[start + k], reindent(ln, old_prefix, new_prefix))
            for k, ln in enumerate(block)
        ) and (within is None or all(start + k in within for k in range(len(block)))):
            found.append(Match(start, old_prefix, new_prefix))
    return found


# A file is searched for many blocks (every change of every overlay that touches it): index
# its lines once, so each search costs the places its first line occurs, not the file's length.
# Keyed by the line stripped of all white space (lines of one body share it), one call a line.
@lru_cache(maxsize=256)
def _by_stripped(lines: tuple[str, ...]) -> dict[str, list[int]]:
    where: dict[str, list[int]] = {}
    for j, ln in enumerate(lines):
        where.setdefault(ln.strip(), []).append(j)
    return where


def _same(a: str, b: str) -> bool:
    if not body(a) and not body(b):
        return True
    return a.rstrip("\r\n") == b.rstrip("\r\n")


def inserted(old: Sequence[str], new: Sequence[str]) -> frozenset[int]:
    """The lines of NEW that are not OLD's lines kept in place."""
    return _inserted(tuple(old), tuple(new))


@lru_cache(maxsize=256)
def _inserted(old: tuple[str, ...], new: tuple[str, ...]) -> frozenset[int]:
    kept = {j for _, j in _line_map(old, new)}
    return frozenset(j for j in range(len(new)) if j not in kept)
