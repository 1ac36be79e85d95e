"""Rules for paths that come from config files and patches: no control characters, no `.git`."""

from __future__ import annotations

import posixpath
import re
from pathlib import PurePath, PurePosixPath

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def control_character(value: str) -> str | None:
    """The first control character in VALUE, spelled visibly (`\\n`), or None."""
    found = _CONTROL.search(value)
    return repr(found.group())[1:-1] if found else None


def is_git_dir_name(part: str) -> bool:
    """`.git` as a case-insensitive file system (macOS, Windows) or NTFS sees it.

    git's own verify_path refuses the same: `.GIT`, `.git.` and `.git ` (NTFS drops trailing
    dots and spaces) and `git~1` (the 8.3 short name).
    """
    folded = part.rstrip(" .").lower()
    return folded == ".git" or part.lower() == "git~1"


def has_git_component(path: str) -> bool:
    return any(is_git_dir_name(part) for part in PurePosixPath(path).parts)


def relative_problem(path: str) -> str | None:
    """Why PATH, from a config file, is not a plain relative path inside its repository."""
    char = control_character(path)
    if char:
        return f"holds a control character ({char})"
    if path.startswith("/") or ".." in PurePosixPath(path).parts:
        return "must be relative and stay inside its repository"
    if has_git_component(path):
        return "names a .git folder"
    return None


def checkout_problem(root: PurePath, checkout: PurePath, git_dir: PurePath) -> str | None:
    """Why CHECKOUT (resolved) cannot hold the upstream for the app repo at ROOT (resolved)."""
    if checkout == root:
        return "is the app repo itself"
    if checkout == git_dir or git_dir in checkout.parents:
        return "is inside the app repo's .git folder"
    if checkout in root.parents:
        return "holds the app repo"
    return None


def symlink_target_problem(link: str, target: str) -> str | None:
    """Why a symbolic link at LINK (relative to the checkout) pointing at TARGET is refused.

    Read lexically: the folders on the way are checked on disk when the link is written.
    """
    if not target:
        return "has an empty target"
    if target.startswith("/"):
        return f"points at the absolute path {target}"
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
    if joined == ".." or joined.startswith("../"):
        return f"points outside the checkout ({target})"
    if has_git_component(joined) or joined == ".":
        return f"points into the checkout's .git folder or at the checkout itself ({target})"
    return None
