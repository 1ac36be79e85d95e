"""One module per command: each orchestrates store, git and core and returns a result value."""
