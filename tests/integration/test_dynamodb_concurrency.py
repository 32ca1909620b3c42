"""32 threads race for the last slots, round after round, against moto server.

Each round leaves a known number of free slots under one counted limit (positions, daily trades,
a strategy's daily trades, trade frequency, exposure), then 32 engines (one per thread, each with
its own client, like 32 Lambdas) reserve at once. Exactly the free slots are approved, and the
table's counters match the audit log.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.clock import FixedClock, trading_date
from maxtrader.domain.models import AuditKind, OrderIntent, Verdict
from maxtrader.domain.safety.engine import SafetyEngine
from tests.support.moto_server import create_state_table
from tests.support.safety import entry, market, seed_figures, uniform_config

pytestmark = [pytest.mark.concurrency, pytest.mark.slow]

THREADS = 32
START = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Round:
    limit: str  # which limit binds
    limits: dict[str, int | float]
    taken: int  # slots already used before the race
    free: int
    qty: int = 1  # each order risks qty x $5


ROUNDS = [
    Round("positions", {"max_concurrent_positions": 5}, taken=2, free=3),
    Round("positions", {"max_concurrent_positions": 4}, taken=3, free=1),
    Round("daily", {"max_daily_trades": 7}, taken=3, free=4),
    Round("daily", {"max_daily_trades": 2}, taken=0, free=2),
    Round("strategy", {"max_daily_trades_per_strategy": 6}, taken=1, free=5),
    Round("strategy", {"max_daily_trades_per_strategy": 3}, taken=3, free=0),
    Round("frequency", {"min_seconds_between_trades": 60}, taken=0, free=1),
    # 3 % of 100,000 = 3,000; 20 x $5 = $100 per order.
    Round("exposure", {"max_exposure_pct": 0.03}, taken=24, free=6, qty=20),
    Round("positions", {"max_concurrent_positions": 6}, taken=1, free=5),
    Round("exposure", {"max_exposure_pct": 0.03}, taken=29, free=1, qty=20),
]


BINDING = {
    "positions": "concurrent_positions",
    "daily": "daily_trades",
    "strategy": "strategy_daily_trades",
    "frequency": "trade_frequency",
    "exposure": "total_exposure",
}


def config_for(r: Round) -> SafetyConfig:
    roomy: dict[str, int | float] = {
        "max_concurrent_positions": 100,
        "max_daily_trades": 100,
        "max_daily_trades_per_strategy": 100,
        "min_seconds_between_trades": 0,
        "max_exposure_pct": 1.0,
    }
    return uniform_config(roomy | r.limits)


# The server answers one request at a time and moto copies the table for every transaction, so a
# queue of 32 can take seconds: these tests race, they do not measure timeouts (see the faults).
PATIENT = Config(retries={"max_attempts": 1}, connect_timeout=30, read_timeout=60)


def test_racing_threads_take_exactly_the_free_slots(aws_env: str) -> None:
    clients = [boto3.client("dynamodb", config=PATIENT) for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)

    with ThreadPoolExecutor(THREADS) as pool:
        for number, r in enumerate(ROUNDS):
            # A new New York day per round: daily counters start at zero.
            clock = FixedClock(START + timedelta(days=number))
            day = trading_date(clock.now())
            config = config_for(r)
            table = create_state_table()  # a small table per round keeps moto's copies cheap
            stores = [DynamoDBStateStore(c, table) for c in clients]
            audit_store = stores[0]
            seed_figures(audit_store, clock)  # what the pre-market run and the monitor store
            setup = SafetyEngine(config_for(Round("setup", {}, 0, 0)), audit_store, clock)
            for _ in range(r.taken):
                assert setup.reserve(entry(qty=r.qty), market()).approved
            if r.limit == "frequency":
                assert setup.reserve(entry(qty=r.qty), market()).approved
                clock.advance(60)  # exactly 60 s since the last entry: one racer may go
            engines = [SafetyEngine(config, s, clock, attempts=THREADS + 2) for s in stores]
            intents = [entry(qty=r.qty) for _ in range(THREADS)]

            def race(
                i: int, engines: list[SafetyEngine] = engines, intents: list[OrderIntent] = intents
            ) -> Verdict:
                barrier.wait()
                return engines[i].reserve(intents[i], market())

            verdicts = list(pool.map(race, range(THREADS)))
            approved = [v for v in verdicts if v.approved]
            assert len(approved) == r.free, f"round {number} ({r.limit})"
            # Every rejection names the limit that bound (never a store failure).
            for v in verdicts:
                if not v.approved:
                    causes = [
                        rec.detail.get("cause")
                        for rec in audit_store.audit_log(day)
                        if rec.subject == v.client_order_id
                    ]
                    assert [c.name for c in v.failures] == [BINDING[r.limit]], causes
            before = r.taken + (1 if r.limit == "frequency" else 0)
            assert audit_store.day_entries(day) == before + r.free
            approved_in_audit = [
                rec
                for rec in audit_store.audit_log(day)
                if rec.kind is AuditKind.VERDICT and rec.detail["approved"] is True
            ]
            assert len(approved_in_audit) == audit_store.day_entries(day)
            assert {rec.subject for rec in approved_in_audit} >= {
                v.client_order_id for v in approved
            }
            # Free the slots for the next round.
            for ticket in audit_store.open_tickets():
                setup.release(ticket.client_order_id, "end of round")
            assert audit_store.portfolio().slots == 0
            assert audit_store.portfolio().exposure == pytest.approx(0.0, abs=1e-9)
