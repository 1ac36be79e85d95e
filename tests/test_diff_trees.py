"""diff_trees writes plain paths flat; its patches are byte for byte those of the real layout."""

from __future__ import annotations

import pytest

from forkman.core.values import FileState, Tree
from forkman.git import diff as gitdiff
from forkman.git.diff import diff_trees

BEFORE = {
    "x/y.py": FileState(b"one\ntwo\nthree\n"),
    "x-z/a.py": FileState(b"alpha\n"),
    "x.py": FileState(b"gone\n"),
    "x0": FileState(b"no newline"),
    "X/Up.txt": FileState(b"same\n"),
    "bin/run.sh": FileState(b"#!/bin/sh\necho hi\n"),
    "deep/er/still/file.md": FileState(b"a\nb\nc\nd\ne\nf\ng\nh\n"),
    "link": FileState(b"x/y.py", "120000"),
    "blob.bin": FileState(b"\0\1\2"),
}
AFTER = {
    "x/y.py": FileState(b"one\n2\nthree\n"),
    "x-z/a.py": FileState(b"alpha\nbeta\n"),
    "x.py": None,
    "x0": FileState(b"no newline, still"),
    "X/Up.txt": FileState(b"same\n"),
    "bin/run.sh": FileState(b"#!/bin/sh\necho hi\n", "100755"),
    "deep/er/still/file.md": FileState(b"a\nB\nc\nd\ne\nf\ng\nH\n"),
    "link": FileState(b"x-z/a.py", "120000"),
    "blob.bin": FileState(b"\0\1\3"),
    "new/file.py": FileState(b"print('new')\n"),
    "x/y/z.txt": None,
}


def _nested(before: Tree, after: Tree, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as m:
        m.setattr(gitdiff, "_flat_names", lambda paths: None)
        return diff_trees(before, after)


def test_flat_layout_gives_the_same_patch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert gitdiff._flat_names({*BEFORE, *AFTER}) is not None
    flat = diff_trees(BEFORE, AFTER)
    assert "diff --git a/x/y.py b/x/y.py" in flat and "f000" not in flat
    assert flat == _nested(BEFORE, AFTER, monkeypatch)


def test_paths_git_would_quote_use_the_real_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    before = {"caf\u00e9/menu.py": FileState(b"a\n"), "with space.txt": FileState(b"b\n")}
    after = {"caf\u00e9/menu.py": FileState(b"A\n"), "with space.txt": FileState(b"B\n")}
    assert gitdiff._flat_names({*before}) is None
    assert diff_trees(before, after) == _nested(before, after, monkeypatch)


def test_a_file_that_becomes_a_folder_uses_the_real_layout() -> None:
    assert gitdiff._flat_names({"x", "x/y"}) is None


def test_unchanged_trees_give_an_empty_patch() -> None:
    assert diff_trees(BEFORE, BEFORE) == ""
