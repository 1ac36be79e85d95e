"""A sync's plan cache: answers of its pure work (merges, diffs, moves followed, compiles,
culprits) kept by a digest of their inputs, in memory and in the sync's own folder.

`--continue` and `--skip` plan the whole series again, as a fresh sync would; with the cache
they redo none of the work the runs before them did for the same inputs, so what they give is
what a fresh plan gives. The folder goes away with the sync (`--abort`, or its end).

On disk: one pack per run under `sync/cache/`, written whole or not at all, holding the
answers that run worked out. Nothing in a pack is trusted: a pack whose checksum, version or
fingerprint (forkman's own source, Python's and git's versions) is not this run's is left
unread, and an answer that does not decode into what its kind of work returns is worked out
again.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import secrets
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from forkman.core.carry import Carried
from forkman.core.culprit import Culprit
from forkman.core.explain import Place
from forkman.core.memo import Memo, digest
from forkman.core.moves import Move
from forkman.core.values import DiffFn, FileState, MergeFn, MergeResult
from forkman.git import runner
from forkman.git.culprit import Found
from forkman.store.compilecache import KeptAnswers, sealed, source_digest, unsealed
from forkman.store.files import atomic_write

CACHE_VERSION = 1
FOLDER = "cache"
_SUFFIX = ".pack"
_TYPES: dict[str, type] = {
    t.__qualname__: t for t in (MergeResult, Carried, Move, Place, Culprit, Found)
}  # the only values a pack may hold, besides plain data

# find_culprits' shape: (repo, pin, target, asks, base, upstream_url) -> {overlay: found}
CulpritFn = Callable[..., dict[str, Found]]


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """What every answer depends on besides its inputs: forkman's code, Python, git."""
    h = hashlib.sha256(b"forkman plan cache %d\n" % CACHE_VERSION)
    h.update(sys.version.encode())
    h.update(repr(runner.git_version()).encode())
    h.update(source_digest())
    return h.hexdigest()


