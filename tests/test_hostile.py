"""A hostile pull request or upstream: nothing escapes the checkout or runs code (issue 10, 1-6, 8, 9, 17).

Each test is the attack as a user meets it, through the command line: the pull request's
files (overlays, forkman.yaml) or upstream's history, then the nightly job's command.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import run_git
from helpers import BASE_REF, CHECKOUT, INIT_OPTIONS, assert_one_line_error, make_app

from forkman.autogpt.example import BACKEND, BLOCKS_INIT, COST_CONFIG, RELEASES

BLOCKS = f"{BACKEND}/blocks"


def add_overlay(app: Path, name: str, diff: str, subject: str = "Evil") -> None:
    (app / "overlays" / f"{name}.patch").write_text(f"Subject: {subject}\n\n---\n{diff}")
    with open(app / "overlays" / "series", "a") as series:
        series.write(f"{name}\n")


def new_symlink(path: str, target: str) -> str:
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 120000\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1 @@\n+{target}\n\\ No newline at end of file\n"
    )


def new_file(path: str, text: str = "pwned\n") -> str:
    lines = text.splitlines(keepends=True)
    body = "".join(f"+{ln}" for ln in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


def set_key(app: Path, key: str, value: str) -> None:
    """Set `upstream.KEY` in APP's forkman.yaml to VALUE (written as YAML)."""
    config = app / "forkman.yaml"
    text, count = re.subn(rf"(?m)^  {key}: .*$", lambda _: f"  {key}: {value}", config.read_text())
    assert count == 1, (key, text)
    config.write_text(text)


def set_config(app: Path, old: str, new: str) -> None:
    config = app / "forkman.yaml"
    text = config.read_text()
    assert old in text, (old, text)
    config.write_text(text.replace(old, new, 1))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.txt").write_text("keep me\n")
    return folder


# -- 1. an overlay's symlink is a door ---------------------------------------------------------
def test_an_overlay_symlink_out_then_a_file_through_it(
    initialised_app: Path, outside: Path, forkman_run
) -> None:
    add_overlay(
        initialised_app, "door", new_symlink("door", str(outside)) + new_file("door/planted")
    )

    for command in (["apply"], ["overlay", "status"]):
        assert_one_line_error(forkman_run(*command, cwd=initialised_app, expect=2), "door")

    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    assert not (initialised_app / CHECKOUT / "door").is_symlink()


@pytest.mark.parametrize(
    "target", ["../../../../outside", "/etc", "../../../.git/hooks", "a/../../../../.."]
)
def test_an_overlay_symlink_that_points_out_is_refused(
    initialised_app: Path, forkman_run, target: str
) -> None:
    add_overlay(initialised_app, "door", new_symlink(f"{BACKEND}/door", target))

    assert_one_line_error(forkman_run("apply", cwd=initialised_app, expect=2), "door")
    assert not os.path.lexists(initialised_app / CHECKOUT / BACKEND / "door")


def test_an_overlay_symlink_inside_the_checkout_is_kept(initialised_app: Path, forkman_run) -> None:
    add_overlay(initialised_app, "alias", new_symlink(f"{BLOCKS}/alias.py", "llm.py"))

    forkman_run("apply", cwd=initialised_app)

    assert os.readlink(initialised_app / CHECKOUT / BLOCKS / "alias.py") == "llm.py"


def test_an_overlay_file_through_an_inside_symlink_is_refused(
    initialised_app: Path, forkman_run
) -> None:
    """A link the overlay made, pointing inside (at a folder), is no way to write a file either."""
    add_overlay(
        initialised_app, "detour", new_symlink("detour", BACKEND) + new_file("detour/planted.py")
    )

    assert_one_line_error(forkman_run("apply", cwd=initialised_app, expect=2), "detour")
    assert not (initialised_app / CHECKOUT / BACKEND / "planted.py").exists()


