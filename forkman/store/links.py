"""Links: folders of the app repo placed in the checkout (forkman.yaml's `links:`) as symlinks
or as copies kept in step, and kept out of its git status."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from forkman.errors import ConfigError, ForkmanError
from forkman.git.repository import GitRepo
from forkman.store.config import Link
from forkman.store.confine import link_on_the_way
from forkman.store.files import atomic_write
from forkman.store.project import Project

# In the checkout's git dir: every file forkman copied for a `mode: copy` link, with its hash,
# so a copy is only ever rewritten or removed while it holds exactly what forkman put there.
MANIFEST = "forkman/links.json"
_SKIP = {"__pycache__"}  # byte code belongs to whoever ran the code, not to the copy

# relative path -> "file:SHA256", "exec:SHA256" or "link:TARGET"
Files = dict[str, str]


@dataclass(frozen=True)
class OutsideLink:
    """A symlink into the app repo: outside the checkout, so a build context there loses it."""

    target: str
    points_to: str

    def text(self) -> str:
        return (
            f"link {self.target} points outside the checkout (to {self.points_to}): a "
            "`docker build` whose context is the checkout gets a dangling link there; "
            "`mode: copy` on the link in forkman.yaml (or `forkman link --copy`) makes it a "
            "real folder"
        )


def link_targets(project: Project) -> list[str]:
    return [link.target for link in project.config.links]


def ensure_links(project: Project, repo: GitRepo, mode: str | None = None) -> list[str]:
    """Put each configured link in the checkout (MODE, when given, for every link this time);
    return the ones made, refreshed or corrected.

    A link is a copy when its config says `mode: copy` or when `forkman link --copy` made it
    one (until `forkman link --symlink`): apply and sync then keep the copy in step."""
    manifest = _read_manifest(repo)
    made = []
    for link in project.config.links:
        wanted = mode or ("copy" if link.mode == "copy" or link.target in manifest else "symlink")
        changed = (
            _ensure_copy(project, link, manifest)
            if wanted == "copy"
            else _ensure_symlink(project, link, manifest)
        )
        made += [link.target] if changed else []
    _write_manifest(repo, manifest)
    if project.config.links:
        _exclude(repo, link_targets(project))
    return made


def outside_links(project: Project) -> list[OutsideLink]:
    """The links in the checkout that are symlinks resolving outside it."""
    root = project.checkout.resolve()
    found = []
    for link in project.config.links:
        target = project.checkout / link.target
        if target.is_symlink():
            resolved = target.resolve()
            if root != resolved and root not in resolved.parents:
                found.append(OutsideLink(link.target, os.readlink(target)))
    return found


# -- symlinks ----------------------------------------------------------------------------------
def _source(project: Project, link: Link) -> Path:
    source = project.root / link.source
    if not source.exists():
        raise ConfigError(
            f"link source '{link.source}' does not exist",
            where=str(project.config_path),
            hint=f"create {link.source} or fix the `links` entry",
        )
    return source


def _refuse_link_on_the_way(project: Project, link: Link) -> None:
    """A folder on the way to the link's target that is a symbolic link (upstream made it one)."""
    through = link_on_the_way(project.checkout, link.target)
    if through is not None:
        raise ForkmanError(
            f"cannot link {link.source}: {through} in the checkout is a symbolic link, "
            f"so {link.target} would be made wherever it points",
            where=str(project.checkout),
            hint="forkman never writes through a symbolic link; change the link's target",
        )


def _ensure_symlink(project: Project, link: Link, manifest: dict[str, Files]) -> bool:
    source = _source(project, link)
    target = project.checkout / link.target
    _refuse_link_on_the_way(project, link)
    wanted = os.path.relpath(source, target.parent)
    if target.is_symlink():
        if os.readlink(target) == wanted:
            return False
        target.unlink()
    elif link.target in manifest:  # forkman's copy, back to a link
        _remove_copy(project, link, manifest.pop(link.target))
    elif target.exists():
        raise ForkmanError(
            f"cannot link {link.source}: {link.target} already exists in the checkout and is not a link",
            where=str(project.checkout),
            hint="move it away (is it upstream code?) or choose another link target",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(wanted, target)
    return True


# -- copies ------------------------------------------------------------------------------------
def _scan(folder: Path) -> Files:
    """FOLDER's files as the manifest records them (symlinks inside it kept as links)."""
    files: Files = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP)
        here = Path(dirpath)
        entries = filenames + [d for d in dirnames if (here / d).is_symlink()]
        for name in sorted(entries):
            full = here / name
            rel = full.relative_to(folder).as_posix()
            info = full.lstat()
            if stat.S_ISLNK(info.st_mode):
                files[rel] = f"link:{os.readlink(full)}"
            elif stat.S_ISREG(info.st_mode):
                kind = "exec" if info.st_mode & stat.S_IXUSR else "file"
                files[rel] = f"{kind}:{hashlib.sha256(full.read_bytes()).hexdigest()}"
    return files


