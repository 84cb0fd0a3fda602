"""Create pgAgent jobs in a database the way pgAdmin 4 does (the demo and the tests use it)."""

from __future__ import annotations

from typing import Any

import psycopg

from bridge.exporter.pgagent_sql import JobSpec, job_sql


def create_job(conn: psycopg.Connection[Any], job: JobSpec) -> int:
    """Run :func:`job_sql` in one transaction (as pgAdmin does) and return the new job's id."""
    with conn.transaction():
        conn.execute(job_sql(job).encode())
        rows = conn.execute(
            "SELECT jobid FROM pgagent.pga_job WHERE xmin::text = (txid_current() % (2^32)::bigint)::text"
        ).fetchall()
    if len(rows) != 1:  # inside an outer transaction other new jobs share the xmin
        raise RuntimeError(f"expected one new job, found {len(rows)}: call outside a transaction")
    return int(rows[0][0])
