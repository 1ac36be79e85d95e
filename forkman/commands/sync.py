"""`forkman sync`: carry the overlays to a new release as a journaled transaction (continue/abort)."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from forkman.commands.arguments import check_argument
from forkman.commands.deleted import name_deleters
from forkman.commands.explaining import explain
from forkman.core.checks import Check, run_checks
from forkman.core.conflicts import (
    Resolution,
    extract_resolutions,
    has_markers,
    lost_lines,
    regions,
)
from forkman.core.forwarded import credit_upstream
from forkman.core.overlay import Overlay, file_hash
from forkman.core.overlay import render as render_overlay
from forkman.core.planner import FileConflict, OverlayResult, Plan, PlanInput, plan
from forkman.core.records import FileRecord, Sides
from forkman.core.releases import newest_release
from forkman.core.stack import touched_paths
from forkman.core.states import GONE, NEEDS_ACTION, Phase, SyncState
from forkman.core.textdiff import comparisons_remembered
from forkman.core.urls import name_problem
from forkman.core.values import FileState, ProgressFn, Sha, State
from forkman.errors import (
    DirtyCheckout,
    ForkmanError,
    GitError,
    NotACheckout,
    SyncStateError,
    TagMoved,
)
from forkman.git import history, runner
from forkman.git.culprit import find_culprits
from forkman.git.diff import diff_many
from forkman.git.merge import merge_many
from forkman.git.remote import fetch_upstream
from forkman.git.repository import GitRepo
from forkman.store import resolutions
from forkman.store.checkout import open_checkout, refuse_local_commits
from forkman.store.compilecache import COMPILE_FILE, CompileCache
from forkman.store.confine import resolves_inside
from forkman.store.exclusive import exclusive
from forkman.store.files import atomic_write, sync_all
from forkman.store.journal import Journal, Pin, SyncJournal
from forkman.store.links import ensure_links, link_targets
from forkman.store.plancache import CULPRIT_FILE, FOLDER, CulpritCache, PlanCache
from forkman.store.project import Project
from forkman.store.recovery import require_free_index, require_writable
from forkman.store.worktree import drift, read_worktree, write_record, write_worktree


@dataclass(frozen=True)
class SyncReport:
    from_ref: str
    from_commit: str
    to_ref: str
    to_commit: str
    phase: Phase
    results: tuple[OverlayResult, ...] = ()
    current: str | None = None
    warnings: tuple[str, ...] = ()
    commands: tuple[Check, ...] = ()  # with --check: the `run:` checks a real sync would start

    @property
    def ok(self) -> bool:
        return self.phase in (Phase.DONE, Phase.UP_TO_DATE, Phase.ABORTED) or (
            self.phase == Phase.CHECK and all(r.state not in NEEDS_ACTION for r in self.results)
        )


MAX_CANDIDATES = 40  # changed files read to look for moved lines, at most (nearest first)


def _in_progress_error() -> SyncStateError:
    return SyncStateError(
        "a sync is already in progress",
        hint="resolve and run `forkman sync --continue`, or `forkman sync --abort`",
    )


def _resolve_target(repo: GitRepo, project: Project, to: str | None, pre: bool) -> tuple[str, Sha]:
    if to is None:
        ref = newest_release(repo.tags(), project.config.release_pattern, pre)
        return ref, repo.resolve(ref)
    for candidate in (to, f"refs/remotes/forkman-upstream/{to}", f"refs/remotes/origin/{to}"):
        try:
            return to, repo.resolve(candidate)
        except ForkmanError:
            continue
    return to, repo.resolve(to)  # raises BadRef with the user's spelling


def _inputs(
    project: Project,
    repo: GitRepo,
    data: SyncJournal,
    overlays: tuple[Overlay, ...],
    cache: PlanCache | None = None,
) -> PlanInput:
    """What to plan DATA's sync from; with CACHE, what earlier runs of the sync worked out is
    not worked out again."""
    paths = touched_paths(overlays) | {c.path for c in project.config.checks if c.path}
    read = repo.read_tree_files
    repo.git_paths(COMPILE_FILE, CULPRIT_FILE)  # both kept-answer files' places, in one ask
    return PlanInput(
        old_ref=data.start.ref,
        new_ref=data.target.ref,
        overlays=overlays,
        old_base=cache.tree_files(read, data.start.commit, paths)
        if cache
        else read(data.start.commit, paths),
        new_base=cache.tree_files(read, data.target.commit, paths)
        if cache
        else read(data.target.commit, paths),
        merge=cache.merge(merge_many) if cache else merge_many,
        diff=cache.diff(diff_many) if cache else diff_many,
        resolutions=resolutions.ResolutionStore(project.overlays_dir),
        file_records=resolutions.FileRecordStore(project.overlays_dir),
        overrides=data.overrides,
        skipped=frozenset(data.skipped),
        checks=project.config.checks,
        old_commit=data.start.commit,
        new_commit=data.target.commit,
        memo=cache,
        compiled=CompileCache(repo.git_path(COMPILE_FILE)),
    )


def _plan(repo: GitRepo, inputs: PlanInput) -> Plan:
    """Plan the sync; when some overlay broke, look where upstream moved or renamed its lines
    and files, and plan again with them (a clean plan costs nothing more)."""
    try:
        return _plan_twice(repo, inputs)
    finally:
        if isinstance(inputs.compiled, CompileCache):
            inputs.compiled.save()  # for the next run (a sync after its --check compiles alike)


def _plan_twice(repo: GitRepo, inputs: PlanInput) -> Plan:
    first = plan(inputs)
    broken = [
        r
        for r in first.results
        if r.state in (SyncState.CONFLICT, SyncState.NOT_APPLICABLE) and r.cause != "earlier"
    ]
    # an overlay deleting a file that upstream deleted looks upstreamed, and one carried without
    # a file upstream deleted is carried so, unless upstream renamed the file
    deleted = [
        r
        for r in first.results
        if r.without
        or (
            r.state in (SyncState.UPSTREAMED, SyncState.PARTLY)
            and any(
                inputs.new_base.get(p) is None and inputs.old_base.get(p) is not None
                for p in r.files
            )
        )
    ]
    if not broken and not deleted:
        return first
    try:
        extra = _where_things_went(repo, inputs, first, broken + deleted)
    except GitError:
        return first  # e.g. a partial clone that cannot fetch a blob: carry as before
    return plan(extra, first.old) if extra is not None else first


def _where_things_went(
    repo: GitRepo, inputs: PlanInput, first: Plan, broken: list[OverlayResult]
) -> PlanInput | None:
    """INPUTS with upstream's renames of the broken overlays' files and the changed files near
    them (where moved lines may have gone); None when there are none."""
    gone = {
        p
        for r in broken
        for p in (*r.files, *(w.path for w in r.without))
        if inputs.new_base.get(p) is None and inputs.old_base.get(p) is not None
    }
    renames = history.renames(repo, inputs.old_commit, inputs.new_commit, gone) if gone else {}
    conflicted = [c.path for r in broken for c in first.conflicts.get(r.name, ())]
    candidates: set[str] = set()
    if conflicted:
        changed = history.changed_files(repo, inputs.old_commit, inputs.new_commit)
        fresh = [p for p in changed if p not in inputs.new_base]
        candidates = set(history.nearest(fresh, conflicted, MAX_CANDIDATES))
    wanted = sorted(candidates | set(renames.values()))
    if not wanted:
        return None
    return replace(
        inputs,
        old_base={**repo.read_tree_files(inputs.old_commit, wanted), **inputs.old_base},
        new_base={**repo.read_tree_files(inputs.new_commit, wanted), **inputs.new_base},
        others=frozenset(candidates | set(inputs.new_base)),
        renames=renames,
    )


def _explained(project: Project, repo: GitRepo, the_plan: Plan, enabled: bool = True) -> Plan:
    """The plan with the culprit and what upstream did on every overlay that is not clean, and
    each upstreamed overlay crediting the upstream commit (and PR) that made its change."""
    inputs = the_plan.inputs
    if not enabled or inputs is None or all(r.state == SyncState.CLEAN for r in the_plan.results):
        return the_plan
    memo = inputs.memo
    kept = CulpritCache(repo.git_path(CULPRIT_FILE))  # across runs: a sync after its --check
    find = memo.culprits(find_culprits, kept) if isinstance(memo, PlanCache) else find_culprits
    try:
        explained = explain(
            repo,
            inputs,
            the_plan,
            inputs.old_commit,
            inputs.new_commit,
            project.config.url,
            find=find,
        )
        explained = name_deleters(
            repo, inputs, explained, inputs.old_commit, inputs.new_commit, project.config.url
        )
    except GitError:
        return the_plan  # the explanation is a courtesy: never the reason a sync fails
    finally:
        kept.save()
    return credit_upstream(explained, inputs.new_ref)


@contextlib.contextmanager
def _refs_kept(repo: GitRepo, always: bool) -> Iterator[None]:
    """Undo what the fetch did to refs when the sync changes nothing: --check, or refused before it began."""
    saved = _refs(repo)
    try:
        yield
    except BaseException:
        _restore_refs(repo, saved)
        raise
    if always:
        _restore_refs(repo, saved)


def _refs(repo: GitRepo) -> dict[str, str]:
    lines = repo.text("for-each-ref", "--format=%(objectname) %(refname)").splitlines()
    return {ref: sha for sha, ref in (line.split(" ", 1) for line in lines)}


def _restore_refs(repo: GitRepo, before: dict[str, str]) -> None:
    now = _refs(repo)
    commands = [f"delete {ref}" for ref in now if ref not in before]
    commands += [f"update {ref} {sha}" for ref, sha in before.items() if now.get(ref) != sha]
    if commands:
        repo.run("update-ref", "--no-deref", "--stdin", stdin=("\n".join(commands) + "\n").encode())


def _refuse_links_on_the_way(
    project: Project, repo: GitRepo, overlays: tuple[Overlay, ...], ref: str, commit: str
) -> None:
    """A folder that upstream made a symbolic link, where an overlay or a link writes beneath it."""
    written = touched_paths(overlays) | set(link_targets(project))
    folders = {str(p) for path in written for p in PurePosixPath(path).parents if str(p) != "."}
    states = repo.read_tree_files(commit, folders)
    links = sorted(p for p, s in states.items() if s is not None and s.mode == "120000")
    if links:
        under = sorted(p for p in written if p.startswith(links[0] + "/"))
        raise ForkmanError(
            f"upstream's {links[0]} at {ref} is a symbolic link, and forkman would write "
            f"{', '.join(under)} beneath it",
            where=str(project.checkout),
            hint="forkman never writes through a link: sync to another release with --to, "
            "or drop the overlay or link",
        )


def start(
    project: Project,
    *,
    to: str | None = None,
    pre: bool = False,
    check: bool = False,
    fetch: bool = True,
    progress: ProgressFn | None = None,
    explain: bool = True,
) -> tuple[SyncReport, Plan | None]:
    """Plan the move to the newest release (or TO); with CHECK, stop there and change nothing.
    EXPLAIN: name the culprit of every overlay that is not clean (and say what upstream did).

    A check takes no lock, so it runs on an app repo that is read-only (a CI cache, a mount).
    """
    check_argument("--to", to, name_problem)
    run = _plan_and_go if check else _plan_and_go_locked
    return run(
        project, to=to, pre=pre, check=check, fetch=fetch, progress=progress, explain=explain
    )


def _plan_and_go(
    project: Project,
    *,
    to: str | None,
    pre: bool,
    check: bool,
    fetch: bool,
    progress: ProgressFn | None,
    explain: bool = True,
) -> tuple[SyncReport, Plan | None]:
    cache = PlanCache()
    # a sync's large comparisons are kept for its --continue and --skip (a check's, nowhere)
    with comparisons_remembered(None if check else cache):
        return _plan_and_go_with(
            project, cache, to=to, pre=pre, check=check, fetch=fetch, progress=progress,
            explain=explain,
        )  # fmt: skip


def _plan_and_go_with(
    project: Project,
    cache: PlanCache,
    *,
    to: str | None,
    pre: bool,
    check: bool,
    fetch: bool,
    progress: ProgressFn | None,
    explain: bool = True,
) -> tuple[SyncReport, Plan | None]:
    journal = Journal(project)
    if journal.exists():
        raise _in_progress_error()
    if not check:
        require_writable(project, "sync")
    lock = project.lock()
    overlays = project.overlays()
    repo, cloned = open_checkout(project, lock, progress)
    if cloned and not check:
        raise NotACheckout(
            f"the upstream checkout was missing: cloned it at the pinned {lock.ref}, "
            "without the overlays",
            where=str(project.checkout),
            hint="run `forkman apply`, then `forkman sync`",
        )
    with repo:
        with _refs_kept(repo, always=check):
            if fetch:
                fetch_upstream(repo, project.config.url, progress)
            ref, commit = _resolve_target(repo, project, to, pre)
            if to is None and ref == lock.ref and commit != lock.commit:
                # a release is not rewritten; when its tag moves, a person decides
                raise TagMoved(
                    f"the release tag {ref} moved upstream: forkman pinned {lock.commit[:12]}, "
                    f"the tag now names {commit[:12]}",
                    where=project.config.url,
                    hint=f"ask upstream why; `forkman sync --to {ref}` takes the moved tag",
                )
            _refuse_links_on_the_way(project, repo, overlays, ref, commit)
            data = SyncJournal(Pin(lock.ref, lock.commit), Pin(ref, commit), repo.head())
            if commit == lock.commit and not check and repo.head() == lock.commit:
                return SyncReport(lock.ref, lock.commit, ref, commit, Phase.UP_TO_DATE), None
            inputs = _inputs(project, repo, data, overlays, cache)
            with ThreadPoolExecutor(max_workers=1) as pool:
                # `git status` over a large tree runs while the overlays are merged
                changed = pool.submit(repo.changed_paths) if not check else None
                the_plan = _plan(repo, inputs)
            if check or changed is None:
                the_plan = _explained(project, repo, the_plan) if explain else the_plan
                return SyncReport(
                    lock.ref,
                    lock.commit,
                    ref,
                    commit,
                    Phase.CHECK,
                    the_plan.results,
                    commands=run_checks(
                        project.config.checks,
                        tuple(r.name for r in the_plan.results if r.state not in GONE),
                    ),
                ), the_plan
            old = the_plan.old_stack()  # the stack the plan carried, not built again
            if repo.head() != lock.commit:
                refuse_local_commits(repo, project, "sync")
                raise ForkmanError(
                    f"the checkout is not at the pinned commit {lock.commit[:12]}",
                    where=str(project.checkout),
                    hint="run `forkman apply` first",
                )
            found = drift(repo, old, ignore=link_targets(project), changed_paths=changed.result())
            if found.paths:
                raise DirtyCheckout(str(project.checkout), list(found.paths), "sync")
            _refuse_overwriting_ignored(project, repo, lock.commit, commit, set(old.final))
        require_free_index(project.checkout)
        _refuse_folders_leading_out(project, the_plan)
        journal.begin(data, read_worktree(project.checkout, old.final), repo)
        try:
            return _execute(project, repo, journal, data, the_plan, explain), the_plan
        finally:
            cache.save(journal.dir / FOLDER)  # for --continue and --skip


_plan_and_go_locked = exclusive(_plan_and_go)


def _refuse_folders_leading_out(project: Project, the_plan: Plan) -> None:
    """The folders of overlays/ this plan's commit writes, refused now when one leads out of
    the app repo: the commit would refuse it too, but only after the checkout was rewritten."""
    folders = {project.overlays_dir}
    for result in the_plan.results:
        if result.state in GONE:
            folders.add(project.overlays_dir / result.state)
        elif result.without:
            folders.add(project.overlays_dir / SyncState.DROPPED)
    for folder in sorted(folders):
        project.require_inside(folder, "overlay files")


def _refuse_overwriting_ignored(
    project: Project, repo: GitRepo, old: str, new: str, overlays_own: set[str]
) -> None:
    """git's forced checkout overwrites ignored files where the new release adds a file: refuse.
    A file an overlay adds is the overlays' own (the journal keeps it): upstream adding it too
    is for the merge to judge (often upstream took the very patch that added it)."""
    added = repo.text(
        "diff", "--name-only", "-z", "--no-renames", "--diff-filter=A", old, new, "--"
    )
    there = [
        p
        for p in added.split("\0")
        if p and p not in overlays_own and os.path.lexists(project.checkout / p)
    ]
    if there:
        shown = ", ".join(there[:5]) + (f" and {len(there) - 5} more" if len(there) > 5 else "")
        raise ForkmanError(
            f"sync refused: the new release adds files the checkout already has, untracked: {shown}",
            where=str(project.checkout),
            hint="move them out of the checkout (git ignores them, and its checkout would "
            "overwrite them), then run the sync again",
        )


@exclusive
def resume(
    project: Project, *, skip: bool = False, progress: ProgressFn | None = None
) -> SyncReport:
    """`--continue` (and `--skip`): take the person's resolution into the overlay, and go on."""
    journal = Journal(project)
    data = journal.load()
    repo, _ = open_checkout(project, project.lock(), progress)
    cache = PlanCache(journal.dir / FOLDER)
    with repo, comparisons_remembered(cache):
        try:
            return _resume(project, repo, journal, data, cache, skip)
        finally:
            cache.save(journal.dir / FOLDER)


