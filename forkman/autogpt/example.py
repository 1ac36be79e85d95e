"""A deterministic AutoGPT-like upstream built with real git (for ``forkman demo`` and tests).

Every git call runs sealed from user/system config with fixed identities and dates, so
commit hashes are identical on every run and every machine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path

from forkman.git import runner

RELEASES: list[str] = [
    "autogpt-platform-beta-v0.6.8",
    "autogpt-platform-beta-v0.6.9",
    "autogpt-platform-beta-v0.6.10",
    "autogpt-platform-beta-v0.6.11-rc1",
]
RELEASE_PATTERN = "autogpt-platform-beta-v*"
PR_BRANCH = "dev"

BACKEND = "autogpt_platform/backend/backend"
BLOCKS_INIT = f"{BACKEND}/blocks/__init__.py"
LLM_PY = f"{BACKEND}/blocks/llm.py"
COST_CONFIG = f"{BACKEND}/data/block_cost_config.py"
BLOCK_PY = f"{BACKEND}/data/block.py"

AUTHOR = ("AutoGPT Upstream", "upstream@example.com")
FIRST_DATE = datetime.fromisoformat("2025-06-01T12:00:00+00:00")


class GitError(RuntimeError):
    """A git command failed; the message carries git's stderr."""


def git(repo: Path, *args: str, date: datetime = FIRST_DATE) -> str:
    """Run ``git *args`` in ``repo`` deterministically; return stdout without trailing newlines."""
    stamp = date.isoformat()
    env = {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_COUNT": "0",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": AUTHOR[0],
        "GIT_AUTHOR_EMAIL": AUTHOR[1],
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_NAME": AUTHOR[0],
        "GIT_COMMITTER_EMAIL": AUTHOR[1],
        "GIT_COMMITTER_DATE": stamp,
        "LC_ALL": "C",
    }
    cmd = [
        "git",
        "-c",
        "init.defaultBranch=master",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "tag.gpgsign=false",
        *args,
    ]
    proc = runner.run(cmd, cwd=repo, env=env)
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        raise GitError(f"{' '.join(cmd)} failed in {repo}: {stderr}")
    return proc.stdout.decode().rstrip("\n")


def commit_files(
    repo: Path,
    message: str,
    files: Mapping[str, str | None],
    tag: str | None = None,
    branch: str | None = None,
) -> str:
    """Commit ``files`` (path -> content, ``None`` deletes), optionally tag it; return the sha.

    With ``branch`` the commit lands on that branch (created from HEAD if missing) and HEAD
    is switched back.  Dates are 2025-06-01 plus one day per commit already in the repo.
    """
    repo = Path(repo)
    date = FIRST_DATE + timedelta(days=int(git(repo, "rev-list", "--all", "--count") or 0))
    back = None
    if branch is not None:
        try:
            back = git(repo, "symbolic-ref", "-q", "--short", "HEAD")
        except GitError:  # detached HEAD
            back = git(repo, "rev-parse", "HEAD")
        if branch != back:
            exists = git(repo, "branch", "--list", branch)
            git(repo, "checkout", "-q", *([branch] if exists else ["-b", branch]))
    for rel, content in files.items():
        target = repo / rel
        if content is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8", newline="\n")
    if files:
        git(repo, "add", "-A", "--", *files)
    git(repo, "commit", "-q", "--allow-empty", "-m", message, date=date)
    sha = git(repo, "rev-parse", "HEAD")
    if tag is not None:
        git(repo, "tag", "-a", tag, "-m", f"AutoGPT Platform {tag}", sha, date=date)
    if back is not None and back != branch:
        git(repo, "checkout", "-q", back)
    return sha