def test_upstreams_own_symlink_out_is_never_written_through(
    app_repo: Path, upstream: Path, outside: Path, forkman_run
) -> None:
    os.symlink(outside, upstream / "vendor")
    run_git(upstream, "add", "vendor")
    run_git(upstream, "commit", "-q", "-m", "vendor as a link")
    run_git(upstream, "tag", "-a", "pinned", "-m", "pinned")
    options = list(INIT_OPTIONS)
    options[options.index(BASE_REF)] = "pinned"
    forkman_run("init", "--upstream", str(upstream), *options, cwd=app_repo)
    add_overlay(app_repo, "through", new_file("vendor/planted"))

    assert_one_line_error(forkman_run("apply", cwd=app_repo, expect=2), "vendor")
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]


# -- 2. fixed temporary names ------------------------------------------------------------------
def test_a_link_planted_at_a_temporary_name_is_not_written_through(
    initialised_app: Path, forkman_run
) -> None:
    init_py = initialised_app / CHECKOUT / BLOCKS_INIT
    before = init_py.read_bytes()
    add_overlay(
        initialised_app,
        "planter",
        new_symlink(f"{BLOCKS}/.new.py.forkman-tmp", "__init__.py")
        + new_file(f"{BLOCKS}/new.py", "NEW = 1\n"),
    )

    forkman_run("apply", cwd=initialised_app)

    assert init_py.read_bytes() == before
    new = initialised_app / CHECKOUT / BLOCKS / "new.py"
    assert not new.is_symlink() and new.read_text() == "NEW = 1\n"
    assert not (init_py.stat().st_mode & 0o111)


def test_a_file_a_pull_request_made_a_link_is_rewritten_as_a_private_file(
    app_with_overlays: Path, forkman_run
) -> None:
    # a link's own mode is 0777: kept for the file that replaces it, the lock and the series
    # would be anyone's to rewrite (and executable)
    kept = app_with_overlays / "kept"
    kept.mkdir()
    for name in ("forkman.lock", "overlays/series"):
        os.replace(app_with_overlays / name, kept / Path(name).name)
        (app_with_overlays / name).symlink_to(
            os.path.relpath(kept / Path(name).name, (app_with_overlays / name).parent)
        )

    forkman_run("overlay", "drop", "cost-config", cwd=app_with_overlays)

    for name in ("forkman.lock", "overlays/series"):
        written = app_with_overlays / name
        assert not written.is_symlink()
        assert written.stat().st_mode & 0o777 == 0o644, name
    assert "cost-config" in (kept / "series").read_text()


# -- 3. option injection through the config ----------------------------------------------------
def test_an_upstream_url_that_is_an_option(
    app_with_overlays: Path, tmp_path: Path, forkman_run
) -> None:
    pwned = tmp_path / "PWNED"
    set_key(app_with_overlays, "url", f"'--upload-pack=touch {pwned};'")

    for command in (["sync", "--check"], ["sync"], ["apply"], ["overlay", "status"]):
        result = forkman_run(*command, cwd=app_with_overlays, expect=2)
        assert_one_line_error(result, "upstream.url")
    assert not pwned.exists()


@pytest.mark.parametrize("url", ["ext::sh -c touch% /tmp/x", "fd::3", "ftp://example.com/x.git"])
def test_an_upstream_url_with_a_scheme_forkman_does_not_allow(
    app_repo: Path, forkman_run, url: str
) -> None:
    result = forkman_run("init", "--upstream", url, *INIT_OPTIONS, cwd=app_repo, expect=2)

    assert_one_line_error(result, "--upstream")
    assert not (app_repo / "forkman.yaml").exists()


def test_an_upstream_url_option_on_the_command_line(
    app_repo: Path, tmp_path: Path, forkman_run
) -> None:
    pwned = tmp_path / "PWNED"
    result = forkman_run(
        "init", f"--upstream=--upload-pack=touch {pwned};", *INIT_OPTIONS, cwd=app_repo, expect=2
    )

    assert_one_line_error(result, "--upstream")
    assert not pwned.exists()


