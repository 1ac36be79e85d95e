"""A conflict is recorded as the whole file the person made of it, so a fix outside the markers is
reused exactly by a teammate's sync of the same jump; a record for other content is only reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from explain_fixture import build_case
from helpers import forkman, git, make_app

from forkman.autogpt.example import BLOCKS_INIT

RESOLVED_EXTRA = "# blocks load in a stable order, from symlinked folders too\n"


def _resolve_by_hand(checkout: Path) -> str:
    """What a person does: upstream's file, our change made again, and a note outside the markers."""
    upstream_side = git(checkout, "show", f":2:{BLOCKS_INIT}") + "\n"
    text = upstream_side.replace(
        'for f in sorted(current_dir.rglob("*.py"))',
        'for f in sorted(map(Path, glob.glob(f"{current_dir}/**/*.py", recursive=True)))',
    )
    text = "import glob\n" + text + RESOLVED_EXTRA
    (checkout / BLOCKS_INIT).write_text(text)
    return text


def test_a_resolution_outside_the_markers_is_reused_by_a_teammate(
    upstream: Path, tmp_path: Path, app_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = build_case(upstream, "rewrite")
    project = make_app(app_repo, upstream)
    code, _ = forkman(capsys, "sync", "--to", tag, repo=app_repo)
    assert code == 1
    resolved = _resolve_by_hand(project.checkout)
    code, out = forkman(capsys, "sync", "--continue", repo=app_repo)
    assert code == 0, out
    assert "could not record" not in out
    records = sorted((project.overlays_dir / "resolutions").glob("*.yaml"))
    assert any("kind: file" in r.read_text() for r in records)

    mate_repo = tmp_path / "mate"
    mate_repo.mkdir()
    git(mate_repo, "init", "-q")
    mate = make_app(mate_repo, upstream)
    (mate.overlays_dir / "resolutions").mkdir()
    for record in records:
        shutil.copy(record, mate.overlays_dir / "resolutions" / record.name)
    code, out = forkman(capsys, "sync", "--json", "--to", tag, repo=mate_repo)
    assert code == 0, out
    loader = {o["name"]: o for o in json.loads(out)["overlays"]}["loader-symlink"]
    assert loader["state"] == "resolved" and loader["reused"]
    assert (
        "the whole file as resolved in the sync autogpt-platform-beta-v0.6.8 -> case/rewrite"
        in (loader["detail"])
    )
    assert (mate.checkout / BLOCKS_INIT).read_text() == resolved
    assert (
        mate.overlay_text("loader-symlink").split("\n---\n", 1)[1]
        == project.overlay_text("loader-symlink").split("\n---\n", 1)[1]
    )


def test_a_record_for_other_content_is_reported_never_applied(
    upstream: Path, app_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = build_case(upstream, "rewrite")
    project = make_app(app_repo, upstream)
    forkman(capsys, "sync", "--to", tag, repo=app_repo)
    _resolve_by_hand(project.checkout)
    code, _ = forkman(capsys, "sync", "--continue", repo=app_repo)
    assert code == 0
    folder = project.overlays_dir / "resolutions"
    records = [r for r in sorted(folder.glob("*.yaml")) if "kind: file" in r.read_text()]

    # upstream then changes the same file once more, next to the conflict
    git(upstream, "checkout", "-q", tag)
    init = (upstream / BLOCKS_INIT).read_text()
    (upstream / BLOCKS_INIT).write_text(init.replace("modules = [\n", "modules = [  # all\n", 1))
    git(upstream, "commit", "-q", "-am", "style: say it (#9900)")
    git(upstream, "tag", "case/rewrite-again")
    git(upstream, "checkout", "-q", "master")
    mate_repo = tmp_path / "mate"
    mate_repo.mkdir()
    git(mate_repo, "init", "-q")
    mate = make_app(mate_repo, upstream)
    (mate.overlays_dir / "resolutions").mkdir()
    for record in records:
        shutil.copy(record, mate.overlays_dir / "resolutions" / record.name)
    code, out = forkman(
        capsys, "sync", "--check", "--json", "--to", "case/rewrite-again", repo=mate_repo
    )
    loader = {o["name"]: o for o in json.loads(out)["overlays"]}["loader-symlink"]
    assert code == 1 and loader["state"] == "conflict" and not loader["reused"]
    assert "is for other content on one side: not applied" in loader["detail"]
