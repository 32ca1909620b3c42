"""Scheduler delivers at least once: two health runs of the same minute at the same time turn
safe mode on once, audit the change once, and page once."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from maxtrader.domain.models import AuditKind
from maxtrader.domain.safety.state import SwitchName
from maxtrader.operations.health import HealthDependencies, run_health
from tests.support.safety import make_engine
from tests.unit.operations.test_health_run import CALENDAR, Rig

pytestmark = pytest.mark.concurrency


@pytest.mark.parametrize("attempt", range(5))
def test_concurrent_failing_runs_change_safe_mode_once(attempt: int) -> None:
    rig = Rig()
    rig.fresh(skip="SPY", age=timedelta(minutes=attempt % 2))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    # Two containers: an engine each, one table (the store) and one alert dedup between them.
    containers = [replace(rig.deps, engine=make_engine(rig.store, rig.clock, calendar=CALENDAR))
                  for _ in range(2)]  # fmt: skip

    def run(deps: HealthDependencies) -> None:
        try:
            barrier.wait(timeout=10)
            run_health(deps, rig.clock.now())
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(deps,)) for deps in containers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert errors == [] and not any(t.is_alive() for t in threads)
    switch = rig.store.switch(SwitchName.SAFE_MODE)
    assert switch.on and switch.version == 1
    changes = [r for r in rig.store.audit_log("2024-06-03") if r.kind is AuditKind.SAFE_MODE]
    assert len(changes) == 1 and len(rig.alerts.sent) == 1
