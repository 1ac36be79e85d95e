"""Overlay names made from an imported patch's file name or subject, saying how each was renamed.

The rule is config.check_overlay_name's: a lowercase slug of letters and digits joined by single
'-', '_' or '.', without '..', not ending in '.lock', at most 100 characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass

NAME = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")
MAX_LENGTH = 100
_EXTENSIONS = (".patch", ".diff", ".dpatch", ".debdiff")


@dataclass(frozen=True)
class Naming:
    source: str  # the file name or subject the name was made from
    name: str
    reasons: tuple[str, ...] = ()  # how it was renamed; empty when taken as it was

    @property
    def renamed(self) -> bool:
        return bool(self.reasons)


def is_valid(name: str) -> bool:
    return bool(NAME.match(name)) and not name.endswith(".lock") and len(name) <= MAX_LENGTH


def overlay_name(
    source: str,
    taken: Collection[str] = (),
    drop_number: bool = False,
    max_length: int = MAX_LENGTH,
) -> Naming:
    """A valid overlay name for SOURCE (a patch's path in its folder, or a subject), not in TAKEN.

    DROP_NUMBER drops format-patch's `0001-` (the series keeps the order). A name longer than
    MAX_LENGTH is cut at the last separator before it.
    """
    reasons: list[str] = []
    name = _spelled(source, drop_number, reasons)
    name = _slugged(name, reasons)
    name = _bounded(name, reasons, max_length)
    if name in taken:
        number = 2
        while f"{_cut(name, max_length - 1 - len(str(number)))}-{number}" in taken:
            number += 1
        reasons.append(f"'-{number}' added: '{name}' is taken")
        name = f"{_cut(name, max_length - 1 - len(str(number)))}-{number}"
    return Naming(source, name, tuple(reasons))


def _spelled(source: str, drop_number: bool, reasons: list[str]) -> str:
    """SOURCE without its extension and number, '/' as '-', accents dropped, lowercased."""
    name = source
    for ext in _EXTENSIONS:
        if name.lower().endswith(ext):
            name = name[: -len(ext)]  # not a rename worth telling
            break
    if drop_number and (match := re.match(r"^\d{4}-(?=.)", name)):
        name = name[match.end() :]
        reasons.append(f"'{match.group(0)}' dropped")
    if "/" in name:
        name = name.replace("/", "-")
        reasons.append("'/' became '-'")
    folded = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    if folded != name:
        name = folded
        reasons.append("accents dropped")
    if name.lower() != name:
        name = name.lower()
        reasons.append("lowercased")
    return name


def _slugged(name: str, reasons: list[str]) -> str:
    """NAME with every run of other characters as one '-', separators trimmed from the ends."""
    replaced: list[str] = []

    def slug(match: re.Match[str]) -> str:
        run = match.group(0)
        if run in ("-", "_", "."):
            return run
        if run not in replaced:
            replaced.append(run)
        return "-"

    name = re.sub(r"[^a-z0-9]+", slug, name)
    if replaced:
        shown = ", ".join(f"'{run}'" for run in replaced)
        reasons.append(f"{shown} became '-'")
    trimmed = name.strip("-_.")
    if trimmed != name:
        name = trimmed
        reasons.append("leading or trailing separators dropped")
    return name


def _bounded(name: str, reasons: list[str], max_length: int) -> str:
    """NAME made non-empty, without git's '.lock' ending, and at most MAX_LENGTH long."""
    if not name:
        name = "patch"
        reasons.append("nothing usable left: called 'patch'")
    if name.endswith(".lock"):
        name = name[: -len(".lock")] + "-lock"
        reasons.append("'.lock' ending became '-lock'")
    if len(name) > max_length:
        name = _cut(name, max_length)
        reasons.append(f"cut to {max_length} characters")
    return name


def _cut(name: str, limit: int) -> str:
    """NAME at most LIMIT long, cut at its last separator when that keeps most of it."""
    if len(name) <= limit:
        return name
    head = name[: limit + 1]
    at = max(head.rfind("-"), head.rfind("_"), head.rfind("."))
    return (head[:at] if at > limit // 2 else name[:limit]).rstrip("-_.")


def name_all(
    sources: Iterable[str], taken: Collection[str] = (), drop_number: bool = False
) -> tuple[Naming, ...]:
    """A name for each source in turn, none equal to TAKEN or to an earlier one."""
    used = set(taken)
    out = []
    for source in sources:
        naming = overlay_name(source, used, drop_number)
        used.add(naming.name)
        out.append(naming)
    return tuple(out)
