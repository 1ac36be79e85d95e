"""Shared fixtures: a sealed git environment plus small repository factories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Protocol

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # make `forkman` importable without installing it
    sys.path.insert(0, str(ROOT))

from forkman.autogpt.example import build_upstream

FIXED_DATE = "2025-01-01T00:00:00+00:00"
GITCONFIG = """\
[user]
\tname = Forkman Tests
\temail = tests@example.com
[commit]
\tgpgsign = false
[tag]
\tgpgsign = false
[init]
\tdefaultBranch = main
[protocol "file"]
\tallow = always
"""


def run_git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with the (sealed) process environment; return stdout."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def seal(monkeypatch: pytest.MonkeyPatch, home: Path, base: Path) -> None:
    """The sealed environment: HOME at HOME, no system config, fixed identity and dates."""
    (home / ".gitconfig").write_text(GITCONFIG)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(base))
    for var in (
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_DATE", FIXED_DATE)
    monkeypatch.setenv("GIT_COMMITTER_DATE", FIXED_DATE)
    monkeypatch.setenv("GIT_EDITOR", "false")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("LC_ALL", "C")


@pytest.fixture(autouse=True)
def hermetic_seal(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Isolate every test from the user's git config, identity, editor and repo discovery."""
    home = tmp_path_factory.mktemp("home")
    seal(monkeypatch, home, tmp_path_factory.getbasetemp())
    return home


@pytest.fixture(scope="session")
def upstream_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example upstream, built once per session; copy it, never modify it."""
    return build_upstream(tmp_path_factory.mktemp("template") / "autogpt")


@pytest.fixture
def upstream(tmp_path: Path, upstream_template: Path, app_templates: dict[str, Path]) -> Path:
    """A private, writable copy of the example upstream (HEAD on master)."""
    return Path(shutil.copytree(upstream_template, tmp_path / "upstream", symlinks=True))


def new_app_repo(repo: Path) -> Path:
    """A fresh non-bare repo on ``main`` at REPO with a single README commit."""
    repo.mkdir()
    run_git(repo, "init", "-q")
    (repo / "README.md").write_text("# My app\n")
    run_git(repo, "add", "README.md")
    run_git(repo, "commit", "-q", "-m", "Initial commit")
    return repo


@pytest.fixture
def app_repo(tmp_path: Path) -> Path:
    """A fresh non-bare repo on ``main`` with a single README commit."""
    return new_app_repo(tmp_path / "app")


@pytest.fixture
def bare_fork(tmp_path: Path) -> Path:
    """An empty bare repository, e.g. to push a fork to."""
    repo = tmp_path / "fork.git"
    run_git(tmp_path, "init", "-q", "--bare", str(repo))
    return repo


# --------------------------------------------------------------------------- forkman itself
import helpers
from helpers import CHECKOUT, INIT_OPTIONS, Run, copy_app, run_main

from forkman.autogpt.example import OVERLAYS


class ForkmanRunner(Protocol):
    def __call__(self, *args: str, cwd: Path, expect: int | None = 0) -> Run: ...


@pytest.fixture
def forkman_run() -> ForkmanRunner:
    """`forkman_run("overlay", "list", cwd=app)`: run forkman in-process, assert its exit code."""

    def run(*args: str, cwd: Path, expect: int | None = 0) -> Run:
        result = run_main(list(args), cwd)
        if expect is not None:
            assert result.exit_code == expect, (args, result)
        return result

    return run


def _build_app(app: Path, upstream: Path, overlays: bool) -> Path:
    """The app repo after `forkman init` on UPSTREAM (pinned at v0.6.8), committed; with
    OVERLAYS, the three example edits captured as overlays and committed too."""
    new_app_repo(app)
    init = run_main(["init", "--upstream", str(upstream), *INIT_OPTIONS], app)
    assert init.exit_code == 0, init
    run_git(app, "add", "-A")
    run_git(app, "commit", "-q", "-m", "Track AutoGPT with forkman")
    if overlays:
        for name, (subject, body, edit) in OVERLAYS.items():
            edit(app / CHECKOUT)
            captured = run_main(["overlay", "capture", name, "-m", f"{subject}\n\n{body}"], app)
            assert captured.exit_code == 0, captured
        run_git(app, "add", "-A")
        run_git(app, "commit", "-q", "-m", "Capture our overlays")
    return app


@pytest.fixture(scope="session")
def app_templates(
    tmp_path_factory: pytest.TempPathFactory, upstream_template: Path
) -> dict[str, Path]:
    """Both example apps built once per session (sealed as a test is); copy them, never modify."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        seal(monkeypatch, tmp_path_factory.mktemp("template-home"), tmp_path_factory.getbasetemp())
        root = tmp_path_factory.mktemp("app-templates")
        upstream = Path(shutil.copytree(upstream_template, root / "upstream", symlinks=True))
        # make_app builds its apps on demand, under this seal's twin (each test's own)
        helpers.TEMPLATES.update({"root": root, "upstream": upstream})
        return {
            "upstream": upstream,
            "initialised": _build_app(root / "initialised", upstream, overlays=False),
            "with_overlays": _build_app(root / "with-overlays", upstream, overlays=True),
        }


@pytest.fixture
def initialised_app(tmp_path: Path, upstream: Path, app_templates: dict[str, Path]) -> Path:
    """The app repo after `forkman init` on the example upstream (pinned at v0.6.8), committed."""
    app = tmp_path / "app"
    copy_app(app_templates["initialised"], app_templates["upstream"], app, upstream)
    return app


@pytest.fixture
def app_with_overlays(tmp_path: Path, upstream: Path, app_templates: dict[str, Path]) -> Path:
    """The initialised app with the three example edits captured as overlays, committed."""
    app = tmp_path / "app"
    copy_app(app_templates["with_overlays"], app_templates["upstream"], app, upstream)
    return app


# --------------------------------------------------------------------------- the gh stand-in
SECRET_TOKEN = "ghs_FakeSecretToken0123456789abcdef"  # what the tests check never leaks


class FakeGh:
    """The `gh` on PATH in a test: its recorded calls and its state (tests/fakes/gh.py)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def calls(self, *prefix: str) -> list[dict]:  # type: ignore[type-arg]
        """Recorded calls whose argv starts with PREFIX (e.g. "pr", "create")."""
        from fakes import gh

        return [c for c in gh.calls(self.dir) if c["argv"][: len(prefix)] == list(prefix)]

    def state(self) -> dict:  # type: ignore[type-arg]
        from fakes import gh

        return gh.load_state(self.dir)

    def set(self, kind: str, number: int, **fields: object) -> None:
        """Change a PR or issue as GitHub would (a merge, a close by hand)."""
        from fakes import gh

        state = gh.load_state(self.dir)
        next(i for i in state[kind] if i["number"] == number).update(fields)
        gh.save_state(state, self.dir)


@pytest.fixture
def fake_gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeGh:
    """Put the gh stand-in first on PATH, with a token in GH_TOKEN as a workflow provides it."""
    directory = tmp_path / "fake-gh"
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "gh"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "tests/fakes/gh.py"}" "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GH_DIR", str(directory))
    monkeypatch.setenv("GH_TOKEN", SECRET_TOKEN)
    return FakeGh(directory)
