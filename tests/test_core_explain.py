"""The pure explanations of a broken overlay, on plain values: culprit search, what upstream did,
whether it already made the change, and following its moves."""

from __future__ import annotations

import math

from forkman.core import explain
from forkman.core.culprit import (
    BROKEN,
    CLEAN,
    Commit,
    Levels,
    culprit_of,
    first_at,
    pr_number,
    pr_url,
)
from forkman.core.explain import OtherFile, classify
from forkman.core.moves import follow
from forkman.core.textdiff import Edit, apply_edits, edits, find_block, split, tokens
from forkman.core.upstreamed import files_upstreamed, judge_file, likeness

# -- culprit ------------------------------------------------------------------------------------


def test_pr_number_from_squash_and_merge_subjects() -> None:
    assert pr_number("refactor(backend): Defer loading of .blocks (#9664)") == 9664
    assert pr_number("Merge pull request #12 from owner/branch") == 12
    assert pr_number("fix: issue #12 in the middle") is None
    assert pr_number("Merge branch 'dev'") is None


def test_pr_url_from_every_github_url_form() -> None:
    want = "https://github.com/Significant-Gravitas/AutoGPT/pull/9664"
    for url in (
        "https://github.com/Significant-Gravitas/AutoGPT.git",
        "https://github.com/Significant-Gravitas/AutoGPT",
        "git@github.com:Significant-Gravitas/AutoGPT.git",
        "ssh://git@github.com/Significant-Gravitas/AutoGPT.git",
    ):
        assert pr_url(url, 9664) == want
    assert pr_url("/srv/git/autogpt", 9664) is None
    assert pr_url("https://gitlab.com/a/b.git", 1) is None
    assert pr_url("https://github.com/a/b.git", None) is None


def test_culprit_of_names_commit_subject_date_and_pr() -> None:
    c = culprit_of(
        Commit("a" * 40, "feat: x (#7)", "2025-06-02T12:00:00+00:00"), "git@github.com:o/r"
    )
    assert (c.commit, c.pr, c.url) == ("a" * 40, 7, "https://github.com/o/r/pull/7")
    assert c.short == "aaaaaaaaaaaa feat: x (#7)"


def test_bisect_finds_the_first_bad_in_log2_calls() -> None:
    items = list(range(2000))
    for first_bad in (0, 1, 999, 1998, 1999):
        calls: list[int] = []

        def level(x: int, first_bad: int = first_bad, calls: list[int] = calls) -> int:
            calls.append(x)
            return BROKEN if x >= first_bad else CLEAN

        assert first_at(items, level) == {BROKEN: first_bad}
        assert len(calls) <= math.ceil(math.log2(len(items)))
        assert 1999 not in calls  # the target itself is known bad


def test_bisect_with_an_unknown_end_can_find_none() -> None:
    search = Levels(3, last_known=False)
    while search.probe is not None:
        search = search.tested(CLEAN)
    assert search.first(BROKEN) is None
    search = Levels(3, last_known=False)
    while (mid := search.probe) is not None:
        search = search.tested(BROKEN if mid >= 2 else CLEAN)
    assert search.first(BROKEN) == 2
    assert first_at([], lambda x: BROKEN) == {BROKEN: None}
    assert Levels(1).probe is None and Levels(1).first(BROKEN) == 0


# -- what upstream did ----------------------------------------------------------------------------

OLD = split(
    "import os\n"
    "\n"
    "# load the blocks\n"
    "modules = []\n"
    'for f in root.rglob("*.py"):\n'
    "    modules.append(f)\n"
    "\n"
    "__all__ = ['modules']\n"
)
INDENTED = split(
    "import os\n"
    "\n"
    "\n"
    "def load_all_blocks():\n"
    "    # load the blocks\n"
    "    modules = []\n"
    '    for f in root.rglob("*.py"):\n'
    "        modules.append(f)\n"
    "    return modules\n"
    "\n"
    "__all__ = ['load_all_blocks']\n"
)


