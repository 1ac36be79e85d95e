"""`forkman import`: a quilt series, format-patch files or a fork's commits, as overlays on the pin.

Each change is applied by the source's own tool (GNU patch for quilt, `git apply` for git's
formats) to the files it touches, on the pin plus every earlier overlay and imported change; what
it produced is captured exactly. Everything is computed first; the app repo is then changed as
one step (store/pending_import.py), so a refused import changes nothing and an interrupted one
is finished by the next `forkman import`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from forkman.core import importing as plan
from forkman.core import overlay as ov
from forkman.core.dep3 import Header, SeriesError, parse_series
from forkman.core.patches import Patch
from forkman.core.values import FileState
from forkman.errors import BadRef, ConfigError, ForkmanError, PatchError
from forkman.git.diff import STABLE_DIFF_CONFIG, diff_many
from forkman.git.patchtool import apply_patch, has_tool
from forkman.git.repository import GitRepo
from forkman.store import pending_import
from forkman.store.checkout import open_repo
from forkman.store.exclusive import exclusive
from forkman.store.project import Project
from forkman.store.worktree import load_stack

_MBOX_SPLIT = re.compile(r"^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001$", re.MULTILINE)


@dataclass(frozen=True)
class ImportResult:
    kind: str  # "quilt", "patches" or "commits"
    source: str
    patches: tuple[plan.Imported, ...]
    overlays: tuple[ov.Overlay, ...]  # what came in (or would, on a dry run)
    dry_run: bool
    resumed: tuple[str, ...] = ()  # an interrupted import's overlays, finished instead
    merges: tuple[str, ...] = ()  # merge commits of a --commits range, left out
    checkout: str | None = None  # what happened to the checkout afterwards

    @property
    def ok(self) -> bool:
        return all(p.comes_in or p.state == plan.EMPTY for p in self.patches)


# -- reading the sources ------------------------------------------------------------------------
def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def quilt_sources(folder: Path) -> list[plan.Source]:
    """The patches a quilt `series` file lists, in order, with their -pN and comments."""
    series = folder / "series"
    if not series.is_file():
        raise ConfigError(
            f"no series file in {folder}",
            where=str(folder),
            hint="give the folder that holds quilt's `series` (e.g. debian/patches)",
        )
    try:
        entries, _ = parse_series(_read(series))
    except SeriesError as exc:
        raise ConfigError(exc.message, where=f"{series}:{exc.line}") from None
    sources = []
    for entry in entries:
        file = folder / entry.name
        if not file.is_file():
            raise ConfigError(
                f"the series lists {entry.name}, which is not there",
                where=f"{series}:{entry.line}",
                hint="restore the patch file or remove its line from the series",
            )
        level = f" -p{entry.strip}" if entry.strip != 1 else ""
        sources.append(
            plan.Source(
                entry.name,
                _read(file),
                "patch",
                entry.strip,
                entry.reverse,
                comments=entry.comments,
                origin=f"quilt {entry.name}{level}{' -R' if entry.reverse else ''}",
            )
        )
    return sources


def patch_sources(path: Path) -> list[plan.Source]:
    """`git format-patch` output: a folder of files (in name order) or one mbox of many mails."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".patch", ".diff") and p.is_file())
        if not files:
            raise ConfigError(
                f"no .patch or .diff files in {path}",
                where=str(path),
                hint="give a folder of `git format-patch` output, or one mbox file",
            )
        return [
            plan.Source(f.name, _read(f), "git", None, drop_number=True, origin=f.name)
            for f in files
        ]
    if not path.is_file():
        raise ConfigError(f"{path} does not exist", hint="give a folder of patches or an mbox file")
    text = _read(path)
    starts = [m.start() for m in _MBOX_SPLIT.finditer(text)] or [0]
    if starts[0] != 0 and text[: starts[0]].strip():
        starts.insert(0, 0)
    pieces = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=False)]
    sources = []
    for number, piece in enumerate(pieces, 1):
        subject = re.search(r"^Subject: (?:\[[^\]]*\]\s*)*(.+)$", piece, re.MULTILINE)
        name_from = subject.group(1) if subject else f"{path.stem}-{number}"
        label = f"{path.name} #{number}" if len(pieces) > 1 else path.name
        sources.append(plan.Source(label, piece, "git", None, name_from=name_from, origin=label))
    return sources


