"""The patch reader and writer (forkman/core/patches.py) on plain text: every dialect real series use."""

from __future__ import annotations

import pytest

from forkman.core.patches import (
    FilePatch,
    Hunk,
    HunkMismatch,
    PatchFormatError,
    apply_binary,
    apply_text,
    parse,
    quote_path,
    render,
    unquote_path,
)

# `git diff --cached -M -C --binary --full-index` of a real repository (git 2.39).
GIT_KINDS = """\
diff --git a/bin.dat b/bin.dat
index c8b49c8cd518e58491924bfc364ff26e01a85009..59ed9d7f31026f8313ca486d3b6271de410d6294 100644
GIT binary patch
delta 21
ccmZqRXyBNT!sYDY=;!Y0qNu32F>ewx075+m5C8xG

delta 10
RcmZqRXy91H$h?S=5daTR0$Tt8

diff --git a/copy_src.py b/copied.py
similarity index 100%
copy from copy_src.py
copy to copied.py
diff --git a/copy_src.py b/copy_src.py
index 1d9c4dd5e38596ba280d3054892aaa0e000e3bea..23167cb9b401b1b470e49972c1a2261a8f7dc29a 100644
--- a/copy_src.py
+++ b/copy_src.py
@@ -18,3 +18,4 @@ x16 = 16
 x17 = 17
 x18 = 18
 x19 = 19
+x20 = 20
diff --git a/empty b/empty
new file mode 100644
index 0000000000000000000000000000000000000000..e69de29bb2d1d6434b8b29ae775ad8c2e48c5391
diff --git a/link b/link
new file mode 120000
index 0000000000000000000000000000000000000000..0231def3d8f55958dddba757de918ca5eae0df4c
--- /dev/null
+++ b/link
@@ -0,0 +1 @@
+script.sh
\\ No newline at end of file
diff --git a/move me.txt b/moved here.txt
similarity index 95%
rename from move me.txt
rename to moved here.txt
index af8a489dcd5fafd865d2779c644a9fb1ed226224..1c93ad92fbe55cdb78ec12a15f528d8b115215fb 100644
--- a/move me.txt\t
+++ b/moved here.txt\t
@@ -3,7 +3,7 @@ line 1
 line 2
 line 3
 line 4
-line 5
+LINE 5
 line 6
 line 7
 line 8
diff --git a/new.bin b/new.bin
new file mode 100644
index 0000000000000000000000000000000000000000..f5f26c8050b645ee0e3e0c0c2673ef7c0c3261c9
GIT binary patch
literal 32
OcmZSh&-jl44+a4LC=c-f

literal 0
HcmV?d00001

diff --git a/old.bin b/old.bin
deleted file mode 100644
index 94feafa0186e084143f959c3352062ccd3b52129..0000000000000000000000000000000000000000
GIT binary patch
literal 0
HcmV?d00001

literal 6
NcmZQzOwZ3t1pov!0jmH2

diff --git a/script.sh b/script.sh
old mode 100644
new mode 100755
diff --git a/script.sh b/run.sh
old mode 100755
new mode 100644
similarity index 78%
rename from script.sh
rename to run.sh
index 4163036..5372251
--- a/script.sh
+++ b/run.sh
@@ -1,2 +1,3 @@
 #!/bin/sh
 echo hi
+more
"""

# git's default core.quotePath=true: a space is left alone, a quote, a tab and é are quoted.
GIT_QUOTED = """\
diff --git a/a b.txt b/a b.txt
deleted file mode 100644
index 587be6b..0000000
--- a/a b.txt\t
+++ /dev/null
@@ -1 +0,0 @@
-x
diff --git "a/q\\"uote" "b/q\\"uote"
index 975fbec..ba9f292 100644
--- "a/q\\"uote"
+++ "b/q\\"uote"
@@ -1 +1 @@
-y
+y2
\\ No newline at end of file
diff --git "a/t\\tab" "b/t\\tab"
index b680253..08e72f3 100644
--- "a/t\\tab"
+++ "b/t\\tab"
@@ -1 +1,2 @@
 z
+z2
diff --git "a/\\303\\251.txt" "b/\\303\\251.txt"
index d905d9d..3811af3 100644
--- "a/\\303\\251.txt"
+++ "b/\\303\\251.txt"
@@ -1 +1 @@
-e
+e2
"""


