"""The health and end-of-day functions with Scheduler events, on moto server, the Alpaca
emulator through alpaca-py and the Massive emulator: safe mode on a failure and cleared when
healthy, a metric per check, and an early-close day flattened at 12:45 with nothing left open."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from maxtrader.domain.broker import OrderRequest, OrderType
from maxtrader.domain.models import AuditKind, Instrument, OrderSide
from maxtrader.domain.safety.state import SwitchName
from tests.support.ops_harness import OpsStage, bar

pytest_plugins = ("tests.support.ops_fixtures",)
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:No application metrics:UserWarning"),
]

TEN = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
SYMBOLS = ("SPY", "QQQ")  # the staging stage's


def fresh(ops: OpsStage, now: datetime) -> None:
    """Each symbol's bar and a VIX print that closed a minute ago."""
    ops.store_bars(SYMBOLS, now - timedelta(minutes=2))
    ops.vix(15.0, now - timedelta(minutes=2))


def emf(out: str) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [d for d in docs if "_aws" in d]


def check_metrics(out: str) -> dict[str, float]:
    """check -> HealthCheckFailed, one EMF document each (a value is a list in EMF)."""
    found: dict[str, float] = {}
    for doc in emf(out):
        if "HealthCheckFailed" in doc:
            (value,) = (
                doc["HealthCheckFailed"]
                if isinstance(doc["HealthCheckFailed"], list)
                else [doc["HealthCheckFailed"]]
            )
            assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "MaxTrader"
            found[doc["check"]] = value
    return found


