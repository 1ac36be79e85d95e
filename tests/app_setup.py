"""A small app repo for the guard and block tests: pinned example upstream, a blocks link, overlays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from forkman.edit import capture
from forkman.example import OVERLAYS
from forkman.project import Project, open_project
from forkman.upstream import apply, init

ROOT = Path(__file__).resolve().parents[1]
REF = "autogpt-platform-beta-v0.6.10"
CHECKOUT = "upstream/autogpt"
BLOCKS = "autogpt_platform/backend/backend/blocks"
LINK = f"  - source: blocks/customized\n    target: {BLOCKS}/customized\n"
OUR_BLOCK = """\
from backend.data.block import Block


class GreetBlock(Block):
    def __init__(self):
        super().__init__(
            id="0b5a43e4-0c4e-4d0a-9a8e-3f2c1f1f9e11",
            description="Says hello.",
        )

    async def run(self, input_data, **kwargs):
        yield "greeting", "hello"
"""


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def make_app(upstream: Path, app: Path, overlays: tuple[str, ...] = tuple(OVERLAYS)) -> Project:
    """`forkman init`, a linked blocks/customized folder with one block, the OVERLAYS captured, committed."""
    init(app, url=str(upstream), ref=REF, path=CHECKOUT, release_pattern="autogpt-platform-beta-v*")
    config = app / "forkman.yaml"
    config.write_text(config.read_text().replace("links: []\n", "links:\n" + LINK))
    (app / "blocks/customized").mkdir(parents=True)
    (app / "blocks/customized/__init__.py").write_text("")
    (app / "blocks/customized/greet.py").write_text(OUR_BLOCK)
    project = open_project(app)
    apply(project)
    for name in overlays:
        subject, body, edit = OVERLAYS[name]
        edit(project.checkout)
        capture(project, name, f"{subject}\n\n{body}")
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", "Track the upstream")
    return project


def forkman_env(tmp: Path) -> dict[str, str]:
    """The environment for `python -m forkman` and pre-commit: this repo importable, no network."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["PRE_COMMIT_HOME"] = str(tmp / "pre-commit-home")
    env["PIP_NO_INDEX"] = "1"
    return env


def forkman(args: list[str], cwd: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "forkman", *args], cwd=cwd, env=forkman_env(tmp),
                          capture_output=True, text=True, check=False)  # fmt: skip
