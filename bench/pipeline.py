"""The bar path's cost: ingest -> signals per bar, in process against a moto server.

    python -m bench pipeline            (``make bench`` runs it through bench_pipeline.py)

1. Latency (p50/p99) of one signed request holding the minute's bars (SPY, QQQ, as the relay
   batches them) through the ingest handler, the SQS FIFO bars queue and the signals handler
   (one SQS event per receive, as the event source mapping delivers), to the signal queue: per
   bar (the request that carried it -> its record stepped, sent and saved) and per minute (the
   request -> both bars done). The handlers' clocks are fixed at each minute's close; the
   latency is wall time. The first minute (the session start: history over REST) apart.
2. DynamoDB calls per bar, ingest and signals apart (counted on the adapters' clients).
3. Each handler module's cold import in a fresh interpreter (median of 5), next to a bare
   ``import boto3`` in the same run: what a cold start pays before its first request; and
   whether the import loaded pandas (ingest and signals must not).

The moto server is single-threaded on 127.0.0.1 (tests/support/moto_server.py) and the state
table comes from the synthesized stack (a CDK synth first: ~30-60 s). Absolute figures are
loopback + moto, not AWS: read them against each other and against the boto3 baseline.

Measured 2026-12-01 on the 2 shared cores (other sessions' jobs running, so every
figure is inflated and the imports are noisy): boto3 668 ms, ingest handler 2490 ms (3.7x),
signals handler 1846 ms (2.8x), no handler loaded pandas; first minute of the session 1.9 s
(history over REST, the Massive client and its secret); then per bar p50 147 ms, p99 265 ms,
per minute of 2 bars p50 214 ms, p99 324 ms; DynamoDB calls per bar: ingest 1.00 (one
conditional PutItem per bar: up to 4 bars a request are single puts, not a transaction),
signals 1.50 (one BatchGetItem for the batch's two records, one UpdateItem per symbol).
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MINUTES = 120
IMPORT_RUNS = 5


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _lambda_env() -> dict[str, str]:
    """The staging functions' environment, as the stack sets it (execute builds its idempotency
    store at import and needs it); nothing is called at import, so no endpoint is needed."""
    from maxtrader.config.loader import load_stage
    from maxtrader.function_env import FunctionEnv

    stage = FunctionEnv.for_stage(load_stage("staging")).to_environ()
    return {**os.environ, **stage, "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'layers' / 'core'}"}  # fmt: skip


def _cold_import(module: str) -> tuple[float, bool]:
    """Median seconds to import ``module`` in a fresh interpreter, and whether pandas came."""
    code = (
        f"import sys, time; t = time.perf_counter(); import {module}; "
        "print(time.perf_counter() - t, 'pandas' in sys.modules)"
    )
    samples, pandas = [], False
    env = _lambda_env()
    for _ in range(IMPORT_RUNS):
        out = subprocess.check_output([sys.executable, "-c", code], text=True, env=env, cwd=REPO)  # noqa: S603
        seconds, loaded = out.split()
        samples.append(float(seconds))
        pandas |= loaded == "True"
    return statistics.median(samples), pandas


def _calls(*clients: Any) -> int:
    return sum(len(v) for c in clients for v in c.requests.values())


@contextlib.contextmanager
def _stage() -> Iterator[Any]:
    """The signals stage on a fresh moto server, its clients recording every call."""
    import pytest

    sys.path[:0] = [str(REPO), str(REPO / "infra")]
    from maxtrader.emulators.massive import MassiveEmulator
    from tests.support.moto_server import REGION, start_moto_server
    from tests.support.signals_stage import MASSIVE_KEY, SignalsStage
    from tests.support.signals_world import DAY, session_bars

    proc, url = start_moto_server()
    try:
        with pytest.MonkeyPatch.context() as mp, MassiveEmulator(api_key=MASSIVE_KEY) as emu:
            mp.setenv("AWS_ENDPOINT_URL", url)
            mp.setenv("AWS_DEFAULT_REGION", REGION)
            mp.setenv("AWS_ACCESS_KEY_ID", "bench")
            mp.setenv("AWS_SECRET_ACCESS_KEY", "bench")
            for symbol in ("SPY", "QQQ"):
                emu.add_bars(
                    session_bars(symbol, DAY - timedelta(days=1)) + session_bars(symbol, DAY)
                )
            started = time.perf_counter()
            stage = SignalsStage(mp, emu)
            print(f"setup (CDK synth, table, queues): {time.perf_counter() - started:.1f} s")
            stage.save_regime(DAY, 17.0)
            yield stage
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def _step_times(signals: Any) -> Iterator[list[float]]:
    """When each bar's record was done (stepped, its signals sent, its state saved)."""
    stepped_at: list[float] = []
    step_one = signals.handle_bar_message

    def timed_step(body: str | bytes, deps: Any) -> Any:
        outcome = step_one(body, deps)
        stepped_at.append(time.perf_counter())
        return outcome

    signals.handle_bar_message = timed_step
    try:
        yield stepped_at
    finally:
        signals.handle_bar_message = step_one


