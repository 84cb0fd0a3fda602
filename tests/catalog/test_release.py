"""pg_cron releases: plans on the real server of each release, releases pgbridge does not know yet,
and the evidence that pins a release (or leaves a range, reported once)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bridge.api import migrate
from bridge.catalog import snapshot
from bridge.catalog.load import read_catalog
from bridge.catalog.release import choose, from_settings
from bridge.cli import main
from bridge.devtools.cluster import LocalCluster, find_bindir
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.exporter.translate import make_export
from bridge.findings import Severity
from bridge.model import Catalog, CronJob, PgCronSide
from bridge.planner.build import make_plan
from bridge.planner.target import target_from
from bridge.planner.types import Plan, PlanOptions
from bridge.schedule import (
    CronTarget,
    agent_fires_at,
    check_equivalence,
    cron_fires_at,
    cron_to_agent,
    cron_version,
    parse_cron,
)
from bridge.schedule.versions import newest_release, probes, release_name, settings_table
from tests.catalogs import Conn
from tests.commands import apply_with_psql
from tests.fix_db import MATRIX_AGENT_ZONE, MATRIX_CRON_ZONE, Servers, TestServer, matrix
from tests.pgcron_tree import server_tree

TODAY = dt.date(2026, 11, 21)
NO_GUARDS = PlanOptions(guards=False)  # these tests judge the entries cron alone can say
fs = frozenset


def _sched(name: str, **masks: frozenset[int]) -> ScheduleSpec:
    return ScheduleSpec(name, minutes=fs({15}), hours=fs({4}), **masks)  # type: ignore[arg-type]


#: Day-restricted schedules (name, masks, needs `$`, needs weekday AND month-day).
DAY_RESTRICTED = [
    ("mondays", {"weekdays": fs({1})}, False, False),
    ("weekends", {"weekdays": fs({0, 6})}, False, False),
    ("the 1st and 15th", {"monthdays": fs({1, 15})}, False, False),
    ("the 13th", {"monthdays": fs({13})}, False, False),
    ("quarter starts", {"monthdays": fs({1}), "months": fs({1, 4, 7, 10})}, False, False),
    ("weekdays in december", {"weekdays": fs({1, 2, 3, 4, 5}), "months": fs({12})}, False, False),
    ("first monday", {"weekdays": fs({1}), "monthdays": fs(range(1, 8))}, False, False),
    ("first sunday", {"weekdays": fs({0}), "monthdays": fs(range(1, 8))}, False, False),
    ("last day", {"monthdays": fs({32})}, True, False),
    ("friday the 13th", {"weekdays": fs({5}), "monthdays": fs({13})}, False, True),
    ("second tuesday", {"weekdays": fs({2}), "monthdays": fs(range(8, 15))}, False, True),
]


def _catalog_of_day_restricted_jobs(db: Conn) -> dict[int, tuple[str, bool, bool]]:
    out = {}
    for name, masks, needs_last, needs_and in DAY_RESTRICTED:
        job = create_job(
            db,
            JobSpec(name, [StepSpec("s", "SELECT 1", dbname="postgres")], [_sched(name, **masks)]),
        )
        out[job] = (name, needs_last, needs_and)
    return out


def _codes(plan: Plan) -> set[str]:
    return {f.code for f in plan.all_findings()}


@pytest.mark.pgcron_matrix
def test_day_restricted_jobs_plan_exact_on_the_real_server(
    db: Conn, db_dsn: str, cron_dsn: str, cron_db: Conn, pg_cron_release: str
) -> None:
    """Detected from the live server, with pgAgent in cron.timezone's zone: no false day-early
    error (a real 1.6.5 is not 1.6.0), Friday the 13th exact where cron.match_dom_and_dow is on;
    the plan's script is accepted by the real cron.schedule."""
    jobs = _catalog_of_day_restricted_jobs(db)
    side = read_catalog(db_dsn, cron_dsn).pgcron
    assert side is not None
    catalog = read_catalog(db_dsn, cron_dsn, timezone=side.timezone)
    target = target_from(catalog.pgcron, database="postgres")
    plan = make_plan(catalog, target, NO_GUARDS, today=TODAY)
    version = cron_version(pg_cron_release)
    assert "SCHED_TARGET_DATE_OFF_BY_ONE" not in _codes(plan)
    assert "TARGET_RELEASE_RANGE" not in _codes(plan)
    assert target.detected and target.cron_target().version.last_day == version.last_day
    for job in plan.jobs:
        name, needs_last, needs_and = jobs[job.job_id]
        if needs_and:
            want = "exact" if version.match_dom_and_dow_setting else "manual"
        elif needs_last:
            want = "exact" if version.last_day else job.status  # three jobs and a guard before 1.6
        else:
            want = "exact"
        assert job.status == want, (name, job.findings)
    if version.match_dom_and_dow_setting:  # the matrix turns the switch on: plain lists, AND
        (f13,) = [j for j in plan.jobs if jobs[j.job_id][0] == "friday the 13th"]
        assert [c.schedule for c in f13.cron_jobs] == ["15 4 13 * 5"]
    apply_with_psql(plan, cron_dsn)
    rows = cron_db.execute(
        "SELECT jobname, schedule FROM cron.job WHERE jobname LIKE 'pgagent-%' ORDER BY jobname"
    ).fetchall()
    assert [tuple(r) for r in rows] == sorted(
        (c.name, c.schedule)
        for j in plan.jobs
        if j.status in ("exact", "changed")
        for c in j.cron_jobs
    )


