"""forkman's error types and the one table that maps them to exit codes."""

from __future__ import annotations

from collections.abc import Sequence

# Exit codes, in one place. 1 is reserved for "the command ran and found problems"
# (conflicts, guard findings), as `git diff --exit-code` and linters do.
EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USER_ERROR = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, git's code when its reader goes away


class ForkmanError(Exception):
    """A failure the user can act on: what went wrong, where, and what to do next."""

    exit_code = EXIT_USER_ERROR

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class GitTooOld(ForkmanError):
    pass


class GitError(ForkmanError):
    """A git command failed in a way forkman did not expect."""


class NetworkError(ForkmanError):
    pass


class BadRef(ForkmanError):
    pass


class TagMoved(ForkmanError):
    """The pinned release tag now names another commit upstream: a finding, not bad input."""

    exit_code = EXIT_PROBLEMS


class ConfigError(ForkmanError):
    pass


class PatchError(ForkmanError):
    """An overlay file that does not parse or whose paths leave the checkout."""


class NotAnAppRepo(ForkmanError):
    pass


class NotACheckout(ForkmanError):
    pass


class UnknownOverlay(ForkmanError):
    def __init__(self, name: str, known: Sequence[str]):
        listing = ", ".join(known) if known else "none yet"
        super().__init__(
            f"no overlay named '{name}'",
            hint=f"known overlays: {listing}; see `forkman overlay list`",
        )
        self.name = name
        self.known = tuple(known)


class BadOverlayName(ForkmanError):
    pass


class DirtyCheckout(ForkmanError):
    """The checkout holds edits that no overlay explains; acting would lose them."""

    def __init__(self, checkout: str, paths: Sequence[str], action: str):
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        super().__init__(
            f"{action} refused: the checkout has edits that no overlay explains: {shown}",
            where=checkout,
            hint="capture them with `forkman overlay capture NAME`, fold them into an overlay "
            f"with `forkman overlay refresh NAME`, or undo them with `git -C {checkout} checkout -- PATH` "
            "and delete any new files",
        )
        self.paths = tuple(paths)


class OverlayDoesNotApply(ForkmanError):
    def __init__(self, name: str, path: str, detail: str, hint: str | None = None):
        super().__init__(
            f"overlay '{name}' does not apply to {path}: {detail}",
            hint=hint or "run `forkman overlay status` to see every overlay's state",
        )
        self.name = name
        self.path = path


class SyncStateError(ForkmanError):
    pass


class Conflict(ForkmanError):
    """Raised only to stop a command that must not go on while conflicts remain."""

    exit_code = EXIT_PROBLEMS


class PrConflict(ForkmanError):
    """An overlay does not merge onto upstream's PR branch (or needs an earlier overlay)."""

    exit_code = EXIT_PROBLEMS

    def __init__(self, message: str, conflicts: Sequence[object], needs: Sequence[str], hint: str):
        super().__init__(message, hint=hint)
        self.conflicts = tuple(conflicts)
        self.needs = tuple(needs)


class PushFailed(ForkmanError):
    """The fork refused the push or could not be reached; nothing was left behind."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C in a command that changes the app repo, with what to say about it.

    The last one is also kept on the class: typer, run outside its standalone mode, answers
    Ctrl-C with a bare exit code and drops the exception on the way to the handler.
    """

    last: str | None = None

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        Interrupted.last = message
