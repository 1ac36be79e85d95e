"""The rules behind forkman's refusals, as plain values: URLs, names, paths, printed text."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from forkman.core.pathrules import (
    checkout_problem,
    control_character,
    has_git_component,
    relative_problem,
    symlink_target_problem,
)
from forkman.core.terminal import printable
from forkman.core.urls import name_problem, redact_text, redact_url, remote_problem, url_problem


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/Significant-Gravitas/AutoGPT.git",
        "ssh://git@github.com/o/r.git",
        "git://example.com/r.git",
        "file:///srv/r.git",
        "git@github.com:o/r.git",
        "/srv/r.git",
        "../upstream",
        "git+ssh://host/r",
    ],
)
def test_urls_people_use(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    "url",
    ["--upload-pack=touch x", "-u", "ext::sh -c x", "fd::3", "foo::bar", "ftp://x/r", "", "a\nb",
     "http://example.com/r.git"],
)  # fmt: skip
def test_urls_forkman_refuses(url: str) -> None:
    assert url_problem(url) is not None


def test_names_and_remotes() -> None:
    assert name_problem("-x") and name_problem("a\tb") and name_problem("")
    assert name_problem("forkman/pr/x") is None
    assert remote_problem("origin") is None and remote_problem("fork") is None
    assert remote_problem("--receive-pack=x") and remote_problem("ext::x")
    assert remote_problem("/srv/fork.git") is None and remote_problem("git@host:o/r") is None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:tok@example.com/r.git", "https://example.com/r.git"),
        ("https://tok@example.com/r.git", "https://example.com/r.git"),
        ("HTTPS://x-access-token:tok@github.com/o/r", "HTTPS://github.com/o/r"),
        ("ssh://git:pw@host/r", "ssh://git@host/r"),
        ("ssh://git@host/r", "ssh://git@host/r"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("/srv/r.git", "/srv/r.git"),
    ],
)
def test_redacted_urls(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redaction_inside_text() -> None:
    text = "fatal: unable to access 'https://bob:tok@host/r.git/': no; see https://a:b@c/d"
    assert redact_text(text) == "fatal: unable to access 'https://host/r.git/': no; see https://c/d"


def test_config_paths() -> None:
    assert control_character("a\nb") == "\\n" and control_character("ok/path") is None
    for bad in (
        ".git/hooks",
        ".GIT/x",
        "a/.Git",
        ".git./x",
        ".git /x",
        "GIT~1/x",
        "x\ny",
        "/abs",
        "a/../..",
    ):
        assert relative_problem(bad), bad
    assert relative_problem("blocks/customized") is None
    assert not has_git_component(".github/workflows") and not has_git_component("a.git/b")


def test_checkout_places() -> None:
    root = PurePosixPath("/w/app")
    git = root / ".git"
    assert checkout_problem(root, root, git)
    assert checkout_problem(root, git / "up", git)
    assert checkout_problem(root, PurePosixPath("/w"), git)
    assert checkout_problem(root, root / "upstream/autogpt", git) is None
    assert checkout_problem(root, PurePosixPath("/w/AutoGPT"), git) is None


@pytest.mark.parametrize(
    ("link", "target", "ok"),
    [
        ("a/b", "c", True),
        ("a/b", "../x", True),
        ("a/b", "../../x", False),
        ("a/b", "/etc/passwd", False),
        ("a/b", "../.git/hooks", False),
        ("l", ".GIT", False),
        ("l", ".", False),
        ("l", "", False),
    ],
)
def test_symlink_targets(link: str, target: str, ok: bool) -> None:
    assert (symlink_target_problem(link, target) is None) == ok


def test_printable() -> None:
    assert printable("Hi \x1b]0;x\x07 \x9b2J\tok") == "Hi \\x1b]0;x\\x07 \\x9b2J\tok"
    assert printable("plain: ünïcode") == "plain: ünïcode"
