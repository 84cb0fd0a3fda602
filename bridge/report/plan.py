"""The dry-run report of a :class:`~bridge.planner.types.Plan`: text, JSON, Markdown and a psql script.

Pure functions from a plan to text. The SQL script is what ``--format sql`` prints: a reviewable
psql script with the exact ``cron.schedule`` / ``cron.schedule_in_database`` calls, every value
quoted (names and schedules as literals, commands dollar-quoted byte for byte), and the findings as
comments, all written by :mod:`bridge.pg.quoting`. Text and Markdown reports go through
:func:`bridge.display.screen`, so names reach a terminal escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.display import screen, shown
from bridge.findings import Finding, Severity
from bridge.pg.quoting import comment
from bridge.planner.calls import create_statement
from bridge.planner.types import CronJobPlan, JobPlan, Plan
from bridge.report.history import history_line
from bridge.report.layout import Lines, TextOptions, cut, plural
from bridge.schedule.preview import FireWeek
from bridge.serialize import to_jsonable

FORMAT = "pgbridge-plan"

_ORDER = {"manual": 0, "changed": 1, "exact": 2, "skipped": 3}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _summary(plan: Plan) -> str:
    c = plan.counts()
    return (
        f"{plural(c['jobs'], 'pgAgent job')}: {c['exact']} exact, {c['changed']} changed, "
        f"{c['manual']} manual, {c['skipped']} skipped; "
        f"{plural(c['cron_jobs'], 'pg_cron job')} to create"
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


def _where(f: Finding) -> str:
    where = []
    if f.step_id is not None:
        where.append(f"step {f.step_id}")
    if f.schedule_id is not None:
        where.append(f"schedule {f.schedule_id}")
    return f" [{', '.join(where)}]" if where else ""


def _finding_line(f: Finding) -> str:
    """One line per finding (SQL comments, run reports): the text reports use :func:`_finding`."""
    text = f"{f.severity.value} {f.code}{_where(f)}: {_one_line(f.message)}"
    return text + (f" Remedy: {_one_line(f.remedy)}" if f.remedy else "")


def finding_lines(f: Finding, indent: str = "  ") -> list[str]:
    """A finding in the line-by-line text reports (export, runs): the message, then the remedy
    on a line of its own (:func:`bridge.report.layout.wrap_report` wraps both)."""
    out = [f"{indent}! {f.severity.value} {f.code}{_where(f)}: {_one_line(f.message)}"]
    return out + ([f"{indent}    Remedy: {_one_line(f.remedy)}"] if f.remedy else [])


def _cron_where(c: CronJobPlan) -> str:
    who = f" as {c.username}" if c.username else ""
    return f"in {c.database}{who}" + ("" if c.active else ", inactive")


# -- findings by code ------------------------------------------------------------------------


@dataclass
class CodeGroup:
    """Every finding of one code in a plan: on which jobs, and whether they all say the same."""

    code: str
    severity: Severity
    findings: list[Finding]
    job_ids: list[int]

    @property
    def shared(self) -> bool:
        """The same message and remedy every time: said once, the jobs named by code."""
        texts = {(f.message, f.remedy) for f in self.findings}
        return len(self.findings) > 1 and len(texts) == 1


def code_groups(plan: Plan) -> list[CodeGroup]:
    """The job findings grouped by code, errors first, then by how many jobs they concern."""
    groups: dict[tuple[str, Severity], CodeGroup] = {}
    for job in plan.jobs:
        for f in job.findings:
            g = groups.setdefault((f.code, f.severity), CodeGroup(f.code, f.severity, [], []))
            g.findings.append(f)
            if not g.job_ids or g.job_ids[-1] != job.job_id:
                g.job_ids.append(job.job_id)
    return sorted(groups.values(), key=lambda g: (-g.severity.rank, -len(g.job_ids), g.code))


def _everywhere(plan: Plan, groups: list[CodeGroup]) -> set[str]:
    """Codes said identically on every job that gets pg_cron jobs (ROLE_APPLIER): the summary's."""
    with_cron = [j.job_id for j in plan.jobs if j.cron_jobs]
    return {g.code for g in groups if g.shared and len(with_cron) > 1 and g.job_ids == with_cron}


