"""The work tree's files as last read: each one's stat data and digest, as git's index keeps them.

Used only where a missed edit costs nothing: `overlay status` and the check of an `apply` with
nothing to do (which then writes nothing); `overlay status` keeps the app repo's overlay files'
sha256 the same way. The guard and every command that writes read each file. A file whose size, mtime, ctime, inode and mode are those recorded is not read again,
with git's answer to racy timestamps: an entry counts only when the file's mtime and ctime were
older than the moment it was read by more than MARGIN_NS, so a write in the same timestamp
tick as that read is never hidden; any later write moves the ctime, which no program can set
back (utime sets it to now). This assumes the file system's clock is the machine's, within the
margin. The cache lives in the checkout's git dir (forkman-stat.json), the overlays' in the app
repo's (forkman/overlay-stat.json); each carries a checksum and is ignored when damaged.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forkman.core.stack import Digest, digest
from forkman.core.values import FileState, file_hash
from forkman.git.repository import GitRepo
from forkman.store.confine import resolves_inside
from forkman.store.files import atomic_write

if TYPE_CHECKING:
    from forkman.store.project import Project

STAT_FILE = "forkman-stat.json"
OVERLAY_STAT_FILE = "overlay-stat.json"  # in the app repo's state folder, inside its git dir
FORMAT = 1
_MAGIC = b"forkman-stat"
_OVERLAY_MAGIC = b"forkman-overlay-stat"
# Longer than any file system's timestamp tick (FAT's is 2 s; ext4's, the kernel's clock tick).
MARGIN_NS = 2_000_000_000

Entry = list[Any]  # [size, mtime_ns, ctime_ns, inode, mode, read at (ns), digest]


def worktree_digests(repo: GitRepo, paths: Iterable[str]) -> dict[str, Digest | None]:
    """Each of PATHS' digest in the work tree (None where absent), as read_worktree reads them:
    read only when the cache cannot vouch for it; the cache written again when it changed."""
    path = repo.git_path(STAT_FILE)
    cached = _load(path)
    now = time.time_ns()
    top = str(repo.path)
    found: dict[str, Digest | None] = {}
    kept: dict[str, Entry] = {}
    for rel in paths:
        full = os.path.join(top, rel)
        try:
            info = os.lstat(full)
        except FileNotFoundError:
            found[rel] = None
            continue
        if stat.S_ISLNK(info.st_mode):
            target = os.readlink(full).encode("utf-8", "surrogateescape")
            found[rel] = digest(FileState(target, "120000"))
            continue
        if stat.S_ISDIR(info.st_mode):
            found[rel] = None
            continue
        entry = _vouched(cached, rel, info)
        if entry is None:
            with open(full, "rb") as handle:
                data = handle.read()
            mode = "100755" if info.st_mode & stat.S_IXUSR else "100644"
            entry = [*_seen(info), now, digest(FileState(data, mode))]
        found[rel] = entry[6]
        kept[rel] = entry
    if kept != cached:
        _save(path, kept)
    return found


def overlay_hashes(project: Project) -> dict[str, str] | None:
    """Each series overlay's sha256 (the lock's hash of its file), in series order, each file
    read only when the cache cannot vouch for it. None when one is not a plain file of the app
    repo (missing, a link, a folder), or the overlays folder leads out of it: the caller reads
    them as Project.overlay_texts does, which says what is wrong in its own words."""
    names = project.series()
    folder = project.overlays_dir
    if not resolves_inside(project.root, folder):
        return None
    state = project.state_dir()
    # no git dir, no cache: the folder would appear among the user's own files
    path = None if state.parent == project.root / ".forkman" else state / OVERLAY_STAT_FILE
    cached = _load(path, _OVERLAY_MAGIC) if path is not None else {}
    now = time.time_ns()
    top = str(folder)
    found: dict[str, str] = {}
    kept: dict[str, Entry] = {}
    for name in names:
        full = os.path.join(top, f"{name}.patch")
        try:
            info = os.lstat(full)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        entry = _vouched(cached, name, info)
        if entry is None:
            with open(full, "rb") as handle:
                entry = [*_seen(info), now, file_hash(handle.read())]
        found[name] = entry[6]
        kept[name] = entry
    if path is not None and kept != cached:
        _save(path, kept, _OVERLAY_MAGIC)
    return found


def _seen(info: os.stat_result) -> list[int]:
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_mode]


def _vouched(cached: dict[str, Entry], key: str, info: os.stat_result) -> Entry | None:
    """KEY's entry when the file's stat data INFO is what it recorded, and settled."""
    entry = cached.get(key)
    if entry is not None and entry[:5] == _seen(info) and _settled(entry):
        return entry
    return None


def _settled(entry: Entry) -> bool:
    """Whether the file's timestamps were older than the read by more than a tick."""
    return bool(max(entry[1], entry[2]) < entry[5] - MARGIN_NS)


def _load(path: Path, magic: bytes = _MAGIC) -> dict[str, Entry]:
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    header, _, body = raw.partition(b"\n")
    if header != b"%s %d %s" % (magic, FORMAT, hashlib.sha256(body).hexdigest().encode()):
        return {}
    try:
        files = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(files, dict):
        return {}
    return {p: e for p, e in files.items() if isinstance(e, list) and len(e) == 7}


def _save(path: Path, files: dict[str, Entry], magic: bytes = _MAGIC) -> None:
    body = json.dumps(files, separators=(",", ":")).encode()
    raw = b"%s %d %s\n%s" % (magic, FORMAT, hashlib.sha256(body).hexdigest().encode(), body)
    with suppress(OSError):  # a read-only checkout: its files are read each time instead
        atomic_write(path, raw)
