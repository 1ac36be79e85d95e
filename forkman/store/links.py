"""Links: folders of the app repo linked into the checkout (forkman.yaml's `links:`), kept out of its git status."""

from __future__ import annotations

import os

from forkman.errors import ConfigError, ForkmanError
from forkman.git.repository import GitRepo
from forkman.store.config import Link
from forkman.store.project import Project


def link_targets(project: Project) -> list[str]:
    return [link.target for link in project.config.links]


def ensure_links(project: Project, repo: GitRepo) -> list[str]:
    """Create each configured link in the checkout; return the ones made or corrected."""
    made = []
    targets = []
    for link in project.config.links:
        made += [link.target] if _ensure_link(project, link) else []
        targets.append(link.target)
    if targets:
        _exclude(repo, targets)
    return made


def _ensure_link(project: Project, link: Link) -> bool:
    source = project.root / link.source
    if not source.exists():
        raise ConfigError(
            f"link source '{link.source}' does not exist",
            where=str(project.config_path),
            hint=f"create {link.source} or fix the `links` entry",
        )
    target = project.checkout / link.target
    wanted = os.path.relpath(source, target.parent)
    if target.is_symlink():
        if os.readlink(target) == wanted:
            return False
        target.unlink()
    elif target.exists():
        raise ForkmanError(
            f"cannot link {link.source}: {link.target} already exists in the checkout and is not a link",
            where=str(project.checkout),
            hint="move it away (is it upstream code?) or choose another link target",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(wanted, target)
    return True


def _exclude(repo: GitRepo, targets: list[str]) -> None:
    """Keep the links out of the checkout's `git status` via its info/exclude."""
    exclude = repo.git_path("info/exclude")
    text = exclude.read_text() if exclude.exists() else ""
    missing = [f"/{t}" for t in targets if f"/{t}" not in text.splitlines()]
    if missing:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        prefix = "" if not text or text.endswith("\n") else "\n"
        exclude.write_text(
            text
            + prefix
            + "# forkman links\n" * (not text.count("# forkman links"))
            + "\n".join(missing)
            + "\n"
        )
