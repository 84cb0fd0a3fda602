"""pg_cron's parser per release, against the corpus in ``mappings/cron_parser_corpus.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.schedule import CronSyntaxError, parse_cron
from bridge.schedule.cron import CronSchedule
from bridge.schedule.masks import mask_of

CORPUS = json.loads(
    (Path(__file__).resolve().parents[2] / "mappings" / "cron_parser_corpus.json").read_text()
)["cases"]
CASES = [
    pytest.param(case["text"], release, expected, id=f"{release}:{case['text']!r}")
    for case in CORPUS
    for release, expected in case.items()
    if release != "text"
]


def _values(text: str) -> int:
    """'1-3,7' -> mask; '' -> 0."""
    values: list[int] = []
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        values += range(int(first), int(last or first) + 1)
    return mask_of(values)


def outcome(text: str, release: str) -> tuple[str, ...] | str:
    try:
        cron = parse_cron(text, release)
    except CronSyntaxError:
        return "reject"
    return describe(cron)


def describe(cron: CronSchedule) -> tuple[str, ...] | str:
    if cron.kind == "interval":
        return f"seconds:{cron.seconds}"
    if cron.kind == "reboot":
        return "reboot"
    flags = (
        ("S" if cron.dom_star else "") + ("W" if cron.dow_star else "") + ("$" if cron.last else "")
    )
    return (
        str(cron.minutes),
        str(cron.hours),
        str(cron.days),
        str(cron.months),
        str(cron.weekdays),
        flags,
    )


def expected_outcome(expected: str) -> tuple[str, ...] | str:
    if expected in ("reject", "reboot") or expected.startswith("seconds:"):
        return expected
    *fields, flags = expected.split("|")
    return (*(str(_values(f)) for f in fields), flags)


@pytest.mark.parametrize(("text", "release", "expected"), CASES)
def test_corpus(text: str, release: str, expected: str) -> None:
    assert outcome(text, release) == expected_outcome(expected)


def test_schedules_of_1000_bytes_are_rejected() -> None:
    padded = "0 5 * * *" + " " * 991
    assert len(padded) == 1000
    with pytest.raises(CronSyntaxError):
        parse_cron(padded, "1.6.7")
    assert parse_cron(padded[:-1], "1.6.7").kind == "cron"


@pytest.mark.parametrize("release", ["1.0.0", "1.4.2", "1.5.1", "1.6.5", "main"])
def test_every_generated_form_survives_each_release(release: str) -> None:
    """The forms the translator emits mean the same on every release that accepts them."""
    for text in ("0 5 */31,2-7 * 1", "0 5 1-7 * */7,3", "0 0-2,22-23 * * *", "1-59/2 * * * *"):
        cron = parse_cron(text, release)
        assert cron.kind == "cron" and not cron.notes
