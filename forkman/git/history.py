"""Upstream's history between two commits, as the culprit search and move following read it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from forkman.core.culprit import Commit

ZERO = "0" * 40
_SEP = "\x1e"  # between commits in `git log` output
_PATHSPECS = 32  # more paths than this: read the whole log and pick the paths out here


class Repo(Protocol):
    def text(
        self, *args: str, stdin: bytes | None = None, ok_codes: Iterable[int] = (0,)
    ) -> str: ...

    def read_blobs(self, shas: Iterable[str]) -> dict[str, bytes]: ...


@dataclass(frozen=True)
class Logged:
    """A commit and the blob each watched path has once it is made (None: the path is gone)."""

    commit: Commit
    changed: Mapping[str, str | None] = field(default_factory=dict)


def first_parent_log(
    repo: Repo, old: str, new: str, paths: Sequence[str], every_file: bool = False
) -> list[Logged]:
    """The first-parent commits in OLD..NEW that change PATHS, oldest first (a merge counts
    when it changes them against its first parent). With EVERY_FILE, each commit's blobs of
    all the files it changes, not only of PATHS (where moved lines may have gone)."""
    if not paths:
        return []
    # git matches every changed entry against every pathspec: with a thousand paths that is
    # most of the cost (6 s over 2,000 commits), while the whole log, filtered here, is 0.1 s
    limit = ("--", *paths) if len(paths) <= _PATHSPECS else ("--",)
    out = repo.text(
        "-c",
        "core.quotePath=false",
        "log",
        "--first-parent",
        "--diff-merges=first-parent",
        *(["--full-diff"] if every_file else []),
        "--reverse",
        "--no-renames",
        "--raw",
        "--no-abbrev",
        f"--format={_SEP}%H%x00%P%x00%aI%x00%s",
        f"{old}..{new}",
        *limit,
    )
    return _parse(out, set(paths), every_file)


def _parse(out: str, watched: set[str], every_file: bool = False) -> list[Logged]:
    found: list[Logged] = []
    for chunk in out.split(_SEP)[1:]:
        head, _, raw = chunk.partition("\n")
        sha, parents, date, subject = ([*head.split("\x00"), "", "", ""])[:4]
        changed: dict[str, str | None] = {}
        for line in raw.splitlines():
            if not line.startswith(":"):
                continue
            meta, _, path = line.partition("\t")
            blob = meta.split()[3]
            if every_file or path in watched:
                changed[path] = None if blob == ZERO else blob
        # a commit that only matched as a folder or pattern changes no watched path
        if changed.keys() & watched:
            found.append(Logged(Commit(sha, subject, date, tuple(parents.split())), changed))
    return found


def side_log(repo: Repo, merge: Commit, paths: Sequence[str]) -> tuple[str, list[Logged]]:
    """The commits a merge brought in from its second parent (first-parent order on that side),
    and the commit that side started from."""
    first, second = merge.parents[0], merge.parents[1]
    start = repo.text("merge-base", first, second).strip()
    return start, first_parent_log(repo, start, second, paths)


def renames(repo: Repo, old: str, new: str, paths: Iterable[str]) -> dict[str, str]:
    """PATHS that upstream renamed or moved between OLD and NEW (git's rename detection)."""
    wanted = set(paths)
    added = repo.text(
        "-c", "core.quotePath=false", "diff", "--no-renames", "--name-only", "-z",
        "--diff-filter=A", old, new,
    )  # fmt: skip
    fresh = [p for p in added.split("\0") if p]
    if not wanted or not fresh:
        return {}
    # Only PATHS as sources, with no rename limit: over a long jump (curl 7.88 -> 8.14 adds
    # 1,441 files) git's default limit skips the search and lib/curl_path.c looks deleted.
    out = repo.text(
        "--literal-pathspecs", "-c", "core.quotePath=false", "diff", "-M", "-l0",
        "--name-status", "-z", "--diff-filter=R", old, new, "--", *sorted(wanted), *fresh,
    )  # fmt: skip
    parts = out.split("\0")
    found: dict[str, str] = {}
    i = 0
    while i + 2 < len(parts):
        status, before, after = parts[i], parts[i + 1], parts[i + 2]
        if status.startswith("R") and before in wanted:
            found[before] = after
        i += 3
    return found


def changed_files(repo: Repo, old: str, new: str) -> list[str]:
    """The files NEW adds or modifies against OLD (from the trees alone: no blob is read, which
    in a partial clone would fetch it)."""
    out = repo.text(
        "-c", "core.quotePath=false", "diff", "--no-renames", "--name-only", "-z",
        "--diff-filter=AM", old, new,
    )  # fmt: skip
    return sorted(p for p in out.split("\0") if p)


def nearest(paths: Sequence[str], to: Sequence[str], limit: int) -> list[str]:
    """At most LIMIT of PATHS, those sharing the longest folder prefix with any of TO first
    (moved code usually lands near where it was)."""
    # every folder prefix of TO's paths once: a path's share is its longest folder prefix among
    # them (thousands of changed files against each conflicting one cost seconds otherwise)
    prefixes: set[tuple[str, ...]] = set()
    for other in to:
        folders = tuple(other.split("/")[:-1])
        prefixes.update(folders[:n] for n in range(1, len(folders) + 1))

    def shared(path: str) -> int:
        folders = tuple(path.split("/")[:-1])
        return next((n for n in range(len(folders), 0, -1) if folders[:n] in prefixes), 0)

    return sorted(paths, key=lambda p: (-shared(p), p))[:limit]
