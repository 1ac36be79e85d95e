"""Conflict regions in diff3-style merged text: cut, keyed, resolved from recorded resolutions."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

START, BASE, MID, END = "<<<<<<< ", "||||||| ", "=======", ">>>>>>> "


@dataclass(frozen=True)
class Region:
    """One conflict: upstream's side, the common base, and the overlay's side (lines kept whole)."""

    upstream: tuple[str, ...]
    base: tuple[str, ...]
    overlay: tuple[str, ...]
    start: int  # 1-based line of the `<<<<<<<` marker in the conflicted file
    end: int  # 1-based line of the `>>>>>>>` marker

    def key(self, path: str) -> str:
        digest = hashlib.sha256()
        for part in (path, *self.upstream, "\0", *self.base, "\0", *self.overlay):
            digest.update(part.encode("utf-8", "surrogateescape") + b"\n")
        return digest.hexdigest()[:20]


def split_conflicts(text: str) -> list[tuple[str, ...] | Region]:
    """Cut diff3-style merged text into plain runs of lines and conflict regions."""
    segments: list[tuple[str, ...] | Region] = []
    plain: list[str] = []
    sides: list[list[str]] | None = None
    part = 0
    start = 0
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        if sides is None and line.startswith(START):
            segments.append(tuple(plain))
            plain, sides, part, start = [], [[], [], []], 0, number
        elif sides is not None and line.startswith(BASE) and part == 0:
            part = 1
        elif sides is not None and line.rstrip("\r\n") == MID and part in (0, 1):
            part = 2
        elif sides is not None and line.startswith(END) and part == 2:
            segments.append(
                Region(tuple(sides[0]), tuple(sides[1]), tuple(sides[2]), start, number)
            )
            sides = None
        elif sides is not None:
            sides[part].append(line)
        else:
            plain.append(line)
    segments.append(tuple(plain))
    return segments


def regions(text: str) -> list[Region]:
    return [s for s in split_conflicts(text) if isinstance(s, Region)]


def upstream_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """Each conflict's line range in upstream's own file (its side of the markers)."""
    line, ranges = 0, []
    for segment in split_conflicts(text):
        if isinstance(segment, Region):
            ranges.append((line + 1, max(line + 1, line + len(segment.upstream))))
            line += len(segment.upstream)
        else:
            line += len(segment)
    return tuple(ranges)


def has_markers(data: bytes) -> bool:
    text = data.decode("utf-8", "surrogateescape")
    return any(ln.startswith((START, END)) or ln.rstrip("\r\n") == MID for ln in text.splitlines())


def extract_resolutions(
    conflicted: str, resolved: str
) -> list[tuple[Region, tuple[str, ...]]] | None:
    """What the person put in place of each conflict, found between the unchanged runs around it.

    None when the runs around the conflicts were edited too, so the regions cannot be told apart.
    """
    lines = resolved.splitlines(keepends=True)
    pos = 0
    pending: Region | None = None
    found: list[tuple[Region, tuple[str, ...]]] = []
    segments = split_conflicts(conflicted)
    for index, segment in enumerate(segments):
        if isinstance(segment, Region):
            pending = segment
            continue
        if not segment and index == len(segments) - 1:
            at: int | None = len(lines)  # the file ends with a conflict: the rest is its resolution
        else:
            at = _find(lines, list(segment), pos, anchored=pending is None and not found)
        if at is None:
            return None
        if pending is not None:
            found.append((pending, tuple(lines[pos:at])))
            pending = None
        pos = at + len(segment)
    if pending is not None:
        found.append((pending, tuple(lines[pos:])))
    return found


def _find(lines: list[str], run: list[str], start: int, anchored: bool) -> int | None:
    if not run:
        return start
    last = start if anchored else len(lines) - len(run)
    for at in range(start, last + 1):
        if lines[at : at + len(run)] == run:
            return at
    return None


def lost_lines(region: Region, resolution: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Lines upstream added, and lines the overlay added, that the resolution no longer holds."""
    kept = [ln.strip() for ln in resolution if ln.strip()]
    base = {ln.strip() for ln in region.base}
    # lines the overlay meant to replace: upstream's new versions of them may go
    replaced = [b for b in base if b and b not in {ln.strip() for ln in region.overlay}]

    def held(line: str) -> bool:
        return any(line in k or (len(k) > 8 and k in line) for k in kept)

    def added(side: tuple[str, ...]) -> list[str]:
        return [
            ln.strip()
            for ln in side
            if ln.strip() and ln.strip() not in base and not held(ln.strip())
        ]

    upstream = [
        ln for ln in added(region.upstream) if not any(r in ln or ln in r for r in replaced)
    ]
    return upstream, added(region.overlay)


@dataclass(frozen=True)
class Resolution:
    """A person's resolution of one conflict REGION in PATH, recorded to be reused."""

    key: str
    overlay: str
    path: str
    region: Region
    lines: tuple[str, ...]

    def fits(self, region: Region) -> bool:
        """True when REGION is the very conflict this resolution was made for."""
        mine = self.region
        sides = ("".join(mine.upstream), "".join(mine.base), "".join(mine.overlay))
        return sides == ("".join(region.upstream), "".join(region.base), "".join(region.overlay))


# Recorded resolutions by region key (forkman.store.resolutions reads them from disk on demand).
Resolutions = Mapping[str, Resolution]


def substitute(text: str, path: str, resolutions: Resolutions) -> tuple[str, list[str]]:
    """TEXT with every conflict that has a recorded resolution replaced by it; the keys used."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    used: list[str] = []
    for segment in split_conflicts(text):
        if isinstance(segment, Region):
            key = segment.key(path)
            found = resolutions.get(key)
            if found is not None and found.fits(segment):
                used.append(key)
                out.extend(found.lines)
            else:
                out.extend(lines[segment.start - 1 : segment.end])
        else:
            out.extend(segment)
    return "".join(out), used
