"""Bad input: one line on stderr, exit 2, no traceback, and nothing changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import BASE_REF, CHECKOUT, assert_one_line_error, run_subprocess, tree_snapshot

from forkman.autogpt.example import LLM_PY


def snapshot(app: Path) -> dict:
    return tree_snapshot(app, skip=(".git", f"{CHECKOUT}/.git"))


def add_overlay(app: Path, name: str, text: str) -> None:
    (app / "overlays" / f"{name}.patch").write_text(text)
    with open(app / "overlays" / "series", "a") as series:
        series.write(f"{name}\n")


def hand_patch(path_a: str, path_b: str) -> str:
    return (
        f"Subject: Evil\n\n---\ndiff --git {path_a} {path_b}\n--- {path_a}\n+++ {path_b}\n"
        "@@ -1 +1 @@\n-old\n+new\n"
    )


BAD_PATHS = ["/etc/passwd", "a/../../outside.txt", "a/.git/hooks/pre-commit", "a/docs/../../../x"]
BAD_NAMES = [
    "Loader",
    "has space",
    "a..b",
    "-dash",
    "trailing-",
    "x.lock",
    "a/b",
    "ünïcode",
    "",
    "name~1",
    "a@{b",
]


def test_a_patch_whose_paths_leave_the_checkout(initialised_app: Path, forkman_run) -> None:
    for number, path in enumerate(BAD_PATHS):
        name = f"evil{number}"
        b_path = "b/" + path[2:] if path.startswith("a/") else path
        add_overlay(initialised_app, name, hand_patch(path, b_path))
        before = snapshot(initialised_app)

        for command in (["apply"], ["overlay", "status"], ["overlay", "show", name]):
            result = forkman_run(*command, cwd=initialised_app, expect=2)
            assert_one_line_error(result, f"{name}.patch")

        assert snapshot(initialised_app) == before
        assert not (initialised_app / "outside.txt").exists()
        (initialised_app / "overlays" / "series").write_text("")


def test_a_bad_overlay_name(initialised_app: Path, forkman_run) -> None:
    (initialised_app / CHECKOUT / "README.md").write_text("edit\n")
    before = snapshot(initialised_app)

    for name in BAD_NAMES:
        result = forkman_run("overlay", "capture", "--", name, cwd=initialised_app, expect=2)
        assert_one_line_error(result)

    assert snapshot(initialised_app) == before


def test_config_that_is_not_yaml(app_with_overlays: Path, forkman_run) -> None:
    config = app_with_overlays / "forkman.yaml"
    config.write_text(config.read_text().replace("  pr_branch: dev", "  pr_branch: [dev"))
    before = snapshot(app_with_overlays)

    result = forkman_run("apply", cwd=app_with_overlays, expect=2)

    assert_one_line_error(result, "forkman.yaml:")
    assert snapshot(app_with_overlays) == before


def test_config_missing_a_field(app_with_overlays: Path, forkman_run) -> None:
    config = app_with_overlays / "forkman.yaml"
    lines = config.read_text().splitlines(keepends=True)
    config.write_text("".join(ln for ln in lines if not ln.startswith("  url:")))

    result = forkman_run("overlay", "status", cwd=app_with_overlays, expect=2)

    assert_one_line_error(result, "forkman.yaml:", "url")


def test_app_files_that_are_not_utf8_or_not_a_lock(app_with_overlays: Path, forkman_run) -> None:
    lock = (app_with_overlays / "forkman.lock").read_text()
    broken = {
        "forkman.yaml": b"\xff\xfeupstream:\n",
        "forkman.lock": b"\xff",
        "overlays/series": b"loader-symlink\n\xff\n",
    }
    for name, data in broken.items():
        good = (app_with_overlays / name).read_bytes()
        (app_with_overlays / name).write_bytes(data)
        before = snapshot(app_with_overlays)
        result = forkman_run("overlay", "status", cwd=app_with_overlays, expect=2)
        assert_one_line_error(result, name, "not UTF-8")
        assert snapshot(app_with_overlays) == before
        (app_with_overlays / name).write_bytes(good)

    commit = lock.split('"commit": "')[1][:40]
    for text, mention in (
        ("[]", "not forkman's JSON object"),
        ('{"upstream": "x"}', "not forkman's JSON object"),
        (lock.replace(commit, "zzzz"), "'zzzz' is not a full commit id"),
    ):
        (app_with_overlays / "forkman.lock").write_text(text)
        for command in (["overlay", "status"], ["apply"], ["sync", "--check"]):
            result = forkman_run(*command, cwd=app_with_overlays, expect=2)
            assert_one_line_error(result, "forkman.lock", mention, "git checkout -- forkman.lock")


def test_series_with_a_bad_name(app_with_overlays: Path, forkman_run) -> None:
    (app_with_overlays / "overlays" / "series").write_text("loader-symlink\nBad Name\n")

    assert_one_line_error(
        forkman_run("overlay", "list", cwd=app_with_overlays, expect=2), "series:2"
    )


def test_an_unknown_overlay(app_with_overlays: Path, forkman_run) -> None:
    before = snapshot(app_with_overlays)

    for command in ("show", "refresh", "drop"):
        result = forkman_run("overlay", command, "nope", cwd=app_with_overlays, expect=2)
        assert_one_line_error(result, "nope", "loader-symlink", "llm-models", "cost-config")

    assert snapshot(app_with_overlays) == before


def test_a_patch_that_does_not_parse(app_with_overlays: Path, forkman_run) -> None:
    patch = app_with_overlays / "overlays" / "llm-models.patch"
    text = patch.read_text()
    patch.write_text(text.replace("@@ -", "@@ -x", 1))

    result = forkman_run("apply", cwd=app_with_overlays, expect=2)

    assert_one_line_error(result, "llm-models.patch:11")
    for command in (["overlay", "status"], ["overlay", "show", "llm-models"]):
        assert_one_line_error(
            forkman_run(*command, cwd=app_with_overlays, expect=2), "llm-models.patch:11"
        )


def test_a_patch_with_a_bad_header(app_with_overlays: Path, forkman_run) -> None:
    patch = app_with_overlays / "overlays" / "llm-models.patch"
    patch.write_text("this is not a header\n" + patch.read_text())

    assert_one_line_error(
        forkman_run("overlay", "status", cwd=app_with_overlays, expect=2), "llm-models.patch:1"
    )


def test_a_patch_without_a_diff(app_with_overlays: Path, forkman_run) -> None:
    (app_with_overlays / "overlays" / "llm-models.patch").write_text("Subject: nothing here\n")

    assert_one_line_error(forkman_run("apply", cwd=app_with_overlays, expect=2), "llm-models.patch")


def test_an_upstream_that_cannot_be_reached(app_repo: Path, tmp_path: Path, forkman_run) -> None:
    before = snapshot(app_repo)

    result = forkman_run(
        "init",
        "--upstream",
        str(tmp_path / "no-such-repo"),
        "--ref",
        BASE_REF,
        "--path",
        CHECKOUT,
        cwd=app_repo,
        expect=2,
    )

    assert_one_line_error(result, "no-such-repo")
    assert snapshot(app_repo) == before
    assert not (app_repo / CHECKOUT).exists()


def test_a_path_that_is_not_a_git_checkout(app_repo: Path, upstream: Path, forkman_run) -> None:
    plain = app_repo / "vendor"
    plain.mkdir()
    (plain / "file.txt").write_text("not a repo\n")
    before = snapshot(app_repo)

    result = forkman_run(
        "init", "--upstream", str(upstream), "--path", "vendor", cwd=app_repo, expect=2
    )

    assert_one_line_error(result, "vendor")
    assert snapshot(app_repo) == before


def test_a_bad_ref(app_repo: Path, upstream: Path, forkman_run) -> None:
    before = snapshot(app_repo)

    result = forkman_run(
        "init",
        "--upstream",
        str(upstream),
        "--ref",
        "v9.9.9",
        "--path",
        CHECKOUT,
        cwd=app_repo,
        expect=2,
    )

    assert_one_line_error(result, "v9.9.9")
    assert snapshot(app_repo) == before
    assert not (app_repo / CHECKOUT).exists()


def test_a_pattern_that_matches_no_release(app_repo: Path, upstream: Path, forkman_run) -> None:
    result = forkman_run(
        "init",
        "--upstream",
        str(upstream),
        "--release-pattern",
        "release-*",
        cwd=app_repo,
        expect=2,
    )

    assert_one_line_error(result, "release-*")
    assert not (app_repo / "forkman.yaml").exists()


def test_apply_over_uncaptured_edits(app_with_overlays: Path, forkman_run) -> None:
    llm = app_with_overlays / CHECKOUT / LLM_PY
    llm.write_text("overwritten by hand\n")
    before = snapshot(app_with_overlays)

    result = forkman_run("apply", cwd=app_with_overlays, expect=2)

    assert_one_line_error(result, LLM_PY, "forkman overlay capture")
    assert snapshot(app_with_overlays) == before


def test_outside_an_app_repo(tmp_path: Path, forkman_run) -> None:
    assert_one_line_error(forkman_run("overlay", "list", cwd=tmp_path, expect=2), "forkman.yaml")


@pytest.mark.parametrize("where", ["typo", "forkman.yaml"])
def test_a_repo_option_that_names_no_folder(
    app_with_overlays: Path, forkman_run, where: str
) -> None:
    # found from the folders above it, a typo ran the command on whichever app holds it
    for args in (["apply"], ["overlay", "list"], ["guard"]):
        result = forkman_run(*args, "--repo", where, cwd=app_with_overlays, expect=2)
        assert_one_line_error(result, where, "--repo")


def test_an_older_git(initialised_app: Path, tmp_path: Path) -> None:
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "git").write_text("#!/bin/sh\necho 'git version 2.30.0'\n")
    (fake / "git").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    before = snapshot(initialised_app)

    for args in (["overlay", "status"], ["apply"], ["overlay", "capture", "x"]):
        result = run_subprocess(args, initialised_app, env)
        assert_one_line_error(result, "2.38", "2.30")
    result = run_subprocess(["init", "--upstream", str(tmp_path / "up")], tmp_path, env)
    assert_one_line_error(result, "2.38")
    assert snapshot(initialised_app) == before


def test_a_write_the_machine_refuses(app_with_overlays: Path, forkman_run) -> None:
    (app_with_overlays / CHECKOUT / LLM_PY).write_text("# edited\n", encoding="utf-8")
    (app_with_overlays / "overlays" / "mine.patch").mkdir()  # where the overlay file must go
    before = snapshot(app_with_overlays)

    result = forkman_run("overlay", "capture", "mine", cwd=app_with_overlays, expect=2)

    assert_one_line_error(result, "mine.patch")
    assert snapshot(app_with_overlays) == before


def test_a_second_command_while_one_is_changing_the_repo(
    app_with_overlays: Path, forkman_run
) -> None:
    import fcntl

    lock = app_with_overlays / ".git" / "forkman" / "lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = forkman_run("apply", cwd=app_with_overlays, expect=2)
    assert_one_line_error(result, "another forkman command")
