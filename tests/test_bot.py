"""`forkman bot` end to end: a bare repository stands in for GitHub's git side, the gh stand-in
for its API. PR on a clean release, one tracking issue on a conflicted one, idempotent re-runs,
the issue closed when a later release carries; never a push to the default branch, never a token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SECRET_TOKEN, FakeGh
from helpers import git, make_app, run_main

from forkman.autogpt.example import BLOCKS_INIT, LLM_PY, commit_files
from forkman.core.bot import Item, branch_name, plan_issue, redact, superseded_prs

V9, V10 = "autogpt-platform-beta-v0.6.9", "autogpt-platform-beta-v0.6.10"
V12 = "autogpt-platform-beta-v0.6.12"
HOSTED = "https://x-access-token:{token}@github.com/example/app.git"


@pytest.fixture
def world(tmp_path: Path, upstream: Path, app_repo: Path) -> dict[str, Path]:
    """The upstream with v0.6.9 as its newest release; the app at v0.6.8 pushed to 'GitHub'."""
    for tag in (V10, "autogpt-platform-beta-v0.6.11-rc1"):
        git(upstream, "tag", "-f", f"hidden/{tag}", tag)  # kept to release it later
        git(upstream, "tag", "-d", tag)
    make_app(app_repo, upstream)
    hub = tmp_path / "github.git"
    git(tmp_path, "init", "-q", "--bare", str(hub))
    git(app_repo, "push", "-q", str(hub), "main")
    return {"upstream": upstream, "hub": hub, "tmp": tmp_path}


def clone(world: dict[str, Path], name: str) -> Path:
    """What actions/checkout gives a job: a clone of the default branch whose origin URL
    carries the token (rewritten here to the bare repository)."""
    path = world["tmp"] / name
    git(world["tmp"], "clone", "-q", str(world["hub"]), str(path))
    url = HOSTED.format(token=SECRET_TOKEN)
    git(path, "remote", "set-url", "origin", url)
    git(path, "config", f"url.{world['hub']}.insteadOf", url)
    return path


def bot(app: Path) -> dict:  # type: ignore[type-arg]
    run = run_main(["bot", "--json"], app)
    assert run.exit_code == 0, (run.stdout, run.stderr)
    assert SECRET_TOKEN not in run.stdout + run.stderr
    data: dict = json.loads(run.stdout)  # type: ignore[type-arg]
    return data


def hub_branches(world: dict[str, Path]) -> dict[str, str]:
    out = git(world["hub"], "for-each-ref", "--format=%(refname:short) %(objectname)")
    return dict(line.split() for line in out.splitlines())


def test_pr_then_issue_then_pr_again_and_every_rerun_changes_nothing(
    world: dict[str, Path], fake_gh: FakeGh
) -> None:
    main_before = hub_branches(world)["main"]
    branch9 = branch_name(V9)
    ci = clone(world, "ci-1")

    # 1. v0.6.9 carries: a branch and one PR whose body is the sync summary
    first = bot(ci)
    assert first["action"] == "pr-opened" and first["release"] == V9 and first["pushed"]
    assert first["remote"] == "https://github.com/example/app.git"
    assert set(hub_branches(world)) == {"main", branch9}
    pushed = hub_branches(world)[branch9]
    assert git(world["hub"], "rev-parse", f"{pushed}^") == main_before
    changed = git(world["hub"], "diff", "--name-only", main_before, pushed).splitlines()
    assert "forkman.lock" in changed and all(
        p == "forkman.lock" or p.startswith("overlays/") for p in changed
    )
    lock = json.loads(git(world["hub"], "show", f"{pushed}:forkman.lock"))
    assert lock["upstream"]["ref"] == V9
    (create,) = fake_gh.calls("pr", "create")
    argv = create["argv"]
    assert argv[argv.index("--head") + 1] == branch9 and argv[argv.index("--base") + 1] == "main"
    assert argv[argv.index("--title") + 1] == f"Sync upstream to {V9}"
    assert argv[argv.index("--label") + 1] == "forkman"
    assert "| loader-symlink |" in create["stdin"] and V9 in create["stdin"]
    assert "All overlays carried over cleanly." in create["stdin"] and create["token"]
    # the clone is left as the run found it: HEAD's files, the checkout at the old pin
    assert git(ci, "status", "--porcelain") == ""
    assert json.loads((ci / "forkman.lock").read_text())["upstream"]["ref"] != V9

    # 2. the same night again, in the same clone: nothing pushed, nothing opened
    again = bot(ci)
    assert again["action"] == "pr-unchanged" and not again["pushed"]
    assert hub_branches(world)[branch9] == pushed
    assert len(fake_gh.calls("pr", "create")) == 1 and not fake_gh.calls("pr", "edit")

    # 3. v0.6.10 is out and does not carry: one tracking issue with the report
    for tag in (V10, "autogpt-platform-beta-v0.6.11-rc1"):
        git(world["upstream"], "tag", tag, f"hidden/{tag}")
    ci = clone(world, "ci-2")
    broken = bot(ci)
    assert broken["action"] == "issue-opened" and broken["release"] == V10
    (issue,) = fake_gh.calls("issue", "create")
    argv = issue["argv"]
    assert argv[argv.index("--title") + 1] == f"forkman: overlays do not carry to {V10}"
    assert argv[argv.index("--label") + 1] == "forkman"
    assert "| loader-symlink | conflict |" in issue["stdin"]
    assert "**Needs attention:** loader-symlink" in issue["stdin"]
    assert set(hub_branches(world)) == {"main", branch9}  # nothing pushed for a conflict
    assert bot(clone(world, "ci-3"))["action"] == "issue-unchanged"
    assert len(fake_gh.calls("issue", "create")) == 1 and not fake_gh.calls("issue", "edit")

    # 4. v0.6.12 undoes the refactor that broke us: a PR for it; the issue and old PR close
    head = git(world["upstream"], "rev-parse", "HEAD")
    git(world["upstream"], "checkout", "-q", V10)
    files = {p: git(world["upstream"], "show", f"{V9}:{p}") + "\n" for p in (BLOCKS_INIT, LLM_PY)}
    commit_files(world["upstream"], "revert(backend): block discovery", files, tag=V12)
    git(world["upstream"], "checkout", "-q", head)
    later = bot(clone(world, "ci-4"))
    assert later["action"] == "pr-opened" and later["release"] == V12
    assert set(hub_branches(world)) == {"main", branch9, branch_name(V12)}
    state = fake_gh.state()
    assert [i["state"] for i in state["issues"]] == ["CLOSED"]
    assert f"`{V12}` carries cleanly" in state["issues"][0]["comments"][0]
    assert {p["headRefName"]: p["state"] for p in state["prs"]} == {
        branch9: "CLOSED",
        branch_name(V12): "OPEN",
    }
    assert bot(clone(world, "ci-5"))["action"] == "pr-unchanged"

    # never the default branch, never the token
    assert hub_branches(world)["main"] == main_before
    recorded = (fake_gh.dir / "calls.jsonl").read_text() + (fake_gh.dir / "state.json").read_text()
    assert SECRET_TOKEN not in recorded
    assert SECRET_TOKEN not in git(world["hub"], "log", "--all", "-p")


def test_a_pr_closed_by_hand_is_not_opened_again(world: dict[str, Path], fake_gh: FakeGh) -> None:
    assert bot(clone(world, "ci-1"))["action"] == "pr-opened"
    fake_gh.set("prs", 1, state="CLOSED")
    assert bot(clone(world, "ci-2"))["action"] == "pr-closed"
    assert len(fake_gh.calls("pr", "create")) == 1


def test_refuses_uncommitted_forkman_files_and_without_gh_token_says_so(
    world: dict[str, Path], fake_gh: FakeGh, monkeypatch: pytest.MonkeyPatch
) -> None:
    ci = clone(world, "ci")
    (ci / "overlays" / "series").write_text("loader-symlink\n")
    run = run_main(["bot"], ci)
    assert run.exit_code == 2 and "overlays/series" in run.stderr
    git(ci, "checkout", "--", "overlays")
    monkeypatch.delenv("GH_TOKEN")
    run = run_main(["bot"], ci)
    assert run.exit_code == 2 and "GH_TOKEN" in run.stderr, run.stderr
    assert SECRET_TOKEN not in run.stdout + run.stderr
    assert set(hub_branches(world)) == {"main"}


def test_a_check_that_only_the_real_sync_runs_fails_and_an_issue_says_so(
    world: dict[str, Path], fake_gh: FakeGh
) -> None:
    """`run:` checks run after the overlays are applied, so --check cannot see them fail: the
    bot's sync stops, is undone, and the tracking issue carries the report; nothing is pushed."""
    seed = clone(world, "seed")
    config = seed / "forkman.yaml"
    config.write_text(
        config.read_text().replace(
            "checks: {}", "checks:\n  llm-models:\n    - run: 'test -e no-such-file'\n"
        )
    )
    git(seed, "commit", "-qam", "A check for llm-models")
    git(seed, "push", "-q", "origin", "main")
    ci = clone(world, "ci")
    result = bot(ci)
    assert result["action"] == "issue-opened" and result["release"] == V9
    (issue,) = fake_gh.calls("issue", "create")
    assert "| llm-models | check-failed |" in issue["stdin"]
    assert set(hub_branches(world)) == {"main"} and not fake_gh.calls("pr", "create")
    assert git(ci, "status", "--porcelain") == ""
    assert json.loads((ci / "forkman.lock").read_text())["upstream"]["ref"] != V9


