"""The overlay model: a named patch with a DEP-3 style header, parsed, rendered and applied exactly."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import PurePosixPath

import unidiff

from forkman.core.values import FileState
from forkman.errors import PatchError

# The lines git may write between `diff --git` and the first hunk; anything else there is corrupt.
_GIT_HEADER = re.compile(
    r"^(diff --git |(old|new|deleted file|new file) mode |index |(dis)?similarity index |"
    r"(rename|copy) (from|to) |Binary files )"
)

# Header fields written in this order; others keep their place after these.
KNOWN_FIELDS = ("From", "Subject", "Forwarded", "Applied-Upstream")


@dataclass(frozen=True)
class FileChange:
    path: str
    added: int
    removed: int
    status: str  # "modified", "added" or "deleted"


@dataclass(frozen=True)
class Overlay:
    name: str
    subject: str
    body: str = ""
    author: str | None = None
    fields: tuple[tuple[str, str], ...] = ()  # Forwarded, Applied-Upstream, ... (not From/Subject)
    diff: str = ""

    def field(self, key: str) -> str | None:
        for k, v in self.fields:
            if k.lower() == key.lower():
                return v
        return None

    def with_field(self, key: str, value: str | None) -> Overlay:
        kept = tuple((k, v) for k, v in self.fields if k.lower() != key.lower())
        return replace(self, fields=kept + (((key, value),) if value is not None else ()))

    # Parsed once per instance (the fields are frozen; `replace` makes a new instance). Read-only.
    @cached_property
    def patch(self) -> unidiff.PatchSet:
        return parse_diff(self.diff, self.name)

    @cached_property
    def changes(self) -> tuple[FileChange, ...]:
        return tuple(
            FileChange(
                target_path(pf),
                pf.added,
                pf.removed,
                "added" if pf.is_added_file else "deleted" if pf.is_removed_file else "modified",
            )
            for pf in self.patch
        )

    @cached_property
    def files(self) -> tuple[str, ...]:
        return tuple(c.path for c in self.changes)


def render(overlay: Overlay) -> str:
    """The overlay file: mail-style header (git am reads it), body, `---`, the diff. No dates."""
    head = []
    if overlay.author:
        head.append(f"From: {overlay.author}")
    head.append(f"Subject: {overlay.subject}")
    for key, value in overlay.fields:
        head.append(f"{key}: {value}")
    text = "\n".join(head) + "\n\n"
    if overlay.body.strip():
        text += overlay.body.strip("\n") + "\n\n"
    text += "---\n" + overlay.diff
    return text if text.endswith("\n") else text + "\n"


def parse(name: str, text: str, where: str = "") -> Overlay:
    """Parse an overlay file; PatchError names the file and line where it goes wrong."""
    where = where or f"overlays/{name}.patch"
    lines = io.StringIO(text).readlines()  # only "\n" ends a line, as in git (not \f, \r, \u2028)
    start = next((i for i, ln in enumerate(lines) if ln.startswith("diff --git ")), None)
    if start is None:
        raise PatchError(
            "no `diff --git` section found",
            where=f"{where}:1",
            hint="an overlay is a header, a line `---`, then a git diff",
        )
    head_lines = lines[:start]
    while head_lines and head_lines[-1].strip() in ("", "---"):
        head_lines.pop()
    fields: list[tuple[str, str]] = []
    body_lines: list[str] = []
    in_header = True
    for number, raw in enumerate(head_lines, 1):
        line = raw.rstrip("\n")
        if in_header and line == "":
            in_header = False
            continue
        if in_header:
            if line[:1] in (" ", "\t") and fields:
                fields[-1] = (fields[-1][0], fields[-1][1] + " " + line.strip())
                continue
            match = re.match(r"^([A-Za-z][A-Za-z0-9-]*):\s?(.*)$", line)
            if not match:
                raise PatchError(
                    f"header line is not 'Field: value': {line!r}",
                    where=f"{where}:{number}",
                    hint="put a blank line between the header and the description",
                )
            fields.append((match.group(1), match.group(2).strip()))
        else:
            body_lines.append(raw)
    diff = "".join(lines[start:])
    patch = parse_diff(diff, name, where, first_line=start + 1)
    values = {k.lower(): v for k, v in fields}
    subject = values.get("subject") or values.get("description") or name
    author = values.get("from") or values.get("author")
    others = tuple(
        (k, v) for k, v in fields if k.lower() not in ("subject", "description", "from", "author")
    )
    overlay = Overlay(name, subject, "".join(body_lines).strip("\n"), author, others, diff)
    overlay.__dict__["patch"] = patch  # parsed once: fills the cached_property
    return overlay


def parse_diff(diff: str, name: str, where: str = "", first_line: int = 1) -> unidiff.PatchSet:
    """Read a diff with unidiff and check that every path stays inside the checkout."""
    where = where or f"overlays/{name}.patch"
    try:
        patch = unidiff.PatchSet(io.StringIO(diff))
    except unidiff.UnidiffParseError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = first_line + int(match.group(1)) - 1 if match else first_line
        raise PatchError(
            f"the diff does not parse: {exc}",
            where=f"{where}:{line}",
            hint="regenerate it with `forkman overlay refresh` or fix it by hand",
        ) from None
    if not len(patch) and diff.strip():
        raise PatchError("the diff holds no file changes", where=f"{where}:{first_line}")
    lines = io.StringIO(diff).readlines()
    for pf in patch:
        stray = next((ln for ln in pf.patch_info or () if not _GIT_HEADER.match(ln)), None)
        if stray is not None:  # unidiff skips a mangled hunk header and its lines; git would not
            number = lines.index(stray, (pf.diff_line_no or 1) - 1) + first_line
            raise PatchError(
                f"unexpected line in the diff of {pf.path}: {stray.rstrip()!r}",
                where=f"{where}:{number}",
                hint="a hunk starts with `@@ -N,N +N,N @@`",
            )
        if pf.is_binary_file:
            raise PatchError(f"binary change to {pf.path} is not supported", where=where)
        for raw in (pf.source_file, pf.target_file):
            check_path(raw, where)
    return patch


def check_path(raw: str, where: str) -> None:
    if raw == "/dev/null":
        return
    path = raw[2:] if raw[:2] in ("a/", "b/") else raw
    parts = PurePosixPath(path).parts
    if (
        raw.startswith("/")
        or path.startswith("/")
        or ".." in parts
        or (parts and parts[0] == ".git")
    ):
        raise PatchError(
            f"path '{path}' leaves the checkout",
            where=where,
            hint="overlay paths must be relative paths inside the upstream checkout",
        )


def target_path(pf: unidiff.PatchedFile) -> str:
    raw = pf.source_file if pf.is_removed_file else pf.target_file
    return raw[2:] if raw[:2] in ("a/", "b/") else raw


def file_hash(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(raw).hexdigest()


class HunkMismatch(Exception):
    """A hunk's context or removed lines are not where the patch says."""

    def __init__(self, path: str, hunk: int, line: int):
        super().__init__(f"hunk {hunk} does not match at line {line} of {path}")
        self.path, self.hunk, self.line = path, hunk, line


