"""What a patch says about itself (DEP-3 fields or a format-patch mail) and quilt's series file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.header import decode_header, make_header

# DEP-3's fields (https://dep-team.pages.debian.net/deps/dep3/) besides Description and Author,
# in the order they are written back; Bug-<Vendor> fields go after Bug.
DEP3_FIELDS = (
    "Origin",
    "Bug",
    "Forwarded",
    "Applied-Upstream",
    "Reviewed-By",
    "Acked-By",
    "Last-Update",
)
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):[ \t]*(.*)$")
_SUBJECT_PREFIX = re.compile(r"^\s*(?:\[[^\]]*\]\s*)+")
_MBOX_FROM = re.compile(r"^From [0-9a-f]{7,64} Mon Sep 17 00:00:00 2001$")
# Fields that git keeps in a message body as trailers, not as DEP-3 header fields.
_TRAILERS = {"signed-off-by", "co-authored-by", "cc", "change-id", "tested-by", "reported-by"}


@dataclass(frozen=True)
class Header:
    """A change's description and metadata, every field kept in the order the source gave it."""

    subject: str
    body: str = ""
    author: str | None = None
    fields: tuple[tuple[str, str], ...] = ()  # Origin, Bug-Debian, Forwarded, Date, ... as read

    def field(self, key: str) -> str | None:
        return next((v for k, v in self.fields if k.lower() == key.lower()), None)


def _is_field_name(name: str) -> bool:
    low = name.lower()
    return (
        low in {f.lower() for f in DEP3_FIELDS}
        or low.startswith("bug-")
        or low
        in (
            "description",
            "subject",
            "author",
            "from",
            "date",
        )
    )


def parse_header(prose: str) -> Header:
    """The header of a patch's leading text (everything before its diff).

    A `git format-patch` mail (From/Date/Subject, body to the `---` line) or DEP-3 fields
    (Description's first line is the subject, its continuation lines the body, " ." a blank
    line); free text that is not a field joins the body. A format-patch body's own paragraphs of
    DEP-3 fields (Bug-Debian:, Forwarded: ...) become fields; git trailers stay in the body.
    """
    lines = prose.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and _MBOX_FROM.match(lines[0]):
        return _parse_mail(lines[1:])
    if lines and re.match(r"^(From|Subject|Date): ", lines[0]) and _looks_like_mail(lines):
        return _parse_mail(lines)
    return _parse_dep3(lines)


def _looks_like_mail(lines: list[str]) -> bool:
    """Mail headers run to a blank line and hold a Subject (DEP-3 uses Description or Subject too)."""
    head = []
    for line in lines:
        if not line.strip():
            break
        head.append(line)
    names = {m.group(1).lower() for ln in head if (m := _FIELD.match(ln))}
    return "subject" in names and "description" not in names


