"""Line comparison on plain values: the same matches as difflib, at a cost linear in large files."""

from __future__ import annotations

import difflib
import random
from collections import Counter

from forkman.core import textdiff
from forkman.core.textdiff import edits, matching_blocks, unified


def _difflib(a: list[str], b: list[str]) -> tuple[tuple[int, int, int], ...]:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return tuple((i, j, n) for i, j, n in matcher.get_matching_blocks())


def _code(rng: random.Random, size: int) -> list[str]:
    """Source-like lines: most unique, with the blank lines and braces every file repeats."""
    common = ["\n", "}\n", "    }\n", "{\n", "        break;\n"]
    return [
        rng.choice(common) if rng.random() < 0.35 else f"    call_{k}(x, {rng.randint(0, 9)});\n"
        for k in range(size)
    ]


def _edited(rng: random.Random, lines: list[str], changes: int) -> list[str]:
    out = list(lines)
    for n in range(changes):
        at = rng.randrange(len(out) + 1)
        if n % 3 == 0:
            del out[at : at + rng.randint(1, 4)]
        elif n % 3 == 1:
            out[at:at] = [f"    added_{n}();\n", "\n"]
        else:
            out[at : at + 1] = [f"    changed_{n}();\n"]
    return out


def _valid(a: list[str], b: list[str], blocks: tuple[tuple[int, int, int], ...]) -> None:
    i0 = j0 = 0
    for i, j, n in blocks[:-1]:
        assert i >= i0 and j >= j0 and n > 0 and a[i : i + n] == b[j : j + n]
        i0, j0 = i + n, j + n
    assert blocks[-1] == (len(a), len(b), 0)


def test_small_inputs_match_difflib_exactly() -> None:
    rng = random.Random(7)
    for _ in range(500):
        a = [rng.choice("abcde\n") for _ in range(rng.randint(0, 30))]
        b = _edited(rng, a, rng.randint(0, 4)) if a else ["x"]
        assert matching_blocks(a, b) == _difflib(a, b)
        ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        assert [(e.start, e.end, e.lines) for e in edits(a, b)] == [
            (i1, i2, tuple(b[j1:j2])) for tag, i1, i2, j1, j2 in ops if tag != "equal"
        ]


def test_through_lines_that_occur_once_the_same_as_difflib() -> None:
    rng = random.Random(11)
    for _ in range(6):
        a = _code(rng, 1_500)
        b = _edited(rng, a, 20)
        in_b = Counter(b)
        pairs = sum(in_b[line] for line in a)
        assert pairs > textdiff.EXACT_PAIRS  # the whole files are compared through unique lines
        assert matching_blocks(a, b) == _difflib(a, b)


def test_a_file_of_one_repeated_line_costs_linear_time_and_still_matches() -> None:
    a = ["\n"] * 20_000  # difflib would visit 400 million pairs
    b = [*a[:10_000], "x\n", *a[10_000:]]
    assert matching_blocks(a, b) == ((0, 0, 10_000), (10_000, 10_001, 10_000), (20_000, 20_001, 0))


def test_large_edited_files_give_a_valid_alignment() -> None:
    rng = random.Random(3)
    a = _code(rng, 6_000)
    b = _edited(rng, a, 60)
    blocks = matching_blocks(a, b)
    _valid(a, b, blocks)
    assert sum(n for *_, n in blocks) >= len(a) - 150  # nearly every line kept is found


def test_unified_without_focus_groups_hunks_as_difflib() -> None:
    rng = random.Random(5)
    a = _code(rng, 80)
    b = _edited(rng, a, 5)
    want = "".join(difflib.unified_diff(a, b, "a/f", "b/f", n=2, lineterm="\n"))
    got = unified(a, b, "f", "f")
    assert [ln for ln in got.splitlines() if not ln.startswith(("---", "+++"))] == [
        ln for ln in want.splitlines() if not ln.startswith(("---", "+++"))
    ]


class _Dict:
    """A memo on a dict (the plan cache's shape: recall and keep)."""

    def __init__(self) -> None:
        self.kept: dict[str, object] = {}

    def recall(self, key: str) -> tuple[bool, object]:
        return (key in self.kept, self.kept.get(key))

    def keep(self, key: str, value: object) -> None:
        self.kept[key] = value


def test_large_comparisons_are_remembered_and_found_again_as_they_were() -> None:
    rng = random.Random(5)
    a = _code(rng, 900)
    b = _edited(rng, a, 20)
    memo = _Dict()
    with textdiff.comparisons_remembered(memo):
        first = textdiff._remembered_blocks(tuple(a), tuple(b))
        small = textdiff._remembered_blocks(tuple(a[:100]), tuple(b[:100]))
    assert first == matching_blocks(a, b) and small == matching_blocks(a[:100], b[:100])
    assert len(memo.kept) == 1  # the small one is cheaper to compare again
    ((key, flat),) = memo.kept.items()
    assert key == textdiff.comparison_key(a, b)
    assert textdiff.blocks_from(flat, len(a), len(b)) == first
    # found again: the very answer kept, even one no comparison would give
    memo.kept[key] = (0, 0, 0, len(a), len(b), 0)
    with textdiff.comparisons_remembered(memo):
        assert textdiff._remembered_blocks(tuple(a), tuple(b)) == ((0, 0, 0), (len(a), len(b), 0))
    assert textdiff._remembered_blocks(tuple(a), tuple(b)) == first  # lent only within


def test_a_kept_comparison_of_other_texts_or_damaged_is_worked_out_again() -> None:
    rng = random.Random(6)
    a = _code(rng, 500)
    b = _edited(rng, a, 10)
    want = matching_blocks(a, b)
    for damaged in (
        None,
        "x",
        (),
        (1, 2),
        (0, 0, 1, len(a), len(b)),
        (0, 0, 5, 2, 2, 0, len(a), len(b), 0),
        (0, 0, len(a) + 1, len(a), len(b), 0),
        (0, 0, 0, len(a), len(b) + 1, 0),
        (True, 0, 0, len(a), len(b), 0),
    ):
        memo = _Dict()
        memo.kept[textdiff.comparison_key(a, b)] = damaged
        with textdiff.comparisons_remembered(memo):
            assert textdiff._remembered_blocks(tuple(a), tuple(b)) == want, damaged
    # the key tells apart texts that join alike, split differently
    assert textdiff.comparison_key(["a\n", "b\n"], ["c\n"]) != textdiff.comparison_key(
        ["a\nb\n"], ["c\n"]
    )
    assert textdiff.comparison_key(["a\n"], ["b\n"]) != textdiff.comparison_key(["b\n"], ["a\n"])


def test_similar_is_similarity_at_the_bound_without_comparing_most_pairs() -> None:
    rng = random.Random(9)
    words_ = ["x", "y", "if", "return", "(", ")", " ", "foo_bar", "1", "  ", "\t", ";"]

    def line() -> str:
        return "".join(rng.choice(words_) for _ in range(rng.randint(0, 12))) + "\n"

    lines = [line() for _ in range(120)] + ["\n", "  \n", "return x;\n", "\treturn x;\n"]
    for a in lines:
        for b in lines[:60]:
            for bound in (0.5, 0.75, 0.9):
                full = textdiff.similarity(a, b)
                assert textdiff.similar(a, b, bound) == (full if full >= bound else None)
