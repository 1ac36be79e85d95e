"""The overlay stack: the pinned content plus each overlay applied in series order, in memory."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from forkman.core.values import FileState, State

if TYPE_CHECKING:
    from forkman.core.overlay import Overlay


@dataclass(frozen=True)
class Step:
    """One overlay's files before and after it, or why it does not apply."""

    overlay: Overlay
    before: State
    after: State
    error: str | None = None
    error_path: str | None = None

    @property
    def applies(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Stack:
    base: State  # the pinned content of every path any overlay touches
    steps: tuple[Step, ...]
    final: State  # the same paths with every applicable overlay applied

    @cached_property
    def changing(self) -> dict[str, tuple[int, ...]]:
        """For each path, the indexes of the steps that list it, in series order.

        Built once, so that a question about one path costs its own steps, not the series.
        """
        return _changing(step.after for step in self.steps)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.overlay.name == name)

    def owner(self, path: str) -> str | None:
        """The last overlay that changes PATH: edits to it belong there."""
        indexes = self.changing.get(path)
        return self.steps[indexes[-1]].overlay.name if indexes else None

    @cached_property
    def digests(self) -> StackDigest:
        """The stack as digests: what status, guard and an apply with nothing to do ask of it."""
        return StackDigest(
            digest_all(self.base),
            tuple(
                step_digest(step.overlay, digest_all(step.after), step.error, step.error_path)
                for step in self.steps
            ),
            digest_all(self.final),
        )


# -- the stack reduced to digests: kept on disk, so an unchanged series needs no patch parsed,
# -- no pinned blob read and no patch applied to answer what a file's content means
Digest = str  # sha256 of a FileState's mode, NUL, data; None stands for an absent file


def digest(state: FileState | None) -> Digest | None:
    if state is None:
        return None
    return hashlib.sha256(state.mode.encode() + b"\0" + state.data).hexdigest()


def digest_all(states: Mapping[str, FileState | None]) -> dict[str, Digest | None]:
    return {path: digest(state) for path, state in states.items()}


@dataclass(frozen=True)
class StepDigest:
    """One overlay's step: its summary, and each of its paths' digest after it (before it,
    when it does not apply)."""

    name: str
    subject: str
    files: tuple[str, ...]
    added: int
    removed: int
    after: Mapping[str, Digest | None]
    error: str | None = None
    error_path: str | None = None

    @property
    def applies(self) -> bool:
        return self.error is None


def step_digest(
    overlay: Overlay,
    after: Mapping[str, Digest | None],
    error: str | None = None,
    error_path: str | None = None,
) -> StepDigest:
    return StepDigest(
        overlay.name,
        overlay.subject,
        overlay.files,
        sum(c.added for c in overlay.changes),
        sum(c.removed for c in overlay.changes),
        after,
        error,
        error_path,
    )


@dataclass(frozen=True)
class StackDigest:
    """A Stack with each file's content replaced by its digest."""

    base: Mapping[str, Digest | None]
    steps: tuple[StepDigest, ...]
    final: Mapping[str, Digest | None]

    @cached_property
    def changing(self) -> dict[str, tuple[int, ...]]:
        """For each path, the indexes of the steps that list it, in series order."""
        return _changing(step.after for step in self.steps)

    def owner(self, path: str) -> str | None:
        """The last overlay that changes PATH: edits to it belong there."""
        indexes = self.changing.get(path)
        return self.steps[indexes[-1]].name if indexes else None

    def known(self, path: str) -> list[Digest | None]:
        """PATH as the pin has it and after each overlay that changes it: none is an edit."""
        return [
            self.base.get(path),
            *(self.steps[i].after[path] for i in self.changing.get(path, ())),
        ]


def _changing(afters: Iterable[Mapping[str, object]]) -> dict[str, tuple[int, ...]]:
    found: dict[str, list[int]] = {}
    for index, after in enumerate(afters):
        for path in after:
            found.setdefault(path, []).append(index)
    return {path: tuple(indexes) for path, indexes in found.items()}


def touched_paths(overlays: Iterable[Overlay]) -> set[str]:
    return {path for o in overlays for path in o.files}


def apply_overlay(state: Mapping[str, FileState | None], overlay: Overlay) -> State:
    """OVERLAY's files after applying it on STATE; HunkMismatch where it does not fit.

    A rename reads the old path and leaves it empty; a copy reads it and leaves it as it was.
    """
    # here, not at the top: the patch parser costs ~5 ms to import, and the commands that read
    # the stack from its record (status, guard, a no-op apply) apply no patch
    from forkman.core.overlay import HunkMismatch, apply_file

    after: State = {}

    def current(path: str) -> FileState | None:
        return after[path] if path in after else state.get(path)

    for fp in overlay.patch.files:
        source = fp.old_path if fp.kind in ("renamed", "copied") else fp.path
        if fp.kind in ("renamed", "copied") and current(fp.path) is not None:
            raise HunkMismatch(fp.path, 1, 1)  # the new name is taken
        result = apply_file(current(source or fp.path), fp)
        if fp.kind == "renamed" and source is not None:
            after[source] = None
        after[fp.path] = result
    return after


def build_stack(base: Mapping[str, FileState | None], overlays: Iterable[Overlay]) -> Stack:
    from forkman.core.overlay import HunkMismatch  # as in apply_overlay

    current: State = dict(base)
    steps = []
    for overlay in overlays:
        before = {p: current.get(p) for p in overlay.files}
        try:
            after = apply_overlay(current, overlay)
        except HunkMismatch as exc:
            steps.append(Step(overlay, before, before, str(exc), exc.path))
            continue
        current.update(after)
        steps.append(Step(overlay, before, after))
    return Stack(dict(base), tuple(steps), current)
