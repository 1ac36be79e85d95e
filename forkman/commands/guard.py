"""The pre-commit checks (`forkman guard`) and the hook that keeps commits out of the checkout."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from forkman.core.findings import Finding
from forkman.core.overlay import Overlay
from forkman.core.stack import StackDigest
from forkman.errors import ForkmanError
from forkman.git.repository import GitRepo
from forkman.store.checkout import local_commits_text
from forkman.store.config import OVERLAYS_DIR
from forkman.store.files import atomic_write
from forkman.store.links import link_targets, outside_links
from forkman.store.project import Project, relpath
from forkman.store.recovery import stale_git_lock
from forkman.store.stackrecord import read_stack_record, series_hashes, write_stack_record
from forkman.store.worktree import drift, load_stack

HOOK_MARKER = "forkman-upstream-guard"

# One more check the guard runs (forkman.autogpt's block checks are one): it gets the project
# and whether the checkout is there, and returns its findings.
GuardCheck = Callable[[Project, bool], Iterable[Finding]]


@dataclass(frozen=True)
class GuardReport:
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]  # checks that were skipped, and why


def guard(
    project: Project,
    files: Sequence[str] = (),
    cwd: Path | None = None,
    checks: Sequence[GuardCheck] = (),
) -> GuardReport:
    """Every check (CHECKS too), each failure a Finding: nothing is printed, nothing is changed."""
    findings = staged_in_checkout(project, files, cwd or project.root)
    notes: list[str] = []
    series, problems = _read_series(project)
    findings += problems
    if series is not None:
        findings += _series_vs_lock(project, series)
    checkout = project.checkout
    shown = relpath(checkout, project.root)
    parsed = False  # whether the checkout's checks reported the patches that do not parse
    if not (checkout / ".git").exists():
        notes.append(
            f"no upstream checkout at {shown}: skipped the checkout and upstream block checks"
        )
    elif series is not None:
        stale = stale_git_lock(checkout)
        if stale is not None:
            findings.append(
                Finding(
                    relpath(stale, project.root),
                    0,
                    "is git's lock, left by a killed git (no process holds it)",
                    "if no git runs in the checkout, delete it",
                )
            )
        notes += [outside.text() for outside in outside_links(project)]
        try:
            found, parsed = _checkout_findings(project, series, notes)
            findings += found
        except ForkmanError as exc:
            notes.append(
                f"could not read the checkout at {shown} ({exc.message}): skipped its checks; "
                "run `forkman apply`"
            )
    if series is not None and not parsed:
        findings += series.parsed[1]
    for check in checks:
        findings += check(project, (checkout / ".git").exists())
    return GuardReport(tuple(findings), tuple(notes))


def staged_in_checkout(project: Project, files: Sequence[str], cwd: Path) -> list[Finding]:
    """Upstream code about to be committed into the app repo."""
    checkout = project.checkout
    found = []
    for name in files:
        path = Path(os.path.abspath(cwd / name))
        if any(p == checkout or checkout in p.parents for p in (path, path.resolve())):
            found.append(
                Finding(
                    name,
                    0,
                    "is upstream code inside the checkout; it must not be committed here",
                    f"unstage it with `git restore --staged {name}`; keep changes to upstream "
                    "files as overlays (`forkman overlay capture NAME`)",
                )
            )
    return found


def _from_error(exc: ForkmanError, default: str, root: Path) -> Finding:
    file, line = exc.where or default, 0
    head, _, tail = file.rpartition(":")
    if head and tail.isdigit():
        file, line = head, int(tail)
    if Path(file).is_absolute():
        file = relpath(Path(file), root)
    return Finding(file, line, exc.message, exc.hint or "")


@dataclass(frozen=True)
class _Series:
    """The series' overlay files as read; parsed only when the stack record cannot answer."""

    project: Project
    texts: dict[str, str]  # the files that could be read, in series order
    hashes: dict[str, str | None]  # every name of the series, None where its file is unreadable

    @property
    def complete(self) -> bool:
        return len(self.texts) == len(self.hashes)

    @cached_property
    def parsed(self) -> tuple[list[Overlay], list[Finding]]:
        """The overlays that parse, and a finding for each one that does not."""
        overlays, findings = [], []
        for name, text in self.texts.items():
            try:
                overlays.append(self.project.parse_overlay(name, text))
            except ForkmanError as exc:
                where = f"{OVERLAYS_DIR}/{name}.patch"
                findings.append(_from_error(exc, where, self.project.root))
        return overlays, findings


def _read_series(project: Project) -> tuple[_Series | None, list[Finding]]:
    """The overlay files that can be read; None when the series itself is unreadable."""
    series_file = f"{OVERLAYS_DIR}/series"
    try:
        names = project.series()
    except ForkmanError as exc:
        return None, [_from_error(exc, series_file, project.root)]
    findings = []
    hashes: dict[str, str | None] = dict.fromkeys(names)
    try:
        texts = project.overlay_texts()
    except ForkmanError:  # one at a time then, a finding for each that cannot be read
        texts = {}
        for name in names:
            try:
                texts[name] = project.overlay_text(name)
            except ForkmanError as exc:
                findings.append(_from_error(exc, f"{OVERLAYS_DIR}/{name}.patch", project.root))
    hashes.update(series_hashes(texts))
    return _Series(project, texts, hashes), findings


