"""`forkman link`: create the configured links (folders of the app repo) inside the checkout."""

from __future__ import annotations

from forkman.store.checkout import open_repo
from forkman.store.links import ensure_links
from forkman.store.project import Project


def link(project: Project, mode: str | None = None) -> list[str]:
    """Create each link of forkman.yaml in the checkout (as MODE, "copy" or "symlink", when
    given); the ones made, refreshed or corrected."""
    with open_repo(project) as repo:
        return ensure_links(project, repo, mode)
