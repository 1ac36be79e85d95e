"""Edits that hide from `git status` are still found: commits made in the checkout, files git is
told not to look at, ignored files a new release would overwrite, a pin the checkout lacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import forkman, git, make_app

from forkman.autogpt.example import COST_CONFIG
from forkman.store.project import Project

V9 = "autogpt-platform-beta-v0.6.9"


@pytest.fixture
def project(upstream: Path, app_repo: Path) -> Project:
    return make_app(app_repo, upstream, ("llm-models",))


def test_a_commit_made_in_the_checkout_is_found_and_apply_keeps_it(
    project: Project, capsys
) -> None:  # type: ignore[no-untyped-def]
    checkout = project.checkout
    (checkout / COST_CONFIG).write_text("# edited straight in the checkout\n")
    git(checkout, "commit", "-qam", "A direct edit")
    head = git(checkout, "rev-parse", "HEAD")

    code, out = forkman(capsys, "guard", repo=project.root)
    assert code == 1 and "1 commit made in the checkout" in out + forkman.last_err  # type: ignore[attr-defined]
    code, out = forkman(capsys, "overlay", "status", repo=project.root)
    assert "A direct edit" in out + forkman.last_err  # type: ignore[attr-defined]
    for command in ("apply", "sync"):
        code, _ = forkman(capsys, command, repo=project.root)
        err = forkman.last_err  # type: ignore[attr-defined]
        assert code == 2 and "import --commits" in err and len(err.strip().splitlines()) == 1
        assert git(checkout, "rev-parse", "HEAD") == head


@pytest.mark.parametrize("flag", ["--assume-unchanged", "--skip-worktree"])
def test_an_edit_git_is_told_not_to_see_is_found(project: Project, capsys, flag: str) -> None:  # type: ignore[no-untyped-def]
    checkout = project.checkout
    git(checkout, "update-index", flag, "--", COST_CONFIG)
    (checkout / COST_CONFIG).write_text("# hidden from git status\n")
    assert COST_CONFIG not in git(checkout, "status", "--porcelain")

    code, out = forkman(capsys, "guard", repo=project.root)
    assert code == 1 and COST_CONFIG in out + forkman.last_err  # type: ignore[attr-defined]
    code, _ = forkman(capsys, "sync", "--to", V9, repo=project.root)
    assert code == 2 and COST_CONFIG in forkman.last_err  # type: ignore[attr-defined]
    assert not project.sync_in_progress()  # refused before it began, not midway
    assert (checkout / COST_CONFIG).read_text() == "# hidden from git status\n"


def test_files_a_sparse_checkout_leaves_out_are_no_edit(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    # on AutoGPT (sparse autogpt_platform/) apply and sync refused every out-of-cone file
    checkout = project.checkout
    # what a sparse checkout leaves outside its cone: the skip-worktree bit, and no file
    for path in ("classic/README.md", "docs/index.md"):
        git(checkout, "update-index", "--skip-worktree", "--", path)
        (checkout / path).unlink()

    code, out = forkman(capsys, "guard", repo=project.root)
    assert code == 0, out + forkman.last_err  # type: ignore[attr-defined]
    code, _ = forkman(capsys, "sync", "--to", V9, repo=project.root)
    assert code == 0, forkman.last_err  # type: ignore[attr-defined]
    assert project.lock().ref == V9


def test_an_ignored_file_the_new_release_adds_is_not_overwritten(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    checkout = project.checkout
    pin = project.lock().commit
    added = git(checkout, "diff", "--name-only", "--diff-filter=A", pin, V9).splitlines()
    assert added, "the example's v0.6.9 adds a file"
    (checkout / ".git" / "info" / "exclude").write_text(f"/{added[0]}\n")
    (checkout / added[0]).parent.mkdir(parents=True, exist_ok=True)
    (checkout / added[0]).write_text("mine, ignored\n")

    code, _ = forkman(capsys, "sync", "--to", V9, repo=project.root)
    assert code == 2 and added[0] in forkman.last_err  # type: ignore[attr-defined]
    assert (checkout / added[0]).read_text() == "mine, ignored\n" and not project.sync_in_progress()


def test_a_file_an_overlay_adds_that_the_new_release_adds_too_is_no_users_file(
    project: Project, capsys
) -> None:  # type: ignore[no-untyped-def]
    # Debian's curl backports add test files that curl 8 has: the sync refused them as untracked
    checkout = project.checkout
    pin = project.lock().commit
    added = git(checkout, "diff", "--name-only", "--diff-filter=A", pin, V9).splitlines()[0]
    theirs = git(checkout, "show", f"{V9}:{added}")
    (checkout / added).parent.mkdir(parents=True, exist_ok=True)
    (checkout / added).write_text(theirs + "\n")
    code, _ = forkman(capsys, "overlay", "capture", "backport", repo=project.root)
    assert code == 0, forkman.last_err  # type: ignore[attr-defined]

    code, out = forkman(capsys, "sync", "--to", V9, "--json", repo=project.root)
    assert code == 0, forkman.last_err  # type: ignore[attr-defined]
    states = {o["name"]: o["state"] for o in json.loads(out)["overlays"]}
    assert states["backport"] == "upstreamed"
    assert (checkout / added).read_text() == theirs + "\n"


def test_a_pin_the_checkout_lacks_is_a_finding(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    lock = project.lock_path.read_text()
    project.lock_path.write_text(lock.replace(project.lock().commit, "1" * 40))
    code, out = forkman(capsys, "guard", repo=project.root)
    assert code == 1 and "forkman.lock" in out + forkman.last_err  # type: ignore[attr-defined]
