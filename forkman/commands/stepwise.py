"""`forkman sync --stepwise`: walk the releases between the pin and the target one at a time,
each a journaled sync of its own, stopping at the first step that needs the person; `--abort`
puts back the state from before the whole walk."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from forkman.commands import sync
from forkman.commands.sync import SyncReport
from forkman.core.releases import newest_release, releases
from forkman.core.stack import build_stack, touched_paths
from forkman.core.states import Phase
from forkman.core.steps import release_steps
from forkman.core.values import ProgressFn
from forkman.errors import SyncStateError
from forkman.git.remote import fetch_upstream
from forkman.store.checkout import open_checkout
from forkman.store.exclusive import exclusive
from forkman.store.files import atomic_write
from forkman.store.journal import Journal, Pin, SyncJournal
from forkman.store.project import Project
from forkman.store.worktree import read_worktree


@dataclass(frozen=True)
class Step:
    """One release step as the walk remembers it (its full report is shown when it is made)."""

    ref: str
    commit: str
    phase: str
    states: tuple[tuple[str, str], ...]  # (overlay, state)
    review: tuple[str, ...] = ()  # what a reviewer should look at (OverlayResult.review)

    @classmethod
    def of(cls, report: SyncReport) -> Step:
        return cls(
            report.to_ref,
            report.to_commit,
            str(report.phase),
            tuple((r.name, str(r.state)) for r in report.results),
            tuple(r.review for r in report.results if r.review),
        )


@dataclass(frozen=True)
class WalkReport:
    """Every step made so far (oldest first), and the full report of the last one."""

    steps: tuple[Step, ...]
    last: SyncReport
    planned: tuple[str, ...]  # every step of the walk

    @property
    def ok(self) -> bool:
        return self.last.ok and self.last.phase != Phase.STOPPED

    @property
    def phase(self) -> Phase:
        return self.last.phase


class _Walk(Journal):
    """The state before the whole walk, backed up the way a sync's journal backs up its own."""

    def __init__(self, project: Project):
        super().__init__(project)
        self.dir = project.state_dir() / "walk"
        self.file = self.dir / "journal.json"
        self.backup = self.dir / "backup"
        self.steps_file = self.dir / "steps.json"

    def save_steps(self, planned: list[str], made: list[Step]) -> None:
        data = {
            "planned": planned,
            "made": [
                [s.ref, s.commit, s.phase, [list(x) for x in s.states], list(s.review)]
                for s in made
            ],
        }
        atomic_write(self.steps_file, json.dumps(data, indent=1))

    def load_steps(self) -> tuple[list[str], list[Step]]:
        try:
            data = json.loads(self.steps_file.read_text())
            made = [
                Step(
                    str(r),
                    str(c),
                    str(p),
                    tuple((str(n), str(s)) for n, s in st),
                    tuple(
                        str(line) for line in (rest[0] if rest else ())
                    ),  # older records have none
                )
                for r, c, p, st, *rest in data["made"]
            ]
            return [str(s) for s in data["planned"]], made
        except (OSError, ValueError, KeyError, TypeError):
            raise SyncStateError(
                "the stepwise sync's record is damaged",
                where=str(self.steps_file),
                hint="run `forkman sync --abort`: it restores the state from before the walk",
            ) from None


def _unlocked(func: Callable[..., Any]) -> Callable[..., Any]:
    """A sync command without its lock: the walk already holds it."""
    return cast(Callable[..., Any], getattr(func, "__wrapped__", func))


def in_progress(project: Project) -> bool:
    return _Walk(project).exists()


@exclusive
def start(
    project: Project,
    *,
    to: str | None = None,
    pre: bool = False,
    fetch: bool = True,
    progress: ProgressFn | None = None,
) -> WalkReport:
    """Sync to each release after the pin up to TO (or the newest), one at a time."""
    walk = _Walk(project)
    if walk.exists() or project.sync_in_progress():
        raise SyncStateError(
            "a sync is already in progress",
            hint="resolve and run `forkman sync --continue`, or `forkman sync --abort`",
        )
    lock = project.lock()
    overlays = project.overlays()
    repo, _ = open_checkout(project, lock, progress)
    with repo:
        if fetch:
            fetch_upstream(repo, project.config.url, progress)
        tags = repo.tags()
        target = to or newest_release(tags, project.config.release_pattern, pre)
        planned = list(
            release_steps(releases(tags, project.config.release_pattern, pre), lock.ref, target)
        )
        if len(planned) <= 1:  # nothing to walk: one ordinary sync
            report = sync._plan_and_go(
                project, to=target, pre=pre, check=False, fetch=False, progress=progress
            )[0]
            return WalkReport((Step.of(report),), report, tuple(planned or [target]))
        old = build_stack(repo.read_tree_files(lock.commit, touched_paths(overlays)), overlays)
        record = SyncJournal(Pin(lock.ref, lock.commit), Pin(target, ""), repo.head())
        walk.begin(record, read_worktree(project.checkout, old.final), repo)
    walk.save_steps(planned, [])
    return _walk(project, walk, None)


def _walk(project: Project, walk: _Walk, current: SyncReport | None) -> WalkReport:
    """Go on from the steps made so far (CURRENT: the step just finished by --continue)."""
    planned, made = walk.load_steps()
    if current is not None:
        made = (
            [*made[:-1], Step.of(current)]
            if made and made[-1].ref == current.to_ref
            else [*made, Step.of(current)]
        )
        walk.save_steps(planned, made)
        if current.phase == Phase.STOPPED:
            return WalkReport(tuple(made), current, tuple(planned))
    report = current
    for ref in planned[len(made) :]:
        report = sync._plan_and_go(
            project, to=ref, pre=True, check=False, fetch=False, progress=None
        )[0]
        made.append(Step.of(report))
        walk.save_steps(planned, made)
        if report.phase == Phase.STOPPED:
            return WalkReport(tuple(made), report, tuple(planned))
    walk.finish()
    assert report is not None
    return WalkReport(tuple(made), report, tuple(planned))


@exclusive
def resume(
    project: Project, *, skip: bool = False, progress: ProgressFn | None = None
) -> WalkReport:
    """`--continue` / `--skip` in a walk: finish the stopped step, then go on with the next."""
    walk = _Walk(project)
    report = None
    if project.sync_in_progress():
        report = _unlocked(sync.resume)(project, skip=skip, progress=progress)
    return _walk(project, walk, report)


@exclusive
def abort(project: Project) -> SyncReport:
    """Put back the checkout, overlays and lock from before the whole walk."""
    walk = _Walk(project)
    if project.sync_in_progress():
        _unlocked(sync.abort)(project)
    data = walk.load() if walk.file.exists() else None
    missing = sync._restore(project, walk)
    if missing:
        raise SyncStateError(
            f"restored what the backups hold, but not: {', '.join(missing)}",
            where=str(walk.dir),
            hint=f"the backups are kept there as plain files; put those back by hand, then delete {walk.dir}",
        )
    walk.finish()
    ref = data.start.ref if data else ""
    commit = data.start.commit if data else ""
    target = data.target.ref if data else ""
    return SyncReport(ref, commit, target, "", Phase.ABORTED)
