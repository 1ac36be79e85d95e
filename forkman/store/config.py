"""forkman.yaml, the config people write: parsed to frozen dataclasses with file:line errors."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from forkman.core.checks import Check
from forkman.core.pathrules import control_character, relative_problem
from forkman.core.urls import name_problem, redact_url, remote_problem, url_problem
from forkman.errors import ConfigError
from forkman.store.files import read_text

CONFIG_FILE = "forkman.yaml"
OVERLAYS_DIR = "overlays"


LINK_MODES = ("symlink", "copy")


@dataclass(frozen=True)
class Link:
    source: str  # relative to the app repo
    target: str  # relative to the upstream checkout
    mode: str = "symlink"  # or "copy": a real folder, for builds that do not follow links


@dataclass(frozen=True)
class Config:
    url: str
    path: str
    release_pattern: str
    pr_branch: str = "main"
    sparse: tuple[str, ...] = ()
    filter: str | None = None
    fork_remote: str | None = None
    links: tuple[Link, ...] = ()
    checks: tuple[Check, ...] = ()
    blocks: tuple[str, ...] = ()  # AutoGPT block folders of this repo (each a link's source)


# -- config ------------------------------------------------------------------------------------
def _node_get(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            found: yaml.Node = v
            return found
    return None


def _fail(path: Path, node: yaml.Node | None, message: str, hint: str | None = None) -> ConfigError:
    line = node.start_mark.line + 1 if node is not None else 1
    return ConfigError(
        message, where=f"{path}:{line}", hint=hint or f"edit {path.name} and run the command again"
    )


def _scalar(path: Path, node: yaml.Node | None, name: str, required: bool = True) -> str | None:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        if required:
            return None
        return None
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise _fail(path, node, f"'{name}' must be a non-empty string")
    return str(node.value)


def _string_list(path: Path, node: yaml.Node | None, name: str) -> tuple[str, ...]:
    if node is None:
        return ()
    if isinstance(node, yaml.ScalarNode):
        return (str(node.value),)
    if not isinstance(node, yaml.SequenceNode) or not all(
        isinstance(n, yaml.ScalarNode) for n in node.value
    ):
        raise _fail(path, node, f"'{name}' must be a list of strings")
    return tuple(str(n.value) for n in node.value)


def parse_config(text: str, path: Path) -> Config:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise ConfigError(
            "nested too deeply to be a forkman config",
            where=str(path),
            hint=f"restore {path.name} with `git checkout -- {path.name}`",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"not valid YAML: {problem}",
            where=f"{path}:{line}",
            hint=f"fix the YAML in {path.name}",
        ) from None
    if not isinstance(root, yaml.MappingNode):
        raise _fail(path, root, "the config must be a mapping with an 'upstream' section")
    twice = _duplicate_key(root)
    if twice is not None:
        raise _fail(path, twice, f"the key '{twice.value}' is given twice in one section")
    upstream = _node_get(root, "upstream")
    if not isinstance(upstream, yaml.MappingNode):
        raise _fail(
            path, upstream or root, "missing the 'upstream' section (url, path, release_pattern)"
        )
    values: dict[str, Any] = {}
    for key in ("url", "path", "release_pattern"):
        value = _scalar(path, _node_get(upstream, key), f"upstream.{key}")
        if value is None:
            raise _fail(path, upstream, f"'upstream.{key}' is missing")
        values[key] = value
    for key in ("pr_branch", "filter", "fork_remote"):
        value = _scalar(path, _node_get(upstream, key), f"upstream.{key}", required=False)
        if value is not None:
            values[key] = value
    values["sparse"] = _string_list(path, _node_get(upstream, "sparse"), "upstream.sparse")
    _check_upstream(path, upstream, values)
    values["links"] = _parse_links(path, _node_get(root, "links"))
    values["checks"] = _parse_checks(path, _node_get(root, "checks"))
    values["blocks"] = _parse_blocks(path, _node_get(root, "blocks"), values["links"])
    return Config(**values)


def _check_upstream(path: Path, upstream: yaml.MappingNode, values: dict[str, Any]) -> None:
    """Values that reach git's command line: none may be read as an option or run a program."""

    def no_control(value: str) -> str | None:
        char = control_character(value)
        return f"holds a control character ({char})" if char else None

    rules = {
        "url": url_problem,
        "fork_remote": remote_problem,
        "pr_branch": name_problem,
        "release_pattern": name_problem,
        "path": no_control,
    }
    for key, rule in rules.items():
        if key in values and (problem := rule(values[key])):
            raise _fail(path, _node_get(upstream, key), f"'upstream.{key}' {problem}")
    for entry in values["sparse"]:
        if problem := name_problem(entry):
            raise _fail(path, _node_get(upstream, "sparse"), f"'upstream.sparse' entry {problem}")