# --------------------------------------------------------------------------- templates
# member / value / provider / context / max output / first release index / display name
_MODEL_TABLE = """
O3_MINI           o3-mini                   openai      200000  100000 1 O3 Mini
GPT4O_MINI        gpt-4o-mini               openai      128000  16384  0 GPT-4o Mini
GPT4O             gpt-4o                    openai      128000  16384  0 GPT-4o
GPT4_TURBO        gpt-4-turbo               openai      128000  4096   0 GPT-4 Turbo
GPT3_5_TURBO      gpt-3.5-turbo             openai      16385   4096   0 GPT-3.5 Turbo
CLAUDE_3_5_SONNET claude-3-5-sonnet-latest  anthropic   200000  8192   0 Claude 3.5 Sonnet
CLAUDE_3_HAIKU    claude-3-haiku-20240307   anthropic   200000  4096   0 Claude 3 Haiku
LLAMA3_8B         llama3-8b-8192            groq        8192    None   0 Llama 3 8B
LLAMA3_70B        llama3-70b-8192           groq        8192    None   0 Llama 3 70B
OLLAMA_LLAMA3_2   llama3.2                  ollama      8192    None   0 Llama 3.2
OLLAMA_LLAMA3_8B  llama3                    ollama      8192    None   0 Llama 3
OLLAMA_DOLPHIN    dolphin-mistral:latest    ollama      32768   None   0 Dolphin Mistral
OLLAMA_LLAMA3_3   llama3.3                  ollama      8192    None   2 Llama 3.3
GEMINI_FLASH_1_5  google/gemini-flash-1.5   open_router 1000000 8192   0 Gemini Flash 1.5
MISTRAL_NEMO      mistralai/mistral-nemo    open_router 128000  4096   0 Mistral Nemo
DEEPSEEK_CHAT     deepseek/deepseek-chat    open_router 64000   2048   0 DeepSeek Chat
"""
_MODELS = [row.split(maxsplit=6) for row in _MODEL_TABLE.strip().splitlines()]
_PROVIDERS = {
    "openai": ("OpenAI", 2),
    "anthropic": ("Anthropic", 3),
    "groq": ("Groq", 1),
    "ollama": ("Ollama", 1),
    "open_router": ("OpenRouter", 1),
}
_COSTS = {"O3_MINI": 2, "GPT4O": 3, "GPT4_TURBO": 10, "CLAUDE_3_5_SONNET": 4, "DEEPSEEK_CHAT": 2}


def _llm_py(rel: int) -> str:
    rich = rel >= 2
    extra = "\n    display_name: str\n    provider_name: str\n    price_tier: int" if rich else ""
    enum, meta, group = [], [], None
    for name, value, prov, ctx, out, since, display in _MODELS:
        if rel < int(since):
            continue
        grp, tier = _PROVIDERS[prov]
        if grp != group:
            enum.append(f"    # {grp} models")
            group = grp
        enum.append(f'    {name} = "{value}"')
        args = f'"{prov}", {ctx}, {out}'
        if rich:
            args += f', "{display}", "{grp}", {tier}'
        meta.append(f"    LlmModel.{name}: ModelMetadata({args}),")
    return (
        '"""LLM blocks and the catalogue of supported models."""\n\n'
        "from enum import Enum\nfrom typing import NamedTuple\n\n\n"
        "class ModelMetadata(NamedTuple):\n    provider: str\n    context_window: int\n"
        f"    max_output_tokens: int | None{extra}\n\n\n"
        "class LlmModel(str, Enum):\n" + "\n".join(enum) + "\n\n"
        "    @property\n    def metadata(self) -> ModelMetadata:\n"
        "        return MODEL_METADATA[self]\n\n"
        "    @property\n    def provider(self) -> str:\n        return self.metadata.provider\n\n\n"
        "MODEL_METADATA: dict[LlmModel, ModelMetadata] = {\n" + "\n".join(meta) + "\n}\n\n"
        "for model in LlmModel:\n    if model not in MODEL_METADATA:\n"
        '        raise ValueError(f"Missing MODEL_METADATA metadata for model: {model}")\n'
    )


def _cost_config(rel: int) -> str:
    costs = dict(_COSTS, GPT4_TURBO=8 if rel >= 1 else 10, GPT3_5_TURBO=2 if rel >= 2 else 1)
    lines = []
    for name, _value, _prov, _ctx, _out, since, _display in _MODELS:
        if rel >= int(since) and name != "OLLAMA_LLAMA3_3":
            lines.append(f"    LlmModel.{name}: {costs.get(name, 1)},")
    if rel >= 2:  # upstream appends its new Ollama model at the end, away from the others
        lines.append("    LlmModel.OLLAMA_LLAMA3_3: 1,")
    note = (
        "# Credits charged per LLM call, by model.\n"
        if rel < 2
        else ("# Credits charged per LLM call, by model. Keep in sync with LlmModel.\n")
    )
    return (
        "from backend.blocks.llm import LlmModel\n\n"
        + note
        + "MODEL_COST: dict[LlmModel, int] = {\n"
        + "\n".join(lines)
        + "\n}\n"
    )


_DISCOVERY_OLD = """\
import importlib
import os
import re
from pathlib import Path

# Dynamically load all modules under backend.blocks
AVAILABLE_MODULES = []
current_dir = Path(__file__).parent
modules = [
    str(f.relative_to(current_dir))[:-3].replace(os.path.sep, ".")
    for f in current_dir.rglob("*.py")
    if f.is_file() and f.name != "__init__.py"
]
for module in modules:
    if not re.match("^[a-z0-9_.]+$", module):
        raise ValueError(f"Block module {module} error: module name must be lowercase")
    importlib.import_module(f".{module}", package=__name__)
    AVAILABLE_MODULES.append(module)

__all__ = ["AVAILABLE_MODULES"]
"""

