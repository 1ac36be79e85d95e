"""AutoGPT blocks: id and module-name checks read with `ast` (never imported), and scaffolding."""

from __future__ import annotations

import ast
import keyword
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from forkman.core.findings import Finding
from forkman.errors import ConfigError, ForkmanError
from forkman.store.config import Link
from forkman.store.confine import link_on_the_way, resolves_inside
from forkman.store.project import Project, relpath

# AutoGPT's loader (backend/blocks/__init__.py) raises on any other module path.
MODULE_PATH = re.compile(r"^[a-z0-9_.]+$")
NEW_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
FRESH_ID_HINT = "give it a fresh id: python3 -c 'import uuid; print(uuid.uuid4())'"


@dataclass(frozen=True)
class BlockId:
    cls: str
    line: int
    id: str | None  # None when super().__init__ gets an id that is not a string literal


@dataclass(frozen=True)
class BlockFile:
    path: Path
    shown: str  # relative to the app repo
    module: str  # as AutoGPT's loader names it, e.g. customized.calculator
    loaded: bool  # the loader skips __init__.py and test_*.py


def read_ids(text: str, filename: str = "<block>") -> tuple[BlockId, ...]:
    """The id each `*Block` class passes to `super().__init__(...)`; SyntaxError if unparsable."""
    found = []
    for node in ast.walk(ast.parse(text, filename)):
        if not (isinstance(node, ast.ClassDef) and node.name.endswith("Block")):
            continue
        methods = [m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for call in (c for m in methods for c in ast.walk(m)):
            if not (isinstance(call, ast.Call) and _is_super_init(call.func)):
                continue
            for kw in call.keywords:
                if kw.arg == "id":
                    value = kw.value
                    literal = value.value if isinstance(value, ast.Constant) else None
                    block_id = literal if isinstance(literal, str) else None
                    found.append(BlockId(node.name, value.lineno, block_id))
    return tuple(found)


def _is_super_init(func: ast.expr) -> bool:
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "__init__"
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Name)
        and func.value.func.id == "super"
    )


def is_canonical_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def block_links(project: Project) -> list[Link]:
    """The links whose source forkman.yaml's `blocks:` names: our block folders and their targets."""
    return [link for link in project.config.links if link.source in project.config.blocks]


def our_block_files(project: Project) -> list[BlockFile]:
    """Every .py file in each block folder, with the module path AutoGPT gives it."""
    files = []
    for link in block_links(project):
        source = project.root / link.source
        if not source.is_dir():
            continue
        package = PurePosixPath(link.target).name
        for path in sorted(source.rglob("*.py")):
            rel = path.relative_to(source)
            if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
                continue
            module = ".".join((package, *rel.with_suffix("").parts))
            loaded = path.name != "__init__.py" and not path.name.startswith("test_")
            files.append(BlockFile(path, relpath(path, project.root), module, loaded))
    return files


def upstream_block_files(project: Project) -> Iterator[Path]:
    """The checkout's block files: each block link target's parent folder, minus our folders."""
    ours = {(project.checkout / link.target).as_posix() for link in block_links(project)}
    folders = sorted({(project.checkout / link.target).parent for link in block_links(project)})
    for folder in folders:
        for root, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if f"{root}/{d}" not in ours and d != "__pycache__")
            yield from (Path(root) / n for n in sorted(names) if n.endswith(".py"))


def check_blocks(project: Project, with_upstream: bool = True) -> tuple[Finding, ...]:
    """Our block ids are canonical UUIDs, unique among ours and upstream's; module paths load."""
    findings: list[Finding] = []
    ours: dict[str, tuple[BlockFile, BlockId]] = {}
    for bf in our_block_files(project):
        if bf.loaded and not MODULE_PATH.match(bf.module):
            findings.append(
                Finding(
                    bf.shown,
                    0,
                    f"AutoGPT's block loader refuses the module path '{bf.module}'",
                    "rename the file and folders to lowercase letters, digits and '_'",
                )
            )
        try:
            ids = read_ids(bf.path.read_text(encoding="utf-8"), str(bf.path))
        except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
            line = getattr(exc, "lineno", 0) or 0
            findings.append(
                Finding(
                    bf.shown, line, f"does not parse: {getattr(exc, 'msg', exc)}", "fix the file"
                )
            )
            continue
        for block in ids:
            if block.id is None:
                findings.append(
                    Finding(
                        bf.shown,
                        block.line,
                        f"{block.cls}: id= is not a string literal",
                        "write the id as a string so it can be checked",
                    )
                )
            elif not is_canonical_uuid(block.id):
                findings.append(
                    Finding(
                        bf.shown,
                        block.line,
                        f"{block.cls}: id '{block.id}' is not a valid UUID "
                        "(lowercase xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                        FRESH_ID_HINT,
                    )
                )
            elif block.id in ours:
                other_file, other = ours[block.id]
                findings.append(
                    Finding(
                        bf.shown,
                        block.line,
                        f"{block.cls}: id {block.id} is also used by "
                        f"{other.cls} ({other_file.shown}:{other.line})",
                        FRESH_ID_HINT,
                    )
                )
            else:
                ours[block.id] = (bf, block)
    if with_upstream and ours and project.checkout.is_dir():
        findings += _upstream_clashes(project, ours)
    return tuple(findings)


