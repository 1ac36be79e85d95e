"""The only module that talks to git: returns SHAs, bytes and dataclasses.

Plain git processes do the reading (they start faster than GitPython imports); GitPython,
imported only when needed, does what it is best at: clone and fetch with a progress bar.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, NewType

if TYPE_CHECKING:
    from typing_extensions import Self

from forkman.errors import BadRef, GitError, GitTooOld, NetworkError, NotACheckout, PushFailed

Sha = NewType("Sha", str)
MIN_GIT = (2, 38)
MIN_GIT_TEXT = "2.38"


ProgressFn = Callable[[str, int, "int | None"], None]


# Every setting that changes what a diff looks like, pinned, so that exports are byte-stable
# whatever the user's ~/.gitconfig says (Electron and patch-package learnt this the hard way).
STABLE_DIFF_CONFIG = (
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.mnemonicPrefix=false",
    "-c",
    "diff.renames=false",
    "-c",
    "diff.algorithm=myers",
    "-c",
    "diff.context=3",
    "-c",
    "diff.interHunkContext=0",
    "-c",
    "diff.indentHeuristic=true",
    "-c",
    "diff.suppressBlankEmpty=false",
    "-c",
    "core.abbrev=7",
    "-c",
    "color.ui=never",
    "-c",
    "diff.external=",
    "-c",
    "core.quotePath=false",
    "-c",
    "diff.relative=false",
)


class FileState(NamedTuple):
    """A file's bytes and git mode ("100644", "100755" or "120000")."""

    data: bytes
    mode: str = "100644"


# A path's state: its content, or None where the file does not exist.
Tree = Mapping[str, "FileState | None"]


@lru_cache(maxsize=1)
def git_version() -> tuple[int, ...]:
    try:
        out = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise GitTooOld(
            f"cannot run git ({exc})", hint=f"install git {MIN_GIT_TEXT} or newer"
        ) from None
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out.stdout)
    if not match:
        raise GitTooOld(f"cannot read git's version from {out.stdout.strip()!r}")
    return tuple(int(p) for p in match.groups(default="0"))


def require_git() -> None:
    version = git_version()
    if version[:2] < MIN_GIT:
        found = ".".join(str(p) for p in version)
        raise GitTooOld(
            f"forkman needs git {MIN_GIT_TEXT} or newer; found git {found}",
            hint="upgrade git (for example from your distribution's backports)",
        )


def last_line(text: str) -> str:
    """Git's last word on a failure; GitPython wraps stderr as "stderr: '...'", which is unwrapped."""
    text = re.sub(r"^\s*stderr: '", "", text).rstrip().removesuffix("'")
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and ln.strip() != "'"]
    return lines[-1] if lines else ""


def _is_network_failure(stderr: str) -> bool:
    return bool(
        re.search(
            r"Could not resolve host|unable to access|Could not read from remote|"
            r"does not appear to be a git repository|Connection refused|"
            r"repository '.*' not found|unable to connect|Network is unreachable",
            stderr,
        )
    )


