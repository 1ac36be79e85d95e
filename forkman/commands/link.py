"""`forkman link`: create the configured links (folders of the app repo) inside the checkout."""

from __future__ import annotations

from forkman.store.checkout import open_repo
from forkman.store.links import ensure_links
from forkman.store.project import Project


def link(project: Project) -> list[str]:
    """Create each link of forkman.yaml in the checkout; the ones made or corrected."""
    with open_repo(project) as repo:
        return ensure_links(project, repo)
