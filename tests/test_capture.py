"""`forkman overlay capture|refresh|drop|list|show`: checkout edits become overlay files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from helpers import CHECKOUT, assert_one_line_error, git

from forkman.autogpt.example import (
    BLOCKS_INIT,
    COST_CONFIG,
    LLM_PY,
    OVERLAYS,
    edit_cost_config,
    edit_llm_models,
)

NAMES = list(OVERLAYS)


def series(app: Path) -> list[str]:
    return (app / "overlays" / "series").read_text().split()


def lock_overlays(app: Path) -> dict[str, str]:
    return json.loads((app / "forkman.lock").read_text())["overlays"]


def pinned(app: Path, path: str) -> bytes:
    return git(app / CHECKOUT, "show", f"HEAD:{path}").encode() + b"\n"


def test_capture_writes_the_overlay_and_appends_it(initialised_app: Path, forkman_run) -> None:
    edit_llm_models(initialised_app / CHECKOUT)

    forkman_run(
        "overlay",
        "capture",
        "llm-models",
        "-m",
        "Add qwen\n\nWe run it locally.",
        cwd=initialised_app,
    )

    patch = (initialised_app / "overlays" / "llm-models.patch").read_text()
    assert "Subject: Add qwen\n" in patch
    assert "Forwarded: no\n" in patch
    assert "\n\nWe run it locally.\n" in patch
    assert f"diff --git a/{LLM_PY} b/{LLM_PY}\n" in patch
    assert '+    OLLAMA_QWEN2_5_7B = "qwen2.5"\n' in patch
    assert "\nindex " not in patch
    assert series(initialised_app) == ["llm-models"]
    digest = hashlib.sha256(patch.encode()).hexdigest()
    assert lock_overlays(initialised_app) == {"llm-models": digest}
    # the edit stays in the checkout, now explained by the overlay
    assert "OLLAMA_QWEN2_5_7B" in (initialised_app / CHECKOUT / LLM_PY).read_text()


def test_overlays_keep_series_order(app_with_overlays: Path, forkman_run) -> None:
    assert series(app_with_overlays) == NAMES

    listing = forkman_run("overlay", "list", cwd=app_with_overlays).stdout
    assert [line.split("\t")[0] for line in listing.splitlines()] == NAMES
    listed = json.loads(forkman_run("overlay", "list", "--json", cwd=app_with_overlays).stdout)
    assert listed["version"] == 1
    as_json = listed["overlays"]
    assert [o["name"] for o in as_json] == NAMES
    assert as_json[1]["files"] == [LLM_PY]
    assert as_json[0]["subject"] == OVERLAYS["loader-symlink"][0]


def test_capture_only_the_paths_given(initialised_app: Path, forkman_run) -> None:
    edit_llm_models(initialised_app / CHECKOUT)
    edit_cost_config(initialised_app / CHECKOUT)

    forkman_run("overlay", "capture", "cost-config", COST_CONFIG, cwd=initialised_app)

    patch = (initialised_app / "overlays" / "cost-config.patch").read_text()
    assert COST_CONFIG in patch and LLM_PY not in patch
    status = json.loads(forkman_run("overlay", "status", "--json", cwd=initialised_app).stdout)
    assert status["uncaptured"] == [LLM_PY]


def test_capture_paths_relative_to_where_the_user_stands(
    initialised_app: Path, forkman_run
) -> None:
    checkout = initialised_app / CHECKOUT
    edit_llm_models(checkout)
    edit_cost_config(checkout)
    blocks = checkout / "autogpt_platform/backend/backend/blocks"

    forkman_run("overlay", "capture", "llm-models", "llm.py", cwd=blocks)
    forkman_run(
        "overlay", "capture", "cost-config", str(checkout / COST_CONFIG), cwd=initialised_app
    )

    assert LLM_PY in (initialised_app / "overlays" / "llm-models.patch").read_text()
    assert COST_CONFIG in (initialised_app / "overlays" / "cost-config.patch").read_text()


def test_capture_without_edits_refuses(initialised_app: Path, forkman_run) -> None:
    result = forkman_run("overlay", "capture", "nothing", cwd=initialised_app, expect=2)

    assert_one_line_error(result)
    assert series(initialised_app) == []
    assert not (initialised_app / "overlays" / "nothing.patch").exists()


def test_capture_an_existing_name_refuses(app_with_overlays: Path, forkman_run) -> None:
    (app_with_overlays / CHECKOUT / "README.md").write_text("changed\n")
    before = (app_with_overlays / "overlays" / "llm-models.patch").read_bytes()

    result = forkman_run("overlay", "capture", "llm-models", cwd=app_with_overlays, expect=2)

    assert_one_line_error(result, "llm-models")
    assert (app_with_overlays / "overlays" / "llm-models.patch").read_bytes() == before
    assert series(app_with_overlays) == NAMES


def test_refresh_folds_further_edits_in(app_with_overlays: Path, forkman_run) -> None:
    llm = app_with_overlays / CHECKOUT / LLM_PY
    llm.write_text(llm.read_text().replace("# Ollama models", "# Ollama models (local)"))

    result = forkman_run("overlay", "refresh", "llm-models", cwd=app_with_overlays)

    patch = (app_with_overlays / "overlays" / "llm-models.patch").read_text()
    assert "+    # Ollama models (local)\n" in patch
    assert "refreshed" in result.stdout
    assert (
        lock_overlays(app_with_overlays)["llm-models"] == hashlib.sha256(patch.encode()).hexdigest()
    )
    status = json.loads(forkman_run("overlay", "status", "--json", cwd=app_with_overlays).stdout)
    assert status["clean"], status


def test_refresh_unchanged_is_byte_identical(app_with_overlays: Path, forkman_run) -> None:
    before = {n: (app_with_overlays / "overlays" / f"{n}.patch").read_bytes() for n in NAMES}
    lock_before = (app_with_overlays / "forkman.lock").read_bytes()

    for name in NAMES:
        assert "unchanged" in forkman_run("overlay", "refresh", name, cwd=app_with_overlays).stdout

    assert {
        n: (app_with_overlays / "overlays" / f"{n}.patch").read_bytes() for n in NAMES
    } == before
    assert (app_with_overlays / "forkman.lock").read_bytes() == lock_before
    assert git(app_with_overlays, "status", "--porcelain") == ""


def test_refresh_with_a_new_message(app_with_overlays: Path, forkman_run) -> None:
    forkman_run(
        "overlay",
        "refresh",
        "cost-config",
        "-m",
        "Price qwen\n\nOne credit.",
        cwd=app_with_overlays,
    )

    patch = (app_with_overlays / "overlays" / "cost-config.patch").read_text()
    assert "Subject: Price qwen\n" in patch and "One credit." in patch
    assert "Forwarded: no\n" in patch


def test_refresh_takes_a_new_path(app_with_overlays: Path, forkman_run) -> None:
    readme = app_with_overlays / CHECKOUT / "README.md"
    readme.write_text(readme.read_text() + "\nThis fork prices qwen.\n")

    forkman_run("overlay", "refresh", "cost-config", "README.md", cwd=app_with_overlays)

    patch = (app_with_overlays / "overlays" / "cost-config.patch").read_text()
    assert "diff --git a/README.md b/README.md" in patch and COST_CONFIG in patch


def test_show_prints_the_overlay_file(app_with_overlays: Path, forkman_run) -> None:
    shown = forkman_run("overlay", "show", "loader-symlink", cwd=app_with_overlays).stdout

    assert shown == (app_with_overlays / "overlays" / "loader-symlink.patch").read_text()


def test_drop_removes_the_overlay_and_its_change(app_with_overlays: Path, forkman_run) -> None:
    forkman_run("overlay", "drop", "llm-models", cwd=app_with_overlays)

    assert series(app_with_overlays) == ["loader-symlink", "cost-config"]
    assert not (app_with_overlays / "overlays" / "llm-models.patch").exists()
    assert set(lock_overlays(app_with_overlays)) == {"loader-symlink", "cost-config"}
    checkout = app_with_overlays / CHECKOUT
    assert (checkout / LLM_PY).read_bytes() == pinned(app_with_overlays, LLM_PY)
    assert "glob.glob" in (checkout / BLOCKS_INIT).read_text()  # the others stay applied
    status = json.loads(forkman_run("overlay", "status", "--json", cwd=app_with_overlays).stdout)
    assert status["clean"] and [o["name"] for o in status["overlays"]] == [
        "loader-symlink",
        "cost-config",
    ]


def test_drop_refuses_to_lose_edits(app_with_overlays: Path, forkman_run) -> None:
    llm = app_with_overlays / CHECKOUT / LLM_PY
    llm.write_text(llm.read_text() + "# my uncaptured note\n")

    result = forkman_run("overlay", "drop", "llm-models", cwd=app_with_overlays, expect=2)

    assert_one_line_error(result, LLM_PY)
    assert llm.read_text().endswith("# my uncaptured note\n")
    assert series(app_with_overlays) == NAMES


def test_drop_then_capture_again_gives_the_same_bytes(app_with_overlays: Path, forkman_run) -> None:
    before = (app_with_overlays / "overlays" / "cost-config.patch").read_bytes()
    subject, body, edit = OVERLAYS["cost-config"]

    forkman_run("overlay", "drop", "cost-config", cwd=app_with_overlays)
    edit(app_with_overlays / CHECKOUT)
    forkman_run(
        "overlay", "capture", "cost-config", "-m", f"{subject}\n\n{body}", cwd=app_with_overlays
    )

    assert (app_with_overlays / "overlays" / "cost-config.patch").read_bytes() == before
    assert git(app_with_overlays, "status", "--porcelain") == ""


def test_a_second_overlay_on_the_same_file(app_with_overlays: Path, forkman_run) -> None:
    llm = app_with_overlays / CHECKOUT / LLM_PY
    llm.write_text(llm.read_text().replace("# Groq models", "# Groq models (cloud)"))

    forkman_run("overlay", "capture", "llm-comments", cwd=app_with_overlays)

    patch = (app_with_overlays / "overlays" / "llm-comments.patch").read_text()
    assert "+    # Groq models (cloud)\n" in patch and "QWEN" not in patch.split("---\n", 1)[
        1
    ].replace(" LlmModel.OLLAMA_QWEN", "")  # only context may mention the earlier overlay's lines
    by_hand = llm.read_bytes()
    llm.unlink()
    git(app_with_overlays / CHECKOUT, "checkout", "--", LLM_PY)  # back to the pin
    forkman_run("apply", cwd=app_with_overlays)
    assert llm.read_bytes() == by_hand


def test_drop_refuses_when_a_later_overlay_needs_it(app_with_overlays: Path, forkman_run) -> None:
    llm = app_with_overlays / CHECKOUT / LLM_PY
    llm.write_text(llm.read_text().replace('"qwen2.5"', '"qwen2.5"  # runs on our GPU box'))
    forkman_run("overlay", "capture", "qwen-note", cwd=app_with_overlays)
    before = llm.read_bytes()

    result = forkman_run("overlay", "drop", "llm-models", cwd=app_with_overlays, expect=2)

    assert_one_line_error(result, "qwen-note")
    assert series(app_with_overlays) == [*NAMES, "qwen-note"]
    assert llm.read_bytes() == before


def test_refresh_refuses_an_edit_that_belongs_to_a_later_overlay(
    app_with_overlays: Path, forkman_run
) -> None:
    llm = app_with_overlays / CHECKOUT / LLM_PY
    llm.write_text(llm.read_text().replace("# Groq models", "# Groq models (cloud)"))
    forkman_run("overlay", "capture", "llm-comments", cwd=app_with_overlays)
    llm.write_text(llm.read_text().replace("# Groq models (cloud)", "# Groq models (in the cloud)"))
    before = (app_with_overlays / "overlays" / "llm-models.patch").read_bytes()

    result = forkman_run("overlay", "refresh", "llm-models", cwd=app_with_overlays, expect=2)

    assert_one_line_error(result, "llm-comments")
    assert (app_with_overlays / "overlays" / "llm-models.patch").read_bytes() == before
    forkman_run("overlay", "refresh", "llm-comments", cwd=app_with_overlays)
    assert "(in the cloud)" in (app_with_overlays / "overlays" / "llm-comments.patch").read_text()


def test_commands_work_from_a_subfolder_of_the_app(app_with_overlays: Path, forkman_run) -> None:
    listing = forkman_run("overlay", "list", cwd=app_with_overlays / "overlays").stdout

    assert [line.split("\t")[0] for line in listing.splitlines()] == NAMES


def test_capture_keeps_comments_in_the_series(app_with_overlays: Path, forkman_run) -> None:
    text = "# our overlays\nloader-symlink  # upstream PR pending\nllm-models\ncost-config\n"
    (app_with_overlays / "overlays" / "series").write_text(text)
    (app_with_overlays / CHECKOUT / "README.md").write_text("ours\n")

    forkman_run("overlay", "capture", "readme", cwd=app_with_overlays)
    forkman_run("overlay", "drop", "llm-models", cwd=app_with_overlays)

    assert (app_with_overlays / "overlays" / "series").read_text() == (
        "# our overlays\nloader-symlink  # upstream PR pending\ncost-config\nreadme\n"
    )
