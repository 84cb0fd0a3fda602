"""How text reports are laid out: width, colour and verbosity as parameters, lines wrapped.

The writers stay pure: the CLI decides from the terminal (its width, ``NO_COLOR``, ``--width``,
``--no-color``, ``-v``) and passes a :class:`TextOptions`; library callers and tests get the same
output for the same options. Catalog text is escaped by :func:`bridge.display.shown` *before* it
is wrapped; colour codes are ours, added afterwards, so a name can never bring its own.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from bridge.display import shown

#: The width when stdout is not a terminal and no --width is given.
DEFAULT_WIDTH = 100
#: Narrower than this, wrapped lines would be mostly indentation.
MIN_WIDTH = 40

#: SGR colours by severity (and by the status a severity gives a job).
_COLOURS = {"error": "31", "warning": "33", "info": "36", "manual": "31", "changed": "33"}


@dataclass(frozen=True)
class TextOptions:
    """What the text writers need to know about where the report goes."""

    width: int = DEFAULT_WIDTH
    colour: bool = False
    #: Also the exact and skipped jobs, and the info findings on every job.
    verbose: bool = False

    @property
    def columns(self) -> int:
        return max(self.width, MIN_WIDTH)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 pg_cron job``, ``2 pg_cron jobs`` (``many`` for an irregular plural)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def _key(word: str) -> str:
    """``[MANUAL]`` -> ``manual``: the word a colour is chosen by."""
    return word.strip("[]").lower()


class Lines:
    """A text report being written: each :meth:`add` escapes, wraps and (maybe) colours."""

    def __init__(self, options: TextOptions) -> None:
        self.options = options
        self.out: list[str] = []

    def add(self, text: str = "", indent: int = 0, hang: int = 4, head: str = "") -> None:
        """``text`` (escaped) wrapped to the width, continuation lines ``hang`` deeper than
        ``indent``. ``head`` (a severity or status word of ours) starts the line, coloured."""
        body = shown(f"{head} {text}" if head else text)
        if not body:
            self.out.append("")
            return
        lines = textwrap.wrap(
            body,
            width=self.options.columns,
            initial_indent=" " * indent,
            subsequent_indent=" " * (indent + hang),
            break_on_hyphens=False,
        )
        if head and self.options.colour and _key(head) in _COLOURS:
            lines[0] = " " * indent + self.paint(head) + lines[0][indent + len(head) :]
        self.out.extend(lines)

    def raw(self, line: str) -> None:
        """A line laid out by the caller (a table row of escaped, cut cells)."""
        self.out.append(line)

    def paint(self, word: str) -> str:
        colour = _COLOURS.get(_key(word))
        if not self.options.colour or colour is None:
            return word
        return f"\x1b[{colour}m{word}\x1b[0m"

    def text(self) -> str:
        return "".join(line.rstrip() + "\n" for line in self.out)


def cut(text: str, room: int) -> str:
    """``text`` (escaped) in at most ``room`` columns, ``...`` where it was cut."""
    text = shown(text)
    if len(text) <= room:
        return text
    return text[: max(room - 3, 0)] + "..."


def wrap_report(text: str, options: TextOptions) -> str:
    """A report written line by line (inventory, export, runs), each line wrapped to the width
    under its own indentation, continuation lines 4 deeper. Its lines are already escaped."""
    out: list[str] = []
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if len(line) <= options.columns:
            out.append(line)
            continue
        out += textwrap.wrap(
            line[indent:],
            width=options.columns,
            initial_indent=" " * indent,
            subsequent_indent=" " * min(indent + 4, options.columns // 2),
            break_on_hyphens=False,
        )
    return "".join(line + "\n" for line in out)
