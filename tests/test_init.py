"""`forkman init`: clone or adopt the upstream, pin a release, write config, lock and series."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml
from helpers import BASE_REF, CHECKOUT, PR_BRANCH, RELEASE_PATTERN, assert_one_line_error, git

from forkman.autogpt.example import RELEASES


def init_args(upstream: Path, *extra: str) -> list[str]:
    return [
        "init",
        "--upstream",
        str(upstream),
        "--release-pattern",
        RELEASE_PATTERN,
        "--pr-branch",
        PR_BRANCH,
        *extra,
    ]


def test_init_clones_pins_and_writes_files(app_repo: Path, upstream: Path, forkman_run) -> None:
    forkman_run(*init_args(upstream, "--ref", BASE_REF, "--path", CHECKOUT), cwd=app_repo)

    checkout = app_repo / CHECKOUT
    pinned = git(upstream, "rev-parse", f"{BASE_REF}^{{commit}}")
    assert git(checkout, "rev-parse", "HEAD") == pinned
    assert (
        subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], cwd=checkout, check=False).returncode
        != 0
    )  # detached
    assert git(checkout, "status", "--porcelain") == ""

    config = yaml.safe_load((app_repo / "forkman.yaml").read_text())
    assert config["upstream"]["url"] == str(upstream)
    assert config["upstream"]["path"] == CHECKOUT
    assert config["upstream"]["release_pattern"] == RELEASE_PATTERN
    assert config["upstream"]["pr_branch"] == PR_BRANCH
    lock = json.loads((app_repo / "forkman.lock").read_text())
    assert lock["upstream"] == {"url": str(upstream), "ref": BASE_REF, "commit": pinned}
    assert lock["overlays"] == {}
    assert (app_repo / "overlays" / "series").read_text() == ""

    # the checkout is git-ignored in the app repo; forkman's own files are not
    status = git(app_repo, "status", "--porcelain", "--untracked-files=all")
    assert "upstream/" not in status
    assert {"forkman.yaml", "forkman.lock", "overlays/series", ".gitignore"} <= {
        line[3:] for line in status.splitlines()
    }


def test_default_ref_is_newest_release_by_version(
    app_repo: Path, upstream: Path, forkman_run
) -> None:
    forkman_run(*init_args(upstream), cwd=app_repo)

    lock = json.loads((app_repo / "forkman.lock").read_text())
    # v0.6.10 beats v0.6.9 (not a string sort) and the -rc1 pre-release is skipped
    assert lock["upstream"]["ref"] == RELEASES[2] == "autogpt-platform-beta-v0.6.10"
    checkout = app_repo / "upstream" / "upstream"  # default path: upstream/<name of the URL>
    assert git(checkout, "rev-parse", "HEAD") == git(
        upstream, "rev-parse", f"{RELEASES[2]}^{{commit}}"
    )


def test_init_adopts_an_existing_checkout(
    app_repo: Path, upstream: Path, tmp_path: Path, forkman_run
) -> None:
    existing = tmp_path / "my-autogpt"
    git(tmp_path, "clone", "-q", str(upstream), str(existing))
    git(existing, "config", "forkman-test.marker", "kept")  # proves it is not re-cloned

    result = forkman_run(
        *init_args(upstream, "--ref", BASE_REF, "--path", str(existing)), cwd=app_repo
    )

    assert "warning" not in result.stderr
    assert git(existing, "config", "forkman-test.marker") == "kept"
    assert git(existing, "rev-parse", "HEAD") == git(
        upstream, "rev-parse", f"{BASE_REF}^{{commit}}"
    )
    config = yaml.safe_load((app_repo / "forkman.yaml").read_text())
    assert config["upstream"]["path"] == "../my-autogpt"
    # outside the app repo: nothing to ignore
    assert "my-autogpt" not in (
        (app_repo / ".gitignore").read_text() if (app_repo / ".gitignore").exists() else ""
    )


def test_adopting_a_clone_of_another_url_warns(
    app_repo: Path, upstream: Path, tmp_path: Path, forkman_run
) -> None:
    existing = app_repo / CHECKOUT
    git(tmp_path, "clone", "-q", str(upstream), str(existing))
    git(existing, "remote", "set-url", "origin", "https://example.com/someone-else/AutoGPT.git")

    result = forkman_run(*init_args(upstream, "--ref", BASE_REF, "--path", CHECKOUT), cwd=app_repo)

    assert "warning" in result.stderr and "someone-else" in result.stderr
    assert (app_repo / "forkman.yaml").exists()
    assert "/upstream/autogpt/" in (app_repo / ".gitignore").read_text().splitlines()


def test_init_keeps_an_existing_gitignore(app_repo: Path, upstream: Path, forkman_run) -> None:
    (app_repo / ".gitignore").write_text("*.pyc")  # no trailing newline

    forkman_run(*init_args(upstream, "--ref", BASE_REF, "--path", CHECKOUT), cwd=app_repo)

    assert (app_repo / ".gitignore").read_text() == "*.pyc\n/upstream/autogpt/\n"


def test_init_twice_refuses(initialised_app: Path, upstream: Path, forkman_run) -> None:
    before = (initialised_app / "forkman.yaml").read_bytes()

    result = forkman_run(*init_args(upstream, "--ref", RELEASES[1]), cwd=initialised_app, expect=2)

    assert_one_line_error(result, "forkman.yaml")
    assert (initialised_app / "forkman.yaml").read_bytes() == before


def test_init_sparse_checks_out_only_the_cone(app_repo: Path, upstream: Path, forkman_run) -> None:
    forkman_run(
        *init_args(
            upstream, "--ref", BASE_REF, "--path", CHECKOUT, "--sparse", "autogpt_platform/backend"
        ),
        cwd=app_repo,
    )

    checkout = app_repo / CHECKOUT
    assert (checkout / "autogpt_platform/backend/backend/blocks/llm.py").is_file()
    assert not (checkout / "classic").exists()
    assert not (checkout / "autogpt_platform/frontend").exists()
    assert yaml.safe_load((app_repo / "forkman.yaml").read_text())["upstream"]["sparse"] == [
        "autogpt_platform/backend"
    ]


def test_init_partial_records_the_filter(app_repo: Path, upstream: Path, forkman_run) -> None:
    git(upstream, "config", "uploadpack.allowFilter", "true")

    forkman_run(
        *init_args(upstream.as_uri(), "--ref", BASE_REF, "--path", CHECKOUT, "--partial"),
        cwd=app_repo,
    )

    assert (
        yaml.safe_load((app_repo / "forkman.yaml").read_text())["upstream"]["filter"] == "blob:none"
    )
    assert git(app_repo / CHECKOUT, "config", "remote.origin.promisor") == "true"
    assert git(app_repo / CHECKOUT, "status", "--porcelain") == ""


def test_init_at_the_upstreams_head_fills_the_checkout(
    app_repo: Path, upstream: Path, forkman_run
) -> None:
    forkman_run(*init_args(upstream, "--ref", "master", "--path", CHECKOUT), cwd=app_repo)

    checkout = app_repo / CHECKOUT
    assert (checkout / "README.md").is_file()
    assert git(checkout, "status", "--porcelain") == ""


def test_pr_branch_defaults_to_the_upstreams_default_branch(
    app_repo: Path, upstream: Path, tmp_path: Path, forkman_run
) -> None:
    """Not a fixed name: the remote's HEAD (the example's is master; AutoGPT's config says dev)."""
    git(upstream, "symbolic-ref", "HEAD", "refs/heads/dev")
    args = ["init", "--upstream", str(upstream), "--release-pattern", RELEASE_PATTERN]
    forkman_run(*args, "--path", CHECKOUT, cwd=app_repo)
    assert yaml.safe_load((app_repo / "forkman.yaml").read_text())["upstream"]["pr_branch"] == "dev"
    # an adopted clone: its own remote-tracking HEAD says it, even with upstream's HEAD moved on
    adopted = tmp_path / "adopted"
    git(tmp_path, "clone", "-q", str(upstream), str(adopted))
    git(upstream, "symbolic-ref", "HEAD", "refs/heads/master")
    other = tmp_path / "other-app"
    other.mkdir()
    git(other, "init", "-q")
    forkman_run(*args, "--path", str(adopted), cwd=other)
    assert yaml.safe_load((other / "forkman.yaml").read_text())["upstream"]["pr_branch"] == "dev"
    # nobody can tell (HEAD names no branch): `main`, and a warning saying where to change it
    git(upstream, "symbolic-ref", "HEAD", "refs/heads/nothing")
    third = tmp_path / "third-app"
    third.mkdir()
    git(third, "init", "-q")
    run = forkman_run(*args, "--path", "up", cwd=third)
    assert yaml.safe_load((third / "forkman.yaml").read_text())["upstream"]["pr_branch"] == "main"
    assert "upstream.pr_branch" in run.stderr
