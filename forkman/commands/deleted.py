"""Name the upstream commit that deleted each file an overlay is carried without."""

from __future__ import annotations

from dataclasses import replace

from forkman.core import probe
from forkman.core.planner import Plan, PlanInput
from forkman.git.culprit import Ask, find_culprits
from forkman.git.repository import GitRepo


def name_deleters(
    repo: GitRepo, inputs: PlanInput, the_plan: Plan, pin: str, target: str, upstream_url: str
) -> Plan:
    """THE_PLAN with, on every result carried without some file, the commit that deleted it.

    One search for each such file, whichever overlays it left out (curl's test makefile was in
    seven): the first commit of PIN..TARGET after which the file is gone, found as any culprit
    is (bisection, and into the merged side of a merge)."""
    paths = sorted({w.path for r in the_plan.results for w in r.without})
    if not paths:
        return the_plan
    old = the_plan.old_stack()
    asks: dict[str, Ask] = {}
    for step in old.steps:
        for path in paths:
            before, after = step.before.get(path), step.after.get(path)
            if path in asks or before is None or after is None or before == after:
                continue
            question = probe.Question(probe.GONE, {path: before.data}, {path: after.data})
            asks[path] = Ask(path, question)
    base = {p: (s.data if s is not None else None) for p, s in inputs.old_base.items()}
    found = find_culprits(repo, pin, target, list(asks.values()), base, upstream_url)
    deleters = {path: f.culprit for path, f in found.items()}
    results = tuple(r.naming(deleters) for r in the_plan.results)
    return replace(the_plan, results=results)
