"""The inventory report: what is in the pgAgent catalog (and on the pg_cron side), for people and tools.

Pure functions from a :class:`~bridge.model.Catalog` to text or a JSON-ready dict; the CLI prints them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bridge.display import screen
from bridge.model import Catalog, Diagnostic, Job, PgCronSide, Schedule, Step, StepKind
from bridge.report.history import history_line
from bridge.report.layout import plural
from bridge.schedule import describe_agent_schedule
from bridge.serialize import to_jsonable

FORMAT = "pgbridge-inventory"
#: 2: a schedule's ``description`` is the catalog's comment (``jscdesc``); pgbridge's words
#: for it moved to ``in_words``.
VERSION = 2


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return "-"
    if value.year in (1, 9999):
        return "-infinity" if value.year == 1 else "infinity"
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _first_line(text: str, width: int = 72) -> str:
    """The first meaningful line of a step's code (a script's ``#!`` line is skipped)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if len(lines) > 1 and lines[0].startswith("#!"):
        lines = lines[1:]
    if not lines:
        return "(empty)"
    head = lines[0]
    more = len(lines) > 1
    if len(head) > width:
        head, more = head[: width - 1], True
    return head + (" …" if more else "")


def _notes(diags: tuple[Diagnostic, ...], indent: str) -> list[str]:
    return [f"{indent}! {d.severity.value} {d.code}: {d.message}" for d in diags]


def _step_lines(n: int, step: Step) -> list[str]:
    if step.kind is StepKind.BATCH:
        target = "on the agent's host (shell)"
    elif step.connstr:
        target = f"connstr {step.connstr}"
    else:
        target = f"database {step.dbname or '-'}"
    state = "" if step.enabled else "  [disabled]"
    lines = [
        f"    {n}. {step.name}  ({step.kind.words}, {target}; on error: "
        f"{step.on_error.words}){state}",
        f"       {_first_line(step.code)}",
    ]
    if step.description.strip():
        lines.append(f"       comment: {_first_line(step.description)}")
    return lines + _notes(step.diagnostics, "       ")


def _schedule_lines(sched: Schedule) -> list[str]:
    # The description carries start, end, exceptions and "(disabled)" too.
    lines = [f"    - {sched.name}: {describe_agent_schedule(sched)}"]
    if sched.description.strip():
        lines.append(f"      comment: {_first_line(sched.description)}")
    return lines + _notes(sched.diagnostics, "      ")


def _job_lines(job: Job) -> list[str]:
    flags = ["enabled" if job.enabled else "disabled"]
    if job.running:
        flags.append(f"claimed by agent {job.agent_id}")
    if job.host_agent:
        flags.append(f"pinned to host {job.host_agent!r}")
    lines = [f"Job {job.id}: {job.name}  [{', '.join(flags)}]  class: {job.job_class}"]
    if job.description:
        lines.append(f"  {job.description}")
    lines.append(f"  next run: {_when(job.next_run)}   last run: {_when(job.last_run)}")
    if job.history is not None:
        lines.append(f"  history: {history_line(job.history)}")
    lines.append("  steps (in pgAgent's run order):" if job.steps else "  steps: none")
    for n, step in enumerate(job.steps, 1):
        lines += _step_lines(n, step)
    lines.append("  schedules:" if job.schedules else "  schedules: none (never runs)")
    for sched in job.schedules:
        lines += _schedule_lines(sched)
    return lines + _notes(job.diagnostics, "  ")


def _cron_zone(side: PgCronSide) -> str:
    if side.timezone is None:
        return "schedule time zone unknown (cron.* settings hidden from this role)"
    if "timezone" in side.capabilities:
        return f"schedules evaluated in {side.timezone} (cron.timezone)"
    return f"schedules evaluated in {side.timezone} (always GMT before 1.5)"


def _cron_lines(side: PgCronSide) -> list[str]:
    if side.extension_version is None:
        head = f"pg_cron: not created in database {side.database}"
    else:
        head = f"pg_cron: extension {side.extension_version} in database {side.database}"
    bgw = side.background_workers
    lines = [
        head,
        f"  binary: {'loaded' if side.loaded else 'NOT loaded'}, release >= {side.binary_at_least}"
        + (f", < {side.binary_below}" if side.binary_below else "")
        + "; "
        + _cron_zone(side),
        f"  cron.database_name: {side.database_name or 'unknown'}; background workers: "
        + ("unknown" if bgw is None else ("on" if bgw else "off")),
        f"  jobs: {len(side.jobs)}" + ("" if side.sees_all_jobs else " (only this role's jobs)"),
    ]
    for job in side.jobs:
        state = "" if job.active else " [inactive]"
        lines.append(
            f"    {job.id} {job.name or '(unnamed)'}: '{job.schedule}' in {job.database} as "
            f"{job.username}{state}: {_first_line(job.command, 50)}"
        )
    return lines + _notes(side.diagnostics, "  ")


def inventory_text(catalog: Catalog) -> str:
    """The readable terminal inventory."""
    out: list[str] = [f"Source: {catalog.origin}"]
    agent = catalog.pgagent
    if agent is not None:
        steps = sum(len(j.steps) for j in agent.jobs)
        scheds = sum(len(j.schedules) for j in agent.jobs)
        out.append(
            f"pgAgent: database {agent.database}, extension {agent.extension_version or 'none'}, "
            f"schema version {agent.schema_version}, pga_next_schedule body {agent.function_body}; "
            f"PostgreSQL {agent.server_version}"
        )
        out.append(f"  schedules evaluated in {agent.timezone} ({agent.timezone_source})")
        agents = ", ".join(f"{a.station} (pid {a.pid})" for a in agent.agents) or "none registered"
        out.append(f"  agents: {agents}")
        out += _notes(agent.diagnostics, "  ")
        out.append(
            f"  {plural(len(agent.jobs), 'job')}, {plural(steps, 'step')}, "
            f"{plural(scheds, 'schedule')}"
        )
    if catalog.pgcron is not None:
        out += _cron_lines(catalog.pgcron)
    if agent is not None:
        for job in agent.jobs:
            out.append("")
            out += _job_lines(job)
    return screen(out)


def inventory_json(catalog: Catalog) -> dict[str, Any]:
    """The inventory as a versioned JSON document: the catalog plus plain-words schedules."""
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "catalog": to_jsonable(catalog)}
    agent = doc["catalog"]["pgagent"]
    if agent is not None and catalog.pgagent is not None:
        for job_doc, job in zip(agent["jobs"], catalog.pgagent.jobs, strict=True):
            for sched_doc, sched in zip(job_doc["schedules"], job.schedules, strict=True):
                sched_doc["in_words"] = describe_agent_schedule(sched)
    return doc
