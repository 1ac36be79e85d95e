"""The package's layering, read with `ast`: core is pure, and only forkman/git starts processes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "forkman"

# What each layer may not import from forkman (a layer may use the ones listed before it).
FORBIDDEN = {
    "core": ("forkman.git", "forkman.store", "forkman.commands", "forkman.autogpt",
             "forkman.cli", "forkman.render", "forkman.error_handler"),
    "git": ("forkman.store", "forkman.commands", "forkman.autogpt", "forkman.cli",
            "forkman.render", "forkman.error_handler"),
    "store": ("forkman.commands", "forkman.autogpt", "forkman.cli", "forkman.render",
              "forkman.error_handler"),
    "commands": ("forkman.autogpt", "forkman.cli", "forkman.error_handler"),
}  # fmt: skip
# No processes and no files in the core.
CORE_FORBIDDEN_MODULES = {"subprocess", "os", "shutil", "tempfile", "fcntl", "glob", "socket",
                          "multiprocessing", "pty", "asyncio", "yaml", "git"}  # fmt: skip
CORE_ALLOWED_PATHLIB = {"PurePosixPath", "PurePath"}
# Starting a process, in any spelling.
PROCESS_MODULES = {"subprocess", "multiprocessing", "pty", "asyncio.subprocess"}
PROCESS_CALLS = {"system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp",
                 "execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp", "execlpe",
                 "spawnv", "spawnve", "spawnvp", "spawnvpe", "spawnl", "spawnle", "spawnlp",
                 "spawnlpe", "create_subprocess_exec", "create_subprocess_shell"}  # fmt: skip


def _modules() -> list[tuple[str, Path, ast.Module]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        found.append((name, path, ast.parse(path.read_text(), str(path))))
    return found


MODULES = _modules()


def _imports(module: str, tree: ast.Module) -> list[tuple[str, tuple[str, ...], int]]:
    """(module imported, names taken from it, line) for every import in TREE."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                parts = module.split(".")[: -node.level]
                base = ".".join([*parts, *([base] if base else [])])
            names = tuple(alias.name for alias in node.names)
            out.append((base, names, node.lineno))
            out += [(f"{base}.{n}", (), node.lineno) for n in names]  # `from pkg import mod`
    return out


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in FORBIDDEN) else ""


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_layout_is_there() -> None:
    layers = {_layer(m) for m, _, _ in MODULES}
    assert {"core", "git", "store", "commands", "autogpt"} <= layers
    assert (PACKAGE / "git" / "runner.py").is_file()


@pytest.mark.parametrize(("module", "path", "tree"), MODULES, ids=[m for m, _, _ in MODULES])
def test_each_module_says_its_job_in_one_line(module: str, path: Path, tree: ast.Module) -> None:
    doc = ast.get_docstring(tree)
    assert doc, f"{path}: no module docstring"
    assert doc.splitlines()[0].strip(), f"{path}: the docstring's first line is empty"


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = []
    for module, path, tree in MODULES:
        layer = _layer(module)
        for name, _, line in _imports(module, tree):
            if any(_under(name, bad) for bad in FORBIDDEN.get(layer, ())):
                wrong.append(f"{path.name}:{line} ({layer}) imports {name}")
    assert not wrong, wrong


def test_the_core_touches_no_process_and_no_file() -> None:
    wrong = []
    for module, path, tree in MODULES:
        if _layer(module) != "core":
            continue
        for name, names, line in _imports(module, tree):
            top = name.split(".")[0]
            if top in CORE_FORBIDDEN_MODULES:
                wrong.append(f"{path.name}:{line} imports {name}")
            if name == "pathlib" and (not names or set(names) - CORE_ALLOWED_PATHLIB):
                wrong.append(f"{path.name}:{line} imports {names or 'pathlib'} (files)")
        for node in ast.walk(tree):
            called = node.func if isinstance(node, ast.Call) else None
            if isinstance(called, ast.Name) and called.id in {"open", "print", "exit", "input"}:
                wrong.append(f"{path.name}:{node.lineno} calls {called.id}()")
    assert not wrong, wrong


def test_no_process_starts_outside_forkman_git() -> None:
    wrong = []
    for module, path, tree in MODULES:
        if _layer(module) == "git":
            continue
        for name, _, line in _imports(module, tree):
            if name in PROCESS_MODULES or name.split(".")[0] in {"subprocess", "pty"}:
                wrong.append(f"{path.name}:{line} imports {name}")
            if name.split(".")[0] == "git":  # GitPython
                wrong.append(f"{path.name}:{line} imports GitPython ({name})")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in PROCESS_CALLS:
                wrong.append(f"{path.name}:{node.lineno} uses .{node.attr}")
    assert not wrong, wrong


def test_only_the_remote_side_uses_gitpython() -> None:
    users = {
        module
        for module, _, tree in MODULES
        for name, _, _ in _imports(module, tree)
        if name.split(".")[0] == "git"
    }
    assert users == {"forkman.git.remote"}
