"""Signal -> order through the execute logic, and a reservation race soak, against moto server and
the Alpaca emulator on 127.0.0.1 (the real boto3 and alpaca-py clients).

1. ``execute_signal`` end to end (ticket read, account, reservation, submit, confirm, audit),
   p50/p99 wall time per signal, against two baselines measured in the same run: one consistent
   GetItem and one GET /v2/account through the adapter. DynamoDB requests per approved entry
   (counted on the wire, botocore's before-send) and broker requests per signal.
2. Race soak: ``SOAK_RESERVATIONS`` (10,000) reservations from 32 threads (one engine and one
   client each, like 32 Lambdas), in rounds on a fresh small table (moto copies the table in
   every transaction): each round leaves a few free position slots and hands some signals to
   two threads at once. Counted: limit breaches (more approvals than free slots) and duplicate
   orders (a signal approved twice); the aim is zero of each.

    python -m bench bench_orders       (BENCH_SOAK_RESERVATIONS=2000 for a quicker soak)
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
N_SIGNALS = 100
BATCH = 10  # signals per fresh table
THREADS = 32
SOAK_RESERVATIONS = int(os.environ.get("BENCH_SOAK_RESERVATIONS", "10000"))
PER_THREAD = 4  # reservations per thread per round
EQUITY = 10_000_000.0  # the emulator's cash: room for every bench order


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(int(len(ordered) * 0.99) - 1, 0)]


def _row(name: str, samples: list[float], baseline: float) -> None:
    p50, p99 = _percentiles(samples)
    print(f"{name:52} {p50 * 1e3:9.2f} {p99 * 1e3:9.2f} ms   {p50 / baseline:6.1f}x")


def _timed(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _roomy() -> Any:
    from tests.support.safety import uniform_config

    return uniform_config(
        {"max_concurrent_positions": 10**6, "max_daily_trades": 10**6,
         "max_daily_trades_per_strategy": 10**6, "min_seconds_between_trades": 0,
         "max_exposure_pct": 1.0},
    )  # fmt: skip


def _counting_client() -> tuple[Any, Counter[str]]:
    """A DynamoDB client and the count of the requests it sends, by operation."""
    import boto3

    from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG

    client = boto3.client("dynamodb", config=CLIENT_CONFIG)
    sent: Counter[str] = Counter()
    client.meta.events.register(
        "before-send.dynamodb.*",
        lambda request, **_: sent.update([request.headers["X-Amz-Target"].decode().split(".")[-1]]),
    )
    return client, sent


def _report_calls(per_entry: list[Counter[str]], broker_calls: list[int]) -> None:
    calls = [sum(c.values()) for c in per_entry]
    detail: Counter[str] = Counter()
    for c in per_entry:
        detail.update(c)
    mean = {k: round(v / len(per_entry), 2) for k, v in detail.items()}
    print(f"{'DynamoDB requests per approved entry':52} {statistics.mean(calls):9.2f}   {mean}")
    print(f"{'broker requests per approved entry (account+submit)':52} "
          f"{statistics.mean(broker_calls):9.2f}")  # fmt: skip


class _StampedBroker:
    """The adapter, noting when the broker acknowledged the last order (perf_counter)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.accepted_at: float | None = None

    def submit(self, order: Any) -> Any:
        placed = self._inner.submit(order)
        self.accepted_at = time.perf_counter()
        return placed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _get_item_baseline(client: Any, table: str) -> list[float]:
    key = {"pk": {"S": "PORTFOLIO"}, "sk": {"S": "STATE"}}
    for _ in range(20):  # warm the connection up
        client.get_item(TableName=table, Key=key, ConsistentRead=True)
    return _timed(lambda: client.get_item(TableName=table, Key=key, ConsistentRead=True), 100)


@dataclass
class _Runs:
    samples: list[float] = field(default_factory=list)  # whole runs
    to_broker: list[float] = field(default_factory=list)  # start -> the broker's ack
    per_entry: list[Counter[str]] = field(default_factory=list)  # DynamoDB requests
    broker_calls: list[int] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)


