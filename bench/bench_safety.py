"""Safety engine latency and DynamoDB round trips, each against a baseline measured in this run.

1. Validation with the in-memory store (what a backtest pays per entry): ``evaluate`` (every
   check, no write) and ``reserve`` (checks + reservation), p50/p99, against the cost of
   validating the OrderIntent model itself.
2. A full reservation against moto server on 127.0.0.1 (one consistent read + one transaction),
   against one GetItem round trip to the same server.
3. DynamoDB requests per approved entry, per rejected entry and per exit, counted on the wire
   (botocore's before-send event), against the ideal of 1 read + 1 transaction.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
N_MEMORY = 5000
N_MOTO = 200
BATCH = 10


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


def _time(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _row(name: str, samples: list[float], baseline: float, unit: float = 1e6) -> None:
    p50, p99 = _percentiles(samples)
    label = "us" if unit == 1e6 else "ms"
    print(f"{name:52} {p50 * unit:9.1f} {p99 * unit:9.1f} {label}   {p50 / baseline:6.1f}x")


def _roomy_config() -> Any:
    from maxtrader.config.safety import SafetyConfig

    roomy = {
        "max_concurrent_positions": 10**9,
        "max_daily_trades": 10**9,
        "max_daily_trades_per_strategy": 10**9,
        "min_seconds_between_trades": 0,
        "max_exposure_pct": 1.0,
    }
    # Overrides merge over the specification's per regime: pin NORMAL_VOL's to the roomy limits.
    pinned = {k: roomy[k] for k in ("max_daily_trades", "max_concurrent_positions")}
    return SafetyConfig.model_validate(
        {"limits": roomy, "regime_overrides": {"NORMAL_VOL": pinned}}
    )


def bench_memory() -> None:
    from datetime import UTC, datetime

    from maxtrader.adapters.memory_store import InMemoryStateStore
    from maxtrader.domain.clock import FixedClock
    from maxtrader.domain.models import OrderIntent
    from maxtrader.domain.safety.engine import SafetyEngine
    from tests.support.safety import entry, market, seed_figures

    clock = FixedClock(datetime(2024, 6, 3, 14, tzinfo=UTC))
    store = InMemoryStateStore()
    seed_figures(store, clock)  # the stored equity figures the engine decides on
    engine = SafetyEngine(_roomy_config(), store, clock)
    intent, ctx = entry(), market()
    raw = intent.model_dump()
    intents = iter([entry() for _ in range(N_MEMORY + 100)])
    for _ in range(100):  # warm up
        engine.evaluate(intent, ctx)
    baseline = _time(lambda: OrderIntent.model_validate(raw), N_MEMORY)
    base50 = _percentiles(baseline)[0]
    print(f"{'in-memory store':52} {'p50':>9} {'p99':>9}      {'vs baseline':>8}")
    _row("baseline: OrderIntent.model_validate", baseline, base50)
    _row(
        "SafetyEngine.evaluate (21 checks, no write)",
        _time(lambda: engine.evaluate(intent, ctx), N_MEMORY),
        base50,
    )
    _row(
        "SafetyEngine.reserve (checks + reservation + audit)",
        _time(lambda: engine.reserve(next(intents), ctx), N_MEMORY),
        base50,
    )
    # Per bar in a backtest: mark the open positions.
    few_store = InMemoryStateStore()
    seed_figures(few_store, clock)
    few = SafetyEngine(_roomy_config(), few_store, clock)
    for _ in range(3):
        few.reserve(entry(), ctx)
    _row(
        "SafetyEngine.mark_to_market (3 open positions)",
        _time(lambda: few.mark_to_market({"SPY": 500.5}, 100_000.0), N_MEMORY),
        base50,
    )


def bench_moto() -> None:
    sys.path[:0] = [str(REPO / "infra"), str(REPO)]
    from tests.support.moto_server import start_moto_server

    proc, url = start_moto_server()
    try:
        os.environ.update(
            AWS_ENDPOINT_URL=url,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106  (moto accepts anything)
        )
        _bench_moto()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _bench_moto() -> None:
    from collections import Counter
    from datetime import UTC, datetime

    import boto3

    from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG, DynamoDBStateStore
    from maxtrader.domain.clock import FixedClock
    from maxtrader.domain.safety.engine import SafetyEngine
    from tests.support.moto_server import create_state_table
    from tests.support.safety import entry, exit_of, fill_of, market, seed_figures

    table = create_state_table()
    client = boto3.client("dynamodb", config=CLIENT_CONFIG)
    sent: Counter[str] = Counter()
    client.meta.events.register(
        "before-send.dynamodb.*",
        lambda request, **_: sent.update([request.headers["X-Amz-Target"].decode().split(".")[-1]]),
    )
    store = DynamoDBStateStore(client, table)
    clock = FixedClock(datetime(2024, 6, 3, 14, tzinfo=UTC))
    seed_figures(store, clock)
    engine = SafetyEngine(_roomy_config(), store, clock)
    ctx = market()
    key = {"pk": {"S": "PORTFOLIO"}, "sk": {"S": "STATE"}}
    for _ in range(20):  # warm up the connection
        client.get_item(TableName=table, Key=key, ConsistentRead=True)
    baseline = _time(lambda: client.get_item(TableName=table, Key=key, ConsistentRead=True), N_MOTO)
    base50 = _percentiles(baseline)[0]
    # moto copies the whole table inside every transaction, so a growing table would time moto,
    # not us: a fresh table every BATCH reservations keeps the figure about the engine.
    reserve: list[float] = []
    for _ in range(N_MOTO // BATCH):
        fresh_store = DynamoDBStateStore(client, create_state_table())
        seed_figures(fresh_store, clock)
        fresh = SafetyEngine(_roomy_config(), fresh_store, clock)
        intents = iter([entry() for _ in range(BATCH)])
        reserve += _time(lambda: fresh.reserve(next(intents), ctx), BATCH)  # noqa: B023
    print(f"\n{'moto server (127.0.0.1, single-threaded)':52} {'p50':>9} {'p99':>9}", end="")
    print(f"      {'vs baseline':>8}")
    _row("baseline: one consistent GetItem", baseline, base50, unit=1e3)
    _row("SafetyEngine.reserve (approved entry)", reserve, base50, unit=1e3)

    def count(action: Callable[[], Any]) -> Counter[str]:
        sent.clear()
        action()
        return Counter(sent)

    held = entry()
    approved = count(lambda: engine.reserve(held, ctx))
    engine.on_fill(fill_of(held, clock))
    engine.engage_kill_switch("bench", "count a rejection")
    rejected = count(lambda: engine.reserve(entry(), ctx))
    leaving = count(lambda: engine.reserve(exit_of(held), ctx))  # reduce-only: reads its ticket
    print(f"\n{'DynamoDB requests per decision':52} {'requests':>9}   detail")
    print(f"{'ideal (issue 3): one consistent read + one transaction':52} {2:9d}")
    for name, counted in (
        ("approved entry", approved),
        ("rejected entry", rejected),
        ("exit", leaving),
    ):
        print(f"{name:52} {sum(counted.values()):9d}   {dict(counted)}")


def main() -> None:
    sys.path[:0] = [str(REPO)]
    bench_memory()
    bench_moto()


if __name__ == "__main__":
    main()
