"""Every kind of change a real patch makes, through capture, apply on a fresh clone, sync and upstream-pr."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ForkmanRunner, run_git
from import_setup import tree

CHECKOUT = "upstream/lib"
LINES = "".join(f"line {n}\n" for n in range(1, 21))
LOGO = bytes(range(256)) * 8
WEIRD = ["dir with space/a b.txt", 'quo"te.txt', "tab\there.txt", "ünïcode ✓.txt"]


def _write_v1(repo: Path) -> None:
    files: dict[str, bytes] = {
        "src/main.c": LINES.encode(),
        "src/util.c": b"int util(void) { return 1; }\n",
        "doc/old.txt": "".join(f"doc {n}\n" for n in range(1, 21)).encode(),
        "tool.sh": b"#!/bin/sh\necho tool\n",
        "logo.bin": LOGO,
        "crlf.txt": b"one\r\ntwo\r\nthree\r\n",
        "latin1.txt": b"caf\xe9\nna\xefve\n",
        "no-eol.txt": b"first\nlast",
        "src/gone.c": b"int gone;\n",
        **{name: b"weird\nname\n" for name in WEIRD},
    }
    for name, data in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(data)


@pytest.fixture
def app(app_repo: Path, tmp_path: Path, forkman_run: ForkmanRunner) -> Path:
    """An upstream with v1.0 (pinned) and v2.0 (which edits src/main.c and README), and its app."""
    lib = tmp_path / "lib"
    lib.mkdir()
    _write_v1(lib)
    (lib / "README").write_text("lib\n")
    run_git(lib, "init", "-q")
    run_git(lib, "add", "-A")
    run_git(lib, "commit", "-qm", "1.0")
    run_git(lib, "tag", "v1.0")
    (lib / "src" / "main.c").write_text("// v2 header\n" + LINES)
    (lib / "README").write_text("lib 2\n")
    (lib / "src" / "gone.c").unlink()
    run_git(lib, "commit", "-qam", "2.0")
    run_git(lib, "tag", "v2.0")
    forkman_run("init", "--upstream", str(lib), "--ref", "v1.0", "--release-pattern", "v*",
                "--path", CHECKOUT, cwd=app_repo)  # fmt: skip
    run_git(app_repo, "add", "-A")
    run_git(app_repo, "commit", "-qm", "track lib")
    return app_repo


def _new_file(c: Path) -> None:
    (c / "src" / "new.c").write_text("int fresh;\n")


def _deleted(c: Path) -> None:
    (c / "src" / "util.c").unlink()


def _renamed(c: Path) -> None:
    text = (c / "doc" / "old.txt").read_text().replace("doc 3\n", "doc three\n")
    (c / "doc" / "old.txt").unlink()
    (c / "doc" / "new.txt").write_text(text)


def _mode(c: Path) -> None:
    (c / "tool.sh").chmod(0o755)


def _symlink(c: Path) -> None:
    os.symlink("src/main.c", c / "main-link")


def _binary(c: Path) -> None:
    data = bytearray(LOGO)
    data[100:110] = b"CHANGED!!!"
    (c / "logo.bin").write_bytes(bytes(data))
    (c / "new.bin").write_bytes(b"\x00\xff" * 40)


def _no_eol(c: Path) -> None:
    (c / "no-eol.txt").write_bytes(b"first\nlast, changed")
    (c / "src" / "util.c").write_bytes(b"int util(void) { return 1; }")  # loses its newline


def _crlf(c: Path) -> None:
    (c / "crlf.txt").write_bytes(b"one\r\nTWO\r\nthree\r\n")


def _latin1(c: Path) -> None:
    (c / "latin1.txt").write_bytes(b"caf\xe9 cr\xe8me\nna\xefve\n")


def _weird_names(c: Path) -> None:
    for name in WEIRD:
        (c / name).write_bytes(b"weird\nname, changed\n")
    (c / 'new ü "q".txt').write_text("new\n")


KINDS: dict[str, Callable[[Path], None]] = {
    "new-file": _new_file,
    "deleted-file": _deleted,
    "rename": _renamed,
    "mode": _mode,
    "symlink": _symlink,
    "binary": _binary,
    "no-eol": _no_eol,
    "crlf": _crlf,
    "non-utf8": _latin1,
    "names": _weird_names,
}


def _expected(lib: Path, ref: str, edit: Callable[[Path], None], tmp: Path) -> dict[str, bytes]:
    """REF's tree with EDIT made to it."""
    where = tmp / f"expected-{ref}"
    run_git(tmp, "clone", "-q", str(lib), str(where))
    run_git(where, "checkout", "-q", ref)
    edit(where)
    return tree(where)