def test_moved_and_reindented_within_the_file() -> None:
    verdict = classify("init.py", OLD, INDENTED, (4, 5))
    assert verdict.did == explain.MOVED
    assert verdict.moved_to == explain.Place("init.py", 7, 7, "    ")
    assert '-for f in root.rglob("*.py"):' in verdict.upstream_diff
    assert '+    for f in root.rglob("*.py"):' in verdict.upstream_diff


def test_moved_to_another_file() -> None:
    old_models = split("A = 1\nMODELS = {\n    'a': 1,\n    'b': 2,\n}\nB = 2\n")
    new_models = split("A = 1\nfrom registry import MODELS\nB = 2\n")
    registry = OtherFile(None, tuple(split("MODELS = {\n    'a': 1,\n    'b': 2,\n}\n")))
    verdict = classify("llm.py", old_models, new_models, (2, 4), {"registry.py": registry})
    assert verdict.did == explain.MOVED
    assert verdict.moved_to is not None and str(verdict.moved_to) == "registry.py:2-3"
    assert "+++ b/registry.py" in verdict.upstream_diff


def test_ambiguous_move_names_every_candidate() -> None:
    old = split("a = 1\nx = compute()\nb = 2\n")
    new = split("a = 1\nb = 2\ndef f():\n    x = compute()\ndef g():\n    x = compute()\n")
    verdict = classify("m.py", old, new, (1, 2))
    assert verdict.did == explain.MOVED and verdict.ambiguous and len(verdict.candidates) == 2


def test_reformatted_rewritten_deleted_untouched() -> None:
    old = split('A = 1\nMETA = Meta("ollama", 8192, None)\nB = 2\n')
    reformatted = split('A = 1\nMETA = Meta(\n    "ollama",\n    8192,\n    None,\n)\nB = 2\n')
    assert classify("m.py", old, reformatted, (1, 2)).did == explain.REFORMATTED
    rewritten = split('A = 1\nMETA = Meta("ollama", 16384, None, "Llama")\nB = 2\n')
    assert classify("m.py", old, rewritten, (1, 2)).did == explain.REWRITTEN
    deleted = split("A = 1\nB = 2\n")
    verdict = classify("m.py", old, deleted, (1, 2))
    assert verdict.did == explain.DELETED and '-META = Meta("ollama", 8192, None)' in (
        verdict.upstream_diff
    )
    assert classify("m.py", old, old, (1, 2)).did == explain.UNTOUCHED


def test_tokens_ignore_layout_and_magic_trailing_commas() -> None:
    assert tokens(["f(a, b)\n"]) == tokens(["f(\n", "    a,\n", "    b,\n", ")\n"])
    assert tokens(["f(a, b)\n"]) != tokens(["f(a, c)\n"])


# -- already upstream -----------------------------------------------------------------------------

ENUM = split(
    "class Model:\n"
    '    LLAMA = "llama3"\n'
    '    DOLPHIN = "dolphin"\n'
    "\n"
    "COST = {\n"
    "    Model.LLAMA: 1,\n"
    "    Model.DOLPHIN: 1,\n"
    "}\n"
)


def _mine() -> list[str]:
    return apply_edits(
        ENUM,
        [Edit(3, 3, ('    QWEN = "qwen2.5"\n',)), Edit(7, 7, ("    Model.QWEN: 1,\n",))],
    )


def test_upstream_holds_every_hunk_in_place() -> None:
    judged = judge_file(ENUM, _mine(), _mine())
    assert judged.whole and len(judged.upstreamed) == 2


def test_added_lines_standing_where_the_removed_ones_stood() -> None:
    old = split("a = 1\nx = old()\nb = 2\n")
    mine = split("a = 1\nx = new()\nb = 2\n")
    new = split("a = 10\nx = new()\nb = 20\n")  # context rewritten too: no reverse apply
    assert judge_file(old, mine, new).whole


