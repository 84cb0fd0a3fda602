"""Translation properties over random and adversarial schedules, both directions."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bridge.schedule import (
    DEFAULT_DAYS,
    AgentSchedule,
    CronSyntaxError,
    CronTarget,
    agent_findings,
    agent_fireset,
    agent_to_cron,
    check_equivalence,
    compare,
    cron_fireset,
    cron_to_agent,
    parse_cron,
)
from bridge.schedule import findings as F
from bridge.schedule.cron import may_meet
from bridge.schedule.guard import superset
from bridge.schedule.translate import encoded_entries
from tests.schedule.strategies import agent_schedules, cron_texts

SINCE = dt.date(2024, 1, 1)
DAYS = DEFAULT_DAYS
#: findings that announce, before any check, that the entries can only be a superset
SUPERSET_REASONS = {F.DOM_DOW_AND_INEXACT, F.LAST_DAY_NEEDS_1_6}
TARGETS = st.sampled_from(
    [
        CronTarget.of("1.4.2"),
        CronTarget.of("1.6.7"),
        CronTarget.of("1.6.7", "Europe/Berlin"),
        CronTarget.of("main", match_dom_and_dow=True),
        CronTarget.of("1.5.0"),
    ]
)


def assert_well_formed(expr: str, target: CronTarget) -> None:
    """Five numeric fields, nothing the target reads differently, no stray leading star."""
    fields = expr.split(" ")
    assert len(fields) == 5 and all(fields)
    assert not any(c.isalpha() or c in "@#?LW" for c in expr)
    parsed = parse_cron(expr, target.version)
    assert parsed.kind == "cron" and parsed.notes == ()
    for field, lead in ((fields[2], "*/31"), (fields[4], "*/7")):
        assert not field.startswith("*") or field == "*" or field.split(",")[0] == lead
    for part in ",".join(fields).split(","):
        first, _, rest = part.partition("-")
        if rest and first != "*":
            assert int(first) < int(rest.split("/")[0])  # never a reversed range


@settings(max_examples=1000, deadline=None)
@given(
    agent_schedules(exceptions=False, bounds=False),
    TARGETS,
    st.sampled_from(["actual", "configured"]),
    st.sampled_from(["UTC", "Europe/Berlin"]),
)
def test_pgagent_to_cron_is_exact_unless_it_says_why(schedule, target, mode, agent_zone):
    if agent_zone != target.zone:
        agent_zone = target.zone  # same wall clock: only field encodings can be inexact
    got = agent_to_cron(schedule, target=target, agent_zone=agent_zone, mode=mode, since=SINCE)
    codes = {f.code for f in got.findings}
    for expr in got.expressions:
        assert_well_formed(expr, target)
    if F.TARGET_MISREADS_NUMERIC_FIRST in codes:
        assert target.version.interval_parsed_first and got.expressions == ()
        return
    assert got.equivalence is not None
    if got.equivalence.agent_fires == 0:
        return
    if codes & SUPERSET_REASONS:
        assert not got.exact
        assert got.equivalence.agent_only == 0  # a superset: nothing pgAgent ran is lost
    elif F.DST_FALLBACK_RUNS_TWICE in codes:
        assert got.equivalence.agent_only == 0
    elif F.LAST_DAY_DST_SHIFT in codes:
        assert not got.exact
    else:
        assert got.exact, got


@settings(max_examples=150, deadline=None)
@given(
    agent_schedules(exceptions=False, bounds=False),
    st.sampled_from(["Asia/Kolkata", "Asia/Tokyo", "America/Panama", "Asia/Kathmandu"]),
)
def test_fixed_zone_shift_moves_weekdays_exactly(schedule, zone):
    """Crossing midnight moves weekdays exactly; only month-days/months can make it inexact."""
    weekday_only = AgentSchedule(
        minutes=schedule.minutes or 1, hours=schedule.hours, weekdays=schedule.weekdays
    )
    got = agent_to_cron(weekday_only, target=CronTarget.of("1.6.7"), agent_zone=zone, since=SINCE)
    assert got.exact, got


@settings(max_examples=600, deadline=None)
@given(st.lists(cron_texts(), min_size=1, max_size=2), st.booleans())
def test_cron_to_pgagent_round_trips(texts, and_logic):
    source = CronTarget.of("main", match_dom_and_dow=and_logic)
    exported = cron_to_agent(texts, source=source, since=SINCE)
    codes = {f.code for f in exported.findings}
    original = cron_fireset(
        [parse_cron(t, source.version) for t in texts], "GMT", and_logic=and_logic
    )
    if not exported.schedules:
        assert compare(original, original, SINCE, DAYS).right_total == 0 or codes
        return
    agent = agent_fireset(exported.schedules, "UTC")
    check = compare(original, agent, SINCE, DAYS)
    assert exported.exact == (check.equal and F.CRON_FEB_29_DROPPED not in codes)
    if F.CRON_FEB_29_DROPPED not in codes:
        assert check.equal
    else:
        assert check.right_only == 0  # only leap days are lost
    # and back to pg_cron: the entries fire like the original ones wherever pgAgent does
    back = [agent_to_cron(s, target=source, since=SINCE) for s in exported.schedules]
    entries = [e for t in back for e in t.expressions]
    again = cron_fireset(
        [parse_cron(e, source.version) for e in entries], "GMT", and_logic=and_logic
    )
    result = compare(agent, again, SINCE, DAYS)
    if all(t.exact for t in back):
        assert result.equal
    else:  # e.g. the day-31 part of "odd days AND Monday" has no exact pg_cron form of its own
        assert {F.DOM_DOW_AND_INEXACT} <= {f.code for t in back for f in t.findings}
        assert result.left_only == 0


def test_schedule_model_converter_round_trips():
    schedule = AgentSchedule(
        minutes=1 << 5, hours=0b111 << 9, weekdays=0b0111110, monthdays=1 << 31, last_day=True
    )
    assert AgentSchedule.from_model(schedule.to_model(id=7)) == schedule
    model = schedule.to_model()
    assert model.monthdays[30] and model.monthdays[31] and len(model.monthdays) == 32


def test_a_jobs_schedules_merge_into_fewer_entries():
    monday = AgentSchedule(minutes=1, hours=1 << 9, weekdays=1 << 1)
    tuesday = AgentSchedule(minutes=1, hours=1 << 9, weekdays=1 << 2)
    evening = AgentSchedule(minutes=1, hours=1 << 18, weekdays=0b0000110)
    got = agent_to_cron((monday, tuesday, evening), target=CronTarget.of("1.4.2"), since=SINCE)
    assert got.expressions == ("0 9,18 * * 1-2",)
    assert got.exact


def test_overlapping_entries_are_reported():
    """Day 30 plus the last day before 1.6: the month-length superset repeats 30 April etc."""
    schedule = AgentSchedule(minutes=1, hours=1 << 5, monthdays=1 << 30, last_day=True)
    got = agent_to_cron(schedule, target=CronTarget.of("1.4.2"), mode="configured", since=SINCE)
    overlap = [f for f in got.findings if f.code == F.ENTRIES_OVERLAP]
    assert "0 5 30 * *" in got.expressions and "0 5 30 4,6,9,11 *" in got.expressions
    assert len(overlap) == 1 and overlap[0].message.startswith(f"{4 * (DAYS // 365)} fire time(s)")


def test_dst_zone_to_gmt_says_how_many_move_and_by_how_much():
    """Daily 09:00 New York -> GMT, translated for EDT: every EST day runs an hour early."""
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    est_days = sum(
        1
        for i in range(DAYS)
        if (dt.datetime(2024, 1, 1, 9) + dt.timedelta(days=i)).replace(tzinfo=ny).utcoffset()
        == dt.timedelta(hours=-5)
    )
    got = agent_to_cron(
        AgentSchedule(minutes=1, hours=1 << 9),
        target=CronTarget.of("1.4.2"),
        agent_zone="America/New_York",
        since=SINCE,
    )
    assert got.expressions == ("0 13 * * *",)
    assert got.equivalence is not None and got.equivalence.agent_only == est_days
    mismatch = next(f for f in got.findings if f.code == F.TZ_DST_MISMATCH)
    assert f"{est_days / (DAYS / 365.25):.0f} fire times per year run 60 minutes earlier" in (
        mismatch.message
    )


@settings(max_examples=300, deadline=None)
@given(
    agent_schedules(),
    st.sampled_from(
        ["UTC", "Asia/Kolkata", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]
    ),
    st.sampled_from(
        [
            CronTarget.of("1.4.2"),
            CronTarget.of("1.6.1", "America/New_York"),
            CronTarget.of("1.6.7", "Europe/Berlin"),
            CronTarget.of("main", "Asia/Tokyo", match_dom_and_dow=True),
        ]
    ),
    st.sampled_from(["actual", "configured"]),
    st.sampled_from(["4.2", "<=4.0"]),
)
def test_every_inexact_translation_says_why(schedule, zone, target, mode, body):
    """Any zone pair, exceptions, start/end: never a crash, and 'not exact' always comes with a
    warning or error that says why (an info finding alone never hides a difference)."""
    got = agent_to_cron(schedule, target=target, agent_zone=zone, mode=mode, body=body, since=SINCE)
    for expr in got.expressions:
        assert_well_formed(expr, target)
    if not got.exact:
        assert any(f.severity.rank >= 1 for f in got.findings)
    if got.equivalence is not None and got.exact:
        assert got.equivalence.agent_only == got.equivalence.cron_only == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(cron_texts(), min_size=1, max_size=3),
    st.sampled_from(["UTC", "Asia/Kolkata", "America/New_York"]),
    st.sampled_from([CronTarget.of("1.6.7"), CronTarget.of("1.6.7", "Europe/Berlin")]),
)
def test_reverse_export_across_zones_is_exact_or_says_why(texts, zone, source):
    got = cron_to_agent(texts, source=source, agent_zone=zone, since=SINCE)
    if not got.exact:
        assert any(f.severity.rank >= 1 for f in got.findings) or not got.schedules
    for schedule in got.schedules:
        assert not schedule.is_empty  # never pgAgent's every-2-minutes reading
        assert not (schedule.last_day and schedule.monthdays)  # never the ignored-flag trap
        if F.SHORT_MONTH_ERROR in {f.code for f in agent_findings(schedule)}:
            # days 29-30 next to a short month: pgAgent itself would raise; the export says so
            assert F.SHORT_MONTH_ERROR in {f.code for f in got.findings}


_UTC = dt.timezone.utc
_TODAY = dt.date(2026, 12, 1)
_DAILY = AgentSchedule(minutes=1, hours=1 << 5)


@pytest.mark.parametrize(
    ("schedule", "code"),
    [
        (replace(_DAILY, exceptions=((dt.date(2031, 12, 25), None),)), F.EXCEPTIONS_NOT_REPRESENTABLE),
        (replace(_DAILY, exceptions=((dt.date(2076, 7, 4), dt.time(5)),)), F.EXCEPTIONS_NOT_REPRESENTABLE),
        (replace(_DAILY, end=dt.datetime(2032, 1, 1, tzinfo=_UTC)), F.START_END_NOT_REPRESENTABLE),
        (replace(_DAILY, start=dt.datetime(2032, 6, 1, tzinfo=_UTC)), F.START_END_NOT_REPRESENTABLE),
        # the only fire time after the end is a 29 February more than four years later
        (
            AgentSchedule(minutes=1, hours=1, monthdays=1 << 29, months=1 << 2,
                          end=dt.datetime(2032, 3, 1, tzinfo=_UTC)),
            F.START_END_NOT_REPRESENTABLE,
        ),
    ],
)  # fmt: skip
def test_dated_features_beyond_four_years_are_never_exact(
    schedule: AgentSchedule, code: str
) -> None:
    got = agent_to_cron(schedule, target=CronTarget.of("1.6.8"), since=_TODAY)
    assert not got.exact
    assert code in {f.code for f in got.findings}
    assert F.NEVER_FIRES not in {f.code for f in got.findings}


@pytest.mark.parametrize(
    "schedule",
    [
        replace(_DAILY, exceptions=((dt.date(1990, 12, 25), None), (dt.date(2026, 1, 1), None))),
        replace(_DAILY, start=dt.datetime(1976, 1, 1, tzinfo=_UTC)),
    ],
)
def test_past_dates_cost_nothing(schedule: AgentSchedule) -> None:
    got = agent_to_cron(schedule, target=CronTarget.of("1.6.8"), since=_TODAY)
    assert got.exact and got.findings == ()
    assert got.equivalence is not None
    assert (got.equivalence.until - got.equivalence.since).days == DAYS


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (replace(_DAILY, start=dt.datetime(2031, 6, 1, tzinfo=_UTC)), "before 2031-06-01 00:00 UTC"),
        (replace(_DAILY, end=dt.datetime(2031, 6, 1, 7, tzinfo=_UTC)), "after 2031-06-01 07:00 UTC"),
        (
            replace(_DAILY, start=dt.datetime(2030, 1, 1, tzinfo=_UTC),
                    end=dt.datetime(2031, 6, 1, tzinfo=_UTC)),
            "before 2030-01-01 00:00 UTC and after 2031-06-01 00:00 UTC",
        ),
    ],
)  # fmt: skip
def test_window_messages_name_what_was_given(schedule: AgentSchedule, words: str) -> None:
    got = agent_to_cron(schedule, target=CronTarget.of("1.6.8"), since=_TODAY)
    messages = " ".join(f.message for f in got.findings)
    assert words in messages
    assert "inf" not in messages and "None" not in messages


@pytest.mark.parametrize(
    ("agent_zone", "cron_zone", "hour"),
    [
        ("Europe/Berlin", "Europe/Berlin", 2),
        ("Europe/Berlin", "Europe/Paris", 2),
        ("Europe/Berlin", "CET", 2),
        ("America/New_York", "America/New_York", 1),
        ("America/New_York", "US/Eastern", 1),
        ("America/New_York", "EST5EDT", 1),
    ],
)
def test_one_extra_run_a_year_is_the_same_finding_in_every_zone(
    agent_zone: str, cron_zone: str, hour: int
) -> None:
    got = agent_to_cron(
        AgentSchedule(minutes=1 << 30, hours=1 << hour),
        target=CronTarget.of("1.6.8", cron_zone),
        agent_zone=agent_zone,
        since=_TODAY,
    )
    assert {(f.code, f.severity.value) for f in got.findings} == {
        (F.DST_FALLBACK_RUNS_TWICE, "warning"),
        (F.NOT_EXACT, "warning"),
    }
    assert "None" not in " ".join(f.message for f in got.findings)


def test_empty_schedule_wording_keeps_the_weekdays() -> None:
    """The every-2-minutes quirk keeps the weekdays: the message must not say otherwise."""
    (finding,) = [
        f for f in agent_findings(AgentSchedule(weekdays=1 << 2)) if f.code == F.EMPTY_EVERY_2_MIN
    ]
    assert "of the selected weekdays" in finding.message and "whatever" not in finding.message
    got = agent_to_cron(AgentSchedule(weekdays=1 << 2), target=CronTarget.of("1.6.8"))
    assert got.expressions == ("*/2 * * * 2",)


@pytest.mark.parametrize(
    "schedule",
    [
        replace(_DAILY, exceptions=((dt.date(9999, 12, 30), None),)),
        replace(_DAILY, end=dt.datetime(9999, 12, 29, tzinfo=_UTC)),
        replace(_DAILY, exceptions=((dt.date(2500, 1, 1), None),)),
    ],
)
def test_dates_too_far_to_prove_are_never_called_exact(schedule: AgentSchedule) -> None:
    got = agent_to_cron(schedule, target=CronTarget.of("1.6.8"), since=_TODAY)
    assert not got.exact and F.DATES_BEYOND_PROOF in {f.code for f in got.findings}
    assert got.equivalence is not None and got.equivalence.until.year < 2100


@pytest.mark.parametrize(
    ("expression", "first_difference"),
    [
        # pg_cron runs the repeated hour of a fall-back twice, pgAgent once; these month-days meet
        # Berlin's last Sunday of October only in the years named (none of them in 2024-2027)
        ("8,42 * 16,28,30 * *", dt.datetime(2029, 10, 28, 0, 8, tzinfo=_UTC)),
        ("51 * 7,11-12,14,20,23,30 * *", dt.datetime(2033, 10, 30, 0, 51, tzinfo=_UTC)),
    ],
)
def test_the_proof_covers_a_whole_weekday_cycle(
    expression: str, first_difference: dt.datetime
) -> None:
    """A DST change falls on a given month-day only in some years: the horizon is 28 years, the
    calendar's weekday cycle, so a claim holds in every year, not only in the first four."""
    target = CronTarget.of("1.6.7", "Europe/Berlin")
    cron = parse_cron(expression, target.version)
    agent = cron_to_agent([cron], source=target, agent_zone="Europe/Berlin", since=SINCE)
    forward = check_equivalence(
        agent.schedules, [cron], target=target, agent_zone="Europe/Berlin", since=SINCE
    )
    assert not forward.exact and not agent.exact
    assert forward.first_cron_only == first_difference
    four_years = check_equivalence(
        agent.schedules, [cron], target=target, agent_zone="Europe/Berlin", since=SINCE,
        days=4 * 365 + 1,
    )  # fmt: skip
    assert four_years.exact  # what the old four-year proof wrongly concluded


