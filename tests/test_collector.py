"""Bulk phases pause the cyclic garbage collector and always leave it as they found it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from bridge import collector
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.planner.build import make_plan
from bridge.planner.target import Target
from tests.factories import catalog_of


@pytest.fixture
def collecting() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@pytest.mark.usefixtures("collecting")
def test_paused_turns_the_collector_off_and_back_on() -> None:
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.usefixtures("collecting")
def test_paused_turns_it_back_on_after_an_error() -> None:
    with pytest.raises(ZeroDivisionError), collector.paused():
        _ = 1 / 0
    assert gc.isenabled()


@pytest.mark.usefixtures("collecting")
def test_a_caller_who_turned_it_off_keeps_it_off() -> None:
    gc.disable()
    with collector.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


@pytest.mark.usefixtures("collecting")
def test_planning_leaves_the_collector_on_and_makes_no_cycles() -> None:
    """The pause is sound only while planning makes no garbage cycles: none are left behind."""
    daily = ScheduleSpec("daily", minutes=frozenset({30}), hours=frozenset({2}))
    catalog = catalog_of(
        JobSpec("a", [StepSpec("s", "SELECT 1; VACUUM t")], [daily]),
        JobSpec("b", [StepSpec("s", "UPDATE t SET a = 1 WHERE b IN (SELECT c FROM d)")], [daily]),
    )
    gc.collect()
    plan = make_plan(catalog, Target("1.6.7", "UTC", "postgres"))
    assert gc.isenabled()
    assert len(plan.jobs) == 2
    assert gc.collect() == 0


@pytest.mark.usefixtures("collecting")
def test_what_the_phase_made_joins_the_oldest_generation() -> None:
    """No young collection is left to walk the phase's objects afterwards, and nothing is left
    frozen (a frozen object would never be collected)."""
    gc.collect()
    with collector.paused():
        made = [[i] for i in range(10_000)]
    assert gc.get_count()[0] < 100 and gc.get_freeze_count() == 0
    assert made[-1] == [9_999]


@pytest.mark.usefixtures("collecting")
def test_a_callers_frozen_objects_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector.paused():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


@pytest.mark.usefixtures("collecting")
def test_nested_and_concurrent_phases_restore_it_once_the_last_ends() -> None:
    """A fleet plans several catalogs in threads: the first phase to end must not turn the
    collector back on under the others."""
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector.paused():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=other)
    worker.start()
    assert inside.wait(10)
    with collector.paused():
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread's phase still runs
    release.set()
    worker.join(10)
    assert gc.isenabled()