def _resume(
    project: Project,
    repo: GitRepo,
    journal: Journal,
    data: SyncJournal,
    cache: PlanCache,
    skip: bool,
) -> SyncReport:
    overlays = journal.backup_overlays()
    current = data.current
    if data.phase == "conflict" and current:
        data = _settle_conflict(project, repo, journal, data, overlays, current, skip, cache)
    elif data.phase == "checks":
        if skip and current:
            data = replace(data, skipped=(*data.skipped, current))
        else:
            data = _take_edits(
                project, data, _plan(repo, _inputs(project, repo, data, overlays, cache))
            )
    data = replace(data, phase="planned", current=None)
    journal.save(data)
    return _execute(
        project, repo, journal, data, _plan(repo, _inputs(project, repo, data, overlays, cache))
    )


def _settle_conflict(
    project: Project,
    repo: GitRepo,
    journal: Journal,
    data: SyncJournal,
    overlays: tuple[Overlay, ...],
    current: str,
    skip: bool,
    cache: PlanCache | None = None,
) -> SyncJournal:
    """Take the resolution of CURRENT (or skip it), recorded in the journal before anything else."""
    if skip:
        # no plan needed: CURRENT's conflicts are the paths the stop left unmerged in the index
        skipped = replace(data, skipped=(*data.skipped, current))
        journal.save(skipped)
        listed = repo.text("ls-files", "-u", "-z").split("\0")
        unmerged = sorted({r.split("\t", 1)[1] for r in listed if "\t" in r})
        if unmerged:
            repo.run("reset", "-q", "--", *unmerged)
        return skipped
    if current in data.overrides:
        # a --continue killed after it recorded the resolution: take it as recorded
        return data
    before = _plan(repo, _inputs(project, repo, data, overlays, cache))
    conflicts = before.conflicts.get(current, ())
    if not conflicts:
        raise SyncStateError(
            f"overlay '{current}' cannot be carried to {data.target.ref} as it is",
            hint="leave it out with `forkman sync --skip` (its file is kept) "
            "or give up with `forkman sync --abort`",
        )
    taken = _take_resolution(project, data, current, before, conflicts)
    journal.save(taken)
    paths = [c.path for c in conflicts]
    if paths:
        repo.run("reset", "-q", "--", *paths)
    return taken


