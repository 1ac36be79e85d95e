"""A `gh` stand-in for the tests: records every call and answers like GitHub's CLI.

GitHub is not reachable here, so the tests put this script on PATH as `gh` (the one stand-in
the project allows). Each call is appended to `calls.jsonl` in $FAKE_GH_DIR: the argv, stdin,
the contents of any --body-file, and whether a token was present (never its value). Pull
requests, issues and labels live in `state.json` next to it, so a second run sees what the
first created. Only the subcommands and flags forkman uses are understood; anything else fails
loudly (exit 1), so a test never passes against an answer gh would not give.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_URL = "https://github.com/example/app"
TOKEN_VARS = ("GH_TOKEN", "GITHUB_TOKEN")
# how `gh ... --json FIELDS` names what we store
FIELDS = ("number", "title", "body", "url", "state", "headRefName", "baseRefName", "labels")


class Fail(Exception):
    """gh's own error exit: the message goes to stderr."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def home() -> Path:
    return Path(os.environ["FAKE_GH_DIR"])


def load_state(directory: Path | None = None) -> dict[str, Any]:
    path = (directory or home()) / "state.json"
    if path.exists():
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    return {"next": 1, "prs": [], "issues": [], "labels": []}


def save_state(state: dict[str, Any], directory: Path | None = None) -> None:
    path = (directory or home()) / "state.json"
    path.write_text(json.dumps(state, indent=2) + "\n")


def calls(directory: Path | None = None) -> list[dict[str, Any]]:
    """Every recorded call, oldest first."""
    path = (directory or home()) / "calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _parse(
    args: list[str], flags: set[str], repeatable: frozenset[str] | set[str] = frozenset()
) -> tuple[list[str], dict[str, Any]]:
    """Positional arguments and --flag values (`--flag V`, `--flag=V`, `-f V`; booleans alone)."""
    aliases = {"-t": "--title", "-b": "--body", "-F": "--body-file", "-H": "--head",
               "-B": "--base", "-l": "--label", "-s": "--state", "-S": "--search",
               "-R": "--repo", "-c": "--comment", "-d": "--draft", "-q": "--jq", "-L": "--limit"}  # fmt: skip
    booleans = {"--draft", "--force", "--fill"}
    positional: list[str] = []
    options: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-"):
            name, _, inline = arg.partition("=")
            name = aliases.get(name, name)
            if name not in flags:
                raise Fail(f"unknown flag: {name}")
            if name in booleans:
                options[name] = True
            else:
                if not inline:
                    i += 1
                    if i >= len(args):
                        raise Fail(f"flag needs an argument: {name}")
                    inline = args[i]
                if name in repeatable:
                    options.setdefault(name, []).extend(inline.split(","))
                else:
                    options[name] = inline
        else:
            positional.append(arg)
        i += 1
    return positional, options


def _body(options: dict[str, Any]) -> str | None:
    if "--body-file" in options:
        source = options["--body-file"]
        return sys.stdin.read() if source == "-" else Path(source).read_text()
    body: str | None = options.get("--body")
    return body


