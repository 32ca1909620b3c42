"""Parity: the live system still is the system that was backtested (docs/parity.md).

    from maxtrader.parity import check_day, nightly_parity, compare, decisions_of
    result = check_day(day, DaySources(...), safety_config)   # replay + compare -> ParityResult
    result.ok, result.differences, result.to_json()           # JSON: {day, ok, compared,
                                                              #        differences[], ...}

Modules: records (a day's SIGNAL / VERDICT / NOT_SENT records by signal id), regime_source
(live's regime read back as a RegimeTimeline), replay (one day through the backtester from its
starting state, recorded as live records it), compare (the differences and their causes),
causes (the guesses at why, for each difference), nightly (the scheduled run: replay, compare,
alert, store).

Ports only: no AWS, broker or vendor SDK (tests/unit/test_dependency_rule.py).
"""

from __future__ import annotations

from maxtrader.parity.compare import (
    CauseContext,
    Difference,
    DifferenceKind,
    ParityResult,
    ParitySettings,
    compare,
)
from maxtrader.parity.nightly import NightlyOutcome, ParityPorts, check_day, nightly_parity
from maxtrader.parity.records import Decisions, decisions_of
from maxtrader.parity.regime_source import live_timeline, regime_record
from maxtrader.parity.replay import DayInputs, DaySources, load_day, replay_day

__all__ = [
    "CauseContext",
    "DayInputs",
    "DaySources",
    "Decisions",
    "Difference",
    "DifferenceKind",
    "NightlyOutcome",
    "ParityPorts",
    "ParityResult",
    "ParitySettings",
    "check_day",
    "compare",
    "decisions_of",
    "live_timeline",
    "load_day",
    "nightly_parity",
    "regime_record",
    "replay_day",
]