def test_partly_upstreamed_never_adds_again_what_upstream_added_elsewhere() -> None:
    # upstream added QWEN at the end of the enum, and nothing to COST
    new = apply_edits(ENUM, [Edit(3, 3, ('    QWEN = "qwen2.5"\n',))])
    new = split(
        "".join(new).replace(
            '    DOLPHIN = "dolphin"\n    QWEN',
            '    DOLPHIN = "dolphin"\n    OTHER = "x"\n    QWEN',
        )
    )
    judged = judge_file(ENUM, _mine(), new)
    assert not judged.whole and len(judged.upstreamed) == 1
    assert [ln for e in judged.remainder for ln in e.lines] == ["    Model.QWEN: 1,\n"]
    # elsewhere in the file: upstream put it at the top of the class
    elsewhere = split(
        "".join(ENUM).replace("class Model:\n", 'class Model:\n    QWEN = "qwen2.5"\n')
    )
    judged = judge_file(ENUM, _mine(), elsewhere)
    assert [ln for e in judged.remainder for ln in e.lines] == ["    Model.QWEN: 1,\n"]


def test_kept_change_is_not_upstreamed() -> None:
    assert not judge_file(ENUM, _mine(), ENUM).upstreamed


GROUPS = split(
    "void update(void)\n"
    "{\n"
    "\tif (!append) {\n"
    "\t\t// replace the members\n"
    "\t\tif (NULL != members[0])\n"
    "\t\t\tfree_members(&members);\n"
    "\t\tmembers = xmalloc(sizeof(char *));\n"
    "\t\tmembers[0] = NULL;\n"
    "\t} else {\n"
    "\t\tif (NULL != members[0])\n"
    "\t\t\tmembers = dup_list(members);\n"
    "\t}\n"
    "}\n"
)


def test_a_deletion_upstream_made_too_while_rewriting_the_next_lines() -> None:
    mine = GROUPS[:4] + GROUPS[6:]  # the two lines that free the members go
    rewritten = [ln.replace("xmalloc(sizeof(char *))", "XMALLOC(1, char *)") for ln in mine]
    assert judge_file(GROUPS, mine, rewritten).whole
    # upstream's neighbours stand together where the lines were: the deletion is upstream's
    assert judge_file(GROUPS, mine, mine).whole


def test_a_deletion_upstream_did_not_make_is_kept() -> None:
    mine = GROUPS[:4] + GROUPS[6:]
    assert not judge_file(GROUPS, mine, GROUPS).upstreamed
    # upstream rewrote the very lines the overlay deletes: still ours to delete
    reworded = [ln.replace("free_members(&members)", "free_list(&members)") for ln in GROUPS]
    assert not judge_file(GROUPS, mine, reworded).upstreamed
    # the lines are gone from their place but upstream put them elsewhere (more copies)
    moved = GROUPS[:4] + GROUPS[6:-1] + GROUPS[4:6] + GROUPS[-1:]
    assert not judge_file(GROUPS, mine, moved).upstreamed
    # a deletion inside lines upstream never had (an earlier overlay added them)
    assert not judge_file(GROUPS, mine, GROUPS[:2] + GROUPS[-1:]).upstreamed


def test_an_addition_upstream_made_under_rewritten_outer_context() -> None:
    old = split("int f(void)\n{\n\tif (!ok)\n\t\tgoto out;\n\n\tif ((k = init()) == NULL) {\n"
                "\t\terror(\"alloc failed\");\n\t\tgoto out;\n\t}\n")  # fmt: skip
    mine = [*old[:6], "\t\tr = ERR_ALLOC;\n", *old[6:]]
    new = [ln.replace("goto out;\n\n", "") for ln in mine]
    new[3] = "\t\treturn ERR_MAGIC;\n"  # the context three lines up is upstream's own now
    assert judge_file(old, mine, new).whole
    # the same two neighbours with the line between them elsewhere is no evidence: old had it
    twice = [*old, "\tif ((k = init()) == NULL) {\n", "\t\tr = ERR_ALLOC;\n",
             "\t\terror(\"alloc failed\");\n"]  # fmt: skip
    assert not judge_file(twice, [*twice[:6], "\t\tr = ERR_ALLOC;\n", *twice[6:]], twice).upstreamed