def _take_resolution(
    project: Project,
    data: SyncJournal,
    name: str,
    before: Plan,
    conflicts: tuple[FileConflict, ...],
) -> SyncJournal:
    files = next(r for r in before.results if r.name == name).files
    on_disk = read_worktree(project.checkout, files)
    marked = [p for p, s in on_disk.items() if s is not None and has_markers(s.data)]
    if marked:
        raise SyncStateError(
            f"{', '.join(marked)} still has conflict markers",
            where=str(project.checkout),
            hint="resolve them (a mergetool works), then `forkman sync --continue`",
        )
    warnings = list(data.warnings)
    recorded = list(data.resolutions)
    files_done = list(data.file_records)
    jump = f"the sync {data.start.ref} -> {data.target.ref}"
    for conflict in conflicts:
        state = on_disk.get(conflict.path)
        resolved = state.data.decode("utf-8", "surrogateescape") if state else ""
        # the whole file, so a fix outside the markers (upstream moved the code) is kept too
        files_done.append(
            FileRecord(
                name,
                conflict.path,
                Sides.of(
                    *(
                        s.data if s else None
                        for s in (conflict.base, conflict.upstream, conflict.overlay)
                    )
                ),
                conflict.merged.decode("utf-8", "surrogateescape"),
                resolved,
                jump,
            )
        )
        found = extract_resolutions(conflict.merged.decode("utf-8", "surrogateescape"), resolved)
        if found is None:
            whole = tuple(resolved.splitlines(keepends=True))
            found = [
                (region, whole)
                for region in regions(conflict.merged.decode("utf-8", "surrogateescape"))
            ]
            record = False
        else:
            record = True
        for region, lines in found:
            if record:
                recorded.append(
                    Resolution(region.key(conflict.path), name, conflict.path, region, lines)
                )
            upstream_lost, overlay_lost = lost_lines(region, lines)
            for line in upstream_lost:
                warnings.append(
                    f"{name}: {conflict.path}: the resolution drops a line upstream added: {line}"
                )
            for line in overlay_lost:
                warnings.append(
                    f"{name}: {conflict.path}: the resolution drops a line the overlay added: {line}"
                )
    return replace(
        data.with_override(name, on_disk),
        warnings=tuple(warnings),
        resolutions=tuple(recorded),
        file_records=tuple(files_done),
    )


