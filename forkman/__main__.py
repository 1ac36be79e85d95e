"""`python -m forkman`."""

from forkman.cli import main

main()