def test_likely_upstreamed_in_another_form() -> None:
    old = split('A = 1\nURL = "http://x"\nB = 2\n')
    mine = split('A = 1\nURL = os.environ.get("URL", "http://x")\nB = 2\n')
    close = split('A = 1\nURL = os.environ.get("URL", default="http://x")\nB = 2\n')
    other = split("A = 1\nURL = settings.url\nB = 2\n")
    found = likeness(old, mine, close)
    assert found is not None and found.likely
    found = likeness(old, mine, other)
    assert found is not None and not found.likely
    assert likeness(old, mine, old) is None


def test_upstream_editing_the_line_an_overlay_replaces_is_not_its_form_of_the_change() -> None:
    # the overlay comments a call out; upstream only renamed the constant in it
    old = split('\tif (f == NULL) {\n\terror("no %s", PATH_RESOLV);\n\treturn;\n')
    mine = split('\tif (f == NULL) {\n\t/* error("no %s", PATH_RESOLV); */\n\treturn;\n')
    renamed = split('\tif (f == NULL) {\n\terror("no %s", PPP_PATH_RESOLV);\n\treturn;\n')
    found = likeness(old, mine, renamed)
    assert found is not None and not found.likely
    theirs = split('\tif (f == NULL) {\n\t/* error("no %s", PPP_PATH_RESOLV); */\n\treturn;\n')
    found = likeness(old, mine, theirs)
    assert found is not None and found.likely


def test_every_file_of_an_overlay_must_be_upstreams_for_it_to_be_upstreamed() -> None:
    conf, page = "a = 1\n", ".TH x\n"
    mine = {"x.conf": "a = 1\nb = 2\n", "x.5": ".TH x\n.B b\n", "new.txt": "n\n"}
    before = {"x.conf": conf, "x.5": page, "new.txt": None}
    assert files_upstreamed(before, mine, dict(mine))
    assert not files_upstreamed(before, mine, {**mine, "x.5": page})  # the man page is ours
    assert not files_upstreamed(before, mine, {**mine, "new.txt": None})
    assert files_upstreamed(before, {"x.conf": conf}, {"x.conf": "a = 0\n"})  # untouched


# -- following moves ------------------------------------------------------------------------------


def test_follow_a_reindented_move_within_the_file() -> None:
    mine = [ln.replace('root.rglob("*.py")', "walk(root)") for ln in OLD]
    result = follow("init.py", OLD, mine, INDENTED)
    assert [(m.old_start, m.old_end, str(m.to)) for m in result.moves] == [(4, 6, "init.py:6-8")]
    assert "    for f in walk(root):\n" in result.files["init.py"]
    assert "    return modules\n" in result.files["init.py"] and not result.rest


def test_follow_a_move_into_another_file() -> None:
    old = split("A = 1\nMODELS = {\n    'a': 1,\n    'b': 2,\n}\nB = 2\n")
    mine = split("A = 1\nMODELS = {\n    'a': 1,\n    'b': 3,\n}\nB = 2\n")
    new = split("A = 1\nfrom registry import MODELS\nB = 2\n")
    registry = OtherFile(None, tuple(split("MODELS = {\n        'a': 1,\n        'b': 2,\n}\n")))
    result = follow("llm.py", old, mine, new, {"registry.py": registry})
    assert result.files == {
        "registry.py": tuple(split("MODELS = {\n        'a': 1,\n        'b': 3,\n}\n"))
    }
    assert result.moves[0].to.path == "registry.py" and not result.rest


def test_ambiguous_move_is_left_to_the_merge_with_a_hint() -> None:
    old = split("a = 1\nx = compute()\nb = 2\n")
    mine = split("a = 1\nx = compute(fast=True)\nb = 2\n")
    block = "    a = 1\n    x = compute()\n    b = 2\n"
    new = split("c = 3\ndef f():\n" + block + "def g():\n" + block)
    result = follow("m.py", old, mine, new)
    assert not result.moves and len(result.rest) == 1
    assert result.hints and "ambiguous" in result.hints[0]


