"""Sync scenarios written as data (tests/scenarios/*.yaml): releases, overlays, the expected result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import forkman, git, make_app

from forkman.autogpt.example import OVERLAYS, commit_files
from forkman.commands.capture import capture
from forkman.store.project import Project

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))


def _release(upstream: Path, release: dict) -> None:
    """Commit RELEASE's edits on top of its `base` ref in the upstream, and tag it."""
    git(upstream, "checkout", "-q", "--detach", release["base"])
    changed: dict[str, str | None] = {}
    for edit in release["edits"]:
        if "overlay" in edit:
            OVERLAYS[edit["overlay"]][2](upstream)
            changed.update(
                {
                    p: (upstream / p).read_text()
                    for p in git(upstream, "diff", "--name-only").split()
                }
            )
        elif edit.get("delete"):
            changed[edit["path"]] = None
        elif "add" in edit:
            changed[edit["path"]] = edit["add"]
        elif "rename_to" in edit:
            changed[edit["rename_to"]] = (upstream / edit["path"]).read_text()
            changed[edit["path"]] = None
        else:
            text = (upstream / edit["path"]).read_text()
            assert edit["old"] in text, edit
            changed[edit["path"]] = text.replace(edit["old"], edit["new"], 1)
    commit_files(upstream, release.get("message", "release"), changed, tag=release["tag"])
    git(upstream, "checkout", "-q", "master")


def _arrange(spec: dict[str, Any], upstream: Path, app_repo: Path) -> Project:
    """The app with the scenario's overlays, then upstream's new releases."""
    project = make_app(app_repo, upstream, tuple(spec.get("overlays", OVERLAYS)))
    for extra in spec.get("extra_overlays", []):
        for edit in extra["edits"]:
            file = project.checkout / edit["path"]
            if edit.get("delete"):
                file.unlink()
            elif "add" in edit:
                file.write_text(edit["add"])
            else:
                file.write_text(file.read_text().replace(edit["old"], edit["new"], 1))
        capture(project, extra["name"], extra["name"])
    for release in spec.get("releases", []):
        _release(upstream, release)
    return project


def _check_report(expect: dict[str, Any], report: dict[str, Any]) -> None:
    assert report["phase"] == expect["phase"]
    if "to" in expect:
        assert report["to"]["ref"] == expect["to"]
    if "current" in expect:
        assert report["current"] == expect["current"]
    by_name = {o["name"]: o for o in report["overlays"]}
    assert {n: o["state"] for n, o in by_name.items()} == expect["overlays"]
    for name, cause in expect.get("cause", {}).items():
        assert by_name[name]["cause"] == cause
    for name, blockers in expect.get("blocked_by", {}).items():
        assert by_name[name]["blocked_by"] == blockers
    for name, paths in expect.get("carried_without", {}).items():
        without = by_name[name]["carried_without"]
        assert [w["path"] for w in without] == paths and by_name[name]["needs_review"]
        assert all(w["deleted_in"]["pr"] == expect["deleted_in_pr"] for w in without)
        assert f"#{expect['deleted_in_pr']}" in by_name[name]["detail"]
    for state in by_name.values():
        if state["state"] == "conflict":
            assert state["hunks"] and all(h["start"] <= h["end"] for h in state["hunks"])


