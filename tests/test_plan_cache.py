"""The plan cache (issue 14): a sync's --continue and --skip reuse what its earlier runs worked
out, and give byte for byte what a fresh plan gives; a damaged or stale cache is never trusted."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from explain_fixture import CULPRITS, build_case
from helpers import forkman, git, make_app, snapshot

from forkman.autogpt.example import BLOCKS_INIT, OVERLAYS
from forkman.commands import sync
from forkman.core import memo
from forkman.core.carry import Carried
from forkman.core.culprit import Culprit
from forkman.core.explain import Place
from forkman.core.memo import digest, remember
from forkman.core.moves import Move
from forkman.core.overlay import Overlay
from forkman.core.planner import PlanInput, plan
from forkman.core.states import SyncState
from forkman.core.values import FileState, MergeJob, MergeResult, State
from forkman.git.culprit import Found
from forkman.git.diff import diff_many
from forkman.git.merge import merge_many
from forkman.git.repository import GitRepo
from forkman.store import plancache
from forkman.store.journal import Journal, Pin, SyncJournal
from forkman.store.plancache import FOLDER, PlanCache, decode, encode
from forkman.store.project import Project, open_project

V10 = "autogpt-platform-beta-v0.6.10"


class DictMemo:
    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def recall(self, key: str) -> tuple[bool, object]:
        return (key in self.values, self.values.get(key))

    def keep(self, key: str, value: object) -> None:
        self.values[key] = value


# -- values --------------------------------------------------------------------------------
def test_digest_tells_apart_what_differs_and_only_that() -> None:
    assert digest("a", b"x", 1) == digest("a", b"x", 1)
    assert len({digest(b"ab", b"c"), digest(b"a", b"bc"), digest("ab", "c"), digest([b"ab"])}) == 4
    assert digest(None) != digest(b"") != digest("")
    assert digest(MergeJob(b"a", b"b", b"c", ("1", "2", "3"))) != digest(
        MergeJob(b"a", b"b", b"c", ("1", "2", "3"), "theirs")
    )
    with pytest.raises(TypeError):
        digest(object())


def test_every_kept_value_decodes_to_an_equal_one() -> None:
    move = Move("f.py", 3, 5, Place("g.py", 10, 12, "    "))
    values: list[object] = [
        None,
        "text with \udcff escaped bytes",
        b"\x00\xffbytes",
        MergeResult(b"<<<<<<< x\n", 2),
        Carried(b"up", b"mine", {"g.py": b"new"}, (move,), 1, ("a hint",)),
        Culprit("abc", "subject", "2026-01-01", 12, "https://x/pull/12", None),
        Found(Culprit("abc", "s", "d"), Culprit("def", "t", "e"), {"f.py": b"x", "g.py": None}),
        (b"reduced", 3),
        [1, (2, [3])],
    ]
    for value in values:
        again = decode(json.loads(json.dumps(encode(value))))
        assert again == value and type(again) is type(value)


def test_a_long_content_feeds_a_key_by_its_own_digest_alike_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    long, other = b"x" * 600, b"x" * 599 + b"y"
    assert digest("k", long) == digest("k", bytes(long)) != digest("k", other)
    assert digest(b"x" * 511) != digest(b"x" * 512) != digest("x" * 512)
    first = digest("k", long, other)
    monkeypatch.setattr(memo, "_KEPT_BYTES", 700)  # each new content now drops what is kept
    monkeypatch.setattr(memo, "_contents", {})
    monkeypatch.setattr(memo, "_kept", [0])
    assert digest("k", long, other) == first and len(memo._contents) <= 1


def test_what_a_memo_holds_of_another_kind_is_worked_out_again() -> None:
    memo = DictMemo()
    memo.keep("k", 42)
    assert remember(memo, lambda: "k", lambda: "fresh", (str,)) == "fresh"
    assert memo.values["k"] == "fresh"
    assert remember(memo, lambda: "k", lambda: "other", (str,)) == "fresh"
    assert remember(None, lambda: pytest.fail("no key without a memo"), lambda: 1, (int,)) == 1


def _jobs() -> list[MergeJob]:
    labels = ("up", "base", "mine")
    return [
        MergeJob(b"a\nb\nc\n", b"a\nB\nc\n", b"a\nb\nC\n", labels),
        MergeJob(b"a\nb\nc\n", b"a\nX\nc\n", b"a\nY\nc\n", labels),
    ]


def test_a_pack_is_read_back_and_answers_without_git(tmp_path: Path) -> None:
    folder = tmp_path / "sync"
    folder.mkdir()
    first = PlanCache()
    expected = first.merge(merge_many)(_jobs())
    first.save(folder / FOLDER)

    def no_git(jobs: object) -> list[MergeResult]:
        raise AssertionError("asked git again")

    again = PlanCache(folder / FOLDER)
    assert again.merge(no_git)(_jobs()) == expected
    assert again.hits == 2 and again.misses == 0


def test_damaged_stale_or_foreign_packs_are_left_unread(tmp_path: Path) -> None:
    folder = tmp_path / "sync"
    folder.mkdir()
    good = PlanCache()
    expected = good.merge(merge_many)(_jobs())
    good.save(folder / FOLDER)
    (pack,) = (folder / FOLDER).iterdir()
    data = pack.read_bytes()
    body, _, _ = data.rstrip(b"\n").rpartition(b"\n")
    entries = json.loads(body)["entries"]
    lies = {k: encode(MergeResult(b"not the merge\n", 0)) for k in entries}

    def pack_of(version: object, fingerprint: str, values: dict[str, object]) -> bytes:
        payload = json.dumps(
            {"version": version, "fingerprint": fingerprint, "entries": values}
        ).encode()
        return payload + b"\n" + plancache.hashlib.sha256(payload).hexdigest().encode() + b"\n"

    cases = {
        "cut short": data[: len(data) // 2],
        "one byte flipped": data.replace(b'"b":"', b'"b":"A', 1),
        "not json": b"garbage\n" + plancache.hashlib.sha256(b"garbage").hexdigest().encode(),
        "another version": pack_of(99, plancache.fingerprint(), lies),
        "another forkman": pack_of(plancache.CACHE_VERSION, "0" * 64, lies),
        "undecodable": pack_of(
            plancache.CACHE_VERSION, plancache.fingerprint(), {key: {"d": "X"} for key in entries}
        ),
        "wrong kind": pack_of(
            plancache.CACHE_VERSION, plancache.fingerprint(), dict.fromkeys(entries, "x")
        ),
    }
    for why, content in cases.items():
        pack.write_bytes(content)
        cache = PlanCache(folder / FOLDER)
        assert cache.merge(merge_many)(_jobs()) == expected, why


def test_a_release_s_files_are_read_back_whole_or_read_from_git_again(tmp_path: Path) -> None:
    files = {
        "a.py": FileState(b"x" * 700),
        "gone.py": None,
        "odd\udcff.sh": FileState(b"#!/bin/sh\n", "100755"),
        "link": FileState(b"a.py", "120000"),
    }
    reads: list[tuple[str, list[str]]] = []

    def read(commit: str, paths: list[str]) -> dict[str, FileState | None]:
        reads.append((commit, paths))
        return {p: files[p] for p in paths}

    folder = tmp_path / FOLDER
    tmp_path.mkdir(exist_ok=True)
    first = PlanCache()
    assert first.tree_files(read, "c1", ["link", "a.py", "gone.py", "odd\udcff.sh"]) == files
    first.save(folder)
    (kept,) = folder.glob("*.tree")
    again = PlanCache(folder).tree_files(read, "c1", reversed(list(files)))
    assert again == files and list(again) == sorted(files) and len(reads) == 1
    assert PlanCache(folder).tree_files(read, "c2", files) == files and len(reads) == 2
    assert PlanCache(folder).tree_files(read, "c1", ["a.py"]) == {"a.py": files["a.py"]}
    whole = kept.read_bytes()
    for damaged in (whole[:-10], whole.replace(b"xxxx", b"xxxy", 1), b"", whole[:100]):
        kept.write_bytes(damaged)
        before = len(reads)
        assert PlanCache(folder).tree_files(read, "c1", files) == files
        assert len(reads) == before + 1


def test_a_finished_sync_gets_no_cache_folder(tmp_path: Path) -> None:
    cache = PlanCache()
    cache.keep("k", "v")
    cache.save(tmp_path / "gone" / FOLDER)  # the sync's folder went away: nothing is made
    assert not (tmp_path / "gone").exists()


# -- the move search: what it depends on ----------------------------------------------------
LLM_OLD = FileState(b"A = 1\nMODELS = {\n    'a': 1,\n    'b': 2,\n}\nB = 2\n")
LLM_MINE = FileState(b"A = 1\nMODELS = {\n    'a': 1,\n    'b': 3,\n}\nB = 2\n")
LLM_NEW = FileState(b"A = 1\nfrom registry import MODELS\nB = 2\n")
REGISTRY = FileState(b"MODELS = {\n    'a': 1,\n    'b': 2,\n}\n")
MOVES = Overlay(
    "models",
    "change b",
    diff="diff --git a/llm.py b/llm.py\n--- a/llm.py\n+++ b/llm.py\n"
    "@@ -3,3 +3,3 @@\n     'a': 1,\n-    'b': 2,\n+    'b': 3,\n }\n",
)


def _moved(new: State, cache: PlanCache | None) -> PlanInput:
    """The second pass of a sync whose one overlay's lines upstream moved into registry.py."""
    return PlanInput(
        "v1",
        "v2",
        (MOVES,),
        {"llm.py": LLM_OLD, "registry.py": None, "unrelated.py": new["unrelated.py"]},
        {"llm.py": LLM_NEW, **new},
        cache.merge(merge_many) if cache else merge_many,
        cache.diff(diff_many) if cache else diff_many,
        others=frozenset(new),
        memo=cache,
    )