def test_untouched_changes_are_left_to_the_merge() -> None:
    mine = [*OLD[:-1], "__all__ = ['modules', 'x']\n"]
    result = follow("init.py", OLD, mine, OLD)
    assert not result.moves and result.rest == edits(OLD, mine)
    assert find_block(["x\n"], ["y\n"]) == []


# -- probes, records, steps -----------------------------------------------------------------------


def test_probe_answers_from_file_contents() -> None:
    from forkman.core import probe

    old = "".join(ENUM).encode()
    mine = "".join(_mine()).encode()
    shifted = ("# header\n" + "".join(ENUM)).encode()
    moved = probe.Question(probe.MOVED, {"m.py": old}, {"m.py": mine})
    assert not probe.is_bad(moved, {"m.py": old})
    assert probe.is_bad(moved, {"m.py": shifted})
    gone = probe.Question(probe.GONE, {"m.py": old}, {"m.py": mine})
    assert probe.is_bad(gone, {"m.py": None}) and not probe.is_bad(gone, {"m.py": old})
    up = probe.Question(probe.UPSTREAMED, {"m.py": old}, {"m.py": mine})
    assert probe.is_bad(up, {"m.py": mine}) and not probe.is_bad(up, {"m.py": old})
    half = "".join(ENUM).replace(
        '    DOLPHIN = "dolphin"\n', '    DOLPHIN = "dolphin"\n    QWEN = "qwen2.5"\n'
    )
    partly = probe.Question(probe.PARTLY, {"m.py": old}, {"m.py": mine})
    assert probe.is_bad(partly, {"m.py": half.encode()}) and not probe.is_bad(
        up, {"m.py": half.encode()}
    )


def test_judge_file_with_the_edits_given_judges_alike() -> None:
    from forkman.core.trimdiff import edits_trimmed

    mine = _mine()
    half = [ln for ln in mine if "QWEN" not in ln] + ["# tail\n"]
    for new in (mine, ENUM, half, ENUM[:3], []):
        assert judge_file(ENUM, mine, new, edits_trimmed(ENUM, mine)) == judge_file(ENUM, mine, new)


def test_a_question_works_out_the_overlays_edits_once() -> None:
    from forkman.core import probe
    from forkman.core.trimdiff import edits_trimmed

    old, mine = "".join(ENUM).encode(), "".join(_mine()).encode()
    question = probe.Question(probe.PARTLY, {"m.py": old}, {"m.py": mine})
    assert question.edits("m.py") == edits_trimmed(ENUM, _mine())
    assert question.edits("m.py") is question.edits("m.py")
    moved = probe.Question(probe.MOVED, {"m.py": old}, {"m.py": mine})
    spans = [(max(e.start - 3, 0), min(e.end + 3, len(ENUM))) for e in moved.edits("m.py")]
    assert [w[:2] for w in moved.windows("m.py")] == spans != []


def test_a_question_names_every_file_its_probes_read() -> None:
    from forkman.core import probe

    question = probe.Question(
        probe.CARRY,
        {"a.py": b"1", "same.py": b"s"},
        {"a.py": b"2", "same.py": b"s"},
        {"n.py": None},
    )
    assert question.looked_at == {"a.py", "same.py", "n.py"} >= set(question.paths)


def test_probe_counts_a_deletion_upstream_made_too() -> None:
    from forkman.core import probe

    old = "".join(ENUM).encode()
    mine = "".join(_mine()).encode()
    gone = probe.Question(probe.UPSTREAMED, {"m.py": old}, {"m.py": None})
    assert probe.is_bad(gone, {"m.py": None}) and not probe.is_bad(gone, {"m.py": old})
    both = probe.Question(
        probe.UPSTREAMED, {"m.py": old, "n.py": old}, {"m.py": mine, "n.py": None}
    )
    assert probe.is_bad(both, {"m.py": mine, "n.py": None})
    assert not probe.is_bad(both, {"m.py": old, "n.py": None})
    partly = probe.Question(probe.PARTLY, {"m.py": old, "n.py": old}, {"m.py": mine, "n.py": None})
    assert probe.is_bad(partly, {"m.py": old, "n.py": None})
    assert not probe.is_bad(partly, {"m.py": old, "n.py": old})


