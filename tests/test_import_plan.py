"""The import planned as values: names, headers, what GNU patch and git apply say, each outcome."""

from __future__ import annotations

from forkman.core.importing import (
    DEPENDS,
    EMPTY,
    FAILED,
    IMPORTED,
    MOVED,
    UNREADABLE,
    Source,
    ToolOutcome,
    imported_fields,
    link_leaves_checkout,
    outcome,
    prepare,
    read_git_apply,
    read_gnu_patch,
)

DEP3_PATCH = """\
Description: cap the frobnicator
 It overflowed.
Author: Jane <jane@example.org>
Bug-Debian: https://bugs.debian.org/1
Last-Update: 2024-01-01
---
Index: pkg/f.txt
===================================================================
--- pkg.orig/f.txt
+++ pkg/f.txt
@@ -1 +1 @@
-a
+b
"""


def test_prepare_names_reads_headers_and_guesses_strip() -> None:
    sources = [
        Source("debian/patches/cap.patch", DEP3_PATCH, "patch", 1, origin="quilt cap.patch"),
        Source("0001-Cap-It.patch", DEP3_PATCH, drop_number=True),
        Source("cap.patch", "just words\n", "patch"),
    ]
    first, second, third = prepare(sources, taken={"debian-patches-cap"})
    assert first.naming.name == "debian-patches-cap-2"
    assert second.naming.name == "cap-it"
    assert third.naming.name == "cap"
    assert first.header.subject == "cap the frobnicator" and first.header.body == "It overflowed."
    assert first.header.author == "Jane <jane@example.org>"
    assert first.paths == ("f.txt",)
    assert third.patch is None and third.error is None  # prose only: comes in as nothing
    context = prepare([Source("c.diff", "*** a/f\n--- b/f\n***************\n", "patch")])[0]
    assert context.patch is None and "context diff" in (context.error or "")
    assert imported_fields(first) == (
        ("Bug-Debian", "https://bugs.debian.org/1"),
        ("Last-Update", "2024-01-01"),
        ("Imported-From", "quilt cap.patch"),
        ("Forwarded", "no"),
    )


def test_gnu_patch_fuzz_offset_failure_and_reversed() -> None:
    moved = read_gnu_patch(
        "patching file f.txt\nHunk #1 succeeded at 4 with fuzz 1 (offset 1 line).\n"
        "Hunk #2 succeeded at 30 (offset -2 lines).\n",
        0,
    )
    assert moved.applied and [(h.hunk, h.fuzz, h.offset) for h in moved.moved] == [
        (1, 1, 1),
        (2, 0, -2),
    ]
    assert moved.moved[0].text() == "needed fuzz 1 (f.txt hunk #1 at line 4, offset +1 line)"
    assert moved.moved[1].text() == "needed an offset -2 lines (f.txt hunk #2 at line 30)"
    failed = read_gnu_patch(
        "patching file h.txt\nHunk #1 FAILED at 3.\n1 out of 1 hunk FAILED -- saving rejects\n", 1
    )
    assert not failed.applied and failed.failed[0].path == "h.txt" and failed.failed[0].line == 3
    assert failed.failed[0].text() == "h.txt hunk #1 at line 3 does not match"
    back = read_gnu_patch(
        "patching file g.txt\nReversed (or previously applied) patch detected!  Skipping patch.\n"
        "1 out of 1 hunk ignored -- saving rejects to file g.txt.rej\n",
        1,
    )
    assert back.reversed and not back.applied
    assert read_gnu_patch("patching file 'a b.txt'\nHunk #1 FAILED at 2.\n", 1).failed[0].path == (
        "a b.txt"
    )


def test_git_apply_offset_and_rejected_hunks() -> None:
    ok = read_git_apply(
        "Checking patch k.txt...\nHunk #1 succeeded at 5 (offset 2 lines).\n"
        "Applied patch k.txt cleanly.\n",
        0,
    )
    assert ok.applied and ok.moved[0].offset == 2
    rejected = read_git_apply(
        "Checking patch k.txt...\nerror: while searching for:\n3\n4\n\n"
        "error: patch failed: k.txt:3\nApplying patch k.txt with 1 reject...\nRejected hunk #1.\n",
        1,
    )
    assert not rejected.applied
    assert [(h.path, h.hunk, h.line) for h in rejected.failed] == [("k.txt", 1, 3)]
    missing = read_git_apply(
        "Checking patch n.txt...\nerror: n.txt: No such file or directory\n", 1
    )
    assert not missing.applied and "No such file" in missing.message


def test_outcomes_moved_failed_depends_and_empty() -> None:
    a, b, c, d = prepare(
        [
            Source("a.patch", DEP3_PATCH, "patch", 1),
            Source("b.patch", DEP3_PATCH, "patch", 1),
            Source("c.patch", DEP3_PATCH.replace("f.txt", "other.txt"), "patch", 1),
            Source("d.patch", "*** a/f\n--- b/f\n***************\n", "patch"),
        ]
    )
    fuzzed = read_gnu_patch("patching file f.txt\nHunk #1 succeeded at 3 with fuzz 2.\n", 0)
    first = outcome(a, fuzzed, True, [])
    assert first.state == MOVED and "needed fuzz 2" in first.detail and first.comes_in
    broken = outcome(a, read_gnu_patch("patching file f.txt\nHunk #1 FAILED at 1.\n", 1), False, [])
    assert broken.state == FAILED and "hunk #1" in broken.detail
    later = outcome(
        b, read_gnu_patch("patching file f.txt\nHunk #1 FAILED at 1.\n", 1), False, [broken]
    )
    assert later.state == DEPENDS and later.depends_on == ("a",)
    elsewhere = outcome(c, ToolOutcome(False, message="x"), False, [broken])
    assert elsewhere.state == FAILED
    assert outcome(c, ToolOutcome(True), False, []).state == EMPTY
    assert outcome(c, ToolOutcome(True), True, []).state == IMPORTED
    assert outcome(d, None, False, []).state == UNREADABLE
    (empty,) = prepare([Source("e.patch", "", "patch")])
    assert outcome(empty, None, False, []).state == EMPTY


def test_symlinks_that_leave_the_checkout() -> None:
    assert not link_leaves_checkout("docs/link", "../src/main.c")
    assert not link_leaves_checkout("link", "src/./main.c")
    assert link_leaves_checkout("link", "/etc/passwd")
    assert link_leaves_checkout("docs/link", "../../outside")
    assert link_leaves_checkout("link", ".git/hooks")
    assert link_leaves_checkout("docs/link", "../.git/config")


def test_names_from_subjects_are_short_like_format_patch_file_names() -> None:
    subject = "feat(blocks): Add ClaudeCodeBlock for executing tasks via Claude Code in E2B sandbox"
    first, second = prepare(
        [
            Source("commit 1", DEP3_PATCH, name_from=subject),
            Source("commit 2", DEP3_PATCH, name_from=subject),
        ]
    )
    assert first.naming.name == "feat-blocks-add-claudecodeblock-for-executing-tasks"
    assert first.naming.reasons == ("made from its subject",)
    assert second.naming.name == "feat-blocks-add-claudecodeblock-for-executing-2"
    assert second.naming.reasons[-1].endswith("is taken")
