"""The stack record (forkman-stack.json): answers status, guard and a no-op apply while the pin
and every overlay file are unchanged, and is never trusted otherwise."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest
from helpers import make_app

from forkman.autogpt.example import LLM_PY, OVERLAYS
from forkman.commands import apply as apply_module
from forkman.commands import guard as guard_module
from forkman.commands.apply import apply
from forkman.commands.guard import guard
from forkman.commands.status import status
from forkman.core.overlay import Overlay
from forkman.core.stack import StackDigest, build_stack
from forkman.core.states import OverlayState
from forkman.core.values import FileState
from forkman.errors import DirtyCheckout
from forkman.git.repository import GitRepo
from forkman.store import stackrecord
from forkman.store.project import Project
from forkman.store.stackrecord import code_fingerprint, decode, encode, record_path, series_hashes


@pytest.fixture
def project(upstream: Path, app_repo: Path) -> Project:
    return make_app(app_repo, upstream)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many overlays each command built a stack from (patches parsed and applied)."""
    counted: list[int] = []
    for module in (stackrecord, guard_module, apply_module):
        real = module.load_stack

        def counting(repo, commit, overlays, real=real):  # type: ignore[no-untyped-def]
            overlays = tuple(overlays)
            counted.append(len(overlays))
            return real(repo, commit, overlays)

        monkeypatch.setattr(module, "load_stack", counting)
    return counted


def states(project: Project) -> dict[str, OverlayState]:
    return {row.name: row.state for row in status(project).overlays}


def record(project: Project) -> Path:
    with GitRepo(project.checkout) as repo:
        return record_path(repo)


def key(project: Project) -> list[tuple[str, str]]:
    return list(series_hashes(project.overlay_texts()).items())


def test_an_unchanged_series_is_answered_from_the_record(
    project: Project, builds: list[int]
) -> None:
    first = status(project)
    assert builds == [len(OVERLAYS)] and record(project).is_file()

    assert status(project) == first
    assert guard(project).findings == ()
    assert apply(project).written == ()
    assert builds == [len(OVERLAYS)]  # no patch parsed, no blob read, no patch applied again


def test_the_record_holds_what_the_patches_make(project: Project) -> None:
    status(project)
    lock = project.lock()
    with GitRepo(project.checkout) as repo:
        built = build_stack(
            repo.read_tree_files(lock.commit, {p for o in project.overlays() for p in o.files}),
            project.overlays(),
        ).digests
    recorded = decode(record(project).read_bytes(), lock.commit, key(project))
    assert recorded == StackDigest(built.base, built.steps, built.final)


def test_an_overlay_edited_in_place_with_the_same_size_and_mtime(
    project: Project, builds: list[int]
) -> None:
    """Content, not stat data, keys the record: one tick of mtime is no hiding place."""
    apply(project)  # forkman-applied.json: the old line is forkman's own, apply may replace it
    patch = project.overlay_path("llm-models")
    text = patch.read_text()
    info = patch.stat()
    line = next(ln for ln in text.splitlines() if ln.startswith("+") and not ln.startswith("+++"))
    changed = line[:-1] + ("X" if line[-1] != "X" else "Y")
    with patch.open("r+") as handle:  # in place: the same inode
        handle.write(text.replace(line, changed, 1))
    os.utime(patch, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert (patch.stat().st_size, patch.stat().st_mtime_ns) == (info.st_size, info.st_mtime_ns)

    assert states(project)["llm-models"] == OverlayState.MODIFIED  # the checkout has the old line
    assert builds == [len(OVERLAYS)] * 2
    apply(project)
    assert changed[1:] in (project.checkout / LLM_PY).read_text()
    assert set(states(project).values()) == {OverlayState.APPLIED}


def test_a_worktree_edit_is_seen_with_the_record(project: Project, builds: list[int]) -> None:
    """The work tree is read every time: the same size and mtime hide no edit either."""
    status(project)
    path = project.checkout / LLM_PY
    data = path.read_bytes()
    info = path.stat()
    at = data.index(b"qwen2.5")
    path.write_bytes(data[:at] + b"QWEN2.5" + data[at + len(b"qwen2.5") :])
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))

    assert states(project)["llm-models"] == OverlayState.MODIFIED
    assert f"{project.config.path}/{LLM_PY}" in {f.file for f in guard(project).findings}
    assert builds == [len(OVERLAYS)]  # both answered from the record
    with pytest.raises(DirtyCheckout):
        apply(project)  # with something to do, from the patches


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],
        lambda raw: raw.replace(b'"base":{"', b'"base":{"x', 1),
        lambda raw: b"",
        lambda raw: b"\x00\xff not a record",
        lambda raw: raw.replace(b"forkman-stack 1 ", b"forkman-stack 99 ", 1),
    ],
    ids=["cut short", "edited", "empty", "garbage", "another format"],
)
def test_a_damaged_record_is_ignored_and_written_again(
    project: Project, builds: list[int], damage
) -> None:  # type: ignore[no-untyped-def]
    first = status(project)
    path = record(project)
    good = path.read_bytes()
    path.write_bytes(damage(good))

    assert status(project) == first
    assert builds == [len(OVERLAYS)] * 2
    assert path.read_bytes() == good


