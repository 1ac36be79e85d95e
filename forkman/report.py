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
    "applied": "green",
    "clean": "green",
    "not-applied": "yellow",
    "modified": "yellow",
    "moved": "green",
    "upstreamed": "blue",
    "partly-upstreamed": "blue",
    "resolved": "green",
    "does-not-apply": "red",
    "conflict": "red",
    "blocked": "yellow",
    "not-applicable": "red",
    "check-failed": "red",
    "unknown": "dim",
    "skipped": "dim",
    "pending": "dim",
    "dropped": "yellow",
}


def paint(text: str, colour: str | None, enabled: bool) -> str:
    if not enabled or not colour:
        return text
    return f"\033[{_COLOURS[colour]}m{text}\033[0m"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    colour: bool = False,
    state_column: int | None = None,
) -> str:
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
    head = (
        f"upstream {report.url} at {report.ref} ({report.commit[:12]})\ncheckout {report.checkout}"
    )
    if not report.overlays:
        body = "no overlays yet: edit files in the checkout, then `forkman overlay capture NAME`"
    else:
        rows = [
            (o.name, o.state, f"+{o.added} -{o.removed}", ", ".join(o.files), o.detail)
            for o in report.overlays
        ]
        body = table(
            ("overlay", "state", "lines", "files", "detail"), rows, colour=colour, state_column=1
        )
    lines = [head, "", body, ""]
    if report.uncaptured:
        lines.append(paint("uncaptured edits: ", "red", colour) + ", ".join(report.uncaptured))
        lines.append(
            "  capture them with `forkman overlay capture NAME` or `forkman overlay refresh NAME`"
        )
    else:
        lines.append("uncaptured edits: none")
    for warning in report.warnings:
        lines.append(paint("warning: ", "yellow", colour) + warning)
    return "\n".join(lines)


def status_json(report: StatusReport) -> str:
    """The stable object documented in README ("overlay status --json")."""
    data: dict[str, Any] = {
        "version": JSON_VERSION,
        "upstream": {
            "url": report.url,
            "ref": report.ref,
            "commit": report.commit,
            "checkout": report.checkout,
            "head": report.head,
            "at_pin": report.head == report.commit,
        },
        "overlays": [asdict(o) | {"files": list(o.files)} for o in report.overlays],
        "uncaptured": list(report.uncaptured),
        "warnings": list(report.warnings),
        "clean": report.clean,
    }
    return json.dumps(data, indent=2)


# -- sync --------------------------------------------------------------------------------------
def _sync_rows(results: Sequence[Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for r in results:
        where = (
            ", ".join(f"{h.path}:{h.start}-{h.end}" for h in r.hunks)
            if r.hunks
            else ", ".join(r.files)
        )
        rows.append(
            (
                r.name,
                r.state,
                f"+{r.added} -{r.removed}" if r.added or r.removed else "",
                where,
                r.detail,
            )
        )
    return rows


_NEXT = {
    "conflict": "resolve the conflict in the checkout (git status, git mergetool), then "
    "`forkman sync --continue`; `--skip` leaves this overlay out, `--abort` puts everything back",
    "check-failed": "fix the files in the checkout, then `forkman sync --continue` (each edit goes "
    "to the last overlay that changes its file); `--skip` leaves this overlay out, `--abort` "
    "puts everything back",
    "other": "it cannot be carried over as it is: `forkman sync --skip` leaves it out of the "
    "series (its file is kept), `forkman sync --abort` puts everything back",
}


def sync_text(report: Any, colour: bool = False) -> str:
    verb = {
        "check": "would move",
        "done": "moved",
        "stopped": "is moving",
        "up-to-date": "is already at",
        "aborted": "aborted the move",
    }.get(report.phase, report.phase)
    head = f"sync {verb} {report.from_ref} -> {report.to_ref} ({report.to_commit[:12]})"
    if report.phase == "check" and report.from_commit == report.to_commit:
        head = f"already at {report.to_ref} ({report.to_commit[:12]}); the overlays against it:"
    if report.phase == "up-to-date":
        return f"already at {report.to_ref} ({report.to_commit[:12]}): nothing to do"
    if report.phase == "aborted":
        return f"sync aborted: checkout, overlays and lock are back at {report.from_ref}"
    lines = [head]
    if report.results:
        lines += [
            "",
            table(
                ("overlay", "state", "lines", "where", "detail"),
                _sync_rows(report.results),
                colour=colour,
                state_column=1,
            ),
        ]
    for warning in report.warnings:
        lines.append(paint("warning: ", "yellow", colour) + warning)
    if report.phase == "stopped":
        state = next((r.state for r in report.results if r.name == report.current), "conflict")
        advice = _NEXT.get(state, _NEXT["other"])
        lines += ["", f"stopped at overlay '{report.current}' ({state}): {advice}"]
    elif report.phase == "done":
        dropped = [r.name for r in report.results if r.state == "upstreamed"]
        lines += ["", f"pinned {report.to_ref}; overlays and forkman.lock refreshed"]
        if dropped:
            lines.append(
                "upstream made these itself, dropped from the series (kept in overlays/upstreamed/): "
                + ", ".join(dropped)
            )
    return "\n".join(lines)


def sync_json(report: Any) -> str:
    """The stable object documented in README ("sync --json")."""
    data = {
        "version": JSON_VERSION,
        "phase": report.phase,
        "ok": report.ok,
        "from": {"ref": report.from_ref, "commit": report.from_commit},
        "to": {"ref": report.to_ref, "commit": report.to_commit},
        "current": report.current,
        "overlays": [
            {
                "name": r.name,
                "state": r.state,
                "files": list(r.files),
                "added": r.added,
                "removed": r.removed,
                "detail": r.detail,
                "cause": r.cause,
                "blocked_by": list(r.blocked_by),
                "reused": list(r.reused),
                "hunks": [{"path": h.path, "start": h.start, "end": h.end} for h in r.hunks],
            }
            for r in report.results
        ],
        "warnings": list(report.warnings),
    }
    return json.dumps(data, indent=2)


def sync_markdown(report: Any) -> str:
    """A PR body for the nightly job that proposes the sync."""
    lines = [
        f"## forkman sync: `{report.from_ref}` → `{report.to_ref}`",
        "",
        f"Upstream commit `{report.to_commit}`.",
        "",
        "| overlay | state | lines | where | detail |",
        "|---|---|---|---|---|",
    ]
    for row in _sync_rows(report.results):
        lines.append("| " + " | ".join(c.replace("|", "\\|") or " " for c in row) + " |")
    if report.warnings:
        lines += ["", "### Warnings", *[f"- {w}" for w in report.warnings]]
    needs = [
        r.name
        for r in report.results
        if r.state in ("conflict", "blocked", "not-applicable", "check-failed")
    ]
    lines += [
        "",
        f"**Needs attention:** {', '.join(needs)}"
        if needs
        else "All overlays carried over cleanly.",
    ]
    return "\n".join(lines) + "\n"