def _mode(pf: unidiff.PatchedFile, default: str) -> str:
    for line in str(pf.patch_info).splitlines():
        match = re.match(r"^(?:new file mode|new mode) (\d+)", line)
        if match:
            return match.group(1)
    return default


def apply_file(state: FileState | None, pf: unidiff.PatchedFile) -> FileState | None:
    """Apply one file's hunks exactly where they say (no fuzz, no offset search)."""
    path = target_path(pf)
    if pf.is_removed_file:
        if state is None:
            raise HunkMismatch(path, 1, 1)
    elif pf.is_added_file and state is not None or not pf.is_added_file and state is None:
        raise HunkMismatch(path, 1, 1)
    old = state.data.decode("utf-8", "surrogateescape") if state else ""
    lines = io.StringIO(old).readlines()
    delta = 0
    for number, hunk in enumerate(pf, 1):
        source, target = _hunk_sides(hunk)
        start = (hunk.source_start - 1 if hunk.source_length else hunk.source_start) + delta
        if start < 0 or lines[start : start + len(source)] != source:
            raise HunkMismatch(path, number, hunk.source_start)
        lines[start : start + len(source)] = target
        delta += len(target) - len(source)
    if pf.is_removed_file:
        if lines:
            raise HunkMismatch(path, len(pf), 1)
        return None
    data = "".join(lines).encode("utf-8", "surrogateescape")
    return FileState(data, _mode(pf, state.mode if state else "100644"))


def _hunk_sides(hunk: unidiff.Hunk) -> tuple[list[str], list[str]]:
    source: list[str] = []
    target: list[str] = []
    last: list[list[str]] = []
    for line in hunk:
        if line.line_type == "\\":  # "\ No newline at end of file" belongs to the line before
            for side in last:
                side[-1] = side[-1].rstrip("\n")
            continue
        last = []
        if line.line_type in (" ", "-"):
            source.append(line.value)
            last.append(source)
        if line.line_type in (" ", "+"):
            target.append(line.value)
            last.append(target)
    return source, target