def test_file_records_reuse_exactly_or_report_stale() -> None:
    from forkman.core.records import EXACT, STALE, FileRecord, Sides, choose

    sides = Sides.of(b"base", b"upstream", b"overlay")
    record = FileRecord("loader", "init.py", sides, "<<<<<<< ...", "resolved\n", "v1 -> v2")
    found = choose([record], "loader", "init.py", sides)
    assert found is not None and found.kind == EXACT and found.record == record
    other = choose([record], "loader", "init.py", Sides.of(b"base", b"upstream2", b"overlay"))
    assert other is not None and other.kind == STALE
    assert choose([record], "llm", "init.py", sides) is None
    assert record.key != FileRecord("loader", "other.py", sides, "", "").key


def test_release_steps() -> None:
    from forkman.core.steps import release_steps

    tags = ["v1", "v2", "v3", "v4"]
    assert release_steps(tags, "v1", "v4") == ("v2", "v3", "v4")
    assert release_steps(tags, "v2", "v3") == ("v3",)
    assert release_steps(tags, "v4", "v4") == ()
    assert release_steps(tags, "v3", "main") == ("v4", "main")
    assert release_steps(tags, "abc123", "v2") == ("v1", "v2")


def test_locate_a_conflicts_base_side() -> None:
    old = split("a\nb\nc\na\nb\n")
    assert explain.locate(old, ["a\n", "b\n"], near=3) == (3, 5)
    assert explain.locate(old, ["a\n", "b\n"]) == (0, 2)
    assert explain.locate(old, ["z\n"]) is None and explain.locate(old, []) is None


# -- carrying -------------------------------------------------------------------------------------


def test_carry_restates_a_moved_change_for_the_merge() -> None:
    from forkman.core.carry import carry

    old = "".join(OLD).encode()
    mine = old.replace(b'root.rglob("*.py")', b"walk(root)")
    carried = carry("init.py", old, "".join(INDENTED).encode(), mine)
    assert carried is not None and len(carried.moves) == 1
    assert b"    for f in walk(root):\n" in carried.upstream and carried.overlay == old


def test_carry_leaves_out_what_upstream_added_elsewhere() -> None:
    from forkman.core.carry import carry, holds_some

    old = "".join(ENUM).encode()
    new = "".join(ENUM).replace("class Model:\n", 'class Model:\n    QWEN = "qwen2.5"\n').encode()
    mine = "".join(_mine()).encode()
    assert holds_some(old, new, mine) and not holds_some(old, old, mine)
    carried = carry("m.py", old, new, mine)
    assert carried is not None and carried.upstreamed == 1 and not carried.moves
    assert carried.overlay.count(b"QWEN") == 1 and b"Model.QWEN: 1" in carried.overlay
    assert carry("m.py", old, old.replace(b"LLAMA = ", b"LLAMA2 = "), mine) is None


