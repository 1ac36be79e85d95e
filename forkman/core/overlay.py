"""The overlay model: a named patch with a DEP-3 style header, parsed, rendered and applied exactly."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import PurePosixPath

from forkman.core import patches
from forkman.core.patches import FilePatch, HunkMismatch, Patch, PatchFormatError
from forkman.core.pathrules import has_git_component, symlink_target_problem
from forkman.core.values import FileState, file_hash
from forkman.errors import PatchError

__all__ = ["FileChange", "HunkMismatch", "Overlay", "apply_file", "file_hash", "parse", "render"]

# Header fields written in this order; others keep their place after these.
KNOWN_FIELDS = ("From", "Subject", "Forwarded", "Applied-Upstream")


@dataclass(frozen=True)
class FileChange:
    path: str
    added: int
    removed: int
    status: str  # "modified", "added", "deleted", "renamed" or "copied"
    old_path: str | None = None  # where a renamed or copied file came from


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
    def patch(self) -> Patch:
        return parse_diff(self.diff, self.name)

    @cached_property
    def changes(self) -> tuple[FileChange, ...]:
        return tuple(
            FileChange(
                fp.path,
                fp.added,
                fp.removed,
                fp.kind,
                fp.old_path if fp.kind in ("renamed", "copied") else None,
            )
            for fp in self.patch.files
        )

    @cached_property
    def files(self) -> tuple[str, ...]:
        """Every path it changes: both sides of a rename (the old one goes)."""
        return self.patch.paths


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
    _refuse_crlf_and_nul(lines, where)
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


def _refuse_crlf_and_nul(lines: list[str], where: str) -> None:
    """An overlay converted to CRLF (an editor, `core.autocrlf`), or holding a NUL byte."""
    for number, line in enumerate(lines, 1):
        if "\0" in line:
            raise PatchError(
                "the overlay holds a NUL byte: binary content is not supported",
                where=f"{where}:{number}",
                hint="keep binary files out of overlays (commit them to this repo and link them)",
            )
        if line.startswith(("diff --git ", "Subject:", "From:")) and line.endswith("\r\n"):
            raise PatchError(
                "the overlay has Windows line endings (CRLF), so git would not apply it either",
                where=f"{where}:{number}",
                hint="convert it back with `dos2unix`, and add `*.patch -text` to .gitattributes",
            )


def parse_diff(diff: str, name: str, where: str = "", first_line: int = 1) -> Patch:
    """Read an overlay's git diff and check that every path stays inside the checkout."""
    where = where or f"overlays/{name}.patch"
    try:
        patch = patches.parse(diff, strip=1, crlf=False, strict=True)
    except PatchFormatError as exc:
        number = first_line + exc.line - 1
        raise PatchError(
            f"corrupt patch at line {number}: {exc.message}",  # git apply's words
            where=f"{where}:{number}",
            hint="regenerate it with `forkman overlay refresh` or fix it by hand",
        ) from None
    if not patch.files and diff.strip():
        raise PatchError("the diff holds no file changes", where=f"{where}:{first_line}")
    for fp in patch.files:
        line = f"{where}:{first_line + fp.line - 1}"
        if not fp.git:
            raise PatchError(
                f"the change to {fp.path} has no `diff --git` line",
                where=line,
                hint="an overlay's diff is git's; regenerate it with `forkman overlay refresh`",
            )
        if fp.binary_differs:
            raise PatchError(
                f"the binary change to {fp.path} has no data ('Binary files ... differ')",
                where=line,
                hint="regenerate it with `forkman overlay refresh` (forkman writes git binary patches)",
            )
        for path in fp.paths:
            check_path(path, line)
    _check_symlinks(patch, where, first_line)
    return patch


def _check_symlinks(patch: Patch, where: str, first_line: int) -> None:
    """A link the diff adds points inside the checkout, and nothing is written through it."""
    links = {}
    for fp in patch.files:
        if fp.new_mode == "120000" and fp.new_path is not None:
            target = "".join(ln[1:] for h in fp.hunks for ln in h.lines if ln[:1] == "+")
            links[fp.new_path] = (target.removesuffix("\n"), fp.line)
    for path, (target, number) in links.items():
        problem = symlink_target_problem(path, target)
        if problem:
            raise PatchError(
                f"the symbolic link {path} {problem}",
                where=f"{where}:{first_line + number - 1}",
                hint="a link an overlay adds must point inside the checkout",
            )
    for fp in patch.files:
        through = next((p for p in links if fp.path.startswith(p + "/")), None)
        if through is not None:
            raise PatchError(
                f"{fp.path} would be written through the symbolic link {through} the diff adds",
                where=f"{where}:{first_line + fp.line - 1}",
                hint="git never writes a file beyond a symbolic link; neither does forkman",
            )


def check_path(raw: str, where: str) -> None:
    if raw == "/dev/null":
        return
    path = raw[2:] if raw[:2] in ("a/", "b/") else raw
    parts = PurePosixPath(path).parts
    if raw.startswith("/") or path.startswith("/") or ".." in parts or has_git_component(path):
        raise PatchError(
            f"path '{path}' leaves the checkout",
            where=where,
            hint="overlay paths must be relative paths inside the upstream checkout",
        )


def _mode(fp: FilePatch, state: FileState | None) -> str:
    return fp.new_mode or (state.mode if state else "100644")


def apply_file(state: FileState | None, fp: FilePatch) -> FileState | None:
    """One file's change applied exactly where it says (no fuzz, no offset search).

    STATE is the file the change reads: the old path's for a rename or a copy.
    """
    if fp.binary is not None:
        try:
            data = patches.apply_binary(state.data if state else None, fp)
        except ValueError as exc:
            if isinstance(exc, HunkMismatch):
                raise
            raise HunkMismatch(fp.path, 1, 1) from None
        return None if data is None else FileState(data, _mode(fp, state))
    if fp.kind == "added" and state is not None:
        raise HunkMismatch(fp.path, 1, 1)
    data = patches.apply_text(state.data if state else None, fp)
    return None if data is None else FileState(data, _mode(fp, state))