_DISCOVERY_NEW = """\
import importlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.data.block import Block


def load_all_blocks() -> dict[str, type["Block"]]:
    from backend.data.block import Block

    # Dynamically load all modules under backend.blocks
    current_dir = Path(__file__).parent
    modules = []
    for f in current_dir.rglob("*.py"):
        if not f.is_file() or f.name == "__init__.py" or f.name.startswith("test_"):
            continue
        relative_path = f.relative_to(current_dir)
        module_name = str(relative_path)[:-3].replace(os.path.sep, ".")
        modules.append(module_name)

    for module in modules:
        if not re.match("^[a-z0-9_.]+$", module):
            raise ValueError(f"Block module {module} error: module name must be lowercase")
        importlib.import_module(f".{module}", package=__name__)

    return {cls().id: cls for cls in Block.__subclasses__()}


__all__ = ["load_all_blocks"]
"""

_BLOCK_BASE = '''\
"""Minimal stand-in for AutoGPT's Block base class."""

from typing import Any, Generator


class Block:
    def __init__(self, id: str = "", description: str = "", **kwargs: Any) -> None:
        self.id = id
        self.description = description
        self.name = type(self).__name__

    def run(self, input_data: Any, **kwargs: Any) -> Generator[tuple[str, Any], None, None]:
        raise NotImplementedError
'''


# module / first release index (4 = dev branch only) / class / id / description
_BLOCK_TABLE = """
maths       0 CalculatorBlock       b1ab9b19-67a6-406d-abf5-2dba76d00c79 Does arithmetic.
text        0 MatchTextPatternBlock 3060088f-6ed9-4928-9ba7-9c92823a7ccd Matches a regex.
text        0 FillTextTemplateBlock db7d8f02-2f44-4c55-ab7a-eae0941f0c30 Fills a template.
basic       0 StoreValueBlock       1ff065e9-88e8-4358-9d82-8dc91f622ba9 Forwards a value.
basic       0 PrintToConsoleBlock   f3b1c1b2-4c4f-4f0d-8d2f-4c4f0d8d2f4c Prints its input.
iteration   1 StepThroughItemsBlock f66a3543-28d3-4ab5-8945-9b336371e2ce Yields each item.
time_blocks 4 GetCurrentTimeBlock   a892b8d9-3e4e-4e9c-9c1e-75f8efcf1bfa Outputs the time.
"""
_BLOCKS = [row.split(maxsplit=4) for row in _BLOCK_TABLE.strip().splitlines()]


def _block_modules(rel: int, only: int | None = None) -> dict[str, str]:
    """Render every block module present at release index ``rel`` (or only those new in it)."""
    files: dict[str, str] = {}
    for module, since, cls, uuid, description in _BLOCKS:
        if int(since) > rel or (only is not None and int(since) != only):
            continue
        path = f"{BACKEND}/blocks/{module}.py"
        files[path] = files.get(path, "from backend.data.block import Block\n") + (
            f"\n\nclass {cls}(Block):\n    def __init__(self):\n        super().__init__(\n"
            f'            id="{uuid}",\n            description="{description}",\n        )\n\n'
            '    def run(self, input_data, **kwargs):\n        yield "output", input_data\n'
        )
    return files


def _readme(rel: int) -> str:
    text = (
        "# AutoGPT: Build, Deploy, and Run AI Agents\n\n"
        f"Current platform release: `{RELEASES[rel]}`.\n\n"
        "The platform lives in `autogpt_platform/`; the original agent in `classic/`.\n"
    )
    if rel >= 1:
        text += "\n## Hosting\n\nSelf-host with `docker compose up -d` in `autogpt_platform/`.\n"
    return text


def _package_json(rel: int) -> str:
    version = RELEASES[rel].split("-v", 1)[1]
    next_dep = '"14.2.13"' if rel < 1 else '"14.2.25"'
    return (
        '{\n  "name": "frontend",\n  "version": "' + version + '",\n  "private": true,\n'
        '  "dependencies": {\n    "next": ' + next_dep + ',\n    "react": "18.3.1"\n  }\n}\n'
    )


