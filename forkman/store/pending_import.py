"""An import's files staged in the state folder, then moved into the app repo as one step."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from forkman.core import overlay as ov
from forkman.store.files import atomic_write
from forkman.store.lock import render_lock
from forkman.store.project import Project
from forkman.store.series import reorder_series


def _pending(project: Project) -> Path:
    return project.state_dir() / "import"


def commit(
    project: Project, overlays: Sequence[ov.Overlay], comments: Mapping[str, Sequence[str]]
) -> None:
    """Stage every file, publish the plan (the commit point), then move the files in, the lock last.

    Before the plan is published nothing of the app repo has changed; after it, `finish` (run
    here, or by the next import after a crash) brings every file in.
    """
    staging = project.state_dir() / "import.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "overlays").mkdir(parents=True)
    lock = project.lock()
    hashes = dict(lock.overlays)
    for overlay in overlays:
        text = ov.render(overlay).encode("utf-8", "surrogateescape")
        (staging / "overlays" / f"{overlay.name}.patch").write_bytes(text)
        hashes[overlay.name] = ov.file_hash(text)
    old = project.series_path.read_text(encoding="utf-8") if project.series_path.exists() else ""
    series = reorder_series(old, list(project.series()))
    for overlay in overlays:
        series += "".join(f"{c}\n" for c in comments.get(overlay.name, ()))
        series += f"{overlay.name}\n"
    plan = {
        "overlays": [o.name for o in overlays],
        "series": series,
        "lock": render_lock(lock.with_overlays(hashes)),
    }
    atomic_write(staging / "plan.json", json.dumps(plan, indent=1))
    pending = _pending(project)
    shutil.rmtree(pending, ignore_errors=True)
    staging.rename(pending)  # the commit point: from here on the import happens, even after kill -9
    finish(project)


def finish(project: Project) -> tuple[str, ...]:
    """Bring in an import published but not finished (idempotent); the overlays it brought."""
    pending = _pending(project)
    plan_file = pending / "plan.json"
    if not plan_file.exists():
        shutil.rmtree(project.state_dir() / "import.tmp", ignore_errors=True)
        shutil.rmtree(pending, ignore_errors=True)
        return ()
    plan = json.loads(plan_file.read_text())
    for name in plan["overlays"]:
        staged = pending / "overlays" / f"{name}.patch"
        if staged.exists():
            project.overlays_dir.mkdir(parents=True, exist_ok=True)
            staged.replace(project.overlay_path(name))
    atomic_write(project.series_path, plan["series"])
    atomic_write(project.lock_path, plan["lock"])
    shutil.rmtree(pending, ignore_errors=True)
    return tuple(plan["overlays"])
