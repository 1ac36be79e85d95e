"""`forkman overlay capture|refresh|drop`: turn checkout edits into overlay files and back."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from forkman import overlay as ov
from forkman.checkout import (
    drift,
    link_targets,
    load_stack,
    read_worktree,
    write_record,
    write_worktree,
)
from forkman.config import check_overlay_name
from forkman.errors import (
    ConfigError,
    DirtyCheckout,
    ForkmanError,
    NotACheckout,
    OverlayDoesNotApply,
)
from forkman.gitdiff import diff_trees
from forkman.gitrepo import GitRepo
from forkman.project import Project, exclusive
from forkman.stack import Stack, build_stack


@dataclass(frozen=True)
class EditResult:
    overlay: ov.Overlay
    path: Path
    changed: bool = True


def split_message(message: str | None, default_subject: str) -> tuple[str, str]:
    if not message or not message.strip():
        return default_subject, ""
    subject, _, body = message.strip().partition("\n")
    return subject.strip(), body.strip("\n")


def open_repo(project: Project) -> GitRepo:
    if not project.checkout.exists():
        raise NotACheckout(
            "the upstream checkout is missing",
            where=str(project.checkout),
            hint="run `forkman apply` to create it",
        )
    return GitRepo(project.checkout)


def _at_pin(repo: GitRepo, project: Project) -> Stack:
    lock = project.lock()
    if repo.head() != lock.commit:
        raise ForkmanError(
            f"the checkout is not at the pinned commit {lock.commit[:12]} ({lock.ref})",
            where=str(project.checkout),
            hint="run `forkman apply` first",
        )
    return load_stack(repo, lock.commit, project.overlays())


def _checkout_paths(project: Project, paths: tuple[str, ...]) -> list[str]:
    """PATHs as the checkout names them: relative to the checkout, whatever the user typed."""
    result = []
    for raw in paths:
        candidate = Path(raw)
        absolute = candidate if candidate.is_absolute() else (Path.cwd() / candidate)
        try:
            result.append(absolute.resolve().relative_to(project.checkout).as_posix())
            continue
        except ValueError:
            pass
        ov.check_path(raw, "PATH")
        result.append(candidate.as_posix())
    return result


def _author(project: Project) -> str | None:
    """Who made the change, as git would record it (GIT_AUTHOR_* and user.* both count)."""
    try:
        with GitRepo(project.root, search_parents=True) as app:
            ident = app.text("var", "GIT_AUTHOR_IDENT").strip()
    except ForkmanError:
        return None
    return ident.rsplit(" ", 2)[0] if ident.count(" ") >= 2 else None


def _record(project: Project, overlay: ov.Overlay, text_hash: str) -> None:
    lock = project.lock()
    project.write_lock(lock.with_overlays({**lock.overlays, overlay.name: text_hash}))


@exclusive
def capture(
    project: Project, name: str, message: str | None = None, paths: tuple[str, ...] = ()
) -> EditResult:
    """Turn edits that no overlay explains into overlays/NAME.patch, appended to the series."""
    check_overlay_name(name)
    project.ensure_no_sync()
    series = project.series()
    if name in series:
        raise ForkmanError(
            f"overlay '{name}' already exists",
            hint=f"fold more edits into it with `forkman overlay refresh {name}`",
        )
    with open_repo(project) as repo:
        stack = _at_pin(repo, project)
        found = drift(repo, stack, ignore=link_targets(project))
        wanted = _checkout_paths(project, paths) if paths else list(found.paths)
        if not wanted:
            raise ForkmanError(
                "nothing to capture: every edit in the checkout is already in an overlay",
                where=str(project.checkout),
                hint="edit upstream files first",
            )
        clean = [p for p in wanted if p not in found.paths]
        if clean:
            raise ForkmanError(
                f"no uncaptured edit in {', '.join(clean)}",
                where=str(project.checkout),
                hint="`forkman overlay status` lists the edited files",
            )
        pinned = repo.read_tree_files(
            project.lock().commit, [p for p in wanted if p not in stack.final]
        )
        before = {p: stack.final[p] if p in stack.final else pinned[p] for p in wanted}
        after = read_worktree(project.checkout, wanted)
        skipped = project.overlays_dir / "skipped" / f"{name}.patch"
        earlier = ov.parse(name, skipped.read_text()) if skipped.exists() else None
        if earlier is not None and not message:  # a revived overlay keeps its header
            subject, body, author = earlier.subject, earlier.body, earlier.author
            fields = tuple((k, v) for k, v in earlier.fields if k.lower() != "skipped")
        else:
            subject, body = split_message(message, f"Local change: {name}")
            author, fields = _author(project), (("Forwarded", "no"),)
        overlay = ov.Overlay(name, subject, body, author, fields, diff_trees(before, after))
        ov.parse(name, ov.render(overlay))  # never write what we cannot read back
        digest = project.write_overlay(overlay)
        project.write_series([*series, name])
        _record(project, overlay, digest)
        skipped.unlink(missing_ok=True)
    return EditResult(overlay, project.overlay_path(name))


@exclusive
def refresh(
    project: Project, name: str, message: str | None = None, paths: tuple[str, ...] = ()
) -> EditResult:
    """Fold further edits to NAME's files (and PATHs) into it; unchanged input, identical bytes."""
    project.ensure_no_sync()
    current = project.overlay(name)
    old_text = project.overlay_text(name)
    with open_repo(project) as repo:
        stack = _at_pin(repo, project)
        step = stack.step(name)
        if not step.applies:
            raise OverlayDoesNotApply(name, step.error_path or "?", step.error or "")
        extra = [p for p in _checkout_paths(project, paths) if p not in step.after]
        files = [*step.after, *extra]
        on_disk = read_worktree(project.checkout, files)
        for path in files:
            owner = stack.owner(path)
            if owner not in (None, name) and on_disk[path] != stack.final[path]:
                raise ForkmanError(
                    f"{path} is also changed by the later overlay '{owner}'",
                    hint=f"refresh '{owner}' instead, or reorder overlays/series",
                )
        pinned = repo.read_tree_files(
            project.lock().commit, [p for p in extra if p not in stack.final]
        )
        before = {
            **step.before,
            **{p: stack.final[p] if p in stack.final else pinned[p] for p in extra},
        }
        after = {p: on_disk[p] if stack.owner(p) in (None, name) else step.after[p] for p in files}
        diff = diff_trees(before, after)
        if not diff.strip():
            raise ForkmanError(
                f"overlay '{name}' would be empty: its changes are gone from the checkout",
                hint=f"drop it with `forkman overlay drop {name}`",
            )
        subject, body = (
            split_message(message, current.subject) if message else (current.subject, current.body)
        )
        overlay = replace(current, subject=subject, body=body, diff=diff)
        ov.parse(name, ov.render(overlay))
        digest = project.write_overlay(overlay)
        _record(project, overlay, digest)
    return EditResult(overlay, project.overlay_path(name), project.overlay_text(name) != old_text)


