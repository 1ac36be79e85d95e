"""Recorded resolutions, of regions and of whole files, are never written through
overlays/resolutions when a pull request made it a link out of the app repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from forkman.core.records import FileRecord, Sides
from forkman.errors import ConfigError
from forkman.store import resolutions


def test_a_file_record_is_not_written_through_a_link_out_of_the_repo(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    overlays = tmp_path / "app" / "overlays"
    overlays.mkdir(parents=True)
    (overlays / "resolutions").symlink_to(outside)
    record = FileRecord("ov", "a.py", Sides.of(b"a\n", b"b\n", b"c\n"), "x\n", "y\n")
    with pytest.raises(ConfigError, match="leads out of the app repo"):
        resolutions.save_record(overlays, record)
    assert not list(outside.iterdir())