# -- text ------------------------------------------------------------------------------------


def _finding(w: Lines, f: Finding, indent: int, jobs: str = "") -> None:
    """A finding's message, then its remedy on its own indented line (``jobs``: a finding said
    once for several, which names no step or schedule)."""
    where = jobs or _where(f)
    w.add(f"{f.code}{where}: {_one_line(f.message)}", indent, head=f.severity.value)
    if f.remedy:
        w.add(f"Remedy: {_one_line(f.remedy)}", indent + 4, hang=8)


def _codes_table(w: Lines, plan: Plan, groups: list[CodeGroup]) -> None:
    names = {j.job_id: j.job_name for j in plan.jobs}
    code_w = max(len(g.code) for g in groups)
    count_w = max(len(str(len(g.job_ids))) for g in groups)
    if w.options.columns - (2 + 8 + 1 + code_w + 1 + max(count_w, 4) + 2) < 16:  # narrow
        for g in groups:
            first = _first_jobs(g.job_ids, names, w.options.columns - 10)
            w.add(f"{g.code}: {plural(len(g.job_ids), 'job')}: {first}", 2, head=g.severity.value)
        return
    w.raw(f"  {'severity':<8} {'code':<{code_w}} {'jobs':>{max(count_w, 4)}}  first jobs")
    for g in groups:
        lead = f"  {w.paint(g.severity.value)}{' ' * (8 - len(g.severity.value))} "
        lead += f"{g.code:<{code_w}} {len(g.job_ids):>{max(count_w, 4)}}  "
        room = w.options.columns - (2 + 8 + 1 + code_w + 1 + max(count_w, 4) + 2)
        w.raw(lead + _first_jobs(g.job_ids, names, max(room, 12)))


def _first_jobs(ids: list[int], names: dict[int, str], room: int) -> str:
    """The first job names that fit in ``room`` columns, and how many more."""
    shown_names: list[str] = []
    for n, job_id in enumerate(ids):
        more = f" (+{len(ids) - n} more)" if n else ""
        name = cut(f"{job_id} {names[job_id]}", 32)
        text = ", ".join([*shown_names, name])
        tail = f" (+{len(ids) - n - 1} more)" if n + 1 < len(ids) else ""
        if len(text + tail) > room or n == 3:
            return (", ".join(shown_names) + more) if shown_names else cut(name, room)
        shown_names.append(name)
    return ", ".join(shown_names)


def _job_text(
    w: Lines,
    job: JobPlan,
    said: set[str],
    everywhere: set[str],
    options: TextOptions,
    selected: bool = False,
) -> None:
    """One job's section; ``selected``: the dry run's --apply writes it (a manual job is
    selected only with --include-manual)."""
    w.add()
    w.add(f"job {job.job_id}: {job.job_name}", head=f"[{job.status.upper()}]")
    if job.comment.strip():
        w.add(f"comment: {_one_line(job.comment)}", 2)
    if job.history is not None:
        w.add(f"history: {history_line(job.history)}", 2)
    for st in job.steps:
        w.add(f"pgAgent step {st.id} {_one_line(st.name)!r}: {_one_line(st.comment)}", 2)
    for s in job.schedules:
        w.add(f"pgAgent schedule {s.id} {_one_line(s.name)!r}: {s.description}", 2)
        if s.comment.strip():
            w.add(f"comment: {_one_line(s.comment)}", 4)
    for c in job.cron_jobs:
        first = c.command.strip().splitlines()[0] if c.command.strip() else ""
        # one line: the command's first line is a preview, cut to the width (JSON and SQL hold it)
        w.raw(cut(f"  -> {c.name}: '{c.schedule}' {_cron_where(c)}: {first}", w.options.columns))
        if c.guard is not None:
            w.add(f"guard: {_one_line(c.guard.description)}", 5)
    if job.status == "manual" and job.cron_jobs:
        if selected:
            w.add("(manual: --apply creates it, as --include-manual asks)", 5)
        else:
            w.add("(manual: not created unless asked)", 5)
    also: list[str] = []
    for f in job.findings:
        if f.severity is Severity.INFO and not options.verbose:
            continue
        if f.code in said or f.code in everywhere:
            if f.code not in also:
                also.append(f.code)
            continue
        _finding(w, f, 2)
    if also:
        w.add(f"also: {', '.join(also)} (said above)", 2)
    if job.fire_week is not None:
        _week_text(w, job.fire_week)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _times(minutes: tuple[int, ...], room: int) -> str:
    """A day's fire times, or their count and span (or count) when they do not fit ``room``."""
    if not minutes:
        return "-"
    count = plural(len(minutes), "run")
    for text in (
        " ".join(_clock(m) for m in minutes),
        f"{count} {_clock(minutes[0])}..{_clock(minutes[-1])}",
        count,
    ):
        if len(text) <= room:
            return text
    return cut(count, room)