def test_carry_asks_only_the_other_files_that_may_hold_its_blocks() -> None:
    """The planner keys carry() by the other files may_hold() lets through: those it leaves out
    cannot change the answer."""
    from forkman.core.carry import carry, searched_blocks
    from forkman.core.moves import may_hold, searched

    old = b"A = 1\nMODELS = {\n    'a': 1,\n    'b': 2,\n}\nB = 2\n"
    mine = old.replace(b"'b': 2", b"'b': 3")
    new = b"A = 1\nfrom registry import MODELS\nB = 2\n"
    blocks = searched_blocks(old, new, mine)
    assert blocks == searched(split(old.decode()), split(mine.decode()), split(new.decode()))
    assert blocks == (("    'a': 1,\n", "    'b': 2,\n", "}\n"),)
    registry = b"MODELS = {\n        'a': 1,\n        'b': 2,\n}\n"
    others = {
        "registry.py": registry,
        "near.py": b"X = {\n    'a': 2,\n}\n",  # its first line is not there
        "first.py": b"'a': 1,\n",  # the first line alone
        "other.py": b"}\n'b': 2,\n  'a': 1,\n",  # every line, not as the block: carry skips it
    }
    assert [p for p, d in others.items() if may_hold(blocks, d)] == ["registry.py", "other.py"]
    assert not may_hold((("\n", "  \n"),), b"\n\n")  # a block of blank lines is never looked for
    assert may_hold((("\t\xe9t\xe9 = 1\n",),), "\xe9t\xe9 = 1\n".encode())

    def files(paths: list[str]) -> dict[str, OtherFile]:
        return {p: OtherFile(None, tuple(split(others[p].decode()))) for p in paths}

    everything = carry("llm.py", old, new, mine, files(list(others)))
    assert everything is not None and everything.others.keys() == {"registry.py"}
    assert carry("llm.py", old, new, mine, files(["registry.py", "other.py"])) == everything
    assert carry("llm.py", old, new, mine, files(["near.py"])) is None
    # a change on lines upstream left alone looks for nothing
    assert searched_blocks(old, old.replace(b"A = 1", b"A = 0"), mine) == ()


def test_changed_along_only_for_the_paths_asked_about() -> None:
    from forkman.core.culprit import Commit
    from forkman.git.culprit import changed_along
    from forkman.git.history import Logged

    def logged(*paths: str) -> Logged:
        return Logged(Commit("a" * 40, "s", "2025-01-01T00:00:00+00:00"), dict.fromkeys(paths))

    log = [
        logged("a", "b"),
        logged("c", "d"),
        logged("a", "e"),
        logged(*(f"f{i}" for i in range(50))),
    ]
    assert changed_along(log, ["a", "d", "x"]) == {"a": {"a", "b", "e"}, "d": {"c", "d"}}
    assert changed_along(log, []) == {}


# -- a move the planner follows, then a rewrite ---------------------------------------------------


def test_levels_find_the_rewrite_and_the_move_before_it_sharing_tests() -> None:
    from forkman.core.culprit import FOLLOWED

    items = list(range(2000))
    for move, rewrite in ((700, 1500), (1499, 1500), (0, 1999), (None, 1500), (None, 0)):
        calls: list[int] = []

        def level(
            i: int, move: int | None = move, rewrite: int = rewrite, calls: list[int] = calls
        ) -> int:
            calls.append(i)
            if i >= rewrite:
                return BROKEN
            return FOLLOWED if move is not None and i >= move else CLEAN

        found = first_at(items, level, (BROKEN, FOLLOWED))
        assert found == {BROKEN: rewrite, FOLLOWED: rewrite if move is None else move}
        assert len(calls) == len(set(calls)) and 1999 not in calls
        limit = math.ceil(math.log2(len(items)))
        # no move before it: one test more (the commit just before the rewrite), not log2 N
        assert len(calls) <= (limit + 1 if move is None else 2 * limit + 1)
    assert Levels(0).probe is None and Levels(0).first(BROKEN) is None
    assert Levels(3, last_known=False).tested(CLEAN).tested(CLEAN).first(BROKEN) is None


def test_carry_probe_merges_as_the_planner_does() -> None:
    from forkman.core import probe

    old = "".join(OLD).encode()
    mine = old.replace(b'root.rglob("*.py")', b"walk(root)")
    moved = "".join(INDENTED).encode()
    ask = probe.Question(probe.CARRY, {"init.py": old}, {"init.py": mine})
    assert ask.paths == ("init.py",)
    assert probe.first_merges(ask, {"init.py": old}) == (False, ())  # nothing to merge
    assert probe.first_merges(ask, {"init.py": None}) == (True, ())  # the file went away
    gone, jobs = probe.first_merges(ask, {"init.py": moved})
    assert not gone and [(p, j.base, j.ours, j.theirs) for p, j in jobs] == [
        ("init.py", old, moved, mine)
    ]
    # the plain merge of a moved function conflicts; the planner's retry makes the change there
    retry = probe.restated(ask, {"init.py": moved}, *jobs[0])
    assert retry is not None and b"    for f in walk(root):\n" in retry.ours
    assert retry.theirs == old  # nothing of the overlay is left to merge at the old place
    rewritten = {"init.py": old.replace(b"*.py", b"*.pyi")}  # rewritten in place: nothing moved
    assert probe.restated(ask, rewritten, *probe.first_merges(ask, rewritten)[1][0]) is None
    near = probe.Question(probe.CARRY, {"a.py": old}, {"a.py": mine}, {"b.py": None})
    assert near.paths == ("a.py", "b.py")