def test_health_failure_turns_safe_mode_on_and_a_healthy_minute_clears_it(
    ops: OpsStage, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh(ops, TEN)
    capsys.readouterr()
    answer = ops.invoke("health", TEN)
    assert answer["ok"] and answer["detail"]["healthy"], answer["summary"]
    metrics = check_metrics(capsys.readouterr().out)
    assert metrics["data_freshness:SPY"] == 0 and metrics["broker_clock"] == 0
    assert set(metrics) >= {"market_hours", "vix_freshness", "broker_connectivity",
                            "account_flags", "data_freshness:QQQ"}  # fmt: skip

    later = TEN + timedelta(minutes=7)  # no bar for 7 minutes: the feed stopped
    ops.vix(15.0, later - timedelta(minutes=2))
    answer = ops.invoke("health", later)
    assert not answer["detail"]["healthy"] and answer["detail"]["safe_mode"]
    out = capsys.readouterr().out
    ages = [d["VixAgeSeconds"] for d in emf(out) if "VixAgeSeconds" in d]
    assert ages in ([answer["detail"]["vix_age_seconds"]], [[answer["detail"]["vix_age_seconds"]]])
    assert 0 < answer["detail"]["vix_age_seconds"] <= 180
    switch = ops.store.switch(SwitchName.SAFE_MODE)
    assert switch.on and switch.automatic and switch.actor == "health"
    assert check_metrics(out)["data_freshness:SPY"] == 1

    recovered = later + timedelta(minutes=1)
    fresh(ops, recovered)
    answer = ops.invoke("health", recovered)
    assert answer["detail"]["healthy"] and not answer["detail"]["safe_mode"]
    assert not ops.store.switch(SwitchName.SAFE_MODE).on
    subjects = [s for s, _ in ops.alerts()]
    assert subjects == ["[MaxTrader] Health FAILED: safe mode on",
                        "[MaxTrader] Health restored: safe mode off"]  # fmt: skip
    kinds = [r.kind for r in ops.audit()]
    assert kinds == [AuditKind.SAFE_MODE, AuditKind.HEALTH, AuditKind.SAFE_MODE]


def test_health_on_a_holiday_does_nothing(ops: OpsStage) -> None:
    answer = ops.invoke("health", datetime(2024, 7, 4, 15, 0, tzinfo=UTC))
    assert not answer["acted"] and ops.alpaca.count("account") == 0
    assert ops.store.health().version == 0 and ops.alerts() == []


EARLY = datetime(2024, 7, 3, 14, 0, tzinfo=UTC)  # 10:00 New York on a 13:00 close
FLATTEN = datetime(2024, 7, 3, 16, 45, tzinfo=UTC)  # 12:45 New York


def open_positions(ops: OpsStage) -> None:
    """A long SPY, a short QQQ and a working limit order, through the real client."""
    trader = ops.trader()
    ops.clock.set(EARLY)
    for cid, symbol, side in (("e-spy", "SPY", OrderSide.BUY), ("e-qqq", "QQQ", OrderSide.SELL)):
        trader.submit(OrderRequest(client_order_id=cid, symbol=symbol, side=side, qty=10,
                                   instrument=Instrument.EQUITY))  # fmt: skip
    trader.submit(OrderRequest(client_order_id="e-lim", symbol="SPY", side=OrderSide.BUY, qty=5,
                               instrument=Instrument.EQUITY, type=OrderType.LIMIT,
                               limit_price=400.0))  # fmt: skip
    for symbol in ("SPY", "QQQ"):
        ops.alpaca.feed_bar(bar(symbol, EARLY))
    assert ops.alpaca.positions() == {"SPY": 10, "QQQ": -10}


def market_moves(ops: OpsStage, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The eod handler's wait moves the emulated market a minute instead of sleeping."""
    from functions.eod import handler

    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        start = ops.clock.now()
        ops.clock.advance(timedelta(minutes=1))
        for symbol in ("SPY", "QQQ"):
            ops.alpaca.feed_bar(bar(symbol, start))

    monkeypatch.setattr(handler, "wait", wait)
    return waits


def test_eod_on_an_early_close_runs_at_12_45_and_leaves_nothing_open(
    ops: OpsStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_positions(ops)
    waits = market_moves(ops, monkeypatch)
    for hhmm in (datetime(2024, 7, 3, 16, 30, tzinfo=UTC), datetime(2024, 7, 3, 17, 0, tzinfo=UTC)):
        assert not ops.invoke("eod", hhmm)["acted"]  # 12:30 and 13:00: not the flatten time
    assert ops.alpaca.positions() == {"SPY": 10, "QQQ": -10}

    answer = ops.invoke("eod", FLATTEN)
    assert answer["ok"] and answer["acted"], answer["summary"]
    assert answer["detail"]["flatten"]["flat"] is True and waits  # re-checked until flat
    assert ops.alpaca.positions() == {}
    assert ops.trader().open_orders() == [] and ops.trader().positions() == []
    (report,) = [r for r in ops.audit() if r.kind is AuditKind.DAILY_REPORT]
    assert report.detail["early_close"] is True and report.detail["day"] == "2024-07-03"
    subject, line = ops.alerts()[-1]
    assert subject == "[MaxTrader] Daily report 2024-07-03"
    assert line.startswith("EOD 2024-07-03: flat, P&L")

    # The deployed schedule's second chance (12:50) finds the day flat: no order, no new page.
    sent = ops.alpaca.count("submit_order"), ops.alpaca.count("close_all")
    second = ops.invoke("eod", FLATTEN + timedelta(minutes=5))
    assert second["acted"] and second["detail"]["flatten"]["flat"] is True
    assert (ops.alpaca.count("submit_order"), ops.alpaca.count("close_all")) == sent
    assert ops.alerts() == []  # the day's report went out at 12:45: deduplicated
    for minute in (45, 50):  # the regular close's firings, after today's 13:00 close
        assert not ops.invoke("eod", datetime(2024, 7, 3, 19, minute, tzinfo=UTC))["acted"]


def test_eod_that_cannot_get_flat_alerts_what_is_left(
    ops: OpsStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.eod import handler

    open_positions(ops)
    monkeypatch.setattr(handler, "wait", lambda _s: None)  # the market never fills the closes
    answer = ops.invoke("eod", FLATTEN)
    assert answer["detail"]["flatten"]["flat"] is False
    alerts = ops.alerts()
    # EOD's first pass is the monitor's own exits: it finds these positions, opened outside the
    # system, and reports the drift; then the broker-side flatten is tried and does not fill.
    drift = [a for a in alerts if "Reconciliation drift" in a[0]]
    (not_flat, report) = [a for a in alerts if a not in drift]
    assert drift, alerts
    assert not_flat[0] == "[MaxTrader] EOD NOT FLAT 2024-07-03"
    assert "SPY +10" in not_flat[1] and "QQQ -10" in not_flat[1]
    assert "NOT FLAT" in report[1]


@pytest.mark.parametrize("hour", [16, 19], ids=["12:45", "15:45"])
def test_eod_on_a_holiday_touches_nothing(ops: OpsStage, hour: int) -> None:
    answer = ops.invoke("eod", datetime(2024, 7, 4, hour, 45, tzinfo=UTC))
    assert answer["ok"] and not answer["acted"]
    assert "no session on 2024-07-04" in answer["summary"]
    assert ops.alpaca.count("cancel_all") == 0 and ops.alpaca.count("close_all") == 0
    assert ops.alerts() == []


def test_eod_on_a_regular_day_runs_at_15_45(ops: OpsStage, monkeypatch: pytest.MonkeyPatch) -> None:
    market_moves(ops, monkeypatch)
    assert not ops.invoke("eod", datetime(2024, 6, 3, 16, 45, tzinfo=UTC))["acted"]  # 12:45
    answer = ops.invoke("eod", datetime(2024, 6, 3, 19, 45, tzinfo=UTC))
    assert answer["acted"] and answer["detail"]["flatten"]["flat"] is True
    # Nothing was open: the monitor's pass found the broker flat, no broker-side flatten is sent.
    assert ops.alpaca.count("close_all") == 0


def test_a_persisting_health_failure_pages_once_per_cooldown_through_sns(ops: OpsStage) -> None:
    """Read back through the SQS queue subscribed to the topic: one alert per 15 minutes."""
    for minute in (0, 1, 2, 14):  # no data at all: the same checks fail every minute
        ops.invoke("health", TEN + timedelta(minutes=minute))
    assert [s for s, _ in ops.alerts()] == ["[MaxTrader] Health FAILED: safe mode on"]
    ops.invoke("health", TEN + timedelta(minutes=15))  # the cooldown is over: it pages again
    ops.invoke("health", TEN + timedelta(minutes=16))
    assert [s for s, _ in ops.alerts()] == ["[MaxTrader] Health FAILED: safe mode on"]
