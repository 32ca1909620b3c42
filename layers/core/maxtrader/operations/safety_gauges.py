"""The safety state as gauges, read from the state store each monitor minute (alarms need them).

    safety_gauges(state, now, limits) -> [Gauge]

The alarms on "breaker tripped", "kill switch engaged", "safe mode" and "daily loss stop" watch
these (infra/maxtrader_infra/metric_names.py): a gauge emitted every minute, 1 or 0, rather than
an event count, so an alarm also sees a state set by hand or by another function, and a missing
datapoint means the monitor stopped (alarmed separately). Ports only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from maxtrader.config.safety import Limits
from maxtrader.domain.clock import trading_date
from maxtrader.domain.ports import StateStore
from maxtrader.domain.safety.state import ControlState

__all__ = ["Gauge", "safety_gauges"]


@dataclass(frozen=True, slots=True)
class Gauge:
    name: str
    unit: str  # a CloudWatch unit name ("Count", "None")
    value: float
    dimensions: dict[str, str] = field(default_factory=dict)


def safety_gauges(
    state: StateStore, now: datetime, limits: Limits, known: ControlState | None = None
) -> list[Gauge]:
    """Switches and breakers (1 = holding entries), today's P&L and whether it hit the stop: one
    read of the control items (none: ``known``, as the caller holds them now)."""
    view = known if known is not None else state.control_state(trading_date(now))
    out = [
        Gauge("KillSwitchEngaged", "Count", float(view.kill_switch.on)),
        Gauge("SafeModeOn", "Count", float(view.safe_mode.on)),
    ]
    for breaker in view.breakers:
        paused = breaker.paused(now)
        out.append(Gauge("BreakerTripped", "Count", float(paused), {"breaker": breaker.name.value}))
    pnl = view.day_realized + view.portfolio.unrealized
    start = view.start_of_day_equity
    # The daily-loss check's own floor (domain/safety/checks/loss.py): the tighter of the two.
    floor = -min(limits.max_daily_loss_pct * start, limits.max_daily_loss_abs) if start else None
    out.append(Gauge("DailyPnl", "None", pnl))
    out.append(Gauge("DailyLossStopHit", "Count", float(floor is not None and pnl <= floor)))
    return out
