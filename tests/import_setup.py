"""What the import tests build: a small upstream, its app repo, a quilt series, a fork."""

from __future__ import annotations

from pathlib import Path

from conftest import ForkmanRunner, run_git

CHECKOUT = "upstream/lib"
LINES = "".join(f"line {n}\n" for n in range(1, 31))


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ROOT but .git, as bytes (a symlink as its target)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        if path.is_symlink():
            found[rel] = b"-> " + str(path.readlink()).encode()
        elif path.is_file():
            found[rel] = path.read_bytes() + (b" [x]" if path.stat().st_mode & 0o100 else b"")
    return found


def make_lib(tmp_path: Path) -> Path:
    """A small upstream with one release, v1.0."""
    repo = tmp_path / "lib"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "main.c").write_text(LINES)
    (repo / "src" / "util.c").write_text("int util(void) { return 1; }\n")
    (repo / "README").write_text("lib\n")
    (repo / "old name.txt").write_text("moved\n" * 5)
    run_git(repo, "init", "-q")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "lib 1.0")
    run_git(repo, "tag", "v1.0")
    return repo


def make_app(app_repo: Path, lib: Path, forkman_run: ForkmanRunner) -> Path:
    """The app repo after `forkman init` on LIB, pinned at v1.0, committed."""
    forkman_run("init", "--upstream", str(lib), "--ref", "v1.0", "--release-pattern", "v*",
                "--path", CHECKOUT, cwd=app_repo)  # fmt: skip
    run_git(app_repo, "add", "-A")
    run_git(app_repo, "commit", "-qm", "track lib")
    return app_repo


def fresh_apply(app: Path, tmp_path: Path, forkman_run: ForkmanRunner) -> dict[str, bytes]:
    """Commit the app repo, clone it, `forkman apply` there: the checkout's tree."""
    run_git(app, "add", "-A")
    run_git(app, "commit", "-qm", "import", "--allow-empty")
    clone = tmp_path / "fresh"
    run_git(tmp_path, "clone", "-q", str(app), str(clone))
    forkman_run("apply", cwd=clone)
    return tree(clone / CHECKOUT)


def app_state(app: Path) -> dict[str, bytes]:
    return {k: v for k, v in tree(app).items() if not k.startswith("upstream/")}


# -- quilt ---------------------------------------------------------------------------------------
FIX_MAIN = """\
Description: Say line four louder
 The fourth line was too quiet.
 .
 Second paragraph.
Author: Jane Doe <jane@example.org>
Origin: vendor, https://example.org/1
Bug-Debian: https://bugs.debian.org/42
Forwarded: not-needed
Reviewed-By: Rev <rev@example.org>
Last-Update: 2024-01-02
---
This patch header follows DEP-3.
Index: lib-1.0/src/main.c
===================================================================
--- lib-1.0.orig/src/main.c\t2024-01-01 00:00:00.000000000 +0000
+++ lib-1.0/src/main.c\t2024-01-02 00:00:00.000000000 +0000
@@ -2,5 +2,5 @@
 line 2
 line 3
-line 4
+LINE 4
 line 5
 line 6
"""

# -p0, a new file (epoch date), and a hunk 2 lines off with one context line changed (fuzz 1)
P0_NEW = """\
add a note and touch line 20
--- NOTES\t1970-01-01 00:00:00.000000000 +0000
+++ NOTES\t2024-01-01 00:00:00.000000000 +0000
@@ -0,0 +1 @@
+a note
--- src/main.c.orig
+++ src/main.c
@@ -15,7 +15,7 @@
 line 17 changed
 line 18
 line 19
-line 20
+line twenty
 line 21
 line 22
 line 23
"""

BROKEN = """\
Subject: needs a line nobody has
--- a/src/util.c
+++ b/src/util.c
@@ -1 +1 @@
-int util(void) { return 2; }
+int util(void) { return 3; }
"""

NEEDS_BROKEN = """\
--- a/src/util.c
+++ b/src/util.c
@@ -1 +1 @@
-int util(void) { return 3; }
+int util(void) { return 4; }
"""

CRLF_README = "--- a/README\r\n+++ b/README\r\n@@ -1 +1,2 @@\r\n lib\r\n+crlf patch\r\n"


def quilt_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "debian" / "patches"
    folder.mkdir(parents=True)
    (folder / "fix-main.patch").write_text(FIX_MAIN)
    (folder / "P0_New.diff").write_text(P0_NEW)
    (folder / "broken.patch").write_text(BROKEN)
    (folder / "needs-broken.patch").write_text(NEEDS_BROKEN)
    (folder / "crlf.patch").write_bytes(CRLF_README.encode())
    (folder / "series").write_text(
        "# from upstream\nfix-main.patch\n"
        "P0_New.diff -p0\n"
        "broken.patch\n"
        "needs-broken.patch # after broken\n"
        "crlf.patch\n"
    )
    return folder


def make_fork(lib: Path, tmp_path: Path) -> Path:
    """A fork of lib with a few commits of every kind on top of v1.0."""
    fork = tmp_path / "fork"
    run_git(tmp_path, "clone", "-q", str(lib), str(fork))
    (fork / "src" / "main.c").write_text(LINES.replace("line 10\n", "line ten\n"))
    run_git(
        fork,
        "commit",
        "-qam",
        "Spell out ten\n\nWords read better.\n\nBug-Debian: https://bugs.debian.org/7",
    )
    run_git(fork, "mv", "old name.txt", "new name.txt")
    (fork / "added file.txt").write_text("new\n")
    run_git(fork, "add", "-A")
    run_git(fork, "commit", "-qm", "Rename and add")
    run_git(fork, "rm", "-q", "src/util.c")
    (fork / "run.sh").write_text("#!/bin/sh\n")
    (fork / "run.sh").chmod(0o755)
    run_git(fork, "add", "-A")
    run_git(fork, "-c", "user.name=Other Author", "-c", "user.email=other@example.org",
            "commit", "-qm", "Drop util, add a script")  # fmt: skip
    (fork / "logo.bin").write_bytes(bytes(range(256)) * 4)
    run_git(fork, "add", "-A")
    run_git(fork, "commit", "-qm", "Add a logo")
    return fork
