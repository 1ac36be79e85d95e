"""DEP-3's `Forwarded:` read as values: which pull request or branch an overlay was sent as."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from forkman.core.culprit import Culprit
from forkman.core.planner import Plan
from forkman.core.states import SyncState

# DEP-3: "no" (not yet), "not-needed" (only for us), else where it was sent (an URL, usually)
NOT_FORWARDED = frozenset({"", "no", "not-needed", "not needed", "n/a", "invalid"})
_PR = re.compile(r"^https?://github\.com/([^/\s]+)/([^/\s]+)/pull/(\d+)")
_COMPARE = re.compile(
    r"^https?://github\.com/([^/\s]+)/([^/\s]+)/compare/[^\s]+?\.\.\.(?:([^:\s]+):)?([^?#\s]+)"
)
_DEFAULT_BRANCH = "forkman/pr/{name}"


@dataclass(frozen=True)
class Forwarded:
    """Where an overlay was sent: a pull request, a compare page, or a remote's branch."""

    value: str
    repo: tuple[str, str] | None = None  # upstream's (owner, name) on GitHub
    pr: int | None = None
    branch: str = ""  # the PR's head branch as forkman made it (forkman/pr/NAME)
    fork_owner: str | None = None

    @property
    def pr_url(self) -> str | None:
        if self.repo is None or self.pr is None:
            return None
        return f"https://github.com/{self.repo[0]}/{self.repo[1]}/pull/{self.pr}"


def parse_forwarded(name: str, value: str | None) -> Forwarded | None:
    """VALUE of NAME's `Forwarded:` header, or None when it says the overlay was not sent."""
    if value is None or value.strip().lower() in NOT_FORWARDED:
        return None
    value = value.strip()
    default = _DEFAULT_BRANCH.format(name=name)
    if match := _PR.match(value):
        return Forwarded(value, (match.group(1), match.group(2)), int(match.group(3)), default)
    if match := _COMPARE.match(value):
        repo = (match.group(1), match.group(2))
        return Forwarded(value, repo, None, match.group(4), match.group(3))
    # what upstream-pr records for a plain remote: "REMOTE/BRANCH" or "URL BRANCH"
    words = value.split()
    return Forwarded(value, branch=words[1] if len(words) == 2 else default)


def landed_note(forwarded: Forwarded | None, culprit: Culprit | None, release: str) -> str:
    """What a report says when upstream made a change that we had forwarded."""
    if forwarded is None:
        return ""
    if (
        culprit is not None
        and None not in (culprit.pr, forwarded.pr)
        and culprit.pr != forwarded.pr
    ):
        return f"we forwarded it as #{forwarded.pr}; upstream made it itself in {culprit.short}"
    if forwarded.pr is not None:
        return f"our pull request #{forwarded.pr} landed upstream in {release}"
    return f"our pull request ({forwarded.value}) landed upstream in {release}"


def applied_upstream(release: str, culprit: Culprit | None, partly: bool = False) -> str:
    """The `Applied-Upstream:` value: the release, and the upstream commit and PR when known."""
    parts = [f"partly, {release}" if partly else release]
    if culprit is not None:
        parts.append(f"commit {culprit.commit}")
        if culprit.url:
            parts.append(culprit.url)
        elif culprit.pr is not None:
            parts.append(f"#{culprit.pr}")
    return ", ".join(parts)


def credit_upstream(the_plan: Plan, release: str) -> Plan:
    """THE_PLAN with each upstreamed overlay's `Applied-Upstream:` naming the upstream commit
    and PR (once the culprit is known), and a note when the change was ours, forwarded."""
    overlays = dict(the_plan.overlays)
    results = []
    for result in the_plan.results:
        if result.state in (SyncState.UPSTREAMED, SyncState.PARTLY):
            culprit = result.why.culprit if result.why is not None else None
            overlay = overlays.get(result.name)
            if overlay is not None:
                partly = result.state == SyncState.PARTLY or bool(result.without)
                value = applied_upstream(release, culprit, partly)
                for w in result.without:  # what upstream did not make: it deleted the file
                    by = f" in commit {w.culprit.commit}" if w.culprit else ""
                    value += f"; not {w.path}, which upstream deleted{by}"
                overlays[result.name] = overlay.with_field("Applied-Upstream", value)
                forwarded = parse_forwarded(result.name, overlay.field("Forwarded"))
                if note := landed_note(forwarded, culprit, release):
                    joined = f"{result.note}; {note}" if result.note else note
                    result = replace(result, note=joined)
        results.append(result)
    return replace(the_plan, results=tuple(results), overlays=overlays)
