from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from maxtrader.domain.models import (
    AuditKind,
    AuditRecord,
    Bar,
    CheckResult,
    Direction,
    Fill,
    Instrument,
    OrderIntent,
    OrderPurpose,
    OrderSide,
    Regime,
    Signal,
    Verdict,
    client_order_id,
    signal_id,
)

TS = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)


def bar(**overrides: object) -> Bar:
    fields: dict[str, object] = dict(
        symbol="SPY", ts=TS, open=10.0, high=11.0, low=9.0, close=10.5, volume=100
    )
    fields.update(overrides)
    return Bar.model_validate(fields)


def _field_error(exc: ValidationError, field: str) -> str:
    """The message of the error on ``field``; fails if no error names it."""
    for error in exc.errors():
        if field in error["loc"] or (not error["loc"] and field in error["msg"]):
            return str(error["msg"])
    raise AssertionError(f"no error names {field!r}: {exc}")


class TestBar:
    def test_valid_bar_closes_one_minute_after_its_start(self) -> None:
        assert bar().closed_at == TS + timedelta(minutes=1)
        assert bar(minutes=5).closed_at == TS + timedelta(minutes=5)

    @pytest.mark.parametrize("field", ["open", "high", "low", "close"])
    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, -1.0])
    def test_rejects_non_finite_or_non_positive_prices(self, field: str, value: float) -> None:
        with pytest.raises(ValidationError) as exc:
            bar(**{field: value})
        _field_error(exc.value, field)

    def test_rejects_high_below_low(self) -> None:
        with pytest.raises(ValidationError, match=r"high \(9.0\) is below low \(11.0\)"):
            bar(high=9.0, low=11.0, open=10, close=10)

    def test_rejects_open_or_close_outside_the_range(self) -> None:
        with pytest.raises(ValidationError, match="open"):
            bar(open=12.0)
        with pytest.raises(ValidationError, match="close"):
            bar(close=8.0)

    def test_rejects_negative_volume(self) -> None:
        with pytest.raises(ValidationError) as exc:
            bar(volume=-1)
        _field_error(exc.value, "volume")

    def test_rejects_naive_timestamps(self) -> None:
        with pytest.raises(ValidationError) as exc:
            bar(ts=datetime(2024, 6, 3, 10, 0))
        assert "timezone" in _field_error(exc.value, "ts")

    def test_rejects_unknown_fields_and_is_frozen(self) -> None:
        with pytest.raises(ValidationError) as exc:
            bar(colour="red")
        _field_error(exc.value, "colour")
        b = bar()
        with pytest.raises(ValidationError):
            b.close = 3.0  # type: ignore[misc]


def long_signal(**overrides: object) -> Signal:
    fields: dict[str, object] = dict(
        strategy="wave_renko",
        symbol="SPY",
        side=Direction.LONG,
        entry=100.0,
        stop=99.0,
        target=102.0,
        bar_ts=TS,
        regime=Regime.NORMAL_VOL,
        reason="test",
    )
    fields.update(overrides)
    return Signal.create(**fields)


class TestSignal:
    def test_id_is_deterministic_and_depends_on_each_key_part(self) -> None:
        a = long_signal()
        assert a.id == long_signal(entry=100.5, reason="other").id
        assert a.id == signal_id("wave_renko", "SPY", Direction.LONG, TS)
        assert a.id != long_signal(symbol="QQQ").id
        assert a.id != long_signal(strategy="vwap_reversion").id
        assert a.id != long_signal(bar_ts=TS + timedelta(minutes=1)).id
        assert a.id != long_signal(side=Direction.SHORT, stop=101.0, target=98.0).id

    def test_reward_risk(self) -> None:
        assert long_signal().reward_risk == pytest.approx(2.0)

    def test_levels_must_match_the_side(self) -> None:
        with pytest.raises(ValidationError, match="long signal needs stop < entry < target"):
            long_signal(stop=101.0)
        with pytest.raises(ValidationError, match="short signal needs target < entry < stop"):
            long_signal(side=Direction.SHORT)

    def test_rejects_nan_entry_and_naive_bar_ts(self) -> None:
        with pytest.raises(ValidationError) as exc:
            long_signal(entry=math.nan)
        _field_error(exc.value, "entry")
        with pytest.raises(ValueError, match="timezone-aware"):
            long_signal(bar_ts=datetime(2024, 6, 3, 10, 0))

    def test_unknown_regime_is_rejected(self) -> None:
        with pytest.raises(ValidationError) as exc:
            long_signal(regime="SIDEWAYS")
        _field_error(exc.value, "regime")