def test_the_move_search_is_redone_only_when_a_file_that_can_change_it_changes() -> None:
    """A conflicting file is carried with the other files that hold the lines its search looks
    for: one changing elsewhere (a skipped overlay's file) leaves the search's answer standing,
    and every plan is the one planned without any cache."""
    cache = PlanCache()
    seen = []
    for unrelated, registry in ((b"x = 1\n", REGISTRY), (b"x = 2\n", REGISTRY), (b"x = 2\n", None)):
        new = {"unrelated.py": FileState(unrelated), "registry.py": registry}
        misses = cache.misses
        cached, fresh = plan(_moved(new, cache)), plan(_moved(new, None))
        assert replace(cached, inputs=None) == replace(fresh, inputs=None)
        seen.append((cached.results[0].state, cache.misses - misses))
    assert seen[0][0] == seen[1][0] == SyncState.MOVED and seen[1][1] == 0
    assert seen[2][0] == SyncState.CONFLICT and seen[2][1] > 0


def test_a_poisoned_answer_of_what_the_search_looks_for_is_worked_out_again() -> None:
    new = {"unrelated.py": FileState(b"x = 1\n"), "registry.py": REGISTRY}
    expected = replace(plan(_moved(new, None)), inputs=None)
    poisoned = PlanCache()
    plan(_moved(new, poisoned))
    for key in list(poisoned._known):
        poisoned._known[key] = (1, None)  # wrong kinds inside the right container
    assert replace(plan(_moved(new, poisoned)), inputs=None) == expected
    assert expected.results[0].state == SyncState.MOVED


