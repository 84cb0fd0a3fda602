"""Documentation that must not drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

from bridge.codes import CODES

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(
    r"\b(?:SCHED|STEPS?|JOB|CATALOG|PGCRON|TIMEZONE|EXCEPTION|TARGET|ROLE|PLAN|SCHEDULE|MIGRATE"
    r"|ACTIVATE|VERIFY|EXPORT|HISTORY)_[A-Z0-9_]+\b"
)


def codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "bridge").rglob("*.py"):
        if path.name == "codes.py" and path.parent.name == "bridge":
            continue  # the register itself
        for literal in re.findall(r'"([A-Z][A-Z0-9_]+)"', path.read_text(encoding="utf-8")):
            if CODE.fullmatch(literal):
                found.add(literal)
    return found


def test_every_finding_code_is_documented_once() -> None:
    page = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    documented = re.findall(r"`(" + CODE.pattern + r")`", page)
    source = codes_in_source()
    assert len(source) > 60  # the scan really found the codes
    assert sorted(source - set(documented)) == []  # undocumented codes
    assert sorted(set(documented) - source) == []  # documentation of codes that no longer exist
    duplicates = sorted({c for c in documented if documented.count(c) > 1})
    assert duplicates == []


SEVERITY_WORDS = {
    "error": ("error",),
    "warning": ("warning",),
    "info": ("info",),
    "error or warning": ("error", "warning"),
    "warning (info when no job is affected)": ("warning", "info"),
}


def test_the_register_of_codes_matches_the_source_and_the_page() -> None:
    """bridge/codes.py lists every code the source raises, with the page's severities."""
    page = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \| ([^|]+) \|", page, re.M)
    documented = {code: SEVERITY_WORDS[words.strip()] for code, words in rows}
    registered = {c.code: tuple(s.value for s in c.severities) for c in CODES.values()}
    assert registered == documented
    assert sorted(codes_in_source() - set(CODES)) == []
    assert sorted(set(CODES) - codes_in_source()) == []  # no code registered that nothing raises


def test_readme_quick_start_commands_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "./dev demo" in readme and "./dev test" in readme
    dev = (ROOT / "dev").read_text(encoding="utf-8")
    assert "  demo)" in dev and "  test)" in dev
