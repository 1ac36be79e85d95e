"""`forkman init`: track an upstream: clone or adopt its checkout, pin a release, write the config."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from forkman.commands.arguments import check_argument
from forkman.core.pathrules import control_character
from forkman.core.releases import newest_release
from forkman.core.urls import has_secret, name_problem, redact_url, url_problem
from forkman.core.values import ProgressFn
from forkman.errors import DirtyCheckout, ForkmanError
from forkman.git import remote, runner
from forkman.git.repository import GitRepo
from forkman.store.config import CONFIG_FILE, Config, render_config
from forkman.store.files import atomic_write
from forkman.store.lock import LOCK_FILE, Lock, render_lock
from forkman.store.project import Project, check_checkout_place


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
    _check_arguments(url, ref, release_pattern, pr_branch, sparse)
    if (root / CONFIG_FILE).exists():
        raise ForkmanError(
            f"{CONFIG_FILE} already exists",
            where=str(root),
            hint="this repo already tracks an upstream; edit forkman.yaml instead",
        )
    path = path or default_checkout_path(redact_url(url))
    check_argument("--path", path, _no_control)
    checkout = (root / path).resolve()
    check_checkout_place(root, checkout, f"--path {path!r}")
    warnings: list[str] = []
    cloned = False
    if checkout.exists() and any(checkout.iterdir()):
        repo = GitRepo(checkout)
        urls = repo.remote_urls()
        if not any(remote.same_url(u, url) for u in urls.values()):
            listing = ", ".join(f"{n}={redact_url(u)}" for n, u in urls.items()) or "no remotes"
            warnings.append(
                f"the checkout's remotes ({listing}) differ from --upstream {redact_url(url)}; "
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
    if has_secret(url):
        warnings.append(
            "the URL's credentials stay in the checkout's own git config (remote origin); "
            "forkman.yaml and forkman.lock get the URL without them"
        )
    config = Config(
        url=redact_url(url),
        path=os.path.relpath(checkout, root),
        release_pattern=release_pattern,
        pr_branch=pr_branch,
        sparse=sparse,
        filter=filter_spec,
    )
    atomic_write(root / CONFIG_FILE, render_config(config))
    atomic_write(root / LOCK_FILE, render_lock(Lock(redact_url(url), ref, commit, {})))
    project = Project(root, config)
    if not project.series_path.exists():
        project.write_series([])
    _ignore_checkout(root, checkout)
    repo.close()
    return InitResult(root, checkout, ref, commit, cloned, tuple(warnings))


def _check_arguments(
    url: str,
    ref: str | None,
    release_pattern: str,
    pr_branch: str | None,
    sparse: tuple[str, ...],
) -> None:
    """What init passes to git: no option in disguise, no program behind a URL."""
    check_argument("--upstream", url, url_problem)
    check_argument("--ref", ref, name_problem)
    check_argument("--release-pattern", release_pattern, name_problem)
    check_argument("--pr-branch", pr_branch, name_problem)
    for folder in sparse:
        check_argument("--sparse", folder, name_problem)


def _no_control(value: str) -> str | None:
    char = control_character(value)
    return f"holds a control character ({char})" if char else None


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
