"""`forkman upstream-pr`: one overlay as one commit on upstream's PR branch, built from objects only."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.utils import parseaddr

from forkman.commands.arguments import check_argument
from forkman.core import overlay as ov
from forkman.core.conflicts import upstream_ranges
from forkman.core.stack import Stack
from forkman.core.urls import name_problem, redact_url, remote_problem
from forkman.core.values import FileState, ProgressFn, Sha
from forkman.errors import BadRef, ForkmanError, OverlayDoesNotApply, PrConflict
from forkman.git import remote as git_remote
from forkman.git import runner
from forkman.git.diff import diff_trees
from forkman.git.merge import merge_file
from forkman.git.remote import fetch_upstream
from forkman.git.repository import GitRepo
from forkman.store.exclusive import exclusive
from forkman.store.project import Project
from forkman.store.worktree import load_stack

TRACKING = "refs/remotes/forkman-upstream"
# what forkman last pushed of each branch to each fork: the lease, and range-diff's left side
PUSHED = "refs/forkman/pushed"
_GITHUB = re.compile(
    r"^(?:https?://(?:[^@/]+@)?github\.com/|git@github\.com:|ssh://git@github\.com/)"
    r"([^/]+)/([^/]+?)(?:\.git)?/?$"
)


@dataclass(frozen=True)
class FileConflict:
    path: str
    regions: tuple[tuple[int, int], ...]  # line ranges of upstream's file that clash
    needs: tuple[str, ...]  # earlier overlays that change the same file


@dataclass(frozen=True)
class PrResult:
    overlay: str
    branch: str
    base: str
    base_commit: Sha
    commit: Sha | None  # None on --dry-run
    title: str
    message: str  # the commit message
    body: str  # the pull request's description
    files: tuple[ov.FileChange, ...]
    diff: str
    previous: Sha | None = None  # the branch as last pushed (or as it was), when it changed
    range_diff: str = ""
    pushed: bool = False
    remote: str | None = None
    compare_url: str | None = None
    gh_command: tuple[str, ...] = ()
    forwarded: str | None = None
    dry_run: bool = False


def github_repo(url: str) -> tuple[str, str] | None:
    match = _GITHUB.match(url.strip())
    return (match.group(1), match.group(2)) if match else None


def compare_url(upstream_url: str, fork_url: str, base: str, branch: str) -> str | None:
    up, fork = github_repo(upstream_url), github_repo(fork_url)
    if not up or not fork:
        return None
    return f"https://github.com/{up[0]}/{up[1]}/compare/{base}...{fork[0]}:{branch}?expand=1"


def _merge(
    before: FileState | None,
    ours: FileState | None,
    after: FileState | None,
    labels: tuple[str, str, str],
) -> tuple[FileState | None, tuple[tuple[int, int], ...]]:
    """One file of the overlay moved onto upstream's: (the new state, ()) or (None, clashing regions)."""
    if ours in (before, after):
        return after, ()
    if ours is None or after is None:
        return None, ((1, 1),)  # deleted on one side, changed on the other
    result = merge_file(before.data if before else b"", ours.data, after.data, labels)
    if result.conflicts:
        return None, upstream_ranges(result.data.decode("utf-8", "surrogateescape")) or ((1, 1),)
    return FileState(
        result.data, after.mode if before is None or after.mode != before.mode else ours.mode
    ), ()


def _author_env(author: str | None) -> dict[str, str]:
    name, email = parseaddr(author or "")
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email} if name and email else {}


def pr_body(overlay: ov.Overlay, files: tuple[ov.FileChange, ...]) -> str:
    touched = "\n".join(f"- `{f.path}` (+{f.added} -{f.removed})" for f in files)
    why = overlay.body.strip() or overlay.subject
    return f"{why}\n\nFiles changed:\n{touched}\n\nPrepared with forkman from the overlay `{overlay.name}`.\n"


