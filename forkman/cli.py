"""The forkman command line, a thin typer layer: parse, call one command, render. No git, no YAML."""

from __future__ import annotations

import errno
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated

import typer

from forkman import __version__, fast_cli
from forkman.core.terminal import printable
from forkman.core.urls import redact_text
from forkman.errors import EXIT_INTERRUPTED, EXIT_PROBLEMS, EXIT_USER_ERROR, ForkmanError
from forkman.fast_cli import notices_to_stderr as _notices_to_stderr
from forkman.fast_cli import progress as _progress

if TYPE_CHECKING:
    from forkman.store.project import Project

app = typer.Typer(
    help="Keep a fork's local changes as named overlays on a tracked upstream, and sync them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
overlay_app = typer.Typer(
    help="Capture, refresh, list, show, drop overlays; see their status.", no_args_is_help=True
)
app.add_typer(overlay_app, name="overlay")

RepoOpt = Annotated[
    Path | None, typer.Option("--repo", "-C", help="The app repo (default: found from cwd).")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print a stable JSON object instead of text.")
]


def _out(text: str = "") -> None:
    typer.echo(redact_text(text))  # a URL's credentials never reach a terminal or a CI log


def _note(text: str) -> None:
    typer.echo(printable(redact_text(text)), err=True)  # a message: never read by a program


def _colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _project(repo: Path | None) -> Project:
    from forkman.store.project import open_project

    return open_project(repo)


def _version(value: bool) -> None:
    if value:
        _out(f"forkman {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Keep a fork's local changes as named overlays on a tracked upstream, and sync them."""


@app.command()
def init(
    upstream: Annotated[str, typer.Option("--upstream", help="The upstream's git URL.")],
    ref: Annotated[
        str | None, typer.Option(help="Tag, branch or commit to pin (default: newest release).")
    ] = None,
    path: Annotated[
        str | None, typer.Option(help="Checkout folder; an existing clone is adopted.")
    ] = None,
    release_pattern: Annotated[str, typer.Option(help="Glob of release tags.")] = "v*",
    pr_branch: Annotated[
        str | None,
        typer.Option(
            help="The branch upstream takes PRs on (default: its default branch, the remote HEAD)."
        ),
    ] = None,
    sparse: Annotated[
        list[str] | None, typer.Option(help="Sparse-checkout folder (repeatable).")
    ] = None,
    partial: Annotated[
        bool, typer.Option("--partial/--full", help="Partial clone (--filter=blob:none).")
    ] = False,
    repo: RepoOpt = None,
) -> None:
    """Track an upstream: clone or adopt a checkout, pin a release, write config and lock."""
    from forkman.commands.init import init as do_init

    root = (repo or Path.cwd()).resolve()
    with _progress() as progress:
        result = do_init(
            root,
            url=upstream,
            ref=ref,
            path=path,
            release_pattern=release_pattern,
            pr_branch=pr_branch,
            sparse=tuple(sparse or ()),
            filter_spec="blob:none" if partial else None,
            progress=progress,
        )
    for warning in result.warnings:
        _note(f"warning: {warning}")
    how = "cloned" if result.cloned else "adopted"
    _out(f"{how} {upstream} into {result.checkout}")
    _out(
        f"pinned {result.ref} ({result.commit[:12]}); wrote forkman.yaml, forkman.lock, overlays/series"
    )


@app.command()
def apply(repo: RepoOpt = None) -> None:
    """Bring the checkout to the pinned commit plus every overlay, and create the links."""
    fast_cli.apply(repo)


@app.command()
def link(
    copy: Annotated[
        bool,
        typer.Option(
            "--copy",
            help="Make every link a real folder (a copy kept in step by apply and sync), e.g. "
            "for a `docker build` in the checkout.",
        ),
    ] = False,
    symlink: Annotated[
        bool, typer.Option("--symlink", help="Make every link a symlink again.")
    ] = False,
    repo: RepoOpt = None,
) -> None:
    """Create the configured links (folders of this repo) inside the checkout."""
    from forkman.commands.link import link as do_link

    if copy and symlink:
        raise ForkmanError("use only one of --copy and --symlink")
    project = _project(repo)
    made = do_link(project, "copy" if copy else "symlink" if symlink else None)
    for target in made:
        _out(f"{'copied' if copy else 'linked'} {target}")
    if not made:
        _out(
            "links already in place"
            if project.config.links
            else "no links configured in forkman.yaml"
        )


# -- overlays ----------------------------------------------------------------------------------
NameArg = Annotated[str, typer.Argument(help="The overlay's name, a lowercase slug.")]
MessageOpt = Annotated[
    str | None,
    typer.Option("-m", "--message", help="Subject line, blank line, then why the change exists."),
]
PathsArg = Annotated[list[str] | None, typer.Argument(help="Only these files of the checkout.")]


@overlay_app.command("capture")
def overlay_capture(
    name: NameArg, message: MessageOpt = None, paths: PathsArg = None, repo: RepoOpt = None
) -> None:
    """Turn the edits that no overlay explains yet into overlays/NAME.patch."""
    from forkman.commands.capture import capture

    result = capture(_project(repo), name, message, tuple(paths or ()))
    files = ", ".join(result.overlay.files)
    _out(f"captured {name}: {files} -> {result.path.name} (appended to overlays/series)")


@overlay_app.command("refresh")
def overlay_refresh(
    name: NameArg, message: MessageOpt = None, paths: PathsArg = None, repo: RepoOpt = None
) -> None:
    """Fold further edits to the overlay's files (and PATHS) into it."""
    from forkman.commands.capture import refresh

    result = refresh(_project(repo), name, message, tuple(paths or ()))
    _out(f"refreshed {name}" if result.changed else f"{name} unchanged")


@overlay_app.command("drop")
def overlay_drop(
    name: NameArg,
    upstreamed: Annotated[
        str | None,
        typer.Option(
            "--upstreamed",
            metavar="WHERE",
            help="Upstream made this change (a PR or commit URL, or a release): keep the "
            "overlay in overlays/upstreamed/ with Applied-Upstream: WHERE.",
        ),
    ] = None,
    repo: RepoOpt = None,
) -> None:
    """Remove the overlay from the series and its change from the checkout."""
    from forkman.commands.drop import drop

    drop(_project(repo), name, upstreamed)
    _out(f"dropped {name}" + (" (kept in overlays/upstreamed/)" if upstreamed else ""))


@overlay_app.command("revive")
def overlay_revive(name: NameArg, repo: RepoOpt = None) -> None:
    """Merge an overlay left out by `sync --skip` back into the checkout, to capture again."""
    from forkman.commands.revive import revive

    result = revive(_project(repo), name)
    if result.conflicted:
        _out(
            f"revived {name} with conflicts in {', '.join(result.conflicted)}: resolve the markers,"
        )
    else:
        _out(f"revived {name} into the checkout ({', '.join(result.files)}):")
    _out(f"then `forkman overlay capture {name}` (it keeps the old header)")


@overlay_app.command("list")
def overlay_list(json_output: JsonOpt = False, repo: RepoOpt = None) -> None:
    """List the overlays in series order."""
    from forkman.render import overlay_list_json, overlay_list_text

    overlays = _project(repo).overlays()
    if json_output:
        _out(overlay_list_json(overlays))
    elif overlays:
        _out(overlay_list_text(overlays))


@overlay_app.command("show")
def overlay_show(name: NameArg, repo: RepoOpt = None) -> None:
    """Print one overlay file."""
    project = _project(repo)
    project.overlay(name)
    text = project.overlay_text(name)
    typer.echo(printable(text) if sys.stdout.isatty() else text, nl=False)


@overlay_app.command("status")
def overlay_status(json_output: JsonOpt = False, repo: RepoOpt = None) -> None:
    """One row per overlay (applied, not applied, modified, does not apply), then uncaptured edits."""
    fast_cli.overlay_status(json_output, repo)


@app.command()
def demo(
    directory: Annotated[
        Path | None, typer.Argument(help="Build the example here (default: a temporary folder).")
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the temporary folder to explore it.")
    ] = False,
) -> None:
    """Walk through forkman on a built-in AutoGPT-like example (offline, nothing else needed)."""
    import shutil
    import tempfile

    from forkman.autogpt.demo import run_demo

    root = directory or Path(tempfile.mkdtemp(prefix="forkman-demo-"))
    if directory is not None and directory.exists() and any(directory.iterdir()):
        raise ForkmanError(f"{directory} is not empty", hint="give a new or empty folder")
    try:
        app_dir = run_demo(root.resolve(), _out)
        _out(
            f"# Explore it: cd {app_dir}"
            if directory or keep
            else "# (`forkman demo DIR` keeps the example to explore)"
        )
    finally:
        if directory is None and not keep:
            shutil.rmtree(root, ignore_errors=True)


# -- sync --------------------------------------------------------------------------------------
@app.command()
def sync(
    to: Annotated[
        str | None,
        typer.Option("--to", help="Any tag, branch or commit instead of the newest release."),
    ] = None,
    pre: Annotated[
        bool, typer.Option("--pre", help="Consider pre-releases (-rc1 and the like).")
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Change nothing; report what a sync would do (CI canary)."),
    ] = False,
    continue_: Annotated[
        bool, typer.Option("--continue", help="Take the resolved conflict and go on.")
    ] = False,
    abort: Annotated[
        bool, typer.Option("--abort", help="Put checkout, overlays and lock back as they were.")
    ] = False,
    skip: Annotated[
        bool,
        typer.Option("--skip", help="Leave the stopped overlay out (kept in overlays/skipped/)."),
    ] = False,
    fetch: Annotated[bool, typer.Option("--fetch/--no-fetch", help="Fetch upstream first.")] = True,
    summary: Annotated[
        Path | None, typer.Option("--summary", help="Also write a Markdown summary (a PR body).")
    ] = None,
    stepwise: Annotated[
        bool,
        typer.Option(
            "--stepwise",
            help="Walk the releases between the pin and the target one at a time, each its "
            "own sync; stop at the first that needs you.",
        ),
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain/--no-explain",
            help="Name the upstream commit behind every overlay that is not clean.",
        ),
    ] = True,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
) -> None:
    """Move the fork to upstream's newest release: re-apply every overlay by 3-way merge."""
    fast_cli.sync(
        fast_cli.SyncArgs(
            to=to,
            pre=pre,
            check=check,
            continue_=continue_,
            abort=abort,
            skip=skip,
            fetch=fetch,
            summary=summary,
            stepwise=stepwise,
            explain=explain,
            json_output=json_output,
        ),
        repo,
    )


# -- contributing back -------------------------------------------------------------------------
@app.command("upstream-pr")
def upstream_pr(
    name: Annotated[
        str | None, typer.Argument(help="The overlay's name (not with --status).")
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(help="Upstream's branch to target (default: upstream.pr_branch)."),
    ] = None,
    branch: Annotated[
        str | None, typer.Option(help="The branch to make (default: forkman/pr/NAME).")
    ] = None,
    push: Annotated[bool, typer.Option("--push", help="Push the branch to your fork.")] = False,
    remote: Annotated[
        str | None,
        typer.Option(help="The fork: a remote name, URL or path (default: upstream.fork_remote)."),
    ] = None,
    open_pr_: Annotated[
        bool, typer.Option("--open", help="After --push, run `gh pr create` when gh is installed.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the branch, message and diff; make nothing.")
    ] = False,
    status: Annotated[
        bool,
        typer.Option(
            "--status",
            help="List each forwarded overlay: its PR's state (with gh) and whether upstream's "
            "PR branch or a release already holds the change.",
        ),
    ] = False,
    use_gh: Annotated[
        bool, typer.Option("--gh/--no-gh", help="With --status: ask GitHub through gh.")
    ] = True,
    fetch: Annotated[
        bool, typer.Option("--fetch/--no-fetch", help="With --status: fetch upstream first.")
    ] = True,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
) -> None:
    """Put one overlay on upstream's PR branch as one commit, without touching the checkout."""
    from forkman.commands.upstream_pr import open_pr, prepare
    from forkman.render import pr_json, pr_text

    if status:
        if name is not None or push or dry_run or open_pr_:
            raise ForkmanError(
                "--status lists every forwarded overlay",
                hint="run it without NAME, --push, --open and --dry-run",
            )
        _upstream_pr_status(repo, use_gh, fetch, json_output)
        return
    if name is None:
        raise ForkmanError(
            "name the overlay to send upstream",
            hint="`forkman upstream-pr NAME`; `forkman overlay list` shows the names",
        )
    project = _project(repo)
    with _progress() as progress:
        result = prepare(
            project,
            name,
            base=base,
            branch=branch,
            push=push,
            remote=remote,
            dry_run=dry_run,
            progress=progress,
        )
    _out(pr_json(result) if json_output else pr_text(result))
    if open_pr_ and result.pushed and (note := open_pr(result)):
        _note(note)


def _upstream_pr_status(repo: Path | None, use_gh: bool, fetch: bool, json_output: bool) -> None:
    from forkman.commands.pr_status import status
    from forkman.render import pr_status_json, pr_status_text

    project = _project(repo)
    with _progress() as progress:
        found = status(project, fetch=fetch, use_gh=use_gh, progress=progress)
    _out(pr_status_json(found) if json_output else pr_status_text(found))


@app.command()
def bot(
    remote: Annotated[
        str, typer.Option(help="The remote the sync branch is pushed to.")
    ] = "origin",
    base: Annotated[
        str | None,
        typer.Option(help="The branch the PR targets (default: the current branch)."),
    ] = None,
    label: Annotated[
        str, typer.Option(help="Label of the bot's PRs and tracking issues.")
    ] = "forkman",
    pre: Annotated[
        bool, typer.Option("--pre", help="Consider pre-releases (-rc1 and the like).")
    ] = False,
    fetch: Annotated[bool, typer.Option("--fetch/--no-fetch", help="Fetch upstream first.")] = True,
    summary: Annotated[
        Path | None, typer.Option("--summary", help="Also write the PR or issue body here.")
    ] = None,
    github_output: Annotated[
        Path | None,
        typer.Option("--github-output", help="Append action= and url= here ($GITHUB_OUTPUT)."),
    ] = None,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
) -> None:
    """The nightly job: a PR when the newest release carries, one tracking issue when not."""
    from forkman.commands.bot import run
    from forkman.core.bot import redact
    from forkman.git.gh import secrets
    from forkman.render import bot_json, bot_text

    project = _project(repo)
    with _progress() as progress:
        result = run(
            project, remote=remote, base=base, label=label, pre=pre, fetch=fetch,
            progress=progress,
        )  # fmt: skip
    if summary is not None and result.summary:
        summary.write_text(result.summary)
    if github_output is not None:
        with github_output.open("a") as handle:
            handle.write(f"action={result.action}\nurl={result.url or ''}\n")
    _out(redact(bot_json(result) if json_output else bot_text(result), secrets()))


# -- importing ---------------------------------------------------------------------------------
@app.command("import")
def import_patches(
    quilt: Annotated[
        Path | None,
        typer.Option(
            "--quilt", help="A quilt patches folder (its `series` file, e.g. debian/patches)."
        ),
    ] = None,
    patches: Annotated[
        Path | None,
        typer.Option("--patches", help="A folder of `git format-patch` files, or one mbox file."),
    ] = None,
    commits: Annotated[
        str | None,
        typer.Option("--commits", help="A fork's commits on an upstream release: REV..REV."),
    ] = None,
    source_repo: Annotated[
        Path | None,
        typer.Option(
            "--from", help="The repository holding --commits (default: the upstream checkout)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would come in; change nothing.")
    ] = False,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
) -> None:
    """Turn each change of a quilt series, format-patch files or commits into an overlay, in order."""
    from forkman import render
    from forkman.commands.import_ import import_changes

    given = [(k, v) for k, v in (("quilt", quilt), ("patches", patches), ("commits", commits)) if v]
    if len(given) != 1:
        raise ForkmanError(
            "say what to import: one of --quilt DIR, --patches DIR|MBOX, --commits REV..REV",
            hint="`forkman import --help` describes each",
        )
    kind, value = given[0]
    result = import_changes(
        _project(repo), kind, str(value), source_repo=source_repo, dry_run=dry_run
    )
    _out(render.import_json(result) if json_output else render.import_text(result))
    if not result.ok:
        raise typer.Exit(EXIT_PROBLEMS)


# -- guard and blocks --------------------------------------------------------------------------
blocks_app = typer.Typer(
    help="Our AutoGPT blocks: scaffold a new one, check ids and module names.", no_args_is_help=True
)
app.add_typer(blocks_app, name="blocks")


def _findings(lines: list[str], notes: tuple[str, ...] = ()) -> None:
    """One finding a line (`path:line: message (hint)`), exit 1 if there is any."""
    for note in notes:
        _note(f"forkman: {note}")
    for line in lines:
        _out(printable(line))
    if lines:
        raise typer.Exit(EXIT_PROBLEMS)


@app.command()
def guard(
    files: Annotated[
        list[str] | None, typer.Argument(help="Staged files (pre-commit passes them).")
    ] = None,
    install_upstream_hook: Annotated[
        bool,
        typer.Option(
            "--install-upstream-hook",
            help="Also install a hook in the checkout that refuses direct commits.",
        ),
    ] = False,
    repo: RepoOpt = None,
) -> None:
    """The pre-commit check: no upstream code or uncaptured upstream edits, sound overlays and blocks."""
    fast_cli.guard(files or (), install_upstream_hook, repo)


@blocks_app.command("new")
def blocks_new(
    name: Annotated[str, typer.Argument(help="snake_case module name, e.g. word_count.")],
    repo: RepoOpt = None,
) -> None:
    """Scaffold blocks/customized/NAME.py: a minimal block with a fresh uuid4 id."""
    from forkman.autogpt.blocks import class_name, new_block

    project = _project(repo)
    path = new_block(project, name)
    _out(f"wrote {os.path.relpath(path)} ({class_name(name)})")


@blocks_app.command("check")
def blocks_check(repo: RepoOpt = None) -> None:
    """Check our block ids (valid, unique, not upstream's) and module names."""
    from forkman.autogpt.blocks import check_blocks, require_blocks

    project = _project(repo)
    require_blocks(project)
    _findings([f.text() for f in check_blocks(project)])
    _out("blocks ok")


def main() -> None:
    """The `forkman` command: the app under the one error handler (forkman.error_handler)."""
    from forkman.error_handler import run

    _notices_to_stderr()
    run(_app_without_usage_boxes)


def _app_without_usage_boxes() -> None:
    """The app, its usage errors one line with the fix (`see forkman sync -h`), exit 2.

    Click's own errors are caught here, never subclassed: typer bundles its own copy of
    Click, and only that copy's classes are what it raises.
    """
    exceptions = _click_exceptions()
    try:
        code = app(prog_name="forkman", standalone_mode=False)
    except exceptions.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help())
        raise SystemExit(0) from None
    except exceptions.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else _command_path(sys.argv[1:])
        typer.echo(f"forkman: error: {usage_message(exc)} (see {where} -h)", err=True)
        raise SystemExit(EXIT_USER_ERROR) from None
    except typer.Abort:  # end of input at a prompt
        raise KeyboardInterrupt from None
    except SystemExit as exc:
        # typer ends any broken pipe in a silent exit 1 ("problems found"): the handler tells
        # a reader gone away (141) from a pipe to one of forkman's own processes (a bug)
        pipe = exc.__context__
        if exc.code == 1 and isinstance(pipe, OSError) and pipe.errno == errno.EPIPE:
            raise pipe from None
        raise
    if code == EXIT_INTERRUPTED:  # typer's word for Ctrl-C: the handler says what happened
        raise KeyboardInterrupt
    raise SystemExit(code or 0)


