"""A URL with credentials is never printed, stored or committed by forkman (issue 10, item 7).

git's `url.<base>.insteadOf` lets the tests use real https-looking URLs with a token in them
while every fetch and push goes to a local repository.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_git
from helpers import CHECKOUT, INIT_OPTIONS

SECRET = "s3cret-t0ken"
UPSTREAM = f"https://alice:{SECRET}@example.com/autogpt.git"
FORK = f"https://x-access-token:{SECRET}@example.com/fork.git"


@pytest.fixture
def aliases(hermetic_seal: Path, upstream: Path, bare_fork: Path) -> None:
    """UPSTREAM and FORK (with or without their credentials) lead to the local repositories."""
    with open(hermetic_seal / ".gitconfig", "a") as config:
        config.write(
            f'[url "{upstream.as_uri()}"]\n\tinsteadOf = {UPSTREAM}\n'
            "\tinsteadOf = https://example.com/autogpt.git\n"
            f'[url "{bare_fork.as_uri()}"]\n\tinsteadOf = {FORK}\n'
            "\tinsteadOf = https://example.com/fork.git\n"
        )


def no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text, text


def app_files(app: Path) -> str:
    return "".join(
        p.read_text(errors="replace")
        for p in [
            app / "forkman.yaml",
            app / "forkman.lock",
            *sorted((app / "overlays").rglob("*")),
        ]
        if p.is_file()
    )


def test_init_with_a_token_in_the_url(app_repo: Path, aliases: None, forkman_run) -> None:
    result = forkman_run("init", "--upstream", UPSTREAM, *INIT_OPTIONS, cwd=app_repo)

    no_secret(result.stdout, result.stderr, app_files(app_repo))
    assert "example.com/autogpt.git" in (app_repo / "forkman.yaml").read_text()
    for command in (["overlay", "status"], ["overlay", "status", "--json"], ["sync", "--check"]):
        result = forkman_run(*command, cwd=app_repo, expect=None)
        assert result.exit_code in (0, 1), result
        no_secret(result.stdout, result.stderr)


def test_a_token_already_in_forkman_yaml_and_lock(initialised_app: Path, forkman_run) -> None:
    """Files written before forkman redacted: nothing shows the token, the next write drops it."""
    for name in ("forkman.yaml", "forkman.lock"):
        path = initialised_app / name
        text = path.read_text()
        url = json.loads(text)["upstream"]["url"] if name == "forkman.lock" else None
        if url is None:
            url = next(ln for ln in text.splitlines() if ln.startswith("  url: "))[7:].strip('"')
        path.write_text(text.replace(url, UPSTREAM))

    for command in (["overlay", "status"], ["overlay", "status", "--json"]):
        result = forkman_run(*command, cwd=initialised_app, expect=None)
        no_secret(result.stdout, result.stderr)


def test_a_token_in_an_unreachable_url(tmp_path: Path, initialised_app: Path, forkman_run) -> None:
    unreachable = f"https://alice:{SECRET}@127.0.0.1:9/nowhere.git"
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    run_git(fresh, "init", "-q")
    options = list(INIT_OPTIONS)

    result = forkman_run("init", "--upstream", unreachable, *options, cwd=fresh, expect=2)
    no_secret(result.stdout, result.stderr)

    config = initialised_app / "forkman.yaml"
    lines = config.read_text().splitlines(keepends=True)
    config.write_text(
        "".join(f"  url: {unreachable}\n" if ln.startswith("  url:") else ln for ln in lines)
    )
    for command in (["sync", "--check"], ["sync"]):
        result = forkman_run(*command, cwd=initialised_app, expect=2)
        no_secret(result.stdout, result.stderr)


def test_init_warning_about_the_checkouts_own_remote(
    app_repo: Path, upstream: Path, forkman_run
) -> None:
    checkout = app_repo / CHECKOUT
    run_git(app_repo, "clone", "-q", str(upstream), str(checkout))
    run_git(checkout, "remote", "set-url", "origin", f"https://bob:{SECRET}@example.com/other.git")

    result = forkman_run("init", "--upstream", str(upstream), *INIT_OPTIONS, cwd=app_repo)

    assert "example.com/other.git" in result.stderr
    no_secret(result.stdout, result.stderr, app_files(app_repo))


def test_upstream_pr_push_to_a_fork_url_with_a_token(
    app_repo: Path, upstream: Path, aliases: None, forkman_run
) -> None:
    from helpers import make_app

    make_app(app_repo, upstream, ("cost-config",))

    for extra in ([], ["--json"]):
        result = forkman_run(
            "upstream-pr", "cost-config", "--push", "--remote", FORK, *extra, cwd=app_repo
        )
        no_secret(result.stdout, result.stderr)
    overlay = (app_repo / "overlays" / "cost-config.patch").read_text()
    assert "Forwarded: https://example.com/fork.git" in overlay
    no_secret(app_files(app_repo), os.linesep.join(run_git(app_repo, "status", "--porcelain")))


def test_an_overlay_that_is_a_link_to_a_secret_file(
    initialised_app: Path, tmp_path: Path, forkman_run
) -> None:
    """A pull request's overlay linking to a file outside (a key, /proc/self/environ) is not read."""
    secret = tmp_path / "id_token"
    secret.write_text(f"TOKEN={SECRET}\n")
    os.symlink(secret, initialised_app / "overlays" / "evil.patch")
    (initialised_app / "overlays" / "series").write_text("evil\n")

    for command in (["overlay", "status"], ["apply"], ["overlay", "show", "evil"]):
        result = forkman_run(*command, cwd=initialised_app, expect=2)
        no_secret(result.stdout, result.stderr)
        assert "evil.patch" in result.stderr
