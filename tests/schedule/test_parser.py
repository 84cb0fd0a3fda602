"""pg_cron's parser per release, against the corpus in ``mappings/cron_parser_corpus.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.schedule import CronSyntaxError, parse_cron
from bridge.schedule.cron import CronSchedule, _Parser, _plain
from bridge.schedule.masks import mask_of
from bridge.schedule.versions import CronVersion, known_releases

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


# The plain-text reader (five fields of numbers, ranges, steps and ``*``: what pgbridge writes)
# must give exactly the character-level parser's answer wherever it gives one.


def _number(lo: int, hi: int) -> st.SearchStrategy[str]:
    """Mostly in range, sometimes just outside it or padded with zeros."""
    inside = st.integers(lo, hi).map(str)
    return st.one_of(
        inside,
        inside,
        inside,
        st.integers(lo, hi).map(lambda v: f"0{v}"),
        st.sampled_from([str(max(lo - 1, 0)), str(hi + 1), "99999"]),
    )


@st.composite
def _item(draw: st.DrawFn, lo: int, hi: int) -> str:
    a, b = draw(_number(lo, hi)), draw(_number(lo, hi))
    if draw(st.integers(0, 9)) and int(a) > int(b):  # mostly ascending, sometimes reversed
        a, b = b, a
    step = draw(st.one_of(st.integers(1, hi).map(str), st.sampled_from(["0", str(hi + 1), "100"])))
    return draw(st.sampled_from([a, f"{a}-{b}", f"{a}-{b}/{step}", "*", f"*/{step}"]))


def _field(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.lists(_item(lo, hi), min_size=1, max_size=3).map(",".join)


@st.composite
def _valid_item(draw: st.DrawFn, lo: int, hi: int) -> str:
    a, b = sorted((draw(st.integers(lo, hi)), draw(st.integers(lo, hi))))
    step = draw(st.integers(1, hi))
    return draw(st.sampled_from([str(a), f"{a}-{b}", f"{a}-{b}/{step}", "*", f"*/{step}"]))


def _fields(lo: int, hi: int) -> st.SearchStrategy[str]:
    """A field in which anything may go wrong, or one of only valid items (half each)."""
    valid = st.lists(_valid_item(lo, hi), min_size=1, max_size=3).map(",".join)
    return st.one_of(_field(lo, hi), valid)


_TEXTS = st.tuples(
    _fields(0, 59),
    _fields(0, 23),
    st.one_of(_fields(1, 31), st.just("$")),
    _fields(1, 12),
    _fields(0, 7),
    st.sampled_from([" "] * 8 + ["  ", "\t"]),
).map(lambda f: f[5].join(f[:5]))


def _character_level(text: str, version: CronVersion) -> CronSchedule | str:
    try:
        return _Parser(text, version).parse(text)
    except CronSyntaxError:
        return "reject"


@settings(max_examples=1000, deadline=None)
@given(text=_TEXTS, version=st.sampled_from(known_releases()))
def test_plain_reader_agrees_with_the_parser(text: str, version: CronVersion) -> None:
    plain = _plain(text, version)
    if plain is not None:
        assert plain == _character_level(text, version)


@pytest.mark.parametrize("version", known_releases(), ids=str)
def test_plain_reader_reads_what_pgbridge_writes(version: CronVersion) -> None:
    for text in ("0 0-11,13-23 * * *", "*/5 8-17 1,15 * 1-5", "30 2 * 1-6/2 0,7"):
        assert _plain(text, version) == _character_level(text, version)
    assert _plain("0 12 $ * *", version) == (
        _character_level("0 12 $ * *", version) if version.last_day else None
    )


@pytest.mark.parametrize("version", known_releases(), ids=str)
def test_corpus_texts_read_plainly_agree(version: CronVersion) -> None:
    for case in CORPUS:
        plain = _plain(case["text"], version)
        if plain is not None:
            assert plain == _character_level(case["text"], version), case["text"]