@pytest.mark.parametrize("kind", list(KINDS))
def test_change_kind_captures_applies_syncs_and_goes_upstream(
    kind: str, app: Path, tmp_path: Path, forkman_run: ForkmanRunner
) -> None:
    edit = KINDS[kind]
    checkout = app / CHECKOUT
    lib = tmp_path / "lib"
    at_v1, at_v2 = (_expected(lib, ref, edit, tmp_path) for ref in ("v1.0", "v2.0"))
    edit(checkout)
    forkman_run("overlay", "capture", kind, "-m", f"The {kind} change", cwd=app)
    text = (app / "overlays" / f"{kind}.patch").read_bytes()
    if kind == "rename":
        assert b"rename from doc/old.txt\nrename to doc/new.txt\n" in text
    # git applies the overlay file without forkman, as README promises
    plain = tmp_path / "plain"
    run_git(tmp_path, "clone", "-q", str(lib), str(plain))
    run_git(plain, "checkout", "-q", "v1.0")
    subprocess.run(["git", "apply", "--binary", str(app / "overlays" / f"{kind}.patch")], cwd=plain,
                   check=True)  # fmt: skip
    assert tree(plain) == at_v1
    # a fresh clone of the app repo rebuilds the same tree
    run_git(app, "add", "-A")
    run_git(app, "commit", "-qm", kind)
    fresh = tmp_path / "fresh"
    run_git(tmp_path, "clone", "-q", str(app), str(fresh))
    applied = forkman_run("apply", cwd=fresh).stdout
    assert tree(fresh / CHECKOUT) == at_v1
    assert ("deleted src/util.c" in applied) == (kind == "deleted-file")
    assert "wrote src/util.c" not in applied or kind == "no-eol"
    assert "applied" in forkman_run("overlay", "status", cwd=fresh).stdout
    # sync carries it to v2.0
    run = forkman_run("sync", "--to", "v2.0", "--json", cwd=fresh)
    report = json.loads(run.stdout)
    assert report["ok"] and report["overlays"][0]["state"] in ("clean", "moved")
    assert tree(fresh / CHECKOUT) == at_v2
    # upstream-pr: one commit on upstream's branch making exactly the change
    run = forkman_run("upstream-pr", kind, "--base", "main", "--json", cwd=fresh)
    pr = json.loads(run.stdout)
    made = tmp_path / "made"
    run_git(tmp_path, "clone", "-q", str(fresh / CHECKOUT), str(made))
    run_git(made, "checkout", "-q", pr["commit"])
    assert tree(made) == at_v2


def test_a_deletion_upstream_makes_too_is_upstreamed_and_the_rest_carried(
    app: Path, forkman_run: ForkmanRunner
) -> None:
    checkout = app / CHECKOUT
    (checkout / "src" / "gone.c").unlink()
    (checkout / "src" / "util.c").write_text("int util(void) { return 2; }\n")
    forkman_run("overlay", "capture", "cleanup", "-m", "Drop gone.c", cwd=app)
    run = forkman_run("sync", "--to", "v2.0", "--json", cwd=app)
    report = json.loads(run.stdout)
    assert report["ok"] and report["overlays"][0]["state"] == "partly-upstreamed"
    assert not (checkout / "src" / "gone.c").exists()
    assert "a/src/gone.c" not in (app / "overlays" / "cleanup.patch").read_text()
    assert (checkout / "src" / "util.c").read_text() == "int util(void) { return 2; }\n"