def _not_ours(link: Link, found: Files, record: Files) -> list[str]:
    """Files of the copy that forkman did not put there as they are now."""
    return sorted(rel for rel, entry in found.items() if record.get(rel) != entry)


def _refuse(link: Link, project: Project, paths: list[str]) -> ForkmanError:
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return ForkmanError(
        f"the copy of {link.source} at {link.target} holds files that are not forkman's: {shown}",
        where=str(project.checkout),
        hint=f"make the change in {link.source} (the copy is rewritten from it), or move "
        "those files away and run the command again",
    )


def _ensure_copy(project: Project, link: Link, manifest: dict[str, Files]) -> bool:
    source = _source(project, link)
    if not source.is_dir():
        raise ConfigError(
            f"link source '{link.source}' is not a folder: only folders are copied",
            where=str(project.config_path),
            hint="link its folder, or leave out `mode: copy`",
        )
    target = project.checkout / link.target
    _refuse_link_on_the_way(project, link)
    wanted = _scan(source)
    record = manifest.get(link.target)
    if target.is_symlink():
        target.unlink()
        found: Files = {}
    elif target.exists():
        if record is None:
            raise ForkmanError(
                f"cannot copy {link.source}: {link.target} already exists in the checkout and "
                "is not forkman's",
                where=str(project.checkout),
                hint="move it away (is it upstream code?) or choose another link target",
            )
        found = _scan(target)
        if strangers := _not_ours(link, found, record):
            raise _refuse(link, project, strangers)
    else:
        found = {}
    if found == wanted and target.is_dir():
        manifest[link.target] = wanted
        return False
    for rel in sorted(set(found) - set(wanted), reverse=True):
        (target / rel).unlink()
    for rel, entry in wanted.items():
        if found.get(rel) == entry:
            continue
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_symlink() or dest.exists():
            dest.unlink()
        if entry.startswith("link:"):
            os.symlink(entry.removeprefix("link:"), dest)
        else:
            shutil.copyfile(source / rel, dest)
            os.chmod(dest, 0o755 if entry.startswith("exec:") else 0o644)
    target.mkdir(parents=True, exist_ok=True)
    _prune_empty(target)
    manifest[link.target] = wanted
    return True


def _remove_copy(project: Project, link: Link, record: Files) -> None:
    target = project.checkout / link.target
    found = _scan(target) if target.is_dir() else {}
    if strangers := _not_ours(link, found, record):
        raise _refuse(link, project, strangers)
    for rel in found:
        (target / rel).unlink()
    _prune_empty(target)
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()


def _prune_empty(folder: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(folder, topdown=False):
        here = Path(dirpath)
        if here != folder and not dirnames and not filenames and not any(here.iterdir()):
            here.rmdir()


def _read_manifest(repo: GitRepo) -> dict[str, Files]:
    path = repo.git_path(MANIFEST)
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {target: dict(files) for target, files in data.get("links", {}).items()}


def _write_manifest(repo: GitRepo, manifest: dict[str, Files]) -> None:
    path = repo.git_path(MANIFEST)
    if not manifest and not path.exists():
        return
    text = json.dumps({"version": 1, "links": manifest}, indent=2, sort_keys=True) + "\n"
    if not path.exists() or path.read_text() != text:
        atomic_write(path, text)


def _exclude(repo: GitRepo, targets: list[str]) -> None:
    """Keep the links out of the checkout's `git status` via its info/exclude."""
    exclude = repo.git_path("info/exclude")
    text = exclude.read_text() if exclude.exists() else ""
    missing = [f"/{t}" for t in targets if f"/{t}" not in text.splitlines()]
    if missing:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        prefix = "" if not text or text.endswith("\n") else "\n"
        exclude.write_text(
            text
            + prefix
            + "# forkman links\n" * (not text.count("# forkman links"))
            + "\n".join(missing)
            + "\n"
        )
