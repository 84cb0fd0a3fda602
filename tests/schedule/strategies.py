"""Shared hypothesis strategies and brute-force oracles for the schedule tests (no tests here).

The brute-force helpers walk every minute with the per-instant rules (``agent_fires_at``,
``cron_fires_at``), which share no code with the analytic engine they are held against.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from bridge.schedule import AgentSchedule, CronSchedule, agent_fires_at, cron_fires_at
from bridge.schedule.masks import mask_of

UTC = dt.timezone.utc
DST_ZONES = ("America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago")
ZONES = ("UTC", "Asia/Kolkata", *DST_ZONES)
#: Local days on which the zones above change their clocks (plus ordinary days and month ends).
INTERESTING_DAYS = (
    dt.date(2024, 3, 10),
    dt.date(2024, 11, 3),
    dt.date(2024, 3, 31),
    dt.date(2024, 10, 27),
    dt.date(2024, 4, 7),
    dt.date(2024, 10, 6),
    dt.date(2024, 9, 8),
    dt.date(2025, 2, 28),
    dt.date(2024, 2, 28),
    dt.date(2026, 11, 1),
    dt.date(2024, 6, 30),
    dt.date(2025, 12, 31),
)


def masks(
    lo: int, hi: int, *, empty_ok: bool = True, max_size: int | None = None
) -> st.SearchStrategy[int]:
    """Small sets, runs, steps, full and empty masks of values lo..hi."""
    size = max_size or (hi - lo + 1)
    small = st.sets(st.integers(lo, hi), min_size=0 if empty_ok else 1, max_size=min(size, 6))
    steps = st.builds(
        lambda first, step: set(range(first, hi + 1, step)),
        st.integers(lo, hi),
        st.integers(1, max(1, (hi - lo) // 2)),
    )
    runs = st.builds(
        lambda a, n: set(range(a, min(hi, a + n) + 1)), st.integers(lo, hi), st.integers(0, 8)
    )
    choices = [small, steps, runs, st.just(set(range(lo, hi + 1)))]
    if empty_ok:
        choices.append(st.just(set()))
    return st.one_of(*choices).map(mask_of).filter(lambda m: empty_ok or m != 0)


@st.composite
def agent_schedules(
    draw: st.DrawFn, *, exceptions: bool = True, bounds: bool = True
) -> AgentSchedule:
    """Random and adversarial pgAgent schedules (empty fields, day 29-31, last day, AND days)."""
    minutes = draw(st.one_of(masks(0, 59), st.sampled_from([0, 1, 1 << 30, mask_of([0, 30])])))
    hours = draw(st.one_of(masks(0, 23), st.sampled_from([0, 1 << 1, 1 << 2, 1 << 23])))
    weekdays = draw(masks(0, 6))
    monthdays = draw(st.one_of(masks(1, 31), st.sampled_from([0, 1 << 31, 1 << 29, 1 << 1])))
    last_day = draw(st.booleans())
    months = draw(st.one_of(masks(1, 12), st.just(0)))
    excs: list[tuple[dt.date | None, dt.time | None]] = []
    if exceptions:
        for _ in range(draw(st.integers(0, 3))):
            day = draw(st.one_of(st.none(), st.sampled_from(INTERESTING_DAYS)))
            time = draw(
                st.one_of(
                    st.none(), st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 30, 15]))
                )
            )
            excs.append((day, time))
    start = end = None
    if bounds and draw(st.booleans()):
        day = draw(st.sampled_from(INTERESTING_DAYS))
        start = dt.datetime(
            day.year, day.month, day.day, draw(st.integers(0, 23)), 17, 30, tzinfo=UTC
        )
        if draw(st.booleans()):
            end = start + dt.timedelta(hours=draw(st.integers(1, 60)))
    return AgentSchedule(
        minutes=minutes,
        hours=hours,
        weekdays=weekdays,
        monthdays=monthdays,
        last_day=last_day,
        months=months,
        start=start,
        end=end,
        exceptions=tuple(excs),
    )


def brute_agent(
    schedule: AgentSchedule, zone: str, since: dt.date, days: int, **kw: str
) -> set[dt.datetime]:
    t0 = dt.datetime(since.year, since.month, since.day, tzinfo=UTC)
    return {
        t0 + dt.timedelta(minutes=i)
        for i in range(days * 1440)
        if agent_fires_at(schedule, t0 + dt.timedelta(minutes=i), zone, **kw)  # type: ignore[arg-type]
    }


def brute_cron(
    schedules: list[CronSchedule], zone: str, since: dt.date, days: int, *, and_logic: bool = False
) -> set[dt.datetime]:
    t0 = dt.datetime(since.year, since.month, since.day, tzinfo=UTC)
    out = set()
    for i in range(days * 1440):
        t = t0 + dt.timedelta(minutes=i)
        if any(cron_fires_at(c, t, zone, and_logic=and_logic) for c in schedules):
            out.add(t)
    return out


@st.composite
def cron_texts(draw: st.DrawFn, *, last_day: bool = True) -> str:
    """Random five-field expressions in the syntax every release shares (plus ``$``)."""

    def field(lo: int, hi: int, names: tuple[str, ...] = ()) -> str:
        kind = draw(st.sampled_from(["star", "list", "range", "step", "starstep"]))
        if kind == "star":
            return "*"
        if kind == "starstep":
            return f"*/{draw(st.integers(1, hi))}"
        if kind == "step":
            a = draw(st.integers(lo, hi))
            b = draw(st.integers(a, hi))
            return f"{a}-{b}/{draw(st.integers(1, hi))}"
        if kind == "range":
            a = draw(st.integers(lo, hi))
            return f"{a}-{draw(st.integers(a, hi))}"
        values = draw(st.lists(st.integers(lo, hi), min_size=1, max_size=4))
        return ",".join(str(v) for v in values)

    dom = field(1, 31)
    if last_day and draw(st.integers(0, 5)) == 0:
        dom = "$"
    return " ".join([field(0, 59), field(0, 23), dom, field(1, 12), field(0, 7)])
