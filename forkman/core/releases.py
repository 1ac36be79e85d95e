"""Release ordering: which tags match the pattern, and which is newest by version (v0.6.10 > v0.6.9)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping

from packaging.version import InvalidVersion, Version

from forkman.errors import BadRef


def tag_version(tag: str, pattern: str) -> Version | None:
    """The version in TAG where PATTERN has its `*`, or None when TAG does not match."""
    if not fnmatch.fnmatchcase(tag, pattern):
        return None
    regex = "^" + re.escape(pattern).replace(r"\*", "(.*)").replace(r"\?", ".") + "$"
    match = re.match(regex, tag)
    found = "".join(match.groups()) if match else tag
    try:
        return Version(found.lstrip("vV"))
    except InvalidVersion:
        return None


def releases(tags: Mapping[str, str], pattern: str, pre: bool = False) -> list[str]:
    """Matching tags, oldest first; pre-releases (-rc1, beta) only with PRE."""
    found = []
    for tag in tags:
        version = tag_version(tag, pattern)
        if version is not None and (pre or not (version.is_prerelease or version.is_devrelease)):
            found.append((version, tag))
    return [tag for _, tag in sorted(found)]


def newest_release(tags: Mapping[str, str], pattern: str, pre: bool = False) -> str:
    found = releases(tags, pattern, pre)
    if not found:
        globbed = sorted(t for t in tags if fnmatch.fnmatchcase(t, pattern))
        if globbed:
            shown = ", ".join(globbed[:5]) + (
                f" and {len(globbed) - 5} more" if len(globbed) > 5 else ""
            )
            unversioned = [t for t in globbed if tag_version(t, pattern) is None]
            what = (
                "none carries a version number where the `*` stands"
                if unversioned
                else "all are pre-releases"
            )
            raise BadRef(
                f"tags {shown} match '{pattern}', but {what}",
                hint="change upstream.release_pattern in forkman.yaml so that `*` stands for the "
                "version (e.g. v*), pass --pre for pre-releases, or name a ref with --ref/--to",
            )
        raise BadRef(
            f"no release tag matches '{pattern}'",
            hint="check upstream.release_pattern in forkman.yaml, or name a ref with --ref/--to",
        )
    return found[-1]
