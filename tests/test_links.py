"""Links as real copies for Docker builds (`mode: copy`, `forkman link --copy`): kept in step by
apply and sync, never written over files that are not forkman's; symlinks that leave the
checkout are named by `overlay status` and the guard."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import BLOCKS, OUR_BLOCK, forkman, git, make_app

from forkman.store.project import Project, open_project

V9 = "autogpt-platform-beta-v0.6.9"
TARGET = f"{BLOCKS}/customized"
BACKEND = "autogpt_platform/backend"


@pytest.fixture
def project(upstream: Path, app_repo: Path) -> Project:
    """The app with our blocks folder linked into upstream's blocks (as a symlink)."""
    return make_app(app_repo, upstream, blocks=True)


def copy_mode(project: Project) -> Project:
    text = project.config_path.read_text()
    project.config_path.write_text(
        text.replace(f"target: {TARGET}\n", f"target: {TARGET}\n    mode: copy\n")
    )
    return open_project(project.root)


def docker_context(project: Project, tmp_path: Path) -> Path:
    """What AutoGPT's Dockerfile gets: `COPY autogpt_platform/backend ...`, i.e. `cp -a`."""
    context = tmp_path / "image"
    subprocess.run(["cp", "-a", str(project.checkout / BACKEND), str(context)], check=True)
    return context / "backend/blocks/customized"


def test_a_symlink_dangles_in_a_build_and_status_and_guard_say_so(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.move(str(project.root), str(tmp_path / "elsewhere"))  # the image has no app repo
    moved = open_project(tmp_path / "elsewhere")
    copied = docker_context(moved, tmp_path)
    assert copied.is_symlink() and not copied.exists()  # dangling
    code, out = forkman(capsys, "overlay", "status", "--json", repo=moved.root)
    warnings = json.loads(out)["warnings"]
    assert any(TARGET in w and "outside the checkout" in w for w in warnings), warnings
    code, _ = forkman(capsys, "guard", repo=moved.root)
    assert code == 0 and "mode: copy" in forkman.last_err  # type: ignore[attr-defined]


def test_copy_mode_gives_a_real_folder_that_a_docker_copy_keeps(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_mode(project)
    code, out = forkman(capsys, "apply", repo=project.root)
    assert code == 0, forkman.last_err  # type: ignore[attr-defined]
    target = project.checkout / TARGET
    assert target.is_dir() and not target.is_symlink()
    copied = docker_context(project, tmp_path)
    assert not copied.is_symlink() and (copied / "greet.py").read_text() == OUR_BLOCK
    assert "customized" not in git(project.checkout, "status", "--porcelain")  # not upstream's
    code, out = forkman(capsys, "overlay", "status", "--json", repo=project.root)
    report = json.loads(out)
    assert report["clean"] and not any("outside" in w for w in report["warnings"])
    # kept in step: a new block, an edited one and a removed one reach the copy on apply
    (project.root / "blocks/customized/extra.py").write_text("# more\n")
    (project.root / "blocks/customized/greet.py").write_text(OUR_BLOCK + "# v2\n")
    (project.root / "blocks/customized/__init__.py").unlink()
    (project.root / "blocks/customized/__init__.py").write_text("")
    code, out = forkman(capsys, "apply", repo=project.root)
    assert code == 0 and TARGET in out
    assert (target / "extra.py").read_text() == "# more\n"
    assert (target / "greet.py").read_text().endswith("# v2\n")
    (project.root / "blocks/customized/extra.py").unlink()
    forkman(capsys, "apply", repo=project.root)
    assert not (target / "extra.py").exists()
    code, out = forkman(capsys, "apply", repo=project.root)
    assert "already up to date" in out  # nothing to refresh: nothing written


def test_sync_keeps_the_copy_in_step(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project = copy_mode(project)
    forkman(capsys, "apply", repo=project.root)
    (project.root / "blocks/customized/extra.py").write_text("# new\n")
    code, _ = forkman(capsys, "sync", "--to", V9, repo=project.root)
    assert code == 0, forkman.last_err  # type: ignore[attr-defined]
    assert (project.checkout / TARGET / "extra.py").read_text() == "# new\n"
    assert not (project.checkout / TARGET).is_symlink()


def test_link_copy_then_symlink_and_refusals(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    target = project.checkout / TARGET
    code, out = forkman(capsys, "link", "--copy", repo=project.root)
    assert code == 0 and f"copied {TARGET}" in out and target.is_dir() and not target.is_symlink()
    forkman(capsys, "apply", repo=project.root)
    assert not target.is_symlink()  # `link --copy` sticks until `link --symlink`
    # an edit made in the copy is not forkman's: refused, and kept
    (target / "greet.py").write_text("# edited in the checkout\n")
    (target / "stray.py").write_text("# someone's\n")
    code, _ = forkman(capsys, "apply", repo=project.root)
    err = forkman.last_err  # type: ignore[attr-defined]
    assert code == 2 and "greet.py" in err and "stray.py" in err and len(err.splitlines()) == 1
    code, _ = forkman(capsys, "link", "--symlink", repo=project.root)
    assert code == 2 and (target / "stray.py").exists()
    assert (target / "greet.py").read_text() == "# edited in the checkout\n"
    (target / "stray.py").unlink()
    (target / "greet.py").write_text(OUR_BLOCK)
    code, _ = forkman(capsys, "link", "--symlink", repo=project.root)
    assert code == 0 and target.is_symlink() and (target / "greet.py").read_text() == OUR_BLOCK
    # a real folder forkman never made is never copied over
    target.unlink()
    target.mkdir()
    (target / "theirs.py").write_text("# upstream's?\n")
    code, _ = forkman(capsys, "link", "--copy", repo=project.root)
    assert code == 2 and "not forkman's" in forkman.last_err  # type: ignore[attr-defined]
    assert [p.name for p in target.iterdir()] == ["theirs.py"]


def test_a_bad_link_mode_is_one_line(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    text = project.config_path.read_text()
    project.config_path.write_text(
        text.replace(f"target: {TARGET}\n", f"target: {TARGET}\n    mode: hardlink\n")
    )
    code, _ = forkman(capsys, "link", repo=project.root)
    err = forkman.last_err  # type: ignore[attr-defined]
    assert code == 2 and "hardlink" in err and "forkman.yaml:" in err and len(err.splitlines()) == 1
