"""The app repo: where its config, lock, series, overlay files and state live, read and written whole."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from forkman.core.pathrules import checkout_problem
from forkman.core.values import file_hash
from forkman.errors import ConfigError, NotAnAppRepo, SyncStateError, UnknownOverlay
from forkman.store.config import CONFIG_FILE, OVERLAYS_DIR, Config, load_config
from forkman.store.confine import resolves_inside
from forkman.store.files import atomic_write, atomic_write_all, read_text
from forkman.store.lock import LOCK_FILE, Lock, load_lock, render_lock
from forkman.store.series import SERIES_FILE, parse_series, reorder_series

if TYPE_CHECKING:
    from forkman.core import overlay as ov


class Disagreement(NamedTuple):
    path: str
    message: str
    hint: str

    def text(self) -> str:
        return f"{self.path} {self.message}: {self.hint}"


@dataclass(frozen=True)
class Project:
    root: Path
    config: Config

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_FILE

    @property
    def overlays_dir(self) -> Path:
        return self.root / OVERLAYS_DIR

    @property
    def series_path(self) -> Path:
        return self.overlays_dir / SERIES_FILE

    @property
    def checkout(self) -> Path:
        return (
            (self.root / self.config.path).resolve()
            if not Path(self.config.path).is_absolute()
            else Path(self.config.path)
        )

    def overlay_path(self, name: str) -> Path:
        return self.overlays_dir / f"{name}.patch"

    # -- reading -------------------------------------------------------------------------------
    def lock(self) -> Lock:
        return load_lock(self.lock_path)

    def series(self) -> tuple[str, ...]:
        if not self.series_path.exists():
            return ()
        self._refuse_outside(self.series_path)
        text = read_text(self.series_path, "one overlay name a line, in UTF-8")
        return parse_series(text, self.series_path)

    def overlay_text(self, name: str) -> str:
        path = self.overlay_path(name)
        self._refuse_outside(path)
        try:
            with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
                return handle.read()
        except FileNotFoundError:
            raise ConfigError(
                f"overlay '{name}' is in the series but {path.name} is missing",
                where=str(self.series_path),
                hint=f"restore {path.relative_to(self.root)} or remove '{name}' from the series",
            ) from None

    def _refuse_outside(self, path: Path) -> None:
        """A file of the app repo that is a link out of it (a key, /proc/self/environ, planted
        by a pull request) is never read: its first line would end up in an error message."""
        if os.path.lexists(path) and not resolves_inside(self.root, path):
            raise ConfigError(
                "is a symbolic link that leads out of the app repo: forkman does not read it",
                where=str(path.relative_to(self.root)),
                hint="make it a file of this repo",
            )

    def overlay(self, name: str) -> ov.Overlay:
        series = self.series()
        if name not in series:
            raise UnknownOverlay(name, series)
        return self.read_overlay(name)

    def read_overlay(self, name: str) -> ov.Overlay:
        """NAME's overlay file, parsed; the caller knows the series lists it."""
        return self.parse_overlay(name, self.overlay_text(name))

    def parse_overlay(self, name: str, text: str) -> ov.Overlay:
        # here, not at the top: the patch parser costs ~5 ms to import, and status, guard and a
        # no-op apply, reading the stack from its record, parse no overlay
        from forkman.core import overlay as ov

        return ov.parse(name, text, str(self.overlay_path(name).relative_to(self.root)))

    def overlays(self) -> tuple[ov.Overlay, ...]:
        """Every overlay, in series order (each parsed as it is read, so the first bad one is
        the one reported, whether it cannot be read or cannot be parsed)."""
        return tuple(self.parse_overlay(name, text) for name, text in self._texts())

    def overlay_texts(self) -> dict[str, str]:
        """Every overlay file's text, in series order; ConfigError for the first unreadable one."""
        return dict(self._texts())

    def _texts(self) -> Iterator[tuple[str, str]]:
        """Each overlay's name and text in series order, read one by one as they are asked for."""
        names = self.series()
        folder = self.overlays_dir
        if not resolves_inside(self.root, folder):  # checked once, not once per file
            yield from ((name, self.overlay_text(name)) for name in names)
            return
        top = str(folder)
        for name in names:
            path = os.path.join(top, f"{name}.patch")  # not pathlib: a thousand overlays
            try:
                if os.path.islink(path):
                    raise FileNotFoundError(path)  # overlay_text checks where it leads
                with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
                    text = handle.read()
            except FileNotFoundError:
                text = self.overlay_text(name)  # the error in its own words
            yield name, text

    def state_dir(self) -> Path:
        """Where unfinished work is journaled: inside the app repo's git dir when there is one."""
        return state_dir(self.root)

    def sync_dir(self) -> Path:
        return self.state_dir() / "sync"

    def sync_in_progress(self) -> bool:
        return self.sync_dir().is_dir()  # it only ever appears whole, in one rename

    def lock_disagreements(
        self, lock: Lock, hashes: Mapping[str, str | None] | None = None
    ) -> list[Disagreement]:
        """Where the series and the overlay files disagree with the lock (a hand edit, a bad merge).

        HASHES, when the caller has read the files already: the series in order, each name with
        its file's sha256 (None when it cannot be read). A series entry whose file cannot be read
        is left to whoever reads the overlays.
        """
        found = []
        if hashes is None:
            hashes = {name: self._hash_or_none(name) for name in self.series()}
        listed = set(hashes)
        for name, digest in hashes.items():
            if digest is None:
                continue
            refresh = f"record it with `forkman overlay refresh {name}`"
            if name not in lock.overlays:
                found.append(
                    Disagreement(
                        f"{OVERLAYS_DIR}/{name}.patch",
                        "is in the series but not in forkman.lock",
                        refresh,
                    )
                )
            elif lock.overlays[name] != digest:
                found.append(
                    Disagreement(
                        f"{OVERLAYS_DIR}/{name}.patch",
                        "differs from its sha256 in forkman.lock (edited by hand?)",
                        refresh,
                    )
                )
        found += [
            Disagreement(
                LOCK_FILE,
                f"lists overlay '{name}', which overlays/series does not",
                f"add '{name}' back to overlays/series, or restore forkman.lock with `git checkout -- forkman.lock`",
            )
            for name in lock.overlays
            if name not in listed
        ]
        return found

    def _hash_or_none(self, name: str) -> str | None:
        try:
            return file_hash(self.overlay_text(name).encode("utf-8", "surrogateescape"))
        except ConfigError:
            return None

    def ensure_no_sync(self) -> None:
        if self.sync_in_progress():
            raise SyncStateError(
                "a sync is in progress",
                where=str(self.root),
                hint="finish it with `forkman sync --continue` or undo it with `forkman sync --abort`",
            )

    # -- writing (each file whole, atomically) -------------------------------------------------
    def write(self, path: Path, data: bytes | str) -> None:
        """PATH, a file of the app repo, written whole; never through a folder linked out of it."""
        self.require_inside(path.parent, path.name)
        atomic_write(path, data)

    def write_all(self, files: Sequence[tuple[Path, bytes]]) -> None:
        """FILES of the app repo written as `write` does, all of them on the disk before the
        first replaces its old self (atomic_write_all); each folder checked once."""
        checked: set[Path] = set()
        for path, _ in files:
            if path.parent not in checked:
                self.require_inside(path.parent, path.name)
                checked.add(path.parent)
        atomic_write_all(files)

    def require_inside(self, folder: Path, what: str) -> None:
        """Refuse FOLDER, where forkman is about to write WHAT, when it leads out of the app repo."""
        if not resolves_inside(self.root, folder):
            raise ConfigError(
                f"{folder.relative_to(self.root)} leads out of the app repo (a symbolic link): "
                f"forkman does not write {what} there",
                where=str(self.root),
                hint="make it a folder of this repo",
            )

    def write_lock(self, lock: Lock) -> None:
        self.write(self.lock_path, render_lock(lock))

    def write_overlay(self, overlay: ov.Overlay) -> str:
        from forkman.core import overlay as ov  # as in parse_overlay

        text = ov.render(overlay)
        self.write(self.overlay_path(overlay.name), text.encode("utf-8", "surrogateescape"))
        return file_hash(text.encode("utf-8", "surrogateescape"))

    def archive_overlay(
        self, folder: str, overlay: ov.Overlay, stem: str | None = None, *, keep: bool = False
    ) -> str:
        """OVERLAY kept out of the series in overlays/FOLDER/ (upstreamed, dropped, skipped),
        as STEM.patch (default: its name); return the stem written.

        KEEP: a different file already at that name is never replaced (two releases whose
        names make the same file name); the next free STEM.N is taken instead. The same text
        again (a sync resumed after a crash) is the same file.
        """
        path, text = self.archive_file(folder, overlay, stem, keep=keep)
        self.write(path, text)
        return path.name.removesuffix(".patch")

    def archive_file(
        self,
        folder: str,
        overlay: ov.Overlay,
        stem: str | None = None,
        *,
        keep: bool = False,
        pending: Sequence[tuple[Path, bytes]] = (),
    ) -> tuple[Path, bytes]:
        """archive_overlay's file and text, not written; PENDING: files to be written before it,
        seen as if they were already there."""
        from forkman.core import overlay as ov  # as in parse_overlay

        text = ov.render(overlay).encode("utf-8", "surrogateescape")
        chosen = stem or overlay.name
        place = self.overlays_dir / folder
        waiting = dict(pending) if keep else {}
        number = 1
        while keep:
            path = place / f"{chosen}.patch"
            there = waiting.get(path)
            if there is None:
                if not path.is_file():
                    break
                there = path.read_bytes()
            if there == text:
                break
            number += 1
            chosen = f"{stem or overlay.name}.{number}"
        return place / f"{chosen}.patch", text

    def write_series(self, names: tuple[str, ...] | list[str]) -> None:
        """Rewrite the series with NAMES in order, keeping people's comments and blank lines."""
        old = self.series_path.read_text(encoding="utf-8") if self.series_path.exists() else ""
        self.write(self.series_path, reorder_series(old, list(names)))

    def hashes(self) -> dict[str, str]:
        return {
            n: file_hash(self.overlay_text(n).encode("utf-8", "surrogateescape"))
            for n in self.series()
        }


