"""The sync planner on plain values: file contents in, a tiny pure merge and diff, states out."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import replace

from forkman.core.checks import Check
from forkman.core.conflicts import Region, Resolution, regions
from forkman.core.overlay import Overlay
from forkman.core.planner import PlanInput, plan
from forkman.core.states import SyncState
from forkman.core.values import FileState, MergeJob, MergeResult, State, Tree


def lines_merge(jobs: Sequence[MergeJob]) -> list[MergeResult]:
    """A 3-way merge line by line, for sides with as many lines as the base (enough here)."""
    results = []
    for job in jobs:
        base, ours, theirs = (
            s.decode().splitlines(keepends=True) for s in (job.base, job.ours, job.theirs)
        )
        assert len(base) == len(ours) == len(theirs), "the tiny merge needs equal line counts"
        out, conflicts = [], 0
        for b, o, t in zip(base, ours, theirs, strict=True):
            if o in (b, t):
                out.append(t)
            elif t == b:
                out.append(o)
            elif job.favor == "theirs":
                out.append(t)
            else:
                conflicts += 1
                ours_label, base_label, theirs_label = job.labels
                out += [f"<<<<<<< {ours_label}\n", o, f"||||||| {base_label}\n", b,
                        "=======\n", t, f">>>>>>> {theirs_label}\n"]  # fmt: skip
        results.append(MergeResult("".join(out).encode(), conflicts))
    return results


def unified(before: Tree, after: Tree) -> str:
    """A git-style patch of modified text files (difflib; enough for the planner)."""
    out = []
    for path in sorted({*before, *after}):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        assert old is not None and new is not None, "modified files only"
        out.append(f"diff --git a/{path} b/{path}\n")
        out += difflib.unified_diff(
            old.data.decode().splitlines(keepends=True),
            new.data.decode().splitlines(keepends=True),
            f"a/{path}",
            f"b/{path}",
            n=1,
        )
    return "".join(out)


def diff_all(pairs: Sequence[tuple[Tree, Tree]]) -> list[str]:
    return [unified(before, after) for before, after in pairs]


def text(*lines: str) -> FileState:
    return FileState("".join(f"{line}\n" for line in lines).encode())


BASE = text("a", "b", "c", "d", "e", "f")


def overlay(name: str, before: State, after: State) -> Overlay:
    return Overlay(name, f"change {name}", diff=unified(before, after))


def inputs(
    overlays: tuple[Overlay, ...], new: State, old: State | None = None, **more: object
) -> PlanInput:
    return PlanInput(
        old_ref="v1",
        new_ref="v2",
        overlays=overlays,
        old_base=old or {"f.txt": BASE},
        new_base=new,
        merge=lines_merge,
        diff=diff_all,
        **more,  # type: ignore[arg-type]
    )


OURS = overlay("ours", {"f.txt": BASE}, {"f.txt": text("a", "B", "c", "d", "e", "f")})


def test_an_overlay_upstream_did_not_touch_nearby_carries_over_clean() -> None:
    the_plan = plan(inputs((OURS,), {"f.txt": text("a", "b", "c", "d", "e", "F")}))
    (result,) = the_plan.results
    assert result.state == SyncState.CLEAN and the_plan.clean
    assert the_plan.final["f.txt"] == text("a", "B", "c", "d", "e", "F")
    assert the_plan.overlays["ours"].diff == OURS.diff


def test_upstream_making_the_same_change_is_upstreamed() -> None:
    the_plan = plan(inputs((OURS,), {"f.txt": text("a", "B", "c", "d", "e", "f")}))
    (result,) = the_plan.results
    assert result.state == SyncState.UPSTREAMED and result.state.leaves_series
    assert the_plan.overlays["ours"].field("Applied-Upstream") == "v2"


def test_a_clash_is_a_conflict_and_a_later_overlay_on_the_same_file_is_blocked() -> None:
    later = overlay(
        "later",
        {"f.txt": text("a", "B", "c", "d", "e", "f")},
        {"f.txt": text("a", "B", "c", "d", "E", "f")},
    )
    the_plan = plan(inputs((OURS, later), {"f.txt": text("a", "X", "c", "d", "e", "f")}))
    first, second = the_plan.results
    assert first.state == SyncState.CONFLICT and first.cause == "upstream"
    assert second.state == SyncState.BLOCKED and second.blocked_by == ("ours",)
    assert the_plan.stop is first and not the_plan.clean
    (conflict,) = the_plan.conflicts["ours"]
    (region,) = regions(conflict.merged.decode())
    assert (region.upstream, region.base, region.overlay) == (("X\n",), ("b\n",), ("B\n",))


def test_a_recorded_resolution_settles_the_same_conflict() -> None:
    new = {"f.txt": text("a", "X", "c", "d", "e", "f")}
    conflicted = plan(inputs((OURS,), new)).conflicts["ours"][0]
    (region,) = regions(conflicted.merged.decode())
    key = region.key("f.txt")
    recorded = Resolution(
        key, "ours", "f.txt", Region(region.upstream, region.base, region.overlay, 0, 0), ("XB\n",)
    )
    the_plan = plan(inputs((OURS,), new, resolutions={key: recorded}))
    (result,) = the_plan.results
    assert result.state == SyncState.RESOLVED and result.reused == (key,)
    assert the_plan.final["f.txt"] == text("a", "XB", "c", "d", "e", "f")


def test_a_resolution_for_another_conflict_is_not_used() -> None:
    new = {"f.txt": text("a", "X", "c", "d", "e", "f")}
    conflicted = plan(inputs((OURS,), new)).conflicts["ours"][0]
    (region,) = regions(conflicted.merged.decode())
    key = region.key("f.txt")
    other = Resolution(
        key, "ours", "f.txt", Region(("Y\n",), region.base, region.overlay, 0, 0), ("XB\n",)
    )
    assert (
        plan(inputs((OURS,), new, resolutions={key: other})).results[0].state == SyncState.CONFLICT
    )


def test_a_file_gone_upstream_is_not_applicable_and_skipped_overlays_are_left_out() -> None:
    gone = plan(inputs((OURS,), {"f.txt": None}))
    assert gone.results[0].state == SyncState.NOT_APPLICABLE and gone.stop is not None
    skipped = plan(inputs((OURS,), {"f.txt": None}, skipped=frozenset({"ours"})))
    assert skipped.results[0].state == SyncState.SKIPPED and skipped.clean


def test_a_pattern_check_the_merged_file_fails_is_check_failed() -> None:
    checks = (
        Check("ours", path="f.txt", pattern="^B$"),
        Check("ours", path="f.txt", pattern="^Z$"),
    )
    the_plan = plan(inputs((OURS,), {"f.txt": text("a", "b", "c", "d", "e", "F")}, checks=checks))
    (result,) = the_plan.results
    assert result.state == SyncState.CHECK_FAILED and result.state.needs_action
    assert "/^Z$/" in result.detail and "/^B$/" not in result.detail


def test_a_merge_that_no_longer_compiles_is_check_failed() -> None:
    """Each side compiles; together `break` is left outside its loop."""
    old = {"m.py": text("for i in range(1):", "    pass", "y = 1")}
    ours = overlay("py", old, {"m.py": text("for i in range(1):", "    break", "y = 1")})
    the_plan = plan(inputs((ours,), {"m.py": text("if True:", "    pass", "y = 1")}, old=old))
    (result,) = the_plan.results
    assert result.state == SyncState.CHECK_FAILED and "m.py:2 no longer compiles" in result.detail


# -- judged file by file: a file upstream deleted that the overlay only modified -----------------
G = text("1", "2", "3", "4", "5", "6")
OLD_TWO = {"f.txt": BASE, "g.txt": G}
TWO = overlay(
    "two",
    OLD_TWO,
    {"f.txt": text("a", "B", "c", "d", "e", "f"), "g.txt": text("1", "2", "3", "4", "5", "SIX")},
)


def test_an_overlay_is_carried_without_a_file_upstream_deleted_and_says_so() -> None:
    the_plan = plan(inputs((TWO,), {"f.txt": BASE, "g.txt": None}, old=OLD_TWO))
    (result,) = the_plan.results
    assert result.state == SyncState.MOVED and the_plan.clean and result.needs_review
    assert [w.path for w in result.without] == ["g.txt"] and result.files == ("f.txt",)
    assert "carried without g.txt: upstream deleted it" in result.detail
    assert (result.added, result.removed) == (1, 1)
    # the refreshed overlay is its own change of f.txt, nothing of g.txt
    assert the_plan.overlays["two"].diff == unified({"f.txt": BASE}, {"f.txt": TWO_F})
    assert the_plan.final["f.txt"] == TWO_F and the_plan.final.get("g.txt") is None


TWO_F = text("a", "B", "c", "d", "e", "f")


def test_its_rest_is_judged_as_usual_partly_and_conflict() -> None:
    partly = overlay(
        "partly",
        OLD_TWO,
        {"f.txt": text("A", "B", "c", "d", "e", "f"), "g.txt": text("1", "2", "3", "4", "5", "X")},
    )
    new = {"f.txt": text("A", "b", "c", "d", "e", "f"), "g.txt": None}
    (result,) = plan(inputs((partly,), new, old=OLD_TWO)).results
    assert result.state == SyncState.PARTLY and [w.path for w in result.without] == ["g.txt"]
    assert "review it" in result.detail

    clash = plan(
        inputs((TWO,), {"f.txt": text("a", "X", "c", "d", "e", "f"), "g.txt": None}, old=OLD_TWO)
    )
    (result,) = clash.results
    assert result.state == SyncState.CONFLICT and clash.stop is result
    assert "carried without g.txt" in result.detail and [
        c.path for c in clash.conflicts["two"]
    ] == ["f.txt"]


def test_all_its_other_files_upstreamed_is_upstreamed_and_keeps_the_whole_patch() -> None:
    the_plan = plan(inputs((TWO,), {"f.txt": TWO_F, "g.txt": None}, old=OLD_TWO))
    (result,) = the_plan.results
    assert result.state == SyncState.UPSTREAMED and result.state.leaves_series
    assert "without g.txt: upstream deleted it" in result.detail
    kept = the_plan.overlays["two"]
    assert kept.field("Applied-Upstream") == "partly, v2" and kept.diff == TWO.diff


def test_nothing_left_to_carry_is_not_applicable_and_a_rename_is_not_a_deletion() -> None:
    only_g = overlay("g", {"g.txt": G}, {"g.txt": text("1", "2", "3", "4", "5", "SIX")})
    (result,) = plan(inputs((only_g,), {"f.txt": BASE, "g.txt": None}, old=OLD_TWO)).results
    assert result.state == SyncState.NOT_APPLICABLE and "g.txt no longer exists" in result.detail
    renamed = {"f.txt": BASE, "g.txt": None, "h.txt": G}
    the_plan = plan(inputs((TWO,), renamed, old=OLD_TWO, renames={"g.txt": "h.txt"}))
    (result,) = the_plan.results
    assert not result.without and the_plan.final["h.txt"] == text("1", "2", "3", "4", "5", "SIX")


def test_the_deleting_commit_is_named_once_known() -> None:
    from forkman.core.culprit import Culprit

    (result,) = plan(inputs((TWO,), {"f.txt": BASE, "g.txt": None}, old=OLD_TWO)).results
    by = Culprit("c0ffee" * 6 + "abcd", "tests: drop g.txt (#12)", "2026-01-01T00:00:00Z", 12)
    named = result.naming({"g.txt": by})
    assert (
        "carried without g.txt: upstream deleted it in c0ffeec0ffee tests: drop g.txt (#12)"
        in named.detail
    )
    assert named.without[0].culprit == by and result.naming({}) == result


def test_overlays_stacked_on_one_file_merge_in_batches_with_the_same_plan() -> None:
    """Each overlay changing a file an earlier one changed is merged in one batch per round (its
    upstream side foreseen from the earlier clean merge), and a wrong foresight (the earlier
    overlay conflicted, or a resolution stood in) is merged again: the plan is the one merged
    file by file."""
    lines = ["a", "b", "c", "d", "e", "f"]
    names, overlays, now = ["o0", "o1", "o2", "o3"], [], list(lines)
    for i, name in enumerate(names):
        changed = [*now]
        changed[i + 1] = changed[i + 1].upper()
        before, after = {"f.txt": text(*now), "g.txt": BASE}, {"f.txt": text(*changed)}
        if i == 0:
            after["g.txt"] = text("a", "b", "c", "d", "E", "f")
        overlays.append(overlay(name, before, {**before, **after}))
        now = changed
    calls: list[int] = []

    def counted(jobs: Sequence[MergeJob]) -> list[MergeResult]:
        calls.append(len(jobs))
        return lines_merge(jobs)

    def one_by_one(jobs: Sequence[MergeJob]) -> list[MergeResult]:
        return [r for job in jobs for r in lines_merge([job])]

    upstreams = [
        {"f.txt": text("A", "b", "c", "d", "e", "f"), "g.txt": text("a", "b", "c", "d", "e", "F")},
        {"f.txt": text("a", "b", "X", "d", "e", "f"), "g.txt": BASE},  # o1 conflicts
    ]
    for new in upstreams:
        old = {"f.txt": text(*lines), "g.txt": BASE}
        calls.clear()
        batched = plan(replace(inputs(tuple(overlays), new, old), merge=counted))
        alone = plan(replace(inputs(tuple(overlays), new, old), merge=one_by_one))
        assert batched.results == alone.results and batched.final == alone.final
        assert batched.overlays == alone.overlays and batched.conflicts == alone.conflicts
        if new is upstreams[0]:
            assert batched.clean
            assert calls == [2, 1, 1, 1]  # every merge foreseen: none made again
        else:
            assert batched.results[1].state == SyncState.CONFLICT


def test_the_plan_hands_on_the_stack_it_carried() -> None:
    from forkman.core.stack import build_stack

    inp = inputs((OURS,), {"f.txt": text("a", "b", "c", "d", "e", "F")})
    the_plan = plan(inp)
    built = build_stack(inp.old_base, inp.overlays)
    assert the_plan.old_stack().steps == built.steps and the_plan.old_stack().final == built.final
    # a base with more files than the overlays touch gives the same steps: handed on, not rebuilt
    wider = replace(inp, old_base={**inp.old_base, "g.txt": FileState(b"g\n")})
    again = plan(wider, the_plan.old)
    assert again.old is the_plan.old and again.results == plan(wider).results
    assert replace(the_plan, old=None).old_stack().steps == built.steps
