"""The upstream checkout opened for a command: cloned when missing, the pinned commit at hand."""

from __future__ import annotations

from forkman.core.stack import Stack
from forkman.core.values import ProgressFn
from forkman.errors import BadRef, ForkmanError, NotACheckout
from forkman.git import remote
from forkman.git.repository import GitRepo
from forkman.store.lock import Lock
from forkman.store.project import Project
from forkman.store.worktree import load_stack


def open_checkout(
    project: Project, lock: Lock, progress: ProgressFn | None = None
) -> tuple[GitRepo, bool]:
    """The checkout, cloned first when missing; the pinned commit fetched when absent."""
    checkout = project.checkout
    cloned = False
    if needs_clone(project):
        cfg = project.config
        repo = remote.clone(
            cfg.url, checkout, filter_spec=cfg.filter, sparse=cfg.sparse, progress=progress
        )
        cloned = True
    else:
        repo = GitRepo(checkout)
    if not repo.has_commit(lock.commit):
        remote.fetch(repo, project.config.url, progress=progress)
        if not repo.has_commit(lock.commit):
            raise BadRef(
                f"the pinned commit {lock.commit[:12]} ({lock.ref}) is not upstream",
                where=str(project.lock_path),
                hint="check forkman.lock and the upstream URL",
            )
    if cloned:  # a fresh clone has no work tree yet: every caller expects the pin there
        repo.run("checkout", "-q", "--detach", lock.commit)
    return repo, cloned


def needs_clone(project: Project) -> bool:
    """Whether open_checkout would clone: the checkout is missing or empty."""
    checkout = project.checkout
    return not checkout.exists() or not any(checkout.iterdir())


def open_repo(project: Project) -> GitRepo:
    """The checkout as it is; NotACheckout when it is missing."""
    if not project.checkout.exists():
        raise NotACheckout(
            "the upstream checkout is missing",
            where=str(project.checkout),
            hint="run `forkman apply` to create it",
        )
    return GitRepo(project.checkout)


def stack_at_pin(repo: GitRepo, project: Project) -> Stack:
    """The overlay stack on the pinned commit, refusing a checkout that is not at it."""
    lock = project.lock()
    if repo.head() != lock.commit:
        raise ForkmanError(
            f"the checkout is not at the pinned commit {lock.commit[:12]} ({lock.ref})",
            where=str(project.checkout),
            hint="run `forkman apply` first",
        )
    return load_stack(repo, lock.commit, project.overlays())


def local_commits_text(count: int, subjects: list[str]) -> str:
    shown = "; ".join(subjects) + (
        f"; and {count - len(subjects)} more" if count > len(subjects) else ""
    )
    return f"{count} commit{'s' if count != 1 else ''} made in the checkout, on no branch or tag ({shown})"


def refuse_local_commits(repo: GitRepo, project: Project, action: str) -> None:
    """Refuse to move the checkout off commits that only its HEAD holds: they would be lost."""
    count, subjects = repo.local_commits()
    if count:
        raise ForkmanError(
            f"{action} refused: {local_commits_text(count, subjects)}",
            where=str(project.checkout),
            hint="keep them as overlays with `forkman import --commits "
            f"{project.lock().commit[:12]}..HEAD`, or on a branch with `git -C {project.checkout} "
            "branch NAME`, then run the command again",
        )
