"""Every state and phase forkman reports, each with its meaning, colour and advice in one place.

A new sync state is one member of `SyncState` plus one row of `_SYNC`; the planner, the
renderings and the exit code all read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class _Named(str, Enum):
    """A state that is also its own name as a string (in JSON, tables and comparisons)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


@dataclass(frozen=True)
class _About:
    colour: str  # a name render.paint knows
    needs_action: bool = False  # a sync stops here; `--check` exits 1
    leaves_series: bool = False  # no longer in the series once the sync is done
    advice: str = ""  # what to do when a sync stops at an overlay in this state


_CANNOT_CARRY = (
    "it cannot be carried over as it is: `forkman sync --skip` leaves it out of the "
    "series (its file is kept), `forkman sync --abort` puts everything back"
)


class SyncState(_Named):
    """Where one overlay stands once a sync has carried it (or tried to) to the new release."""

    CLEAN = "clean"
    MOVED = "moved"  # clean, but the context or line numbers moved
    UPSTREAMED = "upstreamed"
    PARTLY = "partly-upstreamed"
    RESOLVED = "resolved"
    CONFLICT = "conflict"
    BLOCKED = "blocked"  # merges, but only on top of an earlier overlay that conflicted
    NOT_APPLICABLE = "not-applicable"
    CHECK_FAILED = "check-failed"
    SKIPPED = "skipped"
    DROPPED = "dropped"  # a person's resolution kept none of the overlay

    @property
    def needs_action(self) -> bool:
        return _SYNC[self].needs_action

    @property
    def leaves_series(self) -> bool:
        return _SYNC[self].leaves_series

    @property
    def colour(self) -> str:
        return _SYNC[self].colour

    @property
    def advice(self) -> str:
        return _SYNC[self].advice


_SYNC = {
    SyncState.CLEAN: _About("green"),
    SyncState.MOVED: _About("green"),
    SyncState.UPSTREAMED: _About("blue", leaves_series=True),
    SyncState.PARTLY: _About("blue"),
    SyncState.RESOLVED: _About("green"),
    SyncState.CONFLICT: _About(
        "red",
        needs_action=True,
        advice="resolve the conflict in the checkout (git status, git mergetool), then "
        "`forkman sync --continue`; `--skip` leaves this overlay out, `--abort` puts "
        "everything back",
    ),
    SyncState.BLOCKED: _About("yellow", needs_action=True, advice=_CANNOT_CARRY),
    SyncState.NOT_APPLICABLE: _About("red", needs_action=True, advice=_CANNOT_CARRY),
    SyncState.CHECK_FAILED: _About(
        "red",
        needs_action=True,
        advice="fix the files in the checkout, then `forkman sync --continue` (each edit goes "
        "to the last overlay that changes its file); `--skip` leaves this overlay out, "
        "`--abort` puts everything back",
    ),
    SyncState.SKIPPED: _About("dim", leaves_series=True),
    SyncState.DROPPED: _About("yellow", leaves_series=True),
}

NEEDS_ACTION = frozenset(s for s in SyncState if s.needs_action)
GONE = frozenset(s for s in SyncState if s.leaves_series)  # out of the series after the sync


class OverlayState(_Named):
    """Where one overlay stands in the checkout (`forkman overlay status`)."""

    APPLIED = "applied"
    NOT_APPLIED = "not-applied"
    MODIFIED = "modified"
    DOES_NOT_APPLY = "does-not-apply"
    UNKNOWN = "unknown"

    @property
    def colour(self) -> str:
        return _OVERLAY_COLOUR[self]


_OVERLAY_COLOUR = {
    OverlayState.APPLIED: "green",
    OverlayState.NOT_APPLIED: "yellow",
    OverlayState.MODIFIED: "yellow",
    OverlayState.DOES_NOT_APPLY: "red",
    OverlayState.UNKNOWN: "dim",
}


class Phase(_Named):
    """How far a `forkman sync` got."""

    CHECK = "check"  # --check: planned, nothing changed
    DONE = "done"
    UP_TO_DATE = "up-to-date"
    STOPPED = "stopped"  # at an overlay that needs a person
    ABORTED = "aborted"

    @property
    def verb(self) -> str:
        return _PHASE_VERB[self]


_PHASE_VERB = {
    Phase.CHECK: "would move",
    Phase.DONE: "moved",
    Phase.STOPPED: "is moving",
    Phase.UP_TO_DATE: "is already at",
    Phase.ABORTED: "aborted the move",
}


def colour_of(state: str) -> str | None:
    """The colour of any state's name (sync or overlay status), None for a name of neither."""
    for kind in (SyncState, OverlayState):
        try:
            return kind(state).colour
        except ValueError:
            continue
    return None