# -- plans -----------------------------------------------------------------------------------
@pytest.fixture
def project(upstream: Path, app_repo: Path) -> Project:
    return make_app(app_repo, upstream)


def _plans_alike(project: Project, target: str) -> None:
    """The plan and its explanation from no cache, a cold one, and one read back from disk."""
    lock = project.lock()
    with GitRepo(project.checkout) as repo:
        data = SyncJournal(Pin(lock.ref, lock.commit), Pin(target, repo.resolve(target)), None)
        overlays = project.overlays()
        made = []
        folder = project.root / "cache-test"
        folder.mkdir(exist_ok=True)
        for cache in (None, PlanCache(), "disk"):
            if cache == "disk":
                cache = PlanCache(folder / FOLDER)
            inputs = sync._inputs(project, repo, data, overlays, cache)  # type: ignore[arg-type]
            the_plan = sync._explained(project, repo, sync._plan(repo, inputs))
            made.append(replace(the_plan, inputs=None))
            if isinstance(cache, PlanCache):
                cache.save(folder / FOLDER)
                assert cache.misses == 0 or len(made) == 2
    assert made[0] == made[1] == made[2]
    assert made[0].results


@pytest.mark.parametrize("case", sorted(CULPRITS))
def test_a_cached_plan_is_the_fresh_plan(case: str, upstream: Path, app_repo: Path) -> None:
    tag = build_case(upstream, case)
    _plans_alike(make_app(app_repo, upstream), tag)


def test_a_cached_plan_with_conflicts_is_the_fresh_plan(project: Project) -> None:
    _plans_alike(project, V10)