def _click_exceptions() -> ModuleType:
    try:
        from typer._click import exceptions  # typer 0.26 and later bundle their own Click
    except ImportError:  # pragma: no cover - an older typer on the separate Click
        from click import exceptions  # type: ignore[no-redef]
    return exceptions


def _command_path(args: list[str]) -> str:
    """`forkman overlay capture` for ARGS naming that command (the words before the first option)."""
    command = typer.main.get_command(app)
    path = ["forkman"]
    for word in args:
        commands = getattr(command, "commands", {})
        if word not in commands:
            break
        command = commands[word]
        path.append(word)
    return " ".join(path)


def usage_message(exc: Exception) -> str:
    """Click's words for a usage error, as one lowercase clause without quotes or a full stop."""
    param = getattr(exc, "param", None)
    if type(exc).__name__ == "MissingParameter" and param is not None:
        kind = getattr(exc, "param_type", None) or getattr(param, "param_type_name", "parameter")
        name = param.name.upper() if kind == "argument" else "/".join(param.opts)
        return f"missing {kind} {name}"
    text = " ".join(str(getattr(exc, "format_message", lambda: exc)()).split())
    text = re.sub(r"'([^']*)'", r"\1", text).rstrip(".")
    text = re.sub(r"^No such option: ", "No such option ", text)
    return text[:1].lower() + text[1:]


__all__ = ["EXIT_PROBLEMS", "app", "main"]
