"""Keep every write and delete inside a work tree: never through a symbolic link, never into .git."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from forkman.core.pathrules import has_git_component, symlink_target_problem


def link_on_the_way(root: Path, rel: str) -> str | None:
    """The first folder of REL (under ROOT) that is a symbolic link, or None.

    git never tracks a path beyond a symbolic link ("beyond a symbolic link", says git apply):
    a write there would land wherever the link points, outside the checkout as easily as not.
    """
    parts = PurePosixPath(rel).parts[:-1]
    here = root
    for number, part in enumerate(parts, 1):
        here = here / part
        try:
            mode = here.lstat().st_mode
        except FileNotFoundError:
            return None  # nothing further along exists yet
        if stat.S_ISLNK(mode):
            return "/".join(parts[:number])
    return None


def resolves_inside(root: Path, path: Path) -> bool:
    """PATH, with every symbolic link resolved, is ROOT or under it, and not in ROOT's .git."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    if real != real_root and real_root not in real.parents:
        return False
    return not has_git_component(real.relative_to(real_root).as_posix())


def write_problem(root: Path, rel: str, link_target: str | None = None) -> str | None:
    """Why forkman must not write (or delete) REL under ROOT; LINK_TARGET when it is a link."""
    if has_git_component(rel):
        return f"{rel} is inside a .git folder"
    through = link_on_the_way(root, rel)
    if through is not None:
        return f"{through} is a symbolic link: writing {rel} would go through it"
    if not resolves_inside(root, (root / rel).parent):
        return f"{rel} resolves outside {root}"
    if link_target is not None:
        problem = symlink_target_problem(rel, link_target)
        if problem:
            return f"the symbolic link {rel} {problem}"
        if not resolves_inside(root, (root / rel).parent / link_target):
            return f"the symbolic link {rel} resolves outside the checkout ({link_target})"
    return None
