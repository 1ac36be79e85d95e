"""The planner's compile checks kept across runs: found again only for the same key and
fingerprint, and never trusted when the file is damaged (plain values and files in tmp_path)."""

from __future__ import annotations

import os
from pathlib import Path

from test_core_planner import inputs, overlay, text

from forkman.core.planner import plan
from forkman.core.states import SyncState
from forkman.store import compilecache
from forkman.store.compilecache import CompileCache, decode, encode


def test_answers_come_back_as_they_were_kept() -> None:
    answers = {"a" * 64: None, "b" * 64: "m.py:2 no longer compiles: 'break' outside loop"}
    assert decode(encode(answers)) == answers


def test_a_damaged_or_foreign_file_is_ignored_whole() -> None:
    raw = encode({"k": None})
    assert decode(raw[:-5]) == {}  # cut short
    assert decode(raw.replace(b'"k"', b'"j"')) == {}  # edited: the checksum no longer agrees
    assert decode(b"") == {} and decode(b"\xff\n\xfe") == {}
    body = raw.rstrip(b"\n").rpartition(b"\n")[0]
    other = body.replace(compilecache.fingerprint().encode(), b"0" * 64)  # another Python
    import hashlib

    assert decode(other + b"\n" + hashlib.sha256(other).hexdigest().encode()) == {}


def test_an_entry_that_is_not_an_answer_is_worked_out_again(tmp_path: Path) -> None:
    path = tmp_path / compilecache.COMPILE_FILE
    path.write_bytes(encode({"ok": None, "bad": 3, "worse": ["x"], "fine": "why"}))
    cache = CompileCache(path)
    assert [cache.recall(k) for k in ("ok", "bad", "worse", "fine")] == [
        (True, None),
        (False, None),
        (False, None),
        (True, "why"),
    ]
    cache.keep("bad", None)
    cache.save()
    assert decode(path.read_bytes()) == {"ok": None, "fine": "why", "bad": None}  # damaged: gone


def test_kept_answers_are_saved_and_read_by_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / compilecache.COMPILE_FILE
    first = CompileCache(path)
    assert first.recall("k") == (False, None)
    first.keep("k", "m.py:1 no longer compiles: invalid syntax")
    first.keep("n", 7)  # not an answer: never kept
    first.save()
    second = CompileCache(path)
    assert second.recall("k") == (True, "m.py:1 no longer compiles: invalid syntax")
    assert second.recall("n") == (False, None)
    before = path.stat().st_mtime_ns
    second.save()  # nothing new: not written
    assert path.stat().st_mtime_ns == before


def test_the_answers_asked_for_last_are_the_ones_kept(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(compilecache, "MOST", 2)
    path = tmp_path / compilecache.COMPILE_FILE
    run = CompileCache(path)
    for key in ("a", "b", "c"):
        run.keep(key, None)
    run.save()
    assert set(decode(path.read_bytes())) == {"b", "c"}
    again = CompileCache(path)
    again.recall("b")
    again.keep("d", None)
    again.save()
    assert set(decode(path.read_bytes())) == {"b", "d"}


def test_a_folder_that_cannot_be_written_is_no_failure(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / compilecache.COMPILE_FILE
    run = CompileCache(path)
    run.keep("k", None)
    os.chmod(folder, 0o555)
    try:
        run.save()
    finally:
        os.chmod(folder, 0o755)
    assert not path.exists() or os.geteuid() == 0  # root writes anyway


def test_a_plan_with_the_cache_judges_as_one_without(tmp_path: Path) -> None:
    old = {"m.py": text("for i in range(1):", "    pass", "y = 1")}
    ours = overlay("py", old, {"m.py": text("for i in range(1):", "    break", "y = 1")})
    new = {"m.py": text("if True:", "    pass", "y = 1")}
    bare = plan(inputs((ours,), new, old=old))
    path = tmp_path / compilecache.COMPILE_FILE
    cold = CompileCache(path)
    first = plan(inputs((ours,), new, old=old, compiled=cold))
    cold.save()
    warm = CompileCache(path)
    second = plan(inputs((ours,), new, old=old, compiled=warm))
    assert first.results == second.results == bare.results
    assert bare.results[0].state == SyncState.CHECK_FAILED
    assert (cold.hits, cold.misses, warm.hits, warm.misses) == (0, 1, 1, 0)