def test_a_fork_remote_that_is_an_option(
    app_with_overlays: Path, tmp_path: Path, forkman_run
) -> None:
    pwned = tmp_path / "PWNED"
    set_key(app_with_overlays, "fork_remote", f"'--receive-pack=touch {pwned};'")

    result = forkman_run("upstream-pr", "cost-config", "--push", cwd=app_with_overlays, expect=2)
    assert_one_line_error(result, "fork_remote")
    set_key(app_with_overlays, "fork_remote", "null")
    result = forkman_run(
        "upstream-pr", "cost-config", "--push", f"--remote=--receive-pack=touch {pwned};",
        cwd=app_with_overlays, expect=2,
    )  # fmt: skip
    assert_one_line_error(result, "--remote")
    assert not pwned.exists()


@pytest.mark.parametrize(("key", "value"), [("pr_branch", "'-dev'"), ("release_pattern", "'-v*'")])
def test_refs_in_the_config_that_start_with_a_dash(
    app_with_overlays: Path, forkman_run, key: str, value: str
) -> None:
    set_key(app_with_overlays, key, value)

    result = forkman_run("overlay", "status", cwd=app_with_overlays, expect=2)
    assert_one_line_error(result, "forkman.yaml:", "'-'")


def test_refs_on_the_command_line_that_start_with_a_dash(
    app_with_overlays: Path, forkman_run
) -> None:
    for command in (
        ["sync", "--check", "--to=--orphan"],
        ["upstream-pr", "cost-config", "--base=--x", "--dry-run"],
        ["upstream-pr", "cost-config", "--branch=--x", "--dry-run"],
    ):
        result = forkman_run(*command, cwd=app_with_overlays, expect=2)
        assert_one_line_error(result, "'-'")


# -- 4. a hostile upstream ---------------------------------------------------------------------
def folder_becomes_a_link(upstream: Path, folder: str, outside: Path, tag: str) -> None:
    """A new upstream release in which FOLDER is a symbolic link to OUTSIDE."""
    run_git(upstream, "rm", "-r", "-q", folder)
    os.symlink(outside, upstream / folder)
    run_git(upstream, "add", folder)
    run_git(upstream, "commit", "-q", "-m", "a folder becomes a link")
    run_git(upstream, "tag", "-a", tag, "-m", tag)


def test_an_upstream_folder_turned_link_outside_loses_nothing_there(
    app_repo: Path, upstream: Path, outside: Path, forkman_run
) -> None:
    make_app(app_repo, upstream, ("llm-models",))
    (outside / "llm.py").write_text("not upstream's\n")
    folder_becomes_a_link(upstream, BLOCKS, outside, "autogpt-platform-beta-v0.7.0")

    result = forkman_run("sync", cwd=app_repo, expect=2)

    assert_one_line_error(result, BLOCKS)
    assert (outside / "llm.py").read_text() == "not upstream's\n"
    assert sorted(p.name for p in outside.iterdir()) == ["llm.py", "victim.txt"]


def test_a_link_target_under_an_upstream_folder_turned_link(
    app_repo: Path, upstream: Path, outside: Path, forkman_run
) -> None:
    make_app(app_repo, upstream, ("cost-config",), blocks=True)
    folder_becomes_a_link(upstream, BLOCKS, outside, "autogpt-platform-beta-v0.7.0")

    result = forkman_run("sync", cwd=app_repo, expect=2)

    assert_one_line_error(result, BLOCKS)
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]


# -- 5. links into .git and control characters in config paths ---------------------------------
@pytest.mark.parametrize(
    "target",
    [".git/hooks", ".GIT/hooks", ".Git./hooks", "a/.git", "x\ny", "blocks/ok\n/evil", "tab\there"],
)
def test_a_link_target_into_git_or_with_a_control_character(
    initialised_app: Path, forkman_run, target: str
) -> None:
    (initialised_app / "blocks").mkdir()
    import json

    set_config(
        initialised_app,
        "links: []",
        f"links:\n  - source: blocks\n    target: {json.dumps(target)}",
    )

    for command in (["link"], ["apply"], ["overlay", "status"]):
        assert_one_line_error(forkman_run(*command, cwd=initialised_app, expect=2), "forkman.yaml:")
    exclude = initialised_app / CHECKOUT / ".git" / "info" / "exclude"
    assert "evil" not in (exclude.read_text() if exclude.exists() else "")
    assert not (initialised_app / CHECKOUT / ".git" / "hooks" / "blocks").exists()


