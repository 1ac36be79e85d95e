"""forkman.lock: the machine-written pin of the upstream and each overlay file's sha256."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from forkman.core.urls import redact_url
from forkman.errors import ConfigError
from forkman.store.files import read_text

LOCK_FILE = "forkman.lock"
LOCK_VERSION = 1


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


# -- lock --------------------------------------------------------------------------------------
def load_lock(path: Path) -> Lock:
    try:
        data = json.loads(read_text(path, "restore it with `git checkout -- forkman.lock`"))
    except FileNotFoundError:
        raise ConfigError(
            "no forkman.lock here", where=str(path), hint="run `forkman init` to pin the upstream"
        ) from None
    except RecursionError:
        raise ConfigError(
            "the lock is nested too deeply to be forkman's",
            where=str(path),
            hint="restore it with `git checkout -- forkman.lock`",
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
            redact_url(str(upstream["url"])),  # a lock written before forkman redacted
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
        "upstream": {"url": redact_url(lock.url), "ref": lock.ref, "commit": lock.commit},
        "overlays": dict(sorted(lock.overlays.items())),
    }
    return json.dumps(data, indent=2) + "\n"