def _only(a: tuple[int, ...], b: tuple[int, ...], limit: int = 4) -> str:
    """The times of ``a`` that ``b`` lacks (the first ``limit``, and how many more)."""
    rest = sorted(set(a) - set(b))
    text = " ".join(_clock(m) for m in rest[:limit])
    return text + (f" (+{len(rest) - limit} more)" if len(rest) > limit else "")


def _week_text(w: Lines, week: FireWeek) -> None:
    """The first differing week as a small calendar: a row per day, both sides."""
    w.add(
        f"fire times first differ at {week.first_difference:%Y-%m-%d %H:%M} UTC; that week in "
        f"{week.zone} (* = differs):",
        2,
    )
    room = (w.options.columns - 19) // 2  # "  * Mon 2026-12-21 " and two columns
    w.raw(f"    {'':<14} {'pgAgent':<{room}} pg_cron")
    for d in week.days:
        mark = "*" if d.differs else " "
        w.raw(
            f"  {mark} {d.day:%a %Y-%m-%d} {_times(d.agent, room - 1):<{room}} "
            f"{_times(d.cron, room - 1)}"
        )
    for d in week.days:
        if d.differs:
            parts = [
                f"only pgAgent {_only(d.agent, d.cron)}" if set(d.agent) - set(d.cron) else "",
                f"only pg_cron {_only(d.cron, d.agent)}" if set(d.cron) - set(d.agent) else "",
            ]
            parts = [p for p in parts if p] or ["the same times, not the same count"]
            w.add(f"* {d.day:%a %Y-%m-%d}: {'; '.join(parts)}", 4)


