"""`forkman overlay capture` and `overlay refresh`: turn edits in the checkout into overlay files."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from forkman.core import overlay as ov
from forkman.errors import ForkmanError, OverlayDoesNotApply
from forkman.git.diff import diff_trees
from forkman.git.repository import GitRepo
from forkman.store.checkout import open_repo, stack_at_pin
from forkman.store.exclusive import exclusive
from forkman.store.links import link_targets
from forkman.store.project import Project
from forkman.store.series import check_overlay_name
from forkman.store.worktree import drift, read_worktree


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
        stack = stack_at_pin(repo, project)
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
        _record(project, overlay, digest)
        # the series last: until NAME is listed, running capture again starts it afresh
        project.write_series([*series, name])
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
        stack = stack_at_pin(repo, project)
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