def _latency() -> None:
    from functions.ingest import handler as ingest
    from functions.signals import handler as signals
    from maxtrader.domain.clock import FixedClock
    from maxtrader.runtime import factory
    from maxtrader.runtime.observability import logger
    from tests.support.ingest_events import LambdaContext, body_of, signed_event
    from tests.support.recording_client import RecordingClient
    from tests.support.signals_world import DAY, minute

    logger.setLevel("WARNING")
    with _stage() as stage, _step_times(signals) as stepped_at:
        clock = FixedClock(minute("SPY", DAY, 0).closed_at)
        ingest.clock = signals.clock = clock
        sessions, audit = factory.session_store(), factory.state_store()
        sessions._client = RecordingClient(sessions._client)  # type: ignore[assignment]
        audit._client = RecordingClient(audit._client)  # type: ignore[assignment]
        latencies: list[float] = []  # per minute: the request of its 2 bars -> both stepped
        per_bar: list[float] = []  # per bar: the request that carried it -> its record done
        ingest_calls = signals_calls = 0
        out = io.StringIO()  # the handlers' EMF lines
        for i in range(MINUTES):
            bars = [minute("SPY", DAY, i), minute("QQQ", DAY, i)]
            at = bars[0].closed_at + timedelta(seconds=1)
            clock.set(at)
            stepped_at.clear()
            with contextlib.redirect_stdout(out):
                started = time.perf_counter()
                before = _calls(sessions._client, audit._client)
                ingest.lambda_handler(signed_event(body_of(*bars), at), LambdaContext())
                mid = _calls(sessions._client, audit._client)
                stage.deliver_bars(signals.lambda_handler)
                elapsed = time.perf_counter() - started
            after = _calls(sessions._client, audit._client)
            if i == 0:  # the session start (history over REST): reported apart
                print(f"first minute (session start, history fetch): {elapsed * 1000:.1f} ms, "
                      f"{after - mid} DynamoDB calls in signals")  # fmt: skip
                continue
            assert len(stepped_at) == len(bars), f"minute {i}: {len(stepped_at)} bars stepped"
            latencies.append(elapsed)
            per_bar += [done - started for done in stepped_at]
            ingest_calls += mid - before
            signals_calls += after - mid
        bars_count = 2 * (MINUTES - 1)
        print(f"per bar ingest -> signals, {bars_count} bars: "
              f"p50 {_percentile(per_bar, 0.5) * 1000:.1f} ms, "
              f"p99 {_percentile(per_bar, 0.99) * 1000:.1f} ms")  # fmt: skip
        print(f"per minute (2 bars) ingest -> signals, {MINUTES - 1} minutes: "
              f"p50 {_percentile(latencies, 0.5) * 1000:.1f} ms, "
              f"p99 {_percentile(latencies, 0.99) * 1000:.1f} ms")  # fmt: skip
        print(f"DynamoDB calls per bar: ingest {ingest_calls / bars_count:.2f}, "
              f"signals {signals_calls / bars_count:.2f}")  # fmt: skip
        factory.clear()


def _imports() -> None:
    handlers = sorted(p.parent.name for p in (REPO / "functions").glob("*/handler.py"))
    baseline, _ = _cold_import("boto3")
    print(f"{'cold import':40} {'median ms':>10} {'vs boto3':>9}  pandas")
    print(f"{'boto3 (baseline)':40} {baseline * 1000:10.1f} {1:8.2f}x")
    for name in handlers:
        module = f"functions.{name}.handler"
        try:
            seconds, pandas = _cold_import(module)
        except subprocess.CalledProcessError:
            print(f"{module}: import failed")
            continue
        print(f"{module:40} {seconds * 1000:10.1f} {seconds / baseline:8.2f}x  "
              f"{'LOADED' if pandas else 'no'}")  # fmt: skip


def main() -> None:
    _imports()
    _latency()


if __name__ == "__main__":
    main()
