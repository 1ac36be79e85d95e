"""The remote side: clone, fetch and push, with progress read by GitPython (its only user).

Each git process starts through forkman.git.runner like every other; GitPython only reads
git's progress lines, so a long clone shows a bar when a person is watching.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from forkman.core.urls import redact_text, redact_url
from forkman.core.values import ProgressFn
from forkman.errors import GitError, NetworkError, PushFailed
from forkman.git import runner
from forkman.git.repository import GitRepo
from forkman.git.runner import last_line

if TYPE_CHECKING:
    from git import RemoteProgress


def _is_network_failure(stderr: str) -> bool:
    return bool(
        re.search(
            r"Could not resolve host|unable to access|Could not read from remote|"
            r"does not appear to be a git repository|Connection refused|"
            r"repository '.*' not found|unable to connect|Network is unreachable",
            stderr,
        )
    )


def _relay(progress: ProgressFn) -> RemoteProgress:
    """A GitPython progress parser that passes each stage's counts to PROGRESS."""
    import git as gitpython

    class Relay(gitpython.RemoteProgress):
        def update(
            self,
            op_code: int,
            cur_count: str | float,
            max_count: str | float | None = None,
            message: str = "",
        ) -> None:
            stage = {
                self.COUNTING: "counting objects",
                self.COMPRESSING: "compressing",
                self.RECEIVING: "receiving objects",
                self.RESOLVING: "resolving deltas",
                self.CHECKING_OUT: "checking out",
                self.FINDING_SOURCES: "finding sources",
                self.WRITING: "writing objects",
            }.get(op_code & self.OP_MASK, "fetching")
            total = int(float(max_count)) if max_count not in (None, "") else None
            progress(stage, int(float(cur_count or 0)), total)

    return Relay()


def _run_with_progress(
    args: list[str], cwd: Path | None, progress: ProgressFn | None
) -> tuple[bool, str]:
    """`git ARGS`, its progress relayed to PROGRESS when given: (failed, what git said)."""
    if progress is None:
        proc = runner.run(["git", *args], cwd=cwd)
        return proc.returncode != 0, proc.stderr.decode(errors="replace")
    relay = _relay(progress)
    handler: Callable[[str], None] = relay.new_message_handler()
    code = runner.stream(["git", *args], cwd=cwd, on_line=handler)
    return code != 0, "\n".join(relay.error_lines + relay.other_lines)


def clone(
    url: str,
    dest: Path,
    *,
    filter_spec: str | None = None,
    sparse: Iterable[str] = (),
    progress: ProgressFn | None = None,
) -> GitRepo:
    """Clone URL into DEST without checking anything out yet (sparse cone set if asked)."""
    runner.require_git()
    options = ["--no-checkout"]
    if filter_spec:
        options.append(f"--filter={filter_spec}")
        if os.path.isdir(
            url
        ):  # git ignores --filter for a plain local path; a file:// URL keeps it
            url = Path(url).resolve().as_uri()
    args = ["clone", "-v", *options, *(["--progress"] if progress else []), "--", url, str(dest)]
    failed, stderr = _run_with_progress(args, None, progress)
    if failed:
        raise NetworkError(
            redact_text(f"cannot clone {url}: {last_line(stderr)}"),
            hint="check the URL and the network; or adopt an existing clone with --path",
        )
    repo = GitRepo(dest)
    sparse = list(sparse)
    if sparse:
        repo.run("sparse-checkout", "set", "--cone", "--", *[s.strip("/") for s in sparse])
    return repo


def fetch(
    repo: GitRepo, source: str, refspecs: Iterable[str] = (), progress: ProgressFn | None = None
) -> None:
    """Fetch from SOURCE (a remote name or URL) with tags; NetworkError when unreachable."""
    args = ["fetch", "--tags", "--force", "--progress", "--", source, *refspecs]
    failed, stderr = _run_with_progress(args, repo.path, progress)
    if not failed:
        return
    if _is_network_failure(stderr):
        raise NetworkError(
            redact_text(f"cannot reach upstream {source}: {last_line(stderr)}"),
            hint="check the network and the URL in forkman.yaml, then run the command again",
        )
    raise GitError(redact_text(f"git fetch failed: {last_line(stderr)}"), where=str(repo.path))


def same_url(a: str, b: str) -> bool:
    """Whether two spellings of a remote (path, file:// URL, with or without .git) are one."""

    def norm(u: str) -> str:
        u = redact_url(u).removeprefix("file://").rstrip("/").removesuffix(".git")
        return os.path.realpath(u) if os.path.exists(u) else u.lower()

    return norm(a) == norm(b)


def default_branch(repo: GitRepo, url: str) -> str | None:
    """The upstream's default branch (its HEAD): from the clone's remote-tracking HEAD when a
    remote is the upstream, else asked of URL (`ls-remote --symref`); None when neither says."""
    for name, remote_url in repo.remote_urls().items():
        if same_url(remote_url, url):
            ref = repo.text(
                "symbolic-ref", "--quiet", f"refs/remotes/{name}/HEAD", ok_codes=(0, 1, 128)
            ).strip()
            if ref.startswith(f"refs/remotes/{name}/"):
                return ref.removeprefix(f"refs/remotes/{name}/")
    said = repo.text("ls-remote", "--symref", url, "HEAD", ok_codes=(0, 1, 2, 128))
    for line in said.splitlines():
        target, _, what = line.partition("\t")
        if what == "HEAD" and target.startswith("ref: refs/heads/"):
            return target.removeprefix("ref: refs/heads/")
    return None


def fetch_upstream(repo: GitRepo, url: str, progress: ProgressFn | None = None) -> None:
    """Fetch upstream's tags and branches (as refs/remotes/forkman-upstream/*).

    A remote whose URL is the upstream's is fetched by name, so a partial clone keeps its filter.
    """
    source = next((name for name, u in repo.remote_urls().items() if same_url(u, url)), url)
    fetch(repo, source, ["+refs/heads/*:refs/remotes/forkman-upstream/*"], progress)


def push(repo: GitRepo, remote: str, refspec: str, lease: str) -> None:
    """`git push --force-with-lease=LEASE REMOTE REFSPEC`; PushFailed says why not."""
    proc = runner.run(
        ["git", "push", "--porcelain", f"--force-with-lease={lease}", "--", remote, refspec],
        cwd=repo.path,
    )
    if proc.returncode == 0:
        return
    # porcelain's "!" line for the ref first, then git's own words
    text = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    reason = next(
        (ln.strip() for ln in text.splitlines() if ln.startswith(("!", "fatal:", "error:"))), ""
    )
    if _is_network_failure(text):
        raise PushFailed(
            redact_text(f"cannot reach {remote}: {reason.removeprefix('fatal: ')}"),
            hint="check the remote's URL and your access to it",
        )
    raise PushFailed(
        redact_text(f"{remote} rejected the push: {' '.join(reason.split()) or last_line(text)}"),
        hint=_push_hint(text),
    )


def _push_hint(text: str) -> str | None:
    if "stale info" in text or "fetch first" in text or "non-fast-forward" in text:
        return (
            "the fork's branch changed since forkman last pushed it; inspect it, "
            "or delete it there and run again"
        )
    if "unpacker error" in text or "promisor" in text or "missing necessary objects" in text:
        return (
            "a partial clone lacks objects of upstream's history that an empty fork needs; "
            "push to a fork that already holds upstream's history (as a GitHub fork does)"
        )
    return None
