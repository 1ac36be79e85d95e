"""Per-overlay checks after a sync: a `run:` command or a `path:` + `pattern:`; the pattern judge."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from forkman.core.values import Tree


@dataclass(frozen=True)
class Check:
    """One check of forkman.yaml's `checks:`: RUN a command in the checkout, or PATH must match PATTERN."""

    overlay: str
    run: str | None = None
    path: str | None = None
    pattern: str | None = None
    shell: bool = False  # `run:` through /bin/sh only when the config says `shell: true`
    timeout: float = 600.0  # seconds before a `run:` command is stopped and counts as failed

    def command(self) -> str | list[str]:
        """What to start for `run:`: the line for a shell, or its words (shlex) as the program's
        arguments, so `;`, `&&`, `$(...)` and redirections are plain words without `shell: true`."""
        if self.run is None:
            raise ValueError("not a run: check")
        return self.run if self.shell else shlex.split(self.run)


def run_checks(checks: tuple[Check, ...], overlays: tuple[str, ...]) -> tuple[Check, ...]:
    """The `run:` checks a sync would start, in order, for the overlays it carries."""
    return tuple(c for name in overlays for c in checks if c.overlay == name and c.run)


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