def _take_edits(project: Project, data: SyncJournal, current: Plan) -> SyncJournal:
    """After failed checks: edits made in the checkout go to the last overlay changing each file."""
    on_disk = read_worktree(project.checkout, current.final)
    for path, state in on_disk.items():
        if state == current.final[path]:
            continue
        owner = None
        for result in current.results:
            if path in result.files and result.state not in GONE:
                owner = result.name
        if owner:
            data = data.with_override(owner, {path: state})
    return data


def _report(
    data: SyncJournal, phase: Phase, the_plan: Plan, current: str | None = None
) -> SyncReport:
    return SyncReport(
        data.start.ref,
        data.start.commit,
        data.target.ref,
        data.target.commit,
        phase,
        the_plan.results,
        current,
        data.warnings,
    )


def _execute(
    project: Project,
    repo: GitRepo,
    journal: Journal,
    data: SyncJournal,
    the_plan: Plan,
    explain: bool = True,
) -> SyncReport:
    new_commit = data.target.commit
    stop = the_plan.stop
    if stop is not None and stop.state != SyncState.CHECK_FAILED:
        _show_conflict(project, repo, journal, the_plan, stop)
        journal.save(replace(data, phase="conflict", current=stop.name))
        return _report(data, Phase.STOPPED, _explained(project, repo, the_plan, explain), stop.name)
    repo.run("checkout", "-q", "--force", "--detach", new_commit)
    backup = journal.checkout_paths()
    fresh = _release_files(
        repo, the_plan, new_commit, [p for p in backup if p not in the_plan.final]
    )
    write_worktree(project.checkout, {**fresh, **the_plan.final})
    ensure_links(project, repo)
    failed = _run_commands(project, the_plan) if stop is None else the_plan
    if failed.stop is not None:
        journal.save(replace(data, phase="checks", current=failed.stop.name))
        return _report(
            data, Phase.STOPPED, _explained(project, repo, failed, explain), failed.stop.name
        )
    # before the commit: Applied-Upstream names the commit
    the_plan = _explained(project, repo, the_plan, explain)
    _commit(project, repo, journal, data, the_plan)
    return _report(data, Phase.DONE, the_plan)


