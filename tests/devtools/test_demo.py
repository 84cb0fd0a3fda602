"""The README's first command: the demo runs end to end and cleans up after itself."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import tempfile

from bridge.devtools.demo import sample_jobs


def test_demo_shows_every_sample_job_and_no_password() -> None:
    # a private TMPDIR: other test runs on the machine start and remove clusters meanwhile
    tmp = tempfile.mkdtemp(prefix="pgbridge-demo-test-")
    os.chmod(tmp, 0o755)  # the postgres OS user runs the cluster in there
    pattern = os.path.join(tmp, "pgbridge-pg-*")
    before = set(glob.glob(pattern))
    proc = subprocess.run(
        [sys.executable, "-m", "bridge", "demo"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": tmp},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    jobs = sample_jobs()
    for n, job in enumerate(jobs, 1):
        assert f"Job {n}: {job.name}" in out
    assert f"{len(jobs)} jobs, " in out
    # read through the least-privilege pgagent role, pg_cron through its own database
    assert "user=pgagent" in out and "pg_cron: extension" in out
    assert "on the agent's host (shell)" in out  # the batch step
    assert "2026-12-25 (all day)" in out  # holiday exceptions
    assert "s3cret-demo" not in out and "password=********" in out
    # ... and the dry-run report of their migration
    assert f"{len(jobs)} pgAgent jobs: " in out and "pg_cron jobs to create" in out
    # the default report leads with the decisions: exact jobs are counted, not listed (-v lists them)
    assert "[EXACT] job 1:" not in out and re.search(r"Not shown: \d+ exact jobs", out)
    assert "Decisions needed: " in out and "[MANUAL] job" in out
    assert re.search(
        r"pgagent-[a-z]{6}-1-tutorial-heartbeat-row-every-minute +\* \* \* \* \* +app", out
    )
    assert "STEP_BATCH" in out and "JOB_GUARDED" in out
    assert "'Friday the 13th audit': exact on pg_cron 1.4.2 with a guard" in out
    assert "'Business-day report (holidays excepted)': exact on pg_cron 1.4.2 with a guard" in out
    assert "'Month-end audit mark': exact on pg_cron 1.4.2 with a guard" in out
    assert "month-end CALL inside a guard's block: ERROR: invalid transaction termination" in out
    # ... and the migration itself, verified
    assert "migrate: 8 pg_cron jobs created, 8 pgAgent jobs disabled" in out
    assert "all match the plan" in out
    assert re.search(r"pgagent-[a-z]{6}-5-nightly-etl", out.split("cron.job now holds:")[1])
    # ... and ends with the reverse export of the migrated jobs
    export = out.split("$ pgbridge export")[1]
    assert "8 pgAgent jobs from pg_cron" in export and "; ledger)" in export
    assert "EXPORT_FROM_LEDGER" in export
    assert set(glob.glob(pattern)) == before  # the throwaway cluster is gone
    os.rmdir(tmp)
