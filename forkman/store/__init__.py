"""The app repo's files and forkman's state on disk: config, lock, series, journal, work tree."""