def _show_conflict(
    project: Project, repo: GitRepo, journal: Journal, the_plan: Plan, stop: OverlayResult
) -> None:
    """Put the checkout at the new release with the overlays up to STOP, and STOP's conflicts as git shows them."""
    target = journal.load().target.commit
    repo.run("checkout", "-q", "--force", "--detach", target)
    desired: State = _release_files(repo, the_plan, target, journal.checkout_paths())
    for result in the_plan.results:
        desired.update(the_plan.prefix.get(result.name, {}))
        if result.name == stop.name:
            break
    conflicts = the_plan.conflicts.get(stop.name, ())
    desired.update(
        {
            c.path: FileState(c.merged, (c.overlay or c.upstream or FileState(b"")).mode)
            for c in conflicts
        }
    )
    write_worktree(project.checkout, desired)
    info = []
    for c in conflicts:
        info.append(f"0 {'0' * 40}\t{c.path}")
        for stage, state in ((1, c.base), (2, c.upstream), (3, c.overlay)):
            if state is not None:
                info.append(f"{state.mode} {repo.hash_blob(state.data)} {stage}\t{c.path}")
    if info:
        repo.run("update-index", "--index-info", stdin=("\n".join(info) + "\n").encode())


def _release_files(repo: GitRepo, the_plan: Plan, commit: str, paths: list[str]) -> State:
    """PATHS at COMMIT (None where absent): what the plan read of that commit is not read again."""
    inputs = the_plan.inputs
    known = inputs.new_base if inputs is not None and inputs.new_commit == commit else {}
    states: State = {p: known[p] for p in paths if p in known}
    rest = [p for p in paths if p not in known]
    if rest:
        states.update(repo.read_tree_files(commit, rest))
    return states


