"""One execute invocation fits inside its function's timeout: the worst case computed from the
real config values (configs/safety.yaml's execution rules, the broker the factory builds, the
execute row of the stack's function table) with every broker request timing out.

Before: DEFAULT_TIMEOUT (3.05 + 10 s a request, a read retried twice: 39.9 s) against a 30 s
function, i.e. about 330 s of worst case in 30 s."""

from __future__ import annotations

import math
from typing import Any

import pytest

from maxtrader.adapters.alpaca_broker import QUOTE_BATCH, AlpacaBroker, request_seconds
from maxtrader.adapters.secrets import AlpacaSecret
from maxtrader.config.loader import load_safety, load_stage
from maxtrader.execution.budget import (
    CallBounds,
    execute_worst_case_seconds,
    last_send_after_decision_seconds,
    send_worst_case_seconds,
)
from maxtrader.function_env import FunctionEnv
from maxtrader.runtime import factory
from maxtrader_infra.function_specs import BY_NAME

# A 0DTE SPY or QQQ chain at Alpaca: one page of contracts, up to this many (both rights).
CHAIN_CONTRACTS = 500
MARGIN = 0.9  # the worst case may use at most this share of the function's timeout
RULES = load_safety().execution


class StoredSecret:
    """Secrets as the factory asks them, without Secrets Manager (building makes no request)."""

    def get(self, name: str, model: type, *, force_fetch: bool = False) -> Any:
        assert model is AlpacaSecret
        return AlpacaSecret.model_validate({"key_id": "k", "secret_key": "s"})


@pytest.fixture
def functions_broker(monkeypatch: pytest.MonkeyPatch) -> AlpacaBroker:
    """The broker ``factory.broker()`` builds in a deployed function (no emulator override)."""
    for name, value in FunctionEnv.for_stage(load_stage("staging")).to_environ().items():
        monkeypatch.setenv(name, value)
    factory.clear()
    monkeypatch.setattr(factory, "secrets", StoredSecret)
    try:
        return factory.broker()
    finally:
        factory.clear()


def bounds_of(broker: AlpacaBroker) -> CallBounds:
    request = request_seconds(broker._timeout)
    assert broker._read_budget is not None, "the functions' reads must have a budget"
    return CallBounds(request_seconds=request, read_seconds=broker._read_budget)


def test_the_worst_case_of_one_execute_run_fits_its_function_timeout(
    functions_broker: AlpacaBroker,
) -> None:
    bounds = bounds_of(functions_broker)
    timeout = BY_NAME["execute"].timeout_seconds
    chain_reads = 1 + math.ceil(CHAIN_CONTRACTS / QUOTE_BATCH)  # contracts page + quote batches
    options = execute_worst_case_seconds(RULES, bounds, chain_reads=chain_reads)
    equity = execute_worst_case_seconds(RULES, bounds, chain_reads=0)
    assert equity < options <= MARGIN * timeout, (equity, options, timeout)


def test_the_worst_case_counts_every_request_the_send_can_make() -> None:
    # 3 attempts of (lookup 5.5 + submit 4.5 + lookup 5.5), one lookup more, 0.25 + 0.5 s waits.
    bounds = CallBounds(request_seconds=4.5, read_seconds=5.5)
    assert send_worst_case_seconds(RULES, bounds) == pytest.approx(3 * 15.5 + 5.5 + 0.75)
    assert execute_worst_case_seconds(RULES, bounds, chain_reads=6) == pytest.approx(
        7 * 5.5 + 52.75 + 4.5
    )
    # The defaults before: 13.05 s a request, 3 tries of a read (39.9 s) in a 30 s function.
    before = CallBounds(request_seconds=13.05, read_seconds=3 * 13.05 + 0.75)
    assert execute_worst_case_seconds(RULES, before, chain_reads=0) > 10 * 30


def test_a_read_is_bounded_by_its_budget_and_execute_sends_nothing_the_monitor_may_release(
    functions_broker: AlpacaBroker,
) -> None:
    bounds = bounds_of(functions_broker)
    # A read may retry a quick failure, never a timed-out request: its budget is less than two.
    assert bounds.request_seconds <= bounds.read_seconds < 2 * bounds.request_seconds
    # The last order execute can place reaches the broker before its ticket leaves execute's
    # hands (in_flight_seconds after the reservation, itself after the decision), and the
    # monitor waits longer still (SafetyConfig refuses an ack_timeout_seconds that does not).
    assert last_send_after_decision_seconds(RULES, bounds) <= RULES.in_flight_seconds
    assert load_safety().monitor.ack_timeout_seconds > RULES.in_flight_seconds