def intent(**overrides: object) -> OrderIntent:
    fields: dict[str, object] = dict(
        client_order_id=client_order_id("abc123abc123", OrderPurpose.ENTRY),
        signal_id="abc123abc123",
        strategy="wave_renko",
        symbol="SPY240603C00530000",
        underlying="SPY",
        side=OrderSide.BUY,
        purpose=OrderPurpose.ENTRY,
        instrument=Instrument.OPTION,
        qty=2,
        est_price=1.25,
        max_loss=251.3,
        fees=1.3,
    )
    fields.update(overrides)
    return OrderIntent.model_validate(fields)


class TestOrders:
    def test_option_intent_notional_uses_the_contract_multiplier(self) -> None:
        assert intent().notional == pytest.approx(250.0)
        assert (
            intent(instrument=Instrument.EQUITY, symbol="SPY", qty=3, est_price=10).notional == 30
        )

    def test_client_order_id_is_derived_from_signal_and_purpose(self) -> None:
        assert client_order_id("s1", OrderPurpose.ENTRY) != client_order_id("s1", OrderPurpose.EXIT)
        assert client_order_id("s1", OrderPurpose.EXIT) == client_order_id("s1", OrderPurpose.EXIT)

    @pytest.mark.parametrize("qty", [0, -1])
    def test_rejects_zero_or_negative_quantity(self, qty: int) -> None:
        with pytest.raises(ValidationError) as exc:
            intent(qty=qty)
        _field_error(exc.value, "qty")

    def test_rejects_negative_max_loss_and_fees(self) -> None:
        with pytest.raises(ValidationError) as exc:
            intent(max_loss=-1)
        _field_error(exc.value, "max_loss")
        with pytest.raises(ValidationError) as exc:
            intent(fees=math.nan)
        _field_error(exc.value, "fees")

    def test_fill_rejects_bad_values(self) -> None:
        base = dict(
            fill_id="f1",
            client_order_id="c1",
            symbol="SPY",
            side="sell",
            qty=1,
            price=10.0,
            fee=0.65,
            ts=TS,
        )
        assert Fill.model_validate(base).fee == 0.65
        for field, value in [("qty", 0), ("price", -2.0), ("fee", -0.01), ("price", math.inf)]:
            with pytest.raises(ValidationError) as exc:
                Fill.model_validate(base | {field: value})
            _field_error(exc.value, field)


class TestVerdictAndAudit:
    def test_verdict_is_approved_exactly_when_every_check_passed(self) -> None:
        ok = CheckResult(name="kill_switch", passed=True)
        bad = CheckResult(
            name="daily_trades", passed=False, reason="10 >= 10", observed=10, limit=10
        )
        base = dict(signal_id="s", client_order_id="c", purpose="entry", decided_at=TS)
        assert Verdict.model_validate(base | {"approved": True, "checks": [ok]}).failures == ()
        v = Verdict.model_validate(base | {"approved": False, "checks": [ok, bad]})
        assert v.failures == (bad,)
        with pytest.raises(ValidationError, match="approved must be true exactly"):
            Verdict.model_validate(base | {"approved": True, "checks": [ok, bad]})
        with pytest.raises(ValidationError, match="approved must be true exactly"):
            Verdict.model_validate(base | {"approved": False, "checks": [ok]})

    def test_audit_record_needs_an_aware_time_and_a_known_kind(self) -> None:
        rec = AuditRecord(
            ts=TS,
            kind=AuditKind.KILL_SWITCH,
            subject="kill_switch",
            actor="arn:aws:iam::111111111111:user/op",
            detail={"engaged": True},
        )
        assert rec.detail == {"engaged": True}
        with pytest.raises(ValidationError) as exc:
            AuditRecord.model_validate({"ts": TS, "kind": "gossip", "subject": "x"})
        _field_error(exc.value, "kind")


def test_the_unused_position_and_order_models_are_gone() -> None:
    # One position model (the safety Ticket) and the broker's own order model (BrokerOrder).
    from maxtrader.domain import models

    for name in ("Position", "Order", "OrderStatus"):
        assert not hasattr(models, name), name
