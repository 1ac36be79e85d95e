"""The life of an upstream PR: `upstream-pr --status` sees the PR's state (through gh) and
finds the change on upstream's branch and in a release by patch id; the sync to that release
archives the overlay with an `Applied-Upstream:` naming the commit and PR, and says our PR landed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FakeGh
from fakes import gh as fake
from helpers import forkman, git, make_app

from forkman.commands.upstream_pr import prepare
from forkman.core.culprit import Culprit
from forkman.core.forwarded import applied_upstream, landed_note, parse_forwarded
from forkman.store.project import Project

V9 = "autogpt-platform-beta-v0.6.9"
RELEASE = "autogpt-platform-beta-v0.6.9.1"
PR = "https://github.com/Significant-Gravitas/AutoGPT/pull/9901"


@pytest.fixture
def project(upstream: Path, app_repo: Path, tmp_path: Path) -> Project:
    """cost-config sent upstream as PR #9901 (upstream's dev is at v0.6.9 here)."""
    git(upstream, "branch", "-f", "dev", V9)
    project = make_app(app_repo, upstream)
    fork = tmp_path / "fork.git"
    git(tmp_path, "init", "-q", "--bare", str(fork))
    prepare(project, "cost-config", push=True, remote=str(fork))
    # `gh pr create` gave a URL, and the overlay records it, as a person does after opening it
    overlay = project.overlay("cost-config").with_field("Forwarded", PR)
    digest = project.write_overlay(overlay)
    project.write_lock(
        project.lock().with_overlays({**project.lock().overlays, "cost-config": digest})
    )
    return project


def github_has(fake_gh: FakeGh, state: str) -> None:
    data = fake.load_state(fake_gh.dir)
    data["prs"] = [{"number": 9901, "url": PR, "title": "Price qwen2.5", "body": "", "state": state,
                    "headRefName": "forkman/pr/cost-config", "baseRefName": "dev", "labels": [],
                    "comments": []}]  # fmt: skip
    fake.save_state(data, fake_gh.dir)


def upstream_merges(upstream: Path, project: Project) -> str:
    """Upstream squash-merges our branch into dev as `... (#9901)` and releases it."""
    checkout = project.checkout
    git(upstream, "checkout", "-q", "dev")
    git(upstream, "fetch", "-q", str(checkout), "refs/heads/forkman/pr/cost-config")
    git(upstream, "cherry-pick", "-n", "FETCH_HEAD")
    git(upstream, "commit", "-q", "-m", "Price qwen2.5 like the other Ollama models (#9901)")
    git(upstream, "tag", RELEASE)
    git(upstream, "checkout", "-q", "master")
    return git(upstream, "rev-parse", RELEASE)


def status(capsys: pytest.CaptureFixture[str], project: Project, *args: str) -> dict:  # type: ignore[type-arg]
    code, out = forkman(capsys, "upstream-pr", "--status", "--json", *args, repo=project.root)
    assert code == 0, forkman.last_err  # type: ignore[attr-defined]
    (row,) = json.loads(out)["overlays"]
    assert row["name"] == "cost-config" and row["forwarded"] == PR
    data: dict = row  # type: ignore[type-arg]
    return data


def test_status_follows_the_pr_until_upstream_merges_it_and_sync_credits_it(
    project: Project, upstream: Path, fake_gh: FakeGh, capsys: pytest.CaptureFixture[str]
) -> None:
    github_has(fake_gh, "OPEN")
    before = status(capsys, project)
    assert before["pr"]["state"] == "OPEN" and before["pr"]["number"] == 9901
    assert before["in_pr_branch"] is None and before["in_release"] is None

    merged = upstream_merges(upstream, project)
    github_has(fake_gh, "MERGED")
    after = status(capsys, project)
    assert after["pr"]["state"] == "MERGED"
    assert after["pr_branch"] == "dev"
    assert after["in_pr_branch"] == {"ref": "dev", "how": "patch-id", "commit": merged}
    assert after["in_release"] == {"ref": RELEASE, "how": "patch-id", "commit": merged}
    assert fake_gh.calls("pr", "view")[-1]["argv"][2] == PR
    # without GitHub: the state is unknown, the rest needs none
    offline = status(capsys, project, "--no-gh", "--no-fetch")
    assert offline["pr"]["state"] is None and offline["in_release"]["commit"] == merged
    code, text = forkman(capsys, "upstream-pr", "--status", "--no-fetch", repo=project.root)
    assert code == 0 and "merged" in text and RELEASE in text and merged[:12] in text

    # the sync to that release: archived, crediting the commit and the PR; our PR landed
    code, out = forkman(capsys, "sync", "--json", "--to", RELEASE, repo=project.root)
    assert code == 0, forkman.last_err  # type: ignore[attr-defined]
    report = {o["name"]: o for o in json.loads(out)["overlays"]}
    assert report["cost-config"]["state"] == "upstreamed"
    assert "our pull request #9901 landed upstream" in report["cost-config"]["note"]
    archived = (project.overlays_dir / "upstreamed/cost-config.patch").read_text()
    assert f"Applied-Upstream: {RELEASE}, commit {merged}, #9901\n" in archived
    assert f"Forwarded: {PR}\n" in archived


def test_nothing_forwarded_and_bad_combinations(
    upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_app(app_repo, upstream)
    code, out = forkman(capsys, "upstream-pr", "--status", "--no-gh", repo=project.root)
    assert code == 0 and "no overlay records `Forwarded:`" in out
    code, _ = forkman(capsys, "upstream-pr", "cost-config", "--status", repo=project.root)
    assert code == 2 and "--status" in forkman.last_err  # type: ignore[attr-defined]
    code, _ = forkman(capsys, "upstream-pr", repo=project.root)
    assert code == 2 and "name the overlay" in forkman.last_err  # type: ignore[attr-defined]


# -- the values --------------------------------------------------------------------------------
def test_forwarded_values() -> None:
    assert parse_forwarded("x", "no") is None and parse_forwarded("x", None) is None
    assert parse_forwarded("x", "not-needed") is None
    pr = parse_forwarded("x", "https://github.com/o/r/pull/12")
    assert pr is not None and (pr.repo, pr.pr, pr.branch) == (("o", "r"), 12, "forkman/pr/x")
    compare = parse_forwarded("x", "https://github.com/o/r/compare/dev...me:forkman/pr/x?expand=1")
    assert compare is not None and (compare.pr, compare.branch, compare.fork_owner) == (
        None,
        "forkman/pr/x",
        "me",
    )
    plain = parse_forwarded("x", "/srv/fork.git forkman/pr/x")
    assert plain is not None and plain.branch == "forkman/pr/x" and plain.repo is None


def test_applied_upstream_and_the_landed_note() -> None:
    ours = Culprit("a" * 40, "Add it (#12)", "2025-01-01", 12, "https://github.com/o/r/pull/12")
    theirs = Culprit("b" * 40, "Rework (#40)", "2025-01-01", 40)
    assert applied_upstream("v2", ours) == f"v2, commit {'a' * 40}, https://github.com/o/r/pull/12"
    assert applied_upstream("v2", theirs, partly=True) == f"partly, v2, commit {'b' * 40}, #40"
    assert applied_upstream("v2", None) == "v2"
    sent = parse_forwarded("x", "https://github.com/o/r/pull/12")
    assert landed_note(sent, ours, "v2") == "our pull request #12 landed upstream in v2"
    assert "upstream made it itself" in landed_note(sent, theirs, "v2")
    assert landed_note(None, ours, "v2") == ""
