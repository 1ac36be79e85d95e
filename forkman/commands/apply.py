"""`forkman apply`: bring the checkout to the pinned commit plus every overlay, and the links."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from forkman.core.values import ProgressFn
from forkman.errors import DirtyCheckout, OverlayDoesNotApply
from forkman.store.checkout import open_checkout, refuse_local_commits
from forkman.store.exclusive import exclusive
from forkman.store.links import ensure_links, link_targets
from forkman.store.project import Project
from forkman.store.worktree import drift, load_stack, write_record, write_worktree


@dataclass(frozen=True)
class ApplyResult:
    checkout: Path
    ref: str
    commit: str
    cloned: bool
    moved: bool
    written: tuple[str, ...]
    links: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()  # the part of WRITTEN that an overlay deletes


@exclusive
def apply(project: Project, progress: ProgressFn | None = None) -> ApplyResult:
    """Bring the checkout to the pinned commit plus every overlay, in order; refuse to lose edits."""
    project.ensure_no_sync()
    lock = project.lock()
    overlays = project.overlays()
    repo, cloned = open_checkout(project, lock, progress)
    with repo:
        stack = load_stack(repo, lock.commit, overlays)
        broken = next((s for s in stack.steps if not s.applies), None)
        if broken is not None:
            raise OverlayDoesNotApply(
                broken.overlay.name,
                broken.error_path or "?",
                broken.error or "",
                hint="the pin and the overlay disagree; run `forkman overlay status`",
            )
        head = repo.head()
        if cloned or head is None:
            repo.run("checkout", "-q", "--detach", lock.commit)
            head = repo.head()
        found = drift(repo, stack, ignore=link_targets(project))
        if found.paths:
            raise DirtyCheckout(str(project.checkout), list(found.paths), "apply")
        stale = [
            p
            for p in repo.changed_paths()
            if p not in stack.final and p not in link_targets(project)
        ]
        desired = dict(repo.read_tree_files(lock.commit, stale))
        moved = head != lock.commit
        if moved:
            refuse_local_commits(repo, project, "apply")
            repo.run("checkout", "-q", "--detach", "--force", lock.commit)
        desired.update(stack.final)
        written = write_worktree(project.checkout, desired)
        write_record(repo, lock.commit, stack.final)
        links = ensure_links(project, repo)
        warnings = [d.text() for d in project.lock_disagreements(lock)]
    return ApplyResult(
        project.checkout,
        lock.ref,
        lock.commit,
        cloned,
        moved and not cloned,
        tuple(written),
        tuple(links),
        tuple(warnings),
        tuple(p for p in written if desired.get(p) is None),
    )
