"""Text from files that a pull request can change, made safe to print on a terminal."""

from __future__ import annotations

import re

# C0 controls but newline and tab, DEL, and the C1 controls (U+0080-U+009F: CSI, OSC, ...).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """TEXT with every control character a terminal acts on shown as `\\xNN` instead.

    An escape sequence in an overlay's subject could otherwise retitle the window, hide the
    rest of a line or, on some terminals, answer back as typed input.
    """
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
