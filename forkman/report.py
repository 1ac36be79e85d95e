"""Text, JSON and Markdown renderings of forkman's results. No I/O."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from forkman.status import StatusReport

JSON_VERSION = 1
_COLOURS = {"green": "32", "red": "31", "yellow": "33", "blue": "34", "dim": "2", "bold": "1"}
STATE_COLOUR = {
    "applied": "green", "clean": "green", "not-applied": "yellow", "modified": "yellow",
    "moved": "green", "upstreamed": "blue", "partly-upstreamed": "blue", "resolved": "green",
    "does-not-apply": "red", "conflict": "red", "blocked": "yellow", "not-applicable": "red",
    "check-failed": "red", "unknown": "dim", "skipped": "dim", "pending": "dim",
}  # fmt: skip


def paint(text: str, colour: str | None, enabled: bool) -> str:
    if not enabled or not colour:
        return text
    return f"\033[{_COLOURS[colour]}m{text}\033[0m"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], colours: Sequence[str | None] = (),
          colour: bool = False, state_column: int | None = None) -> str:  # fmt: skip
    """A plain aligned table; the state column coloured on a terminal."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths)).rstrip()]
    for row in rows:
        cells = []
        for i, (cell, width) in enumerate(zip(row, widths)):
            text = str(cell).ljust(width)
            if i == state_column:
                text = paint(text, STATE_COLOUR.get(str(cell).strip()), colour)
            cells.append(text)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def status_text(report: StatusReport, colour: bool = False) -> str:
    head = f"upstream {report.url} at {report.ref} ({report.commit[:12]})\ncheckout {report.checkout}"
    if not report.overlays:
        body = "no overlays yet: edit files in the checkout, then `forkman overlay capture NAME`"
    else:
        rows = [
            (o.name, o.state, f"+{o.added} -{o.removed}", ", ".join(o.files), o.detail)
            for o in report.overlays
        ]
        body = table(("overlay", "state", "lines", "files", "detail"), rows, colour=colour, state_column=1)
    lines = [head, "", body, ""]
    if report.uncaptured:
        lines.append(paint("uncaptured edits: ", "red", colour) + ", ".join(report.uncaptured))
        lines.append("  capture them with `forkman overlay capture NAME` or `forkman overlay refresh NAME`")
    else:
        lines.append("uncaptured edits: none")
    for warning in report.warnings:
        lines.append(paint("warning: ", "yellow", colour) + warning)
    return "\n".join(lines)


def status_json(report: StatusReport) -> str:
    """The stable object documented in README ("overlay status --json")."""
    data: dict[str, Any] = {
        "version": JSON_VERSION,
        "upstream": {"url": report.url, "ref": report.ref, "commit": report.commit,
                     "checkout": report.checkout, "head": report.head,
                     "at_pin": report.head == report.commit},  # fmt: skip
        "overlays": [asdict(o) | {"files": list(o.files)} for o in report.overlays],
        "uncaptured": list(report.uncaptured),
        "warnings": list(report.warnings),
        "clean": report.clean,
    }
    return json.dumps(data, indent=2)
