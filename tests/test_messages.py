"""Bad input and a refusing machine are one line and exit 2, never a traceback (issue 10, item 21)."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_git
from helpers import ROOT, Run, assert_one_line_error

from forkman.autogpt.example import LLM_PY


def run_with_file_size_limit(args: list[str], cwd: Path, limit: int) -> Run:
    """`python -m forkman ARGS` where no file may grow past LIMIT bytes (EFBIG, as a full disk)."""

    def limit_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "forkman", *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False, preexec_fn=limit_files,
    )  # fmt: skip
    return Run(proc.returncode, proc.stdout, proc.stderr)


def test_a_write_that_fails_with_an_unlisted_errno_names_the_file(
    app_with_overlays: Path,
) -> None:
    (app_with_overlays / "upstream/autogpt" / LLM_PY).write_text("# edited\n")
    body = "why " * 30_000  # the overlay file outgrows the limit; nothing else does

    result = run_with_file_size_limit(
        ["overlay", "capture", "mine", "-m", f"Subject\n\n{body}"], app_with_overlays, 64_000
    )

    assert_one_line_error(result, "mine.patch")
    assert not (app_with_overlays / "overlays" / "mine.patch").exists()
    assert "mine" not in (app_with_overlays / "overlays" / "series").read_text()


def test_a_full_disk_during_the_journal_backup(app_with_overlays: Path, forkman_run) -> None:
    (app_with_overlays / "overlays" / "notes.md").write_text("n" * 300_000)

    result = run_with_file_size_limit(["sync", "--no-fetch"], app_with_overlays, 200_000)

    assert_one_line_error(result, "notes.md")
    status = forkman_run("overlay", "status", cwd=app_with_overlays, expect=None)
    assert "sync is in progress" not in status.stdout + status.stderr


@pytest.mark.parametrize(
    ("name", "text"),
    [("forkman.lock", "[" * 100_000), ("forkman.yaml", "upstream: " + "[" * 100_000)],
)
def test_a_deeply_nested_file(app_with_overlays: Path, forkman_run, name: str, text: str) -> None:
    (app_with_overlays / name).write_text(text)

    assert_one_line_error(forkman_run("overlay", "status", cwd=app_with_overlays, expect=2), name)


def test_an_overlay_with_crlf_line_endings(app_with_overlays: Path, forkman_run) -> None:
    patch = app_with_overlays / "overlays" / "llm-models.patch"
    patch.write_bytes(patch.read_bytes().replace(b"\n", b"\r\n"))

    for command in (["apply"], ["overlay", "status"], ["sync", "--check"]):
        result = forkman_run(*command, cwd=app_with_overlays, expect=2)
        assert_one_line_error(result, "llm-models.patch", "CRLF")


def test_an_overlay_with_a_nul_byte(initialised_app: Path, forkman_run) -> None:
    diff = "diff --git a/nul.txt b/nul.txt\nnew file mode 100644\n--- /dev/null\n+++ b/nul.txt\n"
    (initialised_app / "overlays" / "nul.patch").write_text(
        f"Subject: x\n\n---\n{diff}@@ -0,0 +1 @@\n+a\0b\n"
    )
    (initialised_app / "overlays" / "series").write_text("nul\n")

    for command in (["apply"], ["overlay", "status"], ["sync", "--check"], ["sync"]):
        result = forkman_run(*command, cwd=initialised_app, expect=2)
        assert_one_line_error(result, "nul.patch", "NUL")
    assert not (initialised_app / "upstream/autogpt/nul.txt").exists()


@pytest.mark.parametrize("where", ["top", "nested"])
def test_duplicate_keys_in_forkman_yaml(app_with_overlays: Path, forkman_run, where: str) -> None:
    config = app_with_overlays / "forkman.yaml"
    text = config.read_text()
    if where == "top":
        config.write_text(text + "links: []\n")
    else:
        config.write_text(
            text.replace("upstream:\n", "upstream:\n  url: https://example.com/x.git\n", 1)
        )

    result = forkman_run("overlay", "status", cwd=app_with_overlays, expect=2)
    assert_one_line_error(result, "forkman.yaml:", "twice")


def test_a_pattern_whose_tags_carry_no_version(app_repo: Path, upstream: Path, forkman_run) -> None:
    run_git(upstream, "tag", "v-old", "HEAD~1")
    run_git(upstream, "tag", "v-new", "HEAD")

    result = forkman_run(
        "init", "--upstream", str(upstream), "--release-pattern", "v-*", cwd=app_repo, expect=2
    )

    assert_one_line_error(result, "v-old", "v-new", "version number")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["sync", "--bogus"], "forkman: error: no such option --bogus (see forkman sync -h)"),
        (
            ["overlay", "capture"],
            "forkman: error: missing argument NAME (see forkman overlay capture -h)",
        ),
        (["bogus"], "forkman: error: no such command bogus (see forkman -h)"),
        (
            ["sync", "--to"],
            "forkman: error: option --to requires an argument (see forkman sync -h)",
        ),
    ],
)
def test_usage_errors_are_one_line(tmp_path: Path, forkman_run, args: list[str], line: str) -> None:
    result = forkman_run(*args, cwd=tmp_path, expect=2)

    assert result.stderr == line + "\n"
    assert result.stdout == ""
