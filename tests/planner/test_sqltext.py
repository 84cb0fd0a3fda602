"""Step SQL splitting and classification: table-driven, and the text always survives byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.planner.sqltext import StatementKind as K
from bridge.planner.sqltext import analyse

SPLITS = [
    ("SELECT 1", ["SELECT 1"]),
    ("SELECT 1;", ["SELECT 1"]),
    ("select 'a;b'; select 2", ["select 'a;b'", "select 2"]),
    ("select E'a\\'b;c'; select 2", ["select E'a\\'b;c'", "select 2"]),
    ('select 1 as "x;y"; select 2', ['select 1 as "x;y"', "select 2"]),
    ("select $$a;b$$; select $t$ ; $t$", ["select $$a;b$$", "select $t$ ; $t$"]),
    (
        "DO $outer$ BEGIN EXECUTE $inner$SELECT 1; SELECT 2$inner$; END $outer$; VACUUM",
        ["DO $outer$ BEGIN EXECUTE $inner$SELECT 1; SELECT 2$inner$; END $outer$", "VACUUM"],
    ),
    ("select 1 /* ; */ ; -- c;\nselect 2", ["select 1 /* ; */", "-- c;\nselect 2"]),
    (";;  ; select 1;;", ["select 1"]),
    ("CALL p('a;b'); select 1", ["CALL p('a;b')", "select 1"]),
    ("-- only a comment\n", []),
    ("", []),
    ("  \n\t", []),
    (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; "
        "SELECT CASE WHEN true THEN 2 END; END; VACUUM",
        [
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; "
            "SELECT CASE WHEN true THEN 2 END; END",
            "VACUUM",
        ],
    ),
    (
        "insert into t values ('ünïcødé;'); select '€'",
        ["insert into t values ('ünïcødé;')", "select '€'"],
    ),
]


@pytest.mark.parametrize(("code", "expected"), SPLITS)
def test_split(code: str, expected: list[str]) -> None:
    step = analyse(code)
    assert step.error is None
    assert [s.text for s in step.statements] == expected
    for s in step.statements:
        assert code[s.start : s.end] == s.text  # exact substrings, offsets included
    assert step.empty is (expected == [])


CLASSES = [
    ("SELECT 1", "SELECT", K.ORDINARY),
    ("insert into t select 1", "INSERT", K.ORDINARY),
    ("ANALYZE t", "ANALYZE", K.ORDINARY),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", "REFRESH", K.ORDINARY),
    ("vacuum (analyze) t", "VACUUM", K.RUN_ALONE),
    ("VACUUM FULL", "VACUUM", K.RUN_ALONE),
    ("create unique index concurrently i on t (x)", "CREATE INDEX CONCURRENTLY", K.RUN_ALONE),
    ("CREATE INDEX i ON t (x)", "CREATE", K.ORDINARY),
    ("drop index concurrently i", "DROP INDEX CONCURRENTLY", K.RUN_ALONE),
    ("reindex (verbose) index concurrently i", "REINDEX", K.RUN_ALONE),
    ("REINDEX DATABASE app", "REINDEX", K.RUN_ALONE),
    ("REINDEX TABLE t", "REINDEX", K.ORDINARY),
    ("cluster", "CLUSTER", K.RUN_ALONE),
    ("CLUSTER VERBOSE", "CLUSTER", K.RUN_ALONE),
    ("CLUSTER t USING i", "CLUSTER", K.ORDINARY),
    (
        "alter table t detach partition p concurrently",
        "ALTER TABLE DETACH PARTITION CONCURRENTLY",
        K.RUN_ALONE,
    ),
    ("ALTER TABLE t DETACH PARTITION p", "ALTER", K.ORDINARY),
    ("create database x", "CREATE DATABASE", K.RUN_ALONE),
    ("DROP TABLESPACE ts", "DROP TABLESPACE", K.RUN_ALONE),
    ("alter system set work_mem = '1MB'", "ALTER SYSTEM", K.RUN_ALONE),
    ("CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p", "CREATE SUBSCRIPTION", K.RUN_ALONE),
    ("ALTER DATABASE app SET TABLESPACE fast", "ALTER DATABASE SET TABLESPACE", K.RUN_ALONE),
    ("ALTER DATABASE app SET work_mem = '1MB'", "ALTER", K.ORDINARY),
    ("CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC COMMIT; END", "CREATE", K.ORDINARY),
    ("BEGIN", "BEGIN", K.TRANSACTION_CONTROL),
    ("start transaction", "START", K.TRANSACTION_CONTROL),
    ("commit", "COMMIT", K.TRANSACTION_CONTROL),
    ("END", "END", K.TRANSACTION_CONTROL),
    ("rollback to savepoint a", "ROLLBACK", K.TRANSACTION_CONTROL),
    ("SAVEPOINT a", "SAVEPOINT", K.TRANSACTION_CONTROL),
    ("CALL close_month()", "CALL", K.CALL),
    ("DO $$BEGIN PERFORM 1; END$$", "DO", K.DO),
    ("COPY t FROM STDIN", "COPY", K.COPY_STDIO),
    ("copy (select 1) to stdout with csv", "COPY", K.COPY_STDIO),
    ("COPY t TO '/tmp/t.csv'", "COPY", K.ORDINARY),
    ("\\copy t to 'x.csv'", "\\copy", K.PSQL_META),
    ("DISCARD ALL", "DISCARD", K.TOP_LEVEL),
    ("SELECT * INTO new_table FROM t", "SELECT INTO", K.TOP_LEVEL),
    ("REINDEX SCHEMA public", "REINDEX", K.RUN_ALONE),
    ('select "vacuum" from t', "SELECT", K.ORDINARY),
    ("/* lead */ VACUUM t", "VACUUM", K.RUN_ALONE),
    ("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SET TRANSACTION", K.TRANSACTION_SETTING),
    ("set transaction snapshot '00000003-0000001B-1'", "SET TRANSACTION", K.TRANSACTION_SETTING),
    (
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
        "SET SESSION CHARACTERISTICS",
        K.TRANSACTION_SETTING,
    ),
    ("SET LOCAL work_mem = '1MB'", "SET", K.ORDINARY),
]

LEAKS = [
    ("SET search_path = app", "the setting search_path (SET)"),
    ("set session work_mem to '64MB'", "the setting work_mem (SET)"),
    ("SET ROLE reporting", "the current role (SET ROLE)"),
    ("SET SESSION AUTHORIZATION bob", "the session user (SET SESSION AUTHORIZATION)"),
    ("RESET ALL", "reset setting(s) (RESET ALL)"),
    ("SELECT set_config('search_path', 'app', false)", "set_config"),
    ("select pg_catalog.set_config('a.b', 'x', $$f$$::bool)", "set_config"),
    ("select set_config(name, value, false) from t", "set_config"),
    ("SELECT set_config('a.b', 'x', is_local => false)", "set_config"),
    ("SELECT set_config(new_value => 'x', setting_name => 'a.b')", "set_config"),
    ("CREATE TEMP TABLE stage AS SELECT 1", "a temporary object"),
    ("create global temporary table stage (x int)", "a temporary object"),
    ("CREATE TABLE pg_temp.stage (x int)", "a temporary object"),
    ("PREPARE q (int) AS SELECT $1", "a prepared statement (PREPARE)"),
    ("DEALLOCATE ALL", "deallocated prepared statements (DEALLOCATE)"),
    ("LISTEN jobs", "a notification registration (LISTEN)"),
    ("select pg_advisory_lock(42)", "pg_advisory_lock)"),
    ("SELECT pg_try_advisory_lock(1, 2)", "pg_try_advisory_lock)"),
    ("DECLARE c CURSOR WITH HOLD FOR SELECT 1", "WITH HOLD cursor"),
    ("LOAD 'auto_explain'", "a loaded library (LOAD)"),
    ("SELECT dblink_connect('c', 'dbname=x')", "dblink connection"),
    (
        "INSERT INTO t VALUES (nextval('t_id_seq'))",
        "sequence state for currval()/lastval() (nextval)",
    ),
    ("SELECT pg_catalog.setval('s', 42)", "sequence state for currval()/lastval() (setval)"),
    # transaction-local: nothing reaches the next step
    ("SET LOCAL search_path = app", ""),
    ("SET CONSTRAINTS ALL DEFERRED", ""),
    ("SELECT set_config('search_path', 'app', true)", ""),
    ("SELECT set_config('search_path', 'app', is_local => true)", ""),
    ("SELECT set_config(is_local := true, setting_name => 'a', new_value => 'b')", ""),
    ("CREATE TEMP TABLE stage (x int) ON COMMIT DROP", ""),
    ("select pg_advisory_xact_lock(42)", ""),
    ("PREPARE TRANSACTION 'x'", ""),
    ("CREATE FUNCTION f() RETURNS void SET search_path = app AS $$ SELECT 1 $$ LANGUAGE sql", ""),
    ("SELECT 'SET x = 1', 'set_config(a, b, false)'", ""),
    ("UPDATE t SET x = 1", ""),
]


@pytest.mark.parametrize(("code", "leak"), LEAKS)
def test_session_state_a_statement_leaves_behind(code: str, leak: str) -> None:
    (stmt,) = analyse(code).statements
    assert (leak in stmt.leaks) if leak else stmt.leaks == ""
    assert bool(stmt.leaks) is bool(leak)


@pytest.mark.parametrize(("code", "keyword", "kind"), CLASSES)
def test_classify(code: str, keyword: str, kind: K) -> None:
    (stmt,) = analyse(code).statements
    assert (stmt.keyword, stmt.kind) == (keyword, kind)
    assert bool(stmt.reason) is (kind is not K.ORDINARY)


@pytest.mark.parametrize("code", ["select $$ unterminated", "select 'open", "select $a$ x $b$"])
def test_bad_quoting_is_an_error_not_a_guess(code: str) -> None:
    step = analyse(code)
    assert step.error and step.statements == () and not step.empty


pieces = st.sampled_from(
    ["select 1", "select 'a;b'", "VACUUM t", "select $$x;y$$", "/* c; */ select 2", "CALL p()"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(pieces, min_size=1, max_size=6), st.sampled_from([";", "; ", ";\n", " ;  "]))
def test_joined_statements_come_back_exactly(parts: list[str], sep: str) -> None:
    code = sep.join(parts)
    assert [s.text for s in analyse(code).statements] == parts


plain_statements = st.lists(
    st.sampled_from(
        [
            "SELECT 1",
            "vacuum (verbose, analyze) t",
            "VACUUM FULL",
            "create unique index concurrently i on t (x)",
            "REINDEX (VERBOSE) TABLE CONCURRENTLY t",
            "reindex database app",
            "cluster",
            "CLUSTER t USING i",
            "begin",
            "START TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "commit",
            "CALL p(1, 2)",
            "COPY t FROM STDIN",
            "copy t to stdout",
            "ALTER TABLE t DETACH PARTITION p CONCURRENTLY",
            "ALTER SYSTEM SET work_mem = 64",
            "create database x",
            "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
            "update t set n = n + 1 where id = 7",
            "ANALYZE t",
        ]
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=400, deadline=None)
@given(plain_statements, st.sampled_from([";", " ; ", ";\n\t"]), st.booleans())
def test_fast_path_agrees_with_the_tokenizer(parts: list[str], sep: str, trailing: bool) -> None:
    # Text without quotes, comments or dollar signs skips sqlglot; both paths must agree exactly.
    from bridge.planner.sqltext import _analyse_plain, _analyse_tokens

    code = sep.join(parts) + (";" if trailing else "")
    assert _analyse_plain(code) == _analyse_tokens(code)
