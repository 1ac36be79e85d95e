"""The sync planner: every overlay re-applied onto a new release by 3-way merge, and judged.

Pure: the file contents, the recorded resolutions and the merge and diff functions are inputs,
so the planner is tested on plain values; forkman.commands.sync gives it git's merge and diff.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from forkman.core.carry import Carried, carry, holds_some, searched_blocks, without_upstreamed
from forkman.core.checks import Check, pattern_failures
from forkman.core.conflicts import Resolutions, regions, substitute
from forkman.core.culprit import Culprit
from forkman.core.explain import Explanation, OtherFile
from forkman.core.memo import Memo, digest, remember
from forkman.core.moves import may_hold
from forkman.core.overlay import Overlay
from forkman.core.records import STALE, FileRecord, Sides, choose, file_key
from forkman.core.stack import Stack, Step, build_stack
from forkman.core.states import GONE, NEEDS_ACTION, SyncState
from forkman.core.textdiff import split
from forkman.core.values import DiffFn, FileState, MergeFn, MergeJob, MergeResult, State


@dataclass(frozen=True)
class Hunk:
    path: str
    start: int
    end: int


@dataclass(frozen=True)
class FileConflict:
    path: str
    merged: bytes  # with conflict markers, as the checkout shows it
    base: FileState | None
    upstream: FileState | None
    overlay: FileState | None


@dataclass(frozen=True)
class Without:
    """A file the overlay only modified that upstream deleted: carried without it."""

    path: str
    culprit: Culprit | None = None  # the upstream commit that deleted it, once looked up

    @property
    def said(self) -> str:
        by = f" in {self.culprit.short}" if self.culprit else ""
        return f"without {self.path}: upstream deleted it{by}"


def without_text(without: Sequence[Without], carried: bool = True) -> str:
    """How a report names the files an overlay was carried without (and who deleted them)."""
    return "; ".join(("carried " if carried else "") + w.said for w in without)


@dataclass(frozen=True)
class OverlayResult:
    name: str
    state: SyncState
    files: tuple[str, ...]
    added: int = 0
    removed: int = 0
    detail: str = ""
    hunks: tuple[Hunk, ...] = ()
    cause: str | None = (
        None  # for conflicts: "upstream", or "earlier" when an earlier overlay is why
    )
    blocked_by: tuple[str, ...] = ()
    reused: tuple[str, ...] = ()  # keys of recorded resolutions applied
    warnings: tuple[str, ...] = ()
    note: str = ""  # what forkman did or noticed that a reviewer should look at
    followed: tuple[str, ...] = ()  # upstream's moves and renames the overlay followed
    why: Explanation | None = None  # the culprit and what upstream did (only when not clean)
    without: tuple[Without, ...] = ()  # files upstream deleted that it is carried without

    @property
    def needs_review(self) -> bool:
        """Carried, but by a guess a person should look at: a move followed, a file left out."""
        return bool(self.without or self.followed)

    @property
    def review(self) -> str | None:
        """The line a reviewer reads about a carry by a guess (a file left out, where its old
        patch is kept, or a move followed); None when there is nothing to look at, or when the
        overlay needs action anyway."""
        if not self.needs_review or self.state in NEEDS_ACTION:
            return None
        carried = "carried " if self.state not in GONE else ""
        said = [carried + w.said for w in self.without]
        said += [f"followed upstream's {f}" for f in self.followed]
        if self.without and self.state not in GONE:
            said.append(f"the sync keeps its whole patch in overlays/{SyncState.DROPPED}/")
        return f"{self.name} ({self.state}): " + "; ".join(said)

    def naming(self, deleted_by: Mapping[str, Culprit]) -> OverlayResult:
        """This result with the commits that deleted its left-out files named (detail, note)."""
        if not any(w.path in deleted_by for w in self.without):
            return self
        named = tuple(replace(w, culprit=deleted_by.get(w.path, w.culprit)) for w in self.without)
        detail, note = self.detail, self.note
        for old, new in zip(self.without, named, strict=True):
            detail, note = detail.replace(old.said, new.said), note.replace(old.said, new.said)
        return replace(self, without=named, detail=detail, note=note)


@dataclass(frozen=True)
class PlanInput:
    old_ref: str
    new_ref: str
    overlays: tuple[Overlay, ...]
    old_base: State
    new_base: State
    merge: MergeFn  # many 3-way merges at once (git merge-file in forkman.git.merge)
    diff: DiffFn  # one patch per (before, after) pair (git diff in forkman.git.diff)
    resolutions: Resolutions = field(default_factory=dict)  # recorded ones, by region key
    file_records: Mapping[str, FileRecord] = field(default_factory=dict)  # whole files, by key
    overrides: Mapping[str, State] = field(
        default_factory=dict
    )  # a person's resolutions, by overlay
    skipped: frozenset[str] = frozenset()
    checks: tuple[Check, ...] = ()
    old_commit: str = ""
    new_commit: str = ""
    # Only when some overlay broke: other files of the new release, where upstream may have
    # moved lines an overlay changes, and upstream's renames of the overlays' files.
    others: frozenset[str] = frozenset()
    renames: Mapping[str, str] = field(default_factory=dict)
    # Answers of the costly pure steps (moves followed, compiles), kept across a sync's runs.
    memo: Memo | None = None
    # Answers of the compile checks alone, kept across runs (for the same Python and forkman);
    # without it, the compile checks are remembered in MEMO as the rest is.
    compiled: Memo | None = None


@dataclass(frozen=True)
class Plan:
    results: tuple[OverlayResult, ...]
    overlays: dict[str, Overlay]  # the refreshed overlay of every name still in the series
    final: State  # every touched path at the new release with the overlays applied
    prefix: dict[str, State]  # each overlay's files as they stand once it is applied
    conflicts: dict[str, tuple[FileConflict, ...]]
    inputs: PlanInput | None = None  # what it was planned from (for explaining it)
    # the overlays applied at the pin, as planned: the explanation and the drift check ask the
    # same stack of it, so it is built once (it reads only the overlays' own paths of old_base)
    old: Stack | None = field(default=None, compare=False, repr=False)

    def old_stack(self) -> Stack:
        """The stack this plan carried: its overlays applied to its inputs' old_base."""
        if self.old is not None:
            return self.old
        if self.inputs is None:
            raise ValueError("a plan without inputs has no stack")
        return build_stack(self.inputs.old_base, self.inputs.overlays)

    @property
    def stop(self) -> OverlayResult | None:
        return next((r for r in self.results if r.state in NEEDS_ACTION), None)

    @property
    def clean(self) -> bool:
        return self.stop is None