def plan_text(
    plan: Plan, options: TextOptions | None = None, selected: Collection[int] | None = None
) -> str:
    """The report a DBA reads first: what needs a decision, then the jobs that need it.

    Exact and skipped jobs and info findings only with ``options.verbose``; a finding said the
    same way on several jobs is said once (on every job with a pg_cron job: in the summary).
    ``selected`` (a migrate dry run, issue 15): exactly these jobs, whatever their status, so the
    review before ``--apply`` names every pg_cron job it would write."""
    o = options or TextOptions()
    w = Lines(o)
    w.add(_summary(plan))
    w.add(
        f"Source: {plan.source}; pgAgent zone {plan.agent_timezone} ({plan.agent_timezone_source})",
        hang=8,
    )
    w.add(f"Target: {_target(plan)}", hang=8)
    groups = code_groups(plan)
    everywhere = _everywhere(plan, groups)
    if plan.findings or everywhere:
        w.add()
        w.add("For the whole plan:")
        for f in plan.findings:
            _finding(w, f, 2)
        for g in groups:
            if g.code in everywhere:
                every = f" (every job with a pg_cron job, {len(g.job_ids)})"
                _finding(w, g.findings[0], 2, every)
    listed = [g for g in groups if g.code not in everywhere]
    decisions = [g for g in listed if g.severity is not Severity.INFO]
    infos = [g for g in listed if g.severity is Severity.INFO]
    table = listed if o.verbose else decisions
    w.add()
    jobs_deciding = len({i for g in decisions for i in g.job_ids})
    w.add(
        f"Decisions needed: {plural(len(decisions), 'finding code')} on "
        f"{plural(jobs_deciding, 'job')}" + (":" if table else "")
    )
    if table:
        _codes_table(w, plan, table)
    if infos and not o.verbose:
        w.add(
            "info, shown with -v: "
            + ", ".join(f"{g.code} ({plural(len(g.job_ids), 'job')})" for g in infos),
            2,
        )
    said = {g.code for g in table if g.shared}
    if said:
        w.add()
        w.add("Said once for the jobs the table names:")
        for g in table:
            if g.shared:
                _finding(w, g.findings[0], 2, f" ({plural(len(g.job_ids), 'job')})")
    shown_status = ("manual", "changed", "exact", "skipped") if o.verbose else ("manual", "changed")
    for job in sorted(plan.jobs, key=lambda j: (_ORDER[j.status], j.job_id)):
        chosen = selected is not None and job.job_id in selected
        if chosen or (selected is None and job.status in shown_status):
            _job_text(w, job, said, everywhere, o, selected=chosen)
    if selected is not None:
        _not_selected(w, plan, selected, everywhere)
    elif not o.verbose:
        c = plan.counts()
        hidden = sum(
            1
            for j in plan.jobs
            for f in j.findings
            if f.severity is Severity.INFO and f.code not in everywhere
        )
        w.add()
        w.add(
            f"Not shown: {plural(c['exact'], 'exact job')}, {plural(c['skipped'], 'skipped job')}, "
            f"{plural(hidden, 'info finding')} (-v shows them; --format json holds everything)."
        )
    return w.text()


def _not_selected(w: Lines, plan: Plan, selected: Collection[int], everywhere: set[str]) -> None:
    """The footer of a dry run: the jobs it leaves alone, and the info findings -v would add."""
    left = sum(1 for j in plan.jobs if j.job_id not in selected)
    hidden = 0
    if not w.options.verbose:
        hidden = sum(
            1
            for j in plan.jobs
            if j.job_id in selected
            for f in j.findings
            if f.severity is Severity.INFO and f.code not in everywhere
        )
    if left or hidden:
        w.add()
        parts = [f"{plural(left, 'pgAgent job')} not selected"] if left else []
        parts += [f"{plural(hidden, 'info finding')} (-v shows them)"] if hidden else []
        w.add(f"Not shown: {', '.join(parts)}; --format json holds everything.")


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


#: Characters Markdown or HTML would read as markup, written as character references (which
#: GitHub and GitLab decode in table cells, in ``<summary>`` and in plain text alike).
#: An underscore inside a word (``pg_cron``) never emphasises in CommonMark: it stays as it is.
_MARKUP = re.compile(r"[&<>`*\[\]|~\\#]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def _md(text: str) -> str:
    """Catalog text for Markdown and HTML: escaped as every report escapes it, then every markup
    character as a character reference, so a name can neither format nor inject a tag."""
    return _MARKUP.sub(lambda m: f"&#{ord(m.group())};", shown(text))


def _md_findings(findings: Sequence[Finding]) -> list[str]:
    out = ["| severity | code | concerns | finding | remedy |", "|---|---|---|---|---|"]
    for f in findings:
        concerns = _where(f).strip(" []") or ("plan" if f.subject == "plan" else "job")
        out.append(
            f"| {f.severity.value} | `{f.code}` | {concerns} | {_md(f.message)} | {_md(f.remedy)} |"
        )
    return out


def _md_week(week: FireWeek) -> list[str]:
    """The first differing week as a table: a row per day, the differing days in bold."""
    out = [
        f"Fire times first differ at {week.first_difference:%Y-%m-%d %H:%M} UTC; that week in "
        f"{_md(week.zone)}:",
        "",
        "| day | pgAgent | pg_cron | only pgAgent | only pg_cron |",
        "|---|---|---|---|---|",
    ]
    for d in week.days:
        day = f"{d.day:%a %Y-%m-%d}"
        cells = [_times(d.agent, 40), _times(d.cron, 40)]
        only = (
            [_only(d.agent, d.cron) or "-", _only(d.cron, d.agent) or "-"]
            if d.differs
            else ["", ""]
        )
        out.append(f"| {f'**{day}**' if d.differs else day} | " + " | ".join(cells + only) + " |")
    return out


def _md_job(job: JobPlan) -> list[str]:
    title = f"{job.status.upper()}: job {job.job_id}: {_md(job.job_name)}"
    out = ["<details>", f"<summary>{title}</summary>", ""]
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
            f"| {_md(c.name)} | `{c.schedule}` | {_md(_cron_where(c))} |" for c in job.cron_jobs
        ]
    if job.findings:
        out += ["", *_md_findings(job.findings)]
    if job.fire_week is not None:
        out += ["", *_md_week(job.fire_week)]
    return [*out, "", "</details>", ""]


