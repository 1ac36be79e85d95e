"""An import planned as plain values: each source patch's name, header and files, and its outcome.

The patches themselves are applied by the source's own tool (GNU patch for a quilt series,
`git apply` for git patches); what those tools print is read here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from forkman.core.dep3 import Header, parse_header
from forkman.core.names import Naming, overlay_name
from forkman.core.patches import Patch, PatchFormatError, parse

# The states an imported patch ends in.
IMPORTED = "imported"  # applied exactly where it says
MOVED = "moved"  # applied at an offset or with fuzz; captured as it landed
FAILED = "failed"  # does not apply: nothing of it is imported
DEPENDS = "depends"  # does not apply, and touches files of an earlier patch that did not
EMPTY = "empty"  # applies but changes nothing (already upstream, or only prose)
UNREADABLE = "unreadable"  # not a patch forkman can read
STATES = (IMPORTED, MOVED, FAILED, DEPENDS, EMPTY, UNREADABLE)


@dataclass(frozen=True)
class Source:
    """One change as the source gives it."""

    label: str  # where it came from: "debian/patches/x.patch", "0001-x.patch", "commit 1a2b3c4"
    text: str  # the patch file's text (non-UTF-8 bytes as surrogates)
    tool: str = "git"  # "patch" (GNU patch, as quilt runs it) or "git" (git apply, as git am does)
    strip: int | None = None  # -pN; None: guessed
    reverse: bool = False  # quilt's -R
    name_from: str = ""  # what its overlay name is made from (default: the label)
    drop_number: bool = False  # format-patch's 0001- goes
    comments: tuple[str, ...] = ()  # quilt series comments above it
    header: Header | None = None  # given by the source (a commit); else read from the text
    origin: str = ""  # the `Imported-From:` value


@dataclass(frozen=True)
class Prepared:
    source: Source
    naming: Naming
    header: Header
    patch: Patch | None  # None when unreadable
    error: str | None = None

    @property
    def paths(self) -> tuple[str, ...]:
        return self.patch.paths if self.patch else ()


def prepare(
    sources: Sequence[Source],
    taken: Iterable[str] = (),
    exists: Iterable[str] | None = None,
) -> tuple[Prepared, ...]:
    """Name, read and describe every source; EXISTS (the pin's paths) settles plain -pN guesses."""
    namings = _names(sources, tuple(taken))
    known = set(exists) if exists is not None else None
    out = []
    for source, naming in zip(sources, namings, strict=False):
        try:
            read = parse(source.text, strip=source.strip, exists=known)
            patch: Patch | None = read if read.files else None
            error = None if read.files else _NO_DIFF if _CONTEXT_DIFF.search(source.text) else None
        except PatchFormatError as exc:
            patch, error = None, f"does not parse at line {exc.line}: {exc.message}"
        header = source.header or parse_header(patch.prose if patch else source.text)
        if not header.subject:
            header = Header(f"Imported: {naming.name}", header.body, header.author, header.fields)
        out.append(Prepared(source, naming, header, patch, error))
    return tuple(out)


SUBJECT_NAME_LENGTH = 52  # git format-patch's limit for the subject part of its file names
_NO_DIFF = "a context diff (`diff -c`): forkman reads git diffs and unified `diff -u` output"
_CONTEXT_DIFF = re.compile(r"^\*\*\* \S.*\n--- \S|^\*{15}$", re.MULTILINE)


def _names(sources: Sequence[Source], taken: tuple[str, ...]) -> tuple[Naming, ...]:
    used = set(taken)
    result = []
    for source in sources:
        if source.name_from:  # a subject: short, as format-patch's file names are
            naming = overlay_name(source.name_from, used, max_length=SUBJECT_NAME_LENGTH)
            taken_note = tuple(r for r in naming.reasons if r.endswith("is taken"))
            naming = replace(naming, reasons=("made from its subject", *taken_note))
        else:
            naming = overlay_name(source.label, used, source.drop_number)
        used.add(naming.name)
        result.append(naming)
    return tuple(result)


# -- what the tools say -------------------------------------------------------------------------
@dataclass(frozen=True)
class HunkNote:
    path: str
    hunk: int
    line: int | None = None  # where it landed (or was looked for, when it failed)
    offset: int = 0
    fuzz: int = 0

    def text(self) -> str:
        """ "needed fuzz 2 (src/a.c hunk #1 at line 40, offset +3 lines)", or where it failed."""
        where = f"{self.path} hunk #{self.hunk}" + (f" at line {self.line}" if self.line else "")
        if not (self.fuzz or self.offset):
            return f"{where} does not match"
        shift = f"offset {self.offset:+d} line{'s' if abs(self.offset) != 1 else ''}"
        if self.fuzz:
            return f"needed fuzz {self.fuzz} ({where}{', ' + shift if self.offset else ''})"
        return f"needed an {shift} ({where})"


@dataclass(frozen=True)
class ToolOutcome:
    """What applying one patch did, read from the tool's own words."""

    applied: bool
    moved: tuple[HunkNote, ...] = ()  # hunks that needed an offset or fuzz
    failed: tuple[HunkNote, ...] = ()  # hunks that did not apply
    reversed: bool = False  # GNU patch: "Reversed (or previously applied) patch detected"
    message: str = ""  # the tool's last word when it failed


_PATCHING = re.compile(r"^(?:patching|checking) file (.+?)\s*$")
_QUOTED_FILE = re.compile(r"^'(.*)'$")
_GNU_HUNK = re.compile(
    r"^Hunk #(\d+) (succeeded|FAILED|ignored) at (\d+)(?: with fuzz (\d+))?"
    r"(?: \(offset (-?\d+) lines?\))?"
)
_GIT_HUNK = re.compile(r"^Hunk #(\d+) succeeded at (\d+)(?: \(offset (-?\d+) lines?\))?")
_GIT_CHECKING = re.compile(r"^Checking patch (.+?)\.\.\.$")
_GIT_REJECTED = re.compile(r"^Rejected hunk #(\d+)\.")
_GIT_FAILED_AT = re.compile(r"^error: patch failed: (.+):(\d+)$")
_GIT_REJECT_FILE = re.compile(r"^Applying patch (.+?) with \d+ rejects?\.\.\.$")


def read_gnu_patch(output: str, returncode: int) -> ToolOutcome:
    """GNU patch's messages: "patching file F", "Hunk #2 succeeded at 40 with fuzz 1 (offset 3 lines)."."""
    current = ""
    moved: list[HunkNote] = []
    failed: list[HunkNote] = []
    reversed_ = False
    for line in output.splitlines():
        if match := _PATCHING.match(line):
            current = match.group(1)
            if quoted := _QUOTED_FILE.match(current):
                current = quoted.group(1)
        elif match := _GNU_HUNK.match(line):
            hunk, verb, at = int(match.group(1)), match.group(2), int(match.group(3))
            fuzz, offset = int(match.group(4) or 0), int(match.group(5) or 0)
            if verb == "succeeded":
                moved.append(HunkNote(current, hunk, at, offset, fuzz))
            else:
                failed.append(HunkNote(current, hunk, at))
        elif "Reversed (or previously applied) patch detected" in line:
            reversed_ = True
    last = next((ln.strip() for ln in reversed(output.splitlines()) if ln.strip()), "")
    applied = returncode == 0 and not failed and not reversed_
    return ToolOutcome(applied, tuple(moved), tuple(failed), reversed_, "" if applied else last)


def read_git_apply(output: str, returncode: int) -> ToolOutcome:
    """`git apply -v --reject`'s messages: offsets, "error: patch failed: F:L", "Rejected hunk #N."."""
    current = ""
    moved: list[HunkNote] = []
    failed: list[HunkNote] = []
    failed_at: dict[str, int] = {}
    errors: list[str] = []
    for line in output.splitlines():
        if (match := _GIT_CHECKING.match(line)) or (match := _GIT_REJECT_FILE.match(line)):
            current = match.group(1)
        elif match := _GIT_HUNK.match(line):
            offset = int(match.group(3) or 0)
            moved.append(HunkNote(current, int(match.group(1)), int(match.group(2)), offset))
        elif match := _GIT_FAILED_AT.match(line):
            failed_at.setdefault(match.group(1), int(match.group(2)))
        elif match := _GIT_REJECTED.match(line):
            failed.append(HunkNote(current, int(match.group(1)), failed_at.get(current)))
        elif line.startswith(("error: ", "fatal: ")) and not line.startswith("error: while"):
            errors.append(line)
    if not failed:
        failed = [HunkNote(p, 1, at) for p, at in failed_at.items()]
    applied = returncode == 0 and not failed and not errors
    message = "" if applied else (errors[-1] if errors else "git apply failed")
    return ToolOutcome(applied, tuple(m for m in moved if m.offset), tuple(failed), False, message)


# -- the outcome --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Imported:
    """One source patch's result."""

    name: str
    label: str
    state: str  # one of STATES
    detail: str = ""
    renamed: tuple[str, ...] = ()  # how its name was made
    files: tuple[str, ...] = ()
    moved: tuple[HunkNote, ...] = ()
    failed: tuple[HunkNote, ...] = ()
    depends_on: tuple[str, ...] = ()  # earlier patches that did not apply and touch its files
    notes: tuple[str, ...] = field(default=())  # what the reader guessed (-pN, CRLF)

    @property
    def comes_in(self) -> bool:
        return self.state in (IMPORTED, MOVED)


def outcome(
    prepared: Prepared,
    tool: ToolOutcome | None,
    changed: bool,
    earlier: Sequence[Imported],
    notes: Iterable[str] = (),
) -> Imported:
    """The result for PREPARED from its tool's outcome (None: never run) and whether it changed files."""
    base = Imported(
        prepared.naming.name,
        prepared.source.label,
        UNREADABLE,
        renamed=prepared.naming.reasons,
        files=prepared.paths,
        notes=(*(prepared.patch.notes if prepared.patch else ()), *notes),
    )
    if prepared.patch is None and prepared.error is None:
        return _with(base, state=EMPTY, detail="holds no diff")
    if prepared.patch is None or tool is None:
        return _with(base, state=UNREADABLE, detail=prepared.error or "not read")
    if not tool.applied:
        touched = set(prepared.paths)
        blockers = tuple(
            e.name
            for e in earlier
            if not e.comes_in and e.state != EMPTY and touched & set(e.files)
        )
        if tool.reversed:
            detail = "already applied, or reversed: the tree has its change"
        elif tool.failed:
            detail = "does not apply: " + "; ".join(h.text() for h in tool.failed)
        else:
            detail = f"does not apply: {tool.message}"
        if blockers:
            needs = ", ".join(f"'{b}'" for b in blockers)
            return _with(
                base,
                state=DEPENDS,
                detail=f"{detail} (it touches files of {needs}, which did not come in)",
                failed=tool.failed,
                depends_on=blockers,
            )
        state = EMPTY if tool.reversed else FAILED
        return _with(base, state=state, detail=detail, failed=tool.failed)
    if not changed:
        return _with(base, state=EMPTY, detail="changes nothing on the pinned tree")
    moved = tuple(h for h in tool.moved if h.offset or h.fuzz)
    if moved:
        return _with(
            base,
            state=MOVED,
            detail="; ".join(h.text() for h in moved) + " at import; captured as it landed",
            moved=moved,
        )
    return _with(base, state=IMPORTED)


def _with(base: Imported, **changes: object) -> Imported:
    return replace(base, **changes)  # type: ignore[arg-type]


def imported_fields(prepared: Prepared) -> tuple[tuple[str, str], ...]:
    """The overlay's header fields: every field the source gave, then where it came from."""
    fields = [(k, " ".join(v.split())) for k, v in prepared.header.fields]
    if prepared.source.origin:
        fields.append(("Imported-From", prepared.source.origin))
    if not any(k.lower() == "forwarded" for k, _ in fields):
        fields.append(("Forwarded", "no"))
    return tuple(fields)


def link_leaves_checkout(path: str, target: str) -> bool:
    """Whether a symlink at PATH pointing at TARGET resolves outside the checkout (or into .git)."""
    if target.startswith("/"):
        return True
    parts: list[str] = path.split("/")[:-1]
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return True
            parts.pop()
        else:
            parts.append(part)
    return bool(parts) and parts[0] == ".git"
