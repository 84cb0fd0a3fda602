"""Every piece of text pgbridge writes into SQL: comments, literals, and dollar-quoted code.

Scripts (``plan --format sql``, ``export --format sql``), wrappers and pgAdmin-style inserts are
built only from these three functions, so what a catalog holds can never end a comment, a quote
or a line early, reach psql as a meta-command, or reach a reader's terminal as a control sequence:

- :func:`comment` writes one ``--`` line with every non-printable character escaped;
- :func:`literal` writes a string constant on one line: a plain ``'...'`` when the value is
  printable, otherwise a ``U&'...'`` constant with those characters as Unicode escapes (both
  need ``standard_conforming_strings = on``, which every script sets);
- :func:`code` writes user code byte for byte in a dollar quote whose tag (:func:`dollar_quote`)
  occurs neither inside the text nor at its junction with the closing tag; code with any other
  control than tab and line feed becomes a literal instead (a lone CR or ESC could hide a line
  from a reader, and psql drops the CR of every CR LF it reads, even inside a dollar quote).

NUL cannot be part of PostgreSQL text (psql drops the rest of such a line): it is refused.
"""

from __future__ import annotations

from bridge.display import shown


def _refuse_nul(text: str) -> str:
    if "\0" in text:
        raise ValueError("text with a NUL character cannot be written as SQL")
    return text


def comment(text: str) -> str:
    """One SQL comment line; nothing in ``text`` can end it early or reach a terminal raw."""
    return "-- " + shown(text)


def _unicode_escape(ch: str) -> str:
    if ch in "'\\":
        return ch * 2
    if ch.isprintable():
        return ch
    code_point = ord(ch)
    return f"\\{code_point:04X}" if code_point <= 0xFFFF else f"\\+{code_point:06X}"


def literal(value: str) -> str:
    """A string constant on one line: quotes doubled, non-printable characters as escapes.

    Backslashes stay as they are in the plain form (``standard_conforming_strings = on``).
    """
    _refuse_nul(value)
    if value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    return "U&'" + "".join(_unicode_escape(ch) for ch in value) + "'"


def dollar_quote(text: str, base: str = "pgbridge") -> str:
    """``$tag$text$tag$`` with a tag that cannot occur inside, or at the end of, ``text``."""
    _refuse_nul(text)
    n = 0
    while True:
        tag = f"${base}{n or ''}$"
        # the quote ends at the first occurrence of the tag after the opening one
        if (text + tag).find(tag) == len(text):
            return f"{tag}{text}{tag}"
        n += 1


def code(text: str, base: str = "pgbridge") -> str:
    """User code as a SQL string: dollar-quoted and readable, or a literal when it holds
    characters psql would change or a reader could be fooled by (CR, ESC, U+2028, ...)."""
    if _unsafe_in_code(text):
        return literal(text)
    return dollar_quote(text, base)


def _unsafe_in_code(text: str) -> bool:
    return not text.replace("\n", "").replace("\t", "").isprintable()
