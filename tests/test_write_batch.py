"""Writes of many files at once: the link checks that share each folder's lstat answer as the
path-by-path checks do, and the batch of durable writes leaves each file whole, old or new."""

from __future__ import annotations

import itertools
import os
import stat
from pathlib import Path

import pytest

from forkman.core.pathrules import has_git_component, symlink_target_problem
from forkman.store.confine import Confined, link_on_the_way, resolves_inside, write_problem
from forkman.store.files import TEMP_FILE, atomic_write_all


def _plain_write_problem(root: Path, rel: str, link_target: str | None = None) -> str | None:
    """write_problem as it was before Confined: every folder looked at, then both realpaths."""
    if has_git_component(rel):
        return f"{rel} is inside a .git folder"
    through = link_on_the_way(root, rel)  # still path by path
    if through is not None:
        return f"{through} is a symbolic link: writing {rel} would go through it"
    if not resolves_inside(root, (root / rel).parent):
        return f"{rel} resolves outside {root}"
    if link_target is not None:
        problem = symlink_target_problem(rel, link_target)
        if problem:
            return f"the symbolic link {rel} {problem}"
        if not resolves_inside(root, (root / rel).parent / link_target):
            return f"the symbolic link {rel} resolves outside the checkout ({link_target})"
    return None


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A work tree with every kind of folder on the way: real, missing, a file, links that
    stay inside, lead out, lead into .git, dangle, and a linked root."""
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    real = tmp_path / "real"
    for folder in ("src/pkg/sub", "docs", ".git/hooks", "a/b"):
        (real / folder).mkdir(parents=True)
    (real / "src/pkg/mod.py").write_text("x\n")
    (real / "afile").write_text("a file where a folder could be\n")
    os.symlink("src/pkg", real / "inside")
    os.symlink(str(outside), real / "out")
    os.symlink("../outside/deep", real / "a/up")
    os.symlink(".git", real / "togit")
    os.symlink("nowhere", real / "dangling")
    os.symlink("real", tmp_path / "linked_root")
    return tmp_path


PATHS = [
    "new.txt", "src/pkg/mod.py", "src/pkg/new/deeper/x.py", "src/pkg/sub/y", "docs/z.md",
    "inside/x.py", "inside", "out/x", "out/deep/x", "a/up/x", "a/b/c/d", "a/up", "togit/config",
    "dangling/x", "dangling", "afile", ".git/config", "src/.GIT/x", "src/git~1/x", "x/.git./y",
    "../escape", "src/../../escape", "src/../docs/ok", "/etc/passwd", "", ".", "./src/x",
    "src//pkg/x", "src/pkg/", "nothere/../x",
]  # fmt: skip
TARGETS = [None, "mod.py", "../outside", "../../x", ".git", "sub", "/abs", "a\nb"]


@pytest.mark.parametrize("root_name", ["real", "linked_root"])
def test_confined_answers_as_the_path_by_path_checks(tree: Path, root_name: str) -> None:
    root = tree / root_name
    shared = Confined(root)  # one checker for every question, as write_worktree asks them
    for rel, target in itertools.product(PATHS, TARGETS):
        expected = _plain_write_problem(root, rel, target)
        assert write_problem(root, rel, target) == expected, (rel, target)
        assert shared.problem(rel, target) == expected, (rel, target)


def test_a_file_where_a_folder_is_fails_alike(tree: Path) -> None:
    root = tree / "real"
    with pytest.raises(NotADirectoryError):
        _plain_write_problem(root, "afile/x/y")
    with pytest.raises(NotADirectoryError):
        write_problem(root, "afile/x/y")
    with pytest.raises(NotADirectoryError):
        Confined(root).problem("afile/x/y")


def test_folders_made_after_a_question_keep_their_answer_and_forget_sees_a_new_link(
    tree: Path,
) -> None:
    root = tree / "real"
    confined = Confined(root)
    assert confined.problem("later/x/y") is None
    (root / "later/x").mkdir(parents=True)  # made by the writer: a folder, never a link
    assert confined.problem("later/x/y") is None
    os.symlink(str(tree / "outside"), root / "later/x/link")
    confined.forget()
    assert confined.problem("later/x/link/z") == _plain_write_problem(root, "later/x/link/z")
    assert confined.problem("later/x/link/z") is not None


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if TEMP_FILE.match(p.name))


def test_atomic_write_all_writes_each_file_whole_keeping_modes(tmp_path: Path) -> None:
    (tmp_path / "old.sh").write_text("old\n")
    os.chmod(tmp_path / "old.sh", 0o755)
    files = [(tmp_path / f"d{n % 3}" / f"f{n}.patch", f"text {n}\n".encode()) for n in range(40)]
    files += [(tmp_path / "old.sh", b"new\n"), (tmp_path / "d0/f0.patch", b"again\n")]
    atomic_write_all(files)
    assert (tmp_path / "old.sh").read_bytes() == b"new\n"
    assert stat.S_IMODE((tmp_path / "old.sh").stat().st_mode) == 0o755
    assert (tmp_path / "d0/f0.patch").read_bytes() == b"again\n"  # the later one wins
    assert stat.S_IMODE((tmp_path / "d1/f1.patch").stat().st_mode) == 0o644
    for path, data in files[1:40]:
        assert path.read_bytes() == data
    assert _leftovers(tmp_path) == []
    atomic_write_all([])


def test_atomic_write_all_replaces_nothing_when_one_cannot_be_written(tmp_path: Path) -> None:
    good = [(tmp_path / f"f{n}", b"new\n") for n in range(10)]
    for path, _ in good:
        path.write_bytes(b"old\n")
    too_long = tmp_path / ("n" * 250)  # a name the file system takes, its temporary one not
    with pytest.raises(OSError) as failed:
        atomic_write_all([*good[:5], (too_long, b"new\n"), *good[5:]])
    assert failed.value.filename is not None
    assert [p.read_bytes() for p, _ in good] == [b"old\n"] * 10
    assert _leftovers(tmp_path) == []


def test_atomic_write_all_stops_at_a_rename_that_fails_leaving_the_rest_old(
    tmp_path: Path,
) -> None:
    files = [(tmp_path / f"f{n}", b"new\n") for n in range(6)]
    for path, _ in files:
        path.write_bytes(b"old\n")
    (tmp_path / "f3").unlink()
    (tmp_path / "f3").mkdir()  # a folder where a file goes: its rename fails
    with pytest.raises(IsADirectoryError):
        atomic_write_all(files)
    assert [p.read_bytes() for p, _ in files if p.name != "f3"] == [b"new\n"] * 3 + [b"old\n"] * 2
    assert _leftovers(tmp_path) == []