def _lines(overlay_diff: str) -> tuple[int, int]:
    added = removed = 0
    for line in overlay_diff.splitlines():
        if line.startswith("+") and not line.startswith("+++ "):
            added += 1
        elif line.startswith("-") and not line.startswith("--- "):
            removed += 1
    return added, removed


def _needs_merge(base: FileState | None, ours: FileState | None, theirs: FileState | None) -> bool:
    return not (ours in (base, theirs) or theirs == base or ours is None or theirs is None)


@dataclass(frozen=True)
class _Carried:
    """What carrying one file did besides merging it: moves followed, other files changed."""

    followed: tuple[str, ...] = ()
    others: State = field(default_factory=dict)
    said: tuple[str, ...] = ()  # where a reused record came from, or why one was not used


_NOTHING = _Carried()


# Every conflicting file is carried with the same other files of the release at hand: split
# each file into lines once (the same tuple then hits the comparisons' caches at once).
@lru_cache(maxsize=256)
def _text(state: FileState | None) -> tuple[str, ...]:
    return tuple(split(state.data.decode("utf-8", "surrogateescape"))) if state else ()


Pair = tuple[FileState | None, FileState | None]  # a file at the pin and on the chain so far


def _mode(pair: Pair | None) -> str:
    return pair[1].mode if pair and pair[1] else "100644"


