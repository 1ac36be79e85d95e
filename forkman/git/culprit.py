"""Name the upstream commit that broke each overlay: bisect first-parent history with in-memory
merges (a handful per broken overlay, however many commits the jump spans)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from forkman.core.culprit import Bisection, Culprit, culprit_of
from forkman.core.probe import CONFLICT, Question, is_bad
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
        q = self.question
        return tuple(sorted(p for p in q.after if q.after[p] != q.before.get(p)))


@dataclass(frozen=True)
class _Search:
    ask: Ask
    start: Content  # upstream's content of the paths before the first commit
    commits: tuple[Logged, ...]
    blobs: tuple[Mapping[str, str | None], ...]  # each commit's blob of every changed path so far
    bisection: Bisection

    @classmethod
    def of(cls, ask: Ask, start: Content, commits: Sequence[Logged], last_bad: bool) -> _Search:
        so_far: dict[str, str | None] = {}
        blobs = []
        for logged in commits:
            so_far.update(logged.changed)
            blobs.append(dict(so_far))
        size = len(commits)
        return cls(
            ask,
            start,
            tuple(commits),
            tuple(blobs),
            Bisection(size) if last_bad else Bisection.unknown_end(size),
        )


def find_culprits(
    repo: Repo, pin: str, target: str, asks: Sequence[Ask], base: Content, upstream_url: str
) -> dict[str, Culprit]:
    """The commit in PIN..TARGET that made each ask's outcome appear (BASE: upstream's content
    at PIN). A merge found on the first-parent line is looked into: the commit on the merged
    side that made the change is named when the side shows it."""
    asks = [a for a in asks if a.paths]
    if not asks:
        return {}
    log = first_parent_log(repo, pin, target, sorted({p for a in asks for p in a.paths}))
    # each ask's commits from a per-path index, not a scan of the whole log per ask
    touching: dict[str, list[int]] = {}
    for index, logged in enumerate(log):
        for path in logged.changed:
            touching.setdefault(path, []).append(index)
    searches = []
    for a in asks:
        indices = sorted({i for p in a.paths for i in touching.get(p, ())})
        searches.append(_Search.of(a, base, [log[i] for i in indices], last_bad=True))
    found = _run(repo, searches)
    named: dict[str, Culprit] = {}
    for ask, hit in zip(asks, found, strict=False):
        while hit is not None and hit.commit.is_merge:
            start_sha, side = side_log(repo, hit.commit, ask.paths)
            if not side:
                break
            start = _content_at(repo, start_sha, ask.paths)
            inner = _run(repo, [_Search.of(ask, start, side, last_bad=False)])[0]
            if inner is None:
                break
            hit = inner
        if hit is not None:
            named[ask.name] = culprit_of(hit.commit, upstream_url)
    return named


def _content_at(repo: Repo, commit: str, paths: Sequence[str]) -> dict[str, bytes | None]:
    out = repo.text("ls-tree", "-z", "--full-tree", commit, "--", *paths)
    shas: dict[str, str | None] = dict.fromkeys(paths)
    for record in out.split("\0"):
        meta, _, name = record.partition("\t")
        if meta and meta.split()[1] == "blob" and name in shas:
            shas[name] = meta.split()[2]
    blobs = repo.read_blobs(s for s in shas.values() if s)
    return {p: (blobs[s] if s else None) for p, s in shas.items()}


def _run(repo: Repo, searches: list[_Search]) -> list[Logged | None]:
    """Bisect every search in lockstep: one batch of blobs and one batch of merges a round."""
    while True:
        open_ = [(i, s.bisection.probe) for i, s in enumerate(searches)]
        asks = [(i, mid) for i, mid in open_ if mid is not None]
        if not asks:
            break
        wanted = {b for i, mid in asks for b in searches[i].blobs[mid].values() if b}
        blobs = repo.read_blobs(wanted)
        nows = []
        for i, mid in asks:
            search = searches[i]
            now = dict(search.start)
            now.update({p: (blobs[b] if b else None) for p, b in search.blobs[mid].items()})
            nows.append(now)
        answers = _answer([searches[i].ask.question for i, _ in asks], nows)
        for (i, _), bad in zip(asks, answers, strict=False):
            searches[i] = _replace_bisection(searches[i], searches[i].bisection.narrow(bad))
    out: list[Logged | None] = []
    for s in searches:
        at = s.bisection.found
        out.append(s.commits[at] if at is not None and s.commits else None)
    return out


def _replace_bisection(search: _Search, bisection: Bisection) -> _Search:
    return _Search(search.ask, search.start, search.commits, search.blobs, bisection)


def _answer(questions: Sequence[Question], nows: Sequence[Content]) -> list[bool]:
    """Each question put to the upstream content NOW; the merges of all of them run together."""
    answers: list[bool | None] = []
    jobs: list[MergeJob] = []
    owners: list[int] = []
    for index, (question, now) in enumerate(zip(questions, nows, strict=False)):
        if question.kind != CONFLICT:
            answers.append(is_bad(question, now))
            continue
        answers.append(None)
        for path, mine in question.after.items():
            before = question.before.get(path)
            if mine == before:
                continue
            theirs = now.get(path)
            if mine is None or theirs is None:
                answers[index] = answers[index] or (theirs is None and before is not None)
                continue
            if theirs in (before, mine):
                continue
            jobs.append(MergeJob(before or b"", theirs, mine, ("upstream", "base", "overlay")))
            owners.append(index)
    for owner, result in zip(owners, merge_many(jobs), strict=False):
        answers[owner] = bool(answers[owner]) or result.conflicts > 0
    return [bool(a) for a in answers]