def state_dir(root: Path) -> Path:
    """forkman's state folder of the app repo at ROOT: .git/forkman, or .forkman/forkman without git."""
    git_dir = root / ".git"
    if git_dir.is_file():  # a worktree: "gitdir: PATH"
        target = git_dir.read_text().split(":", 1)[1].strip()
        git_dir = (root / target).resolve()
    base = git_dir if git_dir.is_dir() else root / ".forkman"
    return base / "forkman"


def find_root(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    if start is not None and not here.is_dir():
        # as `git -C`: a folder that is not there names no app, whatever holds the typo
        raise NotAnAppRepo(
            f"--repo {start}: no such folder",
            hint="give --repo the folder of forkman.yaml, or one inside it",
        )
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise NotAnAppRepo(
        f"no {CONFIG_FILE} in {here} or any folder above it",
        hint="run `forkman init --upstream URL` in your app repo, or pass --repo DIR",
    )


def open_project(start: Path | None = None) -> Project:
    root = find_root(start)
    project = Project(root, load_config(root / CONFIG_FILE))
    check_checkout_place(root, project.checkout, f"'upstream.path' {project.config.path!r}")
    return project


def check_checkout_place(root: Path, checkout: Path, what: str) -> None:
    """The checkout may not be the app repo, lie in its .git, or hold it: `apply` would check
    upstream's tree out over the app."""
    real_root = root.resolve()
    problem = checkout_problem(real_root, checkout.resolve(), real_root / ".git")
    if problem:
        raise ConfigError(
            f"{what} {problem}",
            where=str(root / CONFIG_FILE) if what.startswith("'") else str(root),
            hint="the upstream checkout needs a folder of its own, e.g. upstream/NAME",
        )


def relpath(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)