def commit_sources(repo: GitRepo, spec: str) -> tuple[list[plan.Source], list[str]]:
    """The commits of SPEC (A..B), oldest first, as patches; and the merge commits left out."""
    if ".." not in spec or "..." in spec:
        raise BadRef(
            f"'{spec}' is not a range",
            hint="give the upstream release and the fork's branch, e.g. v1.2..my-fork",
        )
    start, _, end = spec.partition("..")
    base, tip = repo.resolve(start or "HEAD"), repo.resolve(end or "HEAD")
    listed = repo.text("rev-list", "--reverse", "--topo-order", f"{base}..{tip}").split()
    merges = set(repo.text("rev-list", "--merges", f"{base}..{tip}").split())
    sources = []
    for sha in listed:
        if sha in merges:
            continue
        author, date, message = repo.text(
            "log", "-1", "--format=%an <%ae>%x00%aD%x00%B", sha
        ).split("\0", 2)
        subject, _, body = message.strip("\n").partition("\n")
        diff = repo.run(
            *STABLE_DIFF_CONFIG,
            "diff-tree",
            "-p",
            "--binary",
            "--full-index",
            "-M",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            f"{sha}^",
            sha,
        ).decode("utf-8", "surrogateescape")
        header = Header(subject.strip(), body.strip("\n"), author, (("Date", date),))
        sources.append(
            plan.Source(
                f"commit {sha[:12]}",
                diff,
                "git",
                1,
                name_from=subject,
                header=header,
                origin=f"commit {sha}",
            )
        )
    return sources, sorted(merges)


# -- the import ---------------------------------------------------------------------------------
def _taken(project: Project) -> set[str]:
    folder = project.overlays_dir
    names = {p.stem for p in folder.glob("*.patch")} if folder.exists() else set()
    return names | set(project.series())


def _check_paths(patch: Patch, label: str) -> str | None:
    for path in patch.paths:
        try:
            ov.check_path(path, label)
        except PatchError as exc:
            return exc.message
    return None


