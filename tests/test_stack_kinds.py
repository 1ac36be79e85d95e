"""The overlay stack on plain values for every kind of change: renames, copies, modes, binary, symlinks."""

from __future__ import annotations

import pytest

from forkman.core.overlay import Overlay, parse
from forkman.core.stack import build_stack
from forkman.core.values import FileState
from forkman.errors import PatchError

TEXT = "".join(f"line {n}\n" for n in range(1, 11)).encode()


def _overlay(name: str, diff: str) -> Overlay:
    return parse(name, f"Subject: {name}\n\n---\n{diff}")


def test_rename_with_an_edit_empties_the_old_path() -> None:
    overlay = _overlay(
        "move",
        "diff --git a/old name.txt b/dir/new name.txt\nsimilarity index 90%\n"
        "rename from old name.txt\nrename to dir/new name.txt\n"
        "--- a/old name.txt\t\n+++ b/dir/new name.txt\t\n"
        "@@ -1,3 +1,3 @@\n line 1\n-line 2\n+LINE 2\n line 3\n",
    )
    assert overlay.files == ("old name.txt", "dir/new name.txt")
    assert [(c.status, c.old_path, c.path) for c in overlay.changes] == [
        ("renamed", "old name.txt", "dir/new name.txt")
    ]
    stack = build_stack({"old name.txt": FileState(TEXT), "dir/new name.txt": None}, [overlay])
    assert stack.steps[0].applies
    assert stack.final["old name.txt"] is None
    assert stack.final["dir/new name.txt"] == FileState(TEXT.replace(b"line 2\n", b"LINE 2\n"))


def test_pure_rename_copy_and_mode_change() -> None:
    overlay = _overlay(
        "kinds",
        "diff --git a/a.sh b/b.sh\nsimilarity index 100%\nrename from a.sh\nrename to b.sh\n"
        "diff --git a/c.txt b/d.txt\nsimilarity index 100%\ncopy from c.txt\ncopy to d.txt\n"
        "diff --git a/e.sh b/e.sh\nold mode 100644\nnew mode 100755\n",
    )
    base = {
        "a.sh": FileState(b"echo a\n", "100755"),
        "b.sh": None,
        "c.txt": FileState(b"c\n"),
        "d.txt": None,
        "e.sh": FileState(b"echo e\n"),
    }
    final = build_stack(base, [overlay]).final
    assert final["a.sh"] is None and final["b.sh"] == FileState(b"echo a\n", "100755")
    assert final["c.txt"] == final["d.txt"] == FileState(b"c\n")
    assert final["e.sh"] == FileState(b"echo e\n", "100755")


def test_a_rename_onto_a_taken_name_does_not_apply() -> None:
    overlay = _overlay(
        "clash", "diff --git a/x b/y\nsimilarity index 100%\nrename from x\nrename to y\n"
    )
    step = build_stack({"x": FileState(b"x\n"), "y": FileState(b"y\n")}, [overlay]).steps[0]
    assert not step.applies and step.error_path == "y"


def test_binary_patch_applies_and_checks_the_file_it_was_made_from() -> None:
    # `git diff --binary --full-index` of new.bin (added) and old.bin (deleted)
    overlay = _overlay(
        "bin",
        "diff --git a/new.bin b/new.bin\nnew file mode 100644\n"
        "index 0000000000000000000000000000000000000000..f5f26c8050b645ee0e3e0c0c2673ef7c0c3261c9\n"
        "GIT binary patch\nliteral 32\nOcmZSh&-jl44+a4LC=c-f\n\nliteral 0\nHcmV?d00001\n\n"
        "diff --git a/old.bin b/old.bin\ndeleted file mode 100644\n"
        "index 94feafa0186e084143f959c3352062ccd3b52129..0000000000000000000000000000000000000000\n"
        "GIT binary patch\nliteral 0\nHcmV?d00001\n\nliteral 6\nNcmZQzOwZ3t1pov!0jmH2\n\n",
    )
    assert [c.status for c in overlay.changes] == ["added", "deleted"]
    stack = build_stack({"new.bin": None, "old.bin": FileState(b"\x00\x01gone")}, [overlay])
    assert stack.final == {"new.bin": FileState(bytes([0, 255, 1, 254]) * 8), "old.bin": None}
    other = build_stack({"new.bin": None, "old.bin": FileState(b"something else")}, [overlay])
    assert not other.steps[0].applies and other.steps[0].error_path == "old.bin"


def test_symlink_to_file_and_no_newline_changes() -> None:
    overlay = _overlay(
        "link",
        "diff --git a/l b/l\ndeleted file mode 100644\n--- a/l\n+++ /dev/null\n@@ -1 +0,0 @@\n-text\n"
        "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n"
        "+target\n\\\\ No newline at end of file\n",
    )
    final = build_stack({"l": FileState(b"text\n")}, [overlay]).final
    assert final["l"] == FileState(b"target", "120000")


def test_quoted_names_tabs_and_non_utf8_content() -> None:
    overlay = _overlay(
        "names",
        'diff --git "a/t\\tab \\"q\\"" "b/t\\tab \\"q\\""\n--- "a/t\\tab \\"q\\""\t\n'
        '+++ "b/t\\tab \\"q\\""\t\n@@ -1 +1 @@\n-caf\udce9\n+caf\udce9 cr\udce8me\n',
    )
    assert overlay.files == ('t\tab "q"',)
    final = build_stack({'t\tab "q"': FileState(b"caf\xe9\n")}, [overlay]).final
    assert final['t\tab "q"'] == FileState(b"caf\xe9 cr\xe8me\n")


@pytest.mark.parametrize(
    ("diff", "says"),
    [
        ("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n", "no `diff --git` section"),
        ("diff --git a/x b/x\nBinary files a/x and b/x differ\n", "has no data"),
        ("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\ngarbage\n", "unexpected line"),
        ('diff --git "a/\\056git/x" "b/\\056git/x"\nnew file mode 100644\n', "leaves the checkout"),
    ],
)
def test_overlay_diffs_that_are_refused(diff: str, says: str) -> None:
    with pytest.raises(PatchError, match=says):
        _overlay("bad", diff)