@exclusive
def prepare(
    project: Project,
    name: str,
    *,
    base: str | None = None,
    branch: str | None = None,
    push: bool = False,
    remote: str | None = None,
    dry_run: bool = False,
    progress: ProgressFn | None = None,
) -> PrResult:
    """Build (and with PUSH, push) the branch; on any failure leave refs and files as they were."""
    check_argument("--base", base, name_problem)
    check_argument("--branch", branch, name_problem)
    check_argument("--remote", remote, remote_problem)
    overlay = project.overlay(name)
    base = base or project.config.pr_branch
    remote = remote or project.config.fork_remote
    if push and not remote:
        raise ForkmanError(
            "no fork to push to", hint="pass --remote NAME|URL or set upstream.fork_remote"
        )
    lock = project.lock()
    with GitRepo(project.checkout) as repo:
        branch = repo.check_branch_name(branch or f"forkman/pr/{name}")
        ref = f"refs/heads/{branch}"
        if repo.text("symbolic-ref", "-q", "HEAD", ok_codes=(0, 1)).strip() == ref:
            raise ForkmanError(
                f"the checkout has {branch} checked out",
                where=str(project.checkout),
                hint="upstream-pr never moves the checkout's HEAD; pass another --branch",
            )
        stack = load_stack(repo, lock.commit, project.overlays())
        step = stack.step(name)
        if not step.applies:
            raise OverlayDoesNotApply(name, step.error_path or "?", step.error or "")
        repo.check_branch_name(base)
        fetch_upstream(repo, project.config.url, progress)
        base_commit = repo.ref_sha(f"{TRACKING}/{base}")
        if base_commit is None:
            raise BadRef(
                f"upstream has no branch '{base}'",
                where=project.config.url,
                hint="pass --base BRANCH or set upstream.pr_branch in forkman.yaml",
            )
        ours = repo.read_tree_files(base_commit, step.after)
        merged = _apply(stack, name, base, ours)
        diff = diff_trees(ours, merged)
        if not diff.strip():
            raise ForkmanError(
                f"upstream's {base} already holds overlay '{name}'",
                hint="record it with an `Applied-Upstream:` line in the overlay's header",
            )
        files = ov.Overlay(name, overlay.subject, diff=diff).changes
        message = (
            overlay.subject + (f"\n\n{overlay.body.strip()}" if overlay.body.strip() else "") + "\n"
        )
        result = PrResult(
            name,
            branch,
            base,
            base_commit,
            None,
            overlay.subject,
            message,
            pr_body(overlay, files),
            files,
            diff,
            dry_run=dry_run,
        )
        if dry_run:
            return result
        return _commit_and_push(project, repo, result, merged, push, remote)


def _apply(
    stack: Stack, name: str, base: str, ours: Mapping[str, FileState | None]
) -> dict[str, FileState | None]:
    """Each of NAME's files 3-way merged onto upstream's; PrConflict names what clashes."""
    step = stack.step(name)
    earlier = [s for s in stack.steps[: stack.steps.index(step)] if s.applies]
    labels = (f"upstream {base}", "pin + earlier overlays", f"overlay {name}")
    merged: dict[str, FileState | None] = {}
    conflicts = []
    for path in step.after:
        state, regions = _merge(step.before.get(path), ours[path], step.after[path], labels)
        if regions:
            conflicts.append(
                FileConflict(
                    path, regions, tuple(s.overlay.name for s in earlier if path in s.after)
                )
            )
        else:
            merged[path] = state
    if conflicts:
        raise _conflict_error(name, base, conflicts)
    return merged


def _conflict_error(name: str, base: str, conflicts: list[FileConflict]) -> PrConflict:
    needs = tuple(dict.fromkeys(n for c in conflicts for n in c.needs))
    where = "; ".join(
        f"{c.path} (lines {', '.join(f'{a}-{b}' for a, b in c.regions)})" for c in conflicts
    )
    if needs:
        listing = ", ".join(f"'{n}'" for n in needs)
        return PrConflict(
            f"overlay '{name}' needs overlay {listing}: without it, it conflicts with "
            f"upstream's {base} in {where}",
            conflicts,
            needs,
            hint=f"send {listing} upstream first, or contribute them together",
        )
    return PrConflict(
        f"overlay '{name}' does not apply to upstream's {base}: conflicts in {where}",
        conflicts,
        (),
        hint=f"port the change to {base} by hand; nothing was created",
    )


