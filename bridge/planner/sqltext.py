"""Step SQL analysis: split into statements and classify them, never rewriting the user's text.

pgAgent runs a step's code as one simple query (one implicit transaction); pg_cron does the same
with its command. What matters for a migration is which statements cannot share a transaction or a
multi-statement command (VACUUM, ``... CONCURRENTLY``, CREATE DATABASE, transaction control, a CALL
that may commit), which cannot run under pg_cron at all (``COPY ... STDIN/STDOUT``, psql
meta-commands), and whether the step is empty (pgAgent fails it).

Splitting uses sqlglot's postgres tokenizer, so ``;`` inside strings, dollar quotes, quoted
identifiers and comments never splits. Classification reads the leading keywords from the token
stream, never sqlglot's parse tree: its postgres dialect falls back to a generic ``Command`` for
VACUUM, CALL, DO, REINDEX and others (``sqlglot/tokens.py``, ``dialects/postgres.py``) and silently
reads CLUSTER or CHECKPOINT as a column. Statements are exact substrings of the original code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

_POSTGRES = Dialect.get_or_raise("postgres")
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9$]*")


class StatementKind(str, Enum):
    ORDINARY = "ordinary"
    #: BEGIN/COMMIT/ROLLBACK/SAVEPOINT...: changes the transaction the command runs in.
    TRANSACTION_CONTROL = "transaction_control"
    #: Must be the only statement of its command and cannot run in a transaction block.
    RUN_ALONE = "run_alone"
    #: CALL: works alone; a procedure that commits fails when combined with anything else.
    CALL = "call"
    #: DO: like CALL, its body may commit.
    DO = "do"
    #: COPY FROM STDIN / TO STDOUT: pg_cron cannot feed or drain it.
    COPY_STDIO = "copy_stdio"
    #: psql meta-command (``\\copy``, ``\\i``): not SQL; only psql understands it.
    PSQL_META = "psql_meta"
    #: Works as a top-level statement but not from inside a function (SELECT INTO, DISCARD).
    TOP_LEVEL = "top_level"
    #: SET TRANSACTION [SNAPSHOT] must come before any query of its transaction; SET SESSION
    #: CHARACTERISTICS changes every later transaction of the session.
    TRANSACTION_SETTING = "transaction_setting"


@dataclass(frozen=True)
class Statement:
    """One statement: its exact text, where it sits in the step, and what it is."""

    text: str
    start: int
    end: int
    keyword: str
    kind: StatementKind
    reason: str = ""
    #: Session state the statement leaves behind for later statements of the same session
    #: (a setting, a temporary table, a prepared statement, ...), in words; "" when none.
    leaks: str = ""


@dataclass(frozen=True)
class StepSQL:
    """The analysed code of one step."""

    code: str
    statements: tuple[Statement, ...]
    #: Set when the text cannot be tokenized (unterminated quote or dollar quote).
    error: str | None = None

    @property
    def empty(self) -> bool:
        """No statement at all (empty or comment-only): pgAgent runs it as an empty query and fails."""
        return self.error is None and not self.statements


_TXN = {
    "BEGIN",
    "START",
    "COMMIT",
    "END",
    "ROLLBACK",
    "ABORT",
    "SAVEPOINT",
    "RELEASE",
    "PREPARE TRANSACTION",
    "COMMIT PREPARED",
    "ROLLBACK PREPARED",
}


#: CREATE/DROP of these cannot run in a transaction block (a subscription: when it has a slot,
#: the default).
_ALONE_OBJECTS = ("DATABASE", "TABLESPACE", "SUBSCRIPTION")


def _words(tokens: list[Token]) -> list[str]:
    """Upper-cased words of the statement; a COMMAND token's raw remainder is split into words."""
    words: list[str] = []
    for tok in tokens:
        if tok.token_type in (TokenType.STRING, TokenType.BYTE_STRING, TokenType.NATIONAL_STRING):
            if words and tokens[0].token_type == TokenType.COMMAND and tok is tokens[1]:
                words += [w.upper() for w in _WORD.findall(tok.text)]
            continue
        if tok.token_type in (TokenType.IDENTIFIER,):  # "quoted" names are never keywords
            words.append("")
            continue
        words.append(tok.text.upper())
    return words


def _classify_tokens(tokens: list[Token]) -> tuple[str, StatementKind, str, str]:
    if tokens[0].token_type == TokenType.BACKSLASH:
        word = tokens[1].text if len(tokens) > 1 else ""
        return f"\\{word}", StatementKind.PSQL_META, "a psql meta-command, not SQL", ""
    words = _words(tokens)
    return (*_classify(words), _leaks(words))


