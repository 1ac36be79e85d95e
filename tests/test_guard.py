"""`forkman guard` under the real pre-commit, and the hook that keeps commits out of the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from app_setup import forkman, forkman_env
from helpers import CHECKOUT, git, make_app

from forkman.autogpt.example import COST_CONFIG, LLM_PY
from forkman.commands.capture import capture
from forkman.commands.guard import HOOK_MARKER, guard, install_upstream_hook
from forkman.errors import ForkmanError
from forkman.store.project import Project

PRE_COMMIT = str(Path(sys.executable).with_name("pre-commit"))
DOC = "docs/index.md"

REF = "autogpt-platform-beta-v0.6.10"


@pytest.fixture
def app(upstream: Path, app_repo: Path) -> Project:
    return make_app(app_repo, upstream, ref=REF, blocks=True)


def files(project: Project, staged: tuple[str, ...] = ()) -> set[str]:
    return {f.file for f in guard(project, staged).findings}


def use_pre_commit(project: Project, tmp: Path) -> None:
    """The guard as a local, system hook (no hook repo to clone), installed as the git hook."""
    (project.root / ".pre-commit-config.yaml").write_text(f"""\
repos:
  - repo: local
    hooks:
      - id: forkman-guard
        name: forkman guard
        language: system
        entry: {sys.executable} -m forkman guard
        pass_filenames: true
        always_run: true