def test_every_git_change_kind_is_read() -> None:
    patch = parse(GIT_KINDS)
    kinds = [(f.kind, f.old_path, f.new_path) for f in patch.files]
    assert kinds == [
        ("modified", "bin.dat", "bin.dat"),
        ("copied", "copy_src.py", "copied.py"),
        ("modified", "copy_src.py", "copy_src.py"),
        ("added", None, "empty"),
        ("added", None, "link"),
        ("renamed", "move me.txt", "moved here.txt"),
        ("added", None, "new.bin"),
        ("deleted", "old.bin", None),
        ("modified", "script.sh", "script.sh"),
        ("renamed", "script.sh", "run.sh"),
    ]
    by_path = {(f.kind, f.path): f for f in patch.files}
    assert by_path["added", "link"].new_mode == "120000"
    assert by_path["modified", "script.sh"].old_mode == "100644"
    assert by_path["modified", "script.sh"].new_mode == "100755"
    renamed = by_path["renamed", "run.sh"]
    assert (renamed.old_mode, renamed.new_mode, renamed.similarity) == ("100755", "100644", 78)
    assert by_path["renamed", "moved here.txt"].similarity == 95
    assert by_path["modified", "bin.dat"].binary is not None
    assert patch.strip == 1 and patch.prose == "" and not patch.crlf


def test_git_output_round_trips_byte_for_byte() -> None:
    assert render(parse(GIT_KINDS).files, non_ascii=True) == GIT_KINDS
    assert render(parse(GIT_QUOTED).files, non_ascii=True) == GIT_QUOTED


def test_quoted_paths_read_as_git_reads_them() -> None:
    patch = parse(GIT_QUOTED)
    assert [f.path for f in patch.files] == ["a b.txt", 'q"uote', "t\tab", "é.txt"]
    no_newline = patch.files[1].hunks[0].sides()
    assert no_newline == (["y\n"], ["y2"])


@pytest.mark.parametrize(
    ("path", "quoted"),
    [
        ("plain/path.py", "plain/path.py"),
        ("with space", "with space"),
        ('q"uote', '"q\\"uote"'),
        ("back\\slash", '"back\\\\slash"'),
        ("t\tab", '"t\\tab"'),
        ("new\nline", '"new\\nline"'),
        ("bell\a", '"bell\\a"'),
        ("\x01ctl", '"\\001ctl"'),
        ("é", '"\\303\\251"'),
        ("b/.git/hooks", "b/.git/hooks"),
    ],
)
def test_quote_as_git_does(path: str, quoted: str) -> None:
    assert quote_path(path) == quoted
    if quoted.startswith('"'):
        assert unquote_path(quoted) == (path, len(quoted))


def test_octal_escapes_and_non_utf8_bytes() -> None:
    assert unquote_path('"b/\\056git/hooks"')[0] == "b/.git/hooks"
    latin1 = b"caf\xe9".decode("utf-8", "surrogateescape")
    assert quote_path(latin1) == '"caf\\351"'
    assert quote_path(latin1, non_ascii=False) == latin1
    assert unquote_path('"caf\\351"')[0] == latin1
    # core.quotePath=false (forkman's own exports) writes é as is but still quotes a tab
    assert quote_path("é", non_ascii=False) == "é"
    assert quote_path("é\t", non_ascii=False) == '"é\\t"'
    with pytest.raises(ValueError):
        unquote_path('"no end')
    with pytest.raises(ValueError):
        unquote_path('"bad \\q escape"')


def test_quoted_dot_git_path_is_read_as_dot_git() -> None:
    text = (
        'diff --git "a/\\056git/hooks/pre-commit" "b/\\056git/hooks/pre-commit"\n'
        "new file mode 100755\n--- /dev/null\n"
        '+++ "b/\\056git/hooks/pre-commit"\n@@ -0,0 +1 @@\n+evil\n'
    )
    assert parse(text).files[0].new_path == ".git/hooks/pre-commit"


