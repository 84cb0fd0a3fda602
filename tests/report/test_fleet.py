"""The fleet roll-up and merge (pure): counts, codes across servers, unreadable servers, mixing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.errors import UsageError
from bridge.report.fleet import Fleet, Member, fleet_json, fleet_markdown, fleet_text, merge, rollup


def plan_doc(source: str, jobs: list[tuple[str, str, list[tuple[str, str]]]]) -> dict[str, Any]:
    """A pgbridge-plan document: (job name, status, [(code, severity)]) per job."""
    summary = {"jobs": len(jobs), "exact": 0, "changed": 0, "manual": 0, "skipped": 0}
    for _, status, _ in jobs:
        summary[status] += 1
    summary["cron_jobs"] = summary["exact"] + summary["changed"]
    return {
        "format": "pgbridge-plan",
        "version": 1,
        "source": source,
        "summary": summary,
        "findings": [{"code": "PLAN_OVERLAP_QUEUES", "severity": "info", "job_id": 0}],
        "jobs": [
            {
                "job_id": n,
                "job_name": name,
                "status": status,
                "findings": [{"code": c, "severity": s, "job_id": n} for c, s in findings],
            }
            for n, (name, status, findings) in enumerate(jobs, 1)
        ],
    }


A = plan_doc(
    "host=a",
    [
        ("backup", "changed", [("SCHED_TZ_DST_MISMATCH", "warning"), ("ROLE_APPLIER", "info")]),
        ("vacuum", "manual", [("STEP_BATCH", "error"), ("STEP_BATCH", "error")]),
    ],
)
B = plan_doc("host=b", [("report", "exact", [("ROLE_APPLIER", "info")])])


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        (
            [Member("a", A), Member("b", B)],
            {
                "servers": 2, "read": 2, "unreadable": 0,
                "statuses": {"jobs": 3, "exact": 1, "changed": 1, "manual": 1, "skipped": 0,
                             "cron_jobs": 2},
                "codes": [
                    ("STEP_BATCH", "error", 1, 1, ["a: vacuum"]),  # two findings, one job
                    ("SCHED_TZ_DST_MISMATCH", "warning", 1, 1, ["a: backup"]),
                    ("ROLE_APPLIER", "info", 2, 2, ["a: backup", "b: report"]),
                    ("PLAN_OVERLAP_QUEUES", "info", 0, 2, []),  # plan-wide: no job
                ],
            },
        ),
        (
            [Member("a", A), Member("down", error="connection refused")],
            {
                "servers": 2, "read": 1, "unreadable": 1,
                "statuses": {"jobs": 2, "exact": 0, "changed": 1, "manual": 1, "skipped": 0,
                             "cron_jobs": 1},
                "codes": [
                    ("STEP_BATCH", "error", 1, 1, ["a: vacuum"]),
                    ("SCHED_TZ_DST_MISMATCH", "warning", 1, 1, ["a: backup"]),
                    ("ROLE_APPLIER", "info", 1, 1, ["a: backup"]),
                    ("PLAN_OVERLAP_QUEUES", "info", 0, 1, []),
                ],
            },
        ),
    ],
)  # fmt: skip
def test_rollup(members: list[Member], expected: dict[str, Any]) -> None:
    got = rollup(Fleet("plan", tuple(members)))
    codes = [
        (c["code"], c["severity"], c["jobs"], c["servers"], c["first_jobs"]) for c in got["codes"]
    ]
    assert {**got, "codes": codes} == expected


def test_the_worst_severity_of_a_code_wins_and_first_jobs_are_bounded() -> None:
    many = plan_doc("host=c", [(f"j{n}", "changed", [("X_CODE", "info")]) for n in range(5)])
    many["jobs"][4]["findings"][0]["severity"] = "warning"
    (row,) = [
        c for c in rollup(Fleet("plan", (Member("c", many),)))["codes"] if c["code"] == "X_CODE"
    ]
    assert (row["severity"], row["jobs"], len(row["first_jobs"])) == ("warning", 5, 3)


def test_a_merge_of_files_is_the_fleet_of_a_run() -> None:
    run = Fleet("plan", (Member("host=a", A), Member("host=b", B)))
    merged = merge([("a.json", A), ("b.json", B)])
    assert merged == run
    again = merge([("fleet.json", json.loads(fleet_json(run)))])  # a fleet document merges too
    assert again == run


@pytest.mark.parametrize(
    ("documents", "message"),
    [
        ([("x.json", [1, 2])], "not a JSON object"),
        ([("x.json", {"format": "pgbridge-run"})], "not a pgbridge plan, inventory or fleet"),
        ([("p.json", A), ("i.json", {"format": "pgbridge-inventory", "catalog": {}})], "one kind"),
        ([("f.json", {"format": "pgbridge-fleet", "version": 9})], "version 9 unknown"),
    ],
)
def test_merge_refuses_what_it_cannot_read(documents: list[tuple[str, Any]], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        merge(documents)


def test_formats_name_every_server_and_say_why_one_was_not_read() -> None:
    fleet = Fleet("plan", (Member("host=a", A), Member("host=down", error="timeout expired")))
    text = fleet_text(fleet)
    assert (
        "2 servers, 1 read, 1 not read" in text and "host=down: NOT READ: timeout expired" in text
    )
    assert "STEP_BATCH: 1 job on 1 server (host=a: vacuum)" in text
    markdown = fleet_markdown(fleet)
    assert "| host=down | not read: timeout expired |" in markdown and "`STEP_BATCH`" in markdown
    doc = json.loads(fleet_json(fleet))
    assert (doc["format"], doc["version"], doc["kind"]) == ("pgbridge-fleet", 1, "plan")
    assert [s["ok"] for s in doc["servers"]] == [True, False]
    # --fail-on judges every finding of every plan read
    assert sorted(s.value for s in fleet.severities()) == [
        "error",
        "error",
        "info",
        "info",
        "warning",
    ]
