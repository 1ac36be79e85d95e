"""Whole-file resolution records: what the person made of a conflicted file (rerere's preimage
and postimage), reused exactly when the same three sides come back."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

EXACT = "exact"
STALE = "stale"  # made for this overlay's file, but the sides differ now: never applied


def digest(data: bytes | None) -> str:
    return "-" if data is None else hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Sides:
    """The content hashes of a conflicted file's three sides (base, upstream, overlay)."""

    base: str
    upstream: str
    overlay: str

    @classmethod
    def of(cls, base: bytes | None, upstream: bytes | None, overlay: bytes | None) -> Sides:
        return cls(digest(base), digest(upstream), digest(overlay))


@dataclass(frozen=True)
class FileRecord:
    overlay: str
    path: str
    sides: Sides
    preimage: str  # the conflicted file, markers and all three sides
    postimage: str  # the file as the person resolved it
    made_for: str = ""  # the jump it was made in, e.g. "v0.6.9 -> v0.6.10"

    @property
    def key(self) -> str:
        return file_key(self.path, self.sides)


def file_key(path: str, sides: Sides) -> str:
    text = f"file\x00{path}\x00{sides.base}\x00{sides.upstream}\x00{sides.overlay}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:20]


@dataclass(frozen=True)
class Reuse:
    kind: str  # EXACT or STALE
    record: FileRecord


def choose(records: Sequence[FileRecord], overlay: str, path: str, sides: Sides) -> Reuse | None:
    """The record to reuse for OVERLAY's conflict in PATH: the exact one, else a stale one to
    report (the newest of those made for the same overlay and file), else None."""
    same = [r for r in records if r.overlay == overlay and r.path == path]
    exact = next((r for r in same if r.sides == sides), None)
    if exact is not None:
        return Reuse(EXACT, exact)
    return Reuse(STALE, same[-1]) if same else None