#: Functions whose effect outlives the transaction: session-level advisory locks, dblink links,
#: the session's last sequence values.
_SESSION_FUNCTIONS = {
    "PG_ADVISORY_LOCK": "a session-level advisory lock (pg_advisory_lock)",
    "PG_ADVISORY_LOCK_SHARED": "a session-level advisory lock (pg_advisory_lock_shared)",
    "PG_TRY_ADVISORY_LOCK": "a session-level advisory lock (pg_try_advisory_lock)",
    "PG_TRY_ADVISORY_LOCK_SHARED": "a session-level advisory lock (pg_try_advisory_lock_shared)",
    "PG_ADVISORY_UNLOCK": "released session-level advisory locks (pg_advisory_unlock)",
    "PG_ADVISORY_UNLOCK_SHARED": "released session-level advisory locks (pg_advisory_unlock_shared)",
    "PG_ADVISORY_UNLOCK_ALL": "released session-level advisory locks (pg_advisory_unlock_all)",
    "DBLINK_CONNECT": "an open dblink connection (dblink_connect)",
    "DBLINK_CONNECT_U": "an open dblink connection (dblink_connect_u)",
    # currval()/lastval() in a later step see the value (sequence.c keeps it per session)
    "NEXTVAL": "sequence state for currval()/lastval() (nextval)",
    "SETVAL": "sequence state for currval()/lastval() (setval)",
}


def _argument(words: list[str], at: int, position: int, name: str) -> list[str] | None:
    """The words of the argument ``name`` (0-based ``position`` when passed positionally) of the
    call whose name is ``words[at]``; None if absent. Named notation (``name => v``, ``name := v``)
    may come in any order, after the positional arguments."""
    if at + 1 >= len(words) or words[at + 1] != "(":
        return None
    depth, args = 0, [list[str]()]
    for word in words[at + 1 :]:
        if word == "(":
            depth += 1
            if depth == 1:
                continue
        elif word == ")":
            depth -= 1
            if depth == 0:
                break
        elif word == "," and depth == 1:
            args.append([])
            continue
        args[-1].append(word)
    for arg in args:
        if arg[:1] == [name] and arg[1:2] in (["=>"], [":="]):
            return arg[2:]
    if position < len(args) and args[position][1:2] not in (["=>"], [":="]):
        return args[position]
    return None


def _leaks(words: list[str]) -> str:
    """What session state a statement leaves for the statements after it, or "" (pgAgent ran
    each step in a session of its own, so only a wrapper that joins steps can leak it)."""
    first, second = words[0], words[1] if len(words) > 1 else ""
    if first == "SET" and second not in ("LOCAL", "TRANSACTION", "CONSTRAINTS"):
        name = words[2] if second == "SESSION" and len(words) > 2 else second
        if name == "ROLE":
            return "the current role (SET ROLE)"
        if name == "AUTHORIZATION":
            return "the session user (SET SESSION AUTHORIZATION)"
        return f"the setting {name.lower()} (SET)"
    if first == "RESET":
        return f"reset setting(s) (RESET {second})".replace(" )", ")")
    temp = {"TEMP", "TEMPORARY"} & set(words[1:4]) or "PG_TEMP" in words
    if first == "CREATE" and temp and "ON COMMIT DROP" not in " ".join(words):
        return "a temporary object (CREATE TEMP ...)"
    if first == "PREPARE" and second != "TRANSACTION":
        return "a prepared statement (PREPARE)"
    if first == "DEALLOCATE":
        return "deallocated prepared statements (DEALLOCATE)"
    if first in ("LISTEN", "UNLISTEN"):
        return f"a notification registration ({first})"
    if first == "DECLARE" and "HOLD" in words and "WITHOUT" not in words:
        return "an open WITH HOLD cursor (DECLARE)"
    if first == "LOAD":
        return "a loaded library (LOAD)"
    for i, word in enumerate(words):
        if word == "SET_CONFIG":
            if _argument(words, i, 2, "IS_LOCAL") != ["TRUE"]:
                return "a setting changed by set_config(..., is_local => false)"
        elif word in _SESSION_FUNCTIONS and i + 1 < len(words) and words[i + 1] == "(":
            return _SESSION_FUNCTIONS[word]
    return ""


