"""Real-git tests proving the example upstream behaves as designed."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from forkman.autogpt.example import (
    BLOCKS_INIT,
    COST_CONFIG,
    LLM_PY,
    OVERLAYS,
    PR_BRANCH,
    RELEASE_PATTERN,
    RELEASES,
    GitError,
    build_upstream,
    commit_files,
    edit_cost_config,
    edit_llm_models,
    edit_loader_symlink,
    git,
)

BASE, V069, V0610, RC = RELEASES
OVERLAY_FILES = {"loader-symlink": BLOCKS_INIT, "llm-models": LLM_PY, "cost-config": COST_CONFIG}


def show(repo: Path, rev: str, path: str) -> str:
    out = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=repo, capture_output=True, text=True, check=True
    )
    return out.stdout


def edited_at_base(repo: Path) -> dict[str, str]:
    """Check out the base release, apply all three edits, return the edited files."""
    git(repo, "checkout", "-q", BASE)
    for _subject, _body, edit in OVERLAYS.values():
        edit(repo)
    return {path: (repo / path).read_text() for path in OVERLAY_FILES.values()}


def merge_file(tmp: Path, base: str, ours: str, theirs: str) -> tuple[int, str]:
    """3-way merge with `git merge-file`; returns (number of conflicts, merged text)."""
    for name, text in (("base", base), ("ours", ours), ("theirs", theirs)):
        (tmp / name).write_text(text)
    proc = subprocess.run(
        ["git", "merge-file", "-p", "ours", "base", "theirs"],
        cwd=tmp,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode >= 0, proc.stderr
    return proc.returncode, proc.stdout


# --------------------------------------------------------------------------- history shape
def test_tags_exist_and_are_ordered(upstream: Path) -> None:
    assert git(upstream, "tag", "-l", RELEASE_PATTERN, "--sort=creatordate").split() == RELEASES
    assert git(upstream, "tag", "-l", RELEASE_PATTERN, "--sort=version:refname").split() == RELEASES
    # a plain string sort gets it wrong: v0.6.10 < v0.6.8 lexically
    assert sorted(RELEASES) != RELEASES
    for older, newer in itertools.pairwise(RELEASES):
        git(upstream, "merge-base", "--is-ancestor", older, newer)
    for tag in RELEASES:
        assert git(upstream, "cat-file", "-t", tag) == "tag"  # annotated


def test_branches_and_head(upstream: Path) -> None:
    assert git(upstream, "symbolic-ref", "--short", "HEAD") == "master"
    assert git(upstream, "rev-parse", "master") == git(upstream, "rev-parse", f"{RC}^{{commit}}")
    assert git(upstream, "rev-list", "--count", f"master..{PR_BRANCH}") == "2"
    assert git(upstream, "rev-list", "--count", f"{PR_BRANCH}..master") == "0"
    assert git(upstream, "status", "--porcelain") == ""
    assert git(upstream, "branch", "--format=%(refname:short)").split() == ["dev", "master"]


def test_commit_dates_one_day_per_commit(upstream: Path) -> None:
    dates = git(upstream, "log", "--reverse", "--format=%aI %cI", PR_BRANCH).splitlines()
    assert dates[0] == "2025-06-01T12:00:00+00:00 2025-06-01T12:00:00+00:00"
    assert [d.split()[0][:10] for d in dates] == [f"2025-06-0{i}" for i in range(1, 7)]
    assert set(git(upstream, "log", "--format=%an <%ae>|%cn <%ce>", PR_BRANCH).splitlines()) == {
        "AutoGPT Upstream <upstream@example.com>|AutoGPT Upstream <upstream@example.com>"
    }


@pytest.mark.parametrize("rev", [*RELEASES, PR_BRANCH])
def test_python_compiles_at_every_release(upstream: Path, rev: str) -> None:
    files = git(upstream, "ls-tree", "-r", "--name-only", rev).splitlines()
    py_files = [f for f in files if f.endswith(".py")]
    assert {BLOCKS_INIT, LLM_PY, COST_CONFIG} <= set(py_files)
    assert {
        "README.md",
        "docs/index.md",
        "classic/README.md",
        "autogpt_platform/frontend/package.json",
    } <= set(files)
    for path in py_files:
        compile(show(upstream, rev, path), f"{rev}:{path}", "exec")


def test_release_contents(upstream: Path) -> None:
    assert "load_all_blocks" not in show(upstream, V069, BLOCKS_INIT)
    loader = show(upstream, V0610, BLOCKS_INIT)
    assert 'def load_all_blocks() -> dict[str, type["Block"]]:' in loader
    assert 'ModelMetadata("ollama", 8192, None),' in show(upstream, BASE, LLM_PY)
    assert 'ModelMetadata("ollama", 8192, None, "Llama 3.2", "Ollama", 1)' in show(
        upstream, V0610, LLM_PY
    )
    assert 'O3_MINI = "o3-mini"' not in show(upstream, BASE, LLM_PY)
    assert 'O3_MINI = "o3-mini"' in show(upstream, V069, LLM_PY)
    assert "iteration.py" in git(upstream, "ls-tree", "-r", "--name-only", V069)
    changed = git(upstream, "diff", "--name-only", V0610, RC).split()
    assert changed and not set(changed) & {BLOCKS_INIT, LLM_PY, COST_CONFIG}


# --------------------------------------------------------------------------- local edits
@pytest.mark.parametrize("name", list(OVERLAYS))
def test_each_edit_applies_at_base(upstream: Path, name: str) -> None:
    subject, body, edit = OVERLAYS[name]
    assert subject and body.count(".") >= 1
    git(upstream, "checkout", "-q", BASE)
    edit(upstream)
    assert git(upstream, "diff", "--name-only").split() == [OVERLAY_FILES[name]]
    compile((upstream / OVERLAY_FILES[name]).read_text(), OVERLAY_FILES[name], "exec")
    added = [ln for ln in git(upstream, "diff", "-U0").splitlines() if ln.startswith("+ ")]
    assert 1 <= len(added) <= 2


def test_edit_results(upstream: Path) -> None:
    files = edited_at_base(upstream)
    llm = files[LLM_PY].splitlines()
    i = llm.index('    OLLAMA_DOLPHIN = "dolphin-mistral:latest"')
    assert llm[i + 1] == '    OLLAMA_QWEN2_5_7B = "qwen2.5"'
    j = llm.index('    LlmModel.OLLAMA_DOLPHIN: ModelMetadata("ollama", 32768, None),')
    assert llm[j + 1] == '    LlmModel.OLLAMA_QWEN2_5_7B: ModelMetadata("ollama", 32768, None),'
    cost = files[COST_CONFIG].splitlines()
    assert cost[cost.index("    LlmModel.OLLAMA_DOLPHIN: 1,") + 1] == (
        "    LlmModel.OLLAMA_QWEN2_5_7B: 1,"
    )
    assert 'glob.glob(f"{current_dir}/**/*.py", recursive=True)' in files[BLOCKS_INIT]


def test_edited_loader_follows_symlinks(upstream: Path, tmp_path: Path) -> None:
    """The loader change really does what its overlay body claims (rglob does not)."""
    edited_at_base(upstream)
    blocks = (upstream / BLOCKS_INIT).parent
    custom = tmp_path / "customized"
    custom.mkdir()
    (custom / "my_block.py").write_text("")
    (blocks / "customized").symlink_to(custom, target_is_directory=True)
    found = {}
    for label, source in (
        ("new", (upstream / BLOCKS_INIT).read_text()),
        ("old", show(upstream, BASE, BLOCKS_INIT)),
    ):
        code = source.split("for module in modules:")[0].replace("Path(__file__)", "Path(init)")
        scope = {"init": str(blocks / "__init__.py")}
        exec(compile(code, label, "exec"), scope)
        found[label] = scope["modules"]
    assert "customized.my_block" in found["new"]
    assert "customized.my_block" not in found["old"]
    assert set(found["old"]) < set(found["new"])


def test_edits_fail_loudly_without_anchor(upstream: Path) -> None:
    git(upstream, "checkout", "-q", V0610)
    edit_loader_symlink(upstream)  # the anchors survive the move into load_all_blocks()
    compile((upstream / BLOCKS_INIT).read_text(), BLOCKS_INIT, "exec")
    with pytest.raises(ValueError, match="anchor"):
        edit_loader_symlink(upstream)  # already replaced: rglob is gone
    edit_llm_models(upstream)
    with pytest.raises(ValueError, match="already present"):
        edit_llm_models(upstream)
    (upstream / COST_CONFIG).write_text("MODEL_COST = {}\n")
    with pytest.raises(ValueError, match="no line matches"):
        edit_cost_config(upstream)


# --------------------------------------------------------------------------- 3-way merges
@pytest.mark.parametrize(
    ("target", "conflicting"),
    [
        (V069, set()),
        (V0610, {BLOCKS_INIT, LLM_PY}),
        (RC, {BLOCKS_INIT, LLM_PY}),
    ],
)
def test_merge_file_onto_release(
    upstream: Path, tmp_path: Path, target: str, conflicting: set[str]
) -> None:
    ours = edited_at_base(upstream)
    for path, text in ours.items():
        conflicts, merged = merge_file(
            tmp_path, show(upstream, BASE, path), text, show(upstream, target, path)
        )
        assert (conflicts > 0) == (path in conflicting), path
        if not conflicts:
            compile(merged, path, "exec")
            assert "QWEN2_5_7B" in merged or "glob.glob" in merged
            assert merged != show(upstream, target, path)


def test_v069_moves_lines_but_merges(upstream: Path) -> None:
    base, new = show(upstream, BASE, LLM_PY), show(upstream, V069, LLM_PY)
    anchor = '    OLLAMA_DOLPHIN = "dolphin-mistral:latest"'
    assert base.splitlines().index(anchor) < new.splitlines().index(anchor)
    assert git(upstream, "diff", "--name-only", BASE, V069).split() != []


@pytest.mark.parametrize(
    ("target", "conflicting"),
    [
        (V069, set()),
        (V0610, {"loader-symlink", "llm-models"}),
    ],
)
def test_cherry_pick_overlays(upstream: Path, target: str, conflicting: set[str]) -> None:
    git(upstream, "checkout", "-q", "-b", "overlays", BASE)
    commits = {}
    for name, (subject, body, edit) in OVERLAYS.items():
        edit(upstream)
        git(upstream, "commit", "-q", "-am", f"{subject}\n\n{body}")
        commits[name] = git(upstream, "rev-parse", "HEAD")
    git(upstream, "checkout", "-q", "-b", "sync", target)
    for name, sha in commits.items():
        try:
            git(upstream, "cherry-pick", sha)
        except GitError:
            assert name in conflicting
            unmerged = git(upstream, "diff", "--name-only", "--diff-filter=U").split()
            assert unmerged == [OVERLAY_FILES[name]]
            git(upstream, "cherry-pick", "--abort")
        else:
            assert name not in conflicting


# --------------------------------------------------------------------------- determinism
def ref_hashes(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(objectname) %(refname)")


def test_hashes_identical_across_builds(
    tmp_path: Path, upstream: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build_upstream(tmp_path / "one")
    # a hostile user environment must not change anything
    hostile = tmp_path / "hostile.gitconfig"
    hostile.write_text(
        "[user]\n\tname = Mallory\n[init]\n\tdefaultBranch = trunk\n"
        "[commit]\n\tgpgsign = true\n[core]\n\tautocrlf = true\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(hostile))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Mallory")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2030-01-01T00:00:00+00:00")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "nowhere"))
    second = build_upstream(tmp_path / "two")
    assert ref_hashes(first) == ref_hashes(second) == ref_hashes(upstream)
    assert git(second, "symbolic-ref", "HEAD") == "refs/heads/master"


def test_commit_files(upstream: Path) -> None:
    before = git(upstream, "rev-parse", "HEAD")
    sha = commit_files(
        upstream,
        "Release v0.6.12",
        {"docs/index.md": None, "NEW.md": "new\n"},
        tag="autogpt-platform-beta-v0.6.12",
        branch="release",
    )
    assert git(upstream, "symbolic-ref", "--short", "HEAD") == "master"  # HEAD stays put
    assert git(upstream, "rev-parse", "HEAD") == before
    assert git(upstream, "rev-parse", "autogpt-platform-beta-v0.6.12^{commit}") == sha
    assert git(upstream, "rev-parse", "release") == sha
    assert git(upstream, "diff", "--name-status", before, sha).splitlines() == [
        "A\tNEW.md",
        "D\tdocs/index.md",
    ]
    assert git(upstream, "log", "-1", "--format=%aI", sha) == "2025-06-07T12:00:00+00:00"
    # on the current branch
    sha2 = commit_files(upstream, "tweak", {"README.md": "hi\n"})
    assert git(upstream, "rev-parse", "master") == sha2
    assert (upstream / "README.md").read_text() == "hi\n"


def test_upstream_can_adopt_our_change(upstream: Path) -> None:
    """Tests can make a release where upstream adds qwen2.5 itself, exactly as we did."""
    files = edited_at_base(upstream)
    git(upstream, "checkout", "-q", "-f", "-b", "adopt", BASE)
    sha = commit_files(
        upstream, "feat: add qwen2.5", {LLM_PY: files[LLM_PY]}, tag="autogpt-platform-beta-v0.6.8-1"
    )
    assert show(upstream, sha, LLM_PY) == files[LLM_PY]


# --------------------------------------------------------------------------- fixtures
def test_sealed_environment_and_fixtures(
    hermetic_seal: Path, app_repo: Path, bare_fork: Path
) -> None:
    def sealed_git(cwd: Path, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()

    assert Path.home() == hermetic_seal
    assert sealed_git(app_repo, "config", "user.name") == "Forkman Tests"
    assert sealed_git(app_repo, "log", "--format=%an|%aI|%s") == (
        "Forkman Tests|2025-01-01T00:00:00+00:00|Initial commit"
    )
    assert sealed_git(app_repo, "symbolic-ref", "--short", "HEAD") == "main"
    assert sealed_git(app_repo, "ls-files") == "README.md"
    assert sealed_git(bare_fork, "rev-parse", "--is-bare-repository") == "true"
