"""Overlay files: plain `git apply`/`git am` take them; their bytes never depend on git config."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import CHECKOUT, git, tree_snapshot

from forkman.autogpt.example import OVERLAYS

FORMAT_REF = "fmt-v1"
# Files that make patches awkward, committed to the upstream at FORMAT_REF.
AWKWARD = {
    "crlf.txt": b"one\r\ntwo\r\nthree\r\n",
    "noeol.txt": b"first\nlast",
    "old.txt": b"to be deleted\n",
    "tool.sh": b"#!/bin/sh\necho hi\n",
    "formfeed.py": b"a = 1\n\x0c\nb = 2\n\x0cindex = 4\n",  # git splits lines at \n only
    "latin1.txt": b"caf\xe9\n",
    "sub dir/with space.txt": b"spaced\n",
}
HOSTILE_GITCONFIG = """\
[diff]
\tnoprefix = true
\tmnemonicPrefix = true
\talgorithm = patience
\tcontext = 10
\tinterHunkContext = 5
\trenames = copies
\tsuppressBlankEmpty = true
\tindentHeuristic = false
\tcolorMoved = zebra
\trelative = true
[core]
\tabbrev = 12
\tquotePath = false
[color]
\tui = always
\tdiff = always
[format]
\tsignature = hostile
[apply]
\twhitespace = fix
[am]
\tkeepcr = false
"""


def edit_awkwardly(checkout: Path) -> None:
    """CRLF, no final newline, a new, a deleted and an executable file: all in one overlay."""
    (checkout / "crlf.txt").write_bytes(b"one\r\nTWO\r\nthree\r\n")
    (checkout / "noeol.txt").write_bytes(b"first\nlast, edited")
    (checkout / "new.txt").write_bytes(b"brand new\n")
    (checkout / "docs" / "café.md").write_bytes(b"# Caf\xc3\xa9\n")  # a non-ASCII name
    (checkout / "old.txt").unlink()
    (checkout / "tool.sh").chmod(0o755)
    (checkout / "formfeed.py").write_bytes(b"a = 1\n\x0c\nb = 3\n\x0cindex = 5\n")
    (checkout / "latin1.txt").write_bytes(b"caf\xe9 au lait\n")
    (checkout / "sub dir/with space.txt").write_bytes(b"spaced out\n")


@pytest.fixture
def format_app(app_repo: Path, upstream: Path, forkman_run) -> Path:
    """An app pinned at FORMAT_REF, an upstream commit holding AWKWARD files."""
    for path, data in AWKWARD.items():
        (upstream / path).parent.mkdir(parents=True, exist_ok=True)
        (upstream / path).write_bytes(data)
    git(upstream, "add", "-A")
    git(upstream, "commit", "-q", "-m", "Awkward files")
    git(upstream, "tag", FORMAT_REF)
    forkman_run(
        "init", "--upstream", str(upstream), "--ref", FORMAT_REF, "--path", CHECKOUT, cwd=app_repo
    )
    return app_repo


def fresh_clone(upstream: Path, ref: str, dest: Path) -> Path:
    git(upstream.parent, "clone", "-q", str(upstream), str(dest))
    git(dest, "checkout", "-q", "--detach", ref)
    return dest


def test_awkward_overlay_round_trips(format_app: Path, forkman_run) -> None:
    checkout = format_app / CHECKOUT
    edit_awkwardly(checkout)
    forkman_run("overlay", "capture", "awkward", cwd=format_app)
    by_hand = tree_snapshot(checkout)
    patch = (format_app / "overlays" / "awkward.patch").read_bytes()

    assert b"-two\r\n+TWO\r\n" in patch
    assert b"\\ No newline at end of file\n" in patch
    assert b"new file mode 100644\n" in patch and b"deleted file mode 100644\n" in patch
    assert b"old mode 100644\nnew mode 100755\n" in patch
    assert b"\nindex " not in patch
    assert "+++ b/docs/café.md\n".encode() in patch  # not a quoted "b/docs/caf\303\251.md"

    shutil.rmtree(checkout)
    forkman_run("apply", cwd=format_app)
    assert tree_snapshot(checkout) == by_hand
    status = forkman_run("overlay", "status", "--json", cwd=format_app).stdout
    assert '"clean": true' in status


def test_awkward_overlay_applies_with_plain_git(
    format_app: Path, upstream: Path, tmp_path: Path, forkman_run
) -> None:
    edit_awkwardly(format_app / CHECKOUT)
    forkman_run(
        "overlay",
        "capture",
        "awkward",
        "-m",
        "Awkward édits\n\nAll at once, über-careful.",
        cwd=format_app,
    )
    by_hand = tree_snapshot(format_app / CHECKOUT)
    patch = str(format_app / "overlays" / "awkward.patch")

    applied = fresh_clone(upstream, FORMAT_REF, tmp_path / "with-apply")
    git(applied, "apply", "--index", patch)
    assert tree_snapshot(applied) == by_hand

    am = fresh_clone(upstream, FORMAT_REF, tmp_path / "with-am")
    git(am, "am", "-q", "--keep-cr", patch)
    assert tree_snapshot(am) == by_hand
    assert (
        git(am, "log", "-1", "--format=%s%n%b%n%an")
        == "Awkward édits\nAll at once, über-careful.\n\nForkman Tests"
    )


def test_example_overlays_apply_with_git_am_in_series_order(
    app_with_overlays: Path, upstream: Path, tmp_path: Path
) -> None:
    from helpers import BASE_REF

    series = (app_with_overlays / "overlays" / "series").read_text().split()
    patches = [str(app_with_overlays / "overlays" / f"{name}.patch") for name in series]

    applied = fresh_clone(upstream, BASE_REF, tmp_path / "with-apply")
    for patch in patches:
        git(applied, "apply", "--check", patch)
        git(applied, "apply", patch)
    am = fresh_clone(upstream, BASE_REF, tmp_path / "with-am")
    git(am, "am", "-q", *patches)

    expected = tree_snapshot(app_with_overlays / CHECKOUT)
    assert tree_snapshot(applied) == expected
    assert tree_snapshot(am) == expected
    subjects = git(am, "log", "--format=%s", "-3").splitlines()
    assert subjects == [OVERLAYS[name][0] for name in reversed(series)]


def recapture(app: Path, name: str, forkman_run) -> bytes:
    """Drop NAME (which undoes it), make the same edits again, capture them under the same name."""
    patch = app / "overlays" / f"{name}.patch"
    message = forkman_run("overlay", "show", name, cwd=app).stdout
    subject = message.split("Subject: ", 1)[1].split("\n", 1)[0]
    forkman_run("overlay", "drop", name, cwd=app)
    if name == "awkward":
        edit_awkwardly(app / CHECKOUT)
    else:
        OVERLAYS[name][2](app / CHECKOUT)
    body = OVERLAYS[name][1] if name in OVERLAYS else ""
    forkman_run("overlay", "capture", name, "-m", f"{subject}\n\n{body}", cwd=app)
    return patch.read_bytes()


def test_export_is_stable_under_a_hostile_gitconfig(
    app_with_overlays: Path, hermetic_seal: Path, forkman_run
) -> None:
    before = {n: (app_with_overlays / "overlays" / f"{n}.patch").read_bytes() for n in OVERLAYS}
    with open(hermetic_seal / ".gitconfig", "a") as config:
        config.write(HOSTILE_GITCONFIG)

    for name in OVERLAYS:
        forkman_run("overlay", "refresh", name, cwd=app_with_overlays)
    assert {
        n: (app_with_overlays / "overlays" / f"{n}.patch").read_bytes() for n in OVERLAYS
    } == before

    assert recapture(app_with_overlays, "cost-config", forkman_run) == before["cost-config"]
    by_hand = tree_snapshot(app_with_overlays / CHECKOUT)
    shutil.rmtree(app_with_overlays / CHECKOUT)
    forkman_run("apply", cwd=app_with_overlays)
    assert tree_snapshot(app_with_overlays / CHECKOUT) == by_hand
    json_status = forkman_run("overlay", "status", "--json", cwd=app_with_overlays).stdout
    assert '"clean": true' in json_status


def test_awkward_export_is_stable_under_hostile_gitconfig(
    format_app: Path, hermetic_seal: Path, forkman_run
) -> None:
    edit_awkwardly(format_app / CHECKOUT)
    forkman_run("overlay", "capture", "awkward", cwd=format_app)
    before = (format_app / "overlays" / "awkward.patch").read_bytes()
    with open(hermetic_seal / ".gitconfig", "a") as config:
        config.write(HOSTILE_GITCONFIG)

    forkman_run("overlay", "refresh", "awkward", cwd=format_app)
    assert (format_app / "overlays" / "awkward.patch").read_bytes() == before
    assert recapture(format_app, "awkward", forkman_run) == before
