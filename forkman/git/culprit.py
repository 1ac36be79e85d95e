"""Name the upstream commit that broke each overlay: bisect first-parent history with in-memory
merges (a handful per broken overlay, however many commits the jump spans)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from forkman.core.culprit import BROKEN, CLEAN, FOLLOWED, Culprit, Levels, culprit_of
from forkman.core.probe import CARRY, CONFLICT, Question, first_merges, is_bad, restated
from forkman.core.values import MergeJob
from forkman.git.history import Logged, Repo, first_parent_log, side_log
from forkman.git.merge import merge_many

Content = Mapping[str, "bytes | None"]


@dataclass(frozen=True)
class Ask:
    """Why overlay NAME is worth explaining, as a question to put to upstream's commits."""

    name: str
    question: Question

    @property
    def paths(self) -> tuple[str, ...]:
        return self.question.paths

    @property
    def own(self) -> tuple[str, ...]:
        """The overlay's files (without the near ones)."""
        q = self.question
        return tuple(sorted(p for p in q.after if q.after[p] != q.before.get(p)))

    def near_only(self, kept: Collection[str]) -> Ask:
        near = {p: v for p, v in self.question.near.items() if p in kept}
        return replace(self, question=replace(self.question, near=near))

    @property
    def levels(self) -> tuple[int, ...]:
        """What to find: the commit that broke it and, for CARRY, the move it came after."""
        return (BROKEN, FOLLOWED) if self.question.kind == CARRY else (BROKEN,)


@dataclass(frozen=True)
class Found:
    """The commit that broke an overlay, and the earlier one whose move the planner follows."""

    culprit: Culprit
    moved_by: Culprit | None = None
    before: Content | None = None  # with MOVED_BY: upstream's files just before the culprit


@dataclass(frozen=True)
class _Search:
    ask: Ask
    start: Content  # upstream's content of the paths before the first commit
    commits: tuple[Logged, ...]
    blobs: tuple[Mapping[str, str | None], ...]  # each commit's blob of every changed path so far
    search: Levels

    @classmethod
    def of(
        cls,
        ask: Ask,
        start: Content,
        commits: Sequence[Logged],
        last_bad: bool,
        levels: tuple[int, ...] = (BROKEN,),
    ) -> _Search:
        so_far: dict[str, str | None] = {}
        blobs = []
        watched = set(ask.paths)
        for logged in commits:
            so_far.update((p, b) for p, b in logged.changed.items() if p in watched)
            blobs.append(dict(so_far))
        size = len(commits)
        # of START, only what a probe reads: each probe copies it (all of upstream's files
        # at the pin, for the first search: a thousand overlays' worth, copied per probe)
        return cls(
            ask,
            {p: start[p] for p in ask.question.looked_at if p in start},
            tuple(commits),
            tuple(blobs),
            Levels(size, levels, last_known=last_bad),
        )

    def found(self, level: int) -> Logged | None:
        at = self.search.first(level)
        return self.commits[at] if at is not None and self.commits else None


def find_culprits(
    repo: Repo, pin: str, target: str, asks: Sequence[Ask], base: Content, upstream_url: str
) -> dict[str, Found]:
    """The commit in PIN..TARGET that made each ask's outcome appear (BASE: upstream's content
    at PIN), and for a CARRY ask the earlier commit whose move the overlay still carries over,
    when there is one. A merge found on the first-parent line is looked into: the commit on the
    merged side that made the change is named when the side shows it."""
    asks = [a for a in asks if a.paths]
    if not asks:
        return {}
    asks, log = _watched(repo, pin, target, asks)
    # each ask's commits from a per-path index, not a scan of the whole log per ask
    touching: dict[str, list[int]] = {}
    for index, logged in enumerate(log):
        for path in logged.changed:
            touching.setdefault(path, []).append(index)
    searches = []
    for a in asks:
        indices = sorted({i for p in a.paths for i in touching.get(p, ())})
        searches.append(_Search.of(a, base, [log[i] for i in indices], True, a.levels))
    searches = _run(repo, searches)
    named: dict[str, Found] = {}
    for ask, search in zip(asks, searches, strict=False):
        broke = _descend(repo, ask, search.found(BROKEN), BROKEN)
        if broke is None:
            continue
        culprit = culprit_of(broke.commit, upstream_url)
        if FOLLOWED in ask.levels and search.search.first(FOLLOWED) != search.search.first(BROKEN):
            moved = _descend(repo, ask, search.found(FOLLOWED), FOLLOWED)
            if moved is not None:
                # where the move had put the lines, for what the culprit then did to them
                before = _content_at(repo, f"{broke.commit.sha}^", ask.paths)
                named[ask.name] = Found(culprit, culprit_of(moved.commit, upstream_url), before)
                continue
        named[ask.name] = Found(culprit)
    return named


