"""The pure core on plain values: conflict regions, recorded resolutions, release ordering."""

from __future__ import annotations

import pytest

from forkman.core.conflicts import (
    Region,
    Resolution,
    extract_resolutions,
    has_markers,
    lost_lines,
    regions,
    split_conflicts,
    substitute,
    upstream_ranges,
)
from forkman.core.releases import newest_release, releases, tag_version
from forkman.core.states import GONE, NEEDS_ACTION, OverlayState, Phase, SyncState, colour_of
from forkman.errors import BadRef

MERGED = (
    "one\n"
    "<<<<<<< v2\n"
    "upstream\n"
    "||||||| v1\n"
    "base\n"
    "=======\n"
    "overlay\n"
    ">>>>>>> overlay x\n"
    "two\n"
    "three\n"
    "<<<<<<< v2\n"
    "=======\n"
    "added\n"
    ">>>>>>> overlay x\n"
)


def test_split_conflicts_cuts_plain_runs_and_regions_with_their_lines() -> None:
    segments = split_conflicts(MERGED)
    assert segments[0] == ("one\n",)
    first = segments[1]
    assert first == Region(("upstream\n",), ("base\n",), ("overlay\n",), 2, 8)
    assert segments[2] == ("two\n", "three\n")
    assert segments[3] == Region((), (), ("added\n",), 11, 14)
    assert [r.start for r in regions(MERGED)] == [2, 11]
    assert has_markers(MERGED.encode()) and not has_markers(b"one\ntwo\n")


def test_upstream_ranges_are_lines_of_upstreams_own_file() -> None:
    # upstream's file: one, upstream, two, three -> the regions at line 2 and after line 4
    assert upstream_ranges(MERGED) == ((2, 2), (5, 5))


def test_a_region_key_depends_on_its_sides_and_path_only() -> None:
    region = regions(MERGED)[0]
    moved = Region(region.upstream, region.base, region.overlay, 40, 46)
    assert region.key("f.txt") == moved.key("f.txt") != region.key("g.txt")


def test_extract_resolutions_finds_what_replaced_each_conflict() -> None:
    resolved = "one\nupstream and overlay\ntwo\nthree\nadded\n"
    found = extract_resolutions(MERGED, resolved)
    assert found is not None
    assert [(r.start, lines) for r, lines in found] == [
        (2, ("upstream and overlay\n",)),
        (11, ("added\n",)),
    ]
    assert extract_resolutions(MERGED, "something else entirely\n") is None


def test_substitute_uses_only_a_resolution_of_the_very_same_conflict() -> None:
    first = regions(MERGED)[0]
    key = first.key("f.txt")
    same = Resolution(key, "x", "f.txt", first, ("both\n",))
    text, used = substitute(MERGED, "f.txt", {key: same})
    assert used == [key] and text.startswith("one\nboth\ntwo\n") and len(regions(text)) == 1
    other = Resolution(
        key, "x", "f.txt", Region(("else\n",), first.base, first.overlay, 0, 0), ("both\n",)
    )
    assert substitute(MERGED, "f.txt", {key: other}) == (MERGED, [])


def test_lost_lines_names_what_a_resolution_drops_from_either_side() -> None:
    region = Region(("new_upstream_call()\n",), ("old()\n",), ("our_call()\n",), 1, 7)
    assert lost_lines(region, ("our_call()\n",)) == (["new_upstream_call()"], [])
    assert lost_lines(region, ("new_upstream_call()\n",)) == ([], ["our_call()"])
    assert lost_lines(region, ("new_upstream_call()\n", "our_call()\n")) == ([], [])


@pytest.mark.parametrize(
    ("tag", "version"),
    [("v0.6.10", "0.6.10"), ("v1.0.0-rc1", "1.0.0rc1"), ("other-1.0", None), ("vnext", None)],
)
def test_tag_version_reads_the_part_the_pattern_leaves_open(tag: str, version: str | None) -> None:
    found = tag_version(tag, "v*")
    assert (str(found) if found else None) == version


def test_releases_are_ordered_by_version_not_by_name() -> None:
    tags = {t: "0" * 40 for t in ("v0.6.9", "v0.6.10", "v0.6.8", "v0.7.0-rc1", "nightly")}
    assert releases(tags, "v*") == ["v0.6.8", "v0.6.9", "v0.6.10"]
    assert newest_release(tags, "v*") == "v0.6.10"
    assert newest_release(tags, "v*", pre=True) == "v0.7.0-rc1"
    with pytest.raises(BadRef):
        newest_release(tags, "release-*")


def test_every_state_has_its_colour_and_the_sets_follow_the_table() -> None:
    assert {s.value for s in NEEDS_ACTION} == {
        "conflict",
        "blocked",
        "not-applicable",
        "check-failed",
    }
    assert {s.value for s in GONE} == {"upstreamed", "dropped", "skipped"}
    assert all(s.advice for s in NEEDS_ACTION)
    assert {colour_of(s) for s in (*SyncState, *OverlayState)} <= {
        "green",
        "red",
        "yellow",
        "blue",
        "dim",
    }
    assert colour_of("no-such-state") is None
    assert f"{SyncState.CONFLICT:>10}|" == "  conflict|" and Phase.DONE.verb == "moved"