def _walk(project: Project, capsys: pytest.CaptureFixture[str], forget: bool) -> list[object]:
    """sync to V10, --continue at the first stop (resolved), --skip at the second; with
    FORGET, the cache is deleted before each step (each plans afresh, as a sync without a cache
    would). What each step reported and left."""
    journal = Journal(project)
    seen: list[object] = []
    steps = [("--to", V10, "--no-fetch"), ("--continue",), ("--skip",)]
    for n, args in enumerate(steps):
        if forget:
            shutil.rmtree(journal.dir / FOLDER, ignore_errors=True)
        if args == ("--continue",):
            _resolve(project)
        code, out = forkman(capsys, "sync", "--json", *args, repo=project.root)
        report = json.loads(out)
        seen.append((code, report, snapshot(project, refs=False)))
        if n < len(steps) - 1:
            assert code == 1 and (journal.dir / FOLDER).is_dir()
    assert seen[-1][0] == 0  # type: ignore[index]
    return seen


def _resolve(project: Project) -> None:
    git(project.checkout, "checkout", "--ours", "--", BLOCKS_INIT)
    OVERLAYS["loader-symlink"][2](project.checkout)


def _twin(project: Project, tmp_path: Path) -> tuple[Project, Path]:
    """A copy of PROJECT's app repo and checkout, to walk the same sync without the cache."""
    twin_root = tmp_path / "twin" / "app"
    shutil.copytree(project.root, twin_root, symlinks=True)
    return open_project(twin_root), twin_root


def test_continue_and_skip_with_the_cache_end_as_without_it(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twin, twin_root = _twin(project, tmp_path)
    cached = _walk(project, capsys, forget=False)
    fresh = _walk(twin, capsys, forget=True)
    text = json.dumps
    assert text(cached, default=repr).replace(str(project.root), "APP") == text(
        fresh, default=repr
    ).replace(str(twin_root), "APP")


def test_a_poisoned_cache_folder_changes_nothing(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twin, twin_root = _twin(project, tmp_path)
    expected = _walk(twin, capsys, forget=True)
    journal = Journal(project)
    code, _ = forkman(capsys, "sync", "--json", "--to", V10, "--no-fetch", repo=project.root)
    assert code == 1
    for pack in (journal.dir / FOLDER).iterdir():
        pack.write_bytes(pack.read_bytes()[:-40])  # every pack cut short
    (journal.dir / FOLDER / "junk.pack").write_bytes(b"\x00" * 100)
    _resolve(project)
    code, out = forkman(capsys, "sync", "--json", "--continue", repo=project.root)
    second = (code, json.loads(out), snapshot(project, refs=False))
    assert json.dumps(second, default=repr).replace(str(project.root), "APP") == json.dumps(
        expected[1], default=repr
    ).replace(str(twin_root), "APP")


# -- culprits kept across runs ---------------------------------------------------------------
def test_culprits_found_once_are_kept_for_the_next_run(tmp_path: Path) -> None:
    from forkman.core import probe
    from forkman.git.culprit import Ask
    from forkman.store.plancache import CULPRIT_FILE, CulpritCache

    path = tmp_path / CULPRIT_FILE
    asks = [
        Ask(name, probe.Question(probe.MOVED, {f"{name}.py": b"a\n"}, {f"{name}.py": b"b\n"}))
        for name in ("one", "two")
    ]
    found = Found(Culprit("abc", "s", "d"), None, {"one.py": b"x"})
    calls: list[list[str]] = []

    def find(repo: object, pin: str, target: str, todo: list[Ask], base: object, url: str):  # type: ignore[no-untyped-def]
        calls.append([a.name for a in todo])
        return {"one": found}  # "two": no culprit, kept as such

    kept = CulpritCache(path)
    first = PlanCache().culprits(find, kept)(None, "p", "t", asks, {}, "u")
    kept.save()
    again = PlanCache().culprits(find, CulpritCache(path))(None, "p", "t", asks, {}, "u")
    assert first == again == {"one": found} and calls == [["one", "two"]]
    other = PlanCache().culprits(find, CulpritCache(path))(None, "p", "t2", asks, {}, "u")
    assert other == first and calls[-1] == ["one", "two"]  # another target: searched again
    path.write_bytes(path.read_bytes().replace(b'"abc"', b'"abd"'))  # damaged: ignored whole
    PlanCache().culprits(find, CulpritCache(path))(None, "p", "t", asks, {}, "u")
    assert len(calls) == 3


def test_a_kept_culprit_that_does_not_decode_is_searched_again(tmp_path: Path) -> None:
    from forkman.store.compilecache import encode as encode_file
    from forkman.store.plancache import CulpritCache

    path = tmp_path / "culprits.json"
    path.write_bytes(encode_file({"k": {"d": "Nothing", "f": {}}}, plancache.fingerprint()))
    kept = CulpritCache(path)
    assert kept.recall("k") == (False, None)
    kept.keep("k", object())  # not a value the cache keeps: left out
    assert kept.recall("k") == (False, None)