def _view(item: dict[str, Any], fields: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in fields.split(","):
        if field not in FIELDS:
            raise Fail(f'Unknown JSON field: "{field}"')
        value = item.get(field)
        out[field] = [{"name": n} for n in value or ()] if field == "labels" else value
    return out


def _find(items: list[dict[str, Any]], ref: str, kind: str) -> dict[str, Any]:
    key = ref.rsplit("/", 1)[-1]
    for item in items:
        if str(item["number"]) == key or (
            kind == "pull request" and item.get("headRefName") == ref
        ):
            return item
    raise Fail(f"GraphQL: Could not resolve to an issue or pull request with the number of {key}.")


def _matches(item: dict[str, Any], options: dict[str, Any]) -> bool:
    state = options.get("--state", "open").upper()
    if state != "ALL" and item["state"] != state:
        return False
    if "--head" in options and item.get("headRefName") != options["--head"]:
        return False
    if "--base" in options and item.get("baseRefName") != options["--base"]:
        return False
    if any(label not in item["labels"] for label in options.get("--label", [])):
        return False
    # gh's search is GitHub's: plain words must all occur in the title or body
    words = [w for w in options.get("--search", "").split() if ":" not in w]
    text = f"{item['title']}\n{item['body']}".lower()
    return all(w.lower().strip('"') in text for w in words)


def _list(items: list[dict[str, Any]], options: dict[str, Any]) -> str:
    found = [i for i in sorted(items, key=lambda i: -i["number"]) if _matches(i, options)]
    if "--json" in options:
        return json.dumps([_view(i, options["--json"]) for i in found])
    return "".join(f"{i['number']}\t{i['title']}\t{i['state']}\n" for i in found)


def _check_labels(state: dict[str, Any], labels: list[str]) -> None:
    for label in labels:
        if label not in state["labels"]:
            raise Fail(f"could not add label: '{label}' not found")


def _new(state: dict[str, Any], kind: str, **fields: Any) -> dict[str, Any]:
    number = state["next"]
    state["next"] += 1
    path = "pull" if kind == "prs" else "issues"
    item = {"number": number, "url": f"{REPO_URL}/{path}/{number}", "state": "OPEN",
            "comments": [], **fields}  # fmt: skip
    state[kind].append(item)
    return item


def _edit(state: dict[str, Any], item: dict[str, Any], options: dict[str, Any]) -> None:
    if "--title" in options:
        item["title"] = options["--title"]
    body = _body(options)
    if body is not None:
        item["body"] = body
    added = options.get("--add-label", [])
    _check_labels(state, added)
    item["labels"] = sorted({*item["labels"], *added})
    removed = options.get("--remove-label", [])
    item["labels"] = [label for label in item["labels"] if label not in removed]


_COMMON = {"--repo", "--json"}


def _pr_list(rest: list[str], state: dict[str, Any]) -> str:
    _, o = _parse(rest, {*_COMMON, "--head", "--base", "--state", "--label", "--search",
                         "--limit"}, {"--label"})  # fmt: skip
    return _list(state["prs"], o)


def _issue_list(rest: list[str], state: dict[str, Any]) -> str:
    _, o = _parse(rest, {*_COMMON, "--state", "--label", "--search", "--limit"}, {"--label"})
    return _list(state["issues"], o)


def _pr_create(rest: list[str], state: dict[str, Any]) -> str:
    _, o = _parse(rest, {"--repo", "--title", "--body", "--body-file", "--head", "--base",
                         "--label", "--draft"}, {"--label"})  # fmt: skip
    for required in ("--title", "--head", "--base"):
        if required not in o:
            raise Fail(f"fake gh: pr create needs {required} (forkman never relies on --fill)")
    for pr in state["prs"]:
        if pr["headRefName"] == o["--head"] and pr["state"] == "OPEN":
            raise Fail(
                f'a pull request for branch "{o["--head"]}" into branch "{pr["baseRefName"]}"'
                f" already exists:\n{pr['url']}"
            )
    _check_labels(state, o.get("--label", []))
    pr = _new(state, "prs", title=o["--title"], body=_body(o) or "", headRefName=o["--head"],
              baseRefName=o["--base"], labels=sorted(o.get("--label", [])))  # fmt: skip
    return str(pr["url"]) + "\n"


def _issue_create(rest: list[str], state: dict[str, Any]) -> str:
    _, o = _parse(rest, {"--repo", "--title", "--body", "--body-file", "--label"}, {"--label"})
    if "--title" not in o:
        raise Fail("fake gh: issue create needs --title")
    _check_labels(state, o.get("--label", []))
    issue = _new(state, "issues", title=o["--title"], body=_body(o) or "",
                 labels=sorted(o.get("--label", [])))  # fmt: skip
    return str(issue["url"]) + "\n"


def _item(command: str, state: dict[str, Any], ref: str) -> dict[str, Any]:
    kind = "prs" if command == "pr" else "issues"
    return _find(state[kind], ref, "pull request" if command == "pr" else "issue")


def _edit_item(command: str, rest: list[str], state: dict[str, Any]) -> str:
    p, o = _parse(rest, {"--repo", "--title", "--body", "--body-file", "--add-label",
                         "--remove-label"}, {"--add-label", "--remove-label"})  # fmt: skip
    item = _item(command, state, p[0])
    _edit(state, item, o)
    return str(item["url"]) + "\n"


def _close_item(command: str, rest: list[str], state: dict[str, Any]) -> str:
    p, o = _parse(rest, {"--repo", "--comment", "--reason"})
    item = _item(command, state, p[0])
    if "--comment" in o:
        item["comments"].append(o["--comment"])
    item["state"] = "CLOSED"
    return ""


def _comment_item(command: str, rest: list[str], state: dict[str, Any]) -> str:
    p, o = _parse(rest, {"--repo", "--body", "--body-file"})
    item = _item(command, state, p[0])
    item["comments"].append(_body(o) or "")
    return str(item["url"]) + "#issuecomment\n"


def _pr_view(rest: list[str], state: dict[str, Any]) -> str:
    p, o = _parse(rest, _COMMON)
    if not p:
        raise Fail("fake gh: pr view needs a number, URL or branch")
    item = _find(state["prs"], p[0], "pull request")
    if "--json" in o:
        return json.dumps(_view(item, o["--json"])) + "\n"
    return f"{item['title']} #{item['number']}\n{item['state']}\n"


def _label_create(rest: list[str], state: dict[str, Any]) -> str:
    p, o = _parse(rest, {"--repo", "--color", "--description", "--force"})
    if not p:
        raise Fail("fake gh: label create needs a name")
    if p[0] in state["labels"] and not o.get("--force"):
        raise Fail(f'label with name "{p[0]}" already exists; use `--force` to update')
    state["labels"] = sorted({*state["labels"], p[0]})
    return ""


_COMMANDS: dict[tuple[str, str], Callable[[list[str], dict[str, Any]], str]] = {
    ("pr", "list"): _pr_list,
    ("issue", "list"): _issue_list,
    ("pr", "create"): _pr_create,
    ("issue", "create"): _issue_create,
    ("pr", "view"): _pr_view,
    ("label", "create"): _label_create,
    **{
        (command, sub): functools.partial(handler, command)
        for command in ("pr", "issue")
        for sub, handler in (
            ("edit", _edit_item),
            ("close", _close_item),
            ("comment", _comment_item),
        )
    },
}


def run(argv: list[str], state: dict[str, Any]) -> str:
    """Do what `gh ARGV` would do to STATE; return its stdout."""
    if len(argv) < 2:
        raise Fail("fake gh: give a command and a subcommand")
    handler = _COMMANDS.get((argv[0], argv[1]))
    if handler is None:
        raise Fail(f"fake gh: unsupported command: gh {' '.join(argv[:2])}")
    return handler(argv[2:], state)


def _record(argv: list[str], stdin: str | None) -> None:
    files: dict[str, str] = {}
    for i, arg in enumerate(argv):
        if arg in ("--body-file", "-F") and i + 1 < len(argv) and argv[i + 1] != "-":
            path = Path(argv[i + 1])
            files[argv[i + 1]] = path.read_text() if path.exists() else "<missing>"
    entry = {
        "argv": argv,
        "stdin": stdin,
        "files": files,
        "token": any(os.environ.get(var) for var in TOKEN_VARS),
        "cwd": os.getcwd(),
    }
    with (home() / "calls.jsonl").open("a") as log:
        log.write(json.dumps(entry) + "\n")


def main(argv: list[str]) -> int:
    stdin = None
    if "-" in argv and sys.stdin and not sys.stdin.isatty():
        stdin = sys.stdin.read()
        sys.stdin = __import__("io").StringIO(stdin)
    _record(argv, stdin)
    if not any(os.environ.get(var) for var in TOKEN_VARS):
        sys.stderr.write(
            "To get started with GitHub CLI, please run:  gh auth login\n"
            "Alternatively, populate the GH_TOKEN environment variable with a GitHub API "
            "authentication token.\n"
        )
        return 4
    state = load_state()
    try:
        out = run(argv, state)
    except Fail as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.code
    save_state(state)
    sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