""")
    git(project.root, "add", ".pre-commit-config.yaml")
    git(
        project.root,
        "commit",
        "-q",
        "--no-verify",
        "-m",
        "Run the forkman guard before each commit",
    )
    proc = subprocess.run(
        [PRE_COMMIT, "install"],
        cwd=project.root,
        env=forkman_env(tmp),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def commit(project: Project, tmp: Path, message: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-q", "-m", message],
        cwd=project.root,
        env=forkman_env(tmp),
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_clean_app_passes(app: Project, tmp_path: Path) -> None:
    report = guard(app)
    assert report.findings == ()
    # the one note: our blocks link leaves the checkout (a Docker build there would lose it)
    (note,) = report.notes
    assert "points outside the checkout" in note and "mode: copy" in note
    run = forkman(["guard", "README.md"], app.root, tmp_path)
    assert (run.returncode, run.stdout) == (0, "")


def test_pre_commit_refuses_a_direct_upstream_edit_until_it_is_captured(
    app: Project, tmp_path: Path
) -> None:
    use_pre_commit(app, tmp_path)
    head = git(app.root, "rev-parse", "HEAD")
    with (app.checkout / DOC).open("a") as handle:
        handle.write("\nOur deployment notes.\n")
    (app.root / "README.md").write_text("# My app\n\nNow with notes.\n")
    git(app.root, "add", "README.md")

    refused = commit(app, tmp_path, "Notes")
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr  # git shows the hook's output on stderr
    assert f"{CHECKOUT}/{DOC}" in output and "forkman overlay capture" in output
    assert git(app.root, "rev-parse", "HEAD") == head

    capture(app, "deploy-notes", "Document our deployment\n\nPeople asked where the notes are.")
    git(app.root, "add", "overlays", "forkman.lock")
    passed = commit(app, tmp_path, "Notes, kept as an overlay")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert git(app.root, "show", "--name-only", "--format=", "HEAD").split() == [
        "README.md",
        "forkman.lock",
        "overlays/deploy-notes.patch",
        "overlays/series",
    ]


@pytest.mark.parametrize(
    "how",
    [("-a",), ("--", "README.md")],
    ids=["commit -a", "commit -- PATH"],
)
def test_pre_commit_lets_an_ordinary_commit_of_unstaged_files_through(
    app: Project, tmp_path: Path, how: tuple[str, ...]
) -> None:
    """git runs the hook with GIT_INDEX_FILE naming a temporary index of the app repo here;
    forkman's git in the checkout must not read it (it would see every file as edited)."""
    use_pre_commit(app, tmp_path)
    (app.root / "README.md").write_text("# My app\n\nA line of our own.\n")
    env = forkman_env(tmp_path)
    assert "GIT_INDEX_FILE" not in env  # git itself sets it for the hook, nothing else
    proc = subprocess.run(
        ["git", "commit", "-q", "-m", "README: a line of our own", *how],
        cwd=app.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert git(app.root, "show", "--name-only", "--format=", "HEAD").split() == ["README.md"]
    assert git(app.root, "status", "--porcelain") == ""


def test_an_edit_to_an_overlay_file_suggests_refreshing_that_overlay(
    app: Project, tmp_path: Path
) -> None:
    with (app.checkout / LLM_PY).open("a") as handle:
        handle.write("# tuned\n")
    (finding,) = guard(app).findings
    assert finding.file == f"{CHECKOUT}/{LLM_PY}"
    assert "forkman overlay refresh llm-models" in finding.hint


def test_upstream_code_staged_into_the_app_repo_is_refused(app: Project, tmp_path: Path) -> None:
    staged = f"{CHECKOUT}/{DOC}"
    git(app.root, "add", "-f", staged)
    assert files(app, (staged, "README.md")) == {staged}
    run = forkman(["guard", staged], app.root, tmp_path)
    assert run.returncode == 1 and run.stdout.startswith(f"{staged}: ")


def test_an_overlay_edited_by_hand_disagrees_with_the_lock(app: Project) -> None:
    patch = app.overlay_path("cost-config")
    patch.write_text(patch.read_text().replace("Subject: ", "Subject: [tweaked] "))
    (finding,) = guard(app).findings
    assert (finding.file, finding.hint) == (
        "overlays/cost-config.patch",
        "record it with `forkman overlay refresh cost-config`",
    )


def test_series_and_lock_must_name_the_same_overlays(app: Project) -> None:
    app.series_path.write_text("loader-symlink\nllm-models\n")
    # the checkout still holds cost-config's change, which no overlay explains any more
    assert files(app) == {"forkman.lock", f"{CHECKOUT}/{COST_CONFIG}"}
    app.series_path.write_text("loader-symlink\nllm-models\ncost-config\n")
    lock = app.lock()
    app.write_lock(
        lock.with_overlays({k: v for k, v in lock.overlays.items() if k != "llm-models"})
    )
    assert files(app) == {"overlays/llm-models.patch"}


def test_an_overlay_that_does_not_parse_or_apply_is_refused(app: Project) -> None:
    patch = app.overlay_path("llm-models")
    good = patch.read_text()
    patch.write_text(good.replace("@@ -", "@@ garbage -", 1))
    assert "overlays/llm-models.patch" in files(app)
    context = next(ln for ln in good.splitlines() if ln.startswith(" ") and ln.strip())
    patch.write_text(good.replace(context, context + "  # not upstream's", 1))
    findings = [f for f in guard(app).findings if f.file == "overlays/llm-models.patch"]
    assert any("does not apply" in f.message for f in findings)


def test_without_a_checkout_the_guard_says_what_it_skipped(app: Project, tmp_path: Path) -> None:
    shutil.rmtree(app.checkout)
    report = guard(app)
    assert report.findings == () and len(report.notes) == 1
    run = forkman(["guard"], app.root, tmp_path)
    assert run.returncode == 0 and "skipped" in run.stderr


def test_a_checkout_at_another_commit_skips_only_the_edit_check(app: Project) -> None:
    git(app.checkout, "checkout", "-q", "--force", "autogpt-platform-beta-v0.6.9")
    report = guard(app)
    skipped = [n for n in report.notes if "outside the checkout" not in n]
    assert report.findings == () and len(skipped) == 1


# -- the hook inside the checkout ------------------------------------------------------------
def test_install_upstream_hook_keeps_the_old_hook_and_refuses_direct_commits(
    app: Project, tmp_path: Path
) -> None:
    hooks = app.checkout / ".git/hooks"
    old_hook = '#!/bin/sh\ntouch "$(git rev-parse --git-dir)/legacy-ran"\n'
    (hooks / "pre-commit").write_text(old_hook)
    (hooks / "pre-commit").chmod(0o755)

    run = forkman(["guard", "--install-upstream-hook"], app.root, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (hooks / "pre-commit.legacy").read_text() == old_hook
    assert HOOK_MARKER in (hooks / "pre-commit").read_text()
    assert install_upstream_hook(app).legacy == hooks / "pre-commit.legacy"  # again: nothing lost
    assert (hooks / "pre-commit.legacy").read_text() == old_hook

    head = git(app.checkout, "rev-parse", "HEAD")
    proc = subprocess.run(
        ["git", "commit", "-q", "-am", "direct edit"],
        cwd=app.checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0 and "overlay capture" in proc.stderr
    assert git(app.checkout, "rev-parse", "HEAD") == head
    assert (app.checkout / ".git/legacy-ran").exists()


def test_install_upstream_hook_refuses_when_core_hookspath_is_set(app: Project) -> None:
    git(app.checkout, "config", "core.hooksPath", ".githooks")
    with pytest.raises(ForkmanError, match=r"core\.hooksPath"):
        install_upstream_hook(app)
    assert not (app.checkout / ".git/hooks/pre-commit").exists()
