"""Every custom metric the dashboard and the alarms read, in one list.

All live in the ``MaxTrader`` namespace (maxtrader.runtime.observability.METRICS_NAMESPACE),
emitted by Powertools as EMF with the function's ``service`` dimension and, for some, one more
(``check``, ``kind``, ``action``, ``breaker``). The dashboard and the alarms therefore query by
name across every dimension (SEARCH and Metrics Insights), never by a dimension set they would
have to guess. tests/infra/test_consistency.py checks that each name is emitted somewhere in the
code and that the synthesized dashboard and alarms use no other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from maxtrader.runtime.observability import METRICS_NAMESPACE

NAMESPACE: Final = METRICS_NAMESPACE
Statistic = Literal["Sum", "Maximum", "Average"]


@dataclass(frozen=True, slots=True)
class MetricUse:
    name: str
    emitter: str  # who emits it (the function, or the module it calls)
    statistic: Statistic  # how a period is summarized: counts sum, gauges take their worst
    label: str


# --- trading
BARS_INGESTED: Final = MetricUse("BarsIngested", "ingest", "Sum", "bars ingested")
BARS_DUPLICATED: Final = MetricUse("BarsDuplicated", "ingest", "Sum", "bars resent (dropped)")
BARS_POLLED: Final = MetricUse("BarsPolled", "signals", "Sum", "bars polled from Massive")
SIGNALS_GENERATED: Final = MetricUse("SignalsGenerated", "signals", "Sum", "signals")
ENTRIES_APPROVED: Final = MetricUse("EntriesApproved", "execute", "Sum", "entries approved")
ENTRIES_REJECTED: Final = MetricUse("EntriesRejected", "execute", "Sum", "rejected, by check")
ORDERS_SUBMITTED: Final = MetricUse("OrdersSubmitted", "execute", "Sum", "orders submitted")
ORDER_ERRORS: Final = MetricUse("OrderErrors", "execute", "Sum", "order errors, by kind")
ORDER_LATENCY: Final = MetricUse("OrderLatencyMs", "execute", "Average", "order latency (ms)")
DAILY_PNL: Final = MetricUse("DailyPnl", "monitor", "Average", "P&L today (USD)")
DRAWDOWN: Final = MetricUse("DrawdownPct", "monitor", "Maximum", "drawdown from peak (%)")
# --- safety (gauges: 1 while the condition holds, 0 otherwise, each minute of the session)
BREAKER_TRIPPED: Final = MetricUse("BreakerTripped", "monitor", "Maximum", "breaker tripped")
KILL_SWITCH_ENGAGED: Final = MetricUse("KillSwitchEngaged", "monitor", "Maximum", "kill switch")
SAFE_MODE_ON: Final = MetricUse("SafeModeOn", "monitor", "Maximum", "safe mode")
DAILY_LOSS_STOP: Final = MetricUse("DailyLossStopHit", "monitor", "Maximum", "daily loss stop")
KILL_SWITCH_CHANGES: Final = MetricUse(
    "KillSwitchChanges", "killswitch", "Sum", "kill switch requests, by action"
)
PARITY_DIFFERENCES: Final = MetricUse(
    "ParityDifferences", "parity", "Maximum", "live vs backtest differences (nightly)"
)
# --- data
DATA_AGE: Final = MetricUse("DataAgeSeconds", "ingest", "Maximum", "newest bar age (s)")
VIX_AGE: Final = MetricUse("VixAgeSeconds", "health", "Maximum", "VIX age (s)")

METRICS: Final[tuple[MetricUse, ...]] = (
    BARS_INGESTED,
    BARS_DUPLICATED,
    BARS_POLLED,
    SIGNALS_GENERATED,
    ENTRIES_APPROVED,
    ENTRIES_REJECTED,
    ORDERS_SUBMITTED,
    ORDER_ERRORS,
    ORDER_LATENCY,
    DAILY_PNL,
    DRAWDOWN,
    BREAKER_TRIPPED,
    KILL_SWITCH_ENGAGED,
    SAFE_MODE_ON,
    DAILY_LOSS_STOP,
    KILL_SWITCH_CHANGES,
    PARITY_DIFFERENCES,
    DATA_AGE,
    VIX_AGE,
)
METRIC_NAMES: Final = tuple(metric.name for metric in METRICS)
_INSIGHTS_FUNCTION: Final = {"Sum": "SUM", "Maximum": "MAX", "Average": "AVG"}


def search(metric: MetricUse, period_seconds: int) -> str:
    """A dashboard SEARCH: one line per dimension set the metric is emitted with."""
    return (
        f'SEARCH(\'Namespace="{NAMESPACE}" MetricName="{metric.name}"\', '
        f"'{metric.statistic}', {period_seconds})"
    )


def insights(metric: MetricUse, where: str = "") -> str:
    """A Metrics Insights query folding every dimension set into one series (alarms)."""
    # Names from METRICS and a WHERE from alarms.py: no outside input reaches the query.
    query = f"SELECT {_INSIGHTS_FUNCTION[metric.statistic]}({metric.name}) FROM {NAMESPACE}"  # noqa: S608
    return f"{query} WHERE {where}" if where else query