def _run_commands(project: Project, the_plan: Plan) -> Plan:
    results = []
    for result in the_plan.results:
        failures = []
        for check in project.config.checks:
            if check.overlay == result.name and check.run and result.state not in GONE:
                failure = _run_check(project, check)
                if failure:
                    failures.append(f"`{check.run}` {failure}")
        results.append(
            replace(result, state=SyncState.CHECK_FAILED, detail="; ".join(failures))
            if failures
            else result
        )
    return replace(the_plan, results=tuple(results))


def _run_check(project: Project, check: Check) -> str | None:
    """How a `run:` check failed, in a few words, or None when it passed."""
    try:
        proc = runner.run_check(
            check.command(), shell=check.shell, cwd=project.checkout, timeout=check.timeout
        )
    except runner.TimedOut:
        return f"timed out after {check.timeout:g}s"
    except ValueError as exc:  # shlex: an unclosed quote
        return f"cannot be split into words: {exc}"
    except OSError as exc:  # no such program, or not executable
        return f"cannot start: {exc.strerror}: {exc.filename or check.run}"
    if proc.returncode:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return f"failed: {tail[0]}"
    return None


def _commit(
    project: Project, repo: GitRepo, journal: Journal, data: SyncJournal, the_plan: Plan
) -> None:
    """Write overlays, resolutions, series, then the lock (the commit point), then end the journal."""
    series = []
    originals: dict[str, Overlay] = {}  # parsed only when needed (skipped, carried without)
    hashes: dict[str, str] = {}
    # the overlay files, each on the disk before any replaces its old self (a power cut leaves
    # the old or the new one), and a gone overlay's file deleted only once its copy is there
    writes: list[tuple[Path, bytes]] = []
    gone: list[Path] = []
    inside: dict[Path, bool] = {}
    for result in the_plan.results:
        if result.state in GONE:
            # out of the series, kept where a reviewer sees why: upstreamed/, dropped/, skipped/
            overlay = the_plan.overlays.get(result.name)
            if overlay is None:
                originals = originals or {o.name: o for o in journal.backup_overlays()}
                overlay = originals[result.name]
            if result.state == SyncState.SKIPPED:
                overlay = overlay.with_field(
                    "Skipped",
                    f"left out of the sync to {data.target.ref}; written "
                    f"against {data.start.ref} ({data.start.commit})",
                )
            writes.append(project.archive_file(result.state, overlay, pending=writes))
            gone.append(project.overlay_path(result.name))
            continue
        overlay = the_plan.overlays[result.name]
        if result.without:
            originals = originals or {o.name: o for o in journal.backup_overlays()}
            overlay = _keep_the_whole(
                project, data, originals[result.name], overlay, result, writes
            )
        hashes[result.name] = _write_overlay(project, overlay, writes, inside)
        series.append(result.name)
    project.write_all(writes)
    for path in gone:
        path.unlink(missing_ok=True)
    for resolution in data.resolutions:
        resolutions.save(project.overlays_dir, resolution)
    for record in data.file_records:
        resolutions.save_record(project.overlays_dir, record)
    project.write_series(series)
    lock = project.lock().with_pin(data.target.ref, data.target.commit)
    names = project.series()
    if set(names) != set(hashes):  # the series file says otherwise: hash what it lists
        hashes = project.hashes()
    project.write_lock(lock.with_overlays({n: hashes[n] for n in names}))
    write_record(repo, data.target.commit, the_plan.final)
    journal.finish()


