"""The DO block that runs several steps as one pg_cron command: each step's text verbatim, as its
own transaction, with its on-error policy; with a guard, only when pgAgent's rule says the minute
the run starts is a fire time."""

from __future__ import annotations

from collections.abc import Sequence

from bridge.model import OnError, Step
from bridge.pg.quoting import comment, dollar_quote, literal
from bridge.planner.guard import GUARD_MARK, SKIP_MESSAGE, Guard


def wrap(steps: Sequence[Step], guard: Guard | None = None) -> str:
    """One DO block: each step's text, verbatim, as its own transaction with its error policy;
    behind ``guard`` when given (then the block's first line is :data:`GUARD_MARK`)."""
    body: list[str] = []
    for n, step in enumerate(steps, 1):
        # pg_cron runs the block as it is (no psql): a dollar quote keeps the code byte for byte
        quoted = dollar_quote(step.code.strip(), base=f"s{n}_")
        # an unknown policy stops the job, as pgAgent does (STEP_ONERROR_UNKNOWN)
        policy = (OnError.FAIL if step.on_error is OnError.UNKNOWN else step.on_error).words
        body.append("  " + comment(f"step {n}: {step.name} (on error: {policy})"))
        if step.on_error in (OnError.SUCCEED, OnError.IGNORE):
            body += [
                "  BEGIN",
                f"    EXECUTE {quoted};",
                "  EXCEPTION WHEN OTHERS OR query_canceled THEN",
                f"    RAISE WARNING 'pgbridge: step {n} failed (%), continuing', SQLERRM;",
                "  END;",
            ]
        else:
            body.append(f"  EXECUTE {quoted};")
        body.append("  COMMIT;")
    if guard is None:
        return "DO " + dollar_quote("\nBEGIN\n" + "\n".join(body) + "\nEND\n")
    # The guard's SQL is run as written, with $1 bound to the minute (EXECUTE ... USING), so the
    # command asks exactly what the plan shows. pg_cron records a command's own words only for an
    # error (src/pg_cron.c, GetTaskFeedback: the command tag otherwise, "DO" for a block), so a
    # skipped run raises, at once, before any step has run.
    check = dollar_quote(f"SELECT ({guard.sql})", base="guard")
    head = [
        f"{GUARD_MARK}: {comment(guard.description)[3:]}",
        "DECLARE",
        "  run_minute timestamptz := date_trunc('minute', now());",
        "  fires boolean;",
        "BEGIN",
        f"  EXECUTE {check} INTO fires USING run_minute;",
        "  IF fires IS NOT TRUE THEN",
        f"    RAISE EXCEPTION '{SKIP_MESSAGE}: % is not a fire time of pgAgent''s schedule "
        "(%)', run_minute, " + literal(guard.description) + ";",
        "  END IF;",
    ]
    block = "\n".join(head) + "\n" + "\n".join(body) + "\nEND\n"
    return "DO " + dollar_quote("\n" + block)
