"""`forkman bot`: the nightly job. A PR when the newest release carries, one issue when not."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from forkman import render
from forkman.commands import sync
from forkman.commands.apply import apply
from forkman.core import bot as plan
from forkman.core.bot import Item, redact
from forkman.core.states import Phase
from forkman.core.values import ProgressFn
from forkman.errors import ForkmanError
from forkman.git.gh import Gh, secrets
from forkman.git.remote import push
from forkman.git.repository import GitRepo
from forkman.store.config import CONFIG_FILE, OVERLAYS_DIR
from forkman.store.lock import LOCK_FILE
from forkman.store.project import Project

# what a sync may change in the app repo: all the bot ever commits
SYNCED = (LOCK_FILE, OVERLAYS_DIR)
_IDENTITY = {
    "GIT_AUTHOR_NAME": "forkman bot",
    "GIT_AUTHOR_EMAIL": "forkman-bot@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "forkman bot",
    "GIT_COMMITTER_EMAIL": "forkman-bot@users.noreply.github.com",
}


@dataclass(frozen=True)
class BotResult:
    action: str  # pr-opened, pr-updated, pr-unchanged, pr-closed, issue-opened, ... up-to-date
    release: str
    pinned: str
    url: str | None
    branch: str | None
    pushed: bool
    remote: str  # shown without credentials
    closed: tuple[str, ...]  # PRs and issues this run closed (URLs)
    summary: str  # the Markdown the PR or issue carries
    report: sync.SyncReport


def run(
    project: Project,
    *,
    remote: str = "origin",
    base: str | None = None,
    label: str = "forkman",
    pre: bool = False,
    fetch: bool = True,
    progress: ProgressFn | None = None,
) -> BotResult:
    """One nightly run; every message that leaves it is redacted of tokens and URL user info."""
    try:
        return _run(project, remote, base, label, pre, fetch, progress)
    except ForkmanError as exc:
        exc.message = redact(exc.message, secrets())
        exc.where = exc.where and redact(exc.where, secrets())
        exc.hint = exc.hint and redact(exc.hint, secrets())
        raise


def _run(
    project: Project,
    remote: str,
    base: str | None,
    label: str,
    pre: bool,
    fetch: bool,
    progress: ProgressFn | None,
) -> BotResult:
    app = GitRepo(project.root)
    base = base or _current_branch(app)
    _refuse_dirty(app)
    url = app.remote_urls().get(remote, remote)
    shown = redact(url, secrets())
    gh = Gh(project.root)
    apply(project, progress)
    check, _ = sync.start(project, pre=pre, check=True, fetch=fetch, progress=progress)
    release, pinned = check.to_ref, check.from_ref
    issues = gh.items("issue", "--label", label, "--state", "all")
    if check.from_commit == check.to_commit and check.ok:
        closed = _close_issues(gh, issues, f"`forkman.lock` pins `{release}` now.")
        return BotResult("up-to-date", release, pinned, None, None, False, shown, closed, "", check)
    if not check.ok:
        return _track(gh, label, check, issues, shown)
    branch = plan.branch_name(release)
    if branch == base:
        raise ForkmanError(f"the sync branch {branch} is the base branch", hint="give --base")
    prs = gh.items("pr", "--head", branch, "--state", "all")
    mine = next((p for p in prs if p.state == "OPEN"), None)
    if mine is None and prs:
        # merged or closed by a person: this release was answered, propose nothing again
        return BotResult(
            "pr-closed", release, pinned, prs[0].url, branch, False, shown, (), "", check
        )
    done = sync.start(project, pre=pre, to=release, fetch=False, progress=progress)[0]
    if done.phase != Phase.DONE:  # a check that only a real sync runs failed
        sync.abort(project)
        return _track(gh, label, done, issues, shown)
    summary = render.sync_markdown(done)
    try:
        commit = _commit(app, release, pinned)
    finally:
        _restore(app, project, progress)
    pushed = _push(app, remote, branch, commit)
    title, body = plan.pr_title(release), plan.pr_body(summary, release)
    if mine is None:
        gh.ensure_label(label)
        out = gh.run("pr", "create", "--head", branch, "--base", base, "--title", title,
                     "--body-file", "-", "--label", label, stdin=body)  # fmt: skip
        action, link = "pr-opened", out.strip().splitlines()[-1]
    elif plan.same_text(mine.body, body) and mine.title == title:
        action, link = "pr-unchanged", mine.url
    else:
        gh.run("pr", "edit", str(mine.number), "--title", title, "--body-file", "-", stdin=body)
        action, link = "pr-updated", mine.url
    closed = _close_superseded(gh, label, branch, link, release)
    closed += _close_issues(gh, issues, f"`{release}` carries cleanly: {link}")
    return BotResult(action, release, pinned, link, branch, pushed, shown, closed, summary, done)


def _current_branch(app: GitRepo) -> str:
    name = app.text("symbolic-ref", "--quiet", "--short", "HEAD", ok_codes=(0, 1)).strip()
    if not name:
        raise ForkmanError(
            "the app repo is not on a branch",
            where=str(app.path),
            hint="check out the default branch, or give --base BRANCH",
        )
    return name


def _refuse_dirty(app: GitRepo) -> None:
    out = app.text("status", "--porcelain", "--untracked-files=all", "--", CONFIG_FILE, *SYNCED)
    if out.strip():
        paths = ", ".join(line[3:] for line in out.splitlines()[:5])
        raise ForkmanError(
            f"the bot refuses to run with uncommitted changes to forkman's files: {paths}",
            where=str(app.path),
            hint="commit or stash them; the bot proposes what it commits as a pull request",
        )


def _commit(app: GitRepo, release: str, pinned: str) -> str:
    """The sync as one commit on HEAD, built in a temporary index: the branch is not moved."""
    env = {} if app.config_get("user.email") else dict(_IDENTITY)
    with tempfile.TemporaryDirectory(prefix="forkman-bot-") as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        app.run("read-tree", "HEAD", env=index)
        app.run("add", "--all", "--", *SYNCED, env=index)
        tree = app.text("write-tree", env=index).strip()
    message = f"Sync upstream to {release}\n\nFrom {pinned}, by `forkman bot`.\n"
    return app.commit_tree(tree, ["HEAD"], message, env=env)


def _restore(app: GitRepo, project: Project, progress: ProgressFn | None) -> None:
    """Put the app repo back as the run found it (HEAD's files, the checkout at its pin)."""
    app.run("checkout", "--quiet", "HEAD", "--", *SYNCED)
    app.run("clean", "--quiet", "--force", "-d", "--", OVERLAYS_DIR)  # only the sync's new files
    apply(project, progress)


def _push(app: GitRepo, remote: str, branch: str, commit: str) -> bool:
    """Push COMMIT as BRANCH unless the remote's branch already has the same tree on the same
    base (a re-run): then nothing is pushed. Never the default branch: only forkman/sync-*."""
    ref = f"refs/heads/{branch}"
    listed = app.text("ls-remote", "--heads", remote, ref).split()
    old = listed[0] if listed else ""
    if old:
        app.run("fetch", "--quiet", "--no-tags", remote, ref)
        same = app.text("rev-parse", f"{old}^{{tree}}", f"{old}^", ok_codes=(0, 128)).split()
        mine = app.text("rev-parse", f"{commit}^{{tree}}", f"{commit}^").split()
        if same == mine:
            return False
    push(app, remote, f"{commit}:{ref}", f"{ref}:{old}")
    return True


def _close_superseded(gh: Gh, label: str, branch: str, link: str, release: str) -> tuple[str, ...]:
    open_prs = gh.items("pr", "--label", label, "--state", "open")
    closed = []
    for pr in plan.superseded_prs(branch, open_prs):
        gh.run("pr", "close", str(pr.number), "--comment", f"Superseded by {link} (`{release}`).")
        closed.append(pr.url)
    return tuple(closed)


def _close_issues(gh: Gh, issues: list[Item], why: str) -> tuple[str, ...]:
    closed = []
    for issue in issues:
        if issue.state == "OPEN" and issue.release is not None:
            gh.run("issue", "close", str(issue.number), "--comment", why)
            closed.append(issue.url)
    return tuple(closed)


def _track(
    gh: Gh, label: str, report: sync.SyncReport, issues: list[Item], shown: str
) -> BotResult:
    """One tracking issue for the release that does not carry (opened, updated, or left)."""
    release, pinned = report.to_ref, report.from_ref
    summary = render.sync_markdown(report)
    title, body = plan.issue_title(release), plan.issue_body(summary, release, pinned)
    todo = plan.plan_issue(release, title, body, issues)
    if todo.respected is not None:
        action, link = "issue-closed", todo.respected.url
    elif todo.unchanged is not None:
        action, link = "issue-unchanged", todo.unchanged.url
    elif todo.update is not None:
        gh.run("issue", "edit", str(todo.update.number), "--title", title, "--body-file", "-",
               stdin=body)  # fmt: skip
        action, link = "issue-updated", todo.update.url
    else:
        gh.ensure_label(label)
        out = gh.run("issue", "create", "--title", title, "--body-file", "-", "--label", label,
                     stdin=body)  # fmt: skip
        action, link = "issue-opened", out.strip().splitlines()[-1]
    closed = []
    for old in todo.supersede:
        gh.run("issue", "close", str(old.number), "--comment",
               f"Superseded by {link}: `{release}` is the newest release now.")  # fmt: skip
        closed.append(old.url)
    return BotResult(action, release, pinned, link, None, False, shown, tuple(closed), summary,
                     report)  # fmt: skip
