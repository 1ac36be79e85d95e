"""`forkman apply`: bring the checkout to the pinned commit plus every overlay, and the links."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from forkman.core.overlay import Overlay
from forkman.core.stack import Stack, StackDigest
from forkman.core.values import ProgressFn
from forkman.errors import DirtyCheckout, OverlayDoesNotApply
from forkman.git.repository import GitRepo
from forkman.store.checkout import needs_clone, open_checkout, refuse_local_commits
from forkman.store.exclusive import exclusive
from forkman.store.links import ensure_links, link_targets
from forkman.store.lock import Lock
from forkman.store.project import Project
from forkman.store.stackrecord import read_stack_record, series_hashes, write_stack_record
from forkman.store.worktree import (
    drift,
    load_stack,
    write_record,
    write_record_digests,
    write_worktree,
)


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
    texts = project.overlay_texts()  # each file read once: the record key and the lock check
    hashes = series_hashes(texts)
    # a bad patch is refused before a clone; else parsed only when the stack record cannot answer
    overlays = _parse(project, texts) if needs_clone(project) else None
    repo, cloned = open_checkout(project, lock, progress)
    with repo:
        series = list(hashes.items())
        recorded = None if cloned else read_stack_record(repo, lock.commit, series)
        if recorded is not None and _nothing_to_do(project, repo, lock.commit, recorded):
            written: list[str] = []
            deleted: list[str] = []
            moved = False
            write_record_digests(repo, lock.commit, recorded.final)
        else:
            overlays = overlays if overlays is not None else _parse(project, texts)
            stack = load_stack(repo, lock.commit, overlays)
            written, deleted, moved = _apply_stack(project, repo, lock, stack, cloned)
            write_stack_record(repo, lock.commit, series, stack.digests)
        links = ensure_links(project, repo)
        warnings = [d.text() for d in project.lock_disagreements(lock, hashes)]
    return ApplyResult(
        project.checkout,
        lock.ref,
        lock.commit,
        cloned,
        moved and not cloned,
        tuple(written),
        tuple(links),
        tuple(warnings),
        tuple(deleted),
    )


def _parse(project: Project, texts: dict[str, str]) -> list[Overlay]:
    return [project.parse_overlay(name, text) for name, text in texts.items()]


def _nothing_to_do(project: Project, repo: GitRepo, commit: str, stack: StackDigest) -> bool:
    """Whether the checkout already is COMMIT plus every overlay, as _apply_stack would leave it:
    every overlay applies, HEAD is the pin, and no file differs from what the stack makes."""
    if any(not step.applies for step in stack.steps) or repo.head() != commit:
        return False
    ignored = link_targets(project)
    changed = repo.changed_paths()
    # the stat cache may vouch for files here: on "nothing to do" apply writes nothing, and
    # anything else goes the full way, which reads every file before it writes one
    found = drift(repo, stack, ignore=ignored, changed_paths=changed, stat_cache=True)
    if found.paths or any(p not in stack.final and p not in ignored for p in changed):
        return False
    return found.digests == dict(stack.final)


def _apply_stack(
    project: Project, repo: GitRepo, lock: Lock, stack: Stack, cloned: bool
) -> tuple[list[str], list[str], bool]:
    """Write STACK over the pin in the checkout: the paths written, those of them deleted, and
    whether HEAD moved."""
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
    ignored = link_targets(project)
    changed = repo.changed_paths()
    found = drift(repo, stack, ignore=ignored, changed_paths=changed)
    if found.paths:
        raise DirtyCheckout(str(project.checkout), list(found.paths), "apply")
    stale = [p for p in changed if p not in stack.final and p not in ignored]
    desired = dict(repo.read_tree_files(lock.commit, stale))
    moved = head != lock.commit
    if moved:
        refuse_local_commits(repo, project, "apply")
        repo.run("checkout", "-q", "--detach", "--force", lock.commit)
    desired.update(stack.final)
    written = write_worktree(project.checkout, desired)
    write_record(repo, lock.commit, stack.final)
    return written, [p for p in written if desired.get(p) is None], moved
