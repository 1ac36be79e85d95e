"""The app repo's files: UTF-8 text read with a clear error; writes atomic (whole or not at all)."""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from forkman.errors import ConfigError

if TYPE_CHECKING:
    from concurrent.futures import Future

# Every temporary file forkman makes: `.NAME.PID.RANDOM.tmp` beside NAME, so a killed run's
# leftovers are known by name (and by a pid that is gone), and never taken for a person's file.
TEMP_FILE = re.compile(r"^\..+\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")


def create_temp(path: Path) -> tuple[int, str]:
    """A new file beside PATH under an unpredictable name, opened for writing: O_EXCL, so a
    planted file or link at that name is never written through."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    while True:
        tmp = str(path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"))
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue


def atomic_write(
    path: Path, data: bytes | str, mode: int | None = None, *, durable: bool = True
) -> None:
    """Write a file whole or not at all: a temporary file in the same folder, then rename.
    MODE, when given, is the new file's; else an existing file's mode is kept (0644 for new).

    DURABLE: the data reaches the disk (fsync) before the rename makes it the file, so a power
    cut leaves the old file or the new one. Without it, a kill still leaves one or the other
    (the rename is atomic; the page cache outlives the process), but a power cut may leave a
    file that has not reached the disk: only for files made again from others (the checkout's,
    which git itself never syncs either).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_whole(path, data.encode() if isinstance(data, str) else data, mode, durable=durable)


def replace_whole(path: Path, raw: bytes, mode: int | None = None, *, durable: bool = True) -> None:
    """atomic_write into a folder that exists."""
    _publish(path, _staged(path, raw, mode, durable))


def atomic_write_all(files: Sequence[tuple[Path, bytes]]) -> None:
    """Each of FILES written whole or not at all, as atomic_write does, and every one of them
    on the disk before the first replaces its old self (renamed in FILES' order).

    The fsyncs run side by side: the file system commits fsyncs that arrive together in one
    journal commit, where one after the other each waits for its own (at 700 overlays, 2 s
    against 0.1 s on ext4). Still safe: each file's data is synced before its rename, as with
    atomic_write, and all of them before any rename, so a power cut leaves each file old or
    new, never empty, and a kill at any moment leaves the renames done so far (in order) and
    temporary files that the next command sweeps by their name.
    """
    # here, not at the top: every command reads files through this module, and importing
    # concurrent.futures costs ~3 ms of a start-up that `overlay status` has ~50 ms of in all
    from concurrent.futures import ThreadPoolExecutor, wait

    for folder in {path.parent for path, _ in files}:
        folder.mkdir(parents=True, exist_ok=True)
    pool = ThreadPoolExecutor(max_workers=max(1, min(16, len(files))))
    futures: list[Future[str]] = []
    published = 0
    try:
        futures = [pool.submit(_staged, path, raw, None, True) for path, raw in files]
        wait(futures)
        failed = next((f.exception() for f in futures if f.exception() is not None), None)
        if failed is not None:
            raise failed  # before any rename: every file stays as it was
        for (path, _), future in zip(files, futures, strict=True):
            _publish(path, future.result())
            published += 1
    except BaseException:
        pool.shutdown(wait=True)  # every temporary file made is known before they are dropped
        for future in futures[published:]:
            if future.done() and not future.cancelled() and future.exception() is None:
                _drop(future.result())
        raise
    finally:
        pool.shutdown(wait=True)


def sync_all(paths: Sequence[Path]) -> None:
    """PATHS (files just written) on the disk before the caller goes on; the fsyncs side by
    side, as atomic_write_all runs them. A link is not followed (it is on the disk with its
    folder)."""

    def one(path: Path) -> None:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    files = [p for p in paths if not p.is_symlink()]
    if len(files) < 3:
        for path in files:
            one(path)
        return
    from concurrent.futures import ThreadPoolExecutor  # as in atomic_write_all

    with ThreadPoolExecutor(max_workers=min(16, len(files))) as pool:
        for _ in pool.map(one, files):
            pass


def _staged(path: Path, raw: bytes, mode: int | None, durable: bool) -> str:
    """RAW in a new temporary file beside PATH, with its mode; the temporary file's name."""
    fd, tmp = create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if mode is None:
            try:
                info = path.lstat()
            except FileNotFoundError:
                info = None
            # a link is replaced, not written through: its mode (0777 on Linux) is not the file's
            mode = stat.S_IMODE(info.st_mode) if info and stat.S_ISREG(info.st_mode) else 0o644
        os.chmod(tmp, mode)
    except OSError as exc:
        _drop(tmp)
        if exc.filename is None:  # a failed write names no file: name the one being written
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        _drop(tmp)
        raise
    return tmp


def _publish(path: Path, tmp: str) -> None:
    try:
        os.replace(tmp, path)
    except BaseException:
        _drop(tmp)
        raise


def _drop(tmp: str) -> None:
    if os.path.exists(tmp):
        os.unlink(tmp)


def read_text(path: Path, hint: str) -> str:
    """A UTF-8 text file of the app repo; other bytes are a ConfigError naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start})", where=str(path), hint=hint
        ) from None
