"""Command-line values that reach git, checked before anything runs: one line when refused."""

from __future__ import annotations

from collections.abc import Callable

from forkman.core.urls import redact_text
from forkman.errors import ForkmanError


def check_argument(option: str, value: str | None, rule: Callable[[str], str | None]) -> None:
    """ForkmanError when RULE (from forkman.core.urls) finds a problem with OPTION's VALUE."""
    if value is not None and (problem := rule(value)):
        raise ForkmanError(
            f"{option} {redact_text(value)!r} {problem}", hint=f"give {option} another value"
        )
