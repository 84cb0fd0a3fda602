"""``verify --runs``: one line (text) or one table row (Markdown) per migrated pg_cron job."""

from __future__ import annotations

from bridge.apply.results import RunCheck, Verification
from bridge.display import screen, shown
from bridge.planner.history import seconds
from bridge.report.plan import _finding_line, _md


def run_check_line(c: RunCheck) -> str:
    """What pg_cron's log says about one job since it took over, in one line."""
    judged = ", guarded: by pgAgent's fire times" if c.guard_rule in ("ledger", "catalog") else ""
    head = (
        f"{c.cron_job} ({c.schedule!r}{judged}, pgAgent job {c.pgagent_job_id}) since "
        f"{c.since:%Y-%m-%d %H:%M} UTC: {c.expected} expected, {c.ran} ran, {c.missed} missed, "
        f"{c.extra} extra, {c.failed} failed"
        f"{f', {c.skipped} skipped by the guard' if c.skipped else ''}"
        f"{f', {c.skipped_fire} skipped at pgAgent fire times' if c.skipped_fire else ''}"
        f"; duration median {seconds(c.median_seconds)}, p95 "
        f"{seconds(c.p95_seconds)} (pgAgent: median {seconds(c.pgagent_median_seconds)}, p95 "
        f"{seconds(c.pgagent_p95_seconds)})"
    )
    return head + (f"; {c.evidence}" if c.evidence else "")


def runs_lines(v: Verification) -> list[str]:
    return [shown(f"  runs: {run_check_line(c)}") for c in v.runs]


def verification_markdown(v: Verification) -> str:
    out = [
        "# pgbridge verify",
        "",
        f"{v.checked} pg_cron jobs checked: "
        + ("all match the plan" if v.ok else "**DRIFT found**"),
        "",
    ]
    if v.runs:
        out += [
            "| pg_cron job | schedule | since (UTC) | expected | ran | missed | extra | failed "
            "| skipped (at fire times) | median | p95 | pgAgent p95 | evidence |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        out += [
            f"| `{_md(c.cron_job)}` | `{_md(c.schedule)}` | {c.since:%Y-%m-%d %H:%M} | "
            f"{c.expected} | {c.ran} | {c.missed} | {c.extra} | {c.failed} | "
            f"{c.skipped} ({c.skipped_fire}) | {seconds(c.median_seconds)} | {seconds(c.p95_seconds)} | "
            f"{seconds(c.pgagent_p95_seconds)} | {_md(c.evidence) or 'complete'} |"
            for c in v.runs
        ]
        out.append("")
    out += [f"- {_md(_finding_line(f))}" for f in v.findings]
    return screen(out)
