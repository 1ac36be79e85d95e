"""The stat cache (forkman-stat.json): status and a no-op apply skip reading a file whose stat
data vouches for it, git's racy rule applies, and the guard never relies on it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers import make_app

from forkman.autogpt.example import LLM_PY
from forkman.commands.guard import guard
from forkman.commands.status import status
from forkman.core.states import OverlayState
from forkman.errors import ConfigError
from forkman.git.repository import GitRepo
from forkman.store import statcache
from forkman.store.project import Project


@pytest.fixture
def project(upstream: Path, app_repo: Path) -> Project:
    return make_app(app_repo, upstream)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The work-tree files the stat cache read, by name."""
    seen: list[str] = []

    def counting(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(os.path.basename(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(statcache, "open", counting, raising=False)
    return seen


def llm_state(project: Project) -> OverlayState:
    return {row.name: row.state for row in status(project).overlays}["llm-models"]


def settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """No margin: an entry counts once the clock has moved past the file's timestamps."""
    monkeypatch.setattr(statcache, "MARGIN_NS", 0)
    time.sleep(0.05)


def cache(project: Project) -> Path:
    with GitRepo(project.checkout) as repo:
        return repo.git_path(statcache.STAT_FILE)


def test_a_file_the_cache_vouches_for_is_not_read(
    project: Project, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settle(monkeypatch)
    assert llm_state(project) == OverlayState.APPLIED
    assert "llm.py" in reads
    reads.clear()
    time.sleep(0.05)
    assert llm_state(project) == OverlayState.APPLIED
    assert reads == []


def test_an_in_place_edit_with_the_same_size_and_mtime_is_seen(
    project: Project, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """utime puts the mtime back, and moves the ctime: the cache's entry no longer matches."""
    settle(monkeypatch)
    status(project)
    time.sleep(0.05)
    path = project.checkout / LLM_PY
    data = path.read_bytes()
    info = path.stat()
    at = data.index(b"qwen2.5")
    with path.open("r+b") as handle:
        handle.seek(at)
        handle.write(b"QWEN2.5")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_ino) == (info.st_size, info.st_ino)

    reads.clear()
    assert llm_state(project) == OverlayState.MODIFIED
    assert reads == ["llm.py"]


def test_an_entry_read_within_the_margin_is_read_again(project: Project, reads: list[str]) -> None:
    """git's racy rule: timestamps as young as the read prove nothing."""
    status(project)
    reads.clear()
    status(project)
    assert "llm.py" in reads


def test_the_guard_reads_every_file(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache that vouches wrongly (forged here) misleads status, never the guard."""
    settle(monkeypatch)
    status(project)
    entries = statcache._load(cache(project))
    path = project.checkout / LLM_PY
    original = path.read_bytes()
    with path.open("r+b") as handle:  # an edit the forged entry below hides from status
        handle.write(b"#" + original[1:])
    info = os.lstat(path)
    entry = entries[LLM_PY]
    entries[LLM_PY] = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino,
                       info.st_mode, time.time_ns() + 10**10, entry[6]]  # fmt: skip
    statcache._save(cache(project), entries)

    assert llm_state(project) == OverlayState.APPLIED  # fooled, as designed: status only
    assert f"{project.config.path}/{LLM_PY}" in {f.file for f in guard(project).findings}


@pytest.mark.parametrize("damage", [b"", b"forkman-stat 1 0000\n{}", b"\xff\xfe"])
def test_a_damaged_cache_is_ignored(
    project: Project, reads: list[str], monkeypatch: pytest.MonkeyPatch, damage: bytes
) -> None:
    settle(monkeypatch)
    status(project)
    cache(project).write_bytes(damage)
    reads.clear()
    assert llm_state(project) == OverlayState.APPLIED
    assert "llm.py" in reads
    assert statcache._load(cache(project))  # written again


# -- the overlay files' hashes (overlay-stat.json in the app repo's state folder) --------------
OVERLAY = "llm-models"


def overlay_cache(project: Project) -> Path:
    return project.state_dir() / statcache.OVERLAY_STAT_FILE


def edit_in_place(path: Path, old: bytes, new: bytes) -> None:
    """NEW for OLD (as long) in PATH's own inode, with the mtime put back: only ctime moves."""
    info = path.stat()
    data = path.read_bytes()
    assert len(old) == len(new) and old in data
    with path.open("r+b") as handle:
        handle.seek(data.index(old))
        handle.write(new)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_ino) == (info.st_size, info.st_ino)


def test_an_overlay_file_the_cache_vouches_for_is_not_read(
    project: Project, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settle(monkeypatch)
    first = status(project)
    assert f"{OVERLAY}.patch" in reads
    reads.clear()
    time.sleep(0.05)
    assert status(project) == first
    assert not [name for name in reads if name.endswith(".patch")]


def test_an_overlay_edited_in_place_with_the_same_size_and_mtime_is_seen(
    project: Project, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock check sees the new hash, and the stack is built from the new text."""
    settle(monkeypatch)
    status(project)
    time.sleep(0.05)
    edit_in_place(project.overlay_path(OVERLAY), b"Subject: ", b"Subject:\t")
    reads.clear()
    report = status(project)
    assert f"{OVERLAY}.patch" in reads
    assert any(f"{OVERLAY}.patch differs from its sha256" in w for w in report.warnings)


def test_an_overlay_read_within_the_margin_is_read_again(
    project: Project, reads: list[str]
) -> None:
    status(project)
    reads.clear()
    status(project)
    assert f"{OVERLAY}.patch" in reads


def test_a_forged_overlay_entry_fools_status_never_the_guard(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    settle(monkeypatch)
    status(project)
    path = project.overlay_path(OVERLAY)
    entries = statcache._load(overlay_cache(project), statcache._OVERLAY_MAGIC)
    with path.open("r+b") as handle:  # a hand edit the forged entry below hides from status
        handle.write(b"X")
    info = os.lstat(path)
    entries[OVERLAY] = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino,
                        info.st_mode, time.time_ns() + 10**10, entries[OVERLAY][6]]  # fmt: skip
    statcache._save(overlay_cache(project), entries, statcache._OVERLAY_MAGIC)

    assert not status(project).warnings  # fooled, as designed: status only
    assert f"overlays/{OVERLAY}.patch" in {f.file for f in guard(project).findings}


@pytest.mark.parametrize("damage", [b"", b"forkman-overlay-stat 1 0000\n{}", b"\xff\xfe"])
def test_a_damaged_overlay_cache_is_ignored(
    project: Project, reads: list[str], monkeypatch: pytest.MonkeyPatch, damage: bytes
) -> None:
    settle(monkeypatch)
    first = status(project)
    overlay_cache(project).write_bytes(damage)
    reads.clear()
    assert status(project) == first
    assert f"{OVERLAY}.patch" in reads
    assert statcache._load(overlay_cache(project), statcache._OVERLAY_MAGIC)  # written again


def test_a_missing_overlay_file_is_reported_as_without_the_cache(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    settle(monkeypatch)
    status(project)
    project.overlay_path(OVERLAY).unlink()
    with pytest.raises(ConfigError, match=f"overlay '{OVERLAY}' is in the series but"):
        status(project)


def test_an_app_repo_without_git_keeps_no_overlay_cache(project: Project) -> None:
    """Its state folder would be .forkman/ among the user's files: nothing is written there."""
    os.rename(project.root / ".git", project.root / "git-moved")
    status(project)
    assert not (project.root / ".forkman").exists()


def test_the_overlay_hashes_are_the_locks(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    settle(monkeypatch)
    for _ in range(2):  # read, then from the cache
        assert statcache.overlay_hashes(project) == dict(project.lock().overlays)
        time.sleep(0.05)
