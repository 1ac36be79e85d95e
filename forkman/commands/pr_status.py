"""`forkman upstream-pr --status`: each forwarded overlay, its PR's state, and whether upstream
already holds the change (by patch id or by content, which needs no GitHub)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from forkman.core.forwarded import Forwarded, parse_forwarded
from forkman.core.releases import releases, tag_version
from forkman.core.stack import Step
from forkman.core.values import FileState, ProgressFn
from forkman.errors import ForkmanError
from forkman.git.gh import Gh
from forkman.git.merge import merge_file
from forkman.git.remote import fetch_upstream
from forkman.git.repository import GitRepo
from forkman.store.project import Project
from forkman.store.worktree import load_stack

TRACKING = "refs/remotes/forkman-upstream"


@dataclass(frozen=True)
class Landing:
    """Where upstream holds an overlay's change."""

    ref: str  # upstream's PR branch or a release tag
    how: str  # "patch-id" (the same change as one commit) or "content" (the files say so)
    commit: str | None = None  # the upstream commit, found by patch id


@dataclass(frozen=True)
class ForwardStatus:
    name: str
    forwarded: str
    pr: int | None
    pr_url: str | None
    pr_state: str | None  # OPEN, MERGED or CLOSED as gh tells; None when it cannot
    pr_note: str  # why the state is unknown
    pr_branch: str | None  # upstream's PR branch looked in; None when upstream has none
    in_pr_branch: Landing | None
    in_release: Landing | None


def status(
    project: Project, *, fetch: bool = True, use_gh: bool = True, progress: ProgressFn | None = None
) -> tuple[ForwardStatus, ...]:
    """Every overlay of the series whose `Forwarded:` says it was sent upstream."""
    lock = project.lock()
    overlays = project.overlays()
    sent = [(o, f) for o in overlays if (f := parse_forwarded(o.name, o.field("Forwarded")))]
    if not sent:
        return ()
    if not project.checkout.exists():
        raise ForkmanError(
            f"no upstream checkout at {project.checkout}", hint="run `forkman apply` first"
        )
    gh = _gh(project) if use_gh else None
    with GitRepo(project.checkout) as repo:
        if fetch:
            fetch_upstream(repo, project.config.url, progress)
        stack = load_stack(repo, lock.commit, overlays)
        pr_ref = f"{TRACKING}/{project.config.pr_branch}"
        pr_branch = pr_ref if repo.ref_sha(pr_ref) else None
        pattern = project.config.release_pattern
        pinned = tag_version(lock.ref, pattern)
        tags = repo.tags()
        later = [
            t
            for t in releases(tags, pattern, pre=True)
            if pinned is None or _newer(t, pinned, pattern)
        ]
        found = []
        for overlay, forwarded in sent:
            step = stack.step(overlay.name)
            ids = _our_patch_ids(repo, step, forwarded)
            in_branch = (
                _landing(repo, lock.commit, pr_ref, project.config.pr_branch, step, ids)
                if pr_branch
                else None
            )
            in_release = next(
                (
                    hit
                    for tag in later
                    if (hit := _landing(repo, lock.commit, f"refs/tags/{tag}", tag, step, ids))
                ),
                None,
            )
            state, note = _pr_state(gh, forwarded) if gh else (None, "gh is not used (--no-gh)")
            if gh is None and use_gh:
                note = "gh is not installed: PR state unknown"
            found.append(
                ForwardStatus(
                    overlay.name,
                    forwarded.value,
                    forwarded.pr,
                    forwarded.pr_url,
                    state,
                    note,
                    project.config.pr_branch if pr_branch else None,
                    in_branch,
                    in_release,
                )
            )
    return tuple(found)


def _newer(tag: str, pinned: object, pattern: str) -> bool:
    version = tag_version(tag, pattern)
    return version is not None and version > pinned  # type: ignore[operator]


def _gh(project: Project) -> Gh | None:
    return Gh(project.root) if shutil.which("gh") else None


def _pr_state(gh: Gh, forwarded: Forwarded) -> tuple[str | None, str]:
    """What GitHub says of the PR, when gh can tell (it is optional: failures are a note)."""
    try:
        if forwarded.pr_url is not None:
            return gh.pr_state(forwarded.pr_url), ""
        if forwarded.repo is not None and forwarded.branch:
            repo = f"{forwarded.repo[0]}/{forwarded.repo[1]}"
            prs = gh.items("pr", "--repo", repo, "--head", forwarded.branch, "--state", "all")
            if prs:
                return prs[0].state, ""
            return None, f"no pull request from {forwarded.branch} yet"
    except ForkmanError as exc:
        return None, exc.message
    return None, "not a GitHub pull request: state unknown"


def _our_patch_ids(repo: GitRepo, step: Step, forwarded: Forwarded) -> set[str]:
    """Patch ids of our change: the overlay as written, and the PR branch's commit if there."""
    ids = set()
    texts = [step.overlay.diff]
    branch = repo.ref_sha(f"refs/heads/{forwarded.branch}") if forwarded.branch else None
    if branch:
        texts.append(repo.text("show", "--format=", "--no-color", "--no-ext-diff", branch))
    for text in texts:
        out = repo.text("patch-id", "--stable", stdin=text.encode()).split()
        if out:
            ids.add(out[0])
    return ids


def _landing(
    repo: GitRepo, pin: str, ref: str, label: str, step: Step, ids: set[str]
) -> Landing | None:
    """Whether REF holds STEP's change: one of its commits since PIN has our patch id, or its
    files already read as the overlay would make them (3-way, from the pinned files)."""
    paths = sorted(step.after)
    log = repo.text(
        "log", "-p", "--no-merges", "--no-color", "--no-ext-diff", "--format=commit %H",
        ref, "--not", pin, "--", *paths,
    )  # fmt: skip
    if log.strip():
        for line in repo.text("patch-id", "--stable", stdin=log.encode()).splitlines():
            patch_id, _, commit = line.partition(" ")
            if patch_id in ids:
                return Landing(label, "patch-id", commit)
    theirs = repo.read_tree_files(ref, paths)
    if all(_holds(step.before.get(p), theirs[p], step.after[p]) for p in paths):
        return Landing(label, "content")
    return None


def _holds(base: FileState | None, upstream: FileState | None, ours: FileState | None) -> bool:
    """Whether UPSTREAM already reads as OURS would make it: merging ours in changes nothing."""
    if upstream == ours:
        return True
    if upstream is None or ours is None:
        return False
    merged = merge_file(
        base.data if base else b"", upstream.data, ours.data, ("upstream", "pin", "overlay")
    )
    return not merged.conflicts and merged.data == upstream.data
