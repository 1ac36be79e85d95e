"""The journal of a sync in progress: backups of all it may change, and what was resolved so far."""

from __future__ import annotations

import base64
import json
import shutil
from typing import Any

from forkman.core.overlay import Overlay, parse
from forkman.core.values import FileState, State
from forkman.errors import SyncStateError
from forkman.git.repository import GitRepo
from forkman.store.files import atomic_write
from forkman.store.project import Project
from forkman.store.series import parse_series

JournalData = dict[str, Any]  # the journal's JSON: from, to, head, overrides, skipped, ...


def encode(states: State) -> dict[str, list[str] | None]:
    return {
        p: None if s is None else [s.mode, base64.b64encode(s.data).decode()]
        for p, s in states.items()
    }


def decode(data: dict[str, list[str] | None]) -> State:
    return {
        p: None if v is None else FileState(base64.b64decode(v[1]), v[0]) for p, v in data.items()
    }


class Journal:
    """The sync's state on disk: what it started from (backups), where it goes, what was resolved."""

    def __init__(self, project: Project):
        self.project = project
        self.dir = project.sync_dir()
        self.file = self.dir / "journal.json"

    def exists(self) -> bool:
        return self.file.exists()

    def load(self) -> JournalData:
        if not self.exists():
            raise SyncStateError("no sync in progress", hint="start one with `forkman sync`")
        try:
            data: JournalData = json.loads(self.file.read_text())
            return data
        except ValueError:
            raise SyncStateError(
                "the sync journal is damaged",
                where=str(self.file),
                hint="run `forkman sync --abort` to restore from the backups",
            ) from None

    def save(self, data: JournalData) -> None:
        atomic_write(self.file, json.dumps(data, indent=1, sort_keys=True))

    def begin(self, data: JournalData, checkout: State, repo: GitRepo) -> None:
        """Back up everything the sync may change, then publish the journal in one rename."""
        tmp = self.dir.with_name("sync.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "backup").mkdir(parents=True)
        project = self.project
        if project.overlays_dir.exists():
            shutil.copytree(project.overlays_dir, tmp / "backup" / "overlays", symlinks=True)
        shutil.copy2(project.lock_path, tmp / "backup" / "forkman.lock")
        record = repo.git_path("forkman-applied.json")
        if record.exists():
            shutil.copy2(record, tmp / "backup" / "applied.json")
        data = {**data, "checkout_backup": encode(checkout)}
        atomic_write(tmp / "journal.json", json.dumps(data, indent=1, sort_keys=True))
        shutil.rmtree(self.dir, ignore_errors=True)
        tmp.rename(self.dir)

    def backup_overlays(self) -> tuple[Overlay, ...]:
        """The overlays as they were when the sync began: every plan starts from them."""
        folder = self.dir / "backup" / "overlays"
        series_file = folder / "series"
        names = parse_series(series_file.read_text(), series_file) if series_file.exists() else ()
        return tuple(
            parse(n, (folder / f"{n}.patch").read_text(encoding="utf-8", errors="surrogateescape"))
            for n in names
        )
