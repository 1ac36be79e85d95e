"""Per-overlay checks after a sync: a `run:` command or a `path:` + `pattern:`; the pattern judge."""

from __future__ import annotations

import re
from dataclasses import dataclass

from forkman.core.values import Tree


@dataclass(frozen=True)
class Check:
    """One check of forkman.yaml's `checks:`: RUN a command in the checkout, or PATH must match PATTERN."""

    overlay: str
    run: str | None = None
    path: str | None = None
    pattern: str | None = None


def pattern_failures(checks: tuple[Check, ...], overlay: str, files: Tree) -> list[str]:
    """OVERLAY's `path:` + `pattern:` checks that FILES fail, each said in a few words."""
    failures = []
    for check in checks:
        if check.overlay != overlay or not check.pattern:
            continue
        state = files.get(check.path or "")
        text = state.data.decode("utf-8", "surrogateescape") if state else ""
        if not re.search(check.pattern, text, re.MULTILINE):
            failures.append(f"{check.path} lacks /{check.pattern}/")
    return failures