@pytest.mark.pgcron_matrix
def test_apply_detects_the_release_the_dry_run_detects(
    db_dsn: str, cron_dsn: str, cron_db: Conn, ledger_gone: None, pg_cron_release: str
) -> None:
    """pg_cron's side is read in a READ ONLY transaction of its own with --apply too, so the
    release probes (cron.schedule calls that transaction refuses) pin a real 1.6.5 there as well:
    the apply run plans for the target the dry run reported."""
    dry = migrate(db_dsn, cron_dsn)
    applied = migrate(db_dsn, cron_dsn, apply=True)
    assert dry.plan is not None and applied.plan is not None
    assert applied.plan.target == dry.plan.target
    assert "TARGET_RELEASE_RANGE" not in _codes(dry.plan) | _codes(applied.plan)


@pytest.mark.pgcron_matrix
def test_plans_with_another_cron_timezone_are_honest(
    db: Conn, db_dsn: str, cron_dsn: str, pg_cron_release: str
) -> None:
    """pgAgent in New York, pg_cron in cron.timezone (Berlin on the matrix clusters, whose DST
    changes fall on other days; GMT on 1.4). Nothing claims exact that is not."""
    jobs = _catalog_of_day_restricted_jobs(db)
    catalog = read_catalog(db_dsn, cron_dsn, timezone=MATRIX_AGENT_ZONE)
    target = target_from(catalog.pgcron, database="postgres")
    plan = make_plan(catalog, target, NO_GUARDS, today=TODAY)
    assert "SCHED_TARGET_DATE_OFF_BY_ONE" not in _codes(plan)
    assert catalog.pgagent is not None and len(plan.jobs) == len(jobs)
    agent_zone, cron = catalog.pgagent.timezone, target.cron_target()
    # Where each side changes its clocks (New York and Berlin in 2027), minute by minute: the
    # direct statements of pgAgent's and pg_cron's rules agree on every job planned exact.
    days = [dt.date(2027, 3, 1) + dt.timedelta(days=d) for d in range(35)]
    days += [dt.date(2027, 10, 25) + dt.timedelta(days=d) for d in range(14)]
    instants = [
        dt.datetime(d.year, d.month, d.day, h, 15, tzinfo=dt.timezone.utc)
        for d in days
        for h in range(24)
    ]
    by_id = {j.id: j for j in catalog.pgagent.jobs}
    exact = [j for j in plan.jobs if j.status == "exact"]
    for job in exact:
        (schedule,) = by_id[job.job_id].schedules
        parsed = [parse_cron(c.schedule, cron.version) for c in job.cron_jobs]
        for t in instants:
            want = agent_fires_at(schedule, t, agent_zone)
            got = any(cron_fires_at(p, t, cron.zone, and_logic=cron.and_logic) for p in parsed)
            assert got == want, (job.job_name, t, [c.schedule for c in job.cron_jobs])
    assert exact or agent_zone != cron.zone


# --- releases pgbridge does not know, and ranges ------------------------------------------------