def _parse_mail(lines: list[str]) -> Header:
    fields: list[tuple[str, str]] = []
    i = 0
    while i < len(lines) and lines[i].strip():
        line = lines[i]
        if line[:1] in (" ", "\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + " " + line.strip())
        elif match := _FIELD.match(line):
            fields.append((match.group(1), match.group(2).strip()))
        i += 1
    body_lines = lines[i + 1 :]
    end = next((n for n, ln in enumerate(body_lines) if ln.rstrip() == "---"), len(body_lines))
    body_lines = body_lines[:end]
    values = {k.lower(): _decode(v) for k, v in fields}
    subject = _SUBJECT_PREFIX.sub("", values.get("subject", "")).strip()
    author = values.get("from")
    kept = [
        (k, _decode(v))
        for k, v in fields
        if _is_field_name(k) and k.lower() not in ("from", "subject", "author", "description")
    ]
    body, body_fields = _split_field_paragraphs(body_lines)
    return Header(subject, body, author, tuple(kept + body_fields))


def _decode(value: str) -> str:
    """A mail header's RFC 2047 words (=?UTF-8?q?...?=) decoded."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (UnicodeDecodeError, LookupError, ValueError):
        return value


def _split_field_paragraphs(lines: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """Body paragraphs made only of DEP-3 fields become fields; the rest stays the body."""
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    kept: list[str] = []
    fields: list[tuple[str, str]] = []
    for para in paragraphs:
        if not para:
            continue
        parsed = _fields_of(para)
        if parsed is not None and any(_is_field_name(k) for k, _ in parsed):
            trailers = [(k, v) for k, v in parsed if k.lower() in _TRAILERS]
            fields += [(k, v) for k, v in parsed if k.lower() not in _TRAILERS]
            if trailers:
                kept.append("\n".join(f"{k}: {v}" for k, v in trailers))
        else:
            cut = len(para)
            while cut > 0 and _fields_of(para[cut - 1 :]) is not None:
                cut -= 1  # DEP-3 fields at the end of a paragraph of prose (gbp pq writes these)
            if not any(_is_field_name(k) for k, _ in _fields_of(para[cut:]) or []):
                cut = len(para)
            tail = _fields_of(para[cut:]) or []
            fields += [(k, v) for k, v in tail if k.lower() not in _TRAILERS]
            tail_trailers = [f"{k}: {v}" for k, v in tail if k.lower() in _TRAILERS]
            kept.append("\n".join(para[:cut] + tail_trailers))
    return "\n\n".join(kept), fields


def _fields_of(para: list[str]) -> list[tuple[str, str]] | None:
    fields: list[tuple[str, str]] = []
    for line in para:
        if line[:1] in (" ", "\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + "\n" + line)
        elif (match := _FIELD.match(line)) and " " not in match.group(1):
            fields.append((match.group(1), match.group(2).rstrip()))
        else:
            return None
    return fields


def _parse_dep3(lines: list[str]) -> Header:
    end = next((n for n, ln in enumerate(lines) if ln.rstrip() == "---"), len(lines))
    fields: list[tuple[str, str, list[str]]] = []  # name, first line, continuation lines
    free: list[str] = []
    reading = False  # inside a field, so an indented line continues it
    for line in lines[:end]:
        if line[:1] in (" ", "\t") and reading:
            fields[-1][2].append(line)
            continue
        match = _FIELD.match(line)
        if match and (_is_field_name(match.group(1)) or reading or not free):
            fields.append((match.group(1), match.group(2).rstrip(), []))
            reading = True
            continue
        reading = False
        free.append(line)
    subject = ""
    body_parts: list[str] = []
    author: str | None = None
    kept: list[tuple[str, str]] = []
    for key, value, more in fields:
        low = key.lower()
        if low in ("description", "subject") and not subject:
            subject = _SUBJECT_PREFIX.sub("", value).strip()
            long = _long_text(more)
            if long:
                body_parts.append(long)
        elif low in ("author", "from") and author is None:
            author = " ".join([value, *(m.strip() for m in more)]).strip()
        else:
            kept.append((key, "\n".join([value, *(m.rstrip() for m in more)])))
    free_text = "\n".join(free).strip("\n")
    if free_text:
        if not subject:
            first, _, rest = free_text.partition("\n")
            subject, free_text = first.strip(), rest.strip("\n")
        if free_text:
            body_parts.append(free_text)
    return Header(subject, "\n\n".join(body_parts), author, tuple(kept))


def _long_text(lines: list[str]) -> str:
    """DEP-3's long description: one leading space off each line; " ." is an empty line."""
    out = []
    for line in lines:
        text = line[1:] if line[:1] in (" ", "\t") else line
        out.append("" if text.strip() == "." else text.rstrip())
    return "\n".join(out).strip("\n")


# -- quilt's series file ------------------------------------------------------------------------
@dataclass(frozen=True)
class SeriesEntry:
    name: str  # the patch file, relative to the patches folder
    strip: int = 1  # quilt's default -p1
    reverse: bool = False  # -R
    comments: tuple[str, ...] = ()  # the `#` lines just above it, and a comment on its own line
    line: int = 0
    options: tuple[str, ...] = ()  # other options, kept as written


class SeriesError(ValueError):
    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.message, self.line = message, line


def parse_series(text: str) -> tuple[tuple[SeriesEntry, ...], tuple[str, ...]]:
    """quilt's series: one patch a line with optional `-pN`, `-R`; `#` starts a comment.

    Returns the entries and the comments after the last one.
    """
    entries: list[SeriesEntry] = []
    pending: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            pending.append(stripped)
            continue
        words, _, comment = raw.partition(" #")
        parts = words.split()
        name, options = parts[0], parts[1:]
        strip, reverse, other = 1, False, []
        n = 0
        while n < len(options):
            option = options[n]
            if match := re.fullmatch(r"-p(\d+)", option):
                strip = int(match.group(1))
            elif option == "-p" and n + 1 < len(options) and options[n + 1].isdigit():
                strip, n = int(options[n + 1]), n + 1
            elif option in ("-R", "--reverse"):
                reverse = True
            elif option.startswith("-"):
                other.append(option)
            else:
                raise SeriesError(f"'{option}' after the patch name is not an option", number)
            n += 1
        notes = [*pending, *(["#" + comment.rstrip()] if comment.strip() else [])]
        entries.append(SeriesEntry(name, strip, reverse, tuple(notes), number, tuple(other)))
        pending = []
    return tuple(entries), tuple(pending)
