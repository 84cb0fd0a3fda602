"""Many servers, one report (pure): each server's plan or inventory, or why it could not be read,
and a roll-up across the fleet.

A fleet is built from the per-server JSON documents (``pgbridge-plan``, ``pgbridge-inventory``), so
a fleet planned in one run and one merged from files written elsewhere (``pgbridge report merge``)
are the same thing. ``docs/fleet.md`` describes the ``pgbridge-fleet`` layout.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bridge.display import screen, shown
from bridge.errors import UsageError
from bridge.findings import Severity

FORMAT = "pgbridge-fleet"
VERSION = 1
Kind = Literal["plan", "inventory"]
#: The per-server document each kind holds.
MEMBER_FORMATS: dict[Kind, str] = {"plan": "pgbridge-plan", "inventory": "pgbridge-inventory"}
#: How many job names a roll-up row shows per code.
FIRST_JOBS = 3


@dataclass(frozen=True)
class Member:
    """One server of the fleet: its document, or the one line saying why it could not be read."""

    server: str
    document: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True)
class Fleet:
    kind: Kind
    members: tuple[Member, ...]

    @property
    def unreadable(self) -> list[Member]:
        return [m for m in self.members if m.document is None]

    def severities(self) -> list[Severity]:
        """The severity of every finding of every plan in the fleet."""
        return [Severity(f["severity"]) for doc in self._plans() for f in _findings(doc)]

    def _plans(self) -> list[dict[str, Any]]:
        return [m.document for m in self.members if m.document is not None and self.kind == "plan"]


def _findings(doc: dict[str, Any]) -> Iterable[dict[str, Any]]:
    yield from doc.get("findings", ())
    for job in doc.get("jobs", ()):
        yield from job.get("findings", ())


def _kind_of(doc: dict[str, Any], where: str) -> Kind:
    for kind, name in MEMBER_FORMATS.items():
        if doc.get("format") == name:
            return kind
    raise UsageError(
        f"{where}: not a pgbridge plan, inventory or fleet JSON document (format "
        f"{doc.get('format')!r})"
    )


def merge(documents: Sequence[tuple[str, Any]]) -> Fleet:
    """One fleet from (name, parsed JSON) pairs: plans, inventories or fleets, all of one kind."""
    members: list[Member] = []
    kinds: set[Kind] = set()
    for where, doc in documents:
        if not isinstance(doc, dict):
            raise UsageError(f"{where}: not a JSON object")
        if doc.get("format") == FORMAT:
            if doc.get("version") != VERSION:
                raise UsageError(f"{where}: fleet layout version {doc.get('version')!r} unknown")
            kinds.add(doc["kind"])
            members += [
                Member(m["server"], m.get("document"), m.get("error")) for m in doc["servers"]
            ]
            continue
        kinds.add(_kind_of(doc, where))
        members.append(Member(str(doc.get("source") or _origin(doc) or where), doc))
    if len(kinds) > 1:
        raise UsageError("cannot merge plans with inventories: give documents of one kind")
    return Fleet(kinds.pop() if kinds else "plan", tuple(members))


def _origin(doc: dict[str, Any]) -> str:
    catalog = doc.get("catalog")
    return str(catalog.get("origin", "")) if isinstance(catalog, dict) else ""


# -- the roll-up -------------------------------------------------------------------------------


def rollup(fleet: Fleet) -> dict[str, Any]:
    """Counts across the fleet: servers, jobs by status (plans) or catalog sizes (inventories),
    and for plans every finding code with the jobs and servers it concerns."""
    out: dict[str, Any] = {
        "servers": len(fleet.members),
        "read": len(fleet.members) - len(fleet.unreadable),
        "unreadable": len(fleet.unreadable),
    }
    if fleet.kind == "inventory":
        totals = {"jobs": 0, "steps": 0, "schedules": 0, "pg_cron_jobs": 0}
        for m in fleet.members:
            for key, value in _inventory_counts(m.document).items():
                totals[key] += value
        return out | totals
    statuses = {"jobs": 0, "exact": 0, "changed": 0, "manual": 0, "skipped": 0, "cron_jobs": 0}
    codes: dict[str, dict[str, Any]] = {}
    for m in fleet.members:
        if m.document is None:
            continue
        for key, value in m.document.get("summary", {}).items():
            statuses[key] = statuses.get(key, 0) + int(value)
        for job, finding in _job_findings(m.document):
            row = codes.setdefault(
                finding["code"],
                {"code": finding["code"], "severity": finding["severity"], "jobs": 0,
                 "servers": set(), "first_jobs": []},
            )  # fmt: skip
            if Severity(finding["severity"]).rank > Severity(row["severity"]).rank:
                row["severity"] = finding["severity"]
            row["jobs"] += job is not None
            row["servers"].add(m.server)
            if job is not None and len(row["first_jobs"]) < FIRST_JOBS:
                row["first_jobs"].append(f"{m.server}: {job}")
    rows = sorted(
        codes.values(), key=lambda r: (-Severity(r["severity"]).rank, -r["jobs"], r["code"])
    )
    return out | {
        "statuses": statuses,
        "codes": [r | {"servers": len(r["servers"])} for r in rows],
    }


def _job_findings(doc: dict[str, Any]) -> Iterable[tuple[str | None, dict[str, Any]]]:
    """Each finding with the job it concerns (``None``: the plan as a whole), once per job."""
    for f in doc.get("findings", ()):
        yield None, f
    for job in doc.get("jobs", ()):
        for code in dict.fromkeys(f["code"] for f in job.get("findings", ())):
            worst = max(
                (f for f in job["findings"] if f["code"] == code),
                key=lambda f: Severity(f["severity"]).rank,
            )
            yield str(job.get("job_name", job.get("job_id"))), worst


def _inventory_counts(doc: dict[str, Any] | None) -> dict[str, int]:
    if doc is None:
        return {}
    catalog = doc.get("catalog", {})
    jobs = (catalog.get("pgagent") or {}).get("jobs", [])
    return {
        "jobs": len(jobs),
        "steps": sum(len(j.get("steps", ())) for j in jobs),
        "schedules": sum(len(j.get("schedules", ())) for j in jobs),
        "pg_cron_jobs": len((catalog.get("pgcron") or {}).get("jobs", [])),
    }


# -- formats -----------------------------------------------------------------------------------


def fleet_json(fleet: Fleet) -> str:
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "kind": fleet.kind,
        "rollup": rollup(fleet),
        "servers": [
            {"server": m.server, "ok": m.document is not None, "error": m.error,
             "document": m.document}
            for m in fleet.members
        ],
    }  # fmt: skip
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _member_line(fleet: Fleet, m: Member) -> str:
    if m.document is None:
        return f"{m.server}: NOT READ: {m.error}"
    if fleet.kind == "inventory":
        c = _inventory_counts(m.document)
        return (
            f"{m.server}: {_plural(c['jobs'], 'pgAgent job')}, {_plural(c['schedules'], 'schedule')}"
            f", {_plural(c['pg_cron_jobs'], 'pg_cron job')}"
        )
    s = m.document.get("summary", {})
    return (
        f"{m.server}: {_plural(s.get('jobs', 0), 'job')}: {s.get('exact', 0)} exact, "
        f"{s.get('changed', 0)} changed, {s.get('manual', 0)} manual, {s.get('skipped', 0)} skipped"
    )


def fleet_text(fleet: Fleet) -> str:
    r = rollup(fleet)
    out = [
        f"pgbridge fleet {fleet.kind}: {_plural(r['servers'], 'server')}, {r['read']} read, "
        f"{r['unreadable']} not read",
    ]
    if fleet.kind == "plan":
        s = r["statuses"]
        out.append(
            f"  {_plural(s['jobs'], 'pgAgent job')}: {s['exact']} exact, {s['changed']} changed, "
            f"{s['manual']} manual, {s['skipped']} skipped"
        )
    out += ["", "servers:"] + [f"  {_member_line(fleet, m)}" for m in fleet.members]
    if fleet.kind == "plan" and r["codes"]:
        out += ["", "finding codes (severity, jobs, servers, first jobs):"]
        for row in r["codes"]:
            out.append(
                f"  {row['severity']:<7} {row['code']}: {_plural(row['jobs'], 'job')} on "
                f"{_plural(row['servers'], 'server')}"
                + (f" ({'; '.join(row['first_jobs'])})" if row["first_jobs"] else "")
            )
    return screen(out)


def _md(text: str) -> str:
    return shown(text).replace("|", "\\|")


def fleet_markdown(fleet: Fleet) -> str:
    r = rollup(fleet)
    out = [
        f"# pgbridge fleet {fleet.kind}",
        "",
        f"{_plural(r['servers'], 'server')}: {r['read']} read, {r['unreadable']} not read.",
        "",
    ]
    if fleet.kind == "plan":
        out += [
            "| server | jobs | exact | changed | manual | skipped |",
            "|---|---|---|---|---|---|",
        ]
        for m in fleet.members:
            if m.document is None:
                out.append(f"| {_md(m.server)} | not read: {_md(m.error or '')} | | | | |")
                continue
            s = m.document.get("summary", {})
            out.append(
                f"| {_md(m.server)} | {s.get('jobs', 0)} | {s.get('exact', 0)} | "
                f"{s.get('changed', 0)} | {s.get('manual', 0)} | {s.get('skipped', 0)} |"
            )
        if r["codes"]:
            out += ["", "## Finding codes", "", "| code | severity | jobs | servers | first jobs |",
                    "|---|---|---|---|---|"]  # fmt: skip
            out += [
                f"| `{row['code']}` | {row['severity']} | {row['jobs']} | {row['servers']} | "
                f"{_md('; '.join(row['first_jobs']))} |"
                for row in r["codes"]
            ]
    else:
        out += ["| server | pgAgent jobs | schedules | pg_cron jobs |", "|---|---|---|---|"]
        for m in fleet.members:
            if m.document is None:
                out.append(f"| {_md(m.server)} | not read: {_md(m.error or '')} | | |")
                continue
            c = _inventory_counts(m.document)
            out.append(
                f"| {_md(m.server)} | {c['jobs']} | {c['schedules']} | {c['pg_cron_jobs']} |"
            )
    return "\n".join(out) + "\n"