@pytest.fixture
def offline(db: Conn, db_dsn: str) -> Callable[[PgCronSide | None], Catalog]:
    """A pgAgent catalog (Friday the 13th, Mondays; zone GMT) with any pg_cron side."""
    for name in ("friday the 13th", "mondays"):
        ((_, masks, _, _),) = [d for d in DAY_RESTRICTED if d[0] == name]
        create_job(
            db,
            JobSpec(name, [StepSpec("s", "SELECT 1", dbname="postgres")], [_sched(name, **masks)]),
        )
    base = read_catalog(db_dsn, timezone="GMT")

    def make(side: PgCronSide | None) -> Catalog:
        return dataclasses.replace(base, pgcron=side)

    return make


def _side(release: str, names: tuple[str, ...], **kw: object) -> PgCronSide:
    settings = tuple((n, "GMT" if n == "cron.timezone" else "off") for n in names)
    return PgCronSide(
        database="postgres",
        extension_version="1.6",
        loaded=True,
        binary_at_least=release,
        settings=(("cron.database_name", "postgres"), *settings),
        **kw,  # type: ignore[arg-type]
    )


ALL_SETTINGS = tuple(s.name for s in settings_table())


def test_unknown_newer_release_plans_as_the_newest_known() -> None:
    newest = release_name(newest_release())
    for release in ("1.6.9", "1.7.0", "2.0.0"):
        version = cron_version(release)  # no error: the newest known behaviour
        assert version.newer_than_known and version.name == release
        assert dataclasses.replace(version, release=(0, 0, 0)) == dataclasses.replace(
            cron_version(newest), release=(0, 0, 0)
        )
    assert not cron_version(newest).newer_than_known
    assert cron_version("main").name == newest


@pytest.mark.parametrize("how", ["declared 1.7.0", "snapshot claims 1.6.9"])
def test_newer_release_plans_normally_with_one_finding(
    how: str, offline: Callable[[PgCronSide | None], Catalog]
) -> None:
    side = _side("1.6.9", ALL_SETTINGS)
    if how.startswith("declared"):
        catalog = offline(None)
        target = target_from(None, release="1.7.0")
    else:
        catalog = snapshot.loads(snapshot.dumps(offline(side)))
        target = target_from(catalog.pgcron)
    plan = make_plan(catalog, target, NO_GUARDS, today=TODAY)
    newer = [f for f in plan.all_findings() if f.code == "TARGET_RELEASE_NEWER"]
    assert len(newer) == 1 and newer[0].job_id == 0
    assert "1.6.8" in newer[0].message
    baseline = make_plan(
        catalog, dataclasses.replace(target, release="1.6.8"), NO_GUARDS, today=TODAY
    )
    assert [(j.status, j.cron_jobs) for j in plan.jobs] == [
        (j.status, j.cron_jobs) for j in baseline.jobs
    ]
    assert [j.status for j in plan.jobs] == ["manual", "exact"]  # switch off: Friday 13th manual


def test_cli_plan_for_a_newer_release(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    offline: Callable[[PgCronSide | None], Catalog],
) -> None:
    path = tmp_path / "snap.json"
    snapshot.save(offline(_side("1.6.9", ALL_SETTINGS)), path)
    for extra in ([], ["--target-pg-cron", "1.7.0"]):
        args = ["plan", "--snapshot", str(path), "--format", "json", "--fail-on", "never"]
        code = main([*args, *extra])
        out = capsys.readouterr()
        assert code == 0, out.err
        assert out.out.count('"TARGET_RELEASE_NEWER"') == 1