def _duplicate_key(root: yaml.Node) -> yaml.Node | None:
    """The first key given twice in one mapping (YAML loaders keep the last one, silently)."""
    pending: list[yaml.Node] = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[object] = set()
            for key, value in node.value:
                key_node: yaml.Node = key
                name = (key.tag, key.value) if isinstance(key, yaml.ScalarNode) else id(key)
                if name in seen:
                    return key_node
                seen.add(name)
                pending += [key, value]
        elif isinstance(node, yaml.SequenceNode):
            pending += node.value
    return None


def _parse_blocks(path: Path, node: yaml.Node | None, links: tuple[Link, ...]) -> tuple[str, ...]:
    """`blocks:` names the linked folders that hold AutoGPT blocks: it switches the block checks on."""
    if node is not None and isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        return ()
    folders = tuple(f.rstrip("/") for f in _string_list(path, node, "blocks"))
    sources = {link.source for link in links}
    for folder in folders:
        if folder not in sources:
            raise _fail(
                path,
                node,
                f"blocks folder '{folder}' is not the source of a link",
                hint=f"add a link with source {folder} (its target names the blocks' package)",
            )
    return folders


def _parse_links(path: Path, node: yaml.Node | None) -> tuple[Link, ...]:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        return ()
    if not isinstance(node, yaml.SequenceNode):
        raise _fail(path, node, "'links' must be a list of {source, target} entries")
    links = []
    for item in node.value:
        if not isinstance(item, yaml.MappingNode):
            raise _fail(
                path, item, "each link needs 'source' (in this repo) and 'target' (in the checkout)"
            )
        source = _scalar(path, _node_get(item, "source"), "links.source")
        target = _scalar(path, _node_get(item, "target"), "links.target")
        if source is None or target is None:
            raise _fail(
                path, item, "each link needs 'source' (in this repo) and 'target' (in the checkout)"
            )
        for value in (source, target):
            if problem := relative_problem(value):
                raise _fail(path, item, f"link path {value!r} {problem}")
        mode = _scalar(path, _node_get(item, "mode"), "links.mode", required=False) or "symlink"
        if mode not in LINK_MODES:
            raise _fail(path, item, f"link mode '{mode}' is not one of: {', '.join(LINK_MODES)}")
        links.append(Link(source.rstrip("/"), target.rstrip("/"), mode))
    return tuple(links)


def _parse_checks(path: Path, node: yaml.Node | None) -> tuple[Check, ...]:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        return ()
    if not isinstance(node, yaml.MappingNode):
        raise _fail(path, node, "'checks' must map overlay names to lists of checks")
    checks = []
    for key, value in node.value:
        name = str(key.value)
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for item in items:
            if not isinstance(item, yaml.MappingNode):
                raise _fail(
                    path,
                    item,
                    f"check for '{name}' must be {{run: CMD}} or {{path: P, pattern: RE}}",
                )
            run = _scalar(path, _node_get(item, "run"), "run", required=False)
            file = _scalar(path, _node_get(item, "path"), "path", required=False)
            pattern = _scalar(path, _node_get(item, "pattern"), "pattern", required=False)
            if not run and not (file and pattern):
                raise _fail(
                    path,
                    item,
                    f"check for '{name}' must be {{run: CMD}} or {{path: P, pattern: RE}}",
                )
            if pattern:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise _fail(
                        path, item, f"pattern {pattern!r} is not a valid regular expression: {exc}"
                    ) from None
            shell, timeout = _run_options(path, item, run)
            checks.append(Check(name, run, file, pattern, shell, timeout))
    return tuple(checks)


