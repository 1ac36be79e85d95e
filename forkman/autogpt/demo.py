"""`forkman demo`: a walk through forkman on a built-in AutoGPT-like upstream, offline."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from forkman.autogpt import example
from forkman.git import runner

Emit = Callable[[str], None]

CALCULATOR = '''"""Our own block, kept in the app repo and linked into upstream's blocks folder."""

from backend.data.block import Block


class DemoCalculatorBlock(Block):
    def __init__(self) -> None:
        super().__init__(id="{uuid}", description="Adds two numbers")
'''


class Walkthrough:
    """Runs forkman as a user would, in a subprocess, and shows each command with its output."""

    def __init__(self, root: Path, emit: Emit):
        self.root = root
        self.app = root / "app"
        self.emit = emit
        self.env = {
            "GIT_AUTHOR_NAME": "Demo User",
            "GIT_AUTHOR_EMAIL": "demo@example.com",
            "GIT_COMMITTER_NAME": "Demo User",
            "GIT_COMMITTER_EMAIL": "demo@example.com",
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }

    def say(self, text: str) -> None:
        self.emit(f"\n# {text}")

    def run(self, *args: str, cwd: Path | None = None, expect: tuple[int, ...] = (0,)) -> str:
        shown = " ".join(shlex.quote(a) for a in args)
        self.emit(f"$ {shown}")
        command = (
            [sys.executable, "-m", "forkman", *args[1:]] if args[0] == "forkman" else list(args)
        )
        proc = runner.run(command, cwd=cwd or self.app, env=self.env)
        stdout = proc.stdout.decode(errors="replace")
        output = (stdout + proc.stderr.decode(errors="replace")).rstrip()
        if output:
            self.emit("\n".join(f"  {line}" for line in output.splitlines()))
        if proc.returncode not in expect:
            raise RuntimeError(
                f"`{shown}` exited {proc.returncode}: {output.splitlines()[-1:] or ''}"
            )
        if proc.returncode:
            self.emit(f"  (exit {proc.returncode})")
        return stdout

    @property
    def checkout(self) -> Path:
        return self.app / "upstream" / "autogpt"

    def resolve(self, name: str, tag: str) -> None:
        """What a person does by hand: take upstream's new file and make our change again."""
        for path in [p for p in (example.BLOCKS_INIT, example.LLM_PY, example.COST_CONFIG)]:
            status = runner.git("status", "--porcelain", "--", path, cwd=self.checkout).decode()
            if status.startswith("UU"):
                fresh = runner.git("show", f"{tag}:{path}", cwd=self.checkout)
                (self.checkout / path).write_bytes(fresh)
                self.emit(f"  (resolved {path}: upstream's version, with our change made again)")
        example.OVERLAYS[name][2](self.checkout)


def run_demo(root: Path, emit: Emit) -> Path:
    """Build the example in ROOT and walk through init, capture, status, sync and conflicts."""
    walk = Walkthrough(root, emit)
    upstream = example.build_upstream(root / "upstream-autogpt")
    tags = example.RELEASES
    walk.app.mkdir(parents=True)
    walk.say(f"An AutoGPT-like upstream with releases {', '.join(tags)} is at {upstream}.")
    walk.say("Our app repo: it tracks that upstream and keeps its own blocks.")
    walk.run("git", "init", "-q", "-b", "main")
    (walk.app / "blocks" / "customized").mkdir(parents=True)
    (walk.app / "blocks" / "customized" / "__init__.py").write_text("")
    (walk.app / "blocks" / "customized" / "demo_calculator.py").write_text(
        CALCULATOR.format(uuid="6f1b0f4e-5d47-4c55-9b7a-2d0f9e1c8a31")
    )
    walk.run(
        "forkman",
        "init",
        "--upstream",
        str(upstream),
        "--path",
        "upstream/autogpt",
        "--ref",
        tags[0],
        "--release-pattern",
        example.RELEASE_PATTERN,
        "--pr-branch",
        example.PR_BRANCH,
    )
    config = walk.app / "forkman.yaml"
    config.write_text(
        config.read_text().replace(
            "links: []",
            "links:\n  - source: blocks/customized\n    target: autogpt_platform/backend/backend/blocks/customized"
            "\n# Our AutoGPT blocks: checked by `forkman guard` and `forkman blocks check`.\n"
            "blocks:\n  - blocks/customized",
        )
    )
    walk.say("forkman.yaml now links blocks/customized into upstream's blocks folder.")
    walk.run("forkman", "link")

    walk.say("Edit three upstream files in the checkout, as our product needs.")
    for name, (subject, _body, edit) in example.OVERLAYS.items():
        edit(walk.checkout)
        walk.emit(f"  (edited for {name}: {subject})")
    walk.run("forkman", "overlay", "status", expect=(0,))
    walk.say("Capture each change as a named overlay.")
    for name, (subject, body, _) in example.OVERLAYS.items():
        path = {"loader-symlink": example.BLOCKS_INIT, "llm-models": example.LLM_PY}.get(
            name, example.COST_CONFIG
        )
        walk.run(
            "forkman",
            "overlay",
            "capture",
            name,
            "-m",
            f"{subject}\n\n{body}",
            f"upstream/autogpt/{path}",
        )
    walk.run("forkman", "overlay", "status")
    walk.run("forkman", "overlay", "show", "loader-symlink")
    walk.run("git", "add", "-A")
    walk.run("git", "commit", "-q", "-m", "Track AutoGPT with three overlays")

    walk.say("CI's nightly canary: what would a sync to the newest release do? (changes nothing)")
    walk.run("forkman", "sync", "--check", expect=(1,))
    walk.say("Move to the next release, where every overlay still applies.")
    walk.run("forkman", "sync", "--to", tags[1])
    walk.run("git", "commit", "-qam", f"Sync to {tags[1]}")
    walk.say("Now the newest release: two overlays conflict. forkman stops at the first one.")
    walk.run("forkman", "sync", expect=(1,))
    walk.run("git", "-C", "upstream/autogpt", "status", "--short")
    walk.resolve("loader-symlink", tags[2])
    walk.run("forkman", "sync", "--continue", expect=(1,))
    walk.resolve("llm-models", tags[2])
    walk.run("forkman", "sync", "--continue")
    walk.run("forkman", "overlay", "status")
    walk.run("git", "status", "--short")
    walk.run("git", "add", "-A")
    walk.run("git", "commit", "-q", "-m", f"Sync to {tags[2]}")

    walk.say("Send the loader change upstream: a PR branch on upstream's dev, pushed to our fork.")
    walk.run("git", "init", "-q", "--bare", str(root / "fork.git"))
    walk.run("forkman", "upstream-pr", "loader-symlink", "--dry-run")
    walk.run(
        "forkman", "upstream-pr", "loader-symlink", "--push", "--remote", str(root / "fork.git")
    )
    walk.run("git", "-C", "../fork.git", "log", "--oneline", "-2", "forkman/pr/loader-symlink")
    walk.say(
        "A direct edit to upstream code is caught by the pre-commit guard until it is captured."
    )
    llm = walk.checkout / example.LLM_PY
    llm.write_text(llm.read_text() + "\n# Local: qwen2.5 runs on our own Ollama server.\n")
    walk.run("forkman", "guard", expect=(1,))
    walk.run("forkman", "overlay", "refresh", "llm-models")
    walk.run("forkman", "guard")
    walk.say(
        "Done: three overlays carried across two releases, conflicts resolved once and recorded."
    )
    return walk.app
