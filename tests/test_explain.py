"""Broken overlays explain themselves, and moves and renames are carried: on upstream histories
built to break each example overlay in one known way (tests/explain_fixture.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from explain_fixture import CULPRITS, MOVED_BY, REGISTRY, RENAMED_COST, build_case
from helpers import forkman, git, make_app

from forkman.autogpt.example import BLOCKS_INIT, COST_CONFIG
from forkman.store.project import Project

GITHUB = "https://github.com/Significant-Gravitas/AutoGPT.git"
PULL = "https://github.com/Significant-Gravitas/AutoGPT/pull/"

# case -> (state of the broken overlay, what upstream did to its lines, where they went)
EXPECT = {
    "move-function": ("moved", None, None),
    "move-to-file": ("moved", None, None),
    "rename": ("moved", None, None),
    "reformat": ("conflict", "reformatted", None),
    "rewrite": ("conflict", "rewritten", None),
    "delete": ("conflict", "deleted", None),
    "another-form": ("conflict", "added", None),
    "move-then-rewrite": ("conflict", "rewritten", None),
}


def _app(app_repo: Path, upstream: Path, case: str) -> tuple[Project, str]:
    """The example app pinned at v0.6.8 on an upstream holding CASE, its url on GitHub."""
    tag = build_case(upstream, case)
    project = make_app(app_repo, upstream)
    config = app_repo / "forkman.yaml"
    config.write_text(config.read_text().replace(str(upstream), GITHUB))
    return project, tag


def _culprit_sha(upstream: Path, pr: int) -> str:
    return git(upstream, "log", "--all", "--format=%H", f"--grep=(#{pr})$")


@pytest.mark.parametrize("case", sorted(CULPRITS))
def test_each_break_names_its_commit_and_pr_and_what_upstream_did(
    case: str, upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, tag = _app(app_repo, upstream, case)
    name, pr = CULPRITS[case]
    state, did, _ = EXPECT[case]
    code, out = forkman(
        capsys, "sync", "--check", "--json", "--no-fetch", "--to", tag, repo=app_repo
    )
    report = json.loads(out)
    by_name = {o["name"]: o for o in report["overlays"]}
    broken = by_name[name]
    assert code == (1 if state == "conflict" else 0), out
    assert broken["state"] == state
    assert {o["state"] for n, o in by_name.items() if n != name} == {"clean"}
    sha = _culprit_sha(upstream, pr)
    assert broken["culprit"]["commit"] == sha
    assert broken["culprit"]["pr"] == pr and broken["culprit"]["url"] == f"{PULL}{pr}"
    assert broken["culprit"]["date"].startswith("2025-")
    moved_by = MOVED_BY.get(case)
    assert (broken["moved_by"] or {}).get("pr") == moved_by
    for other in (o for n, o in by_name.items() if n != name):
        assert other["culprit"] is None and other["note"] == ""  # a clean overlay is not looked at
    if state == "conflict":
        assert [h["upstream_did"] for h in broken["hunks"]] == [did]
        assert broken["hunks"][0]["upstream_diff"].startswith("--- a/")
    else:
        assert broken["note"].startswith("followed upstream's ")
        assert f"(#{pr})" in broken["note"] and "review it" in broken["note"]

    code, text = forkman(capsys, "sync", "--check", "--no-fetch", "--to", tag, repo=app_repo)
    assert f"caused by {sha[:12]}" in text and f"{PULL}{pr}" in text
    summary = app_repo.parent / "summary.md"
    forkman(
        capsys,
        "sync",
        "--check",
        "--no-fetch",
        "--to",
        tag,
        "--summary",
        str(summary),
        repo=app_repo,
    )
    markdown = summary.read_text()
    assert f"[#{pr}]({PULL}{pr})" in markdown
    assert f"https://github.com/Significant-Gravitas/AutoGPT/commit/{sha}" in markdown
    if state == "conflict":
        assert "```diff" in markdown


def test_the_culprit_of_a_merged_dev_branch_is_its_own_commit(
    upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, tag = _app(app_repo, upstream, "move-function")
    _, out = forkman(capsys, "sync", "--check", "--json", "--no-fetch", "--to", tag, repo=app_repo)
    culprit = {o["name"]: o for o in json.loads(out)["overlays"]}["loader-symlink"]["culprit"]
    merge = git(upstream, "rev-list", "--merges", "-1", tag)
    assert culprit["commit"] != merge
    assert git(upstream, "merge-base", "--is-ancestor", culprit["commit"], f"{merge}^2") == ""


def test_the_conflict_shows_where_upstream_moved_lines_when_it_is_ambiguous(
    upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = build_case(upstream, "move-function")
    # a second copy of the moved loader makes the new place ambiguous
    git(upstream, "checkout", "-q", tag)
    init = (upstream / BLOCKS_INIT).read_text()
    twice = init.replace("def load_all_blocks():", "def load_again():", 1)
    twice = init + "\n\n" + twice[twice.index("def load_again():") :]
    (upstream / BLOCKS_INIT).write_text(twice)
    git(upstream, "commit", "-q", "-am", "feat(backend): a second loader (#9800)")
    git(upstream, "tag", "case/ambiguous")
    git(upstream, "checkout", "-q", "master")
    make_app(app_repo, upstream)
    code, out = forkman(
        capsys, "sync", "--check", "--json", "--no-fetch", "--to", "case/ambiguous", repo=app_repo
    )
    loader = {o["name"]: o for o in json.loads(out)["overlays"]}["loader-symlink"]
    assert code == 1 and loader["state"] == "conflict"
    assert [h["upstream_did"] for h in loader["hunks"]] == ["moved"]
    assert loader["hunks"][0]["moved_to"] is None
    code, text = forkman(
        capsys, "sync", "--check", "--no-fetch", "--to", "case/ambiguous", repo=app_repo
    )
    assert "upstream moved these lines" in text and f"{BLOCKS_INIT}:" in text


def test_a_followed_move_is_carried_by_a_real_sync(
    upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, tag = _app(app_repo, upstream, "move-function")
    code, out = forkman(capsys, "sync", "--json", "--no-fetch", "--to", tag, repo=app_repo)
    assert code == 0, out
    init = (project.checkout / BLOCKS_INIT).read_text()
    assert (
        '        for f in map(Path, glob.glob(f"{current_dir}/**/*.py", recursive=True))\n' in init
    )
    assert init.startswith("import glob\n") and "def load_all_blocks():" in init
    patch = project.overlay_text("loader-symlink")
    assert "+        for f in map(Path, glob.glob(" in patch


def test_a_move_into_another_file_takes_the_overlay_there(
    upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, tag = _app(app_repo, upstream, "move-to-file")
    code, out = forkman(capsys, "sync", "--no-fetch", "--to", tag, repo=app_repo)
    assert code == 0, out
    registry = (project.checkout / REGISTRY).read_text()
    assert registry.count('LlmModel.OLLAMA_QWEN2_5_7B: ModelMetadata("ollama", 32768, None),') == 1
    patch = project.overlay_text("llm-models")
    assert f"+++ b/{REGISTRY}" in patch
    assert '+    OLLAMA_QWEN2_5_7B = "qwen2.5"' in patch


def test_an_upstream_rename_is_followed(
    upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, tag = _app(app_repo, upstream, "rename")
    code, out = forkman(capsys, "sync", "--no-fetch", "--to", tag, repo=app_repo)
    assert code == 0, out
    assert "LlmModel.OLLAMA_QWEN2_5_7B: 1," in (project.checkout / RENAMED_COST).read_text()
    assert not (project.checkout / COST_CONFIG).exists()
    patch = project.overlay_text("cost-config")
    assert f"+++ b/{RENAMED_COST}" in patch and COST_CONFIG not in patch.replace(RENAMED_COST, "")


def test_likely_upstreamed_in_another_form_is_said_never_dropped(
    upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, tag = _app(app_repo, upstream, "another-form")
    code, out = forkman(
        capsys, "sync", "--check", "--json", "--no-fetch", "--to", tag, repo=app_repo
    )
    cost = {o["name"]: o for o in json.loads(out)["overlays"]}["cost-config"]
    assert code == 1 and cost["state"] == "conflict" and cost["likely_upstreamed"]
    assert "forkman overlay drop cost-config --upstreamed" in cost["note"]
    assert project.overlay_path("cost-config").exists()


def test_the_offered_drop_archives_it_as_upstreamed_and_the_sync_then_goes_through(
    upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shlex

    project, tag = _app(app_repo, upstream, "another-form")
    _, out = forkman(capsys, "sync", "--check", "--json", "--no-fetch", "--to", tag, repo=app_repo)
    note = {o["name"]: o for o in json.loads(out)["overlays"]}["cost-config"]["note"]
    command = shlex.split(note.split("`")[1])
    assert command[:5] == ["forkman", "overlay", "drop", "cost-config", "--upstreamed"]
    code, _ = forkman(capsys, *command[1:], repo=app_repo)
    assert code == 0
    archived = (project.overlays_dir / "upstreamed" / "cost-config.patch").read_text()
    assert f"Applied-Upstream: {PULL}9703" in archived
    assert "cost-config" not in project.series()
    code, out = forkman(capsys, "sync", "--no-fetch", "--to", tag, repo=app_repo)
    assert code == 0, out


def test_moved_lines_are_looked_for_in_the_changed_files_nearest_first() -> None:
    from forkman.git.history import nearest

    changed = ["docs/a.md", "backend/data/llm_registry.py", "backend/blocks/x.py", "z/y.py"]
    assert nearest(changed, ["backend/blocks/llm.py"], 2) == [
        "backend/blocks/x.py",
        "backend/data/llm_registry.py",
    ]


def test_nearest_ranks_as_the_longest_shared_folder_prefix_with_any() -> None:
    import random

    from forkman.git.history import nearest

    def shared(path: str, to: list[str]) -> int:  # the plain definition
        best = 0
        for other in to:
            n = 0
            for a, b in zip(path.split("/")[:-1], other.split("/")[:-1], strict=False):
                if a != b:
                    break
                n += 1
            best = max(best, n)
        return best

    rng = random.Random(7)

    def path() -> str:
        return "/".join(rng.choice("abc") for _ in range(rng.randint(0, 4))) + "/f.c"

    for _ in range(50):
        paths = sorted({path().lstrip("/") for _ in range(30)})
        to = [path().lstrip("/") for _ in range(rng.randint(0, 4))]
        want = sorted(paths, key=lambda p: (-shared(p, to), p))[:10]
        assert nearest(paths, to, 10) == want, (paths, to)
