"""The nightly bot's decisions as plain values: names, titles, bodies, which PR or issue to touch."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BRANCH_PREFIX = "forkman/sync-"
_MARKER = "<!-- forkman-bot release={release} -->"
_MARKER_RE = re.compile(r"<!-- forkman-bot release=(\S+) -->")
# `scheme://user:password@host` -> `scheme://host`: a token in a remote URL is never shown
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]*@")


@dataclass(frozen=True)
class Item:
    """A pull request or issue as `gh ... --json` lists it."""

    number: int
    url: str
    title: str
    body: str
    state: str = "OPEN"
    head: str = ""

    @property
    def release(self) -> str | None:
        """The release a bot-made item is about (from the marker in its body), else None."""
        found = _MARKER_RE.search(self.body)
        return found.group(1) if found else None


@dataclass(frozen=True)
class IssuePlan:
    """What to do with tracking issues when RELEASE does not carry."""

    update: Item | None  # the open issue for this release, when its text changed
    unchanged: Item | None  # the open issue for this release, already saying this
    create: bool
    respected: Item | None  # closed by a person for this release: open nothing again
    supersede: tuple[Item, ...]  # open issues about older releases


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """TEXT without credentials: URL user info removed, each secret value masked."""
    text = _USERINFO.sub(r"\1", text)
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def branch_name(release: str) -> str:
    """`forkman/sync-RELEASE`, with what git refuses in a branch name replaced by `-`."""
    safe = re.sub(r"[\s~^:?*\[\\]+|\.\.+|@\{", "-", release).strip("./-")
    return BRANCH_PREFIX + (safe or "release")


def marker(release: str) -> str:
    return _MARKER.format(release=release)


def pr_title(release: str) -> str:
    return f"Sync upstream to {release}"


def issue_title(release: str) -> str:
    return f"forkman: overlays do not carry to {release}"


def pr_body(summary: str, release: str) -> str:
    return (
        f"{summary.rstrip()}\n\n---\n"
        "Opened by `forkman bot`: the next run updates this pull request while the release "
        f"is the newest; nothing is pushed to the default branch.\n{marker(release)}\n"
    )


def issue_body(summary: str, release: str, pinned: str) -> str:
    return (
        f"{summary.rstrip()}\n\n---\n"
        f"The app stays on `{pinned}`. To carry the overlays by hand: `forkman sync`, resolve "
        "each conflict in the checkout, `forkman sync --continue`, and commit `overlays/` and "
        "`forkman.lock` (recorded resolutions under `overlays/resolutions/` are reused by the "
        "next run). `forkman bot` updates this issue while the release is the newest and closes "
        f"it when a release carries.\n{marker(release)}\n"
    )


def same_text(a: str, b: str) -> bool:
    """GitHub keeps bodies as given, give or take line endings and a trailing newline."""
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()


def plan_issue(release: str, title: str, body: str, issues: Sequence[Item]) -> IssuePlan:
    """One tracking issue for RELEASE: update or keep the one open, open one, or respect a close."""
    mine = [i for i in issues if i.release == release]
    open_mine = next((i for i in mine if i.state == "OPEN"), None)
    closed_mine = next((i for i in mine if i.state != "OPEN"), None)
    supersede = tuple(i for i in issues if i.state == "OPEN" and i.release not in (None, release))
    if open_mine is not None:
        same = same_text(open_mine.body, body) and open_mine.title == title
        return IssuePlan(
            None if same else open_mine, open_mine if same else None, False, None, supersede
        )
    return IssuePlan(None, None, closed_mine is None, closed_mine, supersede)


def superseded_prs(branch: str, prs: Sequence[Item]) -> tuple[Item, ...]:
    """Open bot PRs for other releases: the newest release replaces them."""
    return tuple(
        p
        for p in prs
        if p.state == "OPEN" and p.head.startswith(BRANCH_PREFIX) and p.head != branch
    )