def _merge(
    path: str,
    base: FileState | None,
    ours: FileState | None,
    theirs: FileState | None,
    labels: tuple[str, str, str],
    inp: PlanInput,
    done: MergeResult | None = None,
    others: Callable[[], Mapping[str, Pair]] | None = None,
    name: str = "",
) -> tuple[FileState | None, FileConflict | None, list[str], FileState | None, _Carried]:
    """Merge the overlay's change to PATH (BASE -> THEIRS) into upstream's new PATH (OURS).

    Returns the merged state, the conflict if any, recorded resolutions used, a stand-in
    result (conflicts settled towards the overlay) that later overlays are planned against,
    and what carrying it did besides (moves followed into this or other files).
    """
    if ours in (base, theirs):
        return theirs, None, [], theirs, _NOTHING
    if theirs == base:
        return ours, None, [], ours, _NOTHING
    if ours is None or theirs is None:
        data = (ours or theirs or FileState(b"")).data
        conflict = FileConflict(path, data, base, ours, theirs)
        return None, conflict, [], theirs, _NOTHING
    mode = theirs.mode if base is None or theirs.mode != base.mode else ours.mode
    base_data, up, mine = base.data if base else b"", ours.data, theirs.data
    reduced = remember(
        inp.memo,
        lambda: digest("held", base_data, up, mine),
        lambda: _held(base_data, up, mine),
        (bytes, type(None)),
    )
    if reduced is not None:
        theirs, done = FileState(reduced, theirs.mode), None
    job = MergeJob(base_data, ours.data, theirs.data, labels)
    result = done or inp.merge([job])[0]
    if not result.conflicts:
        merged = FileState(result.data, mode)
        return merged, None, [], merged, _NOTHING
    near = others() if others else {}  # only now: most merges do not get here
    carried = _carried(inp, path, base_data, ours.data, theirs.data, near)
    if carried is not None and (carried.moves or carried.upstreamed):
        again = inp.merge([MergeJob(base_data, carried.upstream, carried.overlay, labels)])[0]
        if not again.conflicts:
            merged = FileState(again.data, mode)
            extra: State = {p: FileState(d, _mode(near.get(p))) for p, d in carried.others.items()}
            followed = tuple(str(m) for m in carried.moves)
            return merged, None, [], merged, _Carried(followed, extra)
    sides = Sides.of(base.data if base else None, ours.data, theirs.data)
    reused = _recorded(inp, path, name, sides, mode)
    if reused is not None:
        return reused
    text, used = substitute(result.data.decode("utf-8", "surrogateescape"), path, inp.resolutions)
    if not regions(text):
        merged = FileState(text.encode("utf-8", "surrogateescape"), mode)
        return merged, None, used, merged, _NOTHING
    stand_in = inp.merge([replace(job, favor="theirs")])[0]
    conflict = FileConflict(path, text.encode("utf-8", "surrogateescape"), base, ours, theirs)
    said = _stale(inp, path, name, sides)
    return None, conflict, used, FileState(stand_in.data, mode), _Carried(said=said)


def _held(base: bytes, upstream: bytes, overlay: bytes) -> bytes | None:
    """The overlay's file without what upstream added elsewhere in it (None: nothing to leave out):
    never add again a line upstream added elsewhere in the file."""
    if not holds_some(base, upstream, overlay):
        return None
    reduced, held = without_upstreamed(base, upstream, overlay)
    return reduced if held else None


def _carried(
    inp: PlanInput,
    path: str,
    base: bytes,
    upstream: bytes,
    overlay: bytes,
    others: Mapping[str, Pair],
) -> Carried | None:
    """carry() of the merge, remembered by its inputs: the file's three sides, and the other files
    that may hold a block it looks for (the rest cannot change its answer, and leaving them out
    of the key lets a `--skip` that changed only those reuse it)."""
    blocks = remember(
        inp.memo,
        lambda: digest("carry-searched", base, upstream, overlay),
        lambda: searched_blocks(base, upstream, overlay, inp.memo),
        (tuple,),
    )
    if not all(isinstance(b, tuple) and all(isinstance(ln, str) for ln in b) for b in blocks):
        blocks = searched_blocks(base, upstream, overlay, inp.memo)  # not blocks: worked out again
    near = {p: (o, n) for p, (o, n) in others.items() if n is not None and may_hold(blocks, n.data)}

    def key() -> str:
        held = [(p, o.data if o else None, n.data if n else None) for p, (o, n) in near.items()]
        return digest("carry", path, base, upstream, overlay, sorted(held, key=lambda x: x[0]))

    def compute() -> Carried | None:
        files = {p: OtherFile(_text(o) or None, _text(n)) for p, (o, n) in near.items()}
        return carry(path, base, upstream, overlay, files, inp.memo)

    return remember(inp.memo, key, compute, (Carried, type(None)))


def _recorded(
    inp: PlanInput, path: str, name: str, sides: Sides, mode: str
) -> tuple[FileState, None, list[str], FileState, _Carried] | None:
    """The same conflict came back (a teammate's or CI's sync of the same jump): its record."""
    key = file_key(path, sides)
    record = inp.file_records.get(key)
    if record is None or record.overlay != name:
        return None
    merged = FileState(record.postimage.encode("utf-8", "surrogateescape"), mode)
    where = f"{key}: the whole file as resolved in {record.made_for or 'an earlier sync'}"
    return merged, None, [key], merged, _Carried(said=(where,))


