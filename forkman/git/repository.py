"""The repository wrapper: a git repository addressed by path, read and written through the runner.

Returns SHAs, bytes and values; never changes the process's cwd. Clone, fetch and push are
in forkman.git.remote.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self

from forkman.core.values import FileState, Sha, Tree
from forkman.errors import BadRef, GitError, NotACheckout
from forkman.git import runner
from forkman.git.diff import STABLE_DIFF_CONFIG


class GitRepo:
    """A git repository (work tree or bare) addressed by path; never changes the process cwd."""

    def __init__(self, path: Path, search_parents: bool = False):
        runner.require_git()
        self.path = Path(path)
        self._git_paths: dict[str, Path] = {}
        if not _inside_repo(self.path, search_parents):
            raise NotACheckout(
                "not a git checkout", where=str(self.path), hint="give the path of a git clone"
            )

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running git ---------------------------------------------------------------------------
    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        ok_codes: Iterable[int] = (0,),
    ) -> bytes:
        """Run git in this repository and return its stdout; raise GitError on failure."""
        return runner.git(*args, cwd=self.path, env=env, stdin=stdin, ok_codes=ok_codes)

    def text(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        ok_codes: Iterable[int] = (0,),
    ) -> str:
        """`run`, decoded (bytes that are not UTF-8 survive as surrogates)."""
        out = self.run(*args, env=env, stdin=stdin, ok_codes=ok_codes)
        return out.decode("utf-8", "surrogateescape")

    # -- refs ----------------------------------------------------------------------------------
    def resolve(self, ref: str) -> Sha:
        """The commit that REF names, or BadRef."""
        out = self.text(
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{ref}^{{commit}}",
            ok_codes=(0, 1, 128),
        )
        if not re.fullmatch(r"[0-9a-f]{40,64}", out.strip()):
            raise BadRef(
                f"unknown ref '{ref}'",
                where=str(self.path),
                hint="name a tag, branch or commit that exists upstream; `git tag -l` lists the tags",
            )
        return Sha(out.strip())

    def head(self) -> Sha | None:
        out = self.text("rev-parse", "--verify", "--quiet", "HEAD", ok_codes=(0, 1, 128)).strip()
        return Sha(out) if out else None

    def tags(self) -> dict[str, Sha]:
        """Every tag, peeled to its commit."""
        out = self.text(
            "for-each-ref", "--format=%(refname:short) %(objectname) %(*objectname)", "refs/tags"
        )
        tags: dict[str, Sha] = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                tags[parts[0]] = Sha(parts[2] if len(parts) > 2 else parts[1])
        return tags

    def has_commit(self, sha: str) -> bool:
        return self.text("cat-file", "-t", sha, ok_codes=(0, 1, 128)).strip() == "commit"

    def git_path(self, name: str) -> Path:
        """A path inside the git dir (`git rev-parse --git-path`), absolute; asked once each."""
        return self.git_paths(name)[0]

    def git_paths(self, *names: str) -> list[Path]:
        """git_path of each of NAMES, those not asked before in one `git rev-parse`."""
        wanted = [n for n in dict.fromkeys(names) if n not in self._git_paths]
        if wanted:
            args = [arg for n in wanted for arg in ("--git-path", n)]
            lines = self.text("rev-parse", *args).split("\n")
            for name, line in zip(wanted, lines, strict=False):
                out = Path(line)
                self._git_paths[name] = out if out.is_absolute() else self.path / out
        return [self._git_paths[n] for n in names]

    def remote_urls(self) -> dict[str, str]:
        out = self.text("config", "--get-regexp", r"^remote\..*\.url$", ok_codes=(0, 1))
        urls = {}
        for line in out.splitlines():
            key, _, url = line.partition(" ")
            urls[key[len("remote.") : -len(".url")]] = url
        return urls

    def config_get(self, key: str) -> str | None:
        return self.text("config", "--get", key, ok_codes=(0, 1)).strip() or None

    # -- reading content -----------------------------------------------------------------------
    def read_tree_files(self, commit: str, paths: Iterable[str]) -> dict[str, FileState | None]:
        """The given paths' content at COMMIT (None where absent): one ls-tree, one cat-file batch."""
        wanted = sorted(set(paths))
        if not wanted:
            return {}
        listing = self.run("ls-tree", "-z", "--full-tree", commit, "--", *wanted)
        entries: dict[str, tuple[str, str]] = {}
        for record in listing.split(b"\0"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            mode, kind, sha = meta.decode().split()
            if kind == "blob":
                entries[name.decode("utf-8", "surrogateescape")] = (mode, sha)
        blobs = self.read_blobs(sha for _, sha in entries.values())
        result: dict[str, FileState | None] = {p: None for p in wanted}
        for path, (mode, sha) in entries.items():
            result[path] = FileState(blobs[sha], mode)
        return result

    def read_blobs(self, shas: Iterable[str]) -> dict[str, bytes]:
        """Many objects' content through one `git cat-file --batch`."""
        wanted = sorted(set(shas))
        if not wanted:
            return {}
        out = self.run("cat-file", "--batch", stdin=("\n".join(wanted) + "\n").encode())
        blobs: dict[str, bytes] = {}
        pos = 0
        for sha in wanted:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            if len(header) != 3:
                raise GitError(f"object {sha} is missing from the repository", where=str(self.path))
            size = int(header[2])
            blobs[sha] = out[end + 1 : end + 1 + size]
            pos = end + 1 + size + 1
        return blobs

    def changed_paths(self) -> list[str]:
        """Paths that differ from HEAD in the index or work tree, untracked ones included, and
        the ones git is told not to look at (assume-unchanged, skip-worktree) when they differ."""
        with runner.Background(self.hidden_paths) as hidden:
            out = self.run(
                "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"
            )
            paths = {
                record[3:].decode("utf-8", "surrogateescape")
                for record in out.split(b"\0")
                if len(record) > 3
            }
            flagged = hidden.result()
        if flagged:
            paths |= self._differing(flagged)
        return sorted(paths)

    def hidden_paths(self) -> dict[str, bool]:
        """Tracked paths that `git status` does not look at (assume-unchanged, skip-worktree),
        each with whether it is skip-worktree (which a sparse checkout leaves out of the tree)."""
        out = self.run("ls-files", "-v", "-z")
        # found by one regex over the listing: 40,000 records split in Python cost 10 ms
        return {
            match[2].decode("utf-8", "surrogateescape"): match[1] in (b"S", b"s")
            for match in _FLAGGED.finditer(b"\0" + out)
        }

    def _differing(self, flagged: dict[str, bool]) -> set[str]:
        """Those of FLAGGED whose file differs from the index's blob (git would not say so).
        An absent skip-worktree file is one a sparse checkout leaves out: no edit."""
        paths = sorted(flagged)
        out = self.run("ls-files", "-s", "-z", "--", *paths)
        staged = {}
        for record in out.split(b"\0"):
            if record:
                meta, _, name = record.partition(b"\t")
                staged[name.decode("utf-8", "surrogateescape")] = meta.split()[1].decode()
        differing = set()
        for path in paths:
            full = self.path / path
            try:
                data = os.readlink(full).encode() if full.is_symlink() else full.read_bytes()
            except FileNotFoundError:
                if not flagged[path]:
                    differing.add(path)
                continue
            blob = f"blob {len(data)}\0".encode() + data
            if hashlib.sha1(blob).hexdigest() != staged.get(path):
                differing.add(path)
        return differing

    def local_commits(self, rev: str = "HEAD", limit: int = 3) -> tuple[int, list[str]]:
        """Commits REV has that no branch, remote-tracking ref or tag holds: made in the
        checkout, and lost to a forced checkout. Their number, and the first LIMIT subjects."""
        out = self.text("rev-list", "--format=%h %s", "--no-commit-header", rev, "--not",
                        "--branches", "--remotes", "--tags", "--")  # fmt: skip
        lines = [ln for ln in out.splitlines() if ln]
        return len(lines), lines[:limit]

    # -- writing -------------------------------------------------------------------------------
    def hash_blob(self, data: bytes) -> Sha:
        return Sha(self.run("hash-object", "-w", "--stdin", stdin=data).decode().strip())

    def tree_with(self, base: str, changes: Tree) -> Sha:
        """A tree: BASE's tree with CHANGES applied, built in a temporary index.

        `write-tree --missing-ok` keeps this working in sparse or partial clones, whose
        object stores lack blobs that the tree names but nobody needs here.
        """
        with tempfile.TemporaryDirectory(prefix=runner.scratch_prefix("index")) as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.run("read-tree", base, env=env)
            info = []
            for path, state in sorted(changes.items()):
                if state is None:
                    info.append(f"0 {'0' * 40}\t{path}")
                else:
                    info.append(f"{state.mode} {self.hash_blob(state.data)}\t{path}")
            if info:
                self.run(
                    "update-index", "--index-info", env=env, stdin=("\n".join(info) + "\n").encode()
                )
            return Sha(self.text("write-tree", "--missing-ok", env=env).strip())

    def commit_tree(
        self, tree: str, parents: Iterable[str], message: str, env: Mapping[str, str] | None = None
    ) -> Sha:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return Sha(self.text(*args, "-F", "-", stdin=message.encode(), env=env).strip())

    # -- refs (upstream-pr) --------------------------------------------------------
    def ref_sha(self, ref: str) -> Sha | None:
        """The commit a full ref name points at, or None when it does not exist."""
        out = (
            self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", ok_codes=(0, 1))
            .decode()
            .strip()
        )
        return Sha(out) if out else None

    def check_branch_name(self, name: str) -> str:
        """NAME as git spells it (`check-ref-format --branch`), or BadRef."""
        try:
            return self.text("check-ref-format", "--branch", name).strip()
        except GitError:
            raise BadRef(
                f"'{name}' is not a valid branch name",
                hint="see `git check-ref-format --help`; e.g. forkman/pr/NAME",
            ) from None

    def update_ref(self, ref: str, new: str | None, old: str | None) -> None:
        """Point REF at NEW (delete it when None), only if it still holds OLD (None: absent)."""
        expected = old or "0" * 40
        if new is None:
            self.run("update-ref", "-d", ref, expected)
        else:
            self.run("update-ref", ref, new, expected)

    def range_diff(self, old: str, new: str) -> str:
        """`git range-diff` of two single-commit branches: OLD^..OLD against NEW^..NEW."""
        return self.text(
            *STABLE_DIFF_CONFIG, "range-diff", "--no-color", f"{old}^..{old}", f"{new}^..{new}"
        )


# A record of `git ls-files -v -z` (after its NUL) whose tag says git status skips it: lowercase
# (assume-unchanged) or S (skip-worktree).
_FLAGGED = re.compile(rb"\0([a-zS]) ([^\0]+)")


def _inside_repo(path: Path, search_parents: bool) -> bool:
    """A work tree (its `.git` here, or above with SEARCH_PARENTS) or a bare repository."""
    if not path.is_dir():
        return False
    if (path / "HEAD").is_file() and (path / "objects").is_dir():
        return True
    folders = (path.resolve(), *path.resolve().parents) if search_parents else (path,)
    return any((folder / ".git").exists() for folder in folders)