def _upstream_clashes(
    project: Project, ours: dict[str, tuple[BlockFile, BlockId]]
) -> list[Finding]:
    """Our ids found in upstream block files: a text search first, `ast` only on the files that hit."""
    pattern = re.compile("|".join(re.escape(i) for i in ours).encode())
    findings = []
    for path in upstream_block_files(project):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        hits = {m.group().decode() for m in pattern.finditer(data)}
        if not hits:
            continue
        text = data.decode("utf-8", "replace")
        try:
            where = {b.id: (b.cls, b.line) for b in read_ids(text, str(path)) if b.id in hits}
        except (SyntaxError, ValueError):
            where = {}
        for block_id in sorted(hits):
            cls, line = where.get(
                block_id, ("a block", text[: text.find(block_id)].count("\n") + 1)
            )
            bf, block = ours[block_id]
            findings.append(
                Finding(
                    bf.shown,
                    block.line,
                    f"{block.cls}: id {block_id} is already used by upstream "
                    f"{cls} ({relpath(path, project.root)}:{line})",
                    FRESH_ID_HINT,
                )
            )
    return findings


def guard_checks(project: Project) -> tuple[Callable[[Project, bool], tuple[Finding, ...]], ...]:
    """The checks this module adds to `forkman guard`: the block checks, when `blocks:` is set."""
    if not project.config.blocks:
        return ()

    def blocks(project: Project, checkout_present: bool) -> tuple[Finding, ...]:
        return check_blocks(project, with_upstream=checkout_present)

    return (blocks,)


def require_blocks(project: Project) -> str:
    """The first block folder of forkman.yaml's `blocks:`; ConfigError when there is none."""
    if not project.config.blocks:
        raise ConfigError(
            "no `blocks:` in forkman.yaml, so there is no blocks folder",
            where=str(project.config_path),
            hint="link the folder of your AutoGPT blocks (`links:`) and name it under `blocks:`",
        )
    return project.config.blocks[0]


# -- scaffolding -------------------------------------------------------------------------------
def class_name(name: str) -> str:
    stem = name.removesuffix("_block") or name
    return "".join(part.capitalize() for part in stem.split("_") if part) + "Block"


def new_block(project: Project, name: str) -> Path:
    """Write <first blocks folder>/NAME.py: a minimal block with a fresh uuid4 id; never overwrite."""
    if not NEW_NAME.match(name) or keyword.iskeyword(name) or name.startswith("test_"):
        raise ForkmanError(
            f"'{name}' is not a block module name",
            hint="use snake_case: lowercase letters, digits and '_', e.g. word_count",
        )
    source = require_blocks(project)
    path = project.root / source / f"{name}.py"
    through = link_on_the_way(project.root, f"{source}/{name}.py")
    if through is not None or not resolves_inside(project.root, path.parent):
        raise ForkmanError(
            f"{through or source} is a symbolic link: the new block would be written wherever it points",
            where=str(project.root),
            hint=f"make {source} a folder of this repo",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8") as handle:
            handle.write(render_block(name, str(uuid.uuid4())))
    except FileExistsError:
        raise ForkmanError(
            f"{relpath(path, project.root)} already exists",
            hint="choose another name, or edit that file",
        ) from None
    return path


def render_block(name: str, block_id: str) -> str:
    cls = class_name(name)
    return _TEMPLATE.format(cls=cls, id=block_id, title=name.replace("_", " "))


_TEMPLATE = '''\
"""The {title} block: say here what it does and why we need it."""

from backend.data.block import (
    Block,
    BlockCategory,
    BlockOutput,
    BlockSchemaInput,
    BlockSchemaOutput,
)
from backend.data.model import SchemaField


class {cls}(Block):
    class Input(BlockSchemaInput):
        text: str = SchemaField(
            description="The text to work on",
            placeholder="For example: hello",
        )

    class Output(BlockSchemaOutput):
        result: str = SchemaField(description="The result")

    def __init__(self):
        super().__init__(
            # A fresh id from `forkman blocks new`: never reuse another block's id.
            id="{id}",
            input_schema={cls}.Input,
            output_schema={cls}.Output,
            description="Returns its input text unchanged (replace with what it does).",
            categories={{BlockCategory.BASIC}},
            test_input={{"text": "hello"}},
            test_output=[
                ("result", "hello"),
            ],
        )

    async def run(self, input_data: Input, **kwargs) -> BlockOutput:
        yield "result", input_data.text
'''
