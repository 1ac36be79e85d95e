"""Config (people's YAML), lock (machine JSON) and series, as frozen dataclasses; atomic writes."""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from forkman.errors import BadOverlayName, ConfigError

CONFIG_FILE = "forkman.yaml"
LOCK_FILE = "forkman.lock"
OVERLAYS_DIR = "overlays"
SERIES_FILE = "series"
LOCK_VERSION = 1

_NAME = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")


def check_overlay_name(name: str) -> str:
    """An overlay name is a lowercase slug that is also a valid git branch component."""
    if not _NAME.match(name) or ".." in name or name.endswith(".lock") or len(name) > 100:
        raise BadOverlayName(
            f"'{name}' is not a valid overlay name",
            hint="use a lowercase slug such as 'loader-symlink': letters, digits, '-', '_' or '.'",
        )
    return name


@dataclass(frozen=True)
class Link:
    source: str  # relative to the app repo
    target: str  # relative to the upstream checkout


@dataclass(frozen=True)
class Check:
    overlay: str
    run: str | None = None
    path: str | None = None
    pattern: str | None = None


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


@dataclass(frozen=True)
class Lock:
    url: str
    ref: str
    commit: str
    overlays: dict[str, str] = field(default_factory=dict)  # name -> sha256 of the patch file

    def with_overlays(self, overlays: dict[str, str]) -> Lock:
        return Lock(self.url, self.ref, self.commit, dict(sorted(overlays.items())))

    def with_pin(self, ref: str, commit: str) -> Lock:
        return Lock(self.url, ref, commit, self.overlays)


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write a file whole or not at all: a temporary file in the same folder, then rename."""
    raw = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = str(path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# -- config ------------------------------------------------------------------------------------
def _node_get(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _fail(path: Path, node: yaml.Node | None, message: str) -> ConfigError:
    line = node.start_mark.line + 1 if node is not None else 1
    return ConfigError(
        message, where=f"{path}:{line}", hint=f"edit {path.name} and run the command again"
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
    values["links"] = _parse_links(path, _node_get(root, "links"))
    values["checks"] = _parse_checks(path, _node_get(root, "checks"))
    return Config(**values)


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
            if value.startswith("/") or ".." in Path(value).parts:
                raise _fail(
                    path,
                    item,
                    f"link path '{value}' must be relative and stay inside its repository",
                )
        links.append(Link(source.rstrip("/"), target.rstrip("/")))
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
            checks.append(Check(name, run, file, pattern))
    return tuple(checks)


def read_text(path: Path, hint: str) -> str:
    """A UTF-8 text file of the app repo; other bytes are a ConfigError naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start})", where=str(path), hint=hint
        ) from None


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
        f"  url: {_q(config.url)}",
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
        "# Folders of this repo to link into the checkout (source here, target there).",
        "links:" + ("" if config.links else " []"),
        *[f"  - source: {_q(ln.source)}\n    target: {_q(ln.target)}" for ln in config.links],
        "# Per-overlay checks run after a sync applies the overlays, e.g.",
        "#   llm-models:",
        "#     - path: autogpt_platform/backend/backend/blocks/llm.py",
        "#       pattern: OLLAMA_QWEN2_5_7B",
        "#     - run: python -m compileall -q autogpt_platform/backend/backend/blocks",
        "checks: {}",
    ]
    return "\n".join(lines) + "\n"


def _q(value: str) -> str:
    return (
        json.dumps(value)
        if re.search(r"[:#*{}\[\],&!|>'\"%@`]|^\s|\s$", value) or not value
        else value
    )


# -- lock --------------------------------------------------------------------------------------
def load_lock(path: Path) -> Lock:
    try:
        data = json.loads(read_text(path, "restore it with `git checkout -- forkman.lock`"))
    except FileNotFoundError:
        raise ConfigError(
            "no forkman.lock here", where=str(path), hint="run `forkman init` to pin the upstream"
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"the lock is not valid JSON: {exc.msg}",
            where=f"{path}:{exc.lineno}",
            hint="restore it with `git checkout -- forkman.lock`",
        ) from None
    try:
        upstream = data["upstream"]
        lock = Lock(
            str(upstream["url"]),
            str(upstream["ref"]),
            str(upstream["commit"]),
            {str(k): str(v) for k, v in data.get("overlays", {}).items()},
        )
    except KeyError as exc:
        problem = f"the lock lacks {exc}"
    except (TypeError, AttributeError):
        problem = "the lock is not forkman's JSON object (upstream: url, ref, commit; overlays)"
    else:
        if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", lock.commit):
            return lock
        problem = f"the lock's upstream.commit {lock.commit!r} is not a full commit id"
    raise ConfigError(
        problem, where=str(path), hint="restore it with `git checkout -- forkman.lock`"
    )


def render_lock(lock: Lock) -> str:
    data = {
        "comment": "Written by forkman; do not edit. Pins the upstream and each overlay's hash.",
        "version": LOCK_VERSION,
        "upstream": {"url": lock.url, "ref": lock.ref, "commit": lock.commit},
        "overlays": dict(sorted(lock.overlays.items())),
    }
    return json.dumps(data, indent=2) + "\n"


# -- series ------------------------------------------------------------------------------------
def parse_series(text: str, path: Path) -> tuple[str, ...]:
    names: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name = line.removesuffix(".patch")
        try:
            check_overlay_name(name)
        except BadOverlayName as exc:
            raise ConfigError(
                exc.message, where=f"{path}:{number}", hint="one overlay name a line"
            ) from None
        if name in names:
            raise ConfigError(f"overlay '{name}' is listed twice", where=f"{path}:{number}")
        names.append(name)
    return tuple(names)
