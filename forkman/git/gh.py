"""GitHub through its CLI: `gh` runs with the caller's token (GH_TOKEN); its errors are redacted."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from forkman.core.bot import Item, redact
from forkman.errors import ForkmanError
from forkman.git import runner

TOKEN_VARS = ("GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN")
_FIELDS = "number,url,title,body,state"


class GhError(ForkmanError):
    """gh is missing, has no token, or GitHub refused the request."""


def secrets() -> tuple[str, ...]:
    """The token values in the environment, to be masked wherever text leaves forkman."""
    return tuple(v for v in (os.environ.get(name, "") for name in TOKEN_VARS) if v)


class Gh:
    """`gh` run in the app repo (it finds the GitHub repository from the git remote)."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        if shutil.which("gh") is None:
            raise GhError(
                "gh (GitHub's CLI) is not installed",
                hint="install it (https://cli.github.com); GitHub's runners have it",
            )

    def run(self, *args: str, stdin: str | None = None) -> str:
        proc = runner.run(
            ["gh", *args], cwd=self.cwd, stdin=stdin.encode() if stdin is not None else None
        )
        if proc.returncode != 0:
            stderr = proc.stderr.decode(errors="replace")
            lines = [line for line in stderr.strip().splitlines() if line.strip()]
            detail = redact(lines[0] if lines else f"exit {proc.returncode}", secrets())
            hint = (
                "give gh a token in GH_TOKEN (the workflow's `token` input)"
                if proc.returncode == 4
                else "nothing was pushed to the default branch; run the bot again when fixed"
            )
            raise GhError(f"`gh {' '.join(args[:2])}` failed: {detail}", hint=hint)
        return proc.stdout.decode(errors="replace")

    def items(self, kind: str, *filters: str) -> list[Item]:
        """`gh pr|issue list FILTERS --json ...` as values (newest first, as gh lists them)."""
        fields = _FIELDS + (",headRefName" if kind == "pr" else "")
        data: list[dict[str, Any]] = json.loads(
            self.run(kind, "list", *filters, "--limit", "200", "--json", fields) or "[]"
        )
        return [
            Item(
                number=int(d["number"]),
                url=str(d["url"]),
                title=str(d["title"]),
                body=str(d.get("body") or ""),
                state=str(d.get("state", "OPEN")).upper(),
                head=str(d.get("headRefName", "")),
            )
            for d in data
        ]

    def pr_state(self, ref: str) -> str:
        """OPEN, MERGED or CLOSED for a PR number, URL or branch."""
        data = json.loads(self.run("pr", "view", ref, "--json", "state"))
        return str(data["state"]).upper()

    def ensure_label(self, label: str) -> None:
        self.run(
            "label", "create", label, "--force", "--color", "0e8a16", "--description",
            "Opened by forkman bot",
        )  # fmt: skip
