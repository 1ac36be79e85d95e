"""Results of pure work remembered by a digest of every input, so a resumed sync need not redo it.

The planner asks a Memo before it computes something costly and tells it the answer after; the
memo (forkman.store.plancache) decides where answers live. A key is the SHA-256 of the kind of
work and all of its inputs, so an answer is only ever found again for the very same inputs.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

T = TypeVar("T")


class Memo(Protocol):
    """Where remembered answers live: FOUND is (True, value) or (False, None)."""

    def recall(self, key: str) -> tuple[bool, object]: ...

    def keep(self, key: str, value: object) -> None: ...


# A plan asks about the same file contents many times (each merge, diff, move search and
# compile key holds some): a long content feeds a key as its own SHA-256, worked out once per
# content. That digest is a function of the content alone, so a key stays a digest of every
# input. What is kept is bounded, and dropped whole when full.
_LONG = 512
_KEPT_BYTES = 64 << 20
_contents: dict[bytes, bytes] = {}
_kept = [0]


def _of_bytes(value: bytes) -> bytes:
    """What VALUE feeds a key: itself when short, else its own SHA-256."""
    if len(value) < _LONG:
        return b"B%d;" % len(value) + value
    found = _contents.get(value)
    if found is None:
        found = hashlib.sha256(value).digest()
        if _kept[0] + len(value) > _KEPT_BYTES:
            _contents.clear()
            _kept[0] = 0
        _contents[value] = found
        _kept[0] += len(value)
    return b"H%d;" % len(value) + found


def _feed(h: hashlib._Hash, value: object) -> None:
    """VALUE into H, tagged by type and length, so that two different inputs never feed alike.
    (The commonest kinds first: a key is mostly file contents.)"""
    if isinstance(value, bytes):
        h.update(_of_bytes(value))
    elif isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")
        h.update(b"S%d;" % len(raw))
        h.update(raw)
    elif value is None:
        h.update(b"N")
    elif isinstance(value, (tuple, list)):  # a FileState too
        h.update(b"L%d;" % len(value))
        for item in value:
            _feed(h, item)
    elif isinstance(value, bool):
        h.update(b"T" if value else b"F")
    elif isinstance(value, int):
        h.update(b"I%d;" % value)
    elif isinstance(value, (dict, Mapping)):
        h.update(b"M%d;" % len(value))
        for k, v in value.items():  # in order: an answer may depend on it
            _feed(h, k)
            _feed(h, v)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        h.update(b"D" + type(value).__qualname__.encode() + b";")
        for f in dataclasses.fields(value):
            _feed(h, getattr(value, f.name))
    else:
        raise TypeError(f"cannot take a digest of {type(value).__name__}")


def digest(*parts: object) -> str:
    """The key of PARTS: bytes, text, numbers, None, sequences, mappings and dataclasses."""
    h = hashlib.sha256()
    _feed(h, parts)
    return h.hexdigest()


def remember(
    memo: Memo | None,
    key: Callable[[], str],
    compute: Callable[[], T],
    kinds: tuple[type, ...],
) -> T:
    """COMPUTE's answer, from MEMO when it holds one of KINDS for KEY (KEY is worked out only
    when there is a memo); anything else it holds there is not trusted: computed again."""
    if memo is None:
        return compute()
    name = key()
    found, value = memo.recall(name)
    if found and isinstance(value, kinds):
        return value  # type: ignore[return-value]
    answer = compute()
    memo.keep(name, answer)
    return answer