def plan_markdown(plan: Plan) -> str:
    """The plan for a change ticket: the summary, the decisions needed, a collapsed section per
    job (every finding of every job, in full)."""
    c = plan.counts()
    groups = code_groups(plan)
    everywhere = _everywhere(plan, groups)
    names = {j.job_id: j.job_name for j in plan.jobs}
    out = [
        "# pgAgent to pg_cron migration plan",
        "",
        f"- Source: {_md(plan.source)} (pgAgent zone {_md(plan.agent_timezone)})",
        f"- Target: {_md(_target(plan))}",
        "",
        "| status | jobs |",
        "|---|---|",
        *(f"| {s} | {c[s]} |" for s in ("exact", "changed", "manual", "skipped")),
        f"| pg_cron jobs to create | {c['cron_jobs']} |",
        "",
    ]
    every = [g.findings[0] for g in groups if g.code in everywhere]
    if plan.findings or every:
        out += ["## For the whole plan", "", *_md_findings([*plan.findings, *every]), ""]
    decisions = [g for g in groups if g.severity is not Severity.INFO and g.code not in everywhere]
    infos = [g for g in groups if g.severity is Severity.INFO and g.code not in everywhere]
    out += ["## Decisions needed", ""]
    if decisions:
        out += ["| severity | code | jobs | first jobs |", "|---|---|---|---|"]
        for g in decisions:
            first = ", ".join(f"{i} {_md(names[i])}" for i in g.job_ids[:5])
            more = f" (+{len(g.job_ids) - 5} more)" if len(g.job_ids) > 5 else ""
            out.append(f"| {g.severity.value} | `{g.code}` | {len(g.job_ids)} | {first}{more} |")
    else:
        out.append("None: every job migrates as it runs today.")
    if infos:
        out += [
            "",
            "Info findings: "
            + ", ".join(f"`{g.code}` ({plural(len(g.job_ids), 'job')})" for g in infos)
            + ".",
        ]
    out += ["", "## Jobs", ""]
    for job in sorted(plan.jobs, key=lambda j: (_ORDER[j.status], j.job_id)):
        out += _md_job(job)
    return screen(out).removesuffix("\n")  # the last line is empty: end with one newline


# -- SQL -------------------------------------------------------------------------------------


#: The first lines of every script: psql lexes it as UTF-8 whatever the locale says (a client
#: encoding such as SJIS would let a multibyte character swallow a quote), stops at the first
#: error, and reads backslashes in literals as plain characters.
SCRIPT_HEAD = ("\\encoding UTF8", "\\set ON_ERROR_STOP on", "SET standard_conforming_strings = on;")


def _comment(text: str) -> str:
    return comment(_one_line(text))


#: Plan findings whose error makes the script create nothing (not even the jobs it could).
STOPS_SCRIPT = frozenset({"TARGET_EXTENSION_OUTDATED"})


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
    # Calling cron.schedule would crash the server's backends: the script creates nothing.
    stopped = any(f.code in STOPS_SCRIPT and f.severity is Severity.ERROR for f in plan.findings)
    if stopped:
        out.append(_comment("nothing is created: the error above must be fixed first"))
    for job in plan.jobs:
        out.append("")
        create = job.creates() and not stopped
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
