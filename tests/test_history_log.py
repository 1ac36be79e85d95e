"""The culprit search's log: many watched paths (read as one whole log, picked out in Python)
give the same commits and blobs as git's own pathspec limiting."""

from __future__ import annotations

from pathlib import Path

from conftest import run_git

from forkman.git.history import _PATHSPECS, first_parent_log
from forkman.git.repository import GitRepo


def _commit(repo: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "--allow-empty", "-m", message)


def test_many_paths_log_equals_pathspec_logs(tmp_path: Path) -> None:
    repo = tmp_path / "up"
    repo.mkdir()
    run_git(repo, "init", "-q")
    names = [f"pkg{i % 3}/mod_{i:02d}.py" for i in range(_PATHSPECS + 8)]
    _commit(repo, {n: "a\n" for n in names} | {"dir/inner.py": "x\n"}, "base")
    run_git(repo, "tag", "pin")
    _commit(repo, {names[0]: "b\n"}, "one")
    _commit(repo, {}, "empty")
    _commit(repo, {"dir/inner.py": "y\n", "other.txt": "o\n"}, "folder only")
    run_git(repo, "checkout", "-q", "-b", "side", "pin")
    _commit(repo, {names[5]: "s\n", names[-1]: "s\n"}, "side")
    run_git(repo, "checkout", "-q", "main")
    _commit(repo, {names[7]: "c\n"}, "main again")
    run_git(repo, "merge", "-q", "--no-edit", "side", "-m", "merge side")
    (repo / names[3]).unlink()
    _commit(repo, {}, "delete")
    git = GitRepo(repo)
    watched = sorted([*names, "dir"])
    whole = first_parent_log(git, "pin", "main", watched)
    assert len(watched) > _PATHSPECS
    by_spec = [first_parent_log(git, "pin", "main", [p]) for p in watched]
    expect: dict[str, dict[str, str | None]] = {}
    for logs in by_spec:
        for logged in logs:
            expect.setdefault(logged.commit.sha, {}).update(logged.changed)
    assert [c.commit.subject for c in whole] == ["one", "main again", "merge side", "delete"]
    assert {c.commit.sha: dict(c.changed) for c in whole} == expect
    assert dict(whole[3].changed) == {names[3]: None}
    assert set(whole[2].changed) == {names[5], names[-1]}