def _run_signal(msg: Any, deps: Any, emulator: Any, sent: Counter[str], runs: _Runs) -> None:
    from maxtrader.execution import Outcome, RetryLaterError, execute_signal

    broker = deps.broker
    sent.clear()
    requests = sum(emulator.count(r) for r in ("account", "submit_order"))
    start = time.perf_counter()
    try:
        result = execute_signal(msg, deps)
    except RetryLaterError as exc:  # moto too slow for the client's timeout
        runs.outcomes[f"retry: {exc.result.reason}"] += 1
        return
    runs.samples.append(time.perf_counter() - start)
    if broker.accepted_at is not None:
        runs.to_broker.append(broker.accepted_at - start)
        broker.accepted_at = None
    runs.outcomes[result.outcome.value] += 1
    if result.outcome is Outcome.SUBMITTED:
        runs.per_entry.append(Counter(sent))
        after = sum(emulator.count(r) for r in ("account", "submit_order"))
        runs.broker_calls.append(after - requests)


def bench_signal_to_order() -> None:
    from maxtrader.adapters.alert_cooldown import Cooldown
    from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
    from maxtrader.adapters.memory_alerts import InMemoryAlerts
    from maxtrader.domain.clock import FixedClock
    from maxtrader.domain.safety.engine import SafetyEngine
    from maxtrader.execution import ExecutionDeps
    from tests.support.alpaca_env import START, WEEK, make_broker, start_emulator
    from tests.support.execution import EQUITY_STRATEGIES, message
    from tests.support.moto_server import create_state_table
    from tests.support.safety import seed_figures

    clock = FixedClock(START)
    emulator = start_emulator(clock, cash=EQUITY)
    try:
        broker = _StampedBroker(make_broker(emulator))
        client, sent = _counting_client()
        get_item = _get_item_baseline(client, create_state_table())
        account = _timed(broker.account, 100)
        runs = _Runs()
        for batch in range(N_SIGNALS // BATCH):
            store = DynamoDBStateStore(client, create_state_table())
            seed_figures(store, clock, EQUITY)
            deps = ExecutionDeps(
                broker=broker, engine=SafetyEngine(_roomy(), store, clock),
                alerts=InMemoryAlerts(clock, Cooldown(timedelta(minutes=15))),
                calendar=WEEK, strategies=EQUITY_STRATEGIES, clock=clock, sleep=time.sleep,
            )  # fmt: skip
            for n in range(BATCH):
                msg = message(minute=-(batch * BATCH + n), risk=50.0, decided_at=clock.now())
                _run_signal(msg, deps, emulator, sent, runs)
        base = _percentiles(get_item)[0]
        print(f"\n{'signal -> order (moto + emulator, 127.0.0.1)':52} {'p50':>9} {'p99':>9}"
              f"      {'vs GetItem':>9}")  # fmt: skip
        _row("baseline: one consistent GetItem", get_item, base)
        _row("baseline: broker.account() (GET /v2/account)", account, base)
        _row("signal -> order acknowledged by the broker", runs.to_broker, base)
        _row(f"execute_signal, whole run (n={len(runs.samples)}: + confirm, audit)",
             runs.samples, base)  # fmt: skip
        print(f"outcomes: {dict(runs.outcomes)}")
        _report_calls(runs.per_entry, runs.broker_calls)
    finally:
        emulator.stop()


def bench_race_soak() -> None:
    import boto3
    from botocore.config import Config

    from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
    from maxtrader.domain.clock import FixedClock
    from maxtrader.domain.safety.engine import SafetyEngine
    from tests.support.alpaca_env import START
    from tests.support.moto_server import create_state_table
    from tests.support.safety import entry, market, seed_figures, signal_ref, uniform_config

    patient = Config(retries={"max_attempts": 1}, connect_timeout=30, read_timeout=120)
    clients = [boto3.client("dynamodb", config=patient) for _ in range(THREADS)]
    rng = random.Random(7)  # noqa: S311 - a reproducible soak, not a secret
    per_round = THREADS * PER_THREAD
    rounds = -(-SOAK_RESERVATIONS // per_round)
    tally: Counter[str] = Counter()
    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        for number in range(rounds):
            clock = FixedClock(START + timedelta(days=number))  # fresh daily counters
            free = rng.randint(1, 8)
            limits = {"max_concurrent_positions": free, "max_daily_trades": 10**6,
                      "max_daily_trades_per_strategy": 10**6,
                      "min_seconds_between_trades": 0, "max_exposure_pct": 1.0}  # fmt: skip
            config = uniform_config(limits)
            table = create_state_table()
            stores = [DynamoDBStateStore(c, table) for c in clients]
            seed_figures(stores[0], clock)
            engines = [SafetyEngine(config, s, clock, attempts=THREADS + 2) for s in stores]
            # Each thread's signals; a quarter of them handed to a second thread too.
            signals = [[signal_ref("soak") for _ in range(PER_THREAD)] for _ in range(THREADS)]
            for t in range(THREADS):
                if rng.random() < 0.25:
                    signals[(t + 1) % THREADS][0] = signals[t][1]
            barrier = threading.Barrier(THREADS)

            def race(
                t: int,
                engines: list[SafetyEngine] = engines,
                signals: list[list[str]] = signals,
                barrier: threading.Barrier = barrier,
            ) -> list[tuple[str, bool, str]]:
                barrier.wait()
                out = []
                for sid in signals[t]:
                    verdict = engines[t].reserve(entry(signal=sid, qty=1), market())
                    reason = ",".join(c.name for c in verdict.failures)
                    out.append((sid, verdict.approved, reason))
                return out

            results = [r for rs in pool.map(race, range(THREADS)) for r in rs]
            _tally(tally, results, free, stores[0].portfolio().slots)
    elapsed = time.perf_counter() - started
    print(f"\n{'race soak (32 threads, moto server)':52} {'count':>9}")
    print(f"{'reservations attempted':52} {tally['attempts']:9d}   {rounds} rounds, "
          f"{elapsed:.0f} s")  # fmt: skip
    print(f"{'approved':52} {tally['approved']:9d}   of {tally['offered']} free slots")
    print(f"{'free slots left unused (approvals lost)':52} {tally['unused']:9d}")
    print(f"{'rejected as state_unavailable (lost races x34)':52} {tally['unavailable']:9d}")
    print(f"{'limit breaches (approved beyond the free slots)':52} {tally['breaches']:9d}")
    print(f"{'duplicate orders (a signal approved twice)':52} {tally['duplicates']:9d}")


def _tally(tally: Counter[str], results: list[tuple[str, bool, str]], free: int, held: int) -> None:
    """One round's verdicts against its free slots and the table's slot counter."""
    approved = [sid for sid, ok, _ in results if ok]
    tally["attempts"] += len(results)
    tally["approved"] += len(approved)
    tally["offered"] += free
    tally["unavailable"] += sum(1 for _, ok, why in results if not ok and "state_store" in why)
    tally["breaches"] += max(0, len(approved) - free) + max(0, held - free)
    tally["unused"] += max(0, free - len(set(approved)))  # a slot no racer got
    tally["duplicates"] += sum(n - 1 for n in Counter(approved).values() if n > 1)


def main() -> None:
    sys.path[:0] = [str(REPO / "infra"), str(REPO)]
    # As the tests do: a loaded machine's moto may take longer than a Lambda's 3 s budget.
    os.environ.setdefault("MAXTRADER_AWS_READ_TIMEOUT_SECONDS", "20")
    from tests.support.moto_server import start_moto_server

    proc, url = start_moto_server()
    try:
        os.environ.update(
            AWS_ENDPOINT_URL=url,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106  (moto accepts anything)
        )
        bench_signal_to_order()
        bench_race_soak()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
