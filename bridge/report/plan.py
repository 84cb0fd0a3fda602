"""The dry-run report of a :class:`~bridge.planner.types.Plan`: text, JSON, Markdown and a psql script.

Pure functions from a plan to text. The SQL script is what ``--format sql`` prints: a reviewable
psql script with the exact ``cron.schedule`` / ``cron.schedule_in_database`` calls, every value
quoted (names and schedules as literals, commands dollar-quoted byte for byte), and the findings as
comments, all written by :mod:`bridge.pg.quoting`. Text and Markdown reports go through
:func:`bridge.display.screen`, so names reach a terminal escaped.
"""

from __future__ import annotations

import json
from typing import Any

from bridge.display import screen, shown
from bridge.findings import Finding
from bridge.pg.quoting import comment
from bridge.planner.calls import create_statement
from bridge.planner.types import CronJobPlan, Plan
from bridge.report.history import history_line
from bridge.serialize import to_jsonable

FORMAT = "pgbridge-plan"

_ORDER = {"manual": 0, "changed": 1, "exact": 2, "skipped": 3}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _summary(plan: Plan) -> str:
    c = plan.counts()
    return (
        f"{c['jobs']} pgAgent jobs: {c['exact']} exact, {c['changed']} changed, "
        f"{c['manual']} manual, {c['skipped']} skipped; {c['cron_jobs']} pg_cron jobs to create"
    )


def _target(plan: Plan) -> str:
    t = plan.target
    how = t.how
    if t.release_range:  # the evidence left several releases: TARGET_RELEASE_RANGE says which
        how += f", most likely of {t.release_range}"
    return (
        f"pg_cron {t.release} ({how}), cron.timezone {t.timezone}, database {t.database}"
        + (", background workers" if t.background_workers else "")
        + (", cron.match_dom_and_dow on" if t.match_dom_and_dow else "")
    )


def _finding_line(f: Finding) -> str:
    where = []
    if f.step_id is not None:
        where.append(f"step {f.step_id}")
    if f.schedule_id is not None:
        where.append(f"schedule {f.schedule_id}")
    loc = f" [{', '.join(where)}]" if where else ""
    text = f"{f.severity.value} {f.code}{loc}: {_one_line(f.message)}"
    return text + (f" Remedy: {_one_line(f.remedy)}" if f.remedy else "")


def _cron_where(c: CronJobPlan) -> str:
    who = f" as {c.username}" if c.username else ""
    return f"in {c.database}{who}" + ("" if c.active else ", inactive")


# -- text ------------------------------------------------------------------------------------


def plan_text(plan: Plan) -> str:
    out = [
        _summary(plan),
        f"Source: {plan.source}; pgAgent zone {plan.agent_timezone} ({plan.agent_timezone_source})",
        f"Target: {_target(plan)}",
    ]
    out += [f"  ! {_finding_line(f)}" for f in plan.findings]
    for job in sorted(plan.jobs, key=lambda j: (_ORDER[j.status], j.job_id)):
        out.append("")
        out.append(f"[{job.status.upper()}] job {job.job_id}: {job.job_name}")
        if job.comment.strip():
            out.append(f"  comment: {_one_line(job.comment)}")
        if job.history is not None:
            out.append(f"  history: {history_line(job.history)}")
        for st in job.steps:
            out.append(f"  pgAgent step {st.id} {_one_line(st.name)!r}: {_one_line(st.comment)}")
        for s in job.schedules:
            out.append(f"  pgAgent schedule {s.id} {_one_line(s.name)!r}: {s.description}")
            if s.comment.strip():
                out.append(f"    comment: {_one_line(s.comment)}")
        for c in job.cron_jobs:
            first = c.command.strip().splitlines()[0] if c.command.strip() else ""
            out.append(f"  -> {c.name}: '{c.schedule}' {_cron_where(c)}: {first[:60]}")
            if c.guard is not None:
                out.append(f"     guard: {_one_line(c.guard.description)}")
        if job.status == "manual" and job.cron_jobs:
            out.append("     (manual: not created unless asked)")
        out += [f"  ! {_finding_line(f)}" for f in job.findings]
    return screen(out)


# -- JSON ------------------------------------------------------------------------------------


def plan_json(plan: Plan) -> dict[str, Any]:
    """The plan as a versioned document (``docs/plan-json.md`` describes it)."""
    doc = to_jsonable(plan)
    return {
        "format": FORMAT,
        "version": plan.format_version,
        "summary": plan.counts(),
        **{k: v for k, v in doc.items() if k != "format_version"},
    }


