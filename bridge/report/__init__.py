"""REPORT (pure): every result pgbridge returns, written in each format it offers.

One table, :data:`FORMATS`: per kind of result, the formats and the function that writes each. The
CLI asks :func:`render` and prints what it returns; adding a format is one entry here and one
function in the kind's module (``plan``, ``inventory``, ``migration``, ``export``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

__all__ = ["FORMATS", "LAID_OUT", "Kind", "TextOptions", "render"]

from bridge.report.export import export_json, export_sql, export_text
from bridge.report.fleet import fleet_json, fleet_markdown, fleet_text
from bridge.report.inventory import inventory_json, inventory_text
from bridge.report.layout import TextOptions, wrap_report
from bridge.report.migration import run_json, run_text, verification_json, verification_lines
from bridge.report.plan import plan_json_text, plan_markdown, plan_sql, plan_text
from bridge.report.runs import verification_markdown

Kind = Literal["inventory", "plan", "migrate", "activate", "rollback", "verify", "export", "fleet"]


def _runs(what: str) -> dict[str, Callable[[Any], str]]:
    return {"text": lambda r: run_text(r, what), "json": run_json}


FORMATS: dict[Kind, dict[str, Callable[[Any], str]]] = {
    "inventory": {
        "text": inventory_text,
        "json": lambda c: json.dumps(inventory_json(c), indent=2, ensure_ascii=False) + "\n",
    },
    "plan": {"text": plan_text, "json": plan_json_text, "markdown": plan_markdown, "sql": plan_sql},
    "migrate": _runs("migrate"),
    "activate": _runs("activate"),
    "rollback": _runs("rollback"),
    "verify": {
        "text": lambda v: "\n".join(verification_lines(v)) + "\n",
        "json": verification_json,
        "markdown": verification_markdown,
    },
    "export": {"text": export_text, "json": export_json, "sql": lambda r: export_sql(r.plan)},
    "fleet": {"text": fleet_text, "json": fleet_json, "markdown": fleet_markdown},
}


def _wrapped(kind: Kind) -> Callable[[Any, TextOptions], str]:
    """A line-by-line text writer, wrapped to the width."""
    return lambda result, options: wrap_report(FORMATS[kind]["text"](result), options)


def _run_text(what: str) -> Callable[[Any, TextOptions], str]:
    """A run's text, laid out (a dry run lists every selected job, issue 15)."""
    return lambda result, options: run_text(result, what, options)


#: The writers that lay text out for a width, colour and verbosity (:class:`TextOptions`).
LAID_OUT: dict[tuple[Kind, str], Callable[[Any, TextOptions], str]] = {
    ("plan", "text"): plan_text,
    **{(kind, "text"): _wrapped(kind) for kind in ("inventory", "verify", "export")},
    **{(what, "text"): _run_text(what) for what in ("migrate", "activate", "rollback")},
}


def render(kind: Kind, fmt: str, result: Any, options: TextOptions | None = None) -> str:
    """``result`` (of a ``kind`` command) written in ``fmt``; text laid out by ``options``
    (default: 100 columns, no colour, not verbose)."""
    laid_out = LAID_OUT.get((kind, fmt))
    if laid_out is not None:
        return laid_out(result, options or TextOptions())
    return FORMATS[kind][fmt](result)
