"""Reports of migrate / activate / rollback / verify runs (text and JSON)."""

from __future__ import annotations

import json
from collections import Counter

from bridge.apply.results import MigrationResult, Verification
from bridge.display import screen, shown
from bridge.findings import Finding
from bridge.report.layout import TextOptions, plural, wrap_report
from bridge.report.plan import finding_lines, plan_text
from bridge.report.runs import runs_lines
from bridge.serialize import to_jsonable

FORMAT = "pgbridge-run"
VERSION = 1
#: verify has its own layout (issue 15; before, it reused ``pgbridge-run``)
VERIFY_FORMAT = "pgbridge-verify"
VERIFY_VERSION = 1

_WORDS = {  # action -> (what, what happened to it)
    "create": ("pg_cron job", "created"),
    "update": ("pg_cron job", "updated in place"),
    "unchanged": ("pg_cron job", "already as planned"),
    "skip": ("pg_cron job", "left alone"),
    "remove": ("pg_cron job", "removed (no longer planned)"),
    "activate": ("pg_cron job", "activated"),
    "deactivate": ("pg_cron job", "made inactive"),
    "disable-pgagent": ("pgAgent job", "disabled"),
    "restore-pgagent": ("pgAgent job", "restored to its enabled state"),
    "unschedule": ("pg_cron job", "unscheduled"),
}


def _counted(action: str, n: int) -> str:
    noun, verb = _WORDS.get(action, ("change", action))
    return f"{n} {noun}{'' if n == 1 else 's'} {verb}"


def verification_lines(v: Verification) -> list[str]:
    head = f"verify: {plural(v.checked, 'pg_cron job')} checked, " + (
        "all match the plan" if v.ok else "DRIFT found"
    )
    return [head, *runs_lines(v)] + [shown(line) for f in v.findings for line in finding_lines(f)]


def _findings(found: tuple[Finding, ...]) -> list[str]:
    return [line for f in found for line in finding_lines(f)]


def run_text(result: MigrationResult, what: str, options: TextOptions | None = None) -> str:
    """A run as text: a dry run shows the plan with every selected job and its pg_cron jobs
    (what ``--apply`` would write, issue 15); a real one what it did. Wrapped by ``options``."""
    o = options or TextOptions()
    if not result.applied and result.plan is not None:
        head = plan_text(result.plan, o, selected=result.selected)  # laid out and screened
        planned = [j for j in result.plan.jobs if j.job_id in result.selected]
        jobs = sum(len(j.cron_jobs) for j in planned)
        tail = [
            "",
            f"Dry run: nothing changed. {what} --apply would create or update "
            f"{plural(jobs, 'pg_cron job')} for {plural(len(planned), 'pgAgent job')} "
            f"({', '.join(str(j.job_id) for j in planned) or 'none'}).",
        ]
        return head + wrap_report(screen(tail), o)
    out: list[str] = []
    counts = Counter(c.action for c in result.changes)
    out.append(
        f"{what}: "
        + (", ".join(_counted(a, n) for a, n in sorted(counts.items())) or "nothing to do")
    )
    for change in result.changes:
        if change.action == "unchanged":
            continue
        target = f" {change.cron_job}" if change.cron_job else ""
        detail = f" ({change.detail})" if change.detail else ""
        out.append(f"  {change.action}: pgAgent job {change.pgagent_job_id}{target}{detail}")
    out += _findings(result.findings)
    if result.verification is not None:
        out += verification_lines(result.verification)
    return wrap_report(screen(out), o)


def run_json(result: MigrationResult) -> str:
    doc = {"format": FORMAT, "version": VERSION, **to_jsonable(result)}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def verification_json(v: Verification) -> str:
    doc = {"format": VERIFY_FORMAT, "version": VERIFY_VERSION, "ok": v.ok, **to_jsonable(v)}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