def _commit_and_push(
    project: Project,
    repo: GitRepo,
    result: PrResult,
    merged: dict[str, FileState | None],
    push: bool,
    remote: str | None,
) -> PrResult:
    ref = f"refs/heads/{result.branch}"
    old = repo.ref_sha(ref)
    if (
        old
        and repo.text("rev-list", "--count", old, "--not", "--remotes=forkman-upstream").strip()
        != "1"
    ):
        raise ForkmanError(
            f"branch {result.branch} exists and is not a single commit on upstream",
            where=str(project.checkout),
            hint="pass another --branch, or delete that branch",
        )
    tree = repo.tree_with(result.base_commit, merged)
    env = _author_env(project.overlay(result.overlay).author)
    author = f"{env['GIT_AUTHOR_NAME']} <{env['GIT_AUTHOR_EMAIL']}>" if env else None
    if old and _same_commit(repo, old, tree, result.base_commit, result.message, author):
        commit = old  # nothing changed: keep the sha, so the push is a no-op
    else:
        commit = repo.commit_tree(tree, [result.base_commit], result.message, env=env)
    fork_url = repo.remote_urls().get(remote, remote) if remote else ""
    lease_ref = f"{PUSHED}/{_fork_key(fork_url)}/{result.branch}"
    pushed_before = repo.ref_sha(lease_ref) if push else None
    previous = pushed_before or old
    result = replace(result, commit=commit)
    if previous and previous != commit:
        result = replace(result, previous=previous, range_diff=repo.range_diff(previous, commit))
    if commit != old:
        repo.update_ref(ref, commit, old)
    if not push or remote is None:
        return result
    try:
        git_remote.push(repo, remote, f"{ref}:{ref}", f"{ref}:{pushed_before or ''}")
    except ForkmanError:
        if commit != old:
            repo.update_ref(ref, old, commit)  # put the branch back as this run found it
        raise
    repo.update_ref(lease_ref, commit, pushed_before)
    url = compare_url(project.config.url, fork_url, result.base, result.branch)
    shown = redact_url(remote)
    forwarded = url or (
        f"{shown}/{result.branch}" if remote in repo.remote_urls() else f"{shown} {result.branch}"
    )
    _record_forwarded(project, result.overlay, forwarded)
    up, fork = github_repo(project.config.url), github_repo(fork_url)
    gh: tuple[str, ...] = ()
    if up and fork:
        gh = (
            "gh",
            "pr",
            "create",
            "--repo",
            f"{up[0]}/{up[1]}",
            "--base",
            result.base,
            "--head",
            f"{fork[0]}:{result.branch}",
            "--title",
            result.title,
            "--body",
            result.body,
        )
    return replace(
        result, pushed=True, remote=shown, compare_url=url, gh_command=gh, forwarded=forwarded
    )


def _same_commit(
    repo: GitRepo, sha: str, tree: str, parent: str, message: str, author: str | None
) -> bool:
    head, _, body = repo.text("show", "-s", "--format=%T %P%n%an <%ae>%n%B", sha).partition("\n")
    who, _, text = body.partition("\n")
    return (
        head == f"{tree} {parent}"
        and text.rstrip("\n") == message.rstrip("\n")
        and author in (None, who)
    )


def _fork_key(fork_url: str) -> str:
    """One lease per fork: what forkman last pushed there is kept under a name of its URL."""
    spelled = redact_url(fork_url).removeprefix("file://").rstrip("/").removesuffix(".git")
    return hashlib.sha256(spelled.encode()).hexdigest()[:16]


def _record_forwarded(project: Project, name: str, value: str) -> None:
    current = project.overlay(name)
    if current.field("Forwarded") == value:
        return
    digest = project.write_overlay(current.with_field("Forwarded", value))
    lock = project.lock()
    project.write_lock(lock.with_overlays({**lock.overlays, name: digest}))


def open_pr(result: PrResult) -> str | None:
    """Run `gh pr create` when gh is installed; otherwise say why not (None when it ran)."""
    if not result.gh_command:
        return "no pull request to open: the fork or upstream is not on GitHub"
    if shutil.which("gh") is None:
        return "gh is not installed; run the command above, or open the compare URL"
    proc = runner.run(result.gh_command)
    stderr = proc.stderr.decode(errors="replace").strip()
    return None if proc.returncode == 0 else f"gh pr create failed: {stderr}"