def test_writer_round_trips_awkward_names() -> None:
    names = ["a b", 'q"x', "t\tx", "é ü", "back\\s", "dir with space/f.txt", "-dash", "x\x7f"]
    hunk = Hunk(1, 1, 1, 1, "", ("-old\n", "+new\n"))
    for non_ascii in (True, False):
        files = tuple(FilePatch(n, n, hunks=(hunk,), git=True) for n in names)
        files += (FilePatch(names[0], names[3], "renamed", similarity=90, hunks=(hunk,), git=True),)
        files += (FilePatch(None, names[1], "added", new_mode="100644", hunks=(hunk,), git=True),)
        text = render(files, non_ascii=non_ascii)
        back = parse(text)
        assert [(f.kind, f.old_path, f.new_path) for f in back.files] == [
            (f.kind, f.old_path, f.new_path) for f in files
        ]
        assert render(back.files, non_ascii=non_ascii) == text


def test_unquoted_names_with_spaces_split_where_both_sides_agree() -> None:
    text = "diff --git a/x b/y b/x b/y\nold mode 100644\nnew mode 100755\n"
    assert parse(text).files[0].path == "x b/y"


NAUR = """\
Description: fix the b
 It was wrong.
Index: pkg/src/x.c
===================================================================
diff -Naur pkg.orig/src/n.c pkg/src/n.c
--- pkg.orig/src/n.c	1970-01-01 00:00:00.000000000 +0000
+++ pkg/src/n.c	2026-12-01 11:41:31.996911558 +0000
@@ -0,0 +1 @@
+new
diff -Naur pkg.orig/src/x.c pkg/src/x.c
--- pkg.orig/src/x.c	2026-12-01 11:41:31.996911558 +0000
+++ pkg/src/x.c	2026-12-01 11:41:31.996911558 +0000
@@ -1,3 +1,3 @@
 a
-b
+B
 c
diff -Naur pkg.orig/src/gone.c pkg/src/gone.c
--- pkg.orig/src/gone.c	2026-12-01 11:41:31.996911558 +0000
+++ pkg/src/gone.c	1970-01-01 00:00:00.000000000 +0000
@@ -1 +0,0 @@
-old
"""


def test_diff_naur_with_dates_index_lines_and_epoch_for_created_and_deleted() -> None:
    patch = parse(NAUR)
    assert patch.strip == 1
    assert patch.prose == "Description: fix the b\n It was wrong.\n"
    assert [(f.kind, f.path) for f in patch.files] == [
        ("added", "src/n.c"),
        ("modified", "src/x.c"),
        ("deleted", "src/gone.c"),
    ]
    assert not patch.files[0].git


def test_p0_diff_of_an_orig_copy_changes_the_real_name() -> None:
    text = (
        "--- x.c.orig\t2026-12-01 11:41:32.007207241 +0000\n"
        "+++ x.c\t2026-12-01 11:41:32.008567210 +0000\n"
        "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
    )
    patch = parse(text)
    assert patch.strip == 0 and patch.files[0].path == "x.c"
    assert parse(text, exists={"x.c"}).files[0].path == "x.c"


def test_strip_level_is_guessed_from_the_tree_and_given_levels_are_honoured() -> None:
    text = "--- src/lib/a.c\n+++ src/lib/a.c\n@@ -1 +1 @@\n-a\n+b\n"
    assert parse(text, exists={"lib/a.c"}).files[0].path == "lib/a.c"
    assert parse(text, exists={"src/lib/a.c"}).files[0].path == "src/lib/a.c"
    assert parse(text, exists={"src/lib/a.c"}).strip == 0
    assert parse(text, strip=2).files[0].path == "a.c"
    no_prefix = "diff --git x.c x.c\nindex 1..2 100644\n--- x.c\n+++ x.c\n@@ -1 +1 @@\n-a\n+b\n"
    assert parse(no_prefix).strip == 0 and parse(no_prefix).files[0].path == "x.c"
    with pytest.raises(PatchFormatError, match="no path left at -p3"):
        parse(text, strip=3)


def test_dates_in_ctime_form_and_names_without_a_tab() -> None:
    text = (
        "--- a/f.c Thu Jan  1 00:00:00 1970\n+++ b/f.c Mon Mar  4 10:00:00 2024\n"
        "@@ -0,0 +1 @@\n+x\n"
    )
    fp = parse(text).files[0]
    assert (fp.kind, fp.path) == ("added", "f.c")


