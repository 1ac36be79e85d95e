"""Keep every write and delete inside a work tree: never through a symbolic link, never into .git."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from forkman.core.pathrules import has_git_component, is_git_dir_name, symlink_target_problem


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
    return Confined(root).problem(rel, link_target)


class Confined:
    """write_problem for many paths under one ROOT, each folder on the way looked at once.

    A folder's answer is kept for the paths beneath it, so the caller must say (`forget`) when
    it has made a symbolic link under ROOT; folders it makes and files it writes or deletes
    cannot put a link on any path's way.
    """

    def __init__(self, root: Path):
        self.root = root
        self._top = str(root)
        self._kinds: dict[str, str] = {}  # folder under ROOT -> "link", "folder" or "missing"

    def forget(self) -> None:
        self._kinds.clear()

    def problem(self, rel: str, link_target: str | None = None) -> str | None:
        parts = PurePosixPath(rel).parts
        if any(is_git_dir_name(part) for part in parts):  # has_git_component, parts at hand
            return f"{rel} is inside a .git folder"
        through = self._link_on_the_way(parts[:-1])
        if through is not None:
            return f"{through} is a symbolic link: writing {rel} would go through it"
        # With no link on the way, a plain REL's folder is ROOT's real path plus those very
        # names, so it resolves inside (and not into .git: checked above); only a REL that is
        # empty, absolute or climbs (`..`) can lead elsewhere, and is resolved as it stands.
        plain = bool(parts) and not rel.startswith("/") and ".." not in parts
        if not plain and not resolves_inside(self.root, (self.root / rel).parent):
            return f"{rel} resolves outside {self.root}"
        if link_target is not None:
            problem = symlink_target_problem(rel, link_target)
            if problem:
                return f"the symbolic link {rel} {problem}"
            if not resolves_inside(self.root, (self.root / rel).parent / link_target):
                return f"the symbolic link {rel} resolves outside the checkout ({link_target})"
        return None

    def _link_on_the_way(self, parts: tuple[str, ...]) -> str | None:
        """link_on_the_way's answer for the folder PARTS, from the folders' kinds seen so far."""
        kinds = self._kinds
        for number in range(1, len(parts) + 1):
            folder = "/".join(parts[:number])
            kind = kinds.get(folder)
            if kind is None:
                try:
                    mode = os.lstat(os.path.join(self._top, folder)).st_mode
                except FileNotFoundError:
                    kind = "missing"
                else:
                    kind = "link" if stat.S_ISLNK(mode) else "folder"
                kinds[folder] = kind
            if kind == "link":
                return folder
            if kind == "missing":
                return None  # nothing further along exists yet
        return None