@settings(max_examples=400, deadline=None)
@given(
    st.lists(agent_schedules(), min_size=1, max_size=3),
    TARGETS,
    st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]),
    st.sampled_from(["actual", "configured"]),
)
def test_encoded_entries_are_the_translations_entries(schedules, target, zone, mode):
    """The planner asks for a union's entries before paying for its proof: they must be the
    ones the translation writes whenever it writes any."""
    full = agent_to_cron(schedules, target=target, agent_zone=zone, mode=mode, since=SINCE)
    cheap = encoded_entries(schedules, target=target, agent_zone=zone, mode=mode, since=SINCE)
    assert not full.expressions or cheap == full.expressions


@settings(max_examples=600, deadline=None)
@given(
    cron_texts(),
    cron_texts(),
    st.sampled_from(["1.4.2", "1.6.0", "1.6.7"]),
    st.sampled_from(["UTC", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago"]),
    st.booleans(),
)
def test_entries_that_may_not_meet_never_fire_together(a, b, version, zone, and_logic):
    """``may_meet`` lets the overlap checks skip a proof: whenever it says no, the full
    comparison (DST days, the 1.6.0 date shift and ``$`` included) finds no shared instant."""
    try:
        x, y = parse_cron(a, version), parse_cron(b, version)
    except CronSyntaxError:  # `$` before 1.5
        assume(False)
    assume(not may_meet(x, y))
    met = compare(
        cron_fireset([x], zone, and_logic=and_logic),
        cron_fireset([y], zone, and_logic=and_logic),
        SINCE,
        DAYS,
    )
    assert met.both == 0 and met.first_both is None


def test_superset_when_a_month_end_empties_every_day_shifted_slot() -> None:
    """23:00 UTC on the 31st is 08:00 on the 1st after a 31-day month in Tokyo: the day fields
    cannot follow the shift, so the superset takes any day (building the day-keeping entry
    raised "empty field" before)."""
    on_31st = AgentSchedule(
        minutes=1, hours=1 << 23, weekdays=0, monthdays=1 << 31, last_day=False, months=0
    )
    found = superset(
        [on_31st], target=CronTarget.of("1.6.7", "Asia/Tokyo"), agent_zone="UTC",
        since=dt.date(2024, 1, 1),
    )  # fmt: skip
    assert found.expression == "0 8 * * *" and found.covered
    assert found.comparison is not None and found.comparison.left_total == 7 * 28  # 31-day months
