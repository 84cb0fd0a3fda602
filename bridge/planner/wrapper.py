"""The DO block that runs several steps as one pg_cron command: each step's text verbatim, as its
own transaction, with its on-error policy. Guards that emulate pgAgent's rule belong here."""

from __future__ import annotations

from collections.abc import Sequence

from bridge.model import OnError, Step
from bridge.pg.quoting import comment, dollar_quote


def wrap(steps: Sequence[Step]) -> str:
    """One DO block: each step's text, verbatim, as its own transaction with its error policy."""
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
    return "DO " + dollar_quote("\nBEGIN\n" + "\n".join(body) + "\nEND\n")
