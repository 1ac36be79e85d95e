"""The resolution store: overlays/resolutions/*.yaml, a team's conflict resolutions (shared rerere).

Committed with the overlays, so a teammate's or CI's sync reuses a resolution made once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TypeVar

import yaml

from forkman.core.conflicts import Region, Resolution
from forkman.core.records import FileRecord, Sides
from forkman.errors import ConfigError
from forkman.store.confine import resolves_inside
from forkman.store.files import atomic_write

T = TypeVar("T")


class _Literal(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    )


_Literal.add_representer(str, _str)


def store_path(overlays_dir: Path, key: str) -> Path:
    return overlays_dir / "resolutions" / f"{key}.yaml"


def save(overlays_dir: Path, resolution: Resolution) -> Path:
    region = resolution.region
    data = {
        "overlay": resolution.overlay,
        "path": resolution.path,
        "upstream": "".join(region.upstream),
        "base": "".join(region.base),
        "overlay_side": "".join(region.overlay),
        "resolution": "".join(resolution.lines),
    }
    text = (
        "# A conflict resolved during `forkman sync`; reused when the same conflict comes back.\n"
    )
    text += yaml.dump(data, Dumper=_Literal, sort_keys=False, allow_unicode=True, width=1000)
    return _write(overlays_dir, resolution.key, text)


def _write(overlays_dir: Path, key: str, text: str) -> Path:
    """A record under overlays/resolutions/, never through a folder that links out of the repo."""
    path = store_path(overlays_dir, key)
    if not resolves_inside(overlays_dir.parent, path.parent):
        raise ConfigError(
            f"{path.parent} leads out of the app repo (a symbolic link): the resolution is not "
            "written there",
            hint="make overlays/resolutions a folder of this repo",
        )
    atomic_write(path, text)
    return path


def load(overlays_dir: Path, key: str) -> Resolution | None:
    """The resolution recorded under KEY, or None when there is none or it does not read."""
    file = store_path(overlays_dir, key)
    if not file.exists():
        return None
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        region = Region(
            tuple(str(data["upstream"]).splitlines(keepends=True)),
            tuple(str(data["base"]).splitlines(keepends=True)),
            tuple(str(data["overlay_side"]).splitlines(keepends=True)),
            0,
            0,
        )
        lines = tuple(str(data["resolution"]).splitlines(keepends=True))
        return Resolution(
            key, str(data.get("overlay", "")), str(data.get("path", "")), region, lines
        )
    except (yaml.YAMLError, KeyError, TypeError):
        return None


class _Folder(Mapping[str, T]):
    """overlays/resolutions/ as a mapping by key, each file read when first asked for.

    Iterating gives only the keys this kind of record answers for: region resolutions and
    whole-file records share the folder.
    """

    def __init__(self, overlays_dir: Path):
        self.overlays_dir = overlays_dir
        self._read: dict[str, T | None] = {}

    def _load(self, key: str) -> T | None:
        raise NotImplementedError

    def __getitem__(self, key: str) -> T:
        if key not in self._read:
            self._read[key] = self._load(key)
        found = self._read[key]
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[str]:
        folder = self.overlays_dir / "resolutions"
        keys = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
        return iter(k for k in keys if k in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class ResolutionStore(_Folder[Resolution]):
    """Region resolutions, as the planner reads them."""

    def _load(self, key: str) -> Resolution | None:
        return load(self.overlays_dir, key)


# -- whole-file records: the conflicted file in, the resolved file out (rerere's pre/postimage) --
FILE_HEADER = (
    "# A conflicted file as `forkman sync` showed it (preimage) and as it was resolved\n"
    "# (postimage); reused exactly when the same three sides come back.\n"
)


def save_record(overlays_dir: Path, record: FileRecord) -> Path:
    data = {
        "kind": "file",
        "overlay": record.overlay,
        "path": record.path,
        "made_for": record.made_for,
        "sides": {
            "base": record.sides.base,
            "upstream": record.sides.upstream,
            "overlay": record.sides.overlay,
        },
        "preimage": record.preimage,
        "postimage": record.postimage,
    }
    text = FILE_HEADER + yaml.dump(
        data, Dumper=_Literal, sort_keys=False, allow_unicode=True, width=1000
    )
    return _write(overlays_dir, record.key, text)


def load_record(file: Path) -> FileRecord | None:
    """The whole-file record in FILE, or None when it is none (a region record) or unreadable."""
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("kind") != "file":
            return None
        sides = data["sides"]
        return FileRecord(
            str(data["overlay"]),
            str(data["path"]),
            Sides(str(sides["base"]), str(sides["upstream"]), str(sides["overlay"])),
            str(data["preimage"]),
            str(data["postimage"]),
            str(data.get("made_for", "")),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None


class FileRecordStore(_Folder[FileRecord]):
    """Whole-file records, as the planner reads them."""

    def _load(self, key: str) -> FileRecord | None:
        file = store_path(self.overlays_dir, key)
        found = load_record(file) if file.exists() else None
        return found if found is not None and found.key == key else None
