"""overlays/series: the overlays' names in the order they apply; comments kept on rewrite."""

from __future__ import annotations

import re
from pathlib import Path

from forkman.errors import BadOverlayName, ConfigError

SERIES_FILE = "series"

_NAME = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")


def check_overlay_name(name: str) -> str:
    """An overlay name is a lowercase slug that is also a valid git branch component."""
    if not _NAME.match(name) or ".." in name or name.endswith(".lock") or len(name) > 100:
        raise BadOverlayName(
            f"'{name}' is not a valid overlay name",
            hint="use a lowercase slug such as 'loader-symlink': letters, digits, '-', '_' or '.'",
        )
    return name


def parse_series(text: str, path: Path) -> tuple[str, ...]:
    names: list[str] = []
    seen: set[str] = set()  # a list here made reading a 1,000-line series quadratic
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name = line.removesuffix(".patch")
        try:
            check_overlay_name(name)
        except BadOverlayName as exc:
            raise ConfigError(
                exc.message, where=f"{path}:{number}", hint="one overlay name a line"
            ) from None
        if name in seen:
            raise ConfigError(f"overlay '{name}' is listed twice", where=f"{path}:{number}")
        seen.add(name)
        names.append(name)
    return tuple(names)


def _entry(line: str) -> str:
    return line.split("#", 1)[0].strip().removesuffix(".patch")


def reorder_series(old: str, names: list[str]) -> str:
    """The series text holding NAMES in order; comment lines stay, a name keeps its own comment."""
    lines = old.splitlines()
    original = {_entry(ln): ln for ln in lines if _entry(ln)}
    slots = [i for i, ln in enumerate(lines) if _entry(ln) in names]
    out: list[str | None] = [ln if not _entry(ln) else None for ln in lines]
    for slot, name in zip(slots, names, strict=False):
        out[slot] = original.get(name, name)
    tail = [original.get(n, n) for n in names[len(slots) :]]
    return "".join(f"{ln}\n" for ln in [*(x for x in out if x is not None), *tail])