def encode(value: object) -> Any:
    """VALUE as JSON data that decode() turns back into an equal value."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, bytes):
        return {"b": base64.b64encode(value).decode()}
    if isinstance(value, tuple):
        return {"t": [encode(v) for v in value]}
    if isinstance(value, list):
        return {"l": [encode(v) for v in value]}
    if isinstance(value, Mapping):
        return {"m": [[encode(k), encode(v)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and _TYPES.get(type(value).__qualname__) is type(value):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"d": type(value).__qualname__, "f": fields}
    raise TypeError(f"the plan cache does not keep {type(value).__name__}")


def decode(data: Any) -> object:
    """The value encode() made DATA from; ValueError for anything else."""
    if data is None or isinstance(data, (bool, int, str)):
        return data
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise ValueError("not a cached value")
    if "b" in data:
        return base64.b64decode(data["b"], validate=True)
    if "t" in data:
        return tuple(decode(v) for v in data["t"])
    if "l" in data:
        return [decode(v) for v in data["l"]]
    if "m" in data:
        return {decode(k): decode(v) for k, v in data["m"]}
    kind = _TYPES.get(data.get("d"))  # type: ignore[arg-type]
    if kind is None or not isinstance(data.get("f"), dict):
        raise ValueError("not a cached value")
    return kind(**{name: decode(v) for name, v in data["f"].items()})


class PlanCache:
    """The answers known to this run: the packs found in FOLDER, and those worked out since."""

    def __init__(self, folder: Path | None = None) -> None:
        self._known: dict[str, object] = {}
        self._packed: dict[str, Any] = {}  # read from packs, decoded when first asked for
        self._fresh: dict[str, object] = {}  # worked out in this run, for the next pack
        self._trees: dict[str, dict[str, FileState | None]] = {}  # a release's files, by key
        self._fresh_trees: dict[str, tuple[str, dict[str, FileState | None]]] = {}
        self._folder = folder
        self.hits = self.misses = 0
        if folder is not None:
            self._read(folder)

    def _read(self, folder: Path) -> None:
        try:
            packs = sorted(folder.glob(f"*{_SUFFIX}"))
        except OSError:
            return
        for pack in packs:
            try:
                body = unsealed(pack.read_bytes())
                if body is None:
                    continue  # cut short or damaged
                data = json.loads(body)
                if data.get("version") != CACHE_VERSION or data.get("fingerprint") != fingerprint():
                    continue
                entries = data["entries"]
                if isinstance(entries, dict):
                    self._packed.update(entries)
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue

    def recall(self, key: str) -> tuple[bool, object]:
        if key in self._known:
            self.hits += 1
            return True, self._known[key]
        if key in self._packed:
            try:
                value = decode(self._packed.pop(key))
            except (ValueError, TypeError, KeyError, binascii.Error, RecursionError):
                value = _MISSING
            if value is not _MISSING:
                self._known[key] = value
                self.hits += 1
                return True, value
        self.misses += 1
        return False, None

    def keep(self, key: str, value: object) -> None:
        self._known[key] = value
        self._fresh[key] = value

    def tree_files(
        self, read: TreeFn, commit: str, paths: Iterable[str]
    ) -> dict[str, FileState | None]:
        """READ(COMMIT, PATHS): a release's files (None where absent), as an earlier run of the
        sync kept them when it read the same paths of the same commit (a commit never changes;
        a file kept of it that is not whole is read again from git)."""
        wanted = sorted(set(paths))
        key = digest("tree files", commit, wanted)
        found = self._trees.get(key)
        if found is None and self._folder is not None:
            found = _read_tree(self._folder / f"{key}{_TREE}", commit, wanted)
        if found is None:
            found = dict(read(commit, wanted))
            self._fresh_trees[key] = (commit, found)
        self._trees[key] = found
        return dict(found)

    def save(self, folder: Path) -> None:
        """This run's new answers as one more pack in FOLDER, when FOLDER's parent (the sync's
        folder) is there: never the reason a sync fails, and never a sync folder made anew."""
        for key, (commit, files) in list(self._fresh_trees.items()):
            try:
                folder.mkdir(exist_ok=True)  # not parents: a finished sync's folder stays gone
                # not synced: a file cut short by a power cut fails its checksum, and is read again
                atomic_write(folder / f"{key}{_TREE}", _tree_bytes(commit, files), durable=False)
            except (OSError, TypeError, ValueError):
                return
            del self._fresh_trees[key]
        if not self._fresh:
            return
        try:
            entries = {k: encode(v) for k, v in self._fresh.items()}
            body = json.dumps(
                {"version": CACHE_VERSION, "fingerprint": fingerprint(), "entries": entries},
                separators=(",", ":"),
            ).encode()
            folder.mkdir(exist_ok=True)  # not parents: a finished sync's folder stays gone
            # not synced to the disk: a pack a power cut leaves short fails its checksum and is
            # worked out again, as a pack cut short by a kill
            atomic_write(folder / f"{secrets.token_hex(8)}{_SUFFIX}", sealed(body), durable=False)
        except (OSError, TypeError, ValueError):
            return
        self._fresh.clear()

    def merge(self, merge: MergeFn) -> MergeFn:
        """MERGE, asked only for the jobs this cache has no answer for."""
        return lambda jobs: self._batch(
            [digest("merge", job) for job in jobs], jobs, merge, MergeResult
        )

    def diff(self, diff: DiffFn) -> DiffFn:
        """DIFF, asked only for the pairs this cache has no answer for."""
        return lambda pairs: self._batch(
            [digest("diff", before, after) for before, after in pairs], pairs, diff, str
        )

    def _batch(
        self,
        keys: Sequence[str],
        asks: Sequence[Any],
        work: Callable[[list[Any]], Sequence[Any]],
        kind: type,
    ) -> list[Any]:
        """WORK's answers for ASKS (one call, for those whose KEYS hold no answer of KIND)."""
        found = [self.recall(k) for k in keys]
        todo = [i for i, (ok, v) in enumerate(found) if not (ok and isinstance(v, kind))]
        done = work([asks[i] for i in todo]) if todo else []
        results: list[Any] = [v for _, v in found]
        for i, answer in zip(todo, done, strict=True):
            self.keep(keys[i], answer)
            results[i] = answer
        return results

    def culprits(self, find: CulpritFn, kept: Memo | None = None) -> CulpritFn:
        """FIND (the culprit search), asked only about the overlays this cache (or KEPT, the
        answers kept across runs) cannot answer for: each overlay's search is its own (its
        question, the pin, the target)."""

        def named(
            repo: Any, pin: str, target: str, asks: Sequence[Any], base: Any, upstream_url: str
        ) -> dict[str, Found]:
            out: dict[str, Found] = {}
            todo = []
            for ask in asks:
                q = ask.question
                at_pin = [(p, base.get(p)) for p in sorted({*q.after, *q.near})]
                key = digest("culprit", pin, target, upstream_url, at_pin, q)
                ok, value = self.recall(key)
                if not (ok and (value is None or isinstance(value, Found))) and kept is not None:
                    ok, value = kept.recall(key)
                    if ok and (value is None or isinstance(value, Found)):
                        self.keep(key, value)  # for this sync's next runs too
                if ok and (value is None or isinstance(value, Found)):
                    if value is not None:
                        out[ask.name] = value
                else:
                    todo.append((ask, key))
            if todo:
                found = find(repo, pin, target, [a for a, _ in todo], base, upstream_url)
                for ask, key in todo:
                    self.keep(key, found.get(ask.name))
                    if kept is not None:
                        kept.keep(key, found.get(ask.name))
                    if ask.name in found:
                        out[ask.name] = found[ask.name]
            return {a.name: out[a.name] for a in asks if a.name in out}

        return named


