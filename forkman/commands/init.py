"""`forkman init`: track an upstream: clone or adopt its checkout, pin a release, write the config."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from forkman.core.releases import newest_release
from forkman.core.values import ProgressFn
from forkman.errors import DirtyCheckout, ForkmanError
from forkman.git import remote, runner
from forkman.git.repository import GitRepo
from forkman.store.config import CONFIG_FILE, Config, render_config
from forkman.store.files import atomic_write
from forkman.store.lock import LOCK_FILE, Lock, render_lock
from forkman.store.project import Project


@dataclass(frozen=True)
class InitResult:
    root: Path
    checkout: Path
    ref: str
    commit: str
    cloned: bool
    warnings: tuple[str, ...] = ()


def default_checkout_path(url: str) -> str:
    name = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "upstream"
    return f"upstream/{name}"


def init(
    root: Path,
    *,
    url: str,
    ref: str | None = None,
    path: str | None = None,
    release_pattern: str = "v*",
    pr_branch: str | None = None,
    sparse: tuple[str, ...] = (),
    filter_spec: str | None = None,
    progress: ProgressFn | None = None,
) -> InitResult:
    """Clone or adopt the upstream, check out REF, and write config, lock and series."""
    runner.require_git()
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
        if not any(remote.same_url(u, url) for u in urls.values()):
            listing = ", ".join(f"{n}={u}" for n, u in urls.items()) or "no remotes"
            warnings.append(
                f"the checkout's remotes ({listing}) differ from --upstream {url}; "
                "forkman fetches from the URL in forkman.yaml"
            )
    else:
        repo = remote.clone(
            url, checkout, filter_spec=filter_spec, sparse=sparse, progress=progress
        )
        cloned = True
    try:
        if pr_branch is None:
            pr_branch = remote.default_branch(repo, url)
        if pr_branch is None:
            pr_branch = "main"
            warnings.append(
                "cannot tell the upstream's default branch (its HEAD); wrote pr_branch: main "
                "(edit upstream.pr_branch in forkman.yaml, or give --pr-branch)"
            )
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