def plan_json_text(plan: Plan) -> str:
    return json.dumps(plan_json(plan), indent=2, ensure_ascii=False) + "\n"


# -- Markdown --------------------------------------------------------------------------------


def _md(text: str) -> str:
    return shown(text).replace("|", "\\|")


def plan_markdown(plan: Plan) -> str:
    c = plan.counts()
    out = [
        "# pgAgent to pg_cron migration plan",
        "",
        f"- Source: `{_md(plan.source)}` (pgAgent zone {plan.agent_timezone})",
        f"- Target: {_md(_target(plan))}",
        "",
        "| status | jobs |",
        "|---|---|",
        *(f"| {s} | {c[s]} |" for s in ("exact", "changed", "manual", "skipped")),
        f"| pg_cron jobs to create | {c['cron_jobs']} |",
        "",
    ]
    for job in sorted(plan.jobs, key=lambda j: (_ORDER[j.status], j.job_id)):
        out.append(f"## Job {job.job_id}: {_md(job.job_name)} ({job.status})")
        out.append("")
        if job.comment.strip():
            out += [f"> {_md(job.comment)}", ""]
        if job.history is not None:
            out += [f"- History: {_md(history_line(job.history))}"]
        for st in job.steps:
            out.append(f"- pgAgent step {st.id} *{_md(st.name)}*: {_md(st.comment)}")
        for s in job.schedules:
            note = f" ({_md(s.comment)})" if s.comment.strip() else ""
            out.append(f"- pgAgent schedule {s.id} *{_md(s.name)}*: {_md(s.description)}{note}")
        if job.cron_jobs:
            out += ["", "| pg_cron job | schedule | where |", "|---|---|---|"]
            out += [
                f"| `{c.name}` | `{c.schedule}` | {_md(_cron_where(c))} |" for c in job.cron_jobs
            ]
        if job.findings:
            out += [
                "",
                "| severity | code | concerns | finding | remedy |",
                "|---|---|---|---|---|",
            ]
            for f in job.findings:
                concerns = (
                    ", ".join(
                        x
                        for x in (
                            f"step {f.step_id}" if f.step_id is not None else "",
                            f"schedule {f.schedule_id}" if f.schedule_id is not None else "",
                        )
                        if x
                    )
                    or "job"
                )
                out.append(
                    f"| {f.severity.value} | `{f.code}` | {concerns} | {_md(f.message)} | "
                    f"{_md(f.remedy)} |"
                )
        out.append("")
    return screen(out).removesuffix("\n")  # the last line is empty: end with one newline


# -- SQL -------------------------------------------------------------------------------------


#: The first lines of every script: psql lexes it as UTF-8 whatever the locale says (a client
#: encoding such as SJIS would let a multibyte character swallow a quote), stops at the first
#: error, and reads backslashes in literals as plain characters.
SCRIPT_HEAD = ("\\encoding UTF8", "\\set ON_ERROR_STOP on", "SET standard_conforming_strings = on;")


def _comment(text: str) -> str:
    return comment(_one_line(text))


def plan_sql(plan: Plan) -> str:
    """A psql script creating exactly the planned pg_cron jobs, in one transaction."""
    out = [
        SCRIPT_HEAD[0],
        _comment(f"pgbridge migration plan (format {plan.format_version})"),
        _comment(_summary(plan)),
        _comment(f"source: {plan.source}; pgAgent zone {plan.agent_timezone}"),
        _comment(f"target: {_target(plan)}"),
        _comment(
            f"run in database {plan.target.database}: psql -v ON_ERROR_STOP=1 "
            f"-d {plan.target.database} -f this-file.sql"
        ),
        *SCRIPT_HEAD[1:],
        "BEGIN;",
    ]
    out += [_comment(f"{_finding_line(f)}") for f in plan.findings]
    for job in plan.jobs:
        out.append("")
        create = job.creates()
        state = "" if create or not job.cron_jobs else ", nothing created"
        out.append(_comment(f"job {job.job_id} {job.job_name!r}: {job.status}{state}"))
        for f in job.findings:
            out.append(_comment(_finding_line(f)))
            if f.detail:
                out += [_comment(f"  | {line}") for line in f.detail.splitlines()]
        if create:
            out += [create_statement(c, plan.target) for c in job.cron_jobs]
    out += ["", "COMMIT;", ""]
    return "\n".join(out)
