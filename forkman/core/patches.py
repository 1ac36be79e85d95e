"""The patch dialects real series use, read into plain values and written back as git writes them.

Read: git diffs (quoted paths, renames, copies, modes, `GIT binary patch`), plain `diff -u` and
`diff -Naur` output (dates, `Index:` lines, epoch dates for created and deleted files), any
`-pN`, leading prose, CRLF patch files and `\\ No newline at end of file`. Written: the git
diff form forkman keeps in overlays, with git's own C-style path quoting. Pure: no processes,
no files.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

KINDS = ("modified", "added", "deleted", "renamed", "copied")


class PatchFormatError(ValueError):
    """The text is not a patch this reader understands; LINE is 1-based in the text."""

    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.message, self.line = message, line


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str = ""  # what follows the closing `@@`, as written (e.g. " def main():")
    lines: tuple[str, ...] = ()  # each starts with " ", "-", "+" or "\\" and keeps its "\n"

    def sides(self) -> tuple[list[str], list[str]]:
        """The old and new lines; `\\ No newline at end of file` takes the "\\n" off the line before."""
        old: list[str] = []
        new: list[str] = []
        last: list[list[str]] = []
        for line in self.lines:
            tag, text = line[:1], line[1:]
            if tag == "\\":
                for side in last:
                    side[-1] = side[-1].removesuffix("\n")
                continue
            last = []
            if tag in (" ", "-"):
                old.append(text)
                last.append(old)
            if tag in (" ", "+"):
                new.append(text)
                last.append(new)
        return old, new

    @property
    def added(self) -> int:
        return sum(1 for ln in self.lines if ln[:1] == "+")

    @property
    def removed(self) -> int:
        return sum(1 for ln in self.lines if ln[:1] == "-")


@dataclass(frozen=True)
class FilePatch:
    """One file's change. Paths are stripped of their `-pN` components; None is /dev/null."""

    old_path: str | None
    new_path: str | None
    kind: str = "modified"  # one of KINDS
    old_mode: str | None = None
    new_mode: str | None = None
    similarity: int | None = None  # renames and copies
    dissimilarity: int | None = None
    index: str | None = None  # git's `index` line, as read ("abc..def 100644")
    hunks: tuple[Hunk, ...] = ()
    binary: tuple[str, ...] | None = None  # the `GIT binary patch` block's lines, verbatim
    binary_differs: bool = False  # "Binary files ... differ": a binary change without its data
    git: bool = False  # read from a `diff --git` section
    line: int = 0  # where its header starts in the text read (1-based; 0 when built)

    @property
    def path(self) -> str:
        """The path the change leaves behind (the old one for a deletion)."""
        return self.new_path if self.new_path is not None else self.old_path or ""

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path it reads or writes: both sides of a rename or copy."""
        return tuple(dict.fromkeys(p for p in (self.old_path, self.new_path) if p is not None))

    @property
    def added(self) -> int:
        return sum(h.added for h in self.hunks)

    @property
    def removed(self) -> int:
        return sum(h.removed for h in self.hunks)

    @property
    def is_binary(self) -> bool:
        return self.binary is not None or self.binary_differs


@dataclass(frozen=True)
class Patch:
    prose: str  # everything before the first file's header: a mail, DEP-3 fields, comments
    files: tuple[FilePatch, ...]
    strip: int = 1  # the -p level the paths were read with
    crlf: bool = False  # the patch's own lines ended in CRLF and one CR was taken off each
    notes: tuple[str, ...] = field(default=(), compare=False)  # what the reader guessed, and why

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for f in self.files for p in f.paths))


# -- git's C-style quoting ----------------------------------------------------------------------
_ESCAPES = {7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r", 34: '"', 92: "\\"}
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}


def _needs_quote(byte: int, non_ascii: bool) -> bool:
    return byte < 0x20 or byte in (0x22, 0x5C, 0x7F) or (non_ascii and byte >= 0x80)


def quote_path(path: str, non_ascii: bool = True) -> str:
    """PATH as git writes it in a diff header: unchanged, or in double quotes with C escapes.

    NON_ASCII is git's core.quotePath (true by default): bytes above 0x7f become octal escapes.
    Paths are str with non-UTF-8 bytes as surrogates (`surrogateescape`).
    """
    raw = path.encode("utf-8", "surrogateescape")
    if not any(_needs_quote(b, non_ascii) for b in raw):
        return path
    out = bytearray(b'"')
    for byte in raw:
        if not _needs_quote(byte, non_ascii):
            out.append(byte)
        elif byte in _ESCAPES:
            out += b"\\" + _ESCAPES[byte].encode()
        else:
            out += b"\\%03o" % byte
    out += b'"'
    return out.decode("utf-8", "surrogateescape")


def unquote_path(text: str) -> tuple[str, int]:
    """A quoted name at the start of TEXT (which starts with '"'): the path and the length read.

    git's unquote_c_style: `\\a \\b \\t \\n \\v \\f \\r \\" \\\\` and three octal digits.
    """
    raw = text.encode("utf-8", "surrogateescape")
    if raw[:1] != b'"':
        raise ValueError("a quoted path starts with '\"'")
    out = bytearray()
    i = 1
    while i < len(raw):
        byte = raw[i]
        if byte == 0x22:
            return out.decode("utf-8", "surrogateescape"), len(
                raw[: i + 1].decode("utf-8", "surrogateescape")
            )
        if byte != 0x5C:
            out.append(byte)
            i += 1
            continue
        nxt = raw[i + 1 : i + 2].decode("latin-1")
        if nxt in _UNESCAPES:
            out.append(_UNESCAPES[nxt])
            i += 2
        elif re.fullmatch(rb"[0-3][0-7][0-7]", raw[i + 1 : i + 4]):
            out.append(int(raw[i + 1 : i + 4], 8))
            i += 4
        else:
            raise ValueError(f"unknown escape '\\{nxt}' in a quoted path")
    raise ValueError("a quoted path has no closing '\"'")


# -- reading ------------------------------------------------------------------------------------
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_DATE = re.compile(
    r"\s+(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: ?[+-]\d{4})?"
    r"|\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d(?: \d{4})?(?: [+-]\d{4})?)\s*$"
)
_EPOCH = re.compile(r"^(?:1970-01-01|1969-12-31)|^\w{3} (?:Jan  1|Dec 31) .*19(?:70|69)")
_PREAMBLE = re.compile(r"^(Index: |={20,}|diff |RCS file: |retrieving revision |Only in )")
_GIT_EXTENDED = (
    "old mode ",
    "new mode ",
    "deleted file mode ",
    "new file mode ",
    "copy from ",
    "copy to ",
    "rename from ",
    "rename to ",
    "rename old ",
    "rename new ",
    "similarity index ",
    "dissimilarity index ",
    "index ",
)

Exists = Callable[[str], bool]


def parse(
    text: str,
    strip: int | None = None,
    exists: Exists | Collection[str] | None = None,
    crlf: bool | None = None,
    strict: bool = False,
) -> Patch:
    """Read TEXT's file changes.

    STRIP is the -p level (None: guessed; git diffs are -p1 unless their names have no a/ and b/).
    EXISTS (a path predicate or a set of paths in the tree the patch is for) settles a plain
    diff's -p level and which of its two names it changes. CRLF None takes one CR off every line
    when every header line ends in CRLF (a patch file saved with Windows line endings); True or
    False forces it. STRICT (forkman's own overlays) refuses any line after the first file
    that belongs to no file, as git apply would, instead of skipping it as prose.
    """
    lines = [ln for ln in re.split(r"(?<=\n)", text) if ln]  # only "\n" ends a line, as in git
    exists_fn = _exists_fn(exists)
    notes: list[str] = []
    if crlf is None:
        heads = [ln for ln in lines if ln.startswith(("diff --git ", "--- ", "+++ ", "@@ "))]
        crlf = bool(heads) and all(ln.endswith("\r\n") for ln in heads)
        if crlf:
            notes.append("the patch has CRLF line endings: read without them")
    if crlf:
        lines = [ln[:-2] + "\n" if ln.endswith("\r\n") else ln for ln in lines]
    raw_files: list[_RawFile] = []
    first: int | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("diff --git "):
            raw, i = _read_git(lines, i)
        elif (
            line.startswith("--- ")
            and i + 2 < len(lines)
            and lines[i + 1].startswith("+++ ")
            and _HUNK.match(lines[i + 2])
        ):
            raw, i = _read_plain(lines, i)
        elif line.startswith("Binary files ") and line.rstrip("\n").endswith(" differ"):
            raw, i = _read_binary_note(line, i), i + 1
        else:
            if strict and first is not None and line.strip():
                raise PatchFormatError(
                    f"unexpected line in the diff of {raw_files[-1].label()}: {line.rstrip()!r} "
                    "(a hunk starts with `@@ -N,N +N,N @@`)",
                    i + 1,
                )
            i += 1
            continue
        if first is None:
            first = raw.line - 1
        raw_files.append(raw)
    if first is None:
        first = len(lines)
    prose_lines = lines[:first]
    while prose_lines and _PREAMBLE.match(prose_lines[-1]):
        prose_lines.pop()
    level = strip if strip is not None else _guess_strip(raw_files, exists_fn, notes)
    files = tuple(_finish(raw, level, exists_fn) for raw in raw_files)
    return Patch("".join(prose_lines), files, level, crlf, tuple(notes))


@dataclass
class _RawFile:
    """A file section as written, before its names are stripped."""

    line: int
    git: bool
    names: tuple[str | None, str | None] = (None, None)  # from `diff --git`
    minus: str | None = None  # the --- name (None: /dev/null); "" when absent
    plus: str | None = None
    minus_epoch: bool = False
    plus_epoch: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    hunks: list[Hunk] = field(default_factory=list)
    binary: tuple[str, ...] | None = None
    binary_differs: bool = False
    seen_minus: bool = False

    def label(self) -> str:
        names = [n for n in (self.plus, self.minus, *self.names[::-1]) if n]
        return names[0] if names else "?"


def _read_git(lines: list[str], start: int) -> tuple[_RawFile, int]:
    raw = _RawFile(start + 1, True)
    raw.names = _git_names(lines[start][len("diff --git ") :].rstrip("\n"), start + 1)
    i = start + 1
    while i < len(lines):
        line = lines[i]
        body = line.rstrip("\n")
        key = next((k for k in _GIT_EXTENDED if line.startswith(k)), None)
        if key is not None:
            raw.headers[key.strip()] = body[len(key) :]
            i += 1
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            raw.minus, _ = _name(body[4:], git=True, line=i + 1)
            raw.plus, _ = _name(lines[i + 1].rstrip("\n")[4:], git=True, line=i + 2)
            raw.seen_minus = True
            i += 2
        elif _HUNK.match(line):
            i = _read_hunks(lines, i, raw)
            break
        elif body == "GIT binary patch":
            i = _read_binary(lines, i + 1, raw)
            break
        elif line.startswith("Binary files ") and body.endswith(" differ"):
            raw.binary_differs = True
            i += 1
            break
        else:
            break
    return raw, i


def _read_plain(lines: list[str], start: int) -> tuple[_RawFile, int]:
    raw = _RawFile(start + 1, False, seen_minus=True)
    raw.minus, raw.minus_epoch = _name(lines[start].rstrip("\n")[4:], git=False, line=start + 1)
    raw.plus, raw.plus_epoch = _name(lines[start + 1].rstrip("\n")[4:], git=False, line=start + 2)
    return raw, _read_hunks(lines, start + 2, raw)


def _read_binary_note(line: str, i: int) -> _RawFile:
    match = re.match(r"^Binary files (.+) and (.+) differ$", line.rstrip("\n"))
    raw = _RawFile(i + 1, False, binary_differs=True, seen_minus=True)
    if match:
        raw.minus = None if match.group(1) == "/dev/null" else match.group(1)
        raw.plus = None if match.group(2) == "/dev/null" else match.group(2)
    return raw


def _read_hunks(lines: list[str], i: int, raw: _RawFile) -> int:
    while i < len(lines):
        match = _HUNK.match(lines[i].rstrip("\n"))
        if not match:
            break
        old_start, old_count = int(match.group(1)), int(match.group(2) or "1")
        new_start, new_count = int(match.group(3)), int(match.group(4) or "1")
        header_line = i + 1
        i += 1
        body: list[str] = []
        old_left, new_left = old_count, new_count
        while old_left > 0 or new_left > 0:
            if i >= len(lines):
                raise PatchFormatError(
                    f"the hunk at line {header_line} ends early "
                    f"({old_left} old and {new_left} new lines missing)",
                    i + 1 if i < len(lines) else len(lines),
                )
            line = lines[i]
            tag = line[:1]
            if line in ("\n", "\r\n"):  # a mailer took the space off an empty context line
                line, tag = " " + line, " "
            if tag == " " and old_left > 0 and new_left > 0:
                old_left, new_left = old_left - 1, new_left - 1
            elif tag == "-" and old_left > 0:
                old_left -= 1
            elif tag == "+" and new_left > 0:
                new_left -= 1
            elif tag == "\\" and body:
                pass
            else:
                raise PatchFormatError(
                    f"the hunk at line {header_line} has a line that does not fit its counts: "
                    f"{line.rstrip()!r}",
                    i + 1,
                )
            body.append(line)
            i += 1
        if i < len(lines) and lines[i].startswith("\\"):
            body.append(lines[i])
            i += 1
        raw.hunks.append(
            Hunk(old_start, old_count, new_start, new_count, match.group(5), tuple(body))
        )
    return i


def _read_binary(lines: list[str], i: int, raw: _RawFile) -> int:
    """A `GIT binary patch` block: one or two `literal N`/`delta N` sections, each ended by a blank line."""
    block: list[str] = []
    sections = 0
    while i < len(lines) and sections < 2 and re.match(r"^(literal|delta) \d+$", lines[i].rstrip()):
        block.append(lines[i].rstrip("\n"))
        i += 1
        while i < len(lines) and lines[i].strip():
            block.append(lines[i].rstrip("\n"))
            i += 1
        block.append("")
        i += 1  # the blank line
        sections += 1
    if not sections:
        raise PatchFormatError("`GIT binary patch` without a `literal` or `delta` section", i + 1)
    raw.binary = tuple(block)
    return i


def _name(text: str, git: bool, line: int) -> tuple[str | None, bool]:
    """A ---/+++ name (None for /dev/null) and whether its date is the epoch (file absent)."""
    if text.startswith('"'):
        try:
            name, used = unquote_path(text)
        except ValueError as exc:
            raise PatchFormatError(str(exc), line) from None
        rest = text[used:]
    elif "\t" in text:
        name, _, rest = text.partition("\t")
    elif git:
        name, rest = text, ""
    else:
        match = _DATE.search(text)
        name, rest = (text[: match.start()], text[match.start() :]) if match else (text, "")
        name = name.rstrip() if match else name.rstrip("\r ")
    if name == "/dev/null":
        return None, False
    return name, bool(_EPOCH.match(rest.strip()))


def _git_names(rest: str, line: int) -> tuple[str | None, str | None]:
    """The two names of a `diff --git` line as git reads them; (None, None) when ambiguous."""
    try:
        if rest.startswith('"'):
            first, used = unquote_path(rest)
            second_text = rest[used:].lstrip(" ")
            second = unquote_path(second_text)[0] if second_text.startswith('"') else second_text
            return first, second
        if '"' in rest and rest.endswith('"'):
            start = rest.rfind(' "')
            while start > 0:
                try:
                    second, used = unquote_path(rest[start + 1 :])
                    if start + 1 + used == len(rest):
                        return rest[:start], second
                except ValueError:
                    pass
                start = rest.rfind(' "', 0, start)
    except ValueError as exc:
        raise PatchFormatError(str(exc), line) from None
    # Unquoted: split where both halves name the same path after their first component.
    for pos in [m.start() for m in re.finditer(" ", rest)]:
        first, second = rest[:pos], rest[pos + 1 :]
        if "/" in first and "/" in second and first.split("/", 1)[1] == second.split("/", 1)[1]:
            return first, second
    if rest.count(" ") == 1:
        first, second = rest.split(" ")
        return first, second
    return None, None


def _strip(name: str | None, level: int) -> str | None:
    if name is None:
        return None
    if name.startswith("/") and level:
        return name  # an absolute name stays one, for the caller to refuse
    parts = [p for p in name.split("/") if p]
    if len(parts) <= level:
        return None
    return "/".join(parts[level:])


def _exists_fn(exists: Exists | Collection[str] | None) -> Exists | None:
    if exists is None or callable(exists):
        return exists
    paths = set(exists)
    return paths.__contains__


def _guess_strip(raw_files: list[_RawFile], exists: Exists | None, notes: list[str]) -> int:
    if not raw_files:
        return 1
    names = [
        n
        for raw in raw_files
        for n in (*raw.names, raw.minus, raw.plus)
        if n is not None and not raw.binary_differs
    ] or [n for raw in raw_files for n in (raw.minus, raw.plus) if n is not None]
    if all(raw.git for raw in raw_files):
        prefixed = all(n.startswith(("a/", "b/")) for n in names)
        return 1 if prefixed else 0
    if exists is not None:
        for level in range(4):
            if all(
                _plain_target(raw, level, exists, fallback=False) is not None
                for raw in raw_files
                if not (raw.minus is None or raw.minus_epoch)  # created files exist nowhere yet
            ):
                if level != 1:
                    notes.append(f"-p{level}: the names that exist in the tree at that level")
                return level
    # Without a tree: `a/x b/x` or `pkg.orig/x pkg/x` is -p1, `x.orig x` is -p0.
    for raw in raw_files:
        if raw.minus and raw.plus and raw.minus != raw.plus:
            old, new = raw.minus.split("/"), raw.plus.split("/")
            if len(old) == len(new) and old[1:] == new[1:] and len(old) > 1:
                return 1
            if len(old) == len(new) and old[:-1] == new[:-1]:
                notes.append("-p0: the two names differ only in the last component")
                return 0
    return 1


def _plain_target(raw: _RawFile, level: int, exists: Exists | None, fallback: bool) -> str | None:
    """The file a plain diff changes, as GNU patch picks it: an existing name, fewest parts first."""
    names = [_strip(n, level) for n in (raw.minus, raw.plus) if n is not None]
    candidates = [n for n in names if n is not None]
    if exists is not None:
        existing = [n for n in candidates if exists(n)]
        if existing or not fallback:
            candidates = existing
    if not candidates:
        return None
    return min(candidates, key=lambda n: (n.count("/"), len(n.rsplit("/", 1)[-1]), len(n)))


def _finish(raw: _RawFile, level: int, exists: Exists | None) -> FilePatch:
    if raw.git:
        return _finish_git(raw, level)
    old_absent = raw.minus is None or (
        raw.minus_epoch and all(h.old_count == 0 for h in raw.hunks) and bool(raw.hunks)
    )
    new_absent = raw.plus is None or (
        raw.plus_epoch and all(h.new_count == 0 for h in raw.hunks) and bool(raw.hunks)
    )
    if old_absent and not new_absent:
        path, kind = _strip(raw.plus, level), "added"
        old, new = None, path
    elif new_absent and not old_absent:
        path, kind = _strip(raw.minus, level), "deleted"
        old, new = path, None
    else:
        path, kind = _plain_target(raw, level, exists, fallback=True), "modified"
        old = new = path
    if path is None:
        raise PatchFormatError(
            f"the names '{raw.minus}' and '{raw.plus}' have no path left at -p{level}", raw.line
        )
    return FilePatch(
        old,
        new,
        kind,
        hunks=tuple(raw.hunks),
        binary_differs=raw.binary_differs,
        line=raw.line,
    )


def _finish_git(raw: _RawFile, level: int) -> FilePatch:
    h = raw.headers
    a, b = (_strip(n, level) for n in raw.names)
    if raw.seen_minus:
        a = _strip(raw.minus, level) if raw.minus is not None else None
        b = _strip(raw.plus, level) if raw.plus is not None else None
    kind = "modified"
    old_mode = h.get("old mode") or h.get("deleted file mode")
    new_mode = h.get("new mode") or h.get("new file mode")
    index_mode = re.search(r" (\d{6})$", h.get("index", ""))
    if "new file mode" in h:
        kind, a = "added", None
        b = b if b is not None else _strip(raw.names[1], level)
    elif "deleted file mode" in h:
        kind, b = "deleted", None
        a = a if a is not None else _strip(raw.names[0], level)
    elif "rename from" in h or "rename old" in h:
        kind = "renamed"
        a = _header_path(h.get("rename from", h.get("rename old", "")), raw.line)
        b = _header_path(h.get("rename to", h.get("rename new", "")), raw.line)
    elif "copy from" in h:
        kind = "copied"
        a = _header_path(h["copy from"], raw.line)
        b = _header_path(h["copy to"], raw.line)
    if kind == "modified" and index_mode and not old_mode:
        old_mode = new_mode = index_mode.group(1)
    if kind in ("modified", "renamed", "copied") and (a is None or b is None):
        if a is None and b is None:
            raise PatchFormatError(
                "a `diff --git` line whose names cannot be told apart (quote them, or add ---/+++)",
                raw.line,
            )
        a = b = a if a is not None else b
    similarity = re.match(r"(\d+)%", h.get("similarity index", ""))
    dissimilarity = re.match(r"(\d+)%", h.get("dissimilarity index", ""))
    return FilePatch(
        a,
        b,
        kind,
        old_mode,
        new_mode,
        int(similarity.group(1)) if similarity else None,
        int(dissimilarity.group(1)) if dissimilarity else None,
        h.get("index"),
        tuple(raw.hunks),
        raw.binary,
        raw.binary_differs,
        True,
        raw.line,
    )


def _header_path(text: str, line: int) -> str:
    if text.startswith('"'):
        try:
            return unquote_path(text)[0]
        except ValueError as exc:
            raise PatchFormatError(str(exc), line) from None
    return text


# -- writing ------------------------------------------------------------------------------------
def render(files: Collection[FilePatch], non_ascii: bool = False, index: bool = True) -> str:
    """FILES as a git diff, quoting paths as git does (NON_ASCII is core.quotePath).

    Reading the output back gives the same values; `index` lines are written when kept and INDEX.
    """
    out: list[str] = []
    for fp in files:
        out += _extended_header(fp, non_ascii, index)
        if fp.binary is not None:
            out.append("GIT binary patch\n")
            out.extend(f"{ln}\n" for ln in fp.binary)
        elif fp.binary_differs:
            out.append(
                f"Binary files {_side('a', fp.old_path)} and {_side('b', fp.new_path)} differ\n"
            )
        elif fp.hunks:
            out.append(f"--- {_dash_name('a', fp.old_path, non_ascii)}\n")
            out.append(f"+++ {_dash_name('b', fp.new_path, non_ascii)}\n")
            for hunk in fp.hunks:
                out.append(_hunk_header(hunk))
                out.extend(hunk.lines)
    return "".join(out)


def _extended_header(fp: FilePatch, non_ascii: bool, index: bool) -> list[str]:
    """`diff --git` and the lines git writes before the hunks: modes, rename, index."""
    old = fp.old_path if fp.old_path is not None else fp.new_path
    new = fp.new_path if fp.new_path is not None else fp.old_path
    a, b = quote_path(f"a/{old}", non_ascii), quote_path(f"b/{new}", non_ascii)
    out = [f"diff --git {a} {b}\n"]
    if fp.kind == "added":
        out.append(f"new file mode {fp.new_mode or '100644'}\n")
    elif fp.kind == "deleted":
        out.append(f"deleted file mode {fp.old_mode or '100644'}\n")
    elif fp.old_mode and fp.new_mode and fp.old_mode != fp.new_mode:
        out.append(f"old mode {fp.old_mode}\nnew mode {fp.new_mode}\n")
    if fp.kind in ("renamed", "copied"):
        verb = "rename" if fp.kind == "renamed" else "copy"
        if fp.similarity is not None:
            out.append(f"similarity index {fp.similarity}%\n")
        out.append(f"{verb} from {quote_path(old or '', non_ascii)}\n")
        out.append(f"{verb} to {quote_path(new or '', non_ascii)}\n")
    elif fp.dissimilarity is not None:
        out.append(f"dissimilarity index {fp.dissimilarity}%\n")
    if index and fp.index:
        out.append(f"index {fp.index}\n")
    return out


def _side(prefix: str, path: str | None) -> str:
    return "/dev/null" if path is None else f"{prefix}/{path}"


def _dash_name(prefix: str, path: str | None, non_ascii: bool) -> str:
    """A ---/+++ name; git ends an unquoted name holding a space with a tab."""
    if path is None:
        return "/dev/null"
    name = quote_path(f"{prefix}/{path}", non_ascii)
    return name + "\t" if " " in path else name


def _hunk_header(hunk: Hunk) -> str:
    def span(start: int, count: int) -> str:
        return f"{start}" if count == 1 else f"{start},{count}"

    return (
        f"@@ -{span(hunk.old_start, hunk.old_count)} +{span(hunk.new_start, hunk.new_count)} @@"
        f"{hunk.section}\n"
    )


# -- applying exactly ---------------------------------------------------------------------------
class HunkMismatch(ValueError):
    """A hunk's context or removed lines are not where the patch says."""

    def __init__(self, path: str, hunk: int, line: int):
        super().__init__(f"hunk {hunk} does not match at line {line} of {path}")
        self.path, self.hunk, self.line = path, hunk, line


def apply_text(old: bytes | None, fp: FilePatch) -> bytes | None:
    """FP's hunks applied exactly where they say (no fuzz, no offset); None when it deletes.

    Bytes that are not UTF-8 and CRs inside lines are content, kept as they are.
    """
    path = fp.path
    if fp.kind == "added" and old is not None and old != b"":
        raise HunkMismatch(path, 1, 1)
    if fp.kind != "added" and old is None:
        raise HunkMismatch(path, 1, 1)
    lines = [
        ln for ln in re.split(r"(?<=\n)", (old or b"").decode("utf-8", "surrogateescape")) if ln
    ]
    delta = 0
    for number, hunk in enumerate(fp.hunks, 1):
        source, target = hunk.sides()
        start = (hunk.old_start - 1 if hunk.old_count else hunk.old_start) + delta
        if start < 0 or lines[start : start + len(source)] != source:
            raise HunkMismatch(path, number, hunk.old_start)
        lines[start : start + len(source)] = target
        delta += len(target) - len(source)
    if fp.kind == "deleted":
        if lines:
            raise HunkMismatch(path, max(len(fp.hunks), 1), 1)
        return None
    return "".join(lines).encode("utf-8", "surrogateescape")


def binary_sections(fp: FilePatch) -> list[tuple[str, int, bytes]]:
    """The `literal`/`delta` sections of FP's binary patch: (kind, size, inflated data)."""
    if fp.binary is None:
        raise ValueError(f"{fp.path}: no binary patch data")
    sections: list[tuple[str, int, bytes]] = []
    kind, size, data = "", 0, bytearray()
    for line in (*fp.binary, ""):
        match = re.match(r"^(literal|delta) (\d+)$", line)
        if match:
            kind, size, data = match.group(1), int(match.group(2)), bytearray()
        elif line:
            data += _b85_line(line, fp.path)
        elif kind:
            try:
                inflated = zlib.decompress(bytes(data))
            except zlib.error:
                raise ValueError(f"{fp.path}: corrupt binary patch") from None
            if len(inflated) != size:
                raise ValueError(
                    f"{fp.path}: binary patch size {len(inflated)}, header says {size}"
                )
            sections.append((kind, size, inflated))
            kind = ""
    return sections


def blob_id(data: bytes) -> str:
    """git's object id of a blob holding DATA (what `index` lines name)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def apply_binary(old: bytes | None, fp: FilePatch) -> bytes | None:
    """FP's binary patch (forward section) applied to OLD; None when it deletes the file.

    A full `index` line pins both sides: the file must be the one the patch was made from,
    as git apply insists.
    """
    ids = re.match(r"^([0-9a-f]{40})\.\.([0-9a-f]{40})", fp.index or "")
    if ids and int(ids.group(1), 16) and blob_id(old or b"") != ids.group(1):
        raise HunkMismatch(fp.path, 1, 1)
    if fp.kind == "deleted":
        return None
    kind, _, data = binary_sections(fp)[0]
    if kind == "literal":
        new = data
    elif old is None:
        raise HunkMismatch(fp.path, 1, 1)
    else:
        new = _apply_delta(old, data, fp.path)
    if ids and int(ids.group(2), 16) and blob_id(new) != ids.group(2):
        raise ValueError(f"{fp.path}: the binary patch does not make the file its index line names")
    return new


def _b85_line(line: str, path: str) -> bytes:
    """One line of git's base85: a length letter (A-Z 1-26, a-z 27-52), then 5 chars per 4 bytes."""
    first = line[0]
    length = ord(first) - ord("A") + 1 if "A" <= first <= "Z" else ord(first) - ord("a") + 27
    try:
        decoded = base64.b85decode(line[1:])
    except ValueError:
        raise ValueError(f"{path}: corrupt binary patch line") from None
    return decoded[:length]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _apply_delta(base: bytes, delta: bytes, path: str) -> bytes:
    """git's delta format: source size, target size, then copy and insert instructions."""
    src_size, pos = _varint(delta, 0)
    dst_size, pos = _varint(delta, pos)
    if src_size != len(base):
        raise HunkMismatch(path, 1, 1)
    out = bytearray()
    while pos < len(delta):
        op = delta[pos]
        pos += 1
        if op & 0x80:
            offset = size = 0
            for bit, shift in ((0x01, 0), (0x02, 8), (0x04, 16), (0x08, 24)):
                if op & bit:
                    offset |= delta[pos] << shift
                    pos += 1
            for bit, shift in ((0x10, 0), (0x20, 8), (0x40, 16)):
                if op & bit:
                    size |= delta[pos] << shift
                    pos += 1
            size = size or 0x10000
            out += base[offset : offset + size]
        elif op:
            out += delta[pos : pos + op]
            pos += op
        else:
            raise ValueError(f"{path}: corrupt binary delta")
    if len(out) != dst_size:
        raise ValueError(f"{path}: binary delta made {len(out)} bytes, expected {dst_size}")
    return bytes(out)