def test_a_link_source_in_the_app_repos_git(initialised_app: Path, forkman_run) -> None:
    set_config(initialised_app, "links: []", "links:\n  - source: .git/hooks\n    target: hooks")

    assert_one_line_error(forkman_run("link", cwd=initialised_app, expect=2), "forkman.yaml:")
    assert not (initialised_app / CHECKOUT / "hooks").exists()


@pytest.mark.parametrize("key", ["path", "sparse"])
def test_control_characters_in_other_config_paths(
    initialised_app: Path, forkman_run, key: str
) -> None:
    if key == "path":
        set_key(initialised_app, "path", f'"{CHECKOUT}\\n/x"')
    else:
        set_key(initialised_app, "sparse", '["a\\nb"]')

    assert_one_line_error(
        forkman_run("overlay", "status", cwd=initialised_app, expect=2), "forkman.yaml:"
    )


# -- 6. the app repo as the checkout -----------------------------------------------------------
@pytest.mark.parametrize("path", [".", ".git/up", ".."])
def test_init_refuses_a_checkout_that_is_the_app_or_in_its_git_or_holds_it(
    app_repo: Path, upstream: Path, forkman_run, path: str
) -> None:
    before = sorted(p.name for p in app_repo.iterdir())
    options = list(INIT_OPTIONS)
    options[options.index(CHECKOUT)] = path

    result = forkman_run("init", "--upstream", str(upstream), *options, cwd=app_repo, expect=2)

    assert_one_line_error(result, "--path")
    assert sorted(p.name for p in app_repo.iterdir()) == before


@pytest.mark.parametrize("path", [".", ".git/up", ".."])
def test_apply_refuses_a_configured_checkout_that_is_the_app(
    app_with_overlays: Path, forkman_run, path: str
) -> None:
    set_key(app_with_overlays, "path", f"'{path}'")
    head = run_git(app_with_overlays, "rev-parse", "HEAD")

    for command in (["apply"], ["sync"], ["overlay", "status"]):
        result = forkman_run(*command, cwd=app_with_overlays, expect=2)
        assert_one_line_error(result, "upstream.path")
    assert run_git(app_with_overlays, "rev-parse", "HEAD") == head
    assert (app_with_overlays / "forkman.yaml").exists()


# -- 8. `checks: run:` from a pull request -----------------------------------------------------
def add_check(app: Path, entry: str) -> None:
    set_config(app, "checks: {}", f"checks:\n  cost-config:\n{entry}")
    run_git(app, "commit", "-q", "-am", "a check")


def test_a_run_check_is_not_a_shell_line(app_repo: Path, upstream: Path, forkman_run) -> None:
    make_app(app_repo, upstream, ("cost-config",))
    add_check(app_repo, "    - run: python -c 'print(1)'; touch PWNED\n")

    forkman_run("sync", cwd=app_repo)  # python ran `print(1);` with two more arguments

    assert not (app_repo / CHECKOUT / "PWNED").exists()


def test_a_run_check_with_shell_true_is_a_shell_line(
    app_repo: Path, upstream: Path, forkman_run
) -> None:
    make_app(app_repo, upstream, ("cost-config",))
    add_check(app_repo, "    - run: 'true && touch MADE'\n      shell: true\n")

    forkman_run("sync", cwd=app_repo)

    assert (app_repo / CHECKOUT / "MADE").exists()


def test_a_run_check_that_does_not_finish_times_out(
    app_repo: Path, upstream: Path, forkman_run
) -> None:
    make_app(app_repo, upstream, ("cost-config",))
    add_check(app_repo, "    - run: sleep 60\n      timeout: 0.2\n")

    result = forkman_run("sync", cwd=app_repo, expect=1)

    assert "timed out" in result.stdout, result.stdout


