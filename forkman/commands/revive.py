"""`forkman overlay revive NAME`: bring an overlay left out by `sync --skip` back into the checkout."""

from __future__ import annotations

import re
from dataclasses import dataclass

from forkman.core import overlay as ov
from forkman.core.overlay import HunkMismatch
from forkman.core.stack import apply_overlay
from forkman.core.values import FileState
from forkman.errors import DirtyCheckout, ForkmanError, OverlayDoesNotApply
from forkman.git.merge import merge_file
from forkman.store.checkout import open_repo, stack_at_pin
from forkman.store.exclusive import exclusive
from forkman.store.links import link_targets
from forkman.store.project import Project
from forkman.store.series import check_overlay_name
from forkman.store.worktree import drift, read_worktree, write_worktree


@dataclass(frozen=True)
class Revived:
    name: str
    files: tuple[str, ...]
    conflicted: tuple[str, ...]


@exclusive
def revive(project: Project, name: str) -> Revived:
    """3-way merge the skipped overlay, from the release it was written against, into the checkout.

    The result is left as edits (with conflict markers where it conflicts) for the person to
    finish and `forkman overlay capture NAME`, which takes the old header back.
    """
    project.ensure_no_sync()
    check_overlay_name(name)  # a slug: `../../x` would read a patch from anywhere
    folder = project.overlays_dir / "skipped"
    path = folder / f"{name}.patch"
    if not path.exists():
        known = sorted(p.stem for p in folder.glob("*.patch")) if folder.exists() else []
        raise ForkmanError(
            f"no skipped overlay named '{name}'",
            hint=f"overlays/skipped/ holds: {', '.join(known) or 'nothing'}",
        )
    if name in project.series():
        raise ForkmanError(f"overlay '{name}' is already in the series", hint="nothing to revive")
    overlay = ov.parse(name, path.read_text(encoding="utf-8", errors="surrogateescape"))
    found = re.search(r"against (\S+) \(([0-9a-f]{40,64})\)", overlay.field("Skipped") or "")
    if not found:
        raise ForkmanError(
            "its Skipped: header does not name the commit it was written against",
            where=str(path.relative_to(project.root)),
            hint="make the change again by hand and `forkman overlay capture NAME`",
        )
    old_ref, old_commit = found.groups()
    with open_repo(project) as repo:
        stack = stack_at_pin(repo, project)
        dirty = [
            p for p in drift(repo, stack, ignore=link_targets(project)).paths if p in overlay.files
        ]
        if dirty:
            raise DirtyCheckout(str(project.checkout), dirty, f"reviving '{name}'")
        base = repo.read_tree_files(old_commit, overlay.files)
        try:
            after = apply_overlay(base, overlay)
        except HunkMismatch as exc:
            raise OverlayDoesNotApply(
                name,
                exc.path,
                f"{exc} at {old_ref}",
                hint="make the change again by hand and `forkman overlay capture NAME`",
            ) from None
        now = read_worktree(project.checkout, overlay.files)
        result: dict[str, FileState | None] = {}
        conflicted = []
        labels = (project.lock().ref, old_ref, f"overlay {name}")
        for file in overlay.files:
            before, ours, theirs = base.get(file), now.get(file), after.get(file)
            if ours == before:
                result[file] = theirs
            elif ours is None or theirs is None:  # gone upstream, or deleted by the overlay
                conflicted.append(file)
            else:
                merged = merge_file(before.data if before else b"", ours.data, theirs.data, labels)
                result[file] = FileState(merged.data, theirs.mode)
                if merged.conflicts:
                    conflicted.append(file)
        write_worktree(project.checkout, result)
    return Revived(name, overlay.files, tuple(conflicted))
