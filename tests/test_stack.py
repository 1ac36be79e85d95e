"""The overlay stack's per-path index: which steps change a path, and its owner."""

from __future__ import annotations

from forkman.core.overlay import Overlay
from forkman.core.stack import build_stack
from forkman.core.values import FileState


def _edit(path: str, old: str, new: str) -> str:
    return (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-{old}\n+{new}\n"
    )


def test_changing_lists_the_steps_of_each_path_and_the_last_one_owns_it() -> None:
    base = {"a.py": FileState(b"one\n"), "b.py": FileState(b"two\n")}
    overlays = [
        Overlay("first", "First", diff=_edit("a.py", "one", "uno")),
        Overlay("second", "Second", diff=_edit("b.py", "two", "dos")),
        Overlay("third", "Third", diff=_edit("a.py", "uno", "eins")),
        Overlay("broken", "Broken", diff=_edit("b.py", "zwei", "deux")),
    ]
    stack = build_stack(base, overlays)
    assert stack.changing == {"a.py": (0, 2), "b.py": (1, 3)}
    assert stack.owner("a.py") == "third"
    assert stack.owner("b.py") == "broken"  # listed, though it does not apply
    assert stack.owner("c.py") is None
    assert stack.final["a.py"] == FileState(b"eins\n")
