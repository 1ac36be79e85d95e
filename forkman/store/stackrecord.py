"""The stack record: the overlay stack on the pin, as digests, kept in the checkout's git dir.

`overlay status`, `guard` and an `apply` with nothing to do ask only which overlay a file's
content belongs to. When the pin and every overlay file are those the record was built from,
the record answers that: no patch is parsed, no pinned blob read and no patch applied. The
work tree's files are still read every time, so an edit is never missed because of it.

The record is trusted only when its key matches: the record format, forkman's code (the
version and the sizes and mtimes of the modules that build it, so an edited install is not
fooled), the pinned commit and the series with the sha256 of each overlay file's content
(content, not mtimes: an overlay rewritten in place within one mtime tick, with the same size,
is still seen). A record that does not match, does not parse or fails its checksum is ignored
and written again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import Any

import forkman.core
from forkman import __version__
from forkman.core.stack import StackDigest, StepDigest
from forkman.core.values import file_hash
from forkman.git.repository import GitRepo
from forkman.store.files import atomic_write
from forkman.store.project import Project
from forkman.store.statcache import STAT_FILE
from forkman.store.worktree import APPLIED_FILE, load_stack

RECORD_FILE = "forkman-stack.json"
FORMAT = 1
_MAGIC = b"forkman-stack"

# The series as the record is keyed by it: (name, sha256 of the overlay file), in order.
SeriesKey = Sequence[tuple[str, str]]


@cache
def code_fingerprint() -> str:
    """forkman's version and its modules' sizes and mtimes: parsing and applying live in core/,
    reading the pinned blobs in git/, building the stack from them in store/."""
    package = Path(forkman.core.__file__).parent.parent
    entries = []
    for folder in ("", "core", "git", "store"):
        for entry in os.scandir(package / folder):
            if entry.name.endswith(".py"):
                info = entry.stat()
                entries.append((folder, entry.name, info.st_size, info.st_mtime_ns))
    return hashlib.sha256(repr((__version__, sorted(entries))).encode()).hexdigest()


def record_key(commit: str, series: SeriesKey) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "code": code_fingerprint(),
        "commit": commit,
        "overlays": [[name, sha] for name, sha in series],
    }


def record_path(repo: GitRepo) -> Path:
    # the other files of the git dir forkman reads beside it are asked for in the same git
    # process: every reader of the record reads forkman-applied.json, and status the stat cache
    return repo.git_paths(RECORD_FILE, APPLIED_FILE, STAT_FILE)[0]


def encode(commit: str, series: SeriesKey, view: StackDigest) -> bytes:
    body = json.dumps(
        {
            "key": record_key(commit, series),
            "base": dict(view.base),
            "steps": [
                [
                    s.name,
                    s.subject,
                    list(s.files),
                    s.added,
                    s.removed,
                    dict(s.after),
                    s.error,
                    s.error_path,
                ]
                for s in view.steps
            ],
        },
        separators=(",", ":"),
    ).encode()
    return b"%s %d %s\n%s" % (_MAGIC, FORMAT, hashlib.sha256(body).hexdigest().encode(), body)


def decode(raw: bytes, commit: str, series: SeriesKey) -> StackDigest | None:
    """The stack RAW records, when it is whole and keyed by COMMIT and SERIES; else None."""
    header, _, body = raw.partition(b"\n")
    if header != b"%s %d %s" % (_MAGIC, FORMAT, hashlib.sha256(body).hexdigest().encode()):
        return None  # another format, cut short or changed: the checksum covers the whole body
    try:
        data = json.loads(body)
        if data["key"] != record_key(commit, series):
            return None
        # the checksum and the code in the key say this forkman wrote it: its shape is encode's
        base = dict(data["base"])
        steps = tuple(
            StepDigest(name, subject, tuple(files), added, removed, dict(after), error, where)
            for name, subject, files, added, removed, after, error, where in data["steps"]
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if [s.name for s in steps] != [name for name, _ in series]:
        return None
    final = dict(base)
    for step in steps:
        if step.applies:
            final.update(step.after)
    if final.keys() != base.keys():
        return None
    return StackDigest(base, steps, final)


def read_stack_record(repo: GitRepo, commit: str, series: SeriesKey) -> StackDigest | None:
    """The recorded stack on COMMIT with SERIES, or None when there is none that can be trusted."""
    try:
        raw = record_path(repo).read_bytes()
    except OSError:
        return None
    return decode(raw, commit, series)


def write_stack_record(repo: GitRepo, commit: str, series: SeriesKey, view: StackDigest) -> None:
    """Record VIEW for the next command; a checkout that cannot be written keeps no record."""
    raw = encode(commit, series, view)
    path = record_path(repo)
    try:
        if path.read_bytes() == raw:
            return
    except OSError:
        pass
    with suppress(OSError):  # a read-only checkout: each command builds the stack from patches
        atomic_write(path, raw)


def series_hashes(texts: Mapping[str, str]) -> dict[str, str]:
    """Each overlay's sha256 (the lock's own hash), from the files' TEXTS, in series order."""
    return {
        name: file_hash(text.encode("utf-8", "surrogateescape")) for name, text in texts.items()
    }


def stack_view(
    repo: GitRepo,
    project: Project,
    commit: str,
    hashes: Mapping[str, str],
    texts: Mapping[str, str] | None = None,
) -> tuple[StackDigest, dict[str, str]]:
    """The stack of the series' overlay files on COMMIT, as digests, and each file's sha256.

    HASHES: the series in order with each file's sha256, from TEXTS (the files' text) when
    given, else from the stat cache (forkman.store.statcache.overlay_hashes). The record
    answers when it matches them; else the files are read (when TEXTS is None), parsed and
    applied on the pinned blobs, and their own hashes (which replace HASHES) key the new record.
    """
    view = read_stack_record(repo, commit, list(hashes.items()))
    if view is not None:
        return view, dict(hashes)
    if texts is None:
        texts = project.overlay_texts()
    hashes = series_hashes(texts)
    overlays = [project.parse_overlay(name, text) for name, text in texts.items()]
    view = load_stack(repo, commit, overlays).digests
    write_stack_record(repo, commit, list(hashes.items()), view)
    return view, dict(hashes)
