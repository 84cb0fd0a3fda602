"""The reverse export, pure part: pg_cron jobs -> pgAgent job definitions, with findings.

Two paths. A pg_cron job that pgbridge's own migration created is given back as the pgAgent job
it came from, exactly, from the definition kept in the ledger (several pg_cron jobs of one
pgAgent job become that one job again). Any other pg_cron job is translated: its schedule by the
schedule engine (``cron_to_agent``: one or more pgAgent schedules whose union is exact, in
pgAgent's zone), its command as one SQL step with the ``f`` (stop) policy, its database as the
step's database, a ``nodename``/``nodeport`` of another server as the step's connection string.
What pgAgent cannot do is a finding, as in the plan.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bridge.apply.selection import check_selectors, matches
from bridge.catalog.timezones import check_zone
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.findings import Finding, Severity, Status, count_statuses, status_of
from bridge.model import CronJob, Job, OnError, PgCronSide, StepKind
from bridge.naming import catalog_tag, content_hash
from bridge.pg import conninfo
from bridge.pg.conninfo import LOCAL_HOSTS
from bridge.pg.quoting import literal
from bridge.planner.guard import guard_words
from bridge.planner.target import Target, target_from
from bridge.progress import SILENT, Progress, tracked
from bridge.schedule import (
    AgentSchedule,
    CronSyntaxError,
    CronTarget,
    cron_to_agent,
    cron_version,
    parse_cron,
)
from bridge.schedule.masks import values_of

#: Exported schedules start in the past: pg_cron jobs have no start date.
EXPORT_START = "2000-01-01 00:00:00+00"
MARKER = "[pgbridge export {key}]"  # the key is JSON-quoted: no tag is a prefix of another


def marker(key: str) -> str:
    """The tag an exported job carries in its description, so re-exports replace it."""
    return MARKER.format(key=json.dumps(key, ensure_ascii=False))


@dataclass(frozen=True)
class ExportedJob:
    """One pgAgent job to create, from one or more pg_cron jobs."""

    key: str
    cron_jobs: tuple[int, ...]
    status: Status
    origin: str  # "ledger" (the original definition) or "translated"
    job: JobSpec | None
    findings: tuple[Finding, ...] = ()
    #: the pgAgent job it came from (ledger origin)
    pgagent_job_id: int | None = None
    #: the job's name (also when no pgAgent job can be made of it)
    name: str = ""
    #: the identity of the pgAgent catalog it came from (ledger origin)
    catalog: str | None = None
    #: the tag pgbridge 0.1.0 gave the same export (no catalog in it), replaced when the name matches
    legacy_key: str | None = None


@dataclass(frozen=True)
class LedgerOrigin:
    """What the ledger says about a pg_cron job pgbridge's migration created."""

    #: identity of the pgAgent catalog the job came from (``PgAgentCatalog.identity``)
    catalog: str
    pgagent_job_id: int
    #: the pgAgent job's definition as it was migrated
    job: Job
    #: its enabled state before the migration
    enabled: bool
    #: the content hash pgbridge gave the pg_cron job (a different one: edited since)
    content_hash: str


def ledger_key(catalog: str, pgagent_job_id: int) -> str:
    """The export tag of a migrated pgAgent job: its catalog's tag and its id."""
    return f"pgagent:{catalog_tag(catalog)}:{pgagent_job_id}"


@dataclass(frozen=True)
class ExportPlan:
    source: str
    agent_timezone: str
    release: str
    jobs: tuple[ExportedJob, ...]
    findings: tuple[Finding, ...] = ()

    def counts(self) -> dict[str, int]:
        return count_statuses(j.status for j in self.jobs)

    def all_findings(self) -> list[Finding]:
        return list(self.findings) + [f for j in self.jobs for f in j.findings]


def _status(findings: Sequence[Finding], job: JobSpec | None) -> Status:
    return status_of(findings, job is not None)


def _finding(code: str, severity: Severity, message: str, remedy: str, cron_id: int) -> Finding:
    # Findings of an export concern a pg_cron job: its id stands where the plan has a pgAgent job.
    return Finding(code, severity, message, remedy, cron_id)