def _keep_the_whole(
    project: Project,
    data: SyncJournal,
    old: Overlay,
    new: Overlay,
    result: OverlayResult,
    writes: list[tuple[Path, bytes]],
) -> Overlay:
    """Keep OLD (the overlay before it was carried without some file) in overlays/dropped/,
    and NEW, its carried rest, saying where. Named for the release: a later sync that leaves
    out another file keeps its own. The file kept goes to WRITES, with the others."""
    said = "; ".join(w.said for w in result.without) + f", {data.target.ref}"
    stem = f"{old.name}.before-{_file_part(data.target.ref)}"
    path, text = project.archive_file(
        SyncState.DROPPED, old.with_field("Carried-Without", said), stem, keep=True, pending=writes
    )
    writes.append((path, text))
    kept = f"{said}; the whole overlay as it was: overlays/{SyncState.DROPPED}/{path.name}"
    return new.with_field("Carried-Without", kept)


def _file_part(ref: str) -> str:
    """REF as part of a file name (a release may be `v1.2/rc1`, or a branch)."""
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in ref).lstrip(".") or "_"


def _write_overlay(
    project: Project,
    overlay: Overlay,
    writes: list[tuple[Path, bytes]],
    inside: dict[Path, bool],
) -> str:
    """OVERLAY's file added to WRITES, unless it already holds exactly that text (an overlay
    carried unchanged: no write, no fsync); its hash. INSIDE: each folder's resolves_inside."""
    data = render_overlay(overlay).encode("utf-8", "surrogateescape")
    path = project.overlay_path(overlay.name)
    folder = path.parent
    try:
        if folder not in inside:
            inside[folder] = resolves_inside(project.root, folder)
        same = (
            stat.S_ISREG(path.lstat().st_mode)
            and inside[folder]  # else the write refuses, as always
            and path.read_bytes() == data
        )
    except OSError:
        same = False
    if not same:
        writes.append((path, data))
    return file_hash(data)


