"""A patch applied by the source's own tool (GNU patch, or `git apply`) to a few files in a scratch folder."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from forkman.core.importing import ToolOutcome, read_git_apply, read_gnu_patch
from forkman.core.values import FileState
from forkman.errors import ForkmanError
from forkman.git import runner

States = dict[str, "FileState | None"]


def apply_patch(
    states: Mapping[str, FileState | None],
    text: bytes,
    tool: str,
    strip: int,
    reverse: bool = False,
    fuzz: int = 2,
) -> tuple[ToolOutcome, States]:
    """TEXT applied to STATES (the files it may touch) by TOOL; the outcome and every file after it.

    The files are written to a scratch folder holding nothing else, so what the tool changed is
    exactly what differs there afterwards. FUZZ is GNU patch's limit (quilt's default: 2).
    """
    with tempfile.TemporaryDirectory(
        prefix=runner.scratch_prefix("import"), dir=runner.scratch_dir()
    ) as tmp:
        root = Path(tmp) / "tree"
        root.mkdir()
        for path, state in states.items():
            if state is not None:
                _write(root / path, state)
        patch_file = Path(tmp) / "change.patch"
        patch_file.write_bytes(text)
        if tool == "patch":
            args = [
                "patch",
                f"-p{strip}",
                f"--fuzz={fuzz}",
                "--batch",
                "--forward",
                "-E",
                "--no-backup-if-mismatch",
                "--reject-file=-",
                "--quoting-style=literal",
                "-i",
                str(patch_file),
            ]
            if reverse:
                args.insert(1, "-R")
        else:
            args = [
                "git",
                "apply",
                "-v",
                "--reject",
                "--whitespace=nowarn",
                f"-p{strip}",
                str(patch_file),
            ]
            if reverse:
                args.insert(2, "-R")
        pins = {
            "GIT_CEILING_DIRECTORIES": tmp,  # git apply outside any repository, as patch(1) does
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "LC_ALL": "C",
            "QUOTING_STYLE": "literal",
        }
        try:
            proc = runner.run(args, cwd=root, env=pins)
        except FileNotFoundError:
            raise ForkmanError(
                f"`{args[0]}` is not installed",
                hint=f"install {args[0]} (GNU patch for quilt series)",
            ) from None
        output = (proc.stdout + proc.stderr).decode("utf-8", "surrogateescape")
        read = read_gnu_patch if tool == "patch" else read_git_apply
        outcome = read(output, proc.returncode)
        after = _read_all(root) if outcome.applied else {}
    if not outcome.applied:
        return outcome, dict(states)
    result: States = {p: after.get(p) for p in states}
    result.update(after)
    return outcome, result


def _write(target: Path, state: FileState) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if state.mode == "120000":
        os.symlink(state.data.decode("utf-8", "surrogateescape"), target)
        return
    target.write_bytes(state.data)
    target.chmod(0o755 if state.mode == "100755" else 0o644)


def _read_all(root: Path) -> States:
    """Every file under ROOT, as git would store it."""
    found: States = {}
    for folder, dirs, files in os.walk(root):
        for name in [*files, *(d for d in dirs if (Path(folder) / d).is_symlink())]:
            full = Path(folder) / name
            rel = full.relative_to(root).as_posix()
            info = full.lstat()
            if stat.S_ISLNK(info.st_mode):
                found[rel] = FileState(
                    os.readlink(full).encode("utf-8", "surrogateescape"), "120000"
                )
            elif stat.S_ISREG(info.st_mode):
                mode = "100755" if info.st_mode & stat.S_IXUSR else "100644"
                found[rel] = FileState(full.read_bytes(), mode)
    return found


def has_tool(tool: str) -> bool:
    return shutil.which(tool) is not None