def schedule_spec(agent: AgentSchedule, name: str) -> ScheduleSpec:
    """A pgAgent schedule (pgAdmin's numbering) from the engine's masks."""
    days = set(values_of(agent.monthdays)) | ({32} if agent.last_day else set())
    return ScheduleSpec(
        name,
        start=EXPORT_START,
        minutes=frozenset(values_of(agent.minutes)),
        hours=frozenset(values_of(agent.hours)),
        weekdays=frozenset(values_of(agent.weekdays)),
        monthdays=frozenset(days),
        months=frozenset(values_of(agent.months)),
    )


def job_spec_from_model(job: Job, key: str, enabled: bool) -> JobSpec:
    """The original pgAgent job again (as recorded in the ledger), tagged for re-exports."""
    steps = [
        StepSpec(
            s.name,
            s.code,
            kind="b" if s.kind is StepKind.BATCH else "s",
            dbname=s.dbname,
            connstr=conninfo.without_secrets(s.connstr),  # the masked value must not be sent
            on_error=s.on_error.value if s.on_error is not OnError.UNKNOWN else "f",
            enabled=s.enabled,
            description=s.description,
        )
        for s in job.steps
    ]
    schedules = [
        ScheduleSpec(
            s.name,
            start=(s.start or dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)).isoformat(sep=" "),
            end=s.end.isoformat(sep=" ") if s.end else None,
            minutes=frozenset(i for i, v in enumerate(s.minutes) if v),
            hours=frozenset(i for i, v in enumerate(s.hours) if v),
            weekdays=frozenset(i for i, v in enumerate(s.weekdays) if v),
            monthdays=frozenset(d for d, v in enumerate(s.monthdays, 1) if v),
            months=frozenset(m for m, v in enumerate(s.months, 1) if v),
            enabled=s.enabled,
            description=s.description,
            exceptions=tuple((e.date, e.time) for e in s.exceptions),
        )
        for s in job.schedules
    ]
    description = (job.description + " " if job.description else "") + marker(key)
    return JobSpec(
        job.name,
        steps,
        schedules,
        job_class_name=job.job_class,
        description=description,
        host_agent=job.host_agent,
        enabled=enabled,
    )