@exclusive
def abort(project: Project) -> SyncReport:
    """Put the checkout, the overlays and the lock back exactly as they were.

    Everything comes from the plain-file backups, so a damaged journal.json does not stand in
    the way; what cannot be restored is said, and the journal is then kept for a person to see.
    """
    journal = Journal(project)
    if not journal.exists():
        journal.load()  # raises "no sync in progress"
    data: SyncJournal | None
    try:
        data = journal.load()
    except SyncStateError:
        data = None
    missing = _restore(project, journal)
    if missing:
        raise SyncStateError(
            f"restored what the backups hold, but not: {', '.join(missing)}",
            where=str(journal.dir),
            hint="the backups are kept there as plain files; put those back by hand, "
            f"then delete {journal.dir}",
        )
    journal.finish()
    if data is None:
        return SyncReport(
            "",
            "",
            "",
            "",
            Phase.ABORTED,
            warnings=("the sync journal was damaged: restored from the backups",),
        )
    return SyncReport(
        data.start.ref, data.start.commit, data.target.ref, data.target.commit, Phase.ABORTED
    )


def _restore(project: Project, journal: Journal) -> list[str]:
    """Put back each backed-up thing that is there; return the names of those that are not."""
    backup = journal.backup
    missing = []
    head = journal.backup_head()
    with GitRepo(project.checkout) as repo:
        if head:
            repo.run("checkout", "-q", "--force", "--detach", head)
        else:
            missing.append("the checkout's HEAD")
        try:
            files = journal.checkout_backup()
        except OSError:
            missing.append("the checkout's files")
        else:
            write_worktree(project.checkout, files)
        if (backup / "applied.json").exists():
            shutil.copy2(backup / "applied.json", repo.git_path("forkman-applied.json"))
    if (backup / "overlays").exists():
        shutil.rmtree(project.overlays_dir, ignore_errors=True)
        shutil.copytree(backup / "overlays", project.overlays_dir, symlinks=True)
        # on the disk before the journal, and with it their backups, goes
        sync_all([p for p in project.overlays_dir.rglob("*") if p.is_file()])
    if (backup / "forkman.lock").exists():
        atomic_write(project.lock_path, (backup / "forkman.lock").read_bytes())
    else:
        missing.append("forkman.lock")
    return missing
