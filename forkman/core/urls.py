"""Upstream and fork URLs: which forkman passes to git, and how they look once secrets are removed."""

from __future__ import annotations

import re

# The transports people use. git also understands `ext::`, `fd::` and remote helpers
# (`foo::url`), which run programs; a URL from a pull request must never reach those.
SCHEMES = ("https", "ssh", "git", "file", "git+ssh", "ssh+git")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
# git's scp-like syntax: [user@]host:path, with no slash before the first colon
_SCP = re.compile(r"^(?:[^@/:\s]+@)?[^@/:\s]+:(?!//)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# userinfo in any URL inside free text (git's messages, a stored config, ...)
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)([^/\s@'\"<>]+)@")


def url_problem(url: str) -> str | None:
    """Why forkman will not pass URL to git (None when it will)."""
    problem = name_problem(url)  # what git must never be given, as for any name
    if problem:
        return problem
    scheme = _SCHEME.match(url)
    if scheme:
        if scheme.group(1).lower() not in SCHEMES:
            return f"uses the scheme '{scheme.group(1)}'; forkman allows https, ssh, git and file"
        return None
    if _HELPER.match(url):
        return "names a git remote helper ('...::'), which runs a program"
    return None  # scp-like host:path, or a local path


def name_problem(name: str) -> str | None:
    """Why a ref, branch or remote name from the config or command line is refused."""
    if not name.strip():
        return "is empty"
    if name.startswith("-"):
        return "starts with '-' (git would read it as an option)"
    if _CONTROL.search(name):
        return "holds a control character"
    return None


def remote_problem(remote: str) -> str | None:
    """A fork to push to: a remote's name, or a URL/path that `url_problem` accepts."""
    looks_like_url = bool(_SCHEME.match(remote) or _HELPER.match(remote) or "/" in remote)
    return url_problem(remote) if looks_like_url or _SCP.match(remote) else name_problem(remote)


def _strip(scheme: str, userinfo: str) -> str:
    """What of USERINFO may be shown: nothing over http(s), where a token often is the user."""
    if scheme.lower().startswith("http"):
        return ""
    user = userinfo.split(":", 1)[0]
    return f"{user}@" if user else ""


def redact_url(url: str) -> str:
    """URL without its secrets: http(s) user info removed, any other scheme's password removed.

    An ssh user (`ssh://git@host/...`, `git@host:path`) names an account, not a secret: kept.
    """
    return redact_text(url)


def redact_text(text: str) -> str:
    """TEXT with every URL in it redacted as `redact_url` does."""
    return _USERINFO.sub(lambda m: m.group(1) + _strip(m.group(1)[:-3], m.group(2)), text)


def has_secret(url: str) -> bool:
    return redact_url(url) != url