def _translate(cron: CronJob, source: CronTarget, agent_zone: str, inactive: bool) -> ExportedJob:
    key = f"cron:{cron.username}/{cron.name or '#' + str(cron.id)}"
    name = cron.name or f"pg_cron job {cron.id}"
    found: list[Finding] = []

    def add(code: str, severity: Severity, message: str, remedy: str = "") -> None:
        found.append(_finding(code, severity, message, remedy, cron.id))

    guarded = guard_words(cron.command)
    if guarded is not None:
        add(
            "EXPORT_GUARDED_COMMAND",
            Severity.ERROR,
            f"the command starts with a pgbridge guard ({guarded}); its schedule is a superset "
            "and the guard decides when the steps run, so exporting it as step code would be "
            "wrong; nothing is exported for it",
            "export it with the pgAgent catalog it was migrated from (its ledger gives the "
            "original job back), or recreate the pgAgent job from the guard's description",
        )
        return ExportedJob(
            key, (cron.id,), _status(found, None), "translated", None, tuple(found), name=name
        )
    try:
        result = cron_to_agent(cron.schedule, source=source, agent_zone=agent_zone)
    except CronSyntaxError as exc:
        # pg_cron never runs such a job: TupleToCronJob (job_metadata.c) zeroes its schedule
        add(
            "EXPORT_SCHEDULE_INVALID",
            Severity.ERROR,
            f"pg_cron {source.version} cannot parse the schedule {cron.schedule!r} ({exc}), so it "
            "never runs this job; nothing is exported for it",
            "fix the schedule with cron.alter_job, or leave the job out (--exclude)",
        )
        return ExportedJob(key, (cron.id,), _status(found, None), "translated", None, tuple(found))
    for f in result.findings:
        add(f.code, f.severity, f.message, f.remedy)
    if not result.schedules:
        if not any(f.severity is Severity.ERROR for f in found):
            add(
                "EXPORT_NOTHING_TO_SCHEDULE",
                Severity.ERROR,
                f"no pgAgent schedule can express {cron.schedule!r} (for example 29 February "
                "alone, which pgAgent rejects in common years)",
                "schedule it by hand in pgAgent, or keep it in pg_cron",
            )
        return ExportedJob(
            key, (cron.id,), _status(found, None), "translated", None, tuple(found), name=name
        )
    if not result.exact and not any(f.severity is Severity.ERROR for f in found):
        add(
            "EXPORT_SCHEDULE_NOT_EXACT",
            Severity.WARNING,
            f"the pgAgent schedules for {cron.schedule!r} do not fire at exactly the same times",
            "read the schedule findings; adjust the exported schedules by hand",
        )
    connstr = ""
    if cron.nodename not in LOCAL_HOSTS:
        connstr = conninfo.redact(
            f"host={cron.nodename} port={cron.nodeport} dbname={cron.database} user={cron.username}"
        )
        add(
            "EXPORT_REMOTE_NODE",
            Severity.WARNING,
            f"the pg_cron job connects to {cron.nodename}:{cron.nodeport}; the pgAgent step gets "
            "that connection string (pgAgent needs ~/.pgpass or trust for it)",
            "check that the pgAgent host can reach that server",
        )
    add(
        "EXPORT_ROLE",
        Severity.INFO,
        f"pg_cron ran the command as {cron.username!r}; pgAgent runs SQL steps as its own login "
        "role",
        "give the pgAgent role what the command needs, or SET ROLE in the command",
    )
    step = StepSpec("command", cron.command, dbname=cron.database, connstr=connstr, on_error="f")
    schedules = [
        schedule_spec(s, f"{cron.schedule}" + (f" ({n})" if len(result.schedules) > 1 else ""))
        for n, s in enumerate(result.schedules, 1)
    ]
    spec = JobSpec(
        name,
        [step],
        schedules,
        description=f"pg_cron job {cron.id} '{cron.schedule}' " + marker(key),
        enabled=cron.active and not inactive,
    )
    if len(schedules) > 1:
        add(
            "EXPORT_SEVERAL_SCHEDULES",
            Severity.INFO,
            f"{cron.schedule!r} needs {len(schedules)} pgAgent schedules (pgAgent ANDs month-days "
            "and weekdays, pg_cron ORs them; days 29-31 only in months that have them)",
        )
    return ExportedJob(
        key, (cron.id,), _status(found, spec), "translated", spec, tuple(found), name=name
    )


def _wall_clock(schedule: str, source: CronTarget) -> bool:
    """True when the schedule fires at wall-clock times, which always depend on pgAgent's zone:
    even `* * * * *` does, since pgAgent fires an ambiguous wall time once on a fall-back day
    while pg_cron in UTC fires every minute (pga_next_schedule works in local timestamps)."""
    try:
        return bool(parse_cron(schedule, source.version).slots(and_logic=source.and_logic))
    except CronSyntaxError:
        return False  # nothing is scheduled: the translation's own findings say so


def _assumed_zone(job: ExportedJob, side: PgCronSide, source: CronTarget, zone: str) -> ExportedJob:
    """A translation made for an assumed pgAgent zone is exact only if no zone could change it."""
    crons = {c.id: c for c in side.jobs}
    if job.origin != "translated" or job.job is None:
        return job
    if not any(_wall_clock(crons[i].schedule, source) for i in job.cron_jobs):
        return job
    note = _finding(
        "EXPORT_ZONE_DEPENDS",
        Severity.WARNING,
        f"the pgAgent schedules were computed for a pgAgent evaluating them in {zone} (assumed: "
        "no --pgagent, no --timezone); in any other zone they fire at other instants",
        "pass --pgagent (its TimeZone is detected) or --timezone",
        job.cron_jobs[0],
    )
    findings = (*job.findings, note)
    return replace(job, status=_status(findings, job.job), findings=findings)


