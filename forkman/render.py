"""Text, JSON and Markdown renderings of forkman's results (status, sync, upstream-pr, bot, import)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from forkman.core.states import GONE, NEEDS_ACTION, Phase, SyncState, colour_of
from forkman.core.terminal import printable

if TYPE_CHECKING:  # only the types: rendering a status need not import the sync
    from forkman.commands.bot import BotResult
    from forkman.commands.import_ import ImportResult
    from forkman.commands.pr_status import ForwardStatus, Landing
    from forkman.commands.status import StatusReport
    from forkman.commands.stepwise import Step as WalkStep
    from forkman.commands.stepwise import WalkReport
    from forkman.commands.sync import SyncReport
    from forkman.commands.upstream_pr import PrResult
    from forkman.core.culprit import Culprit
    from forkman.core.explain import HunkWhy
    from forkman.core.importing import HunkNote
    from forkman.core.overlay import Overlay
    from forkman.core.planner import Hunk, OverlayResult

JSON_VERSION = 1
_COLOURS = {"green": "32", "red": "31", "yellow": "33", "blue": "34", "dim": "2", "bold": "1"}


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
    rows = [tuple(printable(str(cell)) for cell in row) for row in rows]
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        cells = []
        for i, (cell, width) in enumerate(zip(row, widths, strict=False)):
            text = str(cell).ljust(width)
            if i == state_column:
                text = paint(text, colour_of(str(cell).strip()), colour)
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
        lines.append(paint("warning: ", "yellow", colour) + printable(warning))
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
def _sync_rows(results: Sequence[OverlayResult]) -> list[tuple[str, ...]]:
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


def sync_text(report: SyncReport, colour: bool = False) -> str:
    verb = report.phase.verb
    head = f"sync {verb} {report.from_ref} -> {report.to_ref} ({report.to_commit[:12]})"
    if report.phase == Phase.CHECK and report.from_commit == report.to_commit:
        head = f"already at {report.to_ref} ({report.to_commit[:12]}); the overlays against it:"
    if report.phase == Phase.UP_TO_DATE:
        return f"already at {report.to_ref} ({report.to_commit[:12]}): nothing to do"
    if report.phase == Phase.ABORTED:
        if not report.from_ref:  # the journal was damaged: all came from the backups
            return "sync aborted: checkout, overlays and lock restored from the backups"
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
    lines += _why_text(report.results)
    lines += [f"review: {printable(line)}" for line in _review(report.results)]
    for warning in report.warnings:
        lines.append(paint("warning: ", "yellow", colour) + printable(warning))
    if report.commands:
        lines += ["", "a real sync would then run, in the checkout (forkman.yaml's `checks:`):"]
        lines += [
            f"  {printable(c.run or '')}  (after {c.overlay}{', through the shell' if c.shell else ''})"
            for c in report.commands
        ]
    if report.phase == Phase.STOPPED:
        state = next(
            (r.state for r in report.results if r.name == report.current), SyncState.CONFLICT
        )
        advice = state.advice
        lines += ["", f"stopped at overlay '{report.current}' ({state}): {advice}"]
    elif report.phase == Phase.DONE:
        dropped = [r.name for r in report.results if r.state == SyncState.UPSTREAMED]
        lines += ["", f"pinned {report.to_ref}; overlays and forkman.lock refreshed"]
        if dropped:
            lines.append(
                "upstream made these itself, dropped from the series (kept in overlays/upstreamed/): "
                + ", ".join(dropped)
            )
    return "\n".join(lines)


def sync_json(report: SyncReport) -> str:
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
                "hunks": [
                    {"path": h.path, "start": h.start, "end": h.end} | _hunk_json(why)
                    for h, why in _hunk_whys(r)
                ],
                "culprit": _culprit_json(r.why.culprit if r.why else None),
                "moved_by": _culprit_json(r.why.moved_by if r.why else None),
                "note": r.note,
                "likely_upstreamed": bool(r.why and r.why.likely_upstreamed),
                "carried_without": [
                    {"path": w.path, "deleted_in": _culprit_json(w.culprit)} for w in r.without
                ],
                "needs_review": r.needs_review,
            }
            for r in report.results
        ],
        "warnings": list(report.warnings),
        "commands": [
            {"overlay": c.overlay, "run": c.run, "shell": c.shell, "timeout": c.timeout}
            for c in report.commands
        ],
    }
    return json.dumps(data, indent=2)


def sync_markdown(report: SyncReport) -> str:
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
    lines += _why_markdown(report.results)
    if report.warnings:
        lines += ["", "### Warnings", *[f"- {w}" for w in report.warnings]]
    lines += ["", closing_line(report.results)]
    review = _review(report.results)
    if review:
        lines += ["", "**Needs review:**", *[f"- {line}" for line in review]]
    return "\n".join(lines) + "\n"


def _review(results: Sequence[OverlayResult]) -> list[str]:
    return [r.review for r in results if r.review]


def closing_line(results: Sequence[OverlayResult]) -> str:
    """The summary's last line: what needs action, else what a reviewer should still look at.
    "Cleanly" only when no overlay followed a move, left the series or took a resolution."""
    needs = [r.name for r in results if r.state in NEEDS_ACTION]
    if needs:
        return f"**Needs attention:** {', '.join(needs)}"
    groups = [
        ([r.name for r in results if r.followed], "followed a move upstream made: review it",
         "followed moves upstream made: review them"),
        ([r.name for r in results if r.without and not r.followed and r.state not in GONE],
         "carried without a file upstream deleted: review it",
         "carried without files upstream deleted: review them"),
        ([r.name for r in results if r.state == SyncState.UPSTREAMED],
         "made by upstream itself, dropped from the series", ""),
        ([r.name for r in results if r.state == SyncState.PARTLY],
         "partly made by upstream, kept for the rest", ""),
        ([r.name for r in results if r.state == SyncState.RESOLVED or r.reused],
         "carried by a recorded resolution", "carried by recorded resolutions"),
    ]  # fmt: skip
    told = {name for names, _, _ in groups for name in names}
    groups.append(
        ([r.name for r in results if r.note and r.name not in told],
         "with a note: review it", "with notes: review them")
    )  # fmt: skip
    parts = [
        f"{len(names)} {many if len(names) > 1 and many else one} ({', '.join(names)})"
        for names, one, many in groups
        if names
    ]
    if not parts:
        return "All overlays carried over cleanly."
    dropped = any(r.state == SyncState.UPSTREAMED for r in results)
    head = "No overlay needs attention" if dropped else "All overlays carried over"
    return f"{head}; " + "; ".join(parts) + "."


# -- sync --stepwise ---------------------------------------------------------------------------
def _step_line(number: int, total: int, step: WalkStep) -> str:
    states = ", ".join(f"{name} {state}" for name, state in step.states) or "no overlays"
    return f"step {number}/{total} {step.ref} ({step.commit[:12]}): {step.phase}: {states}"


def walk_text(report: WalkReport, colour: bool = False) -> str:
    total = len(report.planned)
    lines = [f"sync --stepwise: {total} release step(s): {', '.join(report.planned)}"]
    for i, step in enumerate(report.steps, 1):
        lines.append(_step_line(i, total, step))
        if i < len(report.steps):  # the last step's are in its own report below
            lines += [f"  review: {printable(line)}" for line in step.review]
    return "\n".join([*lines, "", sync_text(report.last, colour)])


def walk_json(report: WalkReport) -> str:
    data = json.loads(sync_json(report.last))
    data["planned"] = list(report.planned)
    data["steps"] = [
        {
            "ref": s.ref,
            "commit": s.commit,
            "phase": s.phase,
            "overlays": [{"name": n, "state": st} for n, st in s.states],
            "needs_review": list(s.review),
        }
        for s in report.steps
    ]
    return json.dumps(data, indent=2)


def walk_markdown(report: WalkReport) -> str:
    total = len(report.planned)
    rows = ["### Steps", "", "| step | release | outcome | overlays |", "|---|---|---|---|"]
    for i, s in enumerate(report.steps, 1):
        states = ", ".join(f"{n} {st}" for n, st in s.states)
        rows.append(f"| {i}/{total} | `{s.ref}` | {s.phase} | {states} |")
    earlier = [(s.ref, line) for s in report.steps[:-1] for line in s.review]
    if earlier:  # the last step's are in its own summary above
        rows += ["", "**Needs review, from the earlier steps:**"]
        rows += [f"- `{ref}`: {line}" for ref, line in earlier]
    return sync_markdown(report.last) + "\n" + "\n".join(rows) + "\n"


# -- why an overlay broke ---------------------------------------------------------------------
_DID = {
    "moved": "upstream moved these lines",
    "reformatted": "upstream reformatted these lines (same tokens, new layout)",
    "rewritten": "upstream rewrote these lines",
    "deleted": "upstream deleted these lines",
    "added": "upstream added its own lines at this very place",
    "untouched": "upstream changed lines next to these",
}


_MOVED_BY = "which moved these lines (a move forkman follows); the commit above then changed them"


def _culprit_json(culprit: Culprit | None) -> dict[str, Any] | None:
    if culprit is None:
        return None
    return {
        "commit": culprit.commit,
        "subject": culprit.subject,
        "date": culprit.date,
        "pr": culprit.pr,
        "url": culprit.url,
    }


def _hunk_json(why: HunkWhy | None) -> dict[str, Any]:
    return {
        "upstream_did": why.upstream_did if why else None,
        "moved_to": why.moved_to if why else None,
        "upstream_diff": why.upstream_diff if why else "",
    }


def _hunk_whys(result: OverlayResult) -> list[tuple[Hunk, HunkWhy | None]]:
    whys = list(result.why.hunks) if result.why else []
    return [(h, whys[i] if i < len(whys) else None) for i, h in enumerate(result.hunks)]


def _said(why: HunkWhy) -> str:
    text = _DID.get(why.upstream_did, why.upstream_did)
    if why.moved_to:
        text += f", to {why.moved_to}"
    return text + (f" ({why.hint})" if why.hint else "")


def _culprit_text(culprit: Culprit) -> str:
    text = f"{culprit.commit[:12]} {culprit.subject} ({culprit.date[:10]})"
    return text + (f"\n    {culprit.url}" if culprit.url else "")


def _why_text(results: Sequence[OverlayResult]) -> list[str]:
    """One block per explained overlay: the culprit, each conflict's story, upstream's diff."""
    lines: list[str] = []
    for r in results:
        why = r.why
        if why is None:
            continue
        lines += ["", f"{r.name} ({r.state}):"]
        if why.culprit is not None:
            lines.append(f"  caused by {_culprit_text(why.culprit)}")
        if why.moved_by is not None:
            lines.append(f"  after {_culprit_text(why.moved_by)}")
            lines.append(f"    {_MOVED_BY}")
        if r.note:
            lines.append(f"  note: {r.note}")
        for hunk, hw in _hunk_whys(r):
            if hw is None:
                continue
            lines.append(f"  {hunk.path}:{hunk.start}-{hunk.end}: {_said(hw)}")
            if hw.upstream_diff:
                lines.append("    upstream's own change of these lines (diff from base):")
                lines += ["      " + ln for ln in hw.upstream_diff.rstrip("\n").splitlines()]
    return lines


def _md_culprit(culprit: Culprit) -> str:
    sha = f"`{culprit.commit[:12]}`"
    if culprit.commit_url:
        sha = f"[{sha}]({culprit.commit_url})"
    subject = culprit.subject.replace("|", "\\|")
    if culprit.pr is not None and culprit.url:
        subject = subject.replace(f"(#{culprit.pr})", f"([#{culprit.pr}]({culprit.url}))")
        if f"#{culprit.pr}]" not in subject:
            subject += f" ([#{culprit.pr}]({culprit.url}))"
    return f"{sha} {subject}, {culprit.date[:10]}"


def _why_markdown(results: Sequence[OverlayResult]) -> list[str]:
    lines: list[str] = []
    explained = [r for r in results if r.why is not None]
    if not explained:
        return lines
    lines += ["", "### Why"]
    for r in explained:
        why = r.why
        lines += ["", f"**{r.name}** ({r.state})"]
        if why is not None and why.culprit is not None:
            lines.append(f"- caused by {_md_culprit(why.culprit)}")
        if why is not None and why.moved_by is not None:
            lines.append(f"- after {_md_culprit(why.moved_by)}: {_MOVED_BY}")
        if r.note:
            lines.append(f"- {r.note}")
        for hunk, hw in _hunk_whys(r):
            if hw is None:
                continue
            lines.append(f"- `{hunk.path}:{hunk.start}-{hunk.end}`: {_said(hw)}")
            if hw.upstream_diff:
                lines += [
                    "",
                    "  <details><summary>upstream's change (diff from base)</summary>",
                    "",
                    "  ```diff",
                    *["  " + ln for ln in hw.upstream_diff.rstrip("\n").splitlines()],
                    "  ```",
                    "",
                    "  </details>",
                ]
    return lines


# -- upstream-pr -------------------------------------------------------------------------------
def pr_text(result: PrResult) -> str:
    return printable(_pr_text(result))


def _pr_text(result: PrResult) -> str:
    files = "\n".join(f"  {f.path}  +{f.added} -{f.removed}" for f in result.files)
    if result.dry_run:
        return (
            f"would create {result.branch} on upstream {result.base} ({result.base_commit[:12]})\n{files}\n\n"
            + "\n".join(f"    {ln}" for ln in result.message.splitlines())
            + f"\n\n{result.diff}"
        )
    head = f"{result.branch}: {(result.commit or '?')[:12]} on upstream {result.base} ({result.base_commit[:12]})"
    lines = [head, files]
    if result.range_diff:
        lines += [
            f"changed since {result.previous[:12] if result.previous else '?'}:",
            result.range_diff.rstrip(),
        ]
    if result.pushed:
        lines.append(f"pushed to {result.remote}; Forwarded: {result.forwarded}")
    if result.compare_url:
        lines += [
            f"open the pull request: {result.compare_url}",
            f"or: {shlex.join(result.gh_command)}",
        ]
    return "\n".join(lines)


def pr_json(result: PrResult) -> str:
    return json.dumps(
        {
            "version": 1,
            "overlay": result.overlay,
            "branch": result.branch,
            "base": result.base,
            "base_commit": result.base_commit,
            "commit": result.commit,
            "title": result.title,
            "body": result.body,
            "files": [
                {"path": f.path, "added": f.added, "removed": f.removed, "status": f.status}
                for f in result.files
            ],
            "previous": result.previous,
            "range_diff": result.range_diff,
            "pushed": result.pushed,
            "remote": result.remote,
            "compare_url": result.compare_url,
            "forwarded": result.forwarded,
            "dry_run": result.dry_run,
        },
        indent=2,
    )


# -- overlay list ------------------------------------------------------------------------------
def overlay_list_json(overlays: Sequence[Overlay]) -> str:
    listing = [{"name": o.name, "subject": o.subject, "files": list(o.files)} for o in overlays]
    return json.dumps({"version": 1, "overlays": listing}, indent=2)


def overlay_list_text(overlays: Sequence[Overlay]) -> str:
    return "\n".join(f"{o.name}\t{printable(o.subject)}" for o in overlays)


# -- bot ---------------------------------------------------------------------------------------


def bot_text(result: BotResult) -> str:
    """What `forkman bot` did, after the sync report it acted on."""
    says = {
        "up-to-date": f"already at {result.release}, and every overlay applies: nothing to do",
        "pr-closed": f"{result.release} carries, but its pull request was merged or closed: "
        f"{result.url} (nothing proposed again)",
        "issue-closed": f"{result.release} does not carry; its tracking issue was closed by "
        f"hand: {result.url} (nothing opened again)",
    }
    # the report as a proposal: the run itself leaves the clone as it found it
    report = (
        replace(result.report, phase=Phase.CHECK)
        if result.report.phase == Phase.DONE
        else result.report
    )
    lines = [sync_text(report)] if report.results else []
    if result.action in says:
        lines.append(says[result.action])
    elif result.action.startswith("pr-"):
        push = "pushed" if result.pushed else "already on"
        verb = result.action.removeprefix("pr-")
        lines.append(
            f"{result.release} carries: {push} {result.branch} at {result.remote}; "
            f"pull request {verb}: {result.url}"
        )
    else:
        verb = result.action.removeprefix("issue-")
        lines.append(f"{result.release} does not carry: tracking issue {verb}: {result.url}")
    lines += [f"closed {url}" for url in result.closed]
    return "\n".join(lines)


def bot_json(result: BotResult) -> str:
    """The stable object documented in README ("The nightly bot")."""
    data = {
        "version": JSON_VERSION,
        "action": result.action,
        "release": result.release,
        "pinned": result.pinned,
        "url": result.url,
        "branch": result.branch,
        "pushed": result.pushed,
        "remote": result.remote,
        "closed": list(result.closed),
        "sync": json.loads(sync_json(result.report)),
    }
    return json.dumps(data, indent=2)


# -- import ---------------------------------------------------------------------------------------
def import_text(result: ImportResult) -> str:
    """One line a patch (state, name, source, what happened), how it was named, then the tally."""
    if result.resumed:
        return (
            f"finished the import that was interrupted: {', '.join(result.resumed)} came in "
            "(appended to overlays/series); nothing else was imported"
        )
    lines = []
    verb = "would import" if result.dry_run else "imported"
    for item in result.patches:
        line = f"{item.state:<10} {item.name}  <- {item.label}"
        if item.detail:
            line += f": {item.detail}"
        lines.append(line)
        if item.renamed:
            lines.append(f"{'':<11}named '{item.name}': {'; '.join(item.renamed)}")
        for note in item.notes:
            lines.append(f"{'':<11}{note}")
    came = sum(1 for p in result.patches if p.comes_in)
    lines.append(
        f"{verb} {came} of {len(result.patches)} from {result.source} (appended to overlays/series)"
    )
    if result.merges:
        lines.append(
            f"left out {len(result.merges)} merge commit(s) "
            f"({', '.join(m[:12] for m in result.merges)}): their parents' commits bring their changes"
        )
    if result.checkout:
        lines.append(result.checkout)
    return "\n".join(lines)


def import_json(result: ImportResult) -> str:
    def hunk(note: HunkNote) -> dict[str, object]:
        return {
            "path": note.path,
            "hunk": note.hunk,
            "line": note.line,
            "offset": note.offset,
            "fuzz": note.fuzz,
        }

    data = {
        "version": JSON_VERSION,
        "kind": result.kind,
        "source": result.source,
        "dry_run": result.dry_run,
        "ok": result.ok,
        "patches": [
            {
                "name": p.name,
                "label": p.label,
                "state": p.state,
                "detail": p.detail,
                "renamed": list(p.renamed),
                "files": list(p.files),
                "moved": [hunk(h) for h in p.moved],
                "failed": [hunk(h) for h in p.failed],
                "depends_on": list(p.depends_on),
                "notes": list(p.notes),
            }
            for p in result.patches
        ],
        "imported": [o.name for o in result.overlays] or list(result.resumed),
        "resumed": bool(result.resumed),
        "merges_left_out": list(result.merges),
        "checkout": result.checkout,
    }
    return json.dumps(data, indent=2)


# -- upstream-pr --status ----------------------------------------------------------------------
def _landing_text(landing: Landing | None) -> str:
    if landing is None:
        return "no"
    how = f"commit {landing.commit[:12]}" if landing.commit else "by content"
    return f"{landing.ref} ({how})"


def pr_status_text(found: Sequence[ForwardStatus]) -> str:
    """One row per forwarded overlay."""
    if not found:
        return "no overlay records `Forwarded:` yet (`forkman upstream-pr NAME --push` does)"
    rows = [
        (
            f.name,
            f"#{f.pr}" if f.pr is not None else f.forwarded,
            (f.pr_state or "unknown").lower(),
            _landing_text(f.in_pr_branch) if f.pr_branch else "no such branch",
            _landing_text(f.in_release),
        )
        for f in found
    ]
    lines = [table(("overlay", "forwarded", "pr", "in pr branch", "in release"), rows)]
    notes = sorted({f.pr_note for f in found if f.pr_note})
    lines += [f"note: {n}" for n in notes]
    landed = [f.name for f in found if f.in_release is not None]
    if landed:
        lines.append(
            "upstream holds " + ", ".join(landed) + ": the next `forkman sync` to that release "
            "archives it in overlays/upstreamed/"
        )
    return "\n".join(lines)


def pr_status_json(found: Sequence[ForwardStatus]) -> str:
    """The stable object documented in README ("upstream-pr --status --json")."""

    def landing(value: Landing | None) -> dict[str, Any] | None:
        return asdict(value) if value is not None else None

    data = {
        "version": JSON_VERSION,
        "overlays": [
            {
                "name": f.name,
                "forwarded": f.forwarded,
                "pr": {"number": f.pr, "url": f.pr_url, "state": f.pr_state, "note": f.pr_note},
                "pr_branch": f.pr_branch,
                "in_pr_branch": landing(f.in_pr_branch),
                "in_release": landing(f.in_release),
            }
            for f in found
        ],
    }
    return json.dumps(data, indent=2)
