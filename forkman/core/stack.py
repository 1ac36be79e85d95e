"""The overlay stack: the pinned content plus each overlay applied in series order, in memory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from forkman.core.overlay import HunkMismatch, Overlay, apply_file
from forkman.core.values import FileState, State


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
        found: dict[str, list[int]] = {}
        for index, step in enumerate(self.steps):
            for path in step.after:
                found.setdefault(path, []).append(index)
        return {path: tuple(indexes) for path, indexes in found.items()}

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.overlay.name == name)

    def owner(self, path: str) -> str | None:
        """The last overlay that changes PATH: edits to it belong there."""
        indexes = self.changing.get(path)
        return self.steps[indexes[-1]].overlay.name if indexes else None


def touched_paths(overlays: Iterable[Overlay]) -> set[str]:
    return {path for o in overlays for path in o.files}


def apply_overlay(state: Mapping[str, FileState | None], overlay: Overlay) -> State:
    """OVERLAY's files after applying it on STATE; HunkMismatch where it does not fit.

    A rename reads the old path and leaves it empty; a copy reads it and leaves it as it was.
    """
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
