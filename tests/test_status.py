"""`forkman overlay status [--json]`: a row per overlay with its state, then uncaptured files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from helpers import CHECKOUT, git

from forkman.autogpt.example import COST_CONFIG, LLM_PY, OVERLAYS


def status(forkman_run, app: Path) -> dict:
    return json.loads(forkman_run("overlay", "status", "--json", cwd=app).stdout)


def states(report: dict) -> dict[str, str]:
    return {o["name"]: o["state"] for o in report["overlays"]}


def test_status_of_applied_overlays(app_with_overlays: Path, forkman_run) -> None:
    report = status(forkman_run, app_with_overlays)

    assert report["version"] == 1
    assert set(report) >= {"upstream", "overlays", "uncaptured", "warnings", "clean"}
    assert report["upstream"]["at_pin"] is True
    assert [o["name"] for o in report["overlays"]] == list(OVERLAYS)
    llm = report["overlays"][1]
    assert (llm["files"], llm["added"], llm["removed"], llm["state"]) == ([LLM_PY], 2, 0, "applied")
    assert report["uncaptured"] == [] and report["clean"] is True


def test_status_text_has_a_row_per_overlay(app_with_overlays: Path, forkman_run) -> None:
    (app_with_overlays / CHECKOUT / "docs" / "index.md").write_text("mine\n")

    text = forkman_run("overlay", "status", cwd=app_with_overlays).stdout

    rows = {
        line.split()[0]: line.split()
        for line in text.splitlines()
        if line.split()[:1] and line.split()[0] in OVERLAYS
    }
    assert {name: row[1] for name, row in rows.items()} == dict.fromkeys(OVERLAYS, "applied")
    assert rows["llm-models"][2:4] == ["+2", "-0"]
    assert "docs/index.md" in text.split("uncaptured", 1)[1]


def test_status_lists_uncaptured_edits(app_with_overlays: Path, forkman_run) -> None:
    checkout = app_with_overlays / CHECKOUT
    (checkout / "README.md").write_text("edited\n")
    (checkout / "NOTES.md").write_text("a new file\n")
    (checkout / "classic" / "README.md").unlink()

    report = status(forkman_run, app_with_overlays)

    assert set(states(report).values()) == {"applied"}
    assert report["uncaptured"] == ["NOTES.md", "README.md", "classic/README.md"]
    assert report["clean"] is False


def test_status_sees_an_overlay_edited_further(app_with_overlays: Path, forkman_run) -> None:
    llm = app_with_overlays / CHECKOUT / LLM_PY
    llm.write_text(llm.read_text() + "# more\n")

    report = status(forkman_run, app_with_overlays)

    assert states(report)["llm-models"] == "modified"
    assert states(report)["cost-config"] == "applied"
    assert report["uncaptured"] == [LLM_PY]


def test_status_sees_an_overlay_not_applied(app_with_overlays: Path, forkman_run) -> None:
    git(app_with_overlays / CHECKOUT, "checkout", "--", COST_CONFIG)

    report = status(forkman_run, app_with_overlays)

    assert states(report) == {
        "loader-symlink": "applied",
        "llm-models": "applied",
        "cost-config": "not-applied",
    }
    assert report["uncaptured"] == []


def test_status_sees_an_overlay_that_does_not_apply(app_with_overlays: Path, forkman_run) -> None:
    patch = app_with_overlays / "overlays" / "cost-config.patch"
    patch.write_text(
        patch.read_text().replace(" LlmModel.OLLAMA_DOLPHIN: 1,", " LlmModel.OLLAMA_DOLPHIN: 9,")
    )

    report = status(forkman_run, app_with_overlays)

    assert states(report)["cost-config"] == "does-not-apply"
    assert states(report)["llm-models"] == "applied"
    assert COST_CONFIG in report["overlays"][2]["detail"]


def test_status_without_a_checkout(app_with_overlays: Path, forkman_run) -> None:
    shutil.rmtree(app_with_overlays / CHECKOUT)

    report = status(forkman_run, app_with_overlays)

    assert set(states(report).values()) == {"unknown"}
    assert report["warnings"] and report["clean"] is False


def test_status_json_is_stable(app_with_overlays: Path, forkman_run) -> None:
    first = forkman_run("overlay", "status", "--json", cwd=app_with_overlays).stdout
    assert forkman_run("overlay", "status", "--json", cwd=app_with_overlays).stdout == first


def test_status_warns_when_an_overlay_file_no_longer_matches_the_lock(
    app_with_overlays: Path, forkman_run
) -> None:
    patch = app_with_overlays / "overlays" / "cost-config.patch"
    patch.write_text(patch.read_text().replace("Forwarded: no", "Forwarded: no\nBug: 123"))

    report = json.loads(forkman_run("overlay", "status", "--json", cwd=app_with_overlays).stdout)

    assert any(
        w.startswith("overlays/cost-config.patch differs") and "forkman.lock" in w
        for w in report["warnings"]
    )
