"""Explain a sync plan's broken overlays: the upstream commit behind each, what it did to the
lines under each conflict, and whether upstream likely made the change in another form.

Only overlays that are not clean are looked at, so a clean sync pays nothing for it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from forkman.core import probe
from forkman.core.conflicts import regions
from forkman.core.explain import UNTOUCHED, Explanation, HunkWhy, OtherFile, locate, why_hunk
from forkman.core.moves import after_move
from forkman.core.planner import FileConflict, OverlayResult, Plan, PlanInput
from forkman.core.stack import Step
from forkman.core.textdiff import split
from forkman.core.upstreamed import files_upstreamed, likeness
from forkman.core.values import FileState
from forkman.git.culprit import Ask, Found, find_culprits
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


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "surrogateescape")


def _lines(state: FileState | None) -> list[str]:
    return split(_text(state.data)) if state is not None else []


def _since_move(
    inputs: PlanInput,
    before: Mapping[str, bytes | None],
    conflict: FileConflict,
    base_side: Sequence[str],
    start: int,
    hunk: HunkWhy,
) -> HunkWhy:
    """HUNK told from where an earlier upstream commit moved its lines (a move the planner
    follows): what the culprit then did to them there, rather than that they left."""
    old_lines = _lines(conflict.base)
    span = locate(old_lines, base_side, max(start - 1, 0))
    if span is None:
        return hunk
    paths = [p for p in before if before[p] is not None]
    found = after_move(
        conflict.path,
        _lines(conflict.overlay),
        span,
        {p: _lines(inputs.old_base.get(p)) for p in paths} | {conflict.path: old_lines},
        {p: split(_text(before[p])) for p in paths},
        {p: _lines(inputs.new_base.get(p)) for p in paths}
        | {conflict.path: _lines(conflict.upstream)},
    )
    if found is None or found[1].did == UNTOUCHED:
        return hunk  # the culprit left the moved lines alone (it made their place ambiguous)
    place, verdict = found
    diff = verdict.upstream_diff if verdict.upstream_diff not in hunk.upstream_diff else ""
    hint = f"after the earlier move of these lines to {place}"
    moved_to = str(verdict.moved_to) if verdict.moved_to else None
    return HunkWhy(verdict.did, moved_to, hunk.upstream_diff + diff, hint)


def _asks(inputs: PlanInput, the_plan: Plan) -> list[Ask]:
    """The question to put to upstream's commits for each result worth explaining."""
    old = the_plan.old_stack()
    steps: dict[str, Step] = {}
    for s in old.steps:
        steps.setdefault(s.overlay.name, s)  # the first of a name, as a search through them finds
    asks = []
    for result in the_plan.results:
        kind = _KIND.get(result.state)
        if kind is None or result.cause == "earlier" or result.blocked_by:
            continue
        if result.followed:
            # the commit whose move (or rename) made the plain merge fail
            renamed = any(f.startswith("rename") for f in result.followed)
            kind = probe.GONE if renamed else probe.CONFLICT
        elif kind == probe.CONFLICT:
            # what broke it is what the planner could not carry: a move it follows is not it
            kind = probe.CARRY
        step = steps.get(result.name)
        if step is None or not step.applies:
            continue
        # a file it is carried without has its own deleting commit; "moved" keeps it, as the
        # deletion is then what moved the overlay
        left = {w.path for w in result.without} if result.state != "moved" else set()
        before = {p: _data(s) for p, s in step.before.items() if p not in left}
        after = {p: _data(s) for p, s in step.after.items() if p not in left}
        near = (
            {p: _data(inputs.old_base.get(p)) for p in inputs.others if p not in after}
            if kind == probe.CARRY
            else {}
        )
        asks.append(Ask(result.name, probe.Question(kind, before, after, near)))
    return asks


def _rest_upstreamed(inputs: PlanInput, the_plan: Plan, result: OverlayResult, step: Step) -> bool:
    """Upstream already holds the overlay's change in each of its files that merged: a man page
    it also changes is still its own, however like upstream's its conflict is (files upstream
    deleted aside: the overlay is judged without them)."""
    conflicted = {c.path for c in the_plan.conflicts.get(result.name, ())}
    rest = [p for p in step.after if p not in conflicted | {w.path for w in result.without}]
    before, after = step.before, step.after
    return files_upstreamed(
        {p: _text(_data(before[p])) if before[p] is not None else None for p in rest},
        {p: _text(_data(after[p])) if after[p] is not None else None for p in rest},
        {p: _text(_data(s)) if (s := inputs.new_base.get(p)) is not None else None for p in rest},
    )


def explain(
    repo: GitRepo,
    inputs: PlanInput,
    the_plan: Plan,
    pin: str,
    target: str,
    upstream_url: str,
    others: Mapping[str, OtherFile] | None = None,
    find: Callable[..., dict[str, Found]] = find_culprits,
) -> Plan:
    """THE_PLAN with an explanation on every result that is not clean (FIND: the culprit
    search, find_culprits or the plan cache's wrapper of it)."""
    asks = _asks(inputs, the_plan)
    if not asks:
        return the_plan
    base = {p: _data(s) for p, s in inputs.old_base.items()}
    culprits = find(repo, pin, target, asks, base, upstream_url)
    asked = {a.name for a in asks}
    steps = {s.overlay.name: s for s in the_plan.old_stack().steps}
    results = tuple(
        _explained(inputs, the_plan, r, culprits.get(r.name), others, steps.get(r.name))
        if r.name in asked
        else r
        for r in the_plan.results
    )
    return replace(the_plan, results=results)


def _explained(
    inputs: PlanInput,
    the_plan: Plan,
    result: OverlayResult,
    found: Found | None,
    others: Mapping[str, OtherFile] | None,
    step: Step | None = None,
) -> OverlayResult:
    culprit = found.culprit if found else None
    hunks = []
    likely = []
    for conflict in the_plan.conflicts.get(result.name, ()):
        old_lines, new_lines = _lines(conflict.base), _lines(conflict.upstream)
        text = conflict.merged.decode("utf-8", "surrogateescape")
        for region in regions(text):
            hunk = why_hunk(
                conflict.path,
                old_lines,
                new_lines,
                _lines(conflict.overlay),
                region.base,
                max(region.start - 1, 0),
                others,
            )
            if found is not None and found.before is not None:
                hunk = _since_move(inputs, found.before, conflict, region.base, region.start, hunk)
            hunks.append(hunk)
        alike = likeness(old_lines, _lines(conflict.overlay), new_lines)
        likely.append(alike is not None and alike.likely)
    if likely and step is not None:
        likely.append(_rest_upstreamed(inputs, the_plan, result, step))
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
    moved_by = found.moved_by if found else None
    why = Explanation(culprit, tuple(hunks), is_likely, note, moved_by)
    return replace(result, why=why, note=note)
