"""The runner's one environment policy: the caller's minus git's repository variables, plus pins."""

from __future__ import annotations

from pathlib import Path

import pytest

from forkman.git import runner


def test_git_repository_variables_are_dropped_and_the_users_settings_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("GIT_INDEX_FILE", "GIT_DIR", "GIT_WORK_TREE", "GIT_PREFIX", "GIT_COMMON_DIR",
                "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES"):  # fmt: skip
        monkeypatch.setenv(var, "/app/.git/something")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Someone")
    monkeypatch.setenv("GIT_SSH_COMMAND", "ssh -i key")
    env = runner.environment({"LC_ALL": "C"})
    assert not {k for k in env if k in runner.GIT_REPO_VARIABLES}
    assert env["GIT_AUTHOR_NAME"] == "Someone" and env["GIT_SSH_COMMAND"] == "ssh -i key"
    assert env["LC_ALL"] == "C"


def test_a_hooks_index_does_not_reach_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    runner.git("init", "-q", str(repo), cwd=tmp_path)
    (repo / "file.txt").write_text("hello\n")
    runner.git("add", "file.txt", cwd=repo)
    runner.git("commit", "-q", "-m", "A file", cwd=repo)
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "the-app-repos.index"))
    assert runner.git("status", "--porcelain", cwd=repo) == b""
