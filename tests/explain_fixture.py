"""Upstream histories that break our overlays in known ways, each commit's subject carrying a PR.

Each case is a branch off the pinned release (v0.6.8), tagged `case/NAME`: a few unrelated
commits, the one that breaks an overlay (its PR given in CULPRITS), and more unrelated commits.
In `move-function` the culprit sits on a dev branch that master merges, as AutoGPT merges `dev`.
In `move-then-rewrite` upstream moves the function (a move the planner follows), then rewrites a
line of it: the rewrite is the culprit, the move its background (MOVED_BY).
"""

from __future__ import annotations

from pathlib import Path

from helpers import BASE_REF, git

from forkman.autogpt.example import BACKEND, BLOCKS_INIT, COST_CONFIG, LLM_PY, commit_files

REGISTRY = f"{BACKEND}/data/llm_registry.py"
RENAMED_COST = f"{BACKEND}/data/costs/block_cost_config.py"

# case -> (overlay it breaks, PR number in the culprit's subject)
CULPRITS = {
    "move-function": ("loader-symlink", 9664),
    "move-to-file": ("llm-models", 13627),
    "reformat": ("llm-models", 9701),
    "rewrite": ("loader-symlink", 9702),
    "another-form": ("cost-config", 9703),
    "delete": ("cost-config", 9704),
    "rename": ("cost-config", 9705),
    "move-then-rewrite": ("loader-symlink", 9706),
}
MOVED_BY = {"move-then-rewrite": 9664}  # case -> PR of the move the culprit came after


def _read(upstream: Path, path: str) -> str:
    return (upstream / path).read_text(encoding="utf-8")


def _edit(upstream: Path, path: str, old: str, new: str) -> dict[str, str | None]:
    text = _read(upstream, path)
    assert old in text, (path, old)
    return {path: text.replace(old, new, 1)}


def _noise(upstream: Path, n: int, start: int) -> None:
    for i in range(start, start + n):
        commit_files(
            upstream,
            f"docs: note {i} (#{8000 + i})",
            {f"docs/note{i}.md": f"# Note {i}\n"},
        )


_MOVED_LOADER = """\
import importlib
import os
import re
from pathlib import Path

AVAILABLE_MODULES = []


def load_all_blocks():
    # Dynamically load all modules under backend.blocks
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
    return AVAILABLE_MODULES


__all__ = ["AVAILABLE_MODULES", "load_all_blocks"]
"""


def _breaking_change(upstream: Path, case: str) -> dict[str, str | None]:
    if case == "move-function":
        return {BLOCKS_INIT: _MOVED_LOADER}
    if case == "move-to-file":
        llm = _read(upstream, LLM_PY)
        start = llm.index("MODEL_METADATA: dict[LlmModel, ModelMetadata] = {\n")
        end = llm.index("}\n", start) + 2
        registry = (
            '"""Every model\'s facts, in one place."""\n\n'
            "from backend.blocks.llm import LlmModel, ModelMetadata\n\n" + llm[start:end]
        )
        rest = (
            llm[:start]
            + "from backend.data.llm_registry import MODEL_METADATA  # noqa: E402\n"
            + llm[end:]
        )
        return {LLM_PY: rest, REGISTRY: registry}
    if case == "reformat":
        return _edit(
            upstream,
            LLM_PY,
            '    LlmModel.OLLAMA_DOLPHIN: ModelMetadata("ollama", 32768, None),\n',
            '    LlmModel.OLLAMA_DOLPHIN: ModelMetadata(\n        "ollama", 32768, None\n    ),\n',
        )
    if case == "move-then-rewrite":
        return _edit(
            upstream,
            BLOCKS_INIT,
            '        for f in current_dir.rglob("*.py")\n',
            '        for f in sorted(current_dir.rglob("*.py"))\n',
        )
    if case == "rewrite":
        return _edit(
            upstream,
            BLOCKS_INIT,
            '    for f in current_dir.rglob("*.py")\n',
            '    for f in sorted(current_dir.rglob("*.py"))\n',
        )
    if case == "another-form":
        return _edit(
            upstream,
            COST_CONFIG,
            "    LlmModel.OLLAMA_DOLPHIN: 1,\n",
            "    LlmModel.OLLAMA_DOLPHIN: 1,\n    LlmModel.OLLAMA_QWEN2_5_7B: 1,  # local model\n",
        )
    if case == "delete":
        return _edit(
            upstream,
            COST_CONFIG,
            "    LlmModel.OLLAMA_DOLPHIN: 1,\n    LlmModel.GEMINI_FLASH_1_5: 1,\n",
            "",
        )
    if case == "rename":
        text = _read(upstream, COST_CONFIG)
        return {COST_CONFIG: None, RENAMED_COST: "# Moved with the other pricing code.\n" + text}
    raise ValueError(case)


_SUBJECTS = {
    "move-function": "refactor(backend): Defer loading of .blocks and .data.block (#9664)",
    "move-to-file": "refactor(backend): move model facts into llm_registry (#13627)",
    "reformat": "style(backend): format the model metadata (#9701)",
    "rewrite": "fix(backend): load blocks in a stable order (#9702)",
    "another-form": "feat(blocks): price qwen2.5 (#9703)",
    "delete": "chore(backend): drop retired models from the costs (#9704)",
    "rename": "refactor(backend): move cost config into data/costs (#9705)",
    "move-then-rewrite": "fix(backend): load blocks in a stable order (#9706)",
}


def build_case(upstream: Path, case: str) -> str:
    """Add CASE's history to UPSTREAM (a copy of the example upstream); return its tag."""
    tag = f"case/{case}"
    git(upstream, "checkout", "-q", "-B", f"case-{case}", BASE_REF)
    _noise(upstream, 3, 0)
    # an unrelated change to the same file first, so the search has to tell them apart
    if case in ("move-function", "rewrite", "move-then-rewrite"):
        commit_files(
            upstream,
            "chore(backend): say what the blocks package exports (#8100)",
            _edit(
                upstream,
                BLOCKS_INIT,
                '__all__ = ["AVAILABLE_MODULES"]\n',
                '__all__ = ["AVAILABLE_MODULES"]  # block modules found at import\n',
            ),
        )
    if case == "move-function":
        git(upstream, "checkout", "-q", "-b", f"case-{case}-dev")
        _noise(upstream, 2, 10)
        commit_files(upstream, _SUBJECTS[case], _breaking_change(upstream, case))
        _noise(upstream, 2, 20)
        git(upstream, "checkout", "-q", f"case-{case}")
        _noise(upstream, 1, 30)
        git(
            upstream,
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge branch 'dev' into master",
            f"case-{case}-dev",
        )
    elif case == "move-then-rewrite":
        # the planner follows the move; what breaks the overlay is the rewrite after it
        commit_files(
            upstream, _SUBJECTS["move-function"], _breaking_change(upstream, "move-function")
        )
        _noise(upstream, 2, 20)
        commit_files(upstream, _SUBJECTS[case], _breaking_change(upstream, case))
    else:
        commit_files(upstream, _SUBJECTS[case], _breaking_change(upstream, case))
    _noise(upstream, 3, 40)
    git(upstream, "tag", tag)
    git(upstream, "checkout", "-q", "master")
    return tag
