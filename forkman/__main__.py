"""`python -m forkman` and the `forkman` command: `--version`, status, apply, guard and sync before typer."""

import os
import sys

from forkman import __version__


def main() -> None:
    # started with stdout or stderr closed (`>&-`), Python has none: what forkman says goes
    # nowhere, as git's does, and the descriptor is not left for a file or a git to take
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115 - open for the whole run
    # typer and the commands cost ~50 ms to import; a version check needs none of it, and
    # status, apply, guard and sync with plain arguments need no typer (forkman.fast_cli)
    if sys.argv[1:] == ["--version"]:
        sys.stdout.write(f"forkman {__version__}\n")
        return
    from forkman import fast_cli

    if fast_cli.main(sys.argv[1:]):
        return
    from forkman.cli import main as run

    run()


if __name__ == "__main__":
    main()
