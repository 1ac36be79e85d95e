"""`python -m forkman` and the `forkman` command: `--version` answered before typer is imported."""

import sys

from forkman import __version__


def main() -> None:
    # typer and the commands cost ~50 ms to import; a version check needs none of it
    if sys.argv[1:] == ["--version"]:
        sys.stdout.write(f"forkman {__version__}\n")
        return
    from forkman.cli import main as run

    run()


if __name__ == "__main__":
    main()