def test_an_open_range_is_planned_for_the_likeliest_release_with_one_finding(
    offline: Callable[[PgCronSide | None], Catalog],
) -> None:
    """1.6 settings and SQL version, no probe (an older snapshot, or no USAGE on cron): planned
    as 1.6.5-1.6.7; one finding names 1.6.1 (day early) and 1.6.2 (step bound), and the jobs."""
    lacking = tuple(n for n in ALL_SETTINGS if n != "cron.match_dom_and_dow")
    side = _side("1.6.1", lacking, binary_below="1.6.8")
    catalog = offline(side)
    target = target_from(side)
    assert (target.release, target.other_releases) == ("1.6.5", ("1.6.1", "1.6.2"))
    plan = make_plan(catalog, target, NO_GUARDS, today=TODAY)
    (found,) = [f for f in plan.all_findings() if f.code == "TARGET_RELEASE_RANGE"]
    assert found.severity is Severity.WARNING and found.job_id == 0
    # Mondays would run a day early; Friday the 13th stays manual, with one more error
    assert "on 1.6.1 (every field is read" in found.message
    assert "2 job(s) would plan differently: 1, 2" in found.message
    assert "on 1.6.2 (@yearly and @annually never fire): no job changes" in found.message
    assert "SCHED_TARGET_DATE_OFF_BY_ONE" not in {f.code for j in plan.jobs for f in j.findings}
    pinned = make_plan(catalog, target_from(side, release="1.6.5"), today=TODAY)
    assert "TARGET_RELEASE_RANGE" not in {f.code for f in pinned.all_findings()}


def test_export_from_an_open_range_or_a_newer_release_says_so_once() -> None:
    monday = CronJob(7, "mondays", "15 4 * * 1", "SELECT 1", "localhost", 5432, "app", "u", True)
    hourly = CronJob(8, "hourly", "0 * * * *", "SELECT 1", "localhost", 5432, "app", "u", True)
    lacking = tuple(n for n in ALL_SETTINGS if n != "cron.match_dom_and_dow")
    side = _side("1.6.1", lacking, binary_below="1.6.8", jobs=(monday, hourly))
    done = make_export(side, agent_zone="GMT")
    assert done.release == "1.6.5"
    (found,) = [f for f in done.findings if f.code == "EXPORT_RELEASE_RANGE"]
    assert "on 1.6.1: pg_cron jobs 7 export differently" in found.message  # a day early there
    pinned = make_export(side, agent_zone="GMT", release="1.6.5")
    assert [(j.status, j.job) for j in done.jobs] == [(j.status, j.job) for j in pinned.jobs]
    assert "EXPORT_RELEASE_RANGE" not in {f.code for f in pinned.findings}
    newer = make_export(_side("1.7.0", ALL_SETTINGS, jobs=(monday,)), agent_zone="GMT")
    assert [f.code for f in newer.findings].count("EXPORT_RELEASE_NEWER") == 1
    assert "EXPORT_RELEASE_RANGE" not in {f.code for f in newer.findings}


def test_probes_split_the_1_6_releases() -> None:
    lacking = [n for n in ALL_SETTINGS if n != "cron.match_dom_and_dow"]
    evidence = from_settings(lacking, "1.6")
    assert (evidence.low, evidence.below) == ((1, 6, 1), (1, 6, 8))
    (step_bound,) = [p for p in probes() if evidence.needs(p)]
    rejected = evidence.narrowed(step_bound, accepted=False)
    assert (rejected.low, rejected.below) == ((1, 6, 5), (1, 6, 8))
    assert choose("1.6.5", "1.6.8", "1.6").others == ()
    accepted = evidence.narrowed(step_bound, accepted=True)
    assert (accepted.low, accepted.below) == ((1, 6, 1), (1, 6, 5))
    assert choose("1.6.1", "1.6.5", "1.6").others == ("1.6.1",)  # 1.6.2-1.6.4 is the likeliest
    # a 1.5 SQL version beside 1.6 settings: a 1.6.0 binary or a never-updated extension
    assert choose("1.6.0", "1.6.8", "1.5").release == "1.6.0"


def test_reverse_translation_claims_agree_with_the_checker_over_fall_back() -> None:
    source = CronTarget.of("1.6.5", "Europe/Berlin")
    cron = parse_cron("*/1 * */7 */9 *", source.version)
    got = cron_to_agent([cron], source=source, agent_zone="Europe/Berlin")  # as the export does
    checked = check_equivalence(
        tuple(got.schedules), [cron], target=source, agent_zone="Europe/Berlin",
        since=dt.date(2026, 12, 1),
    )  # fmt: skip
    assert got.exact == checked.exact


# --- the real scheduler, live -------------------------------------------------------------------

#: Zones that observe DST on one side of the year or the other: one is in DST on any date.
DST_ZONES = ("Australia/Sydney", "Europe/Berlin", "America/Santiago", "America/New_York")


