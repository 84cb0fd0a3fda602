"""Translation both ways: pgAgent schedule -> pg_cron entries, pg_cron entries -> pgAgent schedules.

Each translation is checked with the equivalence checker before it is returned, so ``exact`` is
a measured fact over the horizon, not a belief; every reason it is not exact comes as a finding.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise

from bridge import model
from bridge.schedule import findings as F
from bridge.schedule.agent import (
    AgentSchedule,
    Body,
    Mode,
    agent_findings,
    agent_fireset,
    as_agent,
    effective_slot,
    short_month_traps,
    without_dates,
)
from bridge.schedule.cron import (
    CronSchedule,
    CronSyntaxError,
    cron_fireset,
    may_meet,
    parse_cron,
)
from bridge.schedule.equivalence import (
    DEFAULT_DAYS,
    Equivalence,
    beyond_proof,
    default_since,
    proof_days,
)
from bridge.schedule.findings import Finding
from bridge.schedule.fireset import FireSet, compare
from bridge.schedule.masks import (
    ALL_DAYS,
    ALL_HOURS,
    ALL_MINUTES,
    ALL_MONTHS,
    ALL_WEEKDAYS,
    LONG_MONTHS,
    span,
)
from bridge.schedule.ranges import cron_field
from bridge.schedule.slots import Slot, merge_slots, shift_slot
from bridge.schedule.versions import CronTarget
from bridge.schedule.zones import DAY, MAX_GAP, day_number, fixed_over, offset_steps

_FEB = 1 << 2
_SUNDAY = 1


@dataclass(frozen=True)
class CronTranslation:
    """pg_cron entries for one pgAgent schedule (their union is the schedule when ``exact``)."""

    expressions: tuple[str, ...]
    exact: bool
    findings: tuple[Finding, ...]
    equivalence: Equivalence | None


@dataclass(frozen=True)
class AgentTranslation:
    """pgAgent schedules (of one job) for a set of pg_cron entries."""

    schedules: tuple[AgentSchedule, ...]
    exact: bool
    findings: tuple[Finding, ...]
    equivalence: Equivalence | None


@lru_cache(maxsize=1024)
def zone_delta(source: str, target: str, since: dt.date, days: int) -> tuple[int, bool]:
    """Minutes to add to a ``source`` wall time to get the ``target`` wall time, and whether that
    holds all the time (both zones fixed, two names for one rule, or the same zone)."""
    if source == target:
        return 0, True
    gaps = offset_gaps(source, target, since, days)
    if len(gaps) == 1:
        return gaps[0], True
    first = day_number(since)
    steps = offset_steps(source, target, first, first + days)
    # the difference at each day's noon (UTC minutes), counted per stretch between offset changes
    # of either zone instead of day by day: the difference is constant on each stretch
    counts: Counter[int] = Counter()
    lo, hi = first * DAY + 720, (first + days - 1) * DAY + 720  # first and last noon
    at = bisect.bisect_right(steps, (lo, MAX_GAP)) - 1
    stretches = [(lo, steps[at][1])] + [(t, d) for t, d in steps[at + 1 :] if t <= hi]
    for (start, delta), (stop, _) in pairwise([*stretches, (hi + 1, 0)]):
        noons = -(-(stop - 720) // DAY) - -(-(start - 720) // DAY)  # noons in [start, stop)
        if noons:
            counts[delta] += noons
    delta, _ = counts.most_common(1)[0]
    return delta, False


@lru_cache(maxsize=1024)
def offset_gaps(source: str, target: str, since: dt.date, days: int) -> tuple[int, ...]:
    """The distinct (target - source) UTC offset differences, in minutes, over the horizon, in
    order (remembered: a guard's superset asks for them per schedule, and :func:`zone_delta`)."""
    first = day_number(since)
    return tuple(sorted({d for _, d in offset_steps(source, target, first, first + days)}))


def _days_field(days: int) -> str:
    return cron_field(days, 1, 31, star=False)


def _dow_field(weekdays: int) -> str:
    return cron_field(weekdays, 0, 6, star=False)


def _with_lead(lead: str, rest: int, field: str) -> str:
    return lead if not rest else f"{lead},{field}"


def encode_slot(slot: Slot, target: CronTarget) -> tuple[list[str], list[Finding], bool]:
    """Cron expressions whose union is ``slot`` on ``target``: (expressions, findings, exact)."""
    if slot.empty:
        return [], [], True
    head = " ".join(
        (
            cron_field(slot.minutes, 0, 59),
            cron_field(slot.hours, 0, 23),
        )
    )
    month = cron_field(slot.months, 1, 12)
    days, last, weekdays = slot.days, slot.last, slot.weekdays
    if days == ALL_DAYS:
        dow = "*" if weekdays == ALL_WEEKDAYS else _dow_field(weekdays)
        return [f"{head} * {month} {dow}"], [], True
    if last and days:
        a = encode_slot(replace(slot, last=False), target)
        b = encode_slot(replace(slot, days=0), target)
        return a[0] + b[0], a[1] + b[1], a[2] and b[2]
    if last:
        if not target.version.last_day:
            # month-length entries: exact unless February is wanted (28 February in leap years)
            out: list[str] = []
            notes: list[Finding] = []
            exact = not slot.months & _FEB
            for lengths, months in (
                (1 << 30, span(1, 12) & ~LONG_MONTHS & ~_FEB),
                (1 << 31, LONG_MONTHS),
                ((1 << 28) | (1 << 29), _FEB),
            ):
                if slot.months & months:
                    more = encode_slot(
                        replace(slot, days=lengths, last=False, months=slot.months & months),
                        target,
                    )
                    out += more[0]
                    notes += more[1]
                    exact = exact and more[2]
            if slot.months & _FEB:
                notes.insert(
                    0,
                    F.error(
                        F.LAST_DAY_NEEDS_1_6,
                        f"'last day of the month' needs pg_cron 1.6 ($); {target.version} has no "
                        "exact form for February",
                        "upgrade pg_cron, or use the month-length entries offered here (they "
                        "also fire on 28 February in leap years) with a guard that tomorrow is "
                        "the 1st",
                    ),
                )
            return out, notes, exact
        if weekdays == ALL_WEEKDAYS:
            return [f"{head} $ {month} *"], [], True
        if target.and_logic:
            return [f"{head} $ {month} {_dow_field(weekdays)}"], [], True
        if weekdays & _SUNDAY:
            rest = weekdays & ~_SUNDAY
            dow = _with_lead("*/7", rest, _dow_field(rest) if rest else "")
            return [f"{head} $ {month} {dow}"], [], True
        return [f"{head} $ {month} *"], [_and_inexact("the last day", weekdays)], False
    if weekdays == ALL_WEEKDAYS:
        return [f"{head} {_days_field(days)} {month} *"], [], True
    if target.and_logic:
        return [f"{head} {_days_field(days)} {month} {_dow_field(weekdays)}"], [], True
    if weekdays & _SUNDAY:
        rest = weekdays & ~_SUNDAY
        dow = _with_lead("*/7", rest, _dow_field(rest) if rest else "")
        return [f"{head} {_days_field(days)} {month} {dow}"], [], True
    if days & (1 << 1):
        rest = days & ~(1 << 1)
        dom = _with_lead("*/31", rest, _days_field(rest) if rest else "")
        return [f"{head} {dom} {month} {_dow_field(weekdays)}"], [], True
    # no exact single form: offer the smaller superset
    if days.bit_count() * 12 <= weekdays.bit_count() * 52:
        expr = f"{head} {_days_field(days)} {month} *"
    else:
        expr = f"{head} * {month} {_dow_field(weekdays)}"
    return [expr], [_and_inexact(f"day(s) {_days_field(days)}", weekdays)], False


def _and_inexact(what: str, weekdays: int) -> Finding:
    return F.error(
        F.DOM_DOW_AND_INEXACT,
        f"pgAgent runs on {what} only when it is also one of weekdays {_dow_field(weekdays)}; "
        "pg_cron ORs the two fields, and the exact encodings need Sunday among the weekdays or "
        "day 1 among the month-days",
        "the entry offered is a superset: add a date guard to the command, or turn on "
        "cron.match_dom_and_dow (pg_cron 1.6.8 and later; it changes every job on the server)",
    )


def _dedupe(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _target_slots(agents: Sequence[AgentSchedule], delta: int, mode: Mode) -> list[Slot]:
    """The schedules' slots moved to the target's wall clock and merged: what gets encoded."""
    return merge_slots([x for a in agents for x in shift_slot(effective_slot(a, mode), delta)])


def encoded_entries(
    schedules: Sequence[AgentSchedule],
    *,
    target: CronTarget,
    agent_zone: str = "UTC",
    mode: Mode = "actual",
    since: dt.date | None = None,
    days: int = DEFAULT_DAYS,
) -> tuple[str, ...]:
    """The entries :func:`agent_to_cron` writes for ``schedules`` (when it writes any), without
    its proof: cheap, so a caller can see whether a translation could give fewer entries before
    paying for the proof."""
    start = since if since is not None else default_since(schedules)
    delta, _ = zone_delta(agent_zone, target.zone, start, proof_days(schedules, start, days))
    slots = _target_slots(schedules, delta, mode)
    return _dedupe([e for slot in slots for e in encode_slot(slot, target)[0]])


def agent_to_cron(
    schedule: AgentSchedule | model.Schedule | Sequence[AgentSchedule | model.Schedule],
    *,
    target: CronTarget,
    agent_zone: str = "UTC",
    mode: Mode = "actual",
    body: Body = "4.2",
    since: dt.date | None = None,
    days: int = DEFAULT_DAYS,
) -> CronTranslation:
    """The fewest readable pg_cron entries for a pgAgent schedule, checked for exactness.

    Several schedules (of one job, which pgAgent runs at most once a minute) are translated as
    their union, so coinciding parts merge. ``mode="actual"`` reproduces what pgAgent really ran
    (its bugs included, each with a finding); ``mode="configured"`` what the user ticked. Macros,
    names, reversed ranges and anything the target release misreads are never emitted.
    """
    items = [schedule] if isinstance(schedule, (AgentSchedule, model.Schedule)) else schedule
    agents = tuple(as_agent(item) for item in items)
    start = since if since is not None else default_since(agents)
    far = beyond_proof(agents, start, days)
    days = proof_days(agents, start, days)
    findings: list[Finding] = []
    if far:
        findings.append(
            F.warning(
                F.DATES_BEYOND_PROOF,
                f"start, end or exception date(s) {', '.join(map(str, far[:3]))} lie too far "
                "ahead to prove what pg_cron does there; pg_cron has no dates, so it keeps "
                "firing on them",
                "guard the command on those dates, or drop them knowingly",
            )
        )
    for agent in agents:
        findings += [f for f in agent_findings(agent, body=body) if f not in findings]
    delta, steady = zone_delta(agent_zone, target.zone, start, days)
    slots = _target_slots(agents, delta, mode)
    expressions: list[str] = []
    exact_encoding = True
    for slot in slots:
        got, notes, exact = encode_slot(slot, target)
        expressions += got
        findings += [n for n in notes if n not in findings]
        exact_encoding = exact_encoding and exact
    exprs = _dedupe(expressions)
    parsed: list[CronSchedule] = []
    for expr in exprs:
        try:
            cron = parse_cron(expr, target.version)
        except CronSyntaxError as exc:  # pragma: no cover - the encoder only writes valid text
            raise AssertionError(f"generated {expr!r} is invalid on {target.version}") from exc
        if cron.kind != "cron":
            findings.append(
                F.error(
                    F.TARGET_MISREADS_NUMERIC_FIRST,
                    f"pg_cron {target.version} reads {expr!r} as an interval of "
                    f"{cron.seconds} seconds (#239)",
                    "upgrade to 1.5.1 or later; pgbridge refuses to schedule this on 1.5.0",
                )
            )
            return CronTranslation((), False, tuple(findings), None)
        parsed.append(cron)
    if target.version.date_fields_from_tomorrow and any(not s.any_day for s in slots):
        findings.append(
            F.error(
                F.TARGET_DATE_OFF_BY_ONE,
                f"pg_cron {target.version} reads the date of 24 hours later, so day-restricted "
                "entries run one day early (#288)",
                "upgrade to 1.6.2 or later (or set cron.timezone = 'GMT+24' as in #290)",
            )
        )
    left = agent_fireset(agents, agent_zone, mode=mode, body=body)
    right = cron_fireset(parsed, target.zone, and_logic=target.and_logic)
    result = Equivalence.of(compare(left, right, start, days))
    if not result.exact:
        findings += _explain(
            agents,
            parsed,
            right,
            result,
            target,
            agent_zone,
            mode,
            body,
            start,
            days,
            steady,
            delta,
        )
    if result.agent_fires == 0:
        findings.append(
            F.error(
                F.NEVER_FIRES,
                f"this schedule never fires between {_day(result.since)} and {_day(result.until)}",
                "migrate it as an inactive job or drop it",
            )
        )
    findings += _overlaps(parsed, target, start, days)
    exact = result.exact and exact_encoding and not far
    return CronTranslation(exprs, exact, tuple(findings), result)


def _overlaps(
    parsed: list[CronSchedule], target: CronTarget, since: dt.date, days: int
) -> list[Finding]:
    """A minute in two entries runs the job twice under pg_cron (pgAgent: once)."""
    shared = 0
    for i, a in enumerate(parsed):
        for b in parsed[i + 1 :]:
            if not may_meet(a, b):
                continue
            result = compare(
                cron_fireset([a], target.zone, and_logic=target.and_logic),
                cron_fireset([b], target.zone, and_logic=target.and_logic),
                since,
                days,
            )
            shared += result.left_total - result.left_only
    if not shared:
        return []
    return [
        F.warning(
            F.ENTRIES_OVERLAP,
            f"{shared} fire time(s) over the horizon are in more than one entry: separate pg_cron "
            "jobs would run twice there, where pgAgent ran once",
            "schedule the entries as one job's runs serialised by an advisory lock that skips "
            "a run already started this minute",
        )
    ]


def _explain(
    agents: tuple[AgentSchedule, ...],
    parsed: list[CronSchedule],
    right: FireSet,
    result: Equivalence,
    target: CronTarget,
    agent_zone: str,
    mode: Mode,
    body: Body,
    since: dt.date,
    days: int,
    steady: bool,
    delta: int,
) -> list[Finding]:
    """Findings that say why a translation is not exact, with the numbers (``right``: the fire
    set of ``parsed``)."""
    out: list[Finding] = []
    years = days / 365.25
    since_day = day_number(since)
    bare = tuple(without_dates(a) for a in agents)
    exceptions = sum(len(a.exceptions) for a in agents)
    starts = [a.start for a in agents if a.start is not None]
    ends = [a.end for a in agents if a.end is not None]
    if bare != agents:
        fields_only = compare(
            agent_fireset(bare, agent_zone, mode=mode, body=body), right, since, days
        )
        if exceptions:
            out.append(
                F.warning(
                    F.EXCEPTIONS_NOT_REPRESENTABLE,
                    f"pg_cron has no exceptions: {exceptions} exception(s) remove "
                    "fire times that the pg_cron entries keep",
                    "guard the command (skip on the excepted local dates/times), or drop the "
                    "exceptions knowingly",
                )
            )
        if starts or ends:
            out.append(
                F.warning(
                    F.START_END_NOT_REPRESENTABLE,
                    "pg_cron has no start or end: the entries also fire "
                    + _outside(min(starts, default=None), max(ends, default=None)),
                    "activate and deactivate the job at those instants, or guard the command",
                )
            )
        if fields_only.equal:
            return out
    if not steady:
        moved = max(result.agent_only, result.cron_only)
        by = " or ".join(
            f"{abs(d - delta)} minutes {'earlier' if d > delta else 'later'}"
            for d in offset_gaps(agent_zone, target.zone, since, days)
            if d != delta
        )
        out.append(
            F.error(
                F.TZ_DST_MISMATCH,
                f"pgAgent's zone {agent_zone} and pg_cron's {target.zone} do not keep one offset "
                f"apart; translated with {delta:+d} minutes, {moved / years:.0f} fire times per "
                f"year run {by} under pg_cron (first: {_when(result.first_agent_only)} runs at "
                f"{_when(result.first_cron_only)} instead)",
                "set cron.timezone to the pgAgent zone (pg_cron 1.5+), or accept the move",
            )
        )
    elif (
        delta == 0
        and result.agent_only == 0
        and result.cron_only
        and not fixed_over(target.zone, since_day, since_day + days)
    ):  # one rule (one zone, or two names for it) with DST: the repeated hour runs twice
        out.append(
            F.warning(
                F.DST_FALLBACK_RUNS_TWICE,
                f"in {target.zone} pg_cron runs the repeated fall-back hour twice where pgAgent "
                f"ran once: {result.cron_only / years:.1f} extra run(s) per year (first at "
                f"{_when(result.first_cron_only)})",
                "guard the command, or schedule outside the repeated hour",
            )
        )
    elif delta % DAY and any(
        e.days != ALL_DAYS or e.months != ALL_MONTHS or e.last for e in parsed
    ):
        out.append(
            F.warning(
                F.TZ_SHIFT_MOVES_MONTHDAYS,
                f"moving from {agent_zone} to {target.zone} ({delta:+d} minutes) crosses "
                "midnight and month ends, which month-days cannot follow exactly",
                "set cron.timezone to the pgAgent zone (pg_cron 1.5+) or add a date guard",
            )
        )
    if any(c.last for c in parsed) and not fixed_over(target.zone, since_day, since_day + days):
        out.append(
            F.warning(
                F.LAST_DAY_DST_SHIFT,
                f"pg_cron decides $ from the local date 24 hours later; next to a DST change in "
                f"{target.zone} that moves the last-day window by the clock change",
                "schedule last-day jobs outside the hour next to midnight, or use a GMT-like "
                "cron.timezone",
            )
        )
    out.append(
        F.warning(
            F.NOT_EXACT,
            f"over {_day(result.since)}..{_day(result.until)}: {result.agent_only} pgAgent "
            f"fire time(s) missing{_first(result.first_agent_only)}, {result.cron_only} extra"
            f"{_first(result.first_cron_only)}",
        )
    )
    return out


def _when(instant: dt.datetime | None) -> str:
    """An instant for a message (UTC, to the minute); never Python's ``None``. From ``isoformat``
    (strftime is slower), which writes the years before 1000 with leading zeros: those as before."""
    if instant is None:
        return "never"
    utc = instant.astimezone(dt.timezone.utc)
    if utc.year < 1000:
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    return f"{utc.isoformat(' ', 'minutes')[:16]} UTC"


def _day(instant: dt.datetime) -> str:
    """The date of an instant (in its own offset), as :func:`_when` writes it."""
    return f"{instant:%Y-%m-%d}" if instant.year < 1000 else instant.date().isoformat()


def _first(instant: dt.datetime | None) -> str:
    return "" if instant is None else f" (first {_when(instant)})"


def _outside(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """Where entries fire beyond a schedule's window, in words (no ``-inf``/``+inf``)."""
    if start is not None and end is not None:
        return f"before {_when(start)} and after {_when(end)}"
    if start is not None:
        return f"before {_when(start)}"
    return f"after {_when(end)}"


def _agent_masks(slot: Slot) -> list[tuple[int, bool, int]]:
    """(monthdays, last_day, months) groups for a slot that never ask pgAgent for a day its
    candidate month lacks (which would raise an error in pgAgent)."""
    groups: dict[int, int] = {}
    out: list[tuple[int, bool, int]] = []
    if slot.last and slot.days != ALL_DAYS:
        out.append((0, True, slot.months))
    if slot.days == ALL_DAYS:
        return [(ALL_DAYS, False, slot.months)]
    for days, months in (
        (slot.days & span(1, 28), slot.months),
        (slot.days & ((1 << 29) | (1 << 30)), slot.months & ~_FEB),
        (slot.days & (1 << 31), slot.months & LONG_MONTHS),
    ):
        if days and months:
            groups[months] = groups.get(months, 0) | days
    out += [(days, False, months) for months, days in groups.items()]
    return out


def slot_to_agent(slot: Slot) -> list[AgentSchedule]:
    """pgAgent schedules whose union (in pgAgent's real rule) is ``slot``."""
    out = []
    for days, last, months in _agent_masks(slot):
        schedule = AgentSchedule(
            minutes=0 if slot.minutes == ALL_MINUTES else slot.minutes,
            hours=0 if slot.hours == ALL_HOURS else slot.hours,
            weekdays=0 if slot.weekdays == ALL_WEEKDAYS else slot.weekdays,
            monthdays=0 if days == ALL_DAYS else days,
            last_day=last,
            months=0 if months == ALL_MONTHS else months,
        )
        if schedule.is_empty:
            # all-true minutes avoid pgAgent's every-2-minutes reading of an empty schedule
            schedule = replace(schedule, minutes=ALL_MINUTES)
        out.append(schedule)
    return out


def cron_to_agent(
    expressions: str | Sequence[str | CronSchedule],
    *,
    source: CronTarget,
    agent_zone: str = "UTC",
    since: dt.date | None = None,
    days: int = DEFAULT_DAYS,
) -> AgentTranslation:
    """pgAgent schedules (for one job) that fire when the pg_cron entries on ``source`` do."""
    items = [expressions] if isinstance(expressions, str) else list(expressions)
    start = since if since is not None else default_since()
    findings: list[Finding] = []
    parsed: list[CronSchedule] = []
    for item in items:
        cron = item if isinstance(item, CronSchedule) else parse_cron(item, source.version)
        findings += cron.notes
        if cron.kind == "interval":
            findings.append(
                F.error(
                    F.CRON_SECONDS_NOT_REPRESENTABLE,
                    f"{cron.text!r} runs every {cron.seconds} seconds; pgAgent schedules "
                    "have minute resolution",
                    "run a loop inside the job, or schedule every minute",
                )
            )
        elif cron.kind == "reboot":
            findings.append(
                F.error(
                    F.CRON_REBOOT_NOT_REPRESENTABLE,
                    f"{cron.text!r} runs when pg_cron starts; pgAgent has no such trigger",
                    "run it from the agent's start-up script instead",
                )
            )
        parsed.append(cron)
    delta, steady = zone_delta(source.zone, agent_zone, start, days)
    slots = [s for c in parsed for s in c.slots(and_logic=source.and_logic)]
    shifted = merge_slots([x for s in slots for x in shift_slot(s, delta)])
    schedules: list[AgentSchedule] = []
    for slot in shifted:
        for schedule in slot_to_agent(slot):
            if schedule not in schedules:
                schedules.append(schedule)
        if slot.months & _FEB and (slot.days >> 29) & 1 and slot.days != ALL_DAYS:
            findings.append(
                F.warning(
                    F.CRON_FEB_29_DROPPED,
                    "pgAgent raises an error for day 29 in February of common years, so the "
                    "export leaves 29 February out",
                    "add a separate yearly job for leap days if they matter",
                )
            )
    traps = [t for schedule in schedules for t in short_month_traps(schedule)]
    if traps:
        findings.append(
            F.error(
                F.SHORT_MONTH_ERROR,
                f"pgAgent cannot run these schedules reliably: its next-run search would build "
                f"{', '.join(traps)}, raise 'date/time field value out of range' and leave the "
                "job stuck",
                "keep this job in pg_cron, or choose days that exist in the months around them",
            )
        )
    left = agent_fireset(tuple(schedules), agent_zone) if schedules else None
    right = cron_fireset(
        [c for c in parsed if c.kind == "cron"], source.zone, and_logic=source.and_logic
    )
    if left is None:
        return AgentTranslation((), False, tuple(findings), None)
    result = Equivalence.of(compare(left, right, start, days))
    if not result.exact:
        if not steady:
            findings.append(
                F.error(
                    F.TZ_DST_MISMATCH,
                    f"pg_cron's zone {source.zone} and pgAgent's {agent_zone} do not keep one "
                    f"offset apart ({result.agent_only + result.cron_only} fire times differ)",
                    "run pgAgent in the same zone",
                )
            )
        findings.append(
            F.warning(
                F.NOT_EXACT,
                f"{result.agent_only} pgAgent fire time(s) extra"
                f"{_first(result.first_agent_only)}, {result.cron_only} pg_cron fire time(s) "
                f"missing{_first(result.first_cron_only)}",
            )
        )
    dropped = any(f.code == F.CRON_FEB_29_DROPPED for f in findings)
    exact = result.exact and not dropped and all(c.kind == "cron" for c in parsed)
    return AgentTranslation(tuple(schedules), exact, tuple(findings), result)
