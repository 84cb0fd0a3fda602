"""Text from catalogs, made safe to show: one helper for every text and Markdown report.

Job, step and schedule names (and database names, commands, ...) are written by whoever may edit
a catalog or a snapshot. On a terminal an escape sequence in them could retitle the window, hide
lines or fake output; in a pipe a line break could start a line that looks like one of ours.
:func:`shown` escapes every character that is not printable, the same way on a terminal and in a
pipe, so what a report shows is what the catalog holds.
"""

from __future__ import annotations

from collections.abc import Iterable


def shown(text: str) -> str:
    """``text`` on one line, every non-printable character as a Python-style escape.

    C0 and C1 controls (ESC, BEL, CR, LF, TAB), DEL, line and paragraph separators (U+2028,
    U+2029), bidirectional and other format characters become ``\\x1b``, ``\\n``, ``\\u2028``...
    """
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def screen(lines: Iterable[str]) -> str:
    """A report from its lines: each one :func:`shown`, each ended by a newline."""
    return "".join(shown(line) + "\n" for line in lines)