def _watched(repo: Repo, pin: str, target: str, asks: list[Ask]) -> tuple[list[Ask], list[Logged]]:
    """ASKS watching only the near files that some commit changed along with the overlay's
    own (a move changes both: each file watched costs a blob a probe), and the log of PIN..TARGET
    over every file they watch."""
    own = sorted({p for a in asks for p in a.own})
    if not any(a.question.near for a in asks):
        return asks, first_parent_log(repo, pin, target, own)
    log = first_parent_log(repo, pin, target, own, every_file=True)
    along = changed_along(log, own)
    asks = [a.near_only({p for mine in a.own for p in along.get(mine, ())}) for a in asks]
    if any(a.question.near for a in asks):
        return asks, first_parent_log(repo, pin, target, sorted({p for a in asks for p in a.paths}))
    own_set = set(own)
    trimmed = [
        replace(c, changed={p: b for p, b in c.changed.items() if p in own_set}) for c in log
    ]
    return asks, trimmed


def changed_along(log: Sequence[Logged], paths: Collection[str]) -> dict[str, set[str]]:
    """For each of PATHS that LOG changes, every path some commit of LOG changed along with it.
    (Only for PATHS: a release made of one commit may change thousands of files, and the files
    changed along with each of those would cost their square.)"""
    wanted = set(paths)
    along: dict[str, set[str]] = {}
    for logged in log:
        for path in wanted.intersection(logged.changed):
            along.setdefault(path, set()).update(logged.changed)
    return along


def _descend(repo: Repo, ask: Ask, hit: Logged | None, level: int) -> Logged | None:
    """HIT, or when it is a merge, the commit of the merged side that reached LEVEL there."""
    while hit is not None and hit.commit.is_merge:
        start_sha, side = side_log(repo, hit.commit, ask.paths)
        if not side:
            break
        start = _content_at(repo, start_sha, ask.paths)
        inner = _run(repo, [_Search.of(ask, start, side, False, (level,))])[0].found(level)
        if inner is None:
            break
        hit = inner
    return hit


def _content_at(repo: Repo, commit: str, paths: Sequence[str]) -> dict[str, bytes | None]:
    out = repo.text("ls-tree", "-z", "--full-tree", commit, "--", *paths)
    shas: dict[str, str | None] = dict.fromkeys(paths)
    for record in out.split("\0"):
        meta, _, name = record.partition("\t")
        if meta and meta.split()[1] == "blob" and name in shas:
            shas[name] = meta.split()[2]
    blobs = repo.read_blobs(s for s in shas.values() if s)
    return {p: (blobs[s] if s else None) for p, s in shas.items()}


def _run(repo: Repo, searches: list[_Search]) -> list[_Search]:
    """Run every search to its end in lockstep: one batch of blobs and of merges a round."""
    while True:
        probes = [(i, s.search.probe) for i, s in enumerate(searches)]
        asks = [(i, mid) for i, mid in probes if mid is not None]
        if not asks:
            return searches
        wanted = {b for i, mid in asks for b in searches[i].blobs[mid].values() if b}
        blobs = repo.read_blobs(wanted)
        nows = []
        for i, mid in asks:
            search = searches[i]
            now = dict(search.start)
            now.update({p: (blobs[b] if b else None) for p, b in search.blobs[mid].items()})
            nows.append(now)
        answers = _levels([searches[i].ask.question for i, _ in asks], nows)
        for (i, _), level in zip(asks, answers, strict=False):
            searches[i] = replace(searches[i], search=searches[i].search.tested(level))


def _levels(questions: Sequence[Question], nows: Sequence[Content]) -> list[int]:
    """Each question put to the upstream content NOW; the merges of all of them run together
    (a second batch for the CARRY merges that conflict: the planner's retry, moves followed)."""
    levels: list[int] = []
    jobs: list[MergeJob] = []
    owners: list[tuple[int, str]] = []
    for index, (question, now) in enumerate(zip(questions, nows, strict=False)):
        if question.kind not in (CONFLICT, CARRY):
            levels.append(BROKEN if is_bad(question, now) else CLEAN)
            continue
        gone, merges = first_merges(question, now)
        levels.append(BROKEN if gone else CLEAN)
        for path, job in merges:
            jobs.append(job)
            owners.append((index, path))
    again: list[MergeJob] = []
    again_owners: list[int] = []
    for (index, path), job, result in zip(owners, jobs, merge_many(jobs), strict=False):
        if not result.conflicts or levels[index] == BROKEN:
            continue
        question = questions[index]
        retry = restated(question, nows[index], path, job) if question.kind == CARRY else None
        if retry is None:
            levels[index] = BROKEN
            continue
        levels[index] = FOLLOWED
        again.append(retry)
        again_owners.append(index)
    for index, result in zip(again_owners, merge_many(again), strict=False):
        if result.conflicts:
            levels[index] = BROKEN
    return levels
