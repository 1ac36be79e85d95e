"""`forkman upstream-pr`: an overlay as one reviewable commit on upstream's dev, with real git."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_git
from helpers import make_app

from forkman.autogpt.example import (
    BLOCKS_INIT,
    COST_CONFIG,
    LLM_PY,
    OVERLAYS,
    PR_BRANCH,
)
from forkman.commands import upstream_pr as prbranch
from forkman.commands.capture import capture, refresh
from forkman.errors import BadRef, PrConflict, PushFailed, UnknownOverlay
from forkman.render import pr_text
from forkman.store.project import Project

BRANCH = "forkman/pr/cost-config"
REF = f"refs/heads/{BRANCH}"


@pytest.fixture
def project(app_repo: Path, upstream: Path) -> Project:
    return make_app(app_repo, str(upstream))


def ref(repo: Path, name: str) -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", name],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or None


def snapshot(checkout: Path) -> tuple[object, ...]:
    """What the server runs: HEAD, the index (bytes and entries) and the overlays' files."""
    index = (checkout / ".git" / "index").read_bytes()
    files = {p: (checkout / p).read_bytes() for p in (BLOCKS_INIT, LLM_PY, COST_CONFIG)}
    return (
        index,
        run_git(checkout, "rev-parse", "HEAD"),
        run_git(checkout, "ls-files", "-s"),
        files,
        run_git(checkout, "--no-optional-locks", "status", "--porcelain"),
    )


def heads(checkout: Path) -> str:
    return run_git(checkout, "for-each-ref", "refs/heads", "refs/forkman")


def bump_cost(project: Project) -> None:
    """Edit the overlay: qwen2.5 now costs 2 credits; fold it into cost-config."""
    path = project.checkout / COST_CONFIG
    path.write_text(path.read_text().replace("OLLAMA_QWEN2_5_7B: 1,", "OLLAMA_QWEN2_5_7B: 2,"))
    refresh(project, "cost-config")