def _stale(inp: PlanInput, path: str, name: str, sides: Sides) -> tuple[str, ...]:
    """Why a record of NAME's conflict in PATH was not used: it is for other content."""
    if not inp.file_records:
        return ()
    stale = choose(list(inp.file_records.values()), name, path, sides)
    if stale is None or stale.kind != STALE:
        return ()
    made = stale.record.made_for or "an earlier sync"
    why = f"recorded resolution {stale.record.key} of {path} (made in {made}) is for "
    return (why + "other content on one side: not applied",)


def _compile_error(
    path: str, state: FileState | None, upstream: FileState | None, memo: Memo | None = None
) -> str | None:
    if state is None or not path.endswith(".py"):
        return None
    data, theirs = state.data, upstream.data if upstream else None
    return remember(
        memo,
        lambda: digest("compile", path, data, theirs),
        lambda: _compiles(path, state, upstream),
        (str, type(None)),
    )


def _compiles(path: str, state: FileState, upstream: FileState | None) -> str | None:
    try:
        compile(state.data, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        if upstream is not None:
            try:
                compile(upstream.data, path, "exec", dont_inherit=True)
            except SyntaxError:
                return None  # upstream's own file does not compile here (a newer Python?)
        return f"{path}:{exc.lineno} no longer compiles: {exc.msg}"
    return None


@dataclass(frozen=True)
class _Merged:
    """An overlay that merged cleanly, waiting for its refreshed diff to be judged."""

    index: int
    overlay: Overlay
    files: tuple[str, ...]
    unchanged: bool
    before: State
    after: State
    used: tuple[str, ...]
    resolved: bool
    blockers: tuple[str, ...]
    errors: tuple[str, ...]
    followed: tuple[str, ...] = ()
    said: tuple[str, ...] = ()
    without: tuple[Without, ...] = ()
    own: tuple[State, State] = ({}, {})  # its own change to the files it is carried with


def _without(step: Step, paths: Sequence[str]) -> tuple[State, State]:
    """STEP's own change with PATHS left out (the diff its carried rest is measured against)."""
    kept = [p for p in step.after if p not in paths]
    return {p: step.before[p] for p in kept}, {p: step.after[p] for p in kept}


def _left_out(result: OverlayResult, without: tuple[Without, ...]) -> OverlayResult:
    """RESULT carried without WITHOUT's files, said in its detail (a person looks: never clean)."""
    if not without:
        return result
    carried = result.state not in GONE
    said = without_text(without, carried)
    detail = f"{result.detail}; {said}" if result.detail else said
    if result.state == SyncState.CLEAN:
        return replace(result, state=SyncState.MOVED, detail=f"{said}: review it", without=without)
    if result.state in (SyncState.MOVED, SyncState.PARTLY, SyncState.RESOLVED) and not (
        result.detail.endswith("review it")
    ):
        detail += ": review it"
    return replace(result, detail=detail, without=without)


_ROUNDS = 8  # files changed by more overlays than this merge one at a time past the eighth

Foreseen = dict[tuple[str, str], tuple[FileState, MergeResult]]


def _unmerged(
    base: FileState | None, ours: FileState, theirs: FileState | None
) -> FileState | None:
    """What _merge leaves when there is nothing to merge (None: a conflict, or the file gone)."""
    if ours in (base, theirs):
        return theirs
    return ours if theirs == base else None


def _premerge(inp: PlanInput, steps: tuple[Step, ...]) -> Foreseen:
    """Merge in batches what can be foreseen, round by round: first every file as upstream has
    it; then, in each next round, each file as the previous overlay's clean merge left it. Each
    merge is kept with the upstream side it was made on: the plan takes it only when it meets
    that same side (_carry checks), so a guess that turned out wrong costs one merge more."""
    queues: dict[str, list[tuple[str, Step]]] = {}  # path -> the overlays changing it, in order
    for step in steps:
        if step.overlay.name in inp.skipped or not step.applies:
            continue
        for path in step.after:
            queues.setdefault(path, []).append((step.overlay.name, step))
    guess: dict[str, FileState] = {p: s for p in queues if (s := inp.new_base.get(p)) is not None}
    done: Foreseen = {}
    for depth in range(_ROUNDS):
        keys, sides, jobs, modes = [], [], [], []
        for path, queue in queues.items():
            ours = guess.get(path)
            if ours is None or depth >= len(queue):
                continue
            name, step = queue[depth]
            base, theirs = step.before[path], step.after[path]
            override = inp.overrides.get(name, {})
            if path in override or theirs is None or not _needs_merge(base, ours, theirs):
                after = override[path] if path in override else _unmerged(base, ours, theirs)
                if after is None:
                    guess.pop(path)
                else:
                    guess[path] = after
                continue
            keys.append((name, path))
            sides.append(ours)
            labels = (inp.new_ref, inp.old_ref, f"overlay {name}")
            jobs.append(MergeJob(base.data if base else b"", ours.data, theirs.data, labels))
            modes.append(theirs.mode if base is None or theirs.mode != base.mode else ours.mode)
        if not jobs and not any(depth + 1 < len(q) and p in guess for p, q in queues.items()):
            break
        for key, ours, mode, result in zip(
            keys, sides, modes, inp.merge(jobs) if jobs else [], strict=True
        ):
            done[key] = (ours, result)
            if result.conflicts:
                guess.pop(key[1])
            else:
                guess[key[1]] = FileState(result.data, mode)
    return done


@dataclass
class _Carry:
    """One overlay's files carried onto the chain so far (built up file by file)."""

    before: State
    after: State = field(default_factory=dict)
    stand_in: State = field(default_factory=dict)  # what later overlays are planned against
    found: list[FileConflict] = field(default_factory=list)
    used: list[str] = field(default_factory=list)  # recorded resolutions applied
    gone: list[str] = field(default_factory=list)  # files gone that it cannot go without
    without: list[str] = field(default_factory=list)  # files upstream deleted, only modified
    followed: list[str] = field(default_factory=list)  # upstream's renames and moves followed
    said: list[str] = field(default_factory=list)  # where reused records came from, or not


def _carry(inp: PlanInput, step: Step, chain: State, done: Foreseen) -> _Carry:
    """STEP's overlay merged, file by file, onto CHAIN (the new release plus earlier overlays)."""
    name = step.overlay.name
    labels = (inp.new_ref, inp.old_ref, f"overlay {name}")
    c = _Carry(before={p: chain.get(p) for p in step.after})
    before, after, stand_in, found, used, gone, followed = (
        c.before, c.after, c.stand_in, c.found, c.used, c.gone, c.followed
    )  # fmt: skip
    override = inp.overrides.get(name, {})
    for path in step.after:
        if path in override:
            after[path] = stand_in[path] = override[path]
            continue
        target = path
        if (
            chain.get(path) is None
            and step.before[path] is not None
            # a deletion upstream made too merges to it, unless upstream renamed the file
            and (step.after[path] is not None or path in inp.renames)
            and inp.old_base.get(path) is not None
        ):
            target = inp.renames.get(path, "")
            if not target and _only_modified_and_deleted(inp, step, path):
                # the rest of the overlay is still judged; the old patch keeps this part
                c.without.append(path)
                del before[path]
                continue
            if not target or chain.get(target) is None or target in step.after:
                gone.append(path)
                continue
            # upstream renamed the file: the overlay follows it
            after[path] = stand_in[path] = None
            before[target] = chain.get(target)
            followed.append(f"rename of {path} to {target}")
        foreseen = done.get((name, path)) if target == path else None
        early = foreseen[1] if foreseen and chain.get(path) == foreseen[0] else None

        def others(target: str = target) -> dict[str, Pair]:
            return {p: (inp.old_base.get(p), chain.get(p)) for p in inp.others if p != target}

        result, conflict, keys, hint, carried = _merge(
            target,
            step.before[path],
            chain.get(target),
            step.after[path],
            labels,
            inp,
            early,
            others,
            name,
        )
        used += keys
        stand_in[target] = hint
        followed += [f"move of {m}" for m in carried.followed]
        c.said.extend(carried.said)
        for other, state in carried.others.items():
            before.setdefault(other, chain.get(other))
            after[other] = stand_in[other] = state
        if conflict:
            found.append(conflict)
        else:
            after[target] = result
    return c


def _only_modified_and_deleted(inp: PlanInput, step: Step, path: str) -> bool:
    """PATH is one the overlay modifies (neither adds nor deletes) and upstream itself deleted
    (not an earlier overlay): the overlay can be carried without it."""
    return (
        step.before.get(path) is not None
        and step.after.get(path) is not None
        and inp.old_base.get(path) is not None
        and inp.new_base.get(path) is None
    )


def _conflicted(
    name: str,
    files: tuple[str, ...],
    found: list[FileConflict],
    blockers: tuple[str, ...],
    used: list[str],
    new_ref: str,
    said: Sequence[str] = (),
) -> OverlayResult:
    hunks = tuple(
        Hunk(c.path, r.start, r.end)
        for c in found
        for r in regions(c.merged.decode("utf-8", "surrogateescape"))
    )
    cause = "earlier" if blockers else "upstream"
    detail = (
        f"conflicts with {new_ref}"
        if not blockers
        else f"conflicts; earlier overlay {', '.join(blockers)} also conflicted in these files"
    )
    if said:
        detail += "; " + "; ".join(said)
    return OverlayResult(
        name,
        SyncState.CONFLICT,
        files,
        detail=detail,
        hunks=hunks,
        cause=cause,
        blocked_by=blockers,
        reused=tuple(used),
    )


def plan(inp: PlanInput, old: Stack | None = None) -> Plan:
    """The sync of INP's overlays; OLD: their stack at the pin when the caller has it (built from
    a base that agrees with INP.old_base on the overlays' paths, the only ones a stack reads)."""
    old = old if old is not None else build_stack(inp.old_base, inp.overlays)
    done = _premerge(inp, old.steps)
    chain: State = dict(inp.new_base)
    results: list[OverlayResult | None] = []
    merged: list[_Merged] = []
    prefix: dict[str, State] = {}
    conflicts: dict[str, tuple[FileConflict, ...]] = {}
    troubled: dict[str, set[str]] = {}  # overlays needing action -> their files
    for step in old.steps:
        overlay, name = step.overlay, step.overlay.name
        files = tuple(step.after) or overlay.files
        if name in inp.skipped:
            results.append(
                OverlayResult(
                    name, SyncState.SKIPPED, files, detail="left out of this sync (--skip)"
                )
            )
            continue
        if not step.applies:
            troubled[name] = set(files)
            results.append(
                OverlayResult(
                    name,
                    SyncState.NOT_APPLICABLE,
                    files,
                    detail=f"does not apply to {inp.old_ref} either: {step.error}",
                )
            )
            continue
        c = _carry(inp, step, chain, done)
        before, after, stand_in, found, used, gone, followed = (
            c.before, c.after, c.stand_in, c.found, c.used, c.gone, c.followed
        )  # fmt: skip
        override = inp.overrides.get(name, {})
        if followed:
            files = tuple(dict.fromkeys(p for p in (*files, *after) if after.get(p) is not None))
        blockers = tuple(n for n, fs in troubled.items() if fs & set(step.after))
        if gone or not set(step.after) - set(c.without):
            # nothing of it would be left to carry: a person decides (--skip keeps it whole)
            troubled[name] = set(files)
            missing = [p for p in step.after if p in gone or p in c.without]
            results.append(
                OverlayResult(
                    name,
                    SyncState.NOT_APPLICABLE,
                    files,
                    detail=f"{', '.join(missing)} no longer exists upstream",
                )
            )
            continue
        without = tuple(Without(p) for p in c.without)
        files = tuple(p for p in files if p not in c.without)
        chain.update(stand_in)
        prefix[name] = dict(stand_in)
        if found:
            troubled[name] = set(files)
            conflicts[name] = tuple(found)
            conflicted = _conflicted(name, files, found, blockers, used, inp.new_ref, c.said)
            results.append(_left_out(conflicted, without))
            continue
        # A merged Python file is compiled only when the merge made new text (neither side's own).
        compiled = inp.compiled if inp.compiled is not None else inp.memo
        errors = tuple(
            e
            for p, st in after.items()
            if st not in (step.after.get(p), before.get(p))
            and (e := _compile_error(p, st, before.get(p), compiled))
        )
        if blockers or errors:
            troubled[name] = set(files)
        merged.append(
            _Merged(
                len(results),
                overlay,
                files,
                before == step.before and after == step.after,
                before,
                after,
                tuple(used),
                bool(override),
                blockers,
                errors,
                tuple(followed),
                tuple(c.said),
                without,
                _without(step, c.without),
            )
        )
        results.append(None)
    fresh = [m for m in merged if not m.unchanged]
    # an overlay carried without some file is measured against its own diff of the other files
    partial = [m for m in merged if m.without]
    pairs = [(m.before, m.after) for m in fresh] + [m.own for m in partial]
    made = inp.diff(pairs) if pairs else []
    diffs = dict(zip((m.index for m in fresh), made[: len(fresh)], strict=True))
    owns = dict(zip((m.index for m in partial), made[len(fresh) :], strict=True))
    refreshed: dict[str, Overlay] = {}
    for m in merged:
        results[m.index], kept = _judge(
            m,
            m.overlay.diff if m.unchanged else diffs[m.index],
            inp.new_ref,
            owns.get(m.index, m.overlay.diff),
        )
        if kept is not None:
            refreshed[m.overlay.name] = kept
    final = _run_pattern_checks([r for r in results if r is not None], inp.checks, chain)
    return Plan(tuple(final), refreshed, chain, prefix, conflicts, inp, old)


def _judge(m: _Merged, diff: str, new_ref: str, own: str) -> tuple[OverlayResult, Overlay | None]:
    """An overlay's state once merged cleanly, and its refreshed self (None: leaves the series).

    OWN is the overlay's own diff of the files it is carried with (all of them, but for a file
    upstream deleted): what is clean, moved or partly upstreamed is measured against it."""
    result, kept = _judged(m, diff, new_ref, own)
    if m.without and result.state == SyncState.UPSTREAMED and kept is not None:
        kept = kept.with_field("Applied-Upstream", f"partly, {new_ref}")
        result = replace(result, detail=f"{new_ref} already makes the rest of this change")
    return _left_out(result, m.without), kept


def _judged(m: _Merged, diff: str, new_ref: str, own: str) -> tuple[OverlayResult, Overlay | None]:
    name, overlay = m.overlay.name, m.overlay
    added, removed = _lines(diff)
    old_added, old_removed = _lines(own)
    if m.blockers:
        return OverlayResult(
            name,
            SyncState.BLOCKED,
            m.files,
            added,
            removed,
            cause="earlier",
            blocked_by=m.blockers,
            detail=f"waits for {', '.join(m.blockers)}, which changes the same files",
        ), None
    if not diff.strip() and m.resolved:
        return OverlayResult(
            name,
            SyncState.DROPPED,
            m.files,
            detail="the resolution keeps none of it: dropped "
            "from the series, kept in overlays/dropped/",
        ), overlay
    if not diff.strip():
        return (
            OverlayResult(
                name, SyncState.UPSTREAMED, m.files, detail=f"{new_ref} already makes this change"
            ),
            overlay.with_field("Applied-Upstream", new_ref),
        )
    new = replace(overlay, diff=diff)
    if added + removed < old_added + old_removed:
        state, detail = SyncState.PARTLY, f"{new_ref} already makes part of it; shrunk to the rest"
        new = new.with_field("Applied-Upstream", f"partly, {new_ref}")
    elif m.resolved or m.used:
        state = SyncState.RESOLVED
        detail = "reused recorded resolution " + ", ".join(m.used) if m.used else "resolved by hand"
        if m.said:
            detail = "reused recorded resolution " + "; ".join(m.said)
    elif diff == own:
        state, detail = SyncState.CLEAN, ""
    else:
        state, detail = SyncState.MOVED, "applies cleanly; context or line numbers moved"
    if m.followed and state in (SyncState.CLEAN, SyncState.MOVED):
        state = SyncState.MOVED
        detail = "followed upstream's " + "; ".join(m.followed) + ": review it"
    if m.errors:
        state, detail = SyncState.CHECK_FAILED, "; ".join(m.errors)
    return OverlayResult(
        name, state, m.files, added, removed, detail, reused=m.used, followed=m.followed
    ), new


def _run_pattern_checks(
    results: list[OverlayResult], checks: tuple[Check, ...], final: State
) -> list[OverlayResult]:
    out = []
    for result in results:
        if result.state in NEEDS_ACTION | {SyncState.SKIPPED}:
            out.append(result)
            continue
        failures = pattern_failures(checks, result.name, final)
        if failures:
            result = replace(
                result, state=SyncState.CHECK_FAILED, detail="check failed: " + "; ".join(failures)
            )
        out.append(result)
    return out