def test_after_move_tells_what_upstream_did_at_the_new_place() -> None:
    from forkman.core.moves import after_move

    mine = [ln.replace('root.rglob("*.py")', "walk(root)") for ln in OLD]
    rewritten = [ln.replace('root.rglob("*.py")', 'sorted(root.rglob("*.py"))') for ln in INDENTED]
    span = (3, 6)
    found = after_move("init.py", mine, span, {"init.py": OLD}, {"init.py": INDENTED},
                       {"init.py": rewritten})  # fmt: skip
    assert found is not None
    place, verdict = found
    assert str(place) == "init.py:6-8" and verdict.did == explain.REWRITTEN
    assert '+    for f in sorted(root.rglob("*.py")):' in verdict.upstream_diff
    # lines the move did not take: nothing to tell
    assert after_move("init.py", mine, span, {"init.py": OLD}, {"init.py": OLD},
                      {"init.py": rewritten}) is None  # fmt: skip


def test_the_summary_closes_with_what_a_reviewer_should_still_look_at() -> None:
    from forkman.core.planner import OverlayResult
    from forkman.core.states import SyncState
    from forkman.render import closing_line

    clean = OverlayResult("a", SyncState.CLEAN, ("x.py",))
    followed = OverlayResult(
        "loader", SyncState.MOVED, ("y.py",), followed=("move of y.py:3 to y.py:9",)
    )
    dropped = OverlayResult("fix", SyncState.UPSTREAMED, ("z.py",))
    conflict = OverlayResult("llm", SyncState.CONFLICT, ("l.py",))
    assert closing_line([clean]) == "All overlays carried over cleanly."
    assert closing_line([clean, OverlayResult("b", SyncState.MOVED, ("w.py",))]).endswith(
        "cleanly."
    )
    line = closing_line([clean, followed])
    assert "cleanly" not in line
    assert line == "All overlays carried over; 1 followed a move upstream made: review it (loader)."
    line = closing_line([followed, dropped])
    assert "cleanly" not in line and "dropped from the series (fix)" in line
    assert "carried over;" not in line  # fix was not carried: it left the series
    assert closing_line([followed, conflict]) == "**Needs attention:** llm"


def test_carry_probe_follows_a_move_into_a_near_file() -> None:
    from forkman.core import probe

    old = b"A = 1\nMODELS = {\n    'a': 1,\n    'b': 2,\n}\nB = 2\n"
    mine = old.replace(b"'b': 2", b"'b': 3")
    moved = {"llm.py": b"A = 1\nfrom registry import MODELS\nB = 2\n",
             "registry.py": b"MODELS = {\n        'a': 1,\n        'b': 2,\n}\n"}  # fmt: skip
    ask = probe.Question(probe.CARRY, {"llm.py": old}, {"llm.py": mine}, {"registry.py": None})
    job = probe.first_merges(ask, moved)[1][0]
    retry = probe.restated(ask, moved, *job)
    assert retry is not None and retry.theirs == old  # the change went with the lines
    # the moved lines then rewritten in the near file: nothing to follow any more
    rewritten = {**moved, "registry.py": moved["registry.py"].replace(b"'b': 2", b"'b': 20")}
    assert probe.restated(ask, rewritten, *probe.first_merges(ask, rewritten)[1][0]) is None
