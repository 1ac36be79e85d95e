"""A finding: one problem a check found, with the file, the line and the fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    file: str  # as the user would type it: relative to the app repo, or the checkout's path
    line: int  # 0 when the problem is the whole file
    message: str
    hint: str = ""

    def text(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}" + (f" ({self.hint})" if self.hint else "")