def _check_files(
    project: Project, expect: dict[str, Any], report: dict[str, Any], before: dict[str, str]
) -> None:
    lock = json.loads(project.lock_path.read_text())
    if expect["phase"] == "done":
        assert lock["upstream"]["commit"] == report["to"]["commit"]
        assert git(project.checkout, "rev-parse", "HEAD").strip() == report["to"]["commit"]
        assert sorted(lock["overlays"]) == sorted(expect["series"])
    else:
        assert lock["upstream"]["ref"] == "autogpt-platform-beta-v0.6.8"
    if "series" in expect:
        assert project.series() == tuple(expect["series"])
    for name in expect.get("archived", []):
        archive = project.overlays_dir / "upstreamed" / f"{name}.patch"
        assert f"Applied-Upstream: {report['to']['ref']}" in archive.read_text()
        assert not project.overlay_path(name).exists()
    for name, header in expect.get("header", {}).items():
        head = project.overlay_text(name).split("\n\n", 1)[0]
        # a header line that starts so (Applied-Upstream goes on with the upstream commit)
        assert any(line.startswith(header) for line in head.splitlines()), head
    for name, texts in expect.get("patch_has", {}).items():
        for text in texts:
            assert text in project.overlay_text(name)
    for name, texts in expect.get("patch_lacks", {}).items():
        for text in texts:
            assert text not in project.overlay_text(name)
    for name, where in expect.get("kept_whole", {}).items():
        # the overlay as it was before the sync, every hunk of it, where a reviewer finds it
        kept = (project.overlays_dir / where).read_text()
        assert before[name].split("\n---\n", 1)[1] in kept
    for name, count in expect.get("patch_lines", {}).items():
        added = [
            ln
            for ln in project.overlay_text(name).splitlines()
            if ln.startswith("+") and not ln.startswith("+++")
        ]
        assert len(added) == count


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(
    scenario: Path, upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = yaml.safe_load(scenario.read_text())
    project = _arrange(spec, upstream, app_repo)
    before = {name: project.overlay_text(name) for name in project.series()}

    code, out = forkman(capsys, "sync", "--json", *spec["sync"], repo=app_repo)

    expect = spec["expect"]
    report = json.loads(out)
    assert code == expect["exit"], out
    _check_report(expect, report)
    _check_files(project, expect, report, before)


def test_a_file_upstream_deleted_is_said_in_text_and_markdown(
    upstream: Path, app_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check a nightly job runs: the text and the PR body name the file, the commit and its
    PR, and count the overlay as needing review (never "carried over cleanly")."""
    spec = yaml.safe_load(
        (Path(__file__).parent / "scenarios/carried_without_deleted_file.yaml").read_text()
    )
    project = _arrange(spec, upstream, app_repo)
    summary = tmp_path / "summary.md"

    code, text = forkman(capsys, "sync", "--check", "--summary", str(summary), repo=app_repo)

    assert code == 0
    said = "carried without docs/index.md: upstream deleted it in "
    row = next(line for line in text.splitlines() if line.startswith("docs-welcome"))
    assert said in row and "(#4242)" in row and row.split()[1] == "moved"
    assert any(ln.startswith("review: docs-welcome (moved): " + said) for ln in text.splitlines())
    assert any(
        ln.startswith("review: classic-note (upstreamed): without docs/index.md")
        for ln in text.splitlines()
    )
    markdown = summary.read_text()
    assert "carried over cleanly" not in markdown
    review = markdown.split("**Needs review:**", 1)[1]
    assert f"- docs-welcome (moved): {said}" in review and "(#4242)" in review
    assert "overlays/dropped/" in review
    assert project.series() == ("docs-welcome", "classic-note")  # a check changes nothing


def test_a_conflict_in_the_rest_stops_and_continue_carries_it_without_the_file(
    upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rest of an overlay whose other file upstream deleted conflicts: the sync stops there
    as for any conflict; once resolved, the overlay goes on without the file, its old patch kept."""
    title = "# AutoGPT: Build, Deploy, and Run AI Agents\n"
    spec = {
        "overlays": [],
        "extra_overlays": [
            {
                "name": "docs-welcome",
                "edits": [
                    {"path": "README.md", "old": title, "new": "# AutoGPT (our fork)\n"},
                    {
                        "path": "docs/index.md",
                        "old": "Welcome to the AutoGPT docs.\n",
                        "new": "Welcome to our fork's docs.\n",
                    },
                ],
            }
        ],
        "releases": [
            {
                "base": "autogpt-platform-beta-v0.6.9",
                "tag": "autogpt-platform-beta-v0.6.12",
                "message": "docs: move the docs to the new site (#4242)",
                "edits": [
                    {"path": "docs/index.md", "delete": True},
                    {"path": "README.md", "old": title, "new": "# AutoGPT Platform\n"},
                ],
            }
        ],
    }
    project = _arrange(spec, upstream, app_repo)
    before = project.overlay_text("docs-welcome")

    code, out = forkman(capsys, "sync", "--json", repo=app_repo)
    report = json.loads(out)
    assert code == 1 and report["phase"] == "stopped" and report["current"] == "docs-welcome"
    (stopped,) = report["overlays"]
    assert stopped["state"] == "conflict" and stopped["files"] == ["README.md"]
    assert [w["path"] for w in stopped["carried_without"]] == ["docs/index.md"]
    assert [h["path"] for h in stopped["hunks"]] == ["README.md"]

    readme = project.checkout / "README.md"
    text = readme.read_text()
    assert "<<<<<<<" in text and not (project.checkout / "docs/index.md").exists()
    readme.write_text(
        _upstream_side(text).replace("# AutoGPT Platform\n", "# AutoGPT Platform (our fork)\n")
    )
    code, out = forkman(capsys, "sync", "--continue", "--json", repo=app_repo)
    report = json.loads(out)
    assert code == 0 and report["phase"] == "done", out
    (done,) = report["overlays"]
    assert done["state"] == "resolved" and "carried without docs/index.md" in done["detail"]
    assert done["needs_review"]

    carried = project.overlay_text("docs-welcome")
    assert "(our fork)" in carried and "docs/index.md b/docs/index.md" not in carried
    assert "Carried-Without: without docs/index.md: upstream deleted it in " in carried
    kept = project.overlays_dir / "dropped/docs-welcome.before-autogpt-platform-beta-v0.6.12.patch"
    assert before.split("\n---\n", 1)[1] in kept.read_text()
    assert project.series() == ("docs-welcome",)


def _upstream_side(text: str) -> str:
    """TEXT with each conflict settled to upstream's side (git's "ours" in a sync)."""
    out, side = [], None
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<< "):
            side = "upstream"
        elif line.startswith("||||||| ") or line.startswith("======="):
            side = "other"
        elif line.startswith(">>>>>>> "):
            side = None
        elif side in (None, "upstream"):
            out.append(line)
    return "".join(out)


def test_a_file_moved_among_many_changes_is_followed_not_left_out(
    upstream: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rename git's rename limit would skip (curl 8 moved lib/curl_path.c to lib/vssh/ among
    1,441 added files; here the limit is set to 1) is still found: the overlay follows it
    rather than being carried without the file."""
    index = "# AutoGPT Documentation\n\nWelcome to the AutoGPT docs.\n"
    spec = {
        "overlays": [],
        "extra_overlays": [
            {
                "name": "docs-welcome",
                "edits": [
                    {"path": "README.md", "old": "# AutoGPT:", "new": "# AutoGPT (our fork):"},
                    {"path": "docs/index.md", "old": "the AutoGPT docs", "new": "our docs"},
                ],
            }
        ],
        "releases": [
            {
                "base": "autogpt-platform-beta-v0.6.9",
                "tag": "autogpt-platform-beta-v0.6.12",
                "edits": [
                    {"path": "docs/index.md", "delete": True},
                    {"path": "docs/guide/index.md", "add": index.replace("Documentation", "Docs")},
                    {"path": "docs/guide/a.md", "add": "A page.\n"},
                    {"path": "docs/guide/b.md", "add": "Another page.\n"},
                ],
            }
        ],
    }
    project = _arrange(spec, upstream, app_repo)
    git(project.checkout, "config", "diff.renameLimit", "1")

    code, out = forkman(capsys, "sync", "--json", repo=app_repo)

    (result,) = json.loads(out)["overlays"]
    assert code == 0 and result["state"] == "moved" and not result["carried_without"], out
    assert "rename of docs/index.md to docs/guide/index.md" in result["detail"]
    assert "Welcome to our docs." in (project.checkout / "docs/guide/index.md").read_text()


@pytest.mark.parametrize("folder", ["upstreamed", ""])
def test_an_overlays_folder_linked_out_of_the_repo_is_refused_before_the_checkout_moves(
    upstream: Path, app_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], folder: str
) -> None:
    """The commit would refuse to write there too, but only after rewriting the checkout."""
    spec = yaml.safe_load((Path(__file__).parent / "scenarios/upstreamed.yaml").read_text())
    project = _arrange(spec, upstream, app_repo)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if folder:
        (project.overlays_dir / folder).symlink_to(elsewhere)
    else:  # overlays/ itself: its files moved out, the folder a link to them
        for path in project.overlays_dir.iterdir():
            path.rename(elsewhere / path.name)
        project.overlays_dir.rmdir()
        project.overlays_dir.symlink_to(elsewhere)
    head = git(project.checkout, "rev-parse", "HEAD")

    code, _ = forkman(capsys, "sync", repo=app_repo)

    err = forkman.last_err  # type: ignore[attr-defined]
    assert code == 2 and "leads out of the app repo" in err and len(err.splitlines()) == 1
    assert git(project.checkout, "rev-parse", "HEAD") == head
    assert not project.sync_in_progress() and list(elsewhere.glob("*/*.patch")) == []
