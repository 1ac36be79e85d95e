"""The planner's compile checks, kept across runs in the checkout's git dir (forkman-compiled.json).

A merged Python file is compiled to see that it still parses: at a thousand overlays that is
~0.4 s of every `sync --check`, and the same again for the `sync` after it, for the very same
texts. An answer is found again only for the same key (the planner's digest of the path, the
merged text and upstream's text) and the same fingerprint (the Python that compiles, forkman's
own code, which words the answer). The file carries a checksum and is ignored whole when
damaged or made by another Python or forkman; an entry that is not an answer is worked out
again; a file that cannot be written (a read-only checkout) is never the reason a command fails.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import sys
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from forkman.store.files import atomic_write

COMPILE_FILE = "forkman-compiled.json"
FORMAT = 1
_MAGIC = "forkman-compiled"
MOST = 20_000  # answers kept: those asked for last (a thousand overlays ask ~700 a run)


@lru_cache(maxsize=1)
def source_digest() -> bytes:
    """forkman's own code, every module (read once a process, for every cache that asks)."""
    h = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for source in sorted(package.rglob("*.py")):
        h.update(str(source.relative_to(package)).encode() + b"\0")
        h.update(source.read_bytes())
    return h.digest()


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """What every answer depends on besides its key: Python's compiler and forkman's code."""
    h = hashlib.sha256(b"%s %d\n" % (_MAGIC.encode(), FORMAT))
    h.update(sys.version.encode() + b"\0" + sys.implementation.cache_tag.encode() + b"\0")
    h.update(source_digest())
    return h.hexdigest()


def sealed(body: bytes) -> bytes:
    """BODY as a file that says whether it is whole: BODY, a newline, its SHA-256, a newline."""
    return body + b"\n" + hashlib.sha256(body).hexdigest().encode() + b"\n"


def unsealed(raw: bytes) -> bytes | None:
    """The body of a file `sealed` wrote; None when it is cut short or damaged."""
    body, check = raw[:-66], raw[-65:-1]
    if raw[-66:-65] != b"\n" or raw[-1:] != b"\n":
        return None
    return body if hashlib.sha256(body).hexdigest().encode() == check else None


def decode(raw: bytes, print_: str | None = None) -> dict[str, Any]:
    """The answers (as kept: JSON data) a file's bytes hold; {} for anything damaged or not
    made under fingerprint PRINT_ (by default the compile checks')."""
    body = unsealed(raw)
    if body is None:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or data.get("fingerprint") != (print_ or fingerprint())
        or not isinstance(data.get("answers"), dict)
    ):
        return {}
    return {k: v for k, v in data["answers"].items() if isinstance(k, str)}


def encode(answers: Mapping[str, Any], print_: str | None = None) -> bytes:
    body = json.dumps(
        {"format": FORMAT, "fingerprint": print_ or fingerprint(), "answers": answers},
        separators=(",", ":"),
    ).encode()
    return sealed(body)


def _plain(value: Any) -> object:
    if value is None or isinstance(value, str):
        return value
    raise ValueError("not a compile check's answer")


class KeptAnswers:
    """A Memo (forkman.core.memo) of one kind of pure work, read from and saved to PATH.

    LOAD turns what the file holds back into an answer (ValueError: not one, worked out
    again); DUMP makes an answer JSON data (ValueError or TypeError: not kept)."""

    def __init__(
        self,
        path: Path,
        print_: str,
        load: Callable[[Any], object] = _plain,
        dump: Callable[[object], Any] = _plain,
    ) -> None:
        self.path, self._print, self._load, self._dump = path, print_, load, dump
        try:
            self._raw = decode(path.read_bytes(), print_)
        except OSError:
            self._raw = {}
        self._used: dict[str, Any] = {}  # asked for or worked out in this run, as kept
        self._fresh = False
        self.hits = self.misses = 0

    def recall(self, key: str) -> tuple[bool, object]:
        if key in self._raw:
            try:
                value = self._load(self._raw[key])
            except (ValueError, TypeError, KeyError, RecursionError, binascii.Error):
                del self._raw[key]  # damaged: worked out again
            else:
                self.hits += 1
                self._used[key] = self._raw[key]
                return True, value
        self.misses += 1
        return False, None

    def keep(self, key: str, value: object) -> None:
        try:
            kept = self._dump(value)
        except (ValueError, TypeError):
            return
        self._raw[key] = self._used[key] = kept
        self._fresh = True

    def save(self) -> None:
        """The answers, with this run's last (so they outlive older ones past MOST), when this
        run worked out any; a failed write leaves the file as it was."""
        if not self._fresh:
            return
        kept = {k: v for k, v in self._raw.items() if k not in self._used}
        kept.update(self._used)
        answers = dict(list(kept.items())[-MOST:])
        try:
            atomic_write(self.path, encode(answers, self._print))
        except (OSError, TypeError, ValueError):
            return
        self._fresh = False


class CompileCache(KeptAnswers):
    """The planner's compile checks (None: it compiles; else the error), kept at PATH."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, fingerprint())