@exclusive
def drop(project: Project, name: str) -> EditResult:
    """Remove NAME from the series and its change from the checkout; refuse to lose edits."""
    project.ensure_no_sync()
    current = project.overlay(name)
    series = project.series()
    rest = [project.overlay(n) for n in series if n != name]
    lock = project.lock()
    repo = open_repo(project) if project.checkout.exists() else None
    if repo is not None:
        with repo:
            stack = load_stack(repo, lock.commit, project.overlays())
            without = build_stack(stack.base, rest)
            broken = [
                s for s in without.steps if not s.applies and stack.step(s.overlay.name).applies
            ]
            if broken:
                raise ConfigError(
                    f"overlay '{broken[0].overlay.name}' needs '{name}': without it, "
                    f"{broken[0].error}",
                    hint=f"drop '{broken[0].overlay.name}' first",
                )
            found = drift(repo, stack, ignore=link_targets(project))
            lost = [p for p in found.paths if p in current.files]
            if lost:
                raise DirtyCheckout(str(project.checkout), lost, f"dropping '{name}'")
            at_pin = repo.head() == lock.commit
            _forget(project, name, series)
            if at_pin:
                write_worktree(project.checkout, {p: without.final[p] for p in current.files})
                write_record(repo, lock.commit, without.final)
    else:
        _forget(project, name, series)
    return EditResult(current, project.overlay_path(name))


def _forget(project: Project, name: str, series: tuple[str, ...]) -> None:
    project.write_series([n for n in series if n != name])
    lock = project.lock()
    project.write_lock(lock.with_overlays({k: v for k, v in lock.overlays.items() if k != name}))
    project.overlay_path(name).unlink(missing_ok=True)
