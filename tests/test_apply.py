"""`forkman apply` and `forkman link`: the checkout becomes the pin plus every overlay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from helpers import CHECKOUT, assert_one_line_error, git, tree_snapshot

from forkman.autogpt.example import BLOCKS_INIT, COST_CONFIG, LLM_PY, OVERLAYS, RELEASES


def status_json(forkman_run, app: Path) -> dict:
    return json.loads(forkman_run("overlay", "status", "--json", cwd=app).stdout)


def test_done_when_apply_rebuilds_the_hand_edited_tree(initialised_app: Path, forkman_run) -> None:
    """init, edit three files, capture three overlays, delete the checkout, apply: same bytes."""
    checkout = initialised_app / CHECKOUT
    for name, (subject, body, edit) in OVERLAYS.items():
        edit(checkout)
        forkman_run("overlay", "capture", name, "-m", f"{subject}\n\n{body}", cwd=initialised_app)
    by_hand = tree_snapshot(checkout)

    shutil.rmtree(checkout)
    forkman_run("apply", cwd=initialised_app)

    assert tree_snapshot(checkout) == by_hand
    assert (
        git(checkout, "rev-parse", "HEAD")
        == json.loads((initialised_app / "forkman.lock").read_text())["upstream"]["commit"]
    )
    (checkout / "README.md").write_text("an uncaptured edit\n")
    report = status_json(forkman_run, initialised_app)
    assert [(o["name"], o["state"]) for o in report["overlays"]] == [
        (n, "applied") for n in OVERLAYS
    ]
    assert report["uncaptured"] == ["README.md"]


def test_apply_on_a_fresh_clone_of_the_app_repo(
    app_with_overlays: Path, tmp_path: Path, forkman_run
) -> None:
    clone = tmp_path / "teammate"
    git(tmp_path, "clone", "-q", str(app_with_overlays), str(clone))
    assert not (clone / CHECKOUT).exists()

    result = forkman_run("apply", cwd=clone)

    assert tree_snapshot(clone / CHECKOUT) == tree_snapshot(app_with_overlays / CHECKOUT)
    assert "warning" not in result.stderr
    assert git(clone, "status", "--porcelain") == ""  # the checkout is ignored
    assert status_json(forkman_run, clone)["clean"]


def test_apply_twice_changes_nothing(app_with_overlays: Path, forkman_run) -> None:
    checkout = app_with_overlays / CHECKOUT
    shutil.rmtree(checkout)
    forkman_run("apply", cwd=app_with_overlays)
    before = tree_snapshot(checkout)
    mtimes = {p: (checkout / p).stat().st_mtime_ns for p in (BLOCKS_INIT, LLM_PY, COST_CONFIG)}

    result = forkman_run("apply", cwd=app_with_overlays)

    assert "wrote" not in result.stdout and "up to date" in result.stdout
    assert tree_snapshot(checkout) == before
    assert {p: (checkout / p).stat().st_mtime_ns for p in mtimes} == mtimes


def test_apply_writes_overlays_onto_a_pristine_checkout(
    app_with_overlays: Path, forkman_run
) -> None:
    checkout = app_with_overlays / CHECKOUT
    edited = tree_snapshot(checkout)
    git(checkout, "checkout", "--", ".")  # back to the bare pin, as a plain clone would be

    result = forkman_run("apply", cwd=app_with_overlays)

    assert tree_snapshot(checkout) == edited
    assert {LLM_PY, COST_CONFIG, BLOCKS_INIT} <= set(result.stdout.split())


def test_apply_refuses_to_overwrite_uncaptured_edits(app_with_overlays: Path, forkman_run) -> None:
    checkout = app_with_overlays / CHECKOUT
    (checkout / "README.md").write_text("my uncaptured edit\n")
    llm = checkout / LLM_PY
    llm.write_text(llm.read_text() + "# also mine\n")
    before = tree_snapshot(checkout)

    result = forkman_run("apply", cwd=app_with_overlays, expect=2)

    assert_one_line_error(result, "README.md", LLM_PY, "capture")
    assert tree_snapshot(checkout) == before


def test_apply_follows_a_teammates_new_overlay_and_drop(
    app_with_overlays: Path, tmp_path: Path, forkman_run
) -> None:
    clone = tmp_path / "teammate"
    git(tmp_path, "clone", "-q", str(app_with_overlays), str(clone))
    forkman_run("apply", cwd=clone)

    # upstream of the teammate: one overlay dropped, one added
    forkman_run("overlay", "drop", "llm-models", cwd=app_with_overlays)
    forkman_run("overlay", "drop", "cost-config", cwd=app_with_overlays)
    readme = app_with_overlays / CHECKOUT / "README.md"
    readme.write_text(readme.read_text() + "\nForked for our team.\n")
    forkman_run("overlay", "capture", "readme-note", cwd=app_with_overlays)
    git(app_with_overlays, "add", "-A")
    git(app_with_overlays, "commit", "-q", "-m", "Drop llm-models, add readme-note")
    git(clone, "pull", "-q")

    forkman_run("apply", cwd=clone)

    assert tree_snapshot(clone / CHECKOUT) == tree_snapshot(app_with_overlays / CHECKOUT)
    assert "OLLAMA_QWEN2_5_7B" not in (clone / CHECKOUT / LLM_PY).read_text()
    assert status_json(forkman_run, clone)["clean"]


def test_apply_moves_the_checkout_to_a_new_pin(
    initialised_app: Path, upstream: Path, forkman_run
) -> None:
    lock_path = initialised_app / "forkman.lock"
    lock = json.loads(lock_path.read_text())
    newer = git(upstream, "rev-parse", f"{RELEASES[1]}^{{commit}}")
    lock["upstream"].update(ref=RELEASES[1], commit=newer)
    lock_path.write_text(json.dumps(lock, indent=2) + "\n")

    forkman_run("apply", cwd=initialised_app)

    assert git(initialised_app / CHECKOUT, "rev-parse", "HEAD") == newer
    assert git(initialised_app / CHECKOUT, "status", "--porcelain") == ""


def test_apply_warns_about_a_hand_edited_overlay(app_with_overlays: Path, forkman_run) -> None:
    patch = app_with_overlays / "overlays" / "llm-models.patch"
    patch.write_text(patch.read_text().replace("Subject: ", "Subject: [local] "))

    result = forkman_run("apply", cwd=app_with_overlays)

    assert "warning" in result.stderr and "llm-models" in result.stderr


def add_link(app: Path, source: str, target: str) -> None:
    config = app / "forkman.yaml"
    config.write_text(
        config.read_text().replace(
            "links: []", f"links:\n  - source: {source}\n    target: {target}"
        )
    )


def test_apply_and_link_create_the_configured_links(app_with_overlays: Path, forkman_run) -> None:
    custom = app_with_overlays / "blocks" / "customized"
    custom.mkdir(parents=True)
    (custom / "calculator.py").write_text("# our block\n")
    target = "autogpt_platform/backend/backend/blocks/customized"
    add_link(app_with_overlays, "blocks/customized", target)

    forkman_run("apply", cwd=app_with_overlays)

    link = app_with_overlays / CHECKOUT / target
    assert link.is_symlink() and (link / "calculator.py").read_text() == "# our block\n"
    assert (
        git(app_with_overlays / CHECKOUT, "status", "--porcelain") != ""
    )  # overlays are uncommitted...
    assert "customized" not in git(
        app_with_overlays / CHECKOUT, "status", "--porcelain"
    )  # ...links excluded
    assert status_json(forkman_run, app_with_overlays)["clean"]
    assert "already" in forkman_run("link", cwd=app_with_overlays).stdout

    link.unlink()
    forkman_run("link", cwd=app_with_overlays)
    assert link.is_symlink()


def test_apply_in_a_sparse_partial_checkout(
    app_repo: Path, upstream: Path, tmp_path: Path, forkman_run
) -> None:
    git(upstream, "config", "uploadpack.allowFilter", "true")
    forkman_run(
        "init",
        "--upstream",
        upstream.as_uri(),
        "--ref",
        RELEASES[0],
        "--path",
        CHECKOUT,
        "--sparse",
        "autogpt_platform/backend",
        "--partial",
        cwd=app_repo,
    )
    for name, (subject, _body, edit) in OVERLAYS.items():
        edit(app_repo / CHECKOUT)
        forkman_run("overlay", "capture", name, "-m", subject, cwd=app_repo)
    git(app_repo, "add", "-A")
    git(app_repo, "commit", "-q", "-m", "sparse fork")
    clone = tmp_path / "teammate"
    git(tmp_path, "clone", "-q", str(app_repo), str(clone))

    forkman_run("apply", cwd=clone)

    assert tree_snapshot(clone / CHECKOUT) == tree_snapshot(app_repo / CHECKOUT)
    assert not (clone / CHECKOUT / "classic").exists()
    assert status_json(forkman_run, clone)["clean"]
