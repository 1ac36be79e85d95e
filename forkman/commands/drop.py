"""`forkman overlay drop`: remove an overlay from the series and its change from the checkout
(with --upstreamed, kept in overlays/upstreamed/ with an Applied-Upstream: header)."""

from __future__ import annotations

from forkman.commands.capture import EditResult
from forkman.core.stack import build_stack
from forkman.errors import ConfigError, DirtyCheckout
from forkman.store.checkout import open_repo
from forkman.store.exclusive import exclusive
from forkman.store.links import link_targets
from forkman.store.project import Project
from forkman.store.worktree import drift, load_stack, write_record, write_worktree


@exclusive
def drop(project: Project, name: str, upstreamed: str | None = None) -> EditResult:
    """Remove NAME from the series and its change from the checkout; refuse to lose edits.
    With UPSTREAMED (where upstream made the change), archive it as upstreamed/ does."""
    project.ensure_no_sync()
    current = project.overlay(name)
    if upstreamed is not None and not upstreamed.strip():
        raise ConfigError(
            "--upstreamed needs a value",
            hint="say where upstream made the change: a PR or commit URL, or a release",
        )
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
            # the checkout first, the series last: a kill in between leaves the overlay listed,
            # and running drop again finishes (what forkman wrote is in its record, not an edit)
            if repo.head() == lock.commit:
                write_record(repo, lock.commit, without.final)
                write_worktree(project.checkout, {p: without.final[p] for p in current.files})
            _forget(project, name, series, upstreamed)
    else:
        _forget(project, name, series, upstreamed)
    return EditResult(current, project.overlay_path(name))


def _forget(
    project: Project, name: str, series: tuple[str, ...], upstreamed: str | None = None
) -> None:
    if upstreamed is not None:
        archived = project.overlay(name).with_field("Applied-Upstream", upstreamed.strip())
        project.archive_overlay("upstreamed", archived)
    project.write_series([n for n in series if n != name])
    lock = project.lock()
    project.write_lock(lock.with_overlays({k: v for k, v in lock.overlays.items() if k != name}))
    project.overlay_path(name).unlink(missing_ok=True)
