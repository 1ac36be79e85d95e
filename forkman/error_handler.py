"""The one top-level error handler: every way out of `forkman` ends in a documented exit code."""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import typer

from forkman.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USER_ERROR, ForkmanError


def _note(text: str) -> None:
    typer.echo(text, err=True)


_INTERRUPTED = (
    "forkman: interrupted (a sync stopped midway resumes with `forkman sync --continue` "
    "or is undone with `forkman sync --abort`)"
)


_MACHINE_ERRORS = {
    errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR,
    errno.ENOTDIR, errno.EEXIST, errno.ENAMETOOLONG,
}  # fmt: skip
_MACHINE_HINT = (
    "files are written whole or not at all, so nothing is half-written: fix this, then run "
    "the command again; a sync under way resumes with `forkman sync --continue` or is undone "
    "with `forkman sync --abort`"
)


def run(app: Callable[[], object]) -> None:
    """Run APP; one handler maps errors to exit codes and one-line messages."""
    try:
        app()
    except SystemExit as exc:
        # typer turns Ctrl-C into a silent exit 130: say what happened, as for any interrupt
        if exc.code == EXIT_INTERRUPTED and isinstance(exc.__context__, typer.Exit):
            _note(_INTERRUPTED)
        raise
    except ForkmanError as exc:
        _note(f"forkman: error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _note(_INTERRUPTED)
        sys.exit(EXIT_INTERRUPTED)
    except OSError as exc:  # the machine, not forkman: a full disk, a read-only folder, ...
        if exc.errno not in _MACHINE_ERRORS:
            raise
        _note(f"forkman: error: {exc.filename or 'a file'}: {exc.strerror} ({_MACHINE_HINT})")
        sys.exit(EXIT_USER_ERROR)
    except Exception:  # noqa: BLE001 - a bug: say so, keep the details for the report
        log = Path(os.environ.get("TMPDIR", "/tmp")) / "forkman-crash.log"
        log.write_text(traceback.format_exc())
        _note(f"forkman: internal error (a bug); details in {log}")
        sys.exit(EXIT_INTERNAL)
