"""The gh stand-in answers as gh does and remembers between calls (what the bot's tests rely on)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import SECRET_TOKEN, FakeGh


def gh(*args: str, cwd: Path, expect: int = 0, stdin: str | None = None) -> str:
    proc = subprocess.run(
        ["gh", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=False
    )
    assert proc.returncode == expect, (args, proc.stdout, proc.stderr)
    return proc.stdout if expect == 0 else proc.stderr


def test_pr_lifecycle_is_remembered_and_recorded(fake_gh: FakeGh, tmp_path: Path) -> None:
    body = tmp_path / "body.md"
    body.write_text("## sync\n")
    url = gh("pr", "create", "--head", "forkman/sync-v2", "--base", "main", "--title", "Sync v2",
             "--body-file", str(body), cwd=tmp_path)  # fmt: skip
    assert url.strip().endswith("/pull/1")
    # a second PR for the same branch is refused, as GitHub does
    again = gh("pr", "create", "--head", "forkman/sync-v2", "--base", "main", "--title", "x",
               "--body", "y", cwd=tmp_path, expect=1)  # fmt: skip
    assert "already exists" in again
    listed = json.loads(gh("pr", "list", "--head", "forkman/sync-v2", "--json", "number,body",
                           cwd=tmp_path))  # fmt: skip
    assert listed == [{"number": 1, "body": "## sync\n"}]
    gh("pr", "edit", "1", "--body", "new", cwd=tmp_path)
    assert json.loads(gh("pr", "view", "1", "--json", "state,body", cwd=tmp_path)) == {
        "state": "OPEN",
        "body": "new",
    }
    fake_gh.set("prs", 1, state="MERGED")
    assert json.loads(gh("pr", "list", "--head", "forkman/sync-v2", "--json", "number",
                         cwd=tmp_path)) == []  # fmt: skip
    create = fake_gh.calls("pr", "create")[0]
    assert create["files"] == {str(body): "## sync\n"} and create["token"] is True
    assert SECRET_TOKEN not in (fake_gh.dir / "calls.jsonl").read_text()


def test_issues_need_their_label_and_close(fake_gh: FakeGh, tmp_path: Path) -> None:
    refused = gh("issue", "create", "--title", "t", "--body", "b", "--label", "forkman",
                 cwd=tmp_path, expect=1)  # fmt: skip
    assert "'forkman' not found" in refused
    gh("label", "create", "forkman", "--force", cwd=tmp_path)
    gh("issue", "create", "--title", "v3 does not carry", "--body-file", "-", "--label",
       "forkman", cwd=tmp_path, stdin="report\n")  # fmt: skip
    found = json.loads(gh("issue", "list", "--label", "forkman", "--search", "carry", "--json",
                          "number,title,labels", cwd=tmp_path))  # fmt: skip
    assert found == [{"number": 1, "title": "v3 does not carry", "labels": [{"name": "forkman"}]}]
    gh("issue", "close", "1", "--comment", "carries now", cwd=tmp_path)
    assert fake_gh.state()["issues"][0]["state"] == "CLOSED"
    assert fake_gh.state()["issues"][0]["comments"] == ["carries now"]
    assert fake_gh.calls("issue", "create")[-1]["stdin"] == "report\n"


def test_without_a_token_it_refuses_as_gh_does(
    fake_gh: FakeGh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GH_TOKEN")
    assert "gh auth login" in gh("pr", "list", cwd=tmp_path, expect=4)
    assert fake_gh.calls("pr", "list")[0]["token"] is False


def test_what_it_does_not_know_fails_loudly(fake_gh: FakeGh, tmp_path: Path) -> None:
    assert "unsupported" in gh("repo", "delete", cwd=tmp_path, expect=1)
    assert "unknown flag" in gh("pr", "list", "--web", cwd=tmp_path, expect=1)
