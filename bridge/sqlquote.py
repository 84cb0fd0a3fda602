"""Quoting values into SQL text that pgbridge writes (scripts, wrappers, pgAdmin-style inserts).

Two forms: standard string literals for short values (names, schedules), and dollar quotes for
user code, which keep the text byte for byte and readable. A dollar-quote tag is chosen so that
neither the text nor its junction with the closing tag can end the quote early.
"""

from __future__ import annotations


def literal(value: str) -> str:
    """A standard-conforming string literal: quotes doubled, backslashes left alone.

    Scripts that use it set ``standard_conforming_strings = on`` (the default since 9.1).
    """
    return "'" + value.replace("'", "''") + "'"


def dollar_quote(text: str, base: str = "pgbridge") -> str:
    """``$tag$text$tag$`` with a tag that cannot occur inside, or at the end of, ``text``."""
    n = 0
    while True:
        tag = f"${base}{n or ''}$"
        # the quote ends at the first occurrence of the tag after the opening one
        if (text + tag).find(tag) == len(text):
            return f"{tag}{text}{tag}"
        n += 1
