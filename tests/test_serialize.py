"""serialize: the readers built once per type give back exactly what was written, and name the
first value that does not fit by its full path (what a hostile snapshot's one line says)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.catalog import snapshot
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.findings import Severity
from bridge.model import Catalog, CronJob, Diagnostic, JobHistory, PgCronSide, StepHistory
from bridge.planner.types import PlanOptions
from bridge.serialize import from_jsonable, to_jsonable
from tests.factories import SERVER, catalog_of

UTC = dt.timezone.utc

CRON = PgCronSide(
    database="postgres",
    extension_version="1.6",
    loaded=True,
    binary_at_least="1.6.5",
    settings=(("cron.timezone", "UTC"), ("cron.database_name", "postgres")),
    capabilities=("timezone",),
    jobs=(CronJob(7, "nightly", "30 2 * * *", "VACUUM", "localhost", 5432, "postgres", "u", True),),
    diagnostics=(Diagnostic("SOME_CODE", Severity.WARNING, "odd"),),
    binary_below="1.7.0",
    release_evidence=("settings",),
    server=SERVER,
)


def sets(lo: int, hi: int) -> st.SearchStrategy[frozenset[int]]:
    return st.frozensets(st.integers(lo, hi), max_size=5)


schedules = st.builds(
    ScheduleSpec,
    st.text(max_size=8).filter(lambda s: "\0" not in s),
    minutes=sets(0, 59),
    hours=sets(0, 23),
    weekdays=sets(0, 6),
    monthdays=sets(1, 32),
    months=sets(1, 12),
    enabled=st.booleans(),
    exceptions=st.lists(
        st.tuples(
            st.one_of(st.none(), st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1))),
            st.one_of(st.none(), st.times().map(lambda t: t.replace(second=0, microsecond=0))),
        ),
        max_size=2,
    ).map(tuple),
)
steps = st.builds(
    StepSpec,
    st.sampled_from(["a", "b", "é ü", "tab\there"]),
    st.sampled_from(["SELECT 1", "VACUUM", "echo hi\n"]),
    kind=st.sampled_from(["s", "b"]),
    on_error=st.sampled_from(["f", "s", "i"]),
    enabled=st.booleans(),
)
jobs = st.builds(
    JobSpec,
    st.text(max_size=12).filter(lambda s: "\0" not in s),
    st.lists(steps, max_size=3),
    st.lists(schedules, max_size=2),
    enabled=st.booleans(),
)
SINCE = dt.datetime(2026, 11, 1, tzinfo=UTC)
histories = st.builds(
    JobHistory,
    st.just(SINCE),
    st.just(SINCE + dt.timedelta(days=20)),
    runs=st.integers(0, 2**40),
    last_start=st.one_of(st.none(), st.just(SINCE + dt.timedelta(hours=5))),
    median_seconds=st.one_of(st.none(), st.floats(0, 1e6)),
    gap_minutes=st.one_of(st.none(), st.integers(1, 1440)),
    off_schedule_first=st.just((SINCE + dt.timedelta(minutes=7),)),
    steps=st.lists(st.builds(StepHistory, st.integers(1, 9), st.integers(0, 99), st.just(3))).map(
        tuple
    ),
)


def with_history(catalog: Catalog, history: JobHistory | None) -> Catalog:
    assert catalog.pgagent is not None
    if not catalog.pgagent.jobs:
        return catalog
    first = dataclasses.replace(catalog.pgagent.jobs[0], history=history)
    agent = dataclasses.replace(catalog.pgagent, jobs=(first, *catalog.pgagent.jobs[1:]))
    return dataclasses.replace(catalog, pgagent=agent)


@settings(max_examples=60, deadline=None)
@given(st.lists(jobs, max_size=4), st.one_of(st.none(), histories), st.sampled_from([CRON, None]))
def test_catalog_snapshot_load_is_the_catalog(
    specs: list[JobSpec], history: JobHistory | None, cron: PgCronSide | None
) -> None:
    catalog = with_history(catalog_of(*specs, pgcron=cron), history)
    assert snapshot.loads(snapshot.dumps(catalog)) == catalog
    assert from_jsonable(Catalog, to_jsonable(catalog)) == catalog


def doc() -> Any:
    specs = [JobSpec("j", [StepSpec("a", "SELECT 1")], [ScheduleSpec("s", minutes=frozenset({5}))])]
    return to_jsonable(catalog_of(*specs, pgcron=CRON))


def refusal(mutate: Any) -> str:
    data = doc()
    mutate(data)
    with pytest.raises(ValueError) as caught:
        from_jsonable(Catalog, data, "$.catalog")
    return str(caught.value)


def job(d: Any) -> Any:
    return d["pgagent"]["jobs"][0]


def sched(d: Any) -> Any:
    return job(d)["schedules"][0]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: job(d).update(enabled=1), "$.catalog.pgagent.jobs[0].enabled: expected true/false, got 1"),
        (lambda d: job(d).update(id=True), "$.catalog.pgagent.jobs[0].id: expected an integer, got True"),
        (lambda d: job(d).update(id=2**31), "$.catalog.pgagent.jobs[0].id: 2147483648 is outside -2147483648..2147483647"),
        (lambda d: job(d).pop("name"), "$.catalog.pgagent.jobs[0].name: missing"),
        (lambda d: job(d).update(b=1, a=2), "$.catalog.pgagent.jobs[0]: unknown field(s) a, b"),
        (lambda d: d["pgagent"]["jobs"].append(3), "$.catalog.pgagent.jobs[1]: expected an object for Job"),
        (lambda d: job(d).update(steps={}), "$.catalog.pgagent.jobs[0].steps: expected a list, got dict"),
        (lambda d: sched(d)["hours"].__setitem__(5, 0), "$.catalog.pgagent.jobs[0].schedules[0].hours[5]: expected true/false, got 0"),
        (lambda d: sched(d).update(start="2024-01-01T00:00"), "$.catalog.pgagent.jobs[0].schedules[0].start: '2024-01-01T00:00' has no UTC offset"),
        (lambda d: sched(d).update(start="soon\0"), "$.catalog.pgagent.jobs[0].schedules[0].start: contains a NUL character (PostgreSQL text never does)"),
        (lambda d: sched(d).update(start="+2024-01-01"), "$.catalog.pgagent.jobs[0].schedules[0].start: '+2024-01-01' has a year outside 1..9999"),
        (lambda d: sched(d).update(start="0001-01-01T00:00:00+01:00"), "$.catalog.pgagent.jobs[0].schedules[0].start: '0001-01-01T00:00:00+01:00' is outside years 1..9999 in UTC"),
        (lambda d: sched(d).update(start=5), "$.catalog.pgagent.jobs[0].schedules[0].start: expected an ISO datetime string"),
        (lambda d: job(d)["steps"][0].update(kind="x"), "$.catalog.pgagent.jobs[0].steps[0].kind: 'x' is not a valid StepKind"),
        (lambda d: job(d)["steps"][0].update(kind=["s"]), "$.catalog.pgagent.jobs[0].steps[0].kind: ['s'] is not a valid StepKind"),
        (lambda d: job(d)["steps"][0].update(code="a\ud800"), "$.catalog.pgagent.jobs[0].steps[0].code: contains a lone surrogate U+D800 (not valid UTF-8)"),
        (lambda d: d["pgagent"].update(timezone="UTC\n"), "$.catalog.pgagent.timezone: control character U+000A in 'UTC\\n'"),
        (lambda d: d["pgcron"]["settings"].__setitem__(1, ["x"]), "$.catalog.pgcron.settings[1]: expected 2 items, got 1"),
        (lambda d: d["pgcron"]["settings"][0].__setitem__(1, 3), "$.catalog.pgcron.settings[0][1]: expected a string, got 3"),
        (lambda d: d["pgcron"]["jobs"][0].update(nodeport=None), "$.catalog.pgcron.jobs[0].nodeport: expected an integer, got None"),
        (lambda d: d["pgcron"].update(diagnostics=[{"code": "X", "severity": "bad", "message": ""}]), "$.catalog.pgcron.diagnostics[0].severity: 'bad' is not a valid Severity"),
        (lambda d: d.update(pgagent=[]), "$.catalog.pgagent: expected an object for PgAgentCatalog"),
    ],
)  # fmt: skip
def test_the_first_misfit_is_named_by_its_path(mutate: Any, message: str) -> None:
    assert refusal(mutate) == message


def test_literals_numbers_and_optional_values() -> None:
    assert from_jsonable(PlanOptions, {"disabled": "skip"}).disabled == "skip"
    with pytest.raises(ValueError) as caught:
        from_jsonable(PlanOptions, {"disabled": "never"})
    assert str(caught.value) == "$.disabled: 'never' is not one of 'inactive', 'skip'"
    history = to_jsonable(JobHistory(SINCE, SINCE, median_seconds=2.5))
    assert from_jsonable(JobHistory, {**history, "median_seconds": 3}).median_seconds == 3.0
    assert type(from_jsonable(JobHistory, {**history, "median_seconds": 3}).median_seconds) is float
    for bad in (float("nan"), True, "1"):
        with pytest.raises(ValueError) as caught:
            from_jsonable(JobHistory, {**history, "median_seconds": bad})
        assert str(caught.value) == f"$.median_seconds: expected a number, got {bad!r}"


def test_a_snapshot_with_a_misfit_is_one_line() -> None:
    data = {"format": "pgbridge-snapshot", "version": 1, "catalog": doc()}
    sched(data["catalog"])["minutes"] = [True] * 59 + ["x"]
    with pytest.raises(snapshot.SnapshotError) as caught:
        snapshot.loads(json.dumps(data), source="s.json")
    assert str(caught.value) == (
        "s.json is malformed: $.catalog.pgagent.jobs[0].schedules[0].minutes[59]: "
        "expected true/false, got 'x'"
    )


@pytest.mark.parametrize("depth", [29, 30, 31, 40])
def test_nesting_limit_names_the_first_value_too_deep(depth: int) -> None:
    """Exactly MAX_DEPTH levels below the document are accepted; deeper is refused, naming the
    first value too deep (the walk goes depth first from the last member)."""
    nested: Any = 1
    for _ in range(depth):
        nested = [nested]
    doc = {"a": [[]] * 40, "b": nested, "c": {"d": nested}}  # the 1 in c.d is 2 + depth down
    found = snapshot._too_deep(doc)
    if 2 + depth <= snapshot.MAX_DEPTH:
        assert found is None
    else:
        assert found == "$.c.d" + "[0]" * (snapshot.MAX_DEPTH - 1)
    assert snapshot._too_deep([[]] * 3) is None and snapshot._too_deep(5) is None