@exclusive
def run_import(
    project: Project,
    kind: str,
    sources: Sequence[plan.Source],
    source: str,
    dry_run: bool = False,
) -> ImportResult:
    """Import SOURCES as overlays appended to the series (computed whole, then written whole)."""
    resumed = pending_import.finish(project)
    if resumed:  # the same command run again after a crash must not import everything twice
        return ImportResult(kind, source, (), (), dry_run, resumed)
    project.ensure_no_sync()
    lock = project.lock()
    with open_repo(project) as repo:
        if not repo.has_commit(lock.commit):
            raise BadRef(
                f"the pinned commit {lock.commit[:12]} is not in the checkout",
                where=str(project.checkout),
                hint="run `forkman apply` first",
            )
        existing = project.overlays()
        needs_listing = any(s.strip is None for s in sources)
        listing = (
            repo.text("ls-tree", "-r", "-z", "--name-only", "--full-tree", lock.commit).split("\0")
            if needs_listing
            else None
        )
        prepared = plan.prepare(sources, _taken(project), listing)
        wanted = {p for item in prepared for p in item.paths}
        stack = load_stack(repo, lock.commit, existing)
        pinned = repo.read_tree_files(lock.commit, [p for p in wanted if p not in stack.final])
    current: dict[str, FileState | None] = {**pinned, **stack.final}
    results: list[plan.Imported] = []
    pairs: list[tuple[dict[str, FileState | None], dict[str, FileState | None]]] = []
    coming: list[plan.Prepared] = []
    for item in prepared:
        bad = _check_paths(item.patch, item.source.label) if item.patch else None
        if item.patch is None or bad:
            results.append(
                plan.outcome(_unreadable(item, bad) if bad else item, None, False, results)
            )
            continue
        before = {p: current.get(p) for p in item.paths}
        text = item.source.text.encode("utf-8", "surrogateescape")
        tool = "git" if item.source.tool == "git" or _has_binary(item.patch) else "patch"
        outcome, after = apply_patch(before, text, tool, item.patch.strip, item.source.reverse)
        if not outcome.applied and item.patch.crlf and tool == "git":
            # git apply takes a CRLF patch file's CRs as content; the files may have none
            lf = text.replace(b"\r\n", b"\n")
            outcome, after = apply_patch(before, lf, tool, item.patch.strip, item.source.reverse)
        changed = {p: s for p, s in after.items() if s != before.get(p)}
        escaping = [
            p
            for p, s in changed.items()
            if s is not None
            and s.mode == "120000"
            and plan.link_leaves_checkout(p, s.data.decode("utf-8", "surrogateescape"))
        ]
        if escaping:  # an overlay's symlink must point inside the checkout
            outcome = plan.ToolOutcome(
                False, message=f"makes {escaping[0]} a symlink pointing outside the checkout"
            )
            changed = {}
        done = plan.outcome(item, outcome, bool(changed), results)
        results.append(done)
        if done.comes_in:
            before_all = {p: current.get(p) for p in changed}
            pairs.append((before_all, changed))
            coming.append(item)
            current.update(changed)
    diffs = diff_many(pairs)
    overlays = []
    for item, diff in zip(coming, diffs, strict=False):
        overlay = ov.Overlay(
            item.naming.name,
            item.header.subject,
            item.header.body,
            item.header.author,
            plan.imported_fields(item),
            diff,
        )
        try:
            ov.parse(overlay.name, ov.render(overlay))  # never write what we cannot read back
        except PatchError as exc:
            at = next(n for n, r in enumerate(results) if r.name == item.naming.name)
            results[at] = replace(
                results[at], state=plan.FAILED, detail=f"forkman cannot keep it: {exc.message}"
            )
            continue
        overlays.append(overlay)
    result = ImportResult(kind, source, tuple(results), tuple(overlays), dry_run)
    if not dry_run and overlays:
        comments = {item.naming.name: item.source.comments for item in coming}
        pending_import.commit(project, overlays, comments)
    return result


def _unreadable(item: plan.Prepared, why: str) -> plan.Prepared:
    return replace(item, patch=None, error=why)


def _has_binary(patch: Patch) -> bool:
    return any(f.binary is not None for f in patch.files)


def ensure_tools(kind: str) -> None:
    """GNU patch is what quilt runs; say so before anything is read."""
    if kind == "quilt" and not has_tool("patch"):
        raise ForkmanError(
            "GNU patch is not installed (quilt series are applied with it)",
            hint="install it (e.g. `apt-get install patch`)",
        )


def import_changes(
    project: Project,
    kind: str,
    value: str,
    *,
    source_repo: Path | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """`forkman import`: read the source, import it, then bring the checkout up to the new series."""
    ensure_tools(kind)
    merges: list[str] = []
    if kind == "quilt":
        sources = quilt_sources(Path(value))
    elif kind == "patches":
        sources = patch_sources(Path(value))
    elif kind == "commits":
        with GitRepo(source_repo or project.checkout) as git:
            sources, merges = commit_sources(git, value)
    else:
        raise ForkmanError(f"unknown import kind '{kind}'")
    result = replace(
        run_import(project, kind, sources, value, dry_run=dry_run), merges=tuple(merges)
    )
    if dry_run or not (result.overlays or result.resumed):
        return result
    from forkman.commands.apply import apply

    try:
        apply(project)
        note = "put them in the checkout"
    except ForkmanError as exc:
        note = f"the checkout was not updated ({exc.message}): run `forkman apply`"
    return replace(result, checkout=note)