def _live_jobs(zone: str, t: dt.datetime) -> dict[str, str]:
    """Schedules around the minute ``t`` as ``zone`` shows it now (DST or not), and as its other
    offset would show it, and the days the day-early bug (1.6.0-1.6.1) would pick."""
    tz = ZoneInfo(zone)
    local = t.astimezone(tz)
    dst = local.dst() or dt.timedelta(0)
    other = local - (dst if dst else dt.timedelta(hours=1))  # the offset DST would (not) give
    tomorrow = local + dt.timedelta(days=1)
    wd, wd_next = local.isoweekday() % 7, tomorrow.isoweekday() % 7
    at = f"{local.minute} {local.hour}"
    return {
        "now": f"{at} * * *",
        "other offset": f"{other.minute} {other.hour} * * *",
        "today's month-day": f"{at} {local.day} * *",
        "tomorrow's month-day": f"{at} {tomorrow.day} * *",
        "today's weekday": f"{at} * * {wd}",
        "tomorrow's weekday": f"{at} * * {wd_next}",
        "today's month": f"{at} * {local.month} *",
        "tomorrow's month-day or today's weekday": f"{at} {tomorrow.day} * {wd}",
    }


@pytest.mark.slow
def test_model_agrees_with_the_real_scheduler_live(pg_servers: Servers) -> None:
    """Jobs scheduled a minute ahead in cron.timezone, on every archive release: once with the
    matrix's Berlin and once with a zone that is in DST today, on its own cluster. Which ones run
    at that minute is what the pg_cron model says (the DST offset applied, no day-early shift, the
    DOM/DOW rule of the release and switch)."""
    archives = [a for a in matrix().values() if a is not None]
    if not archives:
        pytest.skip("no pg_cron archives named (PGBRIDGE_PGCRON_ARCHIVES)")
    now = dt.datetime.now(dt.timezone.utc)
    in_dst = next(z for z in DST_ZONES if now.astimezone(ZoneInfo(z)).dst())
    clusters = []
    servers = []
    try:
        for archive in archives:
            servers.append((archive.release, pg_servers.get(archive.release), MATRIX_CRON_ZONE))
            cluster = LocalCluster(
                bindir=server_tree(archive, find_bindir()),
                extra_settings={"cron.timezone": f"'{in_dst}'"},  # the DOM/DOW switch off
            )
            clusters.append(cluster.start())
            servers.append((archive.release, TestServer(cluster.dsn(), "live"), in_dst))
        start = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=30)
        t = start.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        planned = []
        for release, server, zone in servers:
            with server.connect(server.cron_database) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
                (and_on,) = conn.execute(
                    "SELECT coalesce(current_setting('cron.match_dom_and_dow', true), 'off') = 'on'"
                ).fetchone()  # type: ignore[misc]
                for label, expr in _live_jobs(zone, t).items():
                    name = f"pgbridge-live-{label.replace(' ', '-')}"
                    conn.execute("SELECT cron.schedule(%s, %s, 'SELECT 1')", [name, expr])
                    model = cron_fires_at(parse_cron(expr, release), t, zone, and_logic=and_on)
                    planned.append((release, zone, server, name, label, expr, model))
        time.sleep(max(0.0, (t - dt.datetime.now(dt.timezone.utc)).total_seconds()) + 20)
        seen = {}
        for release, zone, server, name, label, expr, model in planned:
            with server.connect(server.cron_database) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid) "
                    "WHERE j.jobname = %s AND d.start_time >= %s AND d.start_time < %s",
                    [name, t, t + dt.timedelta(minutes=1)],
                ).fetchone()
            assert row is not None
            seen[(release, zone, label)] = (bool(row[0]), model, expr)
        wrong = {k: v for k, v in seen.items() if v[0] != v[1]}
        assert wrong == {}, wrong
        for release, _, zone in servers:  # the test is not vacuous: both outcomes occur
            assert seen[(release, zone, "now")][0] and seen[(release, zone, "today's weekday")][0]
            assert not seen[(release, zone, "other offset")][0]
            assert not seen[(release, zone, "tomorrow's weekday")][0]
    finally:
        for _, server, _ in servers:
            with server.connect(server.cron_database) as conn:
                conn.execute("DELETE FROM cron.job WHERE jobname LIKE 'pgbridge-live-%'")
        for cluster in clusters:
            cluster.stop()