# -- the decisions, as plain values ------------------------------------------------------------
def test_redact_drops_url_user_info_and_masks_secrets() -> None:
    text = "fatal: unable to access 'https://x-access-token:s3cr3t-value@github.com/o/r.git/'"
    assert redact(text, ["s3cr3t-value"]) == "fatal: unable to access 'https://github.com/o/r.git/'"
    assert redact("token s3cr3t-value in a log", ["s3cr3t-value"]) == "token *** in a log"
    assert redact("ssh://git@host/x and /plain/path") == "ssh://host/x and /plain/path"


def test_branch_names_are_valid_refs() -> None:
    assert branch_name("v1.2.3") == "forkman/sync-v1.2.3"
    assert branch_name("release 2:rc..1") == "forkman/sync-release-2-rc-1"


def issue(number: int, release: str | None, state: str = "OPEN", body: str = "") -> Item:
    marker = f"\n<!-- forkman-bot release={release} -->" if release else ""
    return Item(number, f"u/{number}", "t", body + marker, state)


def test_one_tracking_issue_per_release() -> None:
    body = "report\n<!-- forkman-bot release=v2 -->"
    same = plan_issue(
        "v2", "t", body, [issue(3, "v2", body="report"), issue(1, "v1"), issue(2, None)]
    )
    assert same.unchanged and same.unchanged.number == 3 and not same.create
    assert [i.number for i in same.supersede] == [1]  # not #2: not the bot's
    changed = plan_issue("v2", "t", "new report", [issue(3, "v2", body="report")])
    assert changed.update and changed.update.number == 3
    respected = plan_issue("v2", "t", body, [issue(3, "v2", state="CLOSED")])
    assert respected.respected and not respected.create
    assert plan_issue("v3", "t", "x", [issue(3, "v2", state="CLOSED")]).create


def test_superseded_prs_are_the_bots_other_open_ones() -> None:
    prs = [
        Item(1, "u/1", "t", "", "OPEN", "forkman/sync-v1"),
        Item(2, "u/2", "t", "", "OPEN", "forkman/sync-v2"),
        Item(3, "u/3", "t", "", "OPEN", "feature"),
        Item(4, "u/4", "t", "", "MERGED", "forkman/sync-v0"),
    ]
    assert [p.number for p in superseded_prs("forkman/sync-v2", prs)] == [1]
