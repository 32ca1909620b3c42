"""The end-of-day function (Scheduler at 12:45 and 15:45 New York and 5 minutes after each, the
calendar deciding): at today's flatten time (15:45, or 12:45 on a 13:00 early close) exit every
ticket through the monitor's own exits, then cancel and close whatever is left, confirm flat,
and send and store the daily report.

Thin: the event is parsed, counted and its errors mapped by ``runtime.scheduled``; the adapters
come from ``runtime.factory``; the logic is ``maxtrader.operations.eod.run_eod``
(docs/operations.md). Any other firing, and any holiday, does nothing and says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from maxtrader.operations.eod import EodDependencies, run_eod
from maxtrader.operations.run_result import RunResult
from maxtrader.runtime import factory
from maxtrader.runtime.scheduled import scheduled_handler

# Between the flat re-checks the closing orders need the market; tests hand in a wait that moves
# their emulated market instead of sleeping.
wait: Callable[[float], None] = time.sleep


def run(scheduled_time: datetime) -> RunResult:
    deps = EodDependencies(
        state=factory.state_store(),
        broker=factory.broker,
        alerts=factory.alerts(),
        calendar=factory.calendar(),
        clock=factory.clock(),
        before_close=timedelta(minutes=factory.stage_config().schedules.eod_before_close_minutes),
        wait=wait,
        settle=lambda: factory.monitor_service().run(),  # the system's own exits first
    )
    return run_eod(deps, scheduled_time)


lambda_handler = scheduled_handler("eod", run)
