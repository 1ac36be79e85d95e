"""Every git process forkman starts, through one runner (`forkman.git.runner`)."""