def _both_active(job: ExportedJob, active: set[int]) -> ExportedJob:
    """An enabled export of a still-active pg_cron job means both schedulers would run it."""
    if job.job is None or not job.job.enabled or not active & set(job.cron_jobs):
        return job
    note = _finding(
        "EXPORT_BOTH_SCHEDULERS",
        Severity.WARNING,
        "the pgAgent job is created enabled while its pg_cron job is active: both would run it",
        "export with --inactive and switch over by hand, or deactivate the pg_cron job "
        "(cron.alter_job(jobid, active := false)) when pgAgent takes over",
        job.cron_jobs[0],
    )
    findings = (*job.findings, note)
    return replace(job, status=_status(findings, job.job), findings=findings)


def make_export(
    side: PgCronSide,
    *,
    agent_zone: str,
    release: str | None = None,
    ledger_jobs: dict[int, LedgerOrigin] | None = None,
    inactive: bool = False,
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
    zone_assumed: bool = False,
    progress: Progress = SILENT,
) -> ExportPlan:
    """Plan the export of ``side``'s jobs into a pgAgent catalog evaluated in ``agent_zone``
    (``zone_assumed``: a guess, so translations that depend on it are not exact).

    ``ledger_jobs`` maps a pg_cron job id to what the ledger says about it, for jobs pgbridge's
    migration created; pg_cron jobs of one pgAgent job of one catalog become that job again (the
    same job id in another catalog is another job). A job edited since is translated as it is now.
    ``select`` / ``exclude`` name pg_cron jobs by id or name; one that names none is refused.
    ``progress`` is told of each pg_cron job done.
    """
    check_zone(agent_zone, "pgAgent time zone", "pass --timezone with an IANA name")
    # the release and zone the jobs were written for, read as the plan reads its target
    target = target_from(side, release=release, zone_fix="fix cron.timezone: use an IANA name")
    source = target.cron_target()
    ledger_jobs = ledger_jobs or {}

    def keys(cron: CronJob) -> set[str]:
        return {str(cron.id)} | ({cron.name} if cron.name else set())

    known = (k for cron in side.jobs for k in keys(cron))
    check_selectors((*select, *exclude), known, "pg_cron job")
    jobs: list[ExportedJob] = []
    restored: dict[tuple[str, int], list[int]] = {}
    for cron in tracked(progress, "translating", side.jobs, len(side.jobs), "jobs"):
        if not matches(select, exclude, keys(cron)):
            continue
        origin = ledger_jobs.get(cron.id)
        if origin is not None:
            now = content_hash(cron.schedule, cron.command, cron.database, cron.username)
            if now == origin.content_hash:
                restored.setdefault((origin.catalog, origin.pgagent_job_id), []).append(cron.id)
                continue
            edited = _translate(cron, source, agent_zone, inactive)
            note = _finding(
                "EXPORT_EDITED_SINCE",
                Severity.INFO,
                "pgbridge created this pg_cron job, but it was changed since: it is exported as "
                "it is now, not as the original pgAgent job",
                "",
                cron.id,
            )
            jobs.append(replace(edited, findings=(*edited.findings, note)))
            continue
        jobs.append(_translate(cron, source, agent_zone, inactive))
    for (catalog, pgagent_id), cron_ids in restored.items():
        first = ledger_jobs[cron_ids[0]]
        original, was_enabled = first.job, first.enabled
        key = ledger_key(catalog, pgagent_id)
        found = [
            _finding(
                "EXPORT_FROM_LEDGER",
                Severity.INFO,
                f"pg_cron job(s) {', '.join(map(str, cron_ids))} came from pgAgent job "
                f"{pgagent_id} ({original.name!r}) of catalog {catalog} (tag "
                f"{catalog_tag(catalog)}); its original definition is given back",
                "",
                cron_ids[0],
            )
        ]
        if any(s.connstr_had_password for s in original.steps):
            found.append(
                _finding(
                    "EXPORT_PASSWORD_LOST",
                    Severity.WARNING,
                    "a step's connection string had a password, which pgbridge never stored",
                    "put the password in the pgAgent host's ~/.pgpass",
                    cron_ids[0],
                )
            )
        spec = job_spec_from_model(original, key, was_enabled and not inactive)
        if any(d and t for s in spec.schedules for d, t in s.exceptions):
            found.append(
                _finding(
                    "EXPORT_EXCEPTION_UNIQUE",
                    Severity.INFO,
                    "pgAgent keeps each date+time exception once in the whole catalog: where "
                    "another schedule already holds one, the exported schedule goes without it "
                    "(the SQL script skips such rows; --apply reports each)",
                    "",
                    cron_ids[0],
                )
            )
        jobs.append(
            ExportedJob(
                key, tuple(cron_ids), _status(found, spec), "ledger", spec, tuple(found),
                pgagent_id, original.name, catalog, f"pgagent:{pgagent_id}",
            )
        )  # fmt: skip
    active = {c.id for c in side.jobs if c.active}
    if zone_assumed:
        jobs = [_assumed_zone(j, side, source, agent_zone) for j in jobs]
    jobs = [_both_active(j, active) for j in jobs]
    general = [
        Finding(
            "EXPORT_OVERLAP_SKIPS",
            Severity.INFO,
            "pgAgent skips occurrences that fall due while a job still runs (pg_cron queued them) "
            "and runs a job once after downtime (pg_cron did not)",
            "",
            0,
        )
    ]
    if not side.sees_all_jobs:
        general.append(
            Finding(
                "EXPORT_PARTIAL",
                Severity.WARNING,
                "row-level security showed this role only its own pg_cron jobs; other users' jobs "
                "are not exported",
                "export as a superuser (or a BYPASSRLS role)",
                0,
            )
        )
    general += _release_findings(side, source, target, agent_zone)
    return ExportPlan(side.database, agent_zone, source.version.name, tuple(jobs), tuple(general))