def test_leading_prose_and_a_mail_signature_are_not_part_of_the_diff() -> None:
    mail = (
        "From 1234 Mon Sep 17 00:00:00 2001\nFrom: A <a@x>\nSubject: [PATCH] x\n\nwhy\n---\n"
        " f | 2 +-\n\n" + "diff --git a/f b/f\nindex 1..2 100644\n--- a/f\n+++ b/f\n"
        "@@ -1 +1 @@\n-a\n+b\n-- \n2.39.5\n\n"
    )
    patch = parse(mail)
    assert patch.prose.startswith("From 1234") and patch.prose.endswith(" f | 2 +-\n\n")
    assert patch.files[0].hunks[0].lines == ("-a\n", "+b\n")


def test_crlf_patch_file_is_read_without_its_crs_but_crs_inside_lines_stay() -> None:
    lf = "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n keep\n-a\n+b\n"
    patch = parse(lf.replace("\n", "\r\n"))
    assert patch.crlf and patch.files[0].hunks[0].lines == (" keep\n", "-a\n", "+b\n")
    kept = parse(lf.replace("\n", "\r\n"), crlf=False)
    assert kept.files[0].hunks[0].lines == (" keep\r\n", "-a\r\n", "+b\r\n")
    # a CRLF file in an LF patch: the CRs are content
    content = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\r\n+b\r\n"
    assert not parse(content).crlf
    assert apply_text(b"a\r\n", parse(content).files[0]) == b"b\r\n"


def test_apply_exactly_including_no_newline_and_non_utf8() -> None:
    text = (
        "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n caf\udce9\n-end\n\\ No newline at end of file\n+end\n"
    )
    fp = parse(text).files[0]
    assert apply_text(b"caf\xe9\nend", fp) == b"caf\xe9\nend\n"
    with pytest.raises(HunkMismatch):
        apply_text(b"caf\xe9\nend\n", fp)
    with pytest.raises(HunkMismatch):
        apply_text(b"x\ncaf\xe9\nend", fp)  # no offset search


def test_a_hunk_that_breaks_its_counts_is_reported_with_its_line() -> None:
    with pytest.raises(PatchFormatError) as info:
        parse("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n+b\n+c\n")
    assert info.value.line == 6
    with pytest.raises(PatchFormatError, match="ends early"):
        parse("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n")


def test_empty_context_lines_eaten_by_a_mailer_still_count() -> None:
    fp = parse("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n").files[0]
    assert apply_text(b"a\n\nb\n", fp) == b"a\n\nc\n"


def test_binary_literal_and_delta_are_decoded_as_git_wrote_them() -> None:
    files = {(f.kind, f.path): f for f in parse(GIT_KINDS).files}
    assert apply_binary(None, files["added", "new.bin"]) == bytes([0, 255, 1, 254]) * 8
    old = bytes(range(256)) * 4
    new = bytearray(old)
    new[100:110] = b"CHANGED!!!"
    assert apply_binary(old, files["modified", "bin.dat"]) == bytes(new)
    assert apply_binary(b"\x00\x01gone", files["deleted", "old.bin"]) is None
    with pytest.raises(HunkMismatch):
        apply_binary(b"other base", files["modified", "bin.dat"])


def test_plain_binary_note_is_kept_as_a_change_without_data() -> None:
    patch = parse("Index: x\nBinary files a/logo.png and b/logo.png differ\n")
    assert patch.files[0].binary_differs and patch.files[0].path == "logo.png"


def test_real_git_diff_of_awkward_names_reads_back_and_our_render_applies(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    def git(*args: str, stdin: bytes | None = None) -> bytes:
        return subprocess.run(
            ["git", *args], cwd=tmp_path, input=stdin, capture_output=True, check=True
        ).stdout

    names = ["sp ace.txt", 'quo"te', "ta\tb", "ünï.txt", "back\\slash", "dir x/in ner"]
    git("init", "-q")
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("one\n")
    git("add", "-A")
    git("commit", "-qm", "base")
    for name in names:
        (tmp_path / name).write_text("two\n")
    for quote in ("true", "false"):
        text = git("-c", f"core.quotePath={quote}", "diff").decode("utf-8", "surrogateescape")
        patch = parse(text)
        assert sorted(f.path for f in patch.files) == sorted(names)
        git("stash", "-q")
        ours = render(patch.files, non_ascii=quote == "true").encode("utf-8", "surrogateescape")
        git("apply", "--check", "-", stdin=ours)
        git("stash", "pop", "-q")
