"""Upstream or a fork changing under forkman: a moved release tag, a second fork (issue 10, 19-20)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_git
from helpers import CHECKOUT, make_app

from forkman.autogpt.example import RELEASES, commit_files

NEWEST = RELEASES[2]  # the newest release that is not a pre-release


def test_a_force_moved_release_tag_is_reported_and_not_followed(
    app_repo: Path, upstream: Path, forkman_run
) -> None:
    make_app(app_repo, upstream, ("cost-config",), ref=NEWEST)
    pinned = json.loads((app_repo / "forkman.lock").read_text())["upstream"]["commit"]
    moved = commit_files(upstream, "retagged", {"MOVED.md": "moved\n"})
    run_git(upstream, "tag", "-f", "-a", NEWEST, "-m", "moved", moved)

    for command in (["sync", "--check"], ["sync"]):
        result = forkman_run(*command, cwd=app_repo, expect=1)
        assert "moved" in result.stdout + result.stderr
        assert pinned[:12] in result.stdout + result.stderr
        lock = json.loads((app_repo / "forkman.lock").read_text())["upstream"]
        assert lock["commit"] == pinned
        assert run_git(app_repo / CHECKOUT, "rev-parse", "HEAD").strip() == pinned

    forkman_run("sync", "--to", NEWEST, cwd=app_repo)
    assert json.loads((app_repo / "forkman.lock").read_text())["upstream"]["commit"] == moved


def test_push_to_a_second_fork_after_a_first(
    app_repo: Path, upstream: Path, bare_fork: Path, tmp_path: Path, forkman_run
) -> None:
    make_app(app_repo, upstream, ("cost-config",))
    forkman_run("upstream-pr", "cost-config", "--push", "--remote", str(bare_fork), cwd=app_repo)
    second = tmp_path / "second.git"
    run_git(tmp_path, "init", "-q", "--bare", str(second))

    forkman_run("upstream-pr", "cost-config", "--push", "--remote", str(second), cwd=app_repo)

    branch = "refs/heads/forkman/pr/cost-config"
    assert run_git(second, "rev-parse", branch) == run_git(bare_fork, "rev-parse", branch)
    # and the first fork still takes the next push, its lease unchanged by the second
    forkman_run("upstream-pr", "cost-config", "--push", "--remote", str(bare_fork), cwd=app_repo)