_MISSING = object()

# read_tree_files' shape: (commit, paths) -> {path: its state at commit, None where absent}
TreeFn = Callable[[str, list[str]], Mapping[str, "FileState | None"]]
_TREE = ".tree"
TREE_VERSION = 1


def _tree_bytes(commit: str, files: Mapping[str, FileState | None]) -> bytes:
    """FILES of COMMIT as one file: a JSON line naming each path (mode and size, or absent), the
    contents one after the other, and the SHA-256 of all that."""
    listed = [[p, None] if s is None else [p, s.mode, len(s.data)] for p, s in files.items()]
    head = json.dumps({"version": TREE_VERSION, "commit": commit, "files": listed})
    body = b"".join([head.encode(), b"\n", *(s.data for s in files.values() if s is not None)])
    return sealed(body)


def _read_tree(path: Path, commit: str, wanted: list[str]) -> dict[str, FileState | None] | None:
    """What _tree_bytes kept in PATH of COMMIT's WANTED paths; None unless it is whole and of
    exactly those."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    body = unsealed(raw)
    if body is None:
        return None  # cut short or damaged
    head, _, data = body.partition(b"\n")
    files: dict[str, FileState | None] = {}
    at = 0
    try:
        meta = json.loads(head)
        if meta["version"] != TREE_VERSION or meta["commit"] != commit:
            return None
        for entry in meta["files"]:
            match entry:
                case [str(name), None]:
                    files[name] = None
                case [str(name), str(mode), int(size)] if 0 <= size <= len(data) - at:
                    files[name] = FileState(data[at : at + size], mode)
                    at += size
                case _:
                    return None
    except (ValueError, KeyError, TypeError):
        return None
    return files if at == len(data) and list(files) == wanted else None


CULPRIT_FILE = "forkman-culprits.json"


class CulpritCache(KeptAnswers):
    """The culprit search's answers (a Found, or None: no culprit), kept at PATH across runs:
    the search's key holds the pin, the target, upstream's URL, the question and upstream's
    files at the pin; the file, forkman's code and Python's and git's versions (fingerprint)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, fingerprint(), decode, encode)
