"""`forkman init` and `forkman apply`: track an upstream, and bring its checkout to pin + overlays."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from forkman import gitrepo
from forkman.checkout import (
    drift,
    ensure_links,
    link_targets,
    load_stack,
    write_record,
    write_worktree,
)
from forkman.config import (
    CONFIG_FILE,
    LOCK_FILE,
    Config,
    Lock,
    atomic_write,
    render_config,
    render_lock,
)
from forkman.errors import BadRef, DirtyCheckout, ForkmanError, OverlayDoesNotApply
from forkman.gitrepo import GitRepo, ProgressFn
from forkman.project import Project, exclusive
from forkman.releases import newest_release


@dataclass(frozen=True)
class InitResult:
    root: Path
    checkout: Path
    ref: str
    commit: str
    cloned: bool
    warnings: tuple[str, ...] = ()


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


def default_checkout_path(url: str) -> str:
    name = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "upstream"
    return f"upstream/{name}"


def _same_url(a: str, b: str) -> bool:
    def norm(u: str) -> str:
        u = u.removeprefix("file://").rstrip("/").removesuffix(".git")
        return os.path.realpath(u) if os.path.exists(u) else u.lower()

    return norm(a) == norm(b)


def init(
    root: Path,
    *,
    url: str,
    ref: str | None = None,
    path: str | None = None,
    release_pattern: str = "v*",
    pr_branch: str = "main",
    sparse: tuple[str, ...] = (),
    filter_spec: str | None = None,
    progress: ProgressFn | None = None,
) -> InitResult:
    """Clone or adopt the upstream, check out REF, and write config, lock and series."""
    gitrepo.require_git()
    if (root / CONFIG_FILE).exists():
        raise ForkmanError(
            f"{CONFIG_FILE} already exists",
            where=str(root),
            hint="this repo already tracks an upstream; edit forkman.yaml instead",
        )
    path = path or default_checkout_path(url)
    checkout = (root / path).resolve()
    warnings: list[str] = []
    cloned = False
    if checkout.exists() and any(checkout.iterdir()):
        repo = GitRepo(checkout)
        urls = repo.remote_urls()
        if not any(_same_url(u, url) for u in urls.values()):
            listing = ", ".join(f"{n}={u}" for n, u in urls.items()) or "no remotes"
            warnings.append(
                f"the checkout's remotes ({listing}) differ from --upstream {url}; "
                "forkman fetches from the URL in forkman.yaml"
            )
    else:
        repo = gitrepo.clone(
            url, checkout, filter_spec=filter_spec, sparse=sparse, progress=progress
        )
        cloned = True
    try:
        ref = ref or newest_release(repo.tags(), release_pattern)
        commit = repo.resolve(ref)
        if cloned or repo.head() != commit:  # a --no-checkout clone at REF still has no files
            changed = repo.changed_paths()
            if changed and not cloned:
                raise DirtyCheckout(str(checkout), changed, "checking out the pinned release")
            repo.run("checkout", "-q", "--detach", commit)
    except ForkmanError:
        repo.close()
        if cloned:
            _remove_tree(checkout)
        raise
    config = Config(
        url=url,
        path=os.path.relpath(checkout, root),
        release_pattern=release_pattern,
        pr_branch=pr_branch,
        sparse=sparse,
        filter=filter_spec,
    )
    atomic_write(root / CONFIG_FILE, render_config(config))
    atomic_write(root / LOCK_FILE, render_lock(Lock(url, ref, commit, {})))
    project = Project(root, config)
    if not project.series_path.exists():
        project.write_series([])
    _ignore_checkout(root, checkout)
    repo.close()
    return InitResult(root, checkout, ref, commit, cloned, tuple(warnings))


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _ignore_checkout(root: Path, checkout: Path) -> None:
    """A checkout inside the app repo goes into .gitignore, so its files are never committed."""
    try:
        rel = checkout.relative_to(root.resolve())
    except ValueError:
        return
    gitignore = root / ".gitignore"
    text = gitignore.read_text() if gitignore.exists() else ""
    entry = f"/{rel.as_posix()}/"
    if entry not in text.splitlines():
        atomic_write(
            gitignore, text + ("" if not text or text.endswith("\n") else "\n") + entry + "\n"
        )


def open_checkout(
    project: Project, lock: Lock, progress: ProgressFn | None = None
) -> tuple[GitRepo, bool]:
    """The checkout, cloned first when missing; the pinned commit fetched when absent."""
    checkout = project.checkout
    cloned = False
    if not checkout.exists() or not any(checkout.iterdir()):
        cfg = project.config
        repo = gitrepo.clone(
            cfg.url, checkout, filter_spec=cfg.filter, sparse=cfg.sparse, progress=progress
        )
        cloned = True
    else:
        repo = GitRepo(checkout)
    if not repo.has_commit(lock.commit):
        repo.fetch(project.config.url, progress=progress)
        if not repo.has_commit(lock.commit):
            raise BadRef(
                f"the pinned commit {lock.commit[:12]} ({lock.ref}) is not upstream",
                where=str(project.lock_path),
                hint="check forkman.lock and the upstream URL",
            )
    if cloned:  # a fresh clone has no work tree yet: every caller expects the pin there
        repo.run("checkout", "-q", "--detach", lock.commit)
    return repo, cloned


def fetch_upstream(repo: GitRepo, url: str, progress: ProgressFn | None = None) -> None:
    """Fetch upstream's tags and branches (as refs/remotes/forkman-upstream/*).

    A remote whose URL is the upstream's is fetched by name, so a partial clone keeps its filter.
    """
    source = next((name for name, u in repo.remote_urls().items() if _same_url(u, url)), url)
    repo.fetch(source, ["+refs/heads/*:refs/remotes/forkman-upstream/*"], progress)


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
    )