def _series_vs_lock(project: Project, series: _Series) -> list[Finding]:
    try:
        disagreements = project.lock_disagreements(project.lock(), series.hashes)
    except ForkmanError as exc:
        return [_from_error(exc, "forkman.lock", project.root)]
    return [Finding(d.path, 0, d.message, d.hint) for d in disagreements]


def _stack(repo: GitRepo, commit: str, series: _Series) -> tuple[StackDigest, list[Finding]]:
    """The stack on COMMIT, from the stack record when it matches every overlay file (all of
    them parsed when it was made); else built from the patches that parse, and recorded."""
    key = [(name, sha) for name, sha in series.hashes.items() if sha is not None]
    recorded = read_stack_record(repo, commit, key) if series.complete else None
    if recorded is not None:
        return recorded, []
    overlays, problems = series.parsed
    stack = load_stack(repo, commit, overlays).digests
    if series.complete and not problems:
        write_stack_record(repo, commit, key, stack)
    return stack, problems


def _checkout_findings(
    project: Project, series: _Series, notes: list[str]
) -> tuple[list[Finding], bool]:
    """The checkout's findings, and whether they include the patches that do not parse."""
    lock = project.lock()
    with GitRepo(project.checkout) as repo:
        if not repo.has_commit(lock.commit):
            return [
                Finding(
                    "forkman.lock",
                    0,
                    f"pins {lock.commit[:12]} ({lock.ref}), which the checkout does not have",
                    "run `forkman apply` (it fetches the pinned commit), then commit again",
                )
            ], False
        stack, findings = _stack(repo, lock.commit, series)
        for step in stack.steps:
            if not step.applies:
                findings.append(
                    Finding(
                        f"{OVERLAYS_DIR}/{step.name}.patch",
                        0,
                        f"does not apply to the pinned {lock.ref}: {step.error}",
                        "see `forkman overlay status`; fix the patch, or drop it and "
                        "capture the change again",
                    )
                )
        if repo.head() != lock.commit:
            count, subjects = repo.local_commits()
            if count:
                findings.append(
                    Finding(
                        relpath(project.checkout, project.root),
                        0,
                        f"has {local_commits_text(count, subjects)}",
                        "keep them as overlays with `forkman import --commits "
                        f"{lock.commit[:12]}..HEAD`; `forkman apply` refuses to drop them",
                    )
                )
            then = (
                "finish the sync in progress with `forkman sync --continue` or `--abort`"
                if project.sync_in_progress()
                else "run `forkman apply`"
            )
            notes.append(
                f"the checkout is not at the pinned {lock.ref}: skipped looking for direct "
                f"upstream edits; {then}"
            )
            return findings, True
        found = drift(repo, stack, ignore=link_targets(project))
    for path in found.paths:
        owner = stack.owner(path)
        hint = (
            f"fold it into its overlay with `forkman overlay refresh {owner}`"
            if owner
            else f"keep it as an overlay with `forkman overlay capture NAME {path}`, or undo it with "
            f"`git -C {relpath(project.checkout, project.root)} checkout -- {path}`"
        )
        findings.append(
            Finding(
                relpath(project.checkout / path, project.root),
                0,
                "edited in the upstream checkout, and no overlay explains the edit",
                hint,
            )
        )
    return findings, True


# -- the hook inside the upstream checkout -----------------------------------------------------
@dataclass(frozen=True)
class HookInstall:
    path: Path
    legacy: Path | None  # the hook that was there before, kept and chained to


def install_upstream_hook(project: Project) -> HookInstall:
    """A pre-commit hook in the checkout that refuses direct commits; an existing hook is kept."""
    with GitRepo(project.checkout) as repo:
        hooks_path = repo.config_get("core.hooksPath")
        if hooks_path:
            raise ForkmanError(
                f"core.hooksPath is set ({hooks_path}) in the checkout, so git would not run "
                "a hook installed in its git dir",
                where=str(project.checkout),
                hint="unset it with `git config --unset-all core.hooksPath`, or call "
                "the hook from your hooks folder yourself",
            )
        hook = repo.git_path("hooks/pre-commit")
    legacy = hook.with_name("pre-commit.legacy")
    kept = None
    if hook.exists() or hook.is_symlink():
        if HOOK_MARKER not in hook.read_text(errors="replace"):
            if legacy.exists() or legacy.is_symlink():
                raise ForkmanError(
                    f"both {hook.name} and {legacy.name} exist",
                    where=str(hook.parent),
                    hint=f"merge them into {legacy.name} and remove {hook.name}, then run again",
                )
            os.replace(hook, legacy)
            kept = legacy
        elif legacy.exists():
            kept = legacy
    atomic_write(hook, _HOOK.format(marker=HOOK_MARKER, app=project.root))
    hook.chmod(0o755)
    return HookInstall(hook, kept)


_HOOK = """\
#!/bin/sh
# {marker}: written by `forkman guard --install-upstream-hook`.
# This checkout is the upstream of {app}; local changes live there as overlays.
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ -x "$HERE/pre-commit.legacy" ]; then
    "$HERE/pre-commit.legacy" "$@" || exit $?
fi
echo "forkman: refusing to commit in the upstream checkout $(pwd)." >&2
echo "Edit the files here, then capture the change as an overlay in the app repo:" >&2
echo "  cd {app} && forkman overlay capture NAME   (or: forkman overlay refresh NAME)" >&2
echo "A commit meant for upstream (e.g. a pull request) can bypass this: git commit --no-verify" >&2
exit 1
"""