def test_a_record_from_another_pin_is_not_trusted(project: Project, builds: list[int]) -> None:
    """A record that says every overlay fails, keyed by another commit: status, guard and apply
    build the stack themselves."""
    status(project)
    other = "0" * 40
    view = decode(record(project).read_bytes(), project.lock().commit, key(project))
    assert view is not None
    failing = StackDigest(
        view.base,
        tuple(
            type(step)(**{**step.__dict__, "error": "made up", "error_path": "x"})
            for step in view.steps
        ),
        view.base,
    )
    record(project).write_bytes(encode(other, key(project), failing))

    assert set(states(project).values()) == {OverlayState.APPLIED}
    record(project).write_bytes(encode(other, key(project), failing))
    assert guard(project).findings == ()
    record(project).write_bytes(encode(other, key(project), failing))
    assert apply(project).written == ()
    assert builds == [len(OVERLAYS)] * 4


def test_the_key_is_the_pin_and_each_overlay_in_order() -> None:
    overlays = [
        Overlay("a", "A", diff=_diff("f", "1", "2")),
        Overlay("b", "B", diff=_diff("g", "1", "3")),
    ]
    base = {"f": FileState(b"1\n"), "g": FileState(b"1\n")}
    view = build_stack(base, overlays).digests
    series = [("a", "1" * 64), ("b", "2" * 64)]
    raw = encode("c" * 40, series, view)

    assert decode(raw, "c" * 40, series) == view
    assert decode(raw, "d" * 40, series) is None  # another pin
    assert decode(raw, "c" * 40, series[::-1]) is None  # another order
    assert decode(raw, "c" * 40, [series[0], ("b", "3" * 64)]) is None  # another file
    assert decode(raw, "c" * 40, series[:1]) is None  # one overlay fewer
    assert decode(raw.replace(b'"A"', b'"Z"'), "c" * 40, series) is None  # fails its checksum


def _diff(path: str, old: str, new: str) -> str:
    return (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-{old}\n+{new}\n"
    )


def test_the_code_in_the_key_is_every_module_that_builds_the_stack() -> None:
    # read_tree_files (git/) and load_stack (store/) make the record as much as core/ does:
    # an edited install (pip install -e, then a pull) must not trust a record they made
    source = Path(inspect.getfile(GitRepo))
    info = source.stat()
    code_fingerprint.cache_clear()
    before = code_fingerprint()
    try:
        os.utime(source, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
        code_fingerprint.cache_clear()
        assert code_fingerprint() != before
    finally:
        os.utime(source, ns=(info.st_atime_ns, info.st_mtime_ns))
        code_fingerprint.cache_clear()
