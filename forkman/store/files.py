"""The app repo's files: UTF-8 text read with a clear error; writes atomic (whole or not at all)."""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

from forkman.errors import ConfigError

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


def atomic_write(path: Path, data: bytes | str, mode: int | None = None) -> None:
    """Write a file whole or not at all: a temporary file in the same folder, then rename.
    MODE, when given, is the new file's; else an existing file's mode is kept (0644 for new)."""
    raw = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
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
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if exc.filename is None:  # a failed write names no file: name the one being written
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_text(path: Path, hint: str) -> str:
    """A UTF-8 text file of the app repo; other bytes are a ConfigError naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start})", where=str(path), hint=hint
        ) from None
