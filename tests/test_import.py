"""`forkman import`: quilt series, format-patch files and commits become overlays, exactly."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ForkmanRunner, run_git
from import_setup import (
    CHECKOUT,
    app_state,
    fresh_apply,
    make_app,
    make_fork,
    make_lib,
    quilt_folder,
    tree,
)


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    return make_lib(tmp_path)


@pytest.fixture
def app(app_repo: Path, lib: Path, forkman_run: ForkmanRunner) -> Path:
    return make_app(app_repo, lib, forkman_run)


def test_quilt_series_imports_exactly_and_reports_each(
    app: Path, lib: Path, tmp_path: Path, forkman_run: ForkmanRunner
) -> None:
    folder = quilt_folder(tmp_path)
    run = forkman_run("import", "--quilt", str(folder), "--json", cwd=app, expect=1)
    report = json.loads(run.stdout)
    states = {p["name"]: p["state"] for p in report["patches"]}
    assert states == {
        "fix-main": "imported",
        "p0_new": "moved",
        "broken": "failed",
        "needs-broken": "depends",
        "crlf": "imported",
    }
    by_name = {p["name"]: p for p in report["patches"]}
    assert by_name["p0_new"]["moved"] == [
        {"path": "src/main.c", "hunk": 1, "line": 17, "offset": 2, "fuzz": 1}
    ]
    assert "needed fuzz 1" in by_name["p0_new"]["detail"]
    assert by_name["broken"]["failed"][0]["path"] == "src/util.c"
    assert by_name["needs-broken"]["depends_on"] == ["broken"]
    assert by_name["p0_new"]["renamed"] == ["lowercased"]

    series = (app / "overlays" / "series").read_text()
    assert series == "# from upstream\nfix-main\np0_new\ncrlf\n"
    fix = (app / "overlays" / "fix-main.patch").read_text()
    assert fix.startswith("From: Jane Doe <jane@example.org>\nSubject: Say line four louder\n")
    for field in ("Origin: vendor, https://example.org/1", "Bug-Debian: https://bugs.debian.org/42",
                  "Forwarded: not-needed", "Reviewed-By: Rev <rev@example.org>",
                  "Last-Update: 2024-01-02", "Imported-From: quilt fix-main.patch"):  # fmt: skip
        assert f"\n{field}\n" in fix
    assert "The fourth line was too quiet.\n\nSecond paragraph." in fix
    assert "Imported-From: quilt P0_New.diff -p0" in (app / "overlays" / "p0_new.patch").read_text()

    # what quilt itself makes of the same series (less the two that do not apply)
    expected = tmp_path / "quilt-tree"
    shutil.copytree(lib, expected, ignore=shutil.ignore_patterns(".git"))
    for name, level in (("fix-main.patch", 1), ("P0_New.diff", 0), ("crlf.patch", 1)):
        subprocess.run(["patch", f"-p{level}", "-s", "-i", str(folder / name)], cwd=expected,
                       check=True)  # fmt: skip
    for leftover in expected.glob("**/*.orig"):
        leftover.unlink()
    assert tree(app / CHECKOUT) == tree(expected)  # the import put them in the checkout
    assert fresh_apply(app, tmp_path, forkman_run) == tree(expected)


def test_dry_run_and_a_refused_import_change_nothing(
    app: Path, tmp_path: Path, forkman_run: ForkmanRunner
) -> None:
    folder = quilt_folder(tmp_path)
    before, checkout = app_state(app), tree(app / CHECKOUT)
    run = forkman_run("import", "--quilt", str(folder), "--dry-run", cwd=app, expect=1)
    assert "would import 3 of 5" in run.stdout
    assert app_state(app) == before and tree(app / CHECKOUT) == checkout
    (folder / "series").write_text("fix-main.patch\nmissing.patch\n")
    run = forkman_run("import", "--quilt", str(folder), cwd=app, expect=2)
    assert "missing.patch" in run.stderr and "series:2" in run.stderr
    assert app_state(app) == before
    run = forkman_run("import", "--quilt", str(tmp_path), cwd=app, expect=2)
    assert "no series file" in run.stderr
    run = forkman_run("import", cwd=app, expect=2)
    assert "--quilt DIR" in run.stderr


# -- format-patch and commits --------------------------------------------------------------------
def test_format_patch_folder_imports_and_a_fresh_clone_matches_themake_fork(
    app: Path, lib: Path, tmp_path: Path, forkman_run: ForkmanRunner
) -> None:
    fork = make_fork(lib, tmp_path)
    out = tmp_path / "outgoing"
    run_git(fork, "format-patch", "-q", "--binary", "-M", "-o", str(out), "v1.0..HEAD")
    run = forkman_run("import", "--patches", str(out), cwd=app)
    assert run.stdout.count("imported ") >= 3
    assert (app / "overlays" / "series").read_text() == (
        "spell-out-ten\nrename-and-add\ndrop-util-add-a-script\nadd-a-logo\n"
    )
    moved = (app / "overlays" / "rename-and-add.patch").read_text()
    assert "rename from old name.txt\nrename to new name.txt\n" in moved
    assert "GIT binary patch" in (app / "overlays" / "add-a-logo.patch").read_text()
    spell = (app / "overlays" / "spell-out-ten.patch").read_text()
    assert "Subject: Spell out ten\n" in spell and "Words read better." in spell
    assert "Bug-Debian: https://bugs.debian.org/7" in spell
    assert (
        "From: Other Author <other@example.org>"
        in (app / "overlays" / "drop-util-add-a-script.patch").read_text()
    )
    assert fresh_apply(app, tmp_path, forkman_run) == tree(fork)


def test_one_mbox_imports_like_the_folder(
    app: Path, lib: Path, tmp_path: Path, forkman_run: ForkmanRunner
) -> None:
    fork = make_fork(lib, tmp_path)
    mbox = tmp_path / "series.mbox"
    mbox.write_bytes(subprocess.run(["git", "format-patch", "--stdout", "v1.0..HEAD"], cwd=fork,
                                    capture_output=True, check=True).stdout)  # fmt: skip
    forkman_run("import", "--patches", str(mbox), cwd=app)
    assert len((app / "overlays" / "series").read_text().split()) == 4
    assert fresh_apply(app, tmp_path, forkman_run) == tree(fork)


def test_commits_of_a_fork_import_with_their_authors(
    app: Path, lib: Path, tmp_path: Path, forkman_run: ForkmanRunner
) -> None:
    fork = make_fork(lib, tmp_path)
    run = forkman_run("import", "--commits", "v1.0..HEAD", "--from", str(fork), "--json", cwd=app)
    report = json.loads(run.stdout)
    assert [p["state"] for p in report["patches"]] == ["imported"] * 4
    assert report["imported"] == [
        "spell-out-ten",
        "rename-and-add",
        "drop-util-add-a-script",
        "add-a-logo",
    ]
    drop = (app / "overlays" / "drop-util-add-a-script.patch").read_text()
    assert "From: Other Author <other@example.org>" in drop and "Imported-From: commit " in drop
    assert fresh_apply(app, tmp_path, forkman_run) == tree(fork)


def test_upstream_pr_works_on_an_imported_overlay(
    app: Path, tmp_path: Path, forkman_run: ForkmanRunner
) -> None:
    folder = quilt_folder(tmp_path)
    forkman_run("import", "--quilt", str(folder), cwd=app, expect=1)
    run = forkman_run("upstream-pr", "fix-main", "--base", "main", "--json", cwd=app)
    pr = json.loads(run.stdout)
    assert pr["title"] == "Say line four louder"
    assert [f["path"] for f in pr["files"]] == ["src/main.c"]
    checkout = app / CHECKOUT
    author = run_git(checkout, "log", "-1", "--format=%an <%ae>", pr["commit"]).strip()
    assert author == "Jane Doe <jane@example.org>"
    shown = run_git(checkout, "show", "--format=", pr["commit"], "--", "src/main.c")
    assert "-line 4\n+LINE 4\n" in shown


def test_a_symlink_out_of_the_checkout_does_not_come_in(
    app: Path, tmp_path: Path, forkman_run: ForkmanRunner
) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "0001-evil.patch").write_text(
        "Subject: [PATCH] evil\n\n---\ndiff --git a/evil b/evil\nnew file mode 120000\n"
        "--- /dev/null\n+++ b/evil\n@@ -0,0 +1 @@\n+../../etc\n\\ No newline at end of file\n"
    )
    (folder / "0002-fine.patch").write_text(
        "Subject: [PATCH] fine\n\n---\ndiff --git a/README b/README\n--- a/README\n+++ b/README\n"
        "@@ -1 +1 @@\n-lib\n+lib, fine\n"
    )
    run = forkman_run("import", "--patches", str(folder), "--json", cwd=app, expect=1)
    states = {p["name"]: (p["state"], p["detail"]) for p in json.loads(run.stdout)["patches"]}
    assert states["evil"][0] == "failed" and "outside the checkout" in states["evil"][1]
    assert states["fine"][0] == "imported"
    assert not (app / CHECKOUT / "evil").is_symlink()
    assert (app / "overlays" / "series").read_text() == "fine\n"