def forkman(app: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "forkman", "upstream-pr", *args, "--repo", str(app)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


# -- the branch --------------------------------------------------------------------------------
def test_one_commit_on_dev_and_the_checkout_is_untouched(project: Project, upstream: Path) -> None:
    checkout = project.checkout
    before = snapshot(checkout)
    result = prbranch.prepare(project, "cost-config")
    assert snapshot(checkout) == before
    dev = run_git(upstream, "rev-parse", PR_BRANCH).strip()
    assert result.base_commit == dev and ref(checkout, REF) == result.commit
    assert run_git(checkout, "rev-list", "--parents", "-n", "1", REF).split() == [
        result.commit,
        dev,
    ]
    assert run_git(checkout, "diff", "--name-only", dev, REF).split() == [COST_CONFIG]
    subject, body, _ = OVERLAYS["cost-config"]
    assert run_git(checkout, "show", "-s", "--format=%B", REF) == f"{subject}\n\n{body}\n\n"
    assert (
        run_git(checkout, "show", "-s", "--format=%an <%ae>", REF).strip()
        == "Forkman Tests <tests@example.com>"
    )
    added = run_git(checkout, "diff", dev, REF).splitlines()
    assert [ln for ln in added if ln.startswith(("+ ", "- "))] == [
        "+    LlmModel.OLLAMA_QWEN2_5_7B: 1,"
    ]
    assert [(f.path, f.added, f.removed) for f in result.files] == [(COST_CONFIG, 1, 0)]
    assert (
        body in result.body
        and f"`{COST_CONFIG}` (+1 -0)" in result.body
        and "forkman" in result.body
    )
    assert not result.pushed and result.forwarded is None
    # the same input again: the same commit, nothing to show
    again = prbranch.prepare(project, "cost-config")
    assert again.commit == result.commit and again.range_diff == ""


def test_dry_run_makes_nothing(project: Project) -> None:
    overlay_before, refs = project.overlay_text("cost-config"), heads(project.checkout)
    result = prbranch.prepare(project, "cost-config", dry_run=True)
    assert (
        result.commit is None
        and ref(project.checkout, REF) is None
        and heads(project.checkout) == refs
    )
    assert project.overlay_text("cost-config") == overlay_before
    text = pr_text(result)
    assert (
        BRANCH in text
        and OVERLAYS["cost-config"][0] in text
        and "+    LlmModel.OLLAMA_QWEN2_5_7B: 1," in text
    )


# -- pushing -----------------------------------------------------------------------------------
def test_push_records_forwarded_and_a_second_run_updates_the_branch(
    project: Project, bare_fork: Path
) -> None:
    run_git(project.checkout, "remote", "add", "fork", str(bare_fork))
    first = prbranch.prepare(project, "cost-config", push=True, remote="fork")
    assert first.pushed and ref(bare_fork, REF) == first.commit
    overlay = project.overlay("cost-config")
    assert overlay.field("Forwarded") == first.forwarded == f"fork/{BRANCH}"
    assert project.lock().overlays == project.hashes()

    bump_cost(project)
    before = snapshot(project.checkout)
    second = prbranch.prepare(project, "cost-config", push=True, remote="fork")
    assert snapshot(project.checkout) == before
    assert second.commit != first.commit and second.previous == first.commit
    assert ref(bare_fork, REF) == second.commit == ref(project.checkout, REF)
    assert run_git(bare_fork, "rev-list", "--count", REF, f"^{second.base_commit}").strip() == "1"
    assert (
        "OLLAMA_QWEN2_5_7B: 2," in second.range_diff
        and "OLLAMA_QWEN2_5_7B: 1," in second.range_diff
    )
    assert "changed since" in pr_text(second)


def test_github_fork_gets_a_compare_url_and_gh_command(
    hermetic_seal: Path, app_repo: Path, upstream: Path, bare_fork: Path
) -> None:
    up_url, fork_url = (
        "https://github.com/Significant-Gravitas/AutoGPT.git",
        "git@github.com:me/AutoGPT.git",
    )
    with open(hermetic_seal / ".gitconfig", "a") as config:  # both "GitHub" repos are local folders
        config.write(
            f'[url "{upstream}"]\n\tinsteadOf = {up_url}\n[url "{bare_fork}"]\n\tinsteadOf = {fork_url}\n'
        )
    project = make_app(app_repo, up_url)
    run_git(project.checkout, "remote", "add", "fork", fork_url)
    result = prbranch.prepare(project, "cost-config", push=True, remote="fork")
    url = f"https://github.com/Significant-Gravitas/AutoGPT/compare/dev...me:{BRANCH}?expand=1"
    assert result.compare_url == url and project.overlay("cost-config").field("Forwarded") == url
    assert result.gh_command[:9] == (
        "gh",
        "pr",
        "create",
        "--repo",
        "Significant-Gravitas/AutoGPT",
        "--base",
        "dev",
        "--head",
        f"me:{BRANCH}",
    )
    assert result.gh_command[9:] == ("--title", OVERLAYS["cost-config"][0], "--body", result.body)
    assert ref(bare_fork, REF) == result.commit


def test_compare_url_forms() -> None:
    for fork in (
        "git@github.com:me/AutoGPT.git",
        "https://github.com/me/AutoGPT",
        "ssh://git@github.com/me/AutoGPT.git",
    ):
        assert prbranch.compare_url(
            "https://github.com/Significant-Gravitas/AutoGPT", fork, "dev", "b"
        ) == ("https://github.com/Significant-Gravitas/AutoGPT/compare/dev...me:b?expand=1")
    assert prbranch.compare_url("/srv/autogpt", "git@github.com:me/AutoGPT.git", "dev", "b") is None


def test_cli_push_to_a_path_prints_json(project: Project, bare_fork: Path) -> None:
    proc = forkman(project.root, "cost-config", "--push", "--remote", str(bare_fork), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"branch", "base", "commit", "files", "pushed", "compare_url", "forwarded"} <= set(data)
    assert data["branch"] == BRANCH and data["base"] == "dev" and data["pushed"] is True
    assert data["files"] == [{"path": COST_CONFIG, "added": 1, "removed": 0, "status": "modified"}]
    assert ref(bare_fork, REF) == data["commit"] and data["compare_url"] is None
    assert (
        project.overlay("cost-config").field("Forwarded")
        == data["forwarded"]
        == f"{bare_fork} {BRANCH}"
    )


# -- refusing ----------------------------------------------------------------------------------
def test_conflict_names_the_file_and_creates_nothing(project: Project) -> None:
    refs = heads(project.checkout)
    with pytest.raises(PrConflict) as caught:
        prbranch.prepare(project, "loader-symlink")
    assert [c.path for c in caught.value.conflicts] == [BLOCKS_INIT] and caught.value.needs == ()
    assert caught.value.exit_code == 1 and all(c.regions for c in caught.value.conflicts)
    assert heads(project.checkout) == refs


def test_needs_an_earlier_overlay(project: Project) -> None:
    path = project.checkout / LLM_PY
    path.write_text(
        path.read_text().replace(
            'OLLAMA_QWEN2_5_7B = "qwen2.5"\n',
            'OLLAMA_QWEN2_5_7B = "qwen2.5"\n    OLLAMA_QWEN2_5_14B = "qwen2.5:14b"\n',
        )
    )
    capture(project, "qwen-14b", "Add qwen2.5:14b")
    refs = heads(project.checkout)
    proc = forkman(project.root, "qwen-14b")
    assert proc.returncode == 1 and "llm-models" in proc.stderr and LLM_PY in proc.stderr
    with pytest.raises(PrConflict) as caught:
        prbranch.prepare(project, "qwen-14b")
    assert caught.value.needs == ("llm-models",)
    assert heads(project.checkout) == refs


def test_bad_input_exits_non_zero_and_leaves_nothing(project: Project, tmp_path: Path) -> None:
    refs = heads(project.checkout)
    for args, code, word in (
        (["nope"], 2, "nope"),
        (["cost-config", "--base", "no-such-branch"], 2, "no-such-branch"),
        (["cost-config", "--branch", "bad..name"], 2, "bad..name"),
        (["cost-config", "--push"], 2, "--remote"),
        (["cost-config", "--push", "--remote", str(tmp_path / "missing.git")], 2, "missing.git"),
    ):
        proc = forkman(project.root, *args)
        assert proc.returncode == code and word in proc.stderr, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert heads(project.checkout) == refs
    with pytest.raises(UnknownOverlay):
        prbranch.prepare(project, "nope")
    with pytest.raises(BadRef):
        prbranch.prepare(project, "cost-config", base="no-such-branch")
    assert project.overlay("cost-config").field("Forwarded") == "no"


def test_rejected_push_puts_the_branch_back(
    project: Project, bare_fork: Path, upstream: Path
) -> None:
    first = prbranch.prepare(project, "cost-config")
    run_git(
        upstream, "push", "-q", str(bare_fork), f"master:{REF}"
    )  # someone else's branch of that name
    bump_cost(project)
    with pytest.raises(PushFailed):
        prbranch.prepare(project, "cost-config", push=True, remote=str(bare_fork))
    assert ref(project.checkout, REF) == first.commit
    assert ref(bare_fork, REF) == run_git(upstream, "rev-parse", "master").strip()
    assert project.overlay("cost-config").field("Forwarded") == "no"
