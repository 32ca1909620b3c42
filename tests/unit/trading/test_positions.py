"""One position model, two directions: the contract's side and the underlying's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Direction, Instrument, OptionRight, OrderIntent, OrderSide
from maxtrader.domain.safety.state import Ticket
from maxtrader.trading.positions import occ_right, underlying_direction

NOW = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)


def reserved(symbol: str, instrument: Instrument, side: OrderSide) -> Ticket:
    intent = OrderIntent(
        client_order_id="mt-sig00001-entry",
        signal_id="sig00001",
        strategy="wave_renko",
        symbol=symbol,
        underlying="SPY",
        side=side,
        purpose="entry",
        instrument=instrument,
        qty=1,
        est_price=1.0,
    )
    return Ticket.reserved(intent, 100.0, NOW)


@pytest.mark.parametrize(
    ("symbol", "instrument", "side", "contract", "underlying"),
    [
        ("SPY240603C00500000", Instrument.OPTION, OrderSide.BUY, Direction.LONG, Direction.LONG),
        ("SPY240603P00500000", Instrument.OPTION, OrderSide.BUY, Direction.LONG, Direction.SHORT),
        ("SPY240603P00500000", Instrument.OPTION, OrderSide.SELL, Direction.SHORT, Direction.LONG),
        ("SPY240603C00500000", Instrument.OPTION, OrderSide.SELL, Direction.SHORT, Direction.SHORT),
        ("SPY", Instrument.EQUITY, OrderSide.BUY, Direction.LONG, Direction.LONG),
        ("SPY", Instrument.EQUITY, OrderSide.SELL, Direction.SHORT, Direction.SHORT),
    ],
)
def test_the_ticket_holds_the_contract_side_and_the_underlying_direction_is_derived(
    symbol: str,
    instrument: Instrument,
    side: OrderSide,
    contract: Direction,
    underlying: Direction,
) -> None:
    ticket = reserved(symbol, instrument, side)
    assert ticket.direction is contract
    assert underlying_direction(ticket) is underlying


def test_occ_right_reads_the_flag_and_refuses_what_is_not_an_option() -> None:
    assert occ_right("SPY250314C00562000") is OptionRight.CALL
    assert occ_right("QQQ250314P00480500") is OptionRight.PUT
    for bad in ("SPY", "SPY250314X00562000", ""):
        with pytest.raises(InvalidInputError, match="not an OCC option symbol"):
            occ_right(bad)
