"""The regime and pre-market functions with Scheduler events, on moto server, the Massive
emulator (the VIX index snapshot through the real client) and the Alpaca emulator."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from maxtrader.domain.models import AuditKind, Regime
from tests.support.ops_harness import OpsStage

pytest_plugins = ("tests.support.ops_fixtures",)
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:No application metrics:UserWarning"),
]

DAY = date(2024, 6, 3)
TEN = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return TEN + timedelta(minutes=minutes)


def test_a_regime_change_is_stored_audited_and_alerted_once(ops: OpsStage) -> None:
    ops.vix(16.0, at(-2))
    answer = ops.invoke("regime", at(0))
    assert answer["ok"] and answer["acted"] and answer["detail"]["after"]["regime"] == "NORMAL_VOL"
    ops.vix(16.4, at(3))
    ops.invoke("regime", at(5))  # same regime: no alert
    ops.vix(31.2, at(8))
    ops.invoke("regime", at(10))
    retry = ops.invoke("regime", at(10))  # Lambda's retry of the same firing
    assert retry["detail"]["changed"] is False
    assert ops.alerts() == [
        ("[MaxTrader] Regime none -> NORMAL_VOL", "Regime none -> NORMAL_VOL: VIX 16.00"),
        ("[MaxTrader] Regime NORMAL_VOL -> HIGH_VOL", "Regime NORMAL_VOL -> HIGH_VOL: VIX 31.20"),
    ]
    stored = ops.sessions.regime(DAY)
    assert stored is not None and stored.regime is Regime.HIGH_VOL and stored.vix == 31.2
    changes = [r.detail["after"] for r in ops.audit() if r.kind is AuditKind.REGIME]
    assert [c["regime"] for c in changes if isinstance(c, dict)] == ["NORMAL_VOL", "HIGH_VOL"]


def test_a_stale_vix_is_unknown_and_says_so(ops: OpsStage) -> None:
    ops.vix(16.0, at(-2))
    ops.invoke("regime", at(0))
    answer = ops.invoke("regime", at(20))  # the print ended at 09:59: 21 minutes old
    assert answer["detail"]["after"]["regime"] == "UNKNOWN"
    assert "stale" in answer["detail"]["after"]["reason"]
    assert ops.alerts()[-1][1].startswith("Regime NORMAL_VOL -> UNKNOWN: VIX is stale")


@pytest.mark.parametrize(
    "when",
    [datetime(2024, 7, 4, 14, 0, tzinfo=UTC), datetime(2024, 6, 3, 12, 0, tzinfo=UTC)],
    ids=["holiday", "before-the-open"],
)
def test_outside_the_session_the_regime_function_does_nothing(
    ops: OpsStage, when: datetime
) -> None:
    answer = ops.invoke("regime", when)
    assert answer["ok"] and not answer["acted"] and "market closed" in answer["summary"]
    assert ops.massive.requests == [] and ops.alerts() == []
    assert ops.sessions.regime(when.date()) is None


def test_premarket_stores_equity_and_the_days_regime_and_sends_readiness(ops: OpsStage) -> None:
    ops.vix(13.4, datetime(2024, 6, 3, 19, 59, tzinfo=UTC))  # Monday's last print
    nine = datetime(2024, 6, 4, 13, 0, tzinfo=UTC)
    answer = ops.invoke("premarket", nine)
    equity = ops.trader().account().equity
    assert ops.store.start_of_day_equity("2024-06-04") == equity == 100_000.0
    stored = ops.sessions.regime(date(2024, 6, 4))
    assert stored is not None and stored.regime is Regime.NORMAL_VOL
    # Every routable strategy's state for the day is prepared and stored before the open.
    assert answer["detail"]["reasons"] == []
    (subject, line), *_ = ops.alerts()
    assert subject == "[MaxTrader] Pre-market 2024-06-04: armed"
    assert line.startswith("armed: NORMAL_VOL")
    prepared = [ops.sessions.strategy_state(n, "SPY") for n in ("vwap_reversion", "wave_renko")]
    assert all(p is not None and p.last_bar_ts.date() == date(2024, 6, 4) for p in prepared)
    # The first tick of the session anchors on it: 12.8 is within the hysteresis of 13.
    ops.vix(12.8, datetime(2024, 6, 4, 13, 34, tzinfo=UTC))
    tick = ops.invoke("regime", datetime(2024, 6, 4, 13, 35, tzinfo=UTC))
    assert tick["detail"]["after"]["regime"] == "NORMAL_VOL" and not tick["detail"]["changed"]


def test_premarket_on_a_holiday_does_nothing(ops: OpsStage) -> None:
    answer = ops.invoke("premarket", datetime(2024, 7, 4, 13, 0, tzinfo=UTC))
    assert not answer["acted"] and "no session on 2024-07-04" in answer["summary"]
    assert ops.alpaca.count("account") == 0 and ops.alerts() == []


def test_premarket_with_the_kill_switch_left_engaged_is_not_armed(ops: OpsStage) -> None:
    from maxtrader.config.safety import SafetyConfig
    from maxtrader.domain.safety.engine import SafetyEngine

    operator = "arn:aws:sts::123456789012:assumed-role/MaxTraderOperator/alice"
    SafetyEngine(SafetyConfig(), ops.store, ops.clock).engage_kill_switch(operator, "overnight")
    ops.vix(13.4, datetime(2024, 6, 3, 19, 59, tzinfo=UTC))
    answer = ops.invoke("premarket", datetime(2024, 6, 4, 13, 0, tzinfo=UTC))
    assert "kill switch ON (overnight)" in answer["detail"]["reasons"]
    ((subject, line),) = ops.alerts()
    assert subject == "[MaxTrader] Pre-market 2024-06-04: NOT armed"
    assert line == "NOT armed: kill switch ON (overnight)"  # only what really holds entries