def test_sync_check_names_the_commands_a_sync_would_run(
    app_repo: Path, upstream: Path, forkman_run
) -> None:
    make_app(app_repo, upstream, ("cost-config",))
    add_check(app_repo, "    - run: python -m compileall -q .\n")

    result = forkman_run("sync", "--check", cwd=app_repo)

    assert "python -m compileall -q ." in result.stdout
    assert not list((app_repo / CHECKOUT).rglob("__pycache__"))


# -- 9. lower impact, same rule ----------------------------------------------------------------
@pytest.mark.parametrize(
    "path", [".GIT/hooks/pre-commit", "a/.Git/config", "x/.git./hooks/y", "GIT~1/config"]
)
def test_an_overlay_path_into_a_git_folder_in_any_case(
    initialised_app: Path, forkman_run, path: str
) -> None:
    add_overlay(initialised_app, "hooky", new_file(path, "#!/bin/sh\ntouch PWNED\n"))

    for command in (["apply"], ["overlay", "status"]):
        assert_one_line_error(forkman_run(*command, cwd=initialised_app, expect=2), "hooky.patch")
    assert not (initialised_app / CHECKOUT / path).exists()


def test_revive_reads_only_from_overlays_skipped(initialised_app: Path, forkman_run) -> None:
    pin = run_git(initialised_app / CHECKOUT, "rev-parse", "HEAD").strip()
    (initialised_app / "overlays" / "skipped").mkdir()
    (initialised_app / "x.patch").write_text(
        f"Subject: x\nSkipped: against {RELEASES[0]} ({pin})\n\n---\n" + new_file("x.txt")
    )

    for name in ("../../x", "../x", "/abs"):
        result = forkman_run("overlay", "revive", name, cwd=initialised_app, expect=2)
        assert_one_line_error(result, name)
    assert not (initialised_app / CHECKOUT / "x.txt").exists()


def test_blocks_new_through_a_symlinked_block_folder(
    app_repo: Path, upstream: Path, outside: Path, forkman_run
) -> None:
    make_app(app_repo, upstream, (), blocks=True)
    folder = app_repo / "blocks" / "customized"
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    os.symlink(outside, folder)

    result = forkman_run("blocks", "new", "word_count", cwd=app_repo, expect=2)

    assert_one_line_error(result, "blocks/customized")
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]


def test_terminal_escapes_in_a_subject_are_not_printed(initialised_app: Path, forkman_run) -> None:
    add_overlay(
        initialised_app, "loud", new_file("loud.txt"), subject="Hi \x1b]0;owned\x07\x1b[2J\x9b31m"
    )

    for command in (["overlay", "list"], ["overlay", "status"], ["sync", "--check"]):
        result = forkman_run(*command, cwd=initialised_app, expect=None)
        assert "\x1b" not in result.stdout + result.stderr, command
        assert "\x9b" not in result.stdout + result.stderr, command
        assert "\x07" not in result.stdout + result.stderr, command


def test_terminal_escapes_in_a_path_are_not_printed(initialised_app: Path, forkman_run) -> None:
    # a path is text from the pull request too: apply names it, guard names it in a finding
    loud = "loud\x1b]0;owned\x07\x9b31m.txt"
    add_overlay(initialised_app, "loud", new_file(loud))
    applied = forkman_run("apply", cwd=initialised_app)
    (initialised_app / CHECKOUT / loud).write_text("edited by hand\n")
    found = forkman_run("guard", cwd=initialised_app, expect=1)

    for result in (applied, found):
        printed = result.stdout + result.stderr
        assert "owned" in printed
        assert not set(printed) & {"\x1b", "\x9b", "\x07"}, printed


