"""Reports of the reverse export: text, JSON, and the psql script (``--format sql``)."""

from __future__ import annotations

import json

from bridge.display import screen
from bridge.exporter.pgagent_sql import ScheduleSpec, job_sql
from bridge.exporter.translate import ExportPlan, ExportResult, replace_sql, writable
from bridge.model import StepKind
from bridge.report.layout import plural
from bridge.report.plan import SCRIPT_HEAD, _comment, finding_lines
from bridge.schedule import describe_agent_schedule
from bridge.schedule.agent import AgentSchedule
from bridge.schedule.masks import mask_of
from bridge.serialize import to_jsonable

FORMAT = "pgbridge-export"
VERSION = 1


def _summary(plan: ExportPlan) -> str:
    c = plan.counts()
    return (
        f"{plural(c['jobs'], 'pgAgent job')} from pg_cron ({plan.source}, pg_cron {plan.release}): "
        f"{c['exact']} exact, {c['changed']} changed, {c['manual']} manual, {c['skipped']} "
        f"skipped; schedules for a pgAgent in {plan.agent_timezone}"
    )


def _agent(s: ScheduleSpec) -> str:
    """The exported schedule in plain words (the engine's describer)."""
    agent = AgentSchedule(
        minutes=mask_of(s.minutes),
        hours=mask_of(s.hours),
        weekdays=mask_of(s.weekdays),
        monthdays=mask_of(v for v in s.monthdays if v <= 31),
        last_day=32 in s.monthdays,
        months=mask_of(s.months),
    )
    return describe_agent_schedule(agent)


def export_text(result: ExportResult) -> str:
    plan = result.plan
    out = [_summary(plan)]
    out += [line for f in plan.findings for line in finding_lines(f)]
    for job in plan.jobs:
        out.append("")
        crons = ", ".join(map(str, job.cron_jobs))
        out.append(f"[{job.status.upper()}] {job.name}  (pg_cron job {crons}; {job.origin})")
        if job.job is not None:
            for s in job.job.schedules:
                out.append(f"  pgAgent schedule {s.name!r}: {_agent(s)}")
            for st in job.job.steps:
                where = st.connstr or st.dbname or "the agent's host"
                out.append(
                    f"  step {st.name!r} ({StepKind(st.kind).words}, {where}, on error {st.on_error})"
                )
        out += [line for f in job.findings for line in finding_lines(f)]
    if result.applied:
        out += [
            "",
            f"export: {plural(len(result.created), 'pgAgent job')} written, "
            f"{plural(len(result.replaced), 'earlier export')} replaced",
        ]
        out += [f"  {key}: pgAgent job {jobid}" for key, jobid in result.created]
        out += [line for f in result.notes for line in finding_lines(f)]
    return screen(out)


def export_sql(plan: ExportPlan) -> str:
    """A psql script creating the exported pgAgent jobs (and replacing earlier exports)."""
    c = plan.counts()
    out = [
        SCRIPT_HEAD[0],
        _comment(
            f"pgbridge export of pg_cron jobs ({plan.source}, pg_cron {plan.release}) to pgAgent"
        ),
        _comment(
            f"{c['jobs']} jobs: {c['exact']} exact, {c['changed']} changed, {c['manual']} manual, "
            f"{c['skipped']} skipped; schedules for a pgAgent evaluating them in {plan.agent_timezone}"
        ),
        *SCRIPT_HEAD[1:],
        "BEGIN;",
    ]
    for f in plan.findings:
        out.append(_comment(f"{f.severity.value} {f.code}: {f.message}"))
    for job in plan.jobs:
        out.append("")
        head = f"{job.key} (pg_cron job(s) {', '.join(map(str, job.cron_jobs))}): {job.status}"
        out.append(_comment(head))  # one line: a job name cannot break out of the comment
        for f in job.findings:
            out.append(_comment(f"{f.severity.value} {f.code}: {f.message}"))
        if writable(job):
            assert job.job is not None
            out += [replace_sql(job), job_sql(job.job, skip_taken_exceptions=True)]
    out += ["", "COMMIT;", ""]
    return "\n".join(out)


def export_json(result: ExportResult) -> str:
    doc = {"format": FORMAT, "version": VERSION, **to_jsonable(result)}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
