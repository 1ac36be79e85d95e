"""`forkman overlay status`: where every overlay stands in the checkout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from forkman.core.stack import Digest, StackDigest, StepDigest, step_digest
from forkman.core.states import OverlayState
from forkman.git.repository import GitRepo
from forkman.git.runner import Background
from forkman.store.links import link_targets, outside_links
from forkman.store.lock import Lock
from forkman.store.project import Project
from forkman.store.recovery import stale_git_lock, stale_lock_text
from forkman.store.stackrecord import series_hashes, stack_view
from forkman.store.statcache import overlay_hashes
from forkman.store.worktree import drift


@dataclass(frozen=True)
class OverlayStatus:
    name: str
    subject: str
    files: tuple[str, ...]
    added: int
    removed: int
    state: OverlayState
    detail: str = ""


@dataclass(frozen=True)
class StatusReport:
    url: str
    ref: str
    commit: str
    checkout: str
    head: str | None
    overlays: tuple[OverlayStatus, ...]
    uncaptured: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not self.uncaptured and all(o.state == OverlayState.APPLIED for o in self.overlays)


def _position(stack: StackDigest, path: str, content: Digest | None) -> int | None:
    """Which prefix of the series the file's content matches: -1 for the pin, i for step i."""
    if content == stack.base.get(path):
        found: int | None = -1
    else:
        found = None
    for index in stack.changing.get(path, ()):
        step = stack.steps[index]
        if step.applies and content == step.after[path]:
            found = index
    return found


def overlay_states(
    stack: StackDigest, worktree: Mapping[str, Digest | None]
) -> list[tuple[OverlayState, str]]:
    """Each overlay's state from the digests of its files in the work tree."""
    states = []
    for index, step in enumerate(stack.steps):
        if not step.applies:
            states.append((OverlayState.DOES_NOT_APPLY, step.error or ""))
            continue
        positions = [_position(stack, p, worktree.get(p)) for p in step.after]
        if any(pos is None for pos in positions):
            edited = [p for p, pos in zip(step.after, positions, strict=True) if pos is None]
            states.append(
                (OverlayState.MODIFIED, "edited beyond the overlay: " + ", ".join(edited))
            )
        elif all(pos is not None and pos >= index for pos in positions):
            states.append((OverlayState.APPLIED, ""))
        elif all(pos is not None and pos < index for pos in positions):
            states.append((OverlayState.NOT_APPLIED, ""))
        else:
            states.append((OverlayState.MODIFIED, "partly applied"))
    return states


def _row(step: StepDigest, state: OverlayState, detail: str) -> OverlayStatus:
    return OverlayStatus(
        step.name, step.subject, step.files, step.added, step.removed, state, detail
    )


def status(project: Project) -> StatusReport:
    lock = project.lock()
    # each overlay file is read at most once, for the lock check and the record key; not at all
    # when its stat data vouches for the hash last read from it (forkman.store.statcache)
    hashes = overlay_hashes(project)
    texts = None
    if hashes is None:
        texts = project.overlay_texts()
        hashes = series_hashes(texts)
    syncing = project.sync_in_progress()
    warnings: list[str] = []  # after the lock's, which need the hashes the stack was keyed by
    if syncing:
        warnings.append(
            "a sync is in progress: finish it with `forkman sync --continue` "
            "or undo it with `forkman sync --abort`"
        )
    if not project.checkout.exists():
        if texts is None:
            texts = project.overlay_texts()
            hashes = series_hashes(texts)
        overlays = [project.parse_overlay(name, text) for name, text in texts.items()]
        rows = tuple(
            _row(step_digest(o, {}), OverlayState.UNKNOWN, "no checkout") for o in overlays
        )
        warnings.append(f"no checkout at {project.checkout}: run `forkman apply`")
        return StatusReport(
            lock.url,
            lock.ref,
            lock.commit,
            str(project.checkout),
            None,
            rows,
            (),
            tuple(_lock_warnings(project, lock, hashes, syncing) + warnings),
        )
    stale = stale_git_lock(project.checkout)
    if stale is not None:
        warnings.append(stale_lock_text(stale))
    # `git status` runs while HEAD is asked for and the stack is read
    with GitRepo(project.checkout) as repo, Background(repo.changed_paths) as changed:
        head = repo.head()
        if head != lock.commit and not syncing:  # a sync moves HEAD first; apply waits for it
            count, subjects = repo.local_commits()
            if count:
                # here, not at the top: the checkout module (and git.remote) is ~2 ms to import
                from forkman.store.checkout import local_commits_text

                warnings.append(
                    f"the checkout has {local_commits_text(count, subjects)}: keep them as "
                    f"overlays with `forkman import --commits {lock.commit[:12]}..HEAD`"
                )
            else:
                warnings.append(
                    f"the checkout is at {str(head)[:12]}, the lock pins {lock.commit[:12]} "
                    f"({lock.ref}): run `forkman apply`"
                )
        stack, hashes = stack_view(repo, project, lock.commit, hashes, texts)
        found = drift(
            repo,
            stack,
            ignore=link_targets(project),
            changed_paths=changed.result(),
            stat_cache=True,  # status writes nothing on its answer
        )
    warnings += [outside.text() for outside in outside_links(project)]
    rows = tuple(
        _row(step, state, detail)
        for step, (state, detail) in zip(
            stack.steps, overlay_states(stack, found.digests), strict=True
        )
    )
    return StatusReport(
        lock.url,
        lock.ref,
        lock.commit,
        str(project.checkout),
        head,
        rows,
        found.paths,
        tuple(_lock_warnings(project, lock, hashes, syncing) + warnings),
    )


def _lock_warnings(
    project: Project, lock: Lock, hashes: Mapping[str, str], syncing: bool
) -> list[str]:
    """Where the series and its files disagree with the lock; a sync under way changes both."""
    return [] if syncing else [d.text() for d in project.lock_disagreements(lock, hashes)]
