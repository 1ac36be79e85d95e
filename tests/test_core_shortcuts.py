"""The planner's and the culprit search's shortcuts answer exactly as their plain definitions do,
over many generated cases (seeded): holds_some, the MOVED probe with its windows worked out
once per question and only for files upstream changed, edits_trimmed and line_map_trimmed."""

from __future__ import annotations

import random

from forkman.core.carry import holds_some
from forkman.core.probe import CONTEXT, MOVED, Question, is_bad
from forkman.core.textdiff import body, edits, line_map, split
from forkman.core.trimdiff import edits_trimmed, line_map_trimmed

WORDS = ["x = 1\n", "  x = 1\n", "x = 1  \n", "\n", "pass\n", "return y\n", "a\n", "b = f(a)\n"]


def _text(rng: random.Random, lines: list[str]) -> list[str]:
    out = list(lines)
    for _ in range(rng.randint(0, 4)):
        at = rng.randint(0, len(out))
        kind = rng.random()
        if kind < 0.4:
            out.insert(at, rng.choice(WORDS))
        elif kind < 0.7 and at < len(out):
            del out[at]
        elif at < len(out):
            out[at] = rng.choice(WORDS)
    return out


def _holds_some_by_definition(base: bytes, upstream: bytes, overlay: bytes) -> bool:
    def bodies(data: bytes) -> set[str]:
        return {body(ln) for ln in split(data.decode())}

    old = bodies(base)
    return any(len(b) >= 4 for b in (bodies(overlay) - old) & (bodies(upstream) - old))


def test_holds_some_is_its_definition() -> None:
    rng = random.Random(14)
    seen = set()
    for _ in range(3000):
        base = [rng.choice(WORDS) for _ in range(rng.randint(0, 8))]
        up, mine = _text(rng, base), _text(rng, base)
        args = ("".join(base).encode(), "".join(up).encode(), "".join(mine).encode())
        want = _holds_some_by_definition(*args)
        assert holds_some(*args) == want, args
        seen.add(want)
    assert seen == {True, False}


def _moved_by_definition(question: Question, now: dict[str, bytes | None]) -> bool:
    def lines(data: bytes | None) -> list[str]:
        return split(data.decode()) if data is not None else []

    for path, mine in question.after.items():
        before = question.before.get(path)
        if mine == before:
            continue
        old, new = lines(before), lines(now.get(path))
        for e in edits(old, lines(mine)):
            lo, hi = max(e.start - CONTEXT, 0), min(e.end + CONTEXT, len(old))
            if new[lo:hi] != old[lo:hi]:
                return True
    return False


def test_moved_probe_is_its_definition() -> None:
    rng = random.Random(1400)
    seen = set()
    for _ in range(400):
        base = {p: [rng.choice(WORDS) for _ in range(rng.randint(0, 12))] for p in ("a", "b")}
        after = {p: _text(rng, t) for p, t in base.items()}
        question = Question(
            MOVED,
            {p: "".join(t).encode() for p, t in base.items()},
            {p: "".join(t).encode() for p, t in after.items()},
        )
        for _ in range(4):  # one question, many commits: its windows are reused
            now: dict[str, bytes | None] = {
                p: ("".join(_text(rng, t)).encode() if rng.random() < 0.6 else "".join(t).encode())
                for p, t in base.items()
            }
            if rng.random() < 0.1:
                now["b"] = None
            want = _moved_by_definition(question, now)
            assert is_bad(question, now) == want
            seen.add(want)
    assert seen == {True, False}


def test_trimmed_edits_are_difflibs() -> None:
    """Tiny alphabets make ties and repeated runs everywhere: the proofs must hold or step aside."""
    rng = random.Random(20261201)
    for _ in range(6000):
        alphabet = WORDS[: rng.randint(1, 5)]
        old = [rng.choice(alphabet) for _ in range(rng.randint(0, 30))]
        new = list(old)
        for _ in range(rng.randint(0, 3)):
            at = rng.randint(0, len(new))
            kind = rng.random()
            if kind < 0.4:
                new[at:at] = [rng.choice(alphabet) for _ in range(rng.randint(1, 3))]
            elif kind < 0.7:
                del new[at : at + rng.randint(1, 3)]
            else:
                new[at : at + 1] = [rng.choice(alphabet)]
        assert edits_trimmed(old, new) == edits(old, new), (old, new)
        assert list(line_map_trimmed(old, new).items()) == list(line_map(old, new).items())


def test_trimmed_edits_on_a_long_file() -> None:
    old = [
        f"def f{i}(x):\n" if i % 4 == 0 else ("\n" if i % 4 == 3 else "    return x\n")
        for i in range(400)
    ]
    for at in (0, 1, 150, 398, 399, 400):
        new = [*old[:at], "    x += 1  # fork\n", *old[at + 1 :]]
        assert edits_trimmed(old, new) == edits(old, new)
        new = [*old[:at], "    y = 2\n", *old[at:]]
        assert edits_trimmed(old, new) == edits(old, new)
        assert line_map_trimmed(old, new) == line_map(old, new)