class GitRepo:
    """A git repository (work tree or bare) addressed by path; never changes the process cwd."""

    def __init__(self, path: Path, search_parents: bool = False):
        require_git()
        self.path = Path(path)
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
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        proc = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=full_env,
            input=stdin,
            capture_output=True,
            check=False,
        )
        if proc.returncode not in tuple(ok_codes):
            stderr = proc.stderr.decode(errors="replace")
            raise GitError(
                f"`git {' '.join(args[:3])}` failed: {last_line(stderr) or 'exit ' + str(proc.returncode)}",
                where=str(self.path),
            )
        return proc.stdout

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
        """A path inside the git dir (`git rev-parse --git-path`), absolute."""
        out = self.text("rev-parse", "--git-path", name).strip()
        path = Path(out)
        return path if path.is_absolute() else self.path / path

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
        """Paths that differ from HEAD in the index or work tree, untracked ones included."""
        out = self.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")
        paths = []
        for record in out.split(b"\0"):
            if len(record) > 3:
                paths.append(record[3:].decode("utf-8", "surrogateescape"))
        return sorted(set(paths))

    # -- writing -------------------------------------------------------------------------------
    def hash_blob(self, data: bytes) -> Sha:
        return Sha(self.run("hash-object", "-w", "--stdin", stdin=data).decode().strip())

    def tree_with(self, base: str, changes: Tree) -> Sha:
        """A tree: BASE's tree with CHANGES applied, built in a temporary index.

        `write-tree --missing-ok` keeps this working in sparse or partial clones, whose
        object stores lack blobs that the tree names but nobody needs here.
        """
        with tempfile.TemporaryDirectory(prefix="forkman-index-") as tmp:
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

    # -- network -------------------------------------------------------------------------------
    def fetch(
        self, source: str, refspecs: Iterable[str] = (), progress: ProgressFn | None = None
    ) -> None:
        """Fetch from SOURCE (a remote name or URL) with tags; NetworkError when unreachable."""
        args = ["fetch", "--tags", "--force", "--progress", source, *refspecs]
        if progress is None:
            proc = subprocess.run(["git", *args], cwd=self.path, capture_output=True, check=False)
            failed, stderr = proc.returncode != 0, proc.stderr.decode(errors="replace")
        else:
            import git as gitpython
            from git.cmd import handle_process_output
            from git.util import finalize_process

            relay = _relay(progress)
            process = gitpython.Git(str(self.path)).execute(["git", *args], as_process=True)
            try:
                handle_process_output(process, None, relay.new_message_handler(), finalize_process)
                failed, stderr = False, ""
            except gitpython.GitCommandError:
                failed, stderr = True, "\n".join(relay.error_lines + relay.other_lines)
        if not failed:
            return
        if _is_network_failure(stderr):
            raise NetworkError(
                f"cannot reach upstream {source}: {last_line(stderr)}",
                hint="check the network and the URL in forkman.yaml, then run the command again",
            )
        raise GitError(f"git fetch failed: {last_line(stderr)}", where=str(self.path))

    # -- refs and pushing (upstream-pr) --------------------------------------------------------
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

    def push(self, remote: str, refspec: str, lease: str) -> None:
        """`git push --force-with-lease=LEASE REMOTE REFSPEC`; PushFailed says why not."""
        proc = subprocess.run(
            ["git", "push", "--porcelain", f"--force-with-lease={lease}", remote, refspec],
            cwd=self.path,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode == 0:
            return
        text = (
            proc.stdout + proc.stderr
        )  # porcelain's "!" line for the ref first, then git's own words
        reason = next(
            (ln.strip() for ln in text.splitlines() if ln.startswith(("!", "fatal:", "error:"))), ""
        )
        if _is_network_failure(text):
            raise PushFailed(
                f"cannot reach {remote}: {reason.removeprefix('fatal: ')}",
                hint="check the remote's URL and your access to it",
            )
        stale = "stale info" in text or "fetch first" in text or "non-fast-forward" in text
        if stale:
            hint: str | None = (
                "the fork's branch changed since forkman last pushed it; inspect it, "
                "or delete it there and run again"
            )
        elif "unpacker error" in text or "promisor" in text or "missing necessary objects" in text:
            hint = (
                "a partial clone lacks objects of upstream's history that an empty fork needs; "
                "push to a fork that already holds upstream's history (as a GitHub fork does)"
            )
        else:
            hint = None
        raise PushFailed(
            f"{remote} rejected the push: {' '.join(reason.split()) or last_line(text)}", hint=hint
        )

    def range_diff(self, old: str, new: str) -> str:
        """`git range-diff` of two single-commit branches: OLD^..OLD against NEW^..NEW."""
        return self.text(
            *STABLE_DIFF_CONFIG, "range-diff", "--no-color", f"{old}^..{old}", f"{new}^..{new}"
        )


def _inside_repo(path: Path, search_parents: bool) -> bool:
    """A work tree (its `.git` here, or above with SEARCH_PARENTS) or a bare repository."""
    if not path.is_dir():
        return False
    if (path / "HEAD").is_file() and (path / "objects").is_dir():
        return True
    folders = (path.resolve(), *path.resolve().parents) if search_parents else (path,)
    return any((folder / ".git").exists() for folder in folders)


def _relay(progress: ProgressFn):  # type: ignore[no-untyped-def]
    """A GitPython progress handler that passes each stage's counts to PROGRESS."""
    import git as gitpython

    class Relay(gitpython.RemoteProgress):
        def update(
            self, op_code: int, cur_count: object, max_count: object = None, message: str = ""
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
            total = int(float(max_count)) if max_count not in (None, "") else None  # type: ignore[arg-type]
            progress(stage, int(float(cur_count or 0)), total)  # type: ignore[arg-type]

    return Relay()


def clone(
    url: str,
    dest: Path,
    *,
    filter_spec: str | None = None,
    sparse: Iterable[str] = (),
    progress: ProgressFn | None = None,
) -> GitRepo:
    """Clone URL into DEST without checking anything out yet (sparse cone set if asked)."""
    require_git()
    options = ["--no-checkout"]
    if filter_spec:
        options.append(f"--filter={filter_spec}")
        if os.path.isdir(
            url
        ):  # git ignores --filter for a plain local path; a file:// URL keeps it
            url = Path(url).resolve().as_uri()
    import git as gitpython

    try:
        relay = {"progress": _relay(progress)} if progress else {}
        gitpython.Repo.clone_from(url, dest, multi_options=options, **relay).close()  # type: ignore[arg-type]
    except gitpython.GitCommandError as exc:
        stderr = str(exc.stderr or "")
        raise NetworkError(
            f"cannot clone {url}: {last_line(stderr)}",
            hint="check the URL and the network; or adopt an existing clone with --path",
        ) from None
    repo = GitRepo(dest)
    sparse = list(sparse)
    if sparse:
        repo.run("sparse-checkout", "set", "--cone", *[s.strip("/") for s in sparse])
    return repo
