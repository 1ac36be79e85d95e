"""The releases a stepwise sync walks: each release after the pin, up to the target."""

from __future__ import annotations

from collections.abc import Sequence


def release_steps(ordered: Sequence[str], pinned: str, target: str) -> tuple[str, ...]:
    """The refs to sync to one at a time, oldest first: the releases in ORDERED (oldest first)
    after PINNED and before TARGET, then TARGET. A pin that is not a release starts the walk
    at the first release; a target that is not one ends it after the last."""
    after = ordered.index(pinned) + 1 if pinned in ordered else 0
    if target in ordered:
        end = ordered.index(target)
        middle = list(ordered[after:end]) if end >= after else []
    else:
        middle = list(ordered[after:])
    return (*middle, target) if middle or target != pinned else ()
