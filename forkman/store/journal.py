"""The journal of a sync in progress: a typed, versioned record beside plain-file backups.

The backups (the checkout's files, its HEAD, the overlays, the lock) are plain files in
`backup/`, apart from `journal.json`, so that `--abort` restores them even when the journal
itself cannot be read. The whole folder appears in one rename when the sync begins and goes
away in one rename when it ends: a kill at any moment leaves either all of it or none of it.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from forkman.core.conflicts import Region, Resolution
from forkman.core.overlay import Overlay, parse
from forkman.core.records import FileRecord, Sides
from forkman.core.values import FileState, State
from forkman.errors import SyncStateError
from forkman.git.repository import GitRepo
from forkman.store.files import atomic_write, sync_all
from forkman.store.project import Project
from forkman.store.series import parse_series
from forkman.store.worktree import read_worktree

JOURNAL_VERSION = 1
MANIFEST = "MANIFEST"  # the checkout paths backed up, NUL-separated; absent from tree/ = absent


@dataclass(frozen=True)
class Pin:
    ref: str
    commit: str


@dataclass(frozen=True)
class SyncJournal:
    """Where a sync goes and what the person decided so far (the backups live beside it)."""

    start: Pin  # the pin the sync started from
    target: Pin  # the release it goes to
    head: str | None  # the checkout's HEAD before the sync
    phase: str = "planned"  # "planned", "conflict" (stopped on CURRENT) or "checks"
    current: str | None = None
    overrides: Mapping[str, State] = field(default_factory=dict)  # resolved files per overlay
    skipped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    resolutions: tuple[Resolution, ...] = ()
    file_records: tuple[FileRecord, ...] = ()  # whole conflicted files as resolved

    def with_override(self, name: str, files: State) -> SyncJournal:
        return replace(
            self, overrides={**self.overrides, name: {**self.overrides.get(name, {}), **files}}
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": JOURNAL_VERSION,
            "from": {"ref": self.start.ref, "commit": self.start.commit},
            "to": {"ref": self.target.ref, "commit": self.target.commit},
            "head": self.head,
            "phase": self.phase,
            "current": self.current,
            "overrides": {n: _encode(s) for n, s in self.overrides.items()},
            "skipped": list(self.skipped),
            "warnings": list(self.warnings),
            "resolutions": [_resolution_json(r) for r in self.resolutions],
            "file_records": [_record_json(r) for r in self.file_records],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SyncJournal:
        if data.get("version") != JOURNAL_VERSION:
            raise ValueError(f"journal version {data.get('version')!r}")
        return cls(
            start=Pin(str(data["from"]["ref"]), str(data["from"]["commit"])),
            target=Pin(str(data["to"]["ref"]), str(data["to"]["commit"])),
            head=data.get("head"),
            phase=str(data["phase"]),
            current=data.get("current"),
            overrides={str(n): _decode(v) for n, v in data["overrides"].items()},
            skipped=tuple(str(s) for s in data["skipped"]),
            warnings=tuple(str(w) for w in data["warnings"]),
            resolutions=tuple(_resolution_from_json(r) for r in data["resolutions"]),
            file_records=tuple(_record_from_json(r) for r in data.get("file_records", [])),
        )


def _encode(states: State) -> dict[str, list[str] | None]:
    return {
        p: None if s is None else [s.mode, base64.b64encode(s.data).decode()]
        for p, s in states.items()
    }


def _decode(data: Mapping[str, list[str] | None]) -> State:
    return {
        p: None if v is None else FileState(base64.b64decode(v[1]), v[0]) for p, v in data.items()
    }


def _resolution_json(r: Resolution) -> dict[str, Any]:
    region = r.region
    return {
        "key": r.key,
        "overlay": r.overlay,
        "path": r.path,
        "region": [
            list(region.upstream),
            list(region.base),
            list(region.overlay),
            region.start,
            region.end,
        ],
        "lines": list(r.lines),
    }


def _resolution_from_json(item: Mapping[str, Any]) -> Resolution:
    up, base, side, start, end = item["region"]
    region = Region(tuple(up), tuple(base), tuple(side), int(start), int(end))
    return Resolution(
        str(item["key"]), str(item["overlay"]), str(item["path"]), region, tuple(item["lines"])
    )


def _record_json(r: FileRecord) -> dict[str, Any]:
    sides = [r.sides.base, r.sides.upstream, r.sides.overlay]
    return {"overlay": r.overlay, "path": r.path, "sides": sides, "made_for": r.made_for,
            "preimage": r.preimage, "postimage": r.postimage}  # fmt: skip


def _record_from_json(item: Mapping[str, Any]) -> FileRecord:
    base, upstream, overlay = (str(s) for s in item["sides"])
    return FileRecord(
        str(item["overlay"]),
        str(item["path"]),
        Sides(base, upstream, overlay),
        str(item["preimage"]),
        str(item["postimage"]),
        str(item.get("made_for", "")),
    )


@dataclass(frozen=True)
class Restored:
    """What `--abort` put back from the backups, and what it could not."""

    journal: SyncJournal | None  # None when the journal itself was damaged
    missing: tuple[str, ...] = ()


class Journal:
    """The sync's folder on disk: `journal.json` plus `backup/` (plain files)."""

    def __init__(self, project: Project):
        self.project = project
        self.dir = project.sync_dir()
        self.file = self.dir / "journal.json"
        self.backup = self.dir / "backup"

    def exists(self) -> bool:
        # the folder only ever appears whole (one rename), so its presence is the sync's
        return self.dir.is_dir()

    def _in_the_way(self) -> SyncStateError:
        return SyncStateError(
            "something that is not a sync's folder is in the way",
            where=str(self.dir),
            hint="forkman did not make it: move it aside, then run the command again",
        )

    def load(self) -> SyncJournal:
        if os.path.lexists(self.dir) and not self.exists():
            raise self._in_the_way()
        if not self.exists():
            raise SyncStateError("no sync in progress", hint="start one with `forkman sync`")
        try:
            return SyncJournal.from_json(json.loads(self.file.read_text()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            raise SyncStateError(
                "the sync journal is damaged",
                where=str(self.file),
                hint="run `forkman sync --abort`: it restores from the backups beside it",
            ) from None

    def save(self, journal: SyncJournal) -> None:
        atomic_write(self.file, json.dumps(journal.to_json(), indent=1, sort_keys=True))

    def begin(self, journal: SyncJournal, checkout: State, repo: GitRepo) -> None:
        """Back up everything the sync may change, then publish the folder in one rename."""
        if os.path.lexists(self.dir):
            # found before the backups are written: rename() would only fail after them
            raise self._in_the_way()
        tmp = self.dir.with_name(f"sync.tmp.{secrets.token_hex(4)}")
        backup = tmp / "backup"
        (backup / "checkout").mkdir(parents=True)
        project = self.project
        if project.overlays_dir.exists():
            shutil.copytree(project.overlays_dir, backup / "overlays", symlinks=True)
        shutil.copy2(project.lock_path, backup / "forkman.lock")
        record = repo.git_path("forkman-applied.json")
        if record.exists():
            shutil.copy2(record, backup / "applied.json")
        (backup / "HEAD").write_text((journal.head or "") + "\n")
        # The person's own files are on the disk before the sync may replace them: --abort
        # after a power cut restores the overlays and the lock from these. The checkout's
        # files are not synced: they are the pin plus the overlays (the sync refuses to start
        # on edits), which `forkman apply` makes again.
        sync_all([p for p in backup.rglob("*") if p.is_file()])
        _write_files(backup / "checkout", checkout)
        atomic_write(
            backup / "checkout" / MANIFEST, "".join(f"{p}\0" for p in sorted(checkout)).encode()
        )
        atomic_write(tmp / "journal.json", json.dumps(journal.to_json(), indent=1, sort_keys=True))
        tmp.rename(self.dir)

    def checkout_backup(self) -> State:
        """The checkout's files as they were when the sync began (None where absent)."""
        return read_worktree(self.backup / "checkout" / "tree", self.checkout_paths())

    def checkout_paths(self) -> list[str]:
        """The paths of checkout_backup, without reading the files."""
        manifest = self.backup / "checkout" / MANIFEST
        return [
            p for p in manifest.read_bytes().decode("utf-8", "surrogateescape").split("\0") if p
        ]

    def backup_overlays(self) -> tuple[Overlay, ...]:
        """The overlays as they were when the sync began: every plan starts from them."""
        folder = self.backup / "overlays"
        series_file = folder / "series"
        names = parse_series(series_file.read_text(), series_file) if series_file.exists() else ()
        return tuple(
            parse(n, (folder / f"{n}.patch").read_text(encoding="utf-8", errors="surrogateescape"))
            for n in names
        )

    def backup_head(self) -> str | None:
        try:
            return (self.backup / "HEAD").read_text().strip() or None
        except OSError:
            return None

    def finish(self) -> None:
        """End the sync: one rename marks it over, then the folder is deleted at leisure.

        Deleting in place could leave `journal.json` without its backups (a file system may
        list `backup/` first); after the rename a kill leaves only a folder nobody reads.
        """
        if not self.dir.exists():
            return
        done = self.dir.with_name(f"sync.finished.{secrets.token_hex(4)}")
        os.rename(self.dir, done)
        shutil.rmtree(done, ignore_errors=True)


def sweep(project: Project) -> None:
    """Delete what an interrupted begin or finish left: folders that nothing reads any more."""
    folder = project.state_dir()
    if not folder.is_dir():
        return
    for leftover in folder.glob("sync.*"):
        if leftover.name.startswith(("sync.tmp", "sync.finished")):
            shutil.rmtree(leftover, ignore_errors=True)


def _write_files(folder: Path, states: State) -> None:
    """The backed-up files as plain files under FOLDER/tree (links as links, modes kept)."""
    tree = folder / "tree"
    tree.mkdir(parents=True, exist_ok=True)
    made = {tree}
    for path, state in states.items():
        if state is None:
            continue
        full = tree / path
        if full.parent not in made:
            full.parent.mkdir(parents=True, exist_ok=True)
            made.add(full.parent)
        if state.mode == "120000":
            os.symlink(state.data.decode("utf-8", "surrogateescape"), full)
        else:
            full.write_bytes(state.data)
            full.chmod(0o755 if state.mode == "100755" else 0o644)
