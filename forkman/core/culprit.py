"""Which upstream commit broke an overlay: bisection over first-parent history, and its PR."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

T = TypeVar("T")

# `feat: x (#9664)` (GitHub's squash merges) and `Merge pull request #9664 from owner/branch`
_SQUASH = re.compile(r"\(#(\d+)\)\s*$")
_MERGE = re.compile(r"^Merge pull request #(\d+) ")
_GITHUB = re.compile(
    r"^(?:https?://(?:[^@/]+@)?github\.com/|git@github\.com:|ssh://git@github\.com/)"
    r"(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+?)(?:\.git)?/?$"
)


@dataclass(frozen=True)
class Commit:
    """One upstream commit as the culprit search sees it."""

    sha: str
    subject: str
    date: str  # author date, ISO 8601
    parents: tuple[str, ...] = ()

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


@dataclass(frozen=True)
class Culprit:
    """The commit that made an overlay's outcome change, with its pull request when known."""

    commit: str
    subject: str
    date: str
    pr: int | None = None
    url: str | None = None  # the pull request's page
    commit_url: str | None = None

    @property
    def short(self) -> str:
        label = f"{self.commit[:12]} {self.subject}"
        return (
            label if self.pr is None or f"#{self.pr}" in self.subject else f"{label} (#{self.pr})"
        )


def pr_number(subject: str) -> int | None:
    """The pull request a commit subject names: `... (#9664)` or `Merge pull request #9664 ...`."""
    match = _SQUASH.search(subject) or _MERGE.match(subject)
    return int(match.group(1)) if match else None


def github_repo(url: str) -> tuple[str, str] | None:
    """(OWNER, REPO) when URL is a GitHub repository, in any of the forms git accepts."""
    match = _GITHUB.match(url.strip())
    return (match.group("owner"), match.group("repo")) if match else None


def pr_url(upstream_url: str, number: int | None) -> str | None:
    repo = github_repo(upstream_url)
    if repo is None or number is None:
        return None
    return f"https://github.com/{repo[0]}/{repo[1]}/pull/{number}"


def commit_url(upstream_url: str, sha: str) -> str | None:
    repo = github_repo(upstream_url)
    return f"https://github.com/{repo[0]}/{repo[1]}/commit/{sha}" if repo else None


def culprit_of(commit: Commit, upstream_url: str) -> Culprit:
    number = pr_number(commit.subject)
    return Culprit(
        commit.sha,
        commit.subject,
        commit.date,
        number,
        pr_url(upstream_url, number),
        commit_url(upstream_url, commit.sha),
    )


# An overlay's outcome at one upstream commit, as the planner would judge it there.
CLEAN = 0  # the plain 3-way merge goes through
FOLLOWED = 1  # the plain merge conflicts, but it carries once upstream's moves are followed
BROKEN = 2  # it does not carry even then


@dataclass(frozen=True)
class Levels:
    """Searches, over one ordered list, for the first item at or above each of several levels
    (outcomes worsen along the list: CLEAN..., FOLLOWED..., BROKEN...), sharing every item
    tested: the search for the move a later rewrite came after mostly reuses the rewrite's.

    The highest level is searched first; with LAST_KNOWN, the last item is known to be at it.
    """

    size: int
    levels: tuple[int, ...] = (BROKEN,)
    seen: tuple[tuple[int, int], ...] = ()  # (index, level) in the order they were tested
    last_known: bool = True

    def _range(self, level: int) -> tuple[int, int]:
        # replayed in test order, each test narrowing only the range it falls in, so that a
        # history that does not worsen monotonically still ends every search
        lo, hi = 0, (self.size - 1 if self.last_known else self.size)
        for index, seen in self.seen:
            if not lo <= index < hi:
                continue
            if seen >= level:
                hi = index
            else:
                lo = index + 1
        return lo, max(lo, hi)

    @property
    def probe(self) -> int | None:
        """The index to test next (None: every search is done)."""
        above: int | None = None  # where the next higher level was found
        for level in sorted(self.levels, reverse=True):
            lo, hi = self._range(level)
            if lo < hi:
                # the item just before the higher level's first first: mostly it settles
                # that nothing reached this level any earlier (one test, not log2 N)
                return hi - 1 if hi == above else (lo + hi) // 2
            above = lo
        return None

    def tested(self, level: int) -> Levels:
        mid = self.probe
        if mid is None:
            return self
        return replace(self, seen=(*self.seen, (mid, level)))

    def first(self, level: int) -> int | None:
        """The first index at or above LEVEL once done (None: no item reaches it)."""
        lo, _ = self._range(level)
        return lo if lo < self.size else None


def first_at(
    items: Sequence[T], level_of: Callable[[T], int], levels: tuple[int, ...] = (BROKEN,)
) -> dict[int, int | None]:
    """For each of LEVELS, the index of the first item at or above it (the last item is known
    to be at the highest), costing about log2 N calls of LEVEL_OF for the highest and few more
    for each lower one."""
    search = Levels(len(items), levels)
    while (mid := search.probe) is not None:
        search = search.tested(level_of(items[mid]))
    return {level: search.first(level) if items else None for level in levels}
