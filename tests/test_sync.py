"""`forkman sync` end to end: conflicts as git shows them, --continue/--abort/--skip, resolutions,
checks, --check, refusals, interruption. Real git in tmp_path; asserts on files, refs and states."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import forkman, git, make_app, snapshot, wait_for

from forkman.autogpt.example import BLOCKS_INIT, COST_CONFIG, LLM_PY, OVERLAYS, commit_files
from forkman.commands import apply as up
from forkman.commands import sync
from forkman.commands.capture import capture, refresh
from forkman.commands.drop import drop
from forkman.errors import SyncStateError
from forkman.store.project import Project, open_project

V9, V10 = "autogpt-platform-beta-v0.6.9", "autogpt-platform-beta-v0.6.10"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(upstream: Path, app_repo: Path) -> Project:
    return make_app(app_repo, upstream)


def run(capsys: pytest.CaptureFixture[str], project: Project, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code, out = forkman(capsys, "sync", "--json", *args, repo=project.root)
    return code, json.loads(out) if out.strip() else {}


def states(report: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {o["name"]: o["state"] for o in report["overlays"]}


def resolve_with(project: Project, name: str, side: str = "--ours") -> None:
    """Resolve NAME's conflicted file as a person would: take a side (ours = upstream), then redo the overlay's edit."""
    path = {"loader-symlink": BLOCKS_INIT, "llm-models": LLM_PY}[name]
    git(project.checkout, "checkout", side, "--", path)
    if side == "--ours":
        OVERLAYS[name][2](project.checkout)


def take_side(project: Project, path: str, keep: str) -> None:
    """Resolve every conflict in PATH with one side ("upstream" or "overlay"), keeping the lines around it."""
    out, side = [], None
    for line in (project.checkout / path).read_text().splitlines(keepends=True):
        if line.startswith("<<<<<<< "):
            side = "upstream"
        elif line.startswith("||||||| ") and side:
            side = "base"
        elif line.rstrip("\n") == "=======" and side:
            side = "overlay"
        elif line.startswith(">>>>>>> ") and side:
            side = None
        elif side in (None, keep):
            out.append(line)
    (project.checkout / path).write_text("".join(out))


def edit_config(project: Project, old: str, new: str) -> Project:
    text = project.config_path.read_text()
    assert old in text
    project.config_path.write_text(text.replace(old, new, 1))
    return open_project(project.root)


# -- conflicts, --continue, --abort, --skip ---------------------------------------------------
def test_conflict_shows_as_git_does_and_nothing_is_committed(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(project)
    code, report = run(capsys, project)
    assert code == 1 and report["phase"] == "stopped" and report["current"] == "loader-symlink"
    assert git(project.checkout, "status", "--porcelain", "--", BLOCKS_INIT).startswith("UU ")
    stages = git(project.checkout, "ls-files", "-u", "--", BLOCKS_INIT).splitlines()
    assert [line.split()[2] for line in stages] == ["1", "2", "3"]
    blob = {s.split()[2]: s.split()[1] for s in stages}
    assert git(project.checkout, "cat-file", "-p", blob["2"]) == git(
        project.checkout, "show", f"{V10}:{BLOCKS_INIT}"
    )
    assert "import glob" in git(project.checkout, "cat-file", "-p", blob["3"])
    text = (project.checkout / BLOCKS_INIT).read_text()
    assert "<<<<<<< " in text and "=======" in text and ">>>>>>> " in text
    assert git(project.checkout, "rev-parse", "HEAD").strip() == report["to"]["commit"]
    # only one overlay at a time: llm.py is at the release, no markers yet
    assert "<<<<<<<" not in (project.checkout / LLM_PY).read_text()
    after = snapshot(project)
    assert after["overlays"] == before["overlays"] and after["lock"] == before["lock"]


def test_continue_carries_resolutions_to_the_end(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    run(capsys, project)
    code, _ = run(capsys, project, "--continue")
    assert code == 2  # markers still there: refused, nothing lost
    resolve_with(project, "loader-symlink")
    code, report = run(capsys, project, "--continue")
    assert code == 1 and report["current"] == "llm-models"
    assert states(report)["loader-symlink"] == "resolved"
    assert git(project.checkout, "status", "--porcelain", "--", LLM_PY).startswith("UU ")
    assert not git(project.checkout, "ls-files", "-u", "--", BLOCKS_INIT)
    resolve_with(project, "llm-models")
    code, report = run(capsys, project, "--continue")
    assert code == 0 and report["phase"] == "done"
    assert states(report) == {
        "loader-symlink": "resolved",
        "llm-models": "resolved",
        "cost-config": "moved",
    }
    lock = json.loads(project.lock_path.read_text())
    assert lock["upstream"]["ref"] == V10
    assert git(project.checkout, "rev-parse", "HEAD").strip() == lock["upstream"]["commit"]
    assert not git(project.checkout, "ls-files", "-u")
    assert len(list((project.overlays_dir / "resolutions").glob("*.yaml"))) >= 2
    # the checkout is exactly pin + refreshed overlays: apply has nothing to write
    assert up.apply(project).written == ()
    assert "glob.glob" in (project.checkout / BLOCKS_INIT).read_text()
    assert "OLLAMA_QWEN2_5_7B" in project.overlay_text("llm-models")


@pytest.mark.parametrize("continues", [0, 1])
def test_abort_restores_byte_for_byte(project: Project, capsys, continues: int) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(project, refs=False)  # the fetched upstream refs stay: a fetch is not undone
    run(capsys, project)
    if continues:
        resolve_with(project, "loader-symlink")
        assert run(capsys, project, "--continue")[0] == 1
    code, report = run(capsys, project, "--abort")
    assert code == 0 and report["phase"] == "aborted"
    assert snapshot(project, refs=False) == before
    assert not project.sync_in_progress()


def test_skip_leaves_the_overlay_out_but_keeps_its_file(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    original = {n: project.overlay_text(n) for n in ("loader-symlink", "llm-models")}
    run(capsys, project)
    code, report = run(capsys, project, "--skip")
    assert code == 1 and report["current"] == "llm-models"
    code, report = run(capsys, project, "--skip")
    assert code == 0 and report["phase"] == "done"
    assert states(report) == {
        "loader-symlink": "skipped",
        "llm-models": "skipped",
        "cost-config": "moved",
    }
    assert project.series() == ("cost-config",)
    for name in ("loader-symlink", "llm-models"):
        kept = (project.overlays_dir / "skipped" / f"{name}.patch").read_text()
        assert "Skipped: left out of the sync to autogpt-platform-beta-v0.6.10" in kept
        assert (
            kept.split("\n---\n", 1)[1] == original[name].split("\n---\n", 1)[1]
        )  # the diff, as it was
        assert not project.overlay_path(name).exists()
    assert sorted(json.loads(project.lock_path.read_text())["overlays"]) == ["cost-config"]
    assert not git(project.checkout, "status", "--porcelain", "--", BLOCKS_INIT)


def test_recorded_resolutions_are_reused(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    git(project.root, "tag", "before-sync")
    run(capsys, project)
    resolve_with(project, "loader-symlink")
    run(capsys, project, "--continue")
    resolve_with(project, "llm-models")
    assert run(capsys, project, "--continue")[0] == 0
    synced = {p.name: p.read_bytes() for p in project.overlays_dir.glob("*.patch")}
    # a teammate with the old pin but the committed resolutions syncs again
    git(
        project.root,
        "checkout",
        "before-sync",
        "--",
        "forkman.lock",
        "overlays/series",
        *(f"overlays/{n}.patch" for n in OVERLAYS),
    )
    up.apply(project)
    code, report = run(capsys, project)
    assert code == 0 and report["phase"] == "done"
    assert states(report)["loader-symlink"] == states(report)["llm-models"] == "resolved"
    for name in ("loader-symlink", "llm-models"):
        entry = next(o for o in report["overlays"] if o["name"] == name)
        assert entry["reused"] and all(key in entry["detail"] for key in entry["reused"])
    assert {p.name: p.read_bytes() for p in project.overlays_dir.glob("*.patch")} == synced


@pytest.mark.parametrize(
    ("keep", "lost"), [("overlay", "def load_all_blocks"), ("upstream", "glob.glob")]
)
def test_resolution_dropping_lines_warns(project: Project, capsys, keep: str, lost: str) -> None:  # type: ignore[no-untyped-def]
    run(capsys, project)
    take_side(project, BLOCKS_INIT, keep)
    code, report = run(capsys, project, "--continue")
    assert code == 1 and report["current"] == "llm-models"
    assert any(lost in w for w in report["warnings"])


def test_resolution_that_does_not_compile_is_check_failed(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    run(capsys, project)
    resolve_with(project, "loader-symlink")
    with open(project.checkout / BLOCKS_INIT, "a") as handle:
        handle.write("def broken(:\n")
    code, report = run(capsys, project, "--continue")
    assert code == 1 and states(report)["loader-symlink"] == "check-failed"
    assert (
        json.loads(project.lock_path.read_text())["upstream"]["ref"]
        == "autogpt-platform-beta-v0.6.8"
    )


# -- checks -------------------------------------------------------------------------------------
def test_pattern_check_fails_then_fix_and_continue(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    project = edit_config(
        project,
        "checks: {}",
        "checks:\n  cost-config:\n"
        f"    - path: {COST_CONFIG}\n      pattern: 'OLLAMA_QWEN2_5_7B: 2,'\n",
    )
    before = snapshot(project)
    code, report = run(capsys, project, "--to", V9)
    assert code == 1 and states(report)["cost-config"] == "check-failed"
    assert (
        snapshot(project)["lock"] == before["lock"]
        and snapshot(project)["overlays"] == before["overlays"]
    )
    file = project.checkout / COST_CONFIG
    file.write_text(file.read_text().replace("OLLAMA_QWEN2_5_7B: 1,", "OLLAMA_QWEN2_5_7B: 2,"))
    code, report = run(capsys, project, "--continue")
    assert code == 0 and report["phase"] == "done"
    assert "+    LlmModel.OLLAMA_QWEN2_5_7B: 2," in project.overlay_text("cost-config")


def test_run_check_failure_is_reported_and_skippable(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    project = edit_config(
        project, "checks: {}", "checks:\n  llm-models:\n    - run: 'test -e no-such-file'\n"
    )
    code, report = run(capsys, project, "--to", V9)
    assert (
        code == 1
        and states(report)["llm-models"] == "check-failed"
        and report["current"] == "llm-models"
    )
    code, report = run(capsys, project, "--skip")
    assert code == 0 and project.series() == ("loader-symlink", "cost-config")


# -- --check, refusals, bad input ------------------------------------------------------------------
def test_check_changes_nothing(project: Project, upstream: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    commit_files(upstream, "newer", {"docs/new.md": "new\n"}, tag="autogpt-platform-beta-v0.6.12")
    before = snapshot(project)
    code, report = run(capsys, project, "--check")
    assert (
        code == 1
        and report["phase"] == "check"
        and report["to"]["ref"] == "autogpt-platform-beta-v0.6.12"
    )
    assert snapshot(project) == before
    assert not project.sync_dir().exists()


def test_dirty_checkout_is_refused(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    with open(project.checkout / "README.md", "a") as handle:
        handle.write("local edit\n")
    before = snapshot(project)
    code, _ = run(capsys, project, "--to", V9)
    assert code == 2 and "README.md" in forkman.last_err and "capture" in forkman.last_err
    assert snapshot(project) == before


def test_sync_in_progress_blocks_other_commands(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    run(capsys, project)
    for attempt in (
        lambda: up.apply(project),
        lambda: capture(project, "x"),
        lambda: refresh(project, "cost-config"),
        lambda: drop(project, "cost-config"),
    ):
        with pytest.raises(SyncStateError):
            attempt()
    assert run(capsys, project)[0] == 2


@pytest.mark.parametrize("case", ["bad-ref", "no-match", "unreachable"])
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    project: Project, capsys, case: str
) -> None:  # type: ignore[no-untyped-def]
    args: tuple[str, ...] = ()
    if case == "bad-ref":
        args = ("--to", "no-such-release")
    elif case == "no-match":
        edit_config(project, "release_pattern: ", "release_pattern: 'nomatch-v*' #")
    else:
        edit_config(project, f"url: {project.config.url}", f"url: {project.root / 'missing'}")
    before = snapshot(project)
    code, out = forkman(capsys, "sync", *args, repo=project.root)
    assert code == 2 and out == ""
    assert len(forkman.last_err.strip().splitlines()) == 1
    assert snapshot(project) == before


# -- interruption ------------------------------------------------------------------------------
def _crash_on_first_lock_write(monkeypatch: pytest.MonkeyPatch) -> None:
    real = Project.write_lock
    calls = []

    def crashing(self: Project, lock: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        real(self, lock)  # type: ignore[arg-type]

    monkeypatch.setattr(Project, "write_lock", crashing)


def test_interrupted_commit_then_continue_finishes(project: Project, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    _crash_on_first_lock_write(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        sync.start(project, to=V9)
    assert project.sync_in_progress()
    code, report = run(capsys, project, "--continue")
    assert code == 0 and report["phase"] == "done"
    assert states(report) == {
        "loader-symlink": "clean",
        "llm-models": "moved",
        "cost-config": "moved",
    }
    lock = json.loads(project.lock_path.read_text())
    assert lock["upstream"]["ref"] == V9 and lock["overlays"] == project.hashes()
    assert up.apply(project).written == ()


def test_interrupted_commit_then_abort_restores(project: Project, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(project, refs=False)
    _crash_on_first_lock_write(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        sync.start(project, to=V9)
    assert run(capsys, project, "--abort")[0] == 0
    assert snapshot(project, refs=False) == before


# -- outputs -------------------------------------------------------------------------------------
def test_summary_is_a_markdown_table(project: Project, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    summary = tmp_path / "pr.md"
    code, _ = run(capsys, project, "--check", "--summary", str(summary))
    text = summary.read_text()
    assert code == 1 and text.startswith("## ")
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and "conflict" in ln]
    assert len(rows) == 2


def test_sync_json_in_a_subprocess(project: Project) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "forkman",
            "sync",
            "--json",
            "--to",
            V9,
            "--repo",
            str(project.root),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["version"] == 1 and report["ok"] and report["phase"] == "done"
    assert report["to"]["commit"] == git(project.checkout, "rev-parse", "HEAD").strip()


def test_resolution_keeping_none_of_the_overlay_drops_it_not_upstreamed(
    project: Project, capsys
) -> None:  # type: ignore[no-untyped-def]
    run(capsys, project)
    git(project.checkout, "checkout", "--ours", "--", BLOCKS_INIT)  # upstream's file, none of ours
    code, report = run(capsys, project, "--continue")
    assert code == 1 and report["current"] == "llm-models"
    assert states(report)["loader-symlink"] == "dropped"
    code, report = run(capsys, project, "--skip")
    assert code == 0 and report["phase"] == "done"
    assert project.series() == ("cost-config",)
    assert (project.overlays_dir / "dropped" / "loader-symlink.patch").exists()
    assert not (project.overlays_dir / "upstreamed").exists()
    assert (
        project.overlays_dir / "skipped" / "llm-models.patch"
    ).exists()  # kept, out of the series


def test_whole_file_resolution_still_warns_about_lost_upstream_lines(
    project: Project, capsys
) -> None:  # type: ignore[no-untyped-def]
    run(capsys, project)
    git(project.checkout, "checkout", "--theirs", "--", BLOCKS_INIT)  # the overlay's whole old file
    _, report = run(capsys, project, "--continue")
    assert any("upstream added" in w and "load_all_blocks" in w for w in report["warnings"])


def test_status_says_a_sync_is_in_progress(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    run(capsys, project)
    code, out = forkman(capsys, "overlay", "status", "--json", repo=project.root)
    assert code == 0
    assert any("sync --continue" in w for w in json.loads(out)["warnings"])
    # not `forkman apply`, which a sync in progress refuses
    assert not any("forkman apply" in w for w in json.loads(out)["warnings"])
    code, _ = forkman(capsys, "guard", repo=project.root)
    assert "forkman apply" not in forkman.last_err  # type: ignore[attr-defined]
    assert "sync --continue" in forkman.last_err  # type: ignore[attr-defined]


def test_ctrl_c_says_so_and_abort_restores(project: Project) -> None:
    """A real SIGINT while a check runs: exit 130 with one line saying what to do next."""
    before = snapshot(project, refs=False)
    started = project.root / "check-started"
    project = edit_config(
        project,
        "checks: {}",
        f"checks:\n  llm-models:\n    - run: 'touch {started}; sleep 30'\n      shell: true\n",
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "forkman", "sync", "--to", V9],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(started, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("forkman: interrupted"), err
    assert "forkman sync --continue" in lines[0] and "forkman sync --abort" in lines[0]
    started.unlink()
    git(project.root, "checkout", "--", "forkman.yaml")
    if project.sync_in_progress():
        assert sync.abort(project).phase == "aborted"
    assert snapshot(project, refs=False) == before


def test_a_checkout_deleted_or_on_another_commit(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    """Not 'already up to date': sync says what is wrong, and apply repairs it."""
    shutil.rmtree(project.checkout)
    code, _ = forkman(capsys, "sync", "--no-fetch", repo=project.root)
    assert code == 2 and "forkman apply" in forkman.last_err  # type: ignore[attr-defined]
    assert git(project.checkout, "rev-parse", "HEAD") == project.lock().commit
    assert git(project.checkout, "status", "--porcelain") == ""  # a work tree, not a bare index

    assert up.apply(project).written  # the overlays go on the fresh clone
    git(project.checkout, "checkout", "-q", "-f", "--detach", V9)
    code, _ = forkman(capsys, "sync", "--no-fetch", repo=project.root)
    assert code == 2 and "not at the pinned commit" in forkman.last_err  # type: ignore[attr-defined]
    assert up.apply(project).moved  # a clean checkout on another commit is not a hand edit
    assert git(project.checkout, "rev-parse", "HEAD") == project.lock().commit
    code, _ = forkman(capsys, "sync", "--no-fetch", "--to", V9, repo=project.root)
    assert code == 0


def test_an_overlay_whose_file_is_gone_stops_with_skip_advice(
    app_repo: Path, upstream: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    project = make_app(app_repo, upstream, ("cost-config",))
    gone = "autogpt-platform-beta-v0.7.0"
    commit_files(upstream, "drop cost config", {COST_CONFIG: None}, tag=gone)
    code, text = forkman(capsys, "sync", "--to", gone, repo=project.root)
    assert code == 1
    assert "stopped at overlay 'cost-config' (not-applicable)" in text
    assert "forkman sync --skip" in text.splitlines()[-1]
    assert "mergetool" not in text.splitlines()[-1]
    code, report = run(capsys, project, "--skip")
    assert code == 0 and states(report)["cost-config"] == "skipped"


def test_check_when_already_at_the_release_says_so(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    code, text = forkman(
        capsys, "sync", "--check", "--to", "autogpt-platform-beta-v0.6.8", repo=project.root
    )
    assert code == 0 and text.startswith("already at autogpt-platform-beta-v0.6.8")


def test_a_skipped_overlay_is_revived_and_captured_again(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    run(capsys, project)  # stops at loader-symlink
    run(capsys, project, "--skip")  # stops at llm-models
    resolve_with(project, "llm-models")
    code, report = run(capsys, project, "--continue")
    assert code == 0 and states(report)["loader-symlink"] == "skipped"
    assert project.series() == ("llm-models", "cost-config")
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "synced without the loader change")

    code, out = forkman(capsys, "overlay", "revive", "loader-symlink", repo=project.root)
    assert code == 0 and "conflicts in" in out  # v0.6.10 moved discovery into a function
    assert "<<<<<<< autogpt-platform-beta-v0.6.10" in (project.checkout / BLOCKS_INIT).read_text()
    resolve_with(project, "loader-symlink")
    code, _ = forkman(capsys, "overlay", "capture", "loader-symlink", repo=project.root)
    assert code == 0
    revived = project.overlay("loader-symlink")
    assert revived.subject == OVERLAYS["loader-symlink"][0] and revived.field("Skipped") is None
    assert not (project.overlays_dir / "skipped" / "loader-symlink.patch").exists()
    assert project.series() == ("llm-models", "cost-config", "loader-symlink")


def test_revive_names_the_skipped_overlays(project: Project, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _ = forkman(capsys, "overlay", "revive", "nope", repo=project.root)
    assert code == 2 and "no skipped overlay named 'nope'" in forkman.last_err  # type: ignore[attr-defined]


@pytest.mark.parametrize("then", ["--continue", "--abort"])
def test_kill_9_midway_then_continue_or_abort(project: Project, capsys, then: str) -> None:  # type: ignore[no-untyped-def]
    """kill -9 after the checkout moved, before overlays and lock were written: the next command copes."""
    before = snapshot(project, refs=False)
    started = project.root / "check-started"
    edit_config(
        project,
        "checks: {}",
        f"checks:\n  llm-models:\n    - run: 'touch {started}; sleep 30'\n      shell: true\n",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "forkman", "sync", "--to", V9],
        cwd=project.root,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(started, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # forkman and its check, as a crash or an OOM kill would
    proc.wait(timeout=30)
    started.unlink()
    git(project.root, "checkout", "--", "forkman.yaml")
    assert project.sync_in_progress()

    code, report = run(capsys, open_project(project.root), then)

    assert code == 0 and not project.sync_in_progress()
    if then == "--abort":
        assert snapshot(project, refs=False) == before
    else:
        assert report["phase"] == "done" and project.lock().ref == V9
        assert forkman(capsys, "apply", repo=project.root)[1].startswith("already up to date")
