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

import hashlib
import json
import sys
from functools import lru_cache
from pathlib import Path

from forkman.store.files import atomic_write

COMPILE_FILE = "forkman-compiled.json"
FORMAT = 1
_MAGIC = "forkman-compiled"
MOST = 20_000  # answers kept: those asked for last (a thousand overlays ask ~700 a run)


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """What every answer depends on besides its key: Python's compiler and forkman's code."""
    h = hashlib.sha256(b"%s %d\n" % (_MAGIC.encode(), FORMAT))
    h.update(sys.version.encode() + b"\0" + sys.implementation.cache_tag.encode() + b"\0")
    package = Path(__file__).resolve().parents[1]
    for source in sorted(package.rglob("*.py")):
        h.update(str(source.relative_to(package)).encode() + b"\0")
        h.update(source.read_bytes())
    return h.hexdigest()


def decode(raw: bytes) -> dict[str, str | None]:
    """The answers a file's bytes hold; {} for anything damaged or not this fingerprint's."""
    body, _, check = raw.rstrip(b"\n").rpartition(b"\n")
    if hashlib.sha256(body).hexdigest().encode() != check:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or data.get("fingerprint") != fingerprint()
        or not isinstance(data.get("answers"), dict)
    ):
        return {}
    return {
        k: v
        for k, v in data["answers"].items()
        if isinstance(k, str) and (v is None or isinstance(v, str))
    }


def encode(answers: dict[str, str | None]) -> bytes:
    body = json.dumps(
        {"format": FORMAT, "fingerprint": fingerprint(), "answers": answers},
        separators=(",", ":"),
    ).encode()
    return body + b"\n" + hashlib.sha256(body).hexdigest().encode() + b"\n"


class CompileCache:
    """A Memo (forkman.core.memo) for the planner's compile checks, read from and saved to PATH."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._known = decode(path.read_bytes())
        except OSError:
            self._known = {}
        self._used: dict[str, str | None] = {}  # asked for or worked out in this run
        self._fresh = False
        self.hits = self.misses = 0

    def recall(self, key: str) -> tuple[bool, object]:
        if key in self._known:
            self.hits += 1
            self._used[key] = self._known[key]
            return True, self._known[key]
        self.misses += 1
        return False, None

    def keep(self, key: str, value: object) -> None:
        if value is None or isinstance(value, str):
            self._known[key] = self._used[key] = value
            self._fresh = True

    def save(self) -> None:
        """The answers, with this run's last (so they outlive older ones past MOST), when this
        run worked out any; a failed write leaves the file as it was."""
        if not self._fresh:
            return
        kept = {k: v for k, v in self._known.items() if k not in self._used}
        kept.update(self._used)
        answers = dict(list(kept.items())[-MOST:])
        try:
            atomic_write(self.path, encode(answers))
        except OSError:
            return
        self._fresh = False
