"""The checkout's work tree: its files read and written, and the drift from pin plus overlays.

forkman also records what it last wrote there (forkman-applied.json in the checkout's git
dir), so a teammate's new pin or a dropped overlay is not mistaken for a hand edit.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from forkman.core.stack import Digest, Stack, StackDigest, build_stack, digest_all, touched_paths
from forkman.core.values import FileState, State
from forkman.errors import ForkmanError
from forkman.git.repository import GitRepo
from forkman.store.confine import Confined
from forkman.store.files import TEMP_FILE, atomic_write, replace_whole
from forkman.store.statcache import worktree_digests

if TYPE_CHECKING:
    from forkman.core.overlay import Overlay

APPLIED_FILE = "forkman-applied.json"  # what forkman last wrote, in the checkout's git dir


def read_worktree(root: Path, paths: Iterable[str]) -> State:
    """The work tree's files (None where absent), as git would see them."""
    states: State = {}
    top = str(root)
    for path in paths:
        full = os.path.join(top, path)  # not pathlib: this runs for every file an overlay touches
        try:
            info = os.lstat(full)
        except FileNotFoundError:
            states[path] = None
            continue
        if stat.S_ISLNK(info.st_mode):
            states[path] = FileState(os.readlink(full).encode("utf-8", "surrogateescape"), "120000")
        elif stat.S_ISDIR(info.st_mode):
            states[path] = None
        else:
            mode = "100755" if info.st_mode & stat.S_IXUSR else "100644"
            with open(full, "rb") as handle:
                states[path] = FileState(handle.read(), mode)
    return states


def write_worktree(root: Path, states: Mapping[str, FileState | None]) -> list[str]:
    """Make the work tree hold STATES; return the paths that changed.

    Nothing is written or deleted through a symbolic link or into a .git folder, and a link
    written must point inside ROOT: all of STATES is checked before the first write. Only the
    files that differ from STATES are written, each whole (a kill leaves it old or new) but not
    synced to the disk: they are made again from the overlays and the pin, as git makes its own
    work tree without syncing it.
    """
    confined = Confined(root)
    refuse_unsafe_writes(root, states, confined)
    current = read_worktree(root, states)
    changed = []
    folders: set[Path] = set()  # made (or found) already in this run
    for path, state in sorted(states.items()):
        if current.get(path) == state:
            continue
        full = root / path
        # again: a link written earlier here may now be on the way (`Lib` and `lib/x` on a
        # file system that folds case); until one is, the answers checked above still hold
        problem = confined.problem(path)
        if problem is not None:
            raise _unsafe(root, problem)
        if state is None:
            full.unlink()
        else:
            if full.parent not in folders:
                full.parent.mkdir(parents=True, exist_ok=True)
                folders.add(full.parent)
            was = current.get(path)
            if full.is_symlink() or (was is not None and was.mode != state.mode):
                full.unlink()
            if state.mode == "120000":
                os.symlink(state.data.decode("utf-8", "surrogateescape"), full)
                confined.forget()
            else:
                replace_whole(
                    full, state.data, 0o755 if state.mode == "100755" else 0o644, durable=False
                )
        changed.append(path)
    return changed


def _unsafe(root: Path, problem: str) -> ForkmanError:
    return ForkmanError(
        f"refused to write in the checkout: {problem}",
        where=str(root),
        hint="forkman never writes through a symbolic link nor into .git; "
        "fix the overlay or the link that leads there",
    )


def refuse_unsafe_writes(
    root: Path, states: Mapping[str, FileState | None], confined: Confined | None = None
) -> None:
    """ForkmanError when writing STATES under ROOT would leave it, before anything is written."""
    confined = confined or Confined(root)
    links = {p for p, s in states.items() if s is not None and s.mode == "120000"}
    for path, state in sorted(states.items()):
        parents = PurePosixPath(path).parents if links else ()
        made = next((str(p) for p in parents if str(p) in links), None)
        if made is not None:
            raise _unsafe(
                root, f"{made} becomes a symbolic link: writing {path} would go through it"
            )
        target = (
            state.data.decode("utf-8", "surrogateescape")
            if state is not None and state.mode == "120000"
            else None
        )
        problem = confined.problem(path, target)
        if problem is not None:
            raise _unsafe(root, problem)


def load_stack(repo: GitRepo, commit: str, overlays: Iterable[Overlay]) -> Stack:
    overlays = tuple(overlays)
    return build_stack(repo.read_tree_files(commit, touched_paths(overlays)), overlays)


@dataclass(frozen=True)
class Drift:
    """How the checkout differs from the pin plus overlays."""

    unexplained: tuple[str, ...]  # edited paths that no overlay touches
    beyond: tuple[str, ...]  # overlay paths whose content differs from what the overlays make
    digests: dict[str, Digest | None]  # the overlay paths as they are on disk, as digests

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(sorted({*self.unexplained, *self.beyond}))


def drift(
    repo: GitRepo,
    stack: Stack | StackDigest,
    ignore: Iterable[str] = (),
    changed_paths: list[str] | None = None,
    stat_cache: bool = False,
) -> Drift:
    """Edits in the checkout that neither the overlays nor forkman's last write explain.

    STACK may be the stack itself or its digests (from the stack record): the work tree is read
    the same either way. CHANGED_PATHS is `repo.changed_paths()` when the caller already ran it.
    STAT_CACHE: files whose stat data vouches for them are not read (forkman.store.statcache);
    only for a caller that writes nothing on the answer.
    """
    view = stack.digests if isinstance(stack, Stack) else stack
    skip = set(ignore)
    touched = set(view.final)
    listed = repo.changed_paths() if changed_paths is None else changed_paths
    changed = [
        p
        for p in listed
        if p not in skip
        and not any(p.startswith(s + "/") for s in skip)
        and not TEMP_FILE.match(p.rpartition("/")[2])  # forkman's own, swept by the next command
    ]
    wanted = touched | set(changed)
    if stat_cache:
        digests = worktree_digests(repo, wanted)
    else:
        digests = digest_all(read_worktree(repo.path, wanted))
    written = read_record(repo)
    unexplained = tuple(
        p for p in changed if p not in touched and written.get(p, "-") != digests[p]
    )
    at_head = set(touched) - set(listed)  # git status: as the checked-out commit has it
    beyond = tuple(
        sorted(
            p
            for p in touched
            if p not in at_head
            and digests[p] not in view.known(p)
            and written.get(p, "-") != digests[p]
        )
    )
    return Drift(unexplained, beyond, {p: digests[p] for p in touched})


# -- what forkman last wrote into the checkout, so a teammate's new pin or a dropped overlay
# -- is not mistaken for a hand edit
def read_record(repo: GitRepo) -> dict[str, str | None]:
    path = repo.git_path(APPLIED_FILE)
    try:
        return dict(json.loads(path.read_text()).get("files", {}))
    except (FileNotFoundError, ValueError, AttributeError):
        return {}


def write_record(repo: GitRepo, commit: str, states: Mapping[str, FileState | None]) -> None:
    write_record_digests(repo, commit, digest_all(states))


def write_record_digests(repo: GitRepo, commit: str, digests: Mapping[str, Digest | None]) -> None:
    files = dict(sorted(digests.items()))
    path = repo.git_path(APPLIED_FILE)
    text = json.dumps({"commit": commit, "files": files}, indent=1)
    try:
        if path.read_text() == text:
            return  # nothing to write: a no-op apply works on a read-only checkout
    except (OSError, UnicodeDecodeError):
        pass
    atomic_write(path, text)
