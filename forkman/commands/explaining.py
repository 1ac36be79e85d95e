"""Explain a sync plan's broken overlays: the upstream commit behind each, what it did to the
lines under each conflict, and whether upstream likely made the change in another form.

Only overlays that are not clean are looked at, so a clean sync pays nothing for it.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import replace

from forkman.core import probe
from forkman.core.conflicts import regions
from forkman.core.explain import Explanation, OtherFile, why_hunk
from forkman.core.planner import Plan, PlanInput
from forkman.core.stack import build_stack
from forkman.core.textdiff import split
from forkman.core.upstreamed import likeness
from forkman.core.values import FileState
from forkman.git.culprit import Ask, find_culprits
from forkman.git.repository import GitRepo

_KIND = {
    "conflict": probe.CONFLICT,
    "moved": probe.MOVED,
    "upstreamed": probe.UPSTREAMED,
    "partly-upstreamed": probe.PARTLY,
    "not-applicable": probe.GONE,
}


def _data(state: FileState | None) -> bytes | None:
    return state.data if state is not None else None


def _lines(state: FileState | None) -> list[str]:
    return split(state.data.decode("utf-8", "surrogateescape")) if state is not None else []


def explain(
    repo: GitRepo,
    inputs: PlanInput,
    the_plan: Plan,
    pin: str,
    target: str,
    upstream_url: str,
    others: Mapping[str, OtherFile] | None = None,
) -> Plan:
    """THE_PLAN with an explanation on every result that is not clean."""
    old = build_stack(inputs.old_base, inputs.overlays)
    asks = []
    for result in the_plan.results:
        kind = _KIND.get(result.state)
        if kind is None or result.cause == "earlier" or result.blocked_by:
            continue
        if result.followed:
            # the commit whose move (or rename) made the plain merge fail
            renamed = any(f.startswith("rename") for f in result.followed)
            kind = probe.GONE if renamed else probe.CONFLICT
        step = next((s for s in old.steps if s.overlay.name == result.name), None)
        if step is None or not step.applies:
            continue
        # a file it is carried without has its own deleting commit; "moved" keeps it, as the
        # deletion is then what moved the overlay
        left = {w.path for w in result.without} if result.state != "moved" else set()
        before = {p: _data(s) for p, s in step.before.items() if p not in left}
        after = {p: _data(s) for p, s in step.after.items() if p not in left}
        asks.append(Ask(result.name, probe.Question(kind, before, after)))
    if not asks:
        return the_plan
    base = {p: _data(s) for p, s in inputs.old_base.items()}
    culprits = find_culprits(repo, pin, target, asks, base, upstream_url)
    results = []
    for result in the_plan.results:
        if result.name not in {a.name for a in asks}:
            results.append(result)
            continue
        culprit = culprits.get(result.name)
        hunks = []
        likely = []
        for conflict in the_plan.conflicts.get(result.name, ()):
            old_lines, new_lines = _lines(conflict.base), _lines(conflict.upstream)
            text = conflict.merged.decode("utf-8", "surrogateescape")
            for region in regions(text):
                hunks.append(
                    why_hunk(
                        conflict.path,
                        old_lines,
                        new_lines,
                        _lines(conflict.overlay),
                        region.base,
                        max(region.start - 1, 0),
                        others,
                    )
                )
            found = likeness(old_lines, _lines(conflict.overlay), new_lines)
            likely.append(found is not None and found.likely)
        is_likely = bool(likely) and all(likely)
        note = result.note
        if result.followed:
            by = f" in {culprit.short}" if culprit else ""
            note = f"followed upstream's {'; '.join(result.followed)}{by}: review it"
        if is_likely:
            by = f" by {culprit.short}" if culprit else ""
            where = (
                (culprit.url or f"{inputs.new_ref}, commit {culprit.commit[:12]}")
                if culprit
                else inputs.new_ref
            )
            note = (
                f"likely upstreamed in another form{by}: check, then "
                f"`forkman overlay drop {result.name} --upstreamed {shlex.quote(where)}`"
            )
        why = Explanation(culprit, tuple(hunks), is_likely, note)
        results.append(replace(result, why=why, note=note))
    return replace(the_plan, results=tuple(results))