# -- 17. a hunk whose line counts are too small ------------------------------------------------
def test_a_hunk_shorter_than_its_lines_is_corrupt(app_with_overlays: Path, forkman_run) -> None:
    patch = app_with_overlays / "overlays" / "llm-models.patch"
    text = patch.read_text()
    header = next(ln for ln in text.splitlines() if ln.startswith("@@ "))
    counts = header.split(" ")
    old_start, old_len = counts[1].split(",")
    new_start, new_len = counts[2].split(",")
    short = f"@@ {old_start},{int(old_len) - 1} {new_start},{int(new_len) - 1} @@"
    patch.write_text(text.replace(header, short + header[len(" ".join(counts[:4])) :], 1))
    # the hunk only adds lines: the first one past its counts is the header's line + new_len
    stray = text.splitlines().index(header) + 1 + int(new_len)

    for command in (["apply"], ["overlay", "status"], ["sync", "--check"]):
        result = forkman_run(*command, cwd=app_with_overlays, expect=2)
        assert_one_line_error(result, f"llm-models.patch:{stray}", "corrupt patch")


# -- 18. git's quoted paths ----------------------------------------------------------------------
def test_a_quoted_path_into_git_is_read_as_git_reads_it(initialised_app: Path, forkman_run) -> None:
    """`"b/\\056git/hooks/pre-commit"` is `.git/hooks/pre-commit` to git apply: refused, not written."""
    quoted = '"b/\\056git/hooks/pre-commit"'
    diff = (
        f'diff --git "a/\\056git/hooks/pre-commit" {quoted}\nnew file mode 100755\n'
        f"--- /dev/null\n+++ {quoted}\n@@ -0,0 +1,2 @@\n+#!/bin/sh\n+touch PWNED\n"
    )
    add_overlay(initialised_app, "quoted", diff)

    for command in (["apply"], ["overlay", "status"]):
        assert_one_line_error(forkman_run(*command, cwd=initialised_app, expect=2), "quoted.patch")
    assert not (initialised_app / CHECKOUT / ".git" / "hooks" / "pre-commit").exists()
    assert not list((initialised_app / CHECKOUT).glob('"*'))


def test_file_names_git_quotes_round_trip(app_repo: Path, upstream: Path, forkman_run) -> None:
    """Names with a tab, a quote, a backslash or a newline: captured, then applied to a fresh clone."""
    names = ["tab\there.txt", 'quote"d.txt', "back\\slash.txt", "new\nline.txt", "é.txt"]
    for name in names:
        (upstream / name).write_text("old\n")
    run_git(upstream, "add", "--", *names)
    run_git(upstream, "commit", "-q", "-m", "awkward names")
    run_git(upstream, "tag", "-a", "pinned", "-m", "pinned")
    options = list(INIT_OPTIONS)
    options[options.index(BASE_REF)] = "pinned"
    forkman_run("init", "--upstream", str(upstream), *options, cwd=app_repo)
    for name in names:
        (app_repo / CHECKOUT / name).write_text(f"new {name}\n")
    forkman_run("overlay", "capture", "awkward", cwd=app_repo)
    patch = (app_repo / "overlays" / "awkward.patch").read_text()
    assert '"b/tab\\there.txt"' in patch  # quoted as git quotes it, so git apply agrees

    import shutil

    shutil.rmtree(app_repo / CHECKOUT)
    forkman_run("apply", cwd=app_repo)

    for name in names:
        assert (app_repo / CHECKOUT / name).read_text() == f"new {name}\n", name
    status = forkman_run("overlay", "status", "--json", cwd=app_repo)
    assert '"state": "applied"' in status.stdout


def test_an_overlays_folder_linked_out_of_the_app_repo_is_not_written(
    app_repo: Path, upstream: Path, outside: Path, forkman_run
) -> None:
    """overlays/skipped planted as a link out: `sync --skip` writes nothing through it."""
    make_app(app_repo, upstream, ("cost-config",))
    os.symlink(outside, app_repo / "overlays" / "skipped")
    run_git(upstream, "rm", "-q", COST_CONFIG)
    run_git(upstream, "commit", "-q", "-m", "costs moved elsewhere")
    run_git(upstream, "tag", "-a", "autogpt-platform-beta-v0.7.0", "-m", "v0.7.0")

    forkman_run("sync", cwd=app_repo, expect=1)  # cost-config: its file is gone upstream
    result = forkman_run("sync", "--skip", cwd=app_repo, expect=2)

    assert_one_line_error(result, "overlays/skipped")
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