def _tree(rel: int) -> dict[str, str]:
    """Full content of every file at release index ``rel``."""
    tree = {
        "README.md": _readme(rel),
        "docs/index.md": "# AutoGPT Documentation\n\nWelcome to the AutoGPT docs.\n",
        "classic/README.md": "# AutoGPT Classic\n\nThe original autonomous agent.\n",
        "autogpt_platform/frontend/package.json": _package_json(rel),
        "autogpt_platform/backend/backend/__init__.py": "",
        f"{BACKEND}/data/__init__.py": "",
        BLOCK_PY: _BLOCK_BASE,
        BLOCKS_INIT: _DISCOVERY_OLD if rel < 2 else _DISCOVERY_NEW,
        LLM_PY: _llm_py(rel),
        COST_CONFIG: _cost_config(rel),
        **_block_modules(rel),
    }
    if rel >= 3:
        tree["docs/index.md"] += "\nSee the platform guide for self-hosting.\n"
    return tree


_MESSAGES = [
    "Release AutoGPT Platform beta v0.6.8",
    "feat(platform): add o3-mini, StepThroughItemsBlock; bump frontend deps",
    "refactor(backend): move block discovery into load_all_blocks(); richer model metadata",
    "chore(release): v0.6.11-rc1",
]


def build_upstream(path: Path) -> Path:
    """Create a non-bare AutoGPT-like repo at ``path`` (releases on master, plus ``dev``)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    for rel, (tag, message) in enumerate(zip(RELEASES, _MESSAGES, strict=False)):
        commit_files(path, message, _tree(rel), tag=tag)
    commit_files(
        path,
        "docs: link the platform guide",
        {"docs/platform.md": "# Platform guide\n\nRun `docker compose up -d`.\n"},
        branch=PR_BRANCH,
    )
    commit_files(
        path, "feat(blocks): add GetCurrentTimeBlock", _block_modules(4, only=4), branch=PR_BRANCH
    )
    return path


# --------------------------------------------------------------------------- local changes
def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    if old not in text:
        raise ValueError(f"{path}: anchor {old!r} not found")
    path.write_text(text.replace(old, new, 1), encoding="utf-8", newline="\n")


def _insert_after_last(path: Path, pattern: str, line: str) -> None:
    """Insert ``line`` (indented like the anchor) after the last line matching ``pattern``."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if any(line in existing for existing in lines):
        raise ValueError(f"{path}: {line!r} is already present")
    hits = [i for i, existing in enumerate(lines) if re.match(pattern, existing)]
    if not hits:
        raise ValueError(f"{path}: no line matches {pattern!r}")
    anchor = lines[hits[-1]]
    lines.insert(hits[-1] + 1, anchor[: len(anchor) - len(anchor.lstrip())] + line + "\n")
    path.write_text("".join(lines), encoding="utf-8", newline="\n")


def edit_loader_symlink(checkout: Path) -> None:
    """Discover block modules with glob.glob, which (unlike Path.rglob) follows symlinks."""
    init = Path(checkout) / BLOCKS_INIT
    _replace(init, "import importlib\n", "import glob\nimport importlib\n")
    _replace(
        init,
        'for f in current_dir.rglob("*.py")',
        'for f in map(Path, glob.glob(f"{current_dir}/**/*.py", recursive=True))',
    )


def edit_llm_models(checkout: Path) -> None:
    """Add Ollama's qwen2.5 to the model enum and its metadata."""
    llm = Path(checkout) / LLM_PY
    _insert_after_last(llm, r"\s+OLLAMA_\w+ = ", 'OLLAMA_QWEN2_5_7B = "qwen2.5"')
    _insert_after_last(
        llm,
        r"\s+LlmModel\.OLLAMA_\w+: ModelMetadata\(",
        'LlmModel.OLLAMA_QWEN2_5_7B: ModelMetadata("ollama", 32768, None),',
    )


def edit_cost_config(checkout: Path) -> None:
    """Give qwen2.5 the same cost as the other Ollama models."""
    _insert_after_last(
        Path(checkout) / COST_CONFIG,
        r"\s+LlmModel\.OLLAMA_\w+: \d+,",
        "LlmModel.OLLAMA_QWEN2_5_7B: 1,",
    )


OVERLAYS: dict[str, tuple[str, str, Callable[[Path], None]]] = {
    "loader-symlink": (
        "Load blocks from symlinked folders",
        (
            "Path.rglob() does not descend into symlinked directories, so our blocks/customized "
            "folder (linked into blocks/) never loaded. glob.glob(recursive=True) follows the link."
        ),
        edit_loader_symlink,
    ),
    "llm-models": (
        "Add Ollama qwen2.5 model",
        (
            "We run Ollama's qwen2.5 (`ollama pull qwen2.5`) locally and want it selectable in "
            "LLM blocks, so it gets an enum member and a metadata entry."
        ),
        edit_llm_models,
    ),
    "cost-config": (
        "Price qwen2.5 like the other Ollama models",
        (
            "Every LlmModel needs a MODEL_COST entry; the new local model costs 1 credit, "
            "like the other Ollama models."
        ),
        edit_cost_config,
    ),
}
