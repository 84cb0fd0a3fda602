"""Passwords never leave pgbridge: redaction of conninfo strings and URIs, both ways."""

from __future__ import annotations

import pytest

from bridge.pg import conninfo

SECRET = "s3cr3t"

CASES = [
    # (input, password present?, text that must survive)
    ("", False, ""),
    ("host=db dbname=app", False, "host=db dbname=app"),
    (f"host=db password={SECRET} dbname=app", True, "dbname=app"),
    (f"host=db password='{SECRET} with space' user=u", True, "user=u"),
    (f"postgresql://u:{SECRET}@db:5433/app", True, "port=5433"),
    (f"postgres://u@db/app?password={SECRET}&sslmode=require", True, "sslmode=require"),
    (f"PASSWORD = {SECRET} host=x", True, "host=x"),
    (f"host=x password={SECRET} bad'quote", True, "host=x"),  # unparsable: pattern fallback
    (f"host=x sslpassword={SECRET}", True, "host=x"),
    (f"host=x password={SECRET} 2 dbname=y 'open", True, "dbname=y"),  # value with a space
    (f'host=x password="{SECRET} b" dbname=y \'open', True, "dbname=y"),
    # a URI libpq rejects, or may have split elsewhere than meant, is redacted as a whole
    (f"postgresql://u:{SECRET} x@h/d", True, "unparsable"),  # libpq rejects the space
    (f"postgresql://u:{SECRET}@[::1/d", True, "unparsable"),  # and the broken IPv6 address
    # an unencoded "@" in the password: libpq would take "pw-tail@db" as the host
    (f"postgresql://u:{SECRET}@pw-tail@db:5433/app", True, "unparsable"),
    (f"postgres://u:a@{SECRET}@db/app", True, "unparsable"),
    (f"postgresql://u:{SECRET}@h1:5432,h2:5433/app", True, "h1,h2"),  # multiple hosts parse
    (f"postgresql://u@h1,h2/app?password={SECRET}", True, "h1,h2"),
    (f"postgresql://u:{SECRET}%2Fx@h/app", True, "host=h"),  # percent-escapes parse
    (f"postgresql://h/app?user=a@b&password={SECRET}", True, "user=a@b"),  # "@" in the query
]

#: URIs libpq splits elsewhere than the user meant (an unencoded "/", "@" or ":" in the password):
#: the parsed "host", "port" or "dbname" would hold (part of) the password.
AMBIGUOUS_URIS = [
    "postgresql://u:Sekr/et@localhost/db",  # host "u", port "Sekr", dbname "et@localhost/db"
    "postgresql://u:Se@kr/et@localhost/db",  # password "Se", host "kr"
    "postgresql://u:Se@kr@localhost/db",  # host "kr@localhost"
    "postgresql://u:Sekr/et@h1,h2/db",  # multiple hosts
    "postgresql://u:Se@kr/et@h1:5432,h2/db",
    "postgresql://u:Sekr@h:Sekr/db",  # a port that is no number
    "postgresql://u:Se%2Fkr/et@localhost/db",  # percent-escape before a stray "/"
    "postgresql://u:Sekr/et@localhost/db?password=Sekr",
    "postgresql://u:Se%zz/et@localhost/db",  # libpq's own error quotes the text
]


@pytest.mark.parametrize("dsn", AMBIGUOUS_URIS)
def test_ambiguous_uri_is_shown_redacted_as_unparsable(dsn: str) -> None:
    fragments = ("Sekr", "Se", "kr", "et@", "Se%")
    shown = [conninfo.redact(dsn), conninfo.describe(dsn), conninfo.without_secrets(dsn)]
    with pytest.raises(ValueError) as err:
        conninfo.parse(dsn)
    shown.append(str(err.value))
    for text in shown:
        assert "\n" not in text
        assert not any(f in text for f in fragments), text
    assert conninfo.redact(dsn) == conninfo.URI_UNPARSABLE
    assert conninfo.describe(dsn) == "(unparsable connection string)"


@pytest.mark.parametrize(
    "dsn", [f"postgresql://u:{SECRET}@pw-tail@db:5433/app", f"postgres://u:a@{SECRET}@db/app"]
)
def test_unencoded_at_never_leaks_a_fragment_as_host(dsn: str) -> None:
    fragment = SECRET.split("-")[0]
    for shown in (conninfo.redact(dsn), conninfo.describe(dsn), conninfo.without_secrets(dsn)):
        assert SECRET not in shown and "pw-tail" not in shown and f"{fragment}@" not in shown
    with pytest.raises(ValueError, match="percent-encode") as err:
        conninfo.parse(dsn)
    assert SECRET not in str(err.value)


@pytest.mark.parametrize(("dsn", "has_pw", "kept"), CASES)
def test_redact(dsn: str, has_pw: bool, kept: str) -> None:
    assert conninfo.has_password(dsn) is has_pw
    red = conninfo.redact(dsn)
    assert SECRET not in red
    assert kept in red
    if has_pw:
        assert conninfo.MASK in red
    else:
        assert red == dsn  # byte for byte when there is nothing to hide


@pytest.mark.parametrize(("dsn", "has_pw", "kept"), CASES)
def test_describe_never_shows_password(dsn: str, has_pw: bool, kept: str) -> None:
    assert SECRET not in conninfo.describe(dsn)


def test_describe_names_server_database_user() -> None:
    assert conninfo.describe("host=db port=5433 dbname=app user=bob") == "db:5433/app user=bob"
    assert conninfo.describe("") == "(PGHOST/default)/(PGDATABASE/default)"


def test_parse_rejects_malformed() -> None:
    with pytest.raises(ValueError):
        conninfo.parse("host=x 'unterminated")


@pytest.mark.parametrize(
    "dsn", [f"postgresql://u:{SECRET} x@h/d", f"postgresql://u:{SECRET}@[::1/d"]
)
def test_parse_errors_never_quote_the_input(dsn: str) -> None:
    # libpq's message quotes the offending text, which here is the password.
    with pytest.raises(ValueError) as info:
        conninfo.parse(dsn)
    assert SECRET not in str(info.value)
    assert '"…"' in str(info.value)


@pytest.mark.parametrize(
    ("dsn", "reason"),
    [
        ("host=x passwrd=abc", 'invalid connection option "passwrd"'),
        (f"host=x password={SECRET} 2", 'missing "=" after "…" in connection info string'),
        (f"host=x password=a{SECRET}", None),  # parses: nothing to say
        (f"postgresql://u:{SECRET}%zz@h/d", 'invalid percent-encoded token: "…"'),
    ],
)
def test_parse_errors_stay_readable(dsn: str, reason: str | None) -> None:
    if reason is None:
        assert conninfo.parse(dsn)["password"] == f"a{SECRET}"
        return
    with pytest.raises(ValueError) as info:
        conninfo.parse(dsn)
    assert str(info.value) == reason
    assert SECRET not in str(info.value)


def test_describe_with_the_environment_names_what_libpq_tries() -> None:
    env = {"PGHOST": "db9", "PGPORT": "6543", "PGDATABASE": "jobs", "PGUSER": "ops"}
    assert conninfo.describe("", env) == "db9:6543/jobs user=ops"
    assert conninfo.describe("port=7 dbname=x", env) == "db9:7/x user=ops"
    assert conninfo.describe("host=h", {}) == "h:5432/(PGDATABASE/default)"
    assert conninfo.describe("dbname=d", {}) == "(local socket):5432/d"