def _classify(words: list[str]) -> tuple[str, StatementKind, str]:
    """Classify a statement by its upper-cased leading keywords (see the module docstring)."""
    first = words[0]
    two = " ".join(words[:2])
    rest = set(words[1:])
    if two in _TXN:
        return two, StatementKind.TRANSACTION_CONTROL, f"{two} controls the transaction"
    if first in _TXN:
        return first, StatementKind.TRANSACTION_CONTROL, f"{first} controls the transaction"
    if first == "VACUUM":
        return first, StatementKind.RUN_ALONE, "VACUUM cannot run inside a transaction block"
    if first in ("CREATE", "DROP") and "INDEX" in words[1:3] and "CONCURRENTLY" in rest:
        kw = f"{first} INDEX CONCURRENTLY"
        return kw, StatementKind.RUN_ALONE, f"{kw} cannot run inside a transaction block"
    if first == "REINDEX" and ("CONCURRENTLY" in rest or rest & {"DATABASE", "SYSTEM", "SCHEMA"}):
        return (
            first,
            StatementKind.RUN_ALONE,
            "REINDEX CONCURRENTLY / SCHEMA / DATABASE / SYSTEM cannot run inside a transaction "
            "block or a function",
        )
    if first == "CLUSTER" and not (rest - {"VERBOSE", "(", ")"}):
        return (
            first,
            StatementKind.RUN_ALONE,
            "CLUSTER of all tables cannot run in a transaction block",
        )
    if first == "ALTER" and {"DETACH", "CONCURRENTLY"} <= rest:
        return (
            "ALTER TABLE DETACH PARTITION CONCURRENTLY",
            StatementKind.RUN_ALONE,
            "DETACH PARTITION CONCURRENTLY cannot run inside a transaction block",
        )
    if first in ("CREATE", "DROP") and len(words) > 1 and words[1] in _ALONE_OBJECTS:
        return two, StatementKind.RUN_ALONE, f"{two} cannot run inside a transaction block"
    if two == "ALTER DATABASE" and {"SET", "TABLESPACE"} <= rest:
        kw = "ALTER DATABASE SET TABLESPACE"
        return kw, StatementKind.RUN_ALONE, f"{kw} cannot run inside a transaction block"
    if two == "ALTER SYSTEM":
        return two, StatementKind.RUN_ALONE, "ALTER SYSTEM cannot run inside a transaction block"
    if first == "CALL":
        return first, StatementKind.CALL, "a procedure that commits must be the only statement"
    if first == "DO":
        return first, StatementKind.DO, "a DO block that commits must be the only statement"
    if two == "SET TRANSACTION" or words[:4] == ["SET", "SESSION", "CHARACTERISTICS", "AS"]:
        kw = "SET SESSION CHARACTERISTICS" if words[1] == "SESSION" else two
        return kw, StatementKind.TRANSACTION_SETTING, f"{kw} sets the transaction's own mode"
    if first == "DISCARD":
        return first, StatementKind.TOP_LEVEL, "DISCARD cannot be executed from a function"
    if first == "SELECT" and "INTO" in rest and "INSERT" not in rest:
        return "SELECT INTO", StatementKind.TOP_LEVEL, "SELECT INTO is not allowed in EXECUTE"
    if first == "COPY" and rest & {"STDIN", "STDOUT"}:
        return first, StatementKind.COPY_STDIO, "COPY FROM STDIN / TO STDOUT needs a client"
    return first, StatementKind.ORDINARY, ""


# Text without quotes, dollar quotes, comments, backslashes or SQL-standard bodies splits
# exactly at its semicolons; such steps (most of them) skip the tokenizer.
_NEEDS_TOKENIZER = re.compile(r"""['"$\\]|--|/\*|(?i:atomic)""")
_PLAIN_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9$]*|[^\sA-Za-z_0-9]|[0-9]+")


def _analyse_plain(code: str) -> StepSQL:
    statements: list[Statement] = []
    pos = 0
    for raw in code.split(";"):
        text = raw.strip()
        if text:
            start = pos + raw.index(text)
            words = [w.upper() for w in _PLAIN_WORD.findall(text)]
            keyword, kind, reason = _classify(words)
            statements.append(
                Statement(text, start, start + len(text), keyword, kind, reason, _leaks(words))
            )
        pos += len(raw) + 1
    return StepSQL(code, tuple(statements))


@lru_cache(maxsize=4096)
def analyse(code: str) -> StepSQL:
    """Split and classify ``code``; on bad quoting, ``error`` says why and no statement is given.

    Cached by text: catalogs repeat step code across jobs, and a job's steps are read again when
    a guard is weighed."""
    if not _NEEDS_TOKENIZER.search(code):
        return _analyse_plain(code)
    return _analyse_tokens(code)


def _analyse_tokens(code: str) -> StepSQL:
    try:
        tokens = _POSTGRES.tokenize(code)
    except TokenError as exc:
        return StepSQL(code, (), str(exc).splitlines()[0] if str(exc) else "cannot tokenize")
    statements: list[Statement] = []
    piece: list[Token] = []
    prev = 0

    def close(end: int) -> None:
        raw = code[prev:end]
        if piece:
            lead = len(raw) - len(raw.lstrip())
            text = raw.strip()
            keyword, kind, reason, leaks = _classify_tokens(piece)
            statements.append(
                Statement(text, prev + lead, prev + lead + len(text), keyword, kind, reason, leaks)
            )

    atomic = 0  # nesting inside a SQL-standard function body: BEGIN ATOMIC ... END
    for tok in tokens:
        word = tok.text.upper() if tok.token_type != TokenType.STRING else ""
        if atomic:
            if word == "CASE":
                atomic += 1
            elif word == "END":
                atomic -= 1
        elif word == "ATOMIC" and piece and piece[-1].text.upper() == "BEGIN":
            atomic = 1
        if tok.token_type == TokenType.SEMICOLON and not atomic:
            close(tok.start)
            piece, prev = [], tok.end + 1
        else:
            piece.append(tok)
    close(len(code))
    return StepSQL(code, tuple(statements))
