"""Pure values and decisions: no processes, no files; every other layer builds on these."""