def _run_options(path: Path, item: yaml.MappingNode, run: str | None) -> tuple[bool, float]:
    """A `run:` check's `shell:` (true or false) and `timeout:` (seconds)."""
    shell_node, timeout_node = _node_get(item, "shell"), _node_get(item, "timeout")
    shell = False
    if shell_node is not None:
        if not isinstance(shell_node, yaml.ScalarNode) or not shell_node.tag.endswith(":bool"):
            raise _fail(path, shell_node, "'shell' must be true or false")
        shell = shell_node.value.lower() in ("true", "yes", "on")
    timeout = Check.timeout
    if timeout_node is not None:
        try:
            timeout = float(timeout_node.value) if isinstance(timeout_node, yaml.ScalarNode) else -1
        except ValueError:
            timeout = -1
        if not timeout > 0:
            raise _fail(path, timeout_node, "'timeout' must be a number of seconds above 0")
    if (shell_node or timeout_node) is not None and not run:
        raise _fail(path, item, "'shell' and 'timeout' go with a `run:` check")
    return shell, timeout


def load_config(path: Path) -> Config:
    try:
        text = read_text(path, f"fix the encoding of {path.name}")
    except FileNotFoundError:
        raise ConfigError(
            "no forkman.yaml here", where=str(path), hint="run `forkman init --upstream URL`"
        ) from None
    return parse_config(text, path)


def render_config(config: Config) -> str:
    """The commented config that `init` writes once; people edit it after that."""
    lines = [
        "# forkman configuration. Edit freely: forkman reads this file and never rewrites it.",
        "upstream:",
        f"  url: {_q(redact_url(config.url))}",
        "  # The upstream checkout, relative to this file (git-ignored when inside this repo).",
        f"  path: {_q(config.path)}",
        "  # Release tags that `forkman sync` moves to (newest by version; -rc and the like need --pre).",
        f"  release_pattern: {_q(config.release_pattern)}",
        "  # The branch upstream takes pull requests on (`forkman upstream-pr`).",
        f"  pr_branch: {_q(config.pr_branch)}",
        "  # Your fork's remote in the checkout, for `forkman upstream-pr --push`.",
        f"  fork_remote: {_q(config.fork_remote) if config.fork_remote else 'null'}",
        f"  filter: {_q(config.filter) if config.filter else 'null'}  # partial clone, e.g. blob:none",
        "  sparse:" + ("" if config.sparse else " []"),
        *[f"    - {_q(s)}" for s in config.sparse],
        "# Folders of this repo to link into the checkout (source here, target there); `mode: copy`",
        "# makes a link a real folder kept in step (for a `docker build` in the checkout).",
        "links:" + ("" if config.links else " []"),
        *[
            f"  - source: {_q(ln.source)}\n    target: {_q(ln.target)}"
            + (f"\n    mode: {ln.mode}" if ln.mode != "symlink" else "")
            for ln in config.links
        ],
        "# Per-overlay checks run after a sync applies the overlays, e.g.",
        "#   my-overlay:",
        "#     - path: src/settings.py",
        "#       pattern: MY_SETTING",
        "#     - run: python -m compileall -q src",
        "checks: {}",
    ]
    return "\n".join(lines) + "\n"


def _q(value: str) -> str:
    return (
        json.dumps(value)
        if re.search(r"[:#*{}\[\],&!|>'\"%@`]|^\s|\s$", value) or not value
        else value
    )
