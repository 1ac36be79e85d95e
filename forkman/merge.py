"""Conflict regions in merged text, and the team's recorded resolutions of them (rerere, shared)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from forkman.config import atomic_write

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


# -- the store: overlays/resolutions/*.yaml, committed so a teammate's or CI's sync reuses them --
class _Literal(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    )


_Literal.add_representer(str, _str)


@dataclass(frozen=True)
class Resolution:
    key: str
    overlay: str
    path: str
    region: Region
    lines: tuple[str, ...]


def store_path(overlays_dir: Path, key: str) -> Path:
    return overlays_dir / "resolutions" / f"{key}.yaml"


def save(overlays_dir: Path, resolution: Resolution) -> Path:
    region = resolution.region
    data = {
        "overlay": resolution.overlay,
        "path": resolution.path,
        "upstream": "".join(region.upstream),
        "base": "".join(region.base),
        "overlay_side": "".join(region.overlay),
        "resolution": "".join(resolution.lines),
    }
    text = (
        "# A conflict resolved during `forkman sync`; reused when the same conflict comes back.\n"
    )
    text += yaml.dump(data, Dumper=_Literal, sort_keys=False, allow_unicode=True, width=1000)
    path = store_path(overlays_dir, resolution.key)
    atomic_write(path, text)
    return path


def lookup(overlays_dir: Path, path: str, region: Region) -> tuple[str, tuple[str, ...]] | None:
    """The recorded resolution of REGION in PATH, checked against the conflict it was made for."""
    key = region.key(path)
    file = store_path(overlays_dir, key)
    if not file.exists():
        return None
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        same = (data["upstream"], data["base"], data["overlay_side"]) == (
            "".join(region.upstream),
            "".join(region.base),
            "".join(region.overlay),
        )
        return (key, tuple(str(data["resolution"]).splitlines(keepends=True))) if same else None
    except (yaml.YAMLError, KeyError, TypeError):
        return None


def substitute(text: str, path: str, overlays_dir: Path) -> tuple[str, list[str]]:
    """TEXT with every conflict that has a recorded resolution replaced by it; the keys used."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    used: list[str] = []
    for segment in split_conflicts(text):
        if isinstance(segment, Region):
            found = lookup(overlays_dir, path, segment)
            if found:
                used.append(found[0])
                out.extend(found[1])
            else:
                out.extend(lines[segment.start - 1 : segment.end])
        else:
            out.extend(segment)
    return "".join(out), used