def _release_findings(
    side: PgCronSide, source: CronTarget, target: Target, agent_zone: str
) -> list[Finding]:
    """As in the plan: one finding for an unknown newer release, one for a range left open."""
    out = []
    if source.version.newer_than_known:
        out.append(
            Finding(
                "EXPORT_RELEASE_NEWER",
                Severity.WARNING,
                f"pg_cron {source.version.name} is newer than any release pgbridge knows; its "
                "schedules are read with the newest known release's rules",
                "check its release notes for schedule changes, or upgrade pgbridge",
                0,
            )
        )
    if not target.other_releases:
        return out
    differ = []
    for other in target.other_releases:
        alt = replace(source, version=cron_version(other))
        ids = [
            c.id
            for c in side.jobs
            if _outcome(_translate(c, alt, agent_zone, False))
            != _outcome(_translate(c, source, agent_zone, False))
        ]
        differ.append(
            f"on {other}: "
            + (
                f"pg_cron jobs {', '.join(map(str, ids))} export differently"
                if ids
                else "no change"
            )
        )
    out.append(
        Finding(
            "EXPORT_RELEASE_RANGE",
            Severity.WARNING if any("differently" in d for d in differ) else Severity.INFO,
            f"the server's pg_cron release is {target.release_range}; read as "
            f"{target.release}, the most likely; {'; '.join(differ)}",
            "give the exact release with --target-pg-cron X.Y.Z",
            0,
        )
    )
    return out


def _outcome(job: ExportedJob) -> tuple[object, ...]:
    return (job.status, job.job, tuple(sorted(f.code for f in job.findings)))


@dataclass(frozen=True)
class ExportResult:
    plan: ExportPlan
    applied: bool
    #: (tag, pgAgent job id created) for every job written
    created: tuple[tuple[str, int], ...] = ()
    #: tags whose earlier export was replaced
    replaced: tuple[str, ...] = ()
    #: what writing revealed (exceptions another schedule already holds)
    notes: tuple[Finding, ...] = ()


def writable(job: ExportedJob) -> bool:
    return job.job is not None and job.status in ("exact", "changed")


def replace_sql(job: ExportedJob) -> str:
    """Remove an earlier export of the same job (found by its tag; an export by pgbridge 0.1.0,
    whose tag names no catalog, when its name is also the same)."""
    sql = f"DELETE FROM pgagent.pga_job WHERE strpos(jobdesc, {literal(marker(job.key))}) > 0"
    if job.legacy_key is not None and job.job is not None:
        sql += (
            f" OR (strpos(jobdesc, {literal(marker(job.legacy_key))}) > 0"
            f" AND jobname = {literal(job.job.name)})"
        )
    return sql + ";"
