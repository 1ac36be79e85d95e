"""The overlay stack's per-path index: which steps change a path, and its owner."""

from __future__ import annotations

from pathlib import Path

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


def test_an_archive_that_must_keep_what_is_there_takes_the_next_free_name(
    app_with_overlays: Path,
) -> None:
    # two releases whose names make one file name (`v2/rc1`, `v2_rc1`): the first sync's copy
    # of the whole overlay is never replaced by the second's
    from forkman.core import overlay as ov
    from forkman.store.project import open_project

    project = open_project(app_with_overlays)
    first = ov.parse("cost-config", project.overlay_text("cost-config"))
    second = first.with_field("Carried-Without", "another release")
    dropped = project.overlays_dir / "dropped"
    assert project.archive_overlay("dropped", first, "cost-config.before-v2_rc1", keep=True) == (
        "cost-config.before-v2_rc1"
    )
    again = project.archive_overlay("dropped", first, "cost-config.before-v2_rc1", keep=True)
    assert again == "cost-config.before-v2_rc1"  # a resumed sync writes the same file again
    other = project.archive_overlay("dropped", second, "cost-config.before-v2_rc1", keep=True)
    assert other == "cost-config.before-v2_rc1.2"
    assert (dropped / "cost-config.before-v2_rc1.patch").read_text() == ov.render(first)
    assert (dropped / "cost-config.before-v2_rc1.2.patch").read_text() == ov.render(second)
