"""The signal message (signals -> execute): an exact round trip, and clear refusals."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maxtrader.domain.errors import DataError
from maxtrader.domain.models import AuditKind, Direction, Regime, Signal
from maxtrader.domain.regime import RegimeState
from maxtrader.trading.signal_message import (
    SIGNAL_MESSAGE_VERSION,
    SignalMessage,
    decode_signal_message,
    encode_signal_message,
    signal_audit_record,
)

BAR_TS = datetime(2024, 6, 3, 14, 5, tzinfo=UTC)


def message(**changes: Any) -> SignalMessage:
    signal = Signal.create(strategy="vwap_reversion", symbol="SPY", side=Direction.SHORT,
                           entry=528.4, stop=529.1, target=526.9, bar_ts=BAR_TS,
                           regime=Regime.ULTRA_LOW_VOL, reason="stretched above VWAP")  # fmt: skip
    regime = RegimeState(day=date(2024, 6, 3), regime=Regime.ULTRA_LOW_VOL,
                         anchor=Regime.ULTRA_LOW_VOL, vix=12.2, reason="VIX 12.20")  # fmt: skip
    fields: dict[str, Any] = {"signal": signal, "regime": regime, "last_price": 528.41,
                              "decided_at": BAR_TS + timedelta(minutes=1)}  # fmt: skip
    return SignalMessage(**{**fields, **changes})


def body(**changes: Any) -> str:
    payload = json.loads(encode_signal_message(message()))
    payload.update(changes)
    return json.dumps(payload)


def test_a_message_round_trips_exactly_and_names_its_fifo_ids() -> None:
    original = message()
    text = encode_signal_message(original)
    assert json.loads(text)["version"] == SIGNAL_MESSAGE_VERSION == 1
    assert decode_signal_message(text) == original
    assert decode_signal_message(text.encode()) == original
    assert (original.group_id, original.deduplication_id) == ("SPY", original.signal.id)


@given(st.floats(min_value=0.01, max_value=1e6), st.integers(min_value=0, max_value=10_000))
def test_any_valid_price_and_delay_round_trip(price: float, seconds: int) -> None:
    original = message(last_price=price, decided_at=BAR_TS + timedelta(seconds=seconds))
    assert decode_signal_message(encode_signal_message(original)) == original


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (body(version=2), "version"),
        (body(version=True), "version"),  # pydantic's Literal[1] accepts true
        (body(kind="bar"), "kind"),
        (body(extra=1), "extra"),
        (body(last_price=0), "last_price"),
        (body(last_price="NaN"), "last_price"),
        (body(decided_at="2024-06-03T14:06:00"), "decided_at"),
        (body(decided_at="2024-06-03T14:04:00Z"), "before the signal's bar"),
        (body(regime={**json.loads(body())["regime"], "regime": "NORMAL_VOL"}), "differs"),
        ("not json", "signal message"),
        ("[]", "signal message"),
    ],
)
def test_a_message_it_cannot_trust_is_refused_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(DataError, match="signal message") as info:
        decode_signal_message(text)
    assert problem in str(info.value)


def test_the_audit_record_is_stamped_with_the_decision_and_names_the_signal() -> None:
    original = message()
    record = signal_audit_record(original)
    assert (record.kind, record.subject, record.actor) == (
        AuditKind.SIGNAL, original.signal.id, "signals")  # fmt: skip
    assert record.ts == original.decided_at
    assert record.detail["regime"] == "ULTRA_LOW_VOL" and record.detail["last_price"] == 528.41
    assert record.detail["bar_ts"] == BAR_TS.isoformat()
