"""Exit triggers on a bar and at a time, and the reduce-only exit intent of a stored ticket."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.config.strategies import SessionRules
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import Bar, Direction, Fill, Instrument, OrderPurpose, OrderSide
from maxtrader.domain.safety.accounting import apply_fill
from maxtrader.domain.safety.state import Ticket, TicketStatus
from maxtrader.trading.exits import (
    ExitPlan,
    ExitReason,
    ExitTrigger,
    NothingToExitError,
    exit_at,
    exit_intent,
    exit_on_bar,
    exit_plan,
    flatten_time,
    touched_exit,
)

OPEN = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)  # 10:00 New York
FLATTEN = datetime(2024, 6, 3, 19, 45, tzinfo=UTC)  # 15:45 New York
PUT = "SPY240603P00500000"


def ticket(
    *,
    direction: Direction = Direction.LONG,
    instrument: Instrument = Instrument.EQUITY,
    symbol: str = "SPY",
    qty: int = 10,
    status: TicketStatus = TicketStatus.OPEN,
) -> Ticket:
    bullish = (direction is Direction.LONG) != (symbol == PUT)  # a long put is bearish
    return Ticket(
        client_order_id="mt-sig00001-entry",
        signal_id="sig00001",
        strategy="wave_renko",
        symbol=symbol,
        underlying="SPY",
        instrument=instrument,
        direction=direction,
        status=status,
        reserved_qty=qty or 1,
        max_loss=100.0,
        reserved_at=OPEN,
        qty=qty,
        avg_price=1.5 if instrument is Instrument.OPTION else 500.0,
        stop=499.0 if bullish else 501.0,
        target=502.0 if bullish else 498.0,
        opened_at=OPEN if qty else None,
    )


def bar(minute: int, o: float, h: float, lo: float, c: float | None = None) -> Bar:
    ts = OPEN + timedelta(minutes=minute)
    return Bar(symbol="SPY", ts=ts, open=o, high=h, low=lo, close=o if c is None else c, volume=1)


LONG_PLAN = ExitPlan(Direction.LONG, 499.0, 502.0, OPEN + timedelta(minutes=60))


class TestOnBar:
    def test_stop_target_gap_and_none(self) -> None:
        assert exit_on_bar(LONG_PLAN, bar(1, 500.0, 500.5, 499.5), FLATTEN) is None
        assert exit_on_bar(LONG_PLAN, bar(1, 500.0, 500.5, 498.9), FLATTEN) == ExitTrigger(
            ExitReason.STOP, 499.0
        )
        assert exit_on_bar(LONG_PLAN, bar(1, 500.0, 502.1, 499.5), FLATTEN) == ExitTrigger(
            ExitReason.TARGET, 502.0
        )
        gap = exit_on_bar(LONG_PLAN, bar(1, 498.0, 498.5, 497.0), FLATTEN)
        assert gap == ExitTrigger(ExitReason.STOP, 498.0)  # at the open, not the stop

    def test_a_bar_touching_both_exits_at_the_stop(self) -> None:
        both = exit_on_bar(LONG_PLAN, bar(1, 500.0, 503.0, 498.0), FLATTEN)
        assert both == ExitTrigger(ExitReason.STOP, 499.0)

    def test_the_time_stop_is_due_from_the_bar_at_the_deadline(self) -> None:
        assert exit_on_bar(LONG_PLAN, bar(59, 500.0, 500.5, 499.5), FLATTEN) is None
        assert exit_on_bar(LONG_PLAN, bar(60, 500.2, 500.5, 499.5), FLATTEN) == ExitTrigger(
            ExitReason.TIME_STOP, 500.2
        )

    def test_flatten_beats_the_regime_which_beats_time_and_levels(self) -> None:
        late = bar(60, 500.2, 503.0, 498.0)  # time stop due, both levels touched
        assert exit_on_bar(LONG_PLAN, late, late.ts).reason is ExitReason.FLATTEN  # type: ignore[union-attr]
        regime = exit_on_bar(LONG_PLAN, late, FLATTEN, regime_flatten=True)
        assert regime == ExitTrigger(ExitReason.REGIME_FLATTEN, 500.2)
        early = bar(5, 500.2, 500.3, 500.1)
        assert exit_on_bar(LONG_PLAN, early, FLATTEN, regime_flatten=True) is not None

    def test_a_position_without_levels_only_exits_on_time(self) -> None:
        bare = replace(LONG_PLAN, stop=None, target=None)
        assert exit_on_bar(bare, bar(1, 500.0, 510.0, 490.0), FLATTEN) is None
        assert exit_on_bar(bare, bar(60, 500.0, 510.0, 490.0), FLATTEN) is not None


def test_exit_at_a_time_without_a_bar() -> None:
    assert exit_at(LONG_PLAN, OPEN + timedelta(minutes=59, seconds=59), FLATTEN) is None
    assert exit_at(LONG_PLAN, OPEN + timedelta(minutes=60), FLATTEN) is ExitReason.TIME_STOP
    assert exit_at(LONG_PLAN, FLATTEN, FLATTEN) is ExitReason.FLATTEN


def test_flatten_time_follows_early_closes() -> None:
    calendar = MarketCalendar.xnys("2024-07-01", "2024-07-05")
    early, normal = calendar.session(date(2024, 7, 3)), calendar.session(date(2024, 7, 2))
    assert early is not None and normal is not None
    rules = SessionRules()
    assert flatten_time(early, rules).astimezone(NEW_YORK).strftime("%H:%M") == "12:45"
    assert flatten_time(normal, rules).astimezone(NEW_YORK).strftime("%H:%M") == "15:45"


class TestPlanAndIntent:
    def test_a_bought_put_is_long_its_contract_and_short_the_underlying(self) -> None:
        put = ticket(instrument=Instrument.OPTION, symbol=PUT, qty=3)
        plan = exit_plan(put, 60)
        assert plan.direction is Direction.SHORT
        assert plan.time_stop_at == OPEN + timedelta(minutes=60)
        intent = exit_intent(put, est_price=1.2)
        assert (intent.side, intent.qty, intent.symbol) == (OrderSide.SELL, 3, PUT)
        assert intent.client_order_id == "mt-sig00001-exit"

    def test_an_equity_short_is_bought_back(self) -> None:
        short = ticket(direction=Direction.SHORT)
        assert exit_plan(short, 30).direction is Direction.SHORT
        assert exit_intent(short, est_price=499.0).side is OrderSide.BUY

    @pytest.mark.parametrize(
        ("status", "qty"),
        [(TicketStatus.RESERVED, 0), (TicketStatus.CLOSED, 0), (TicketStatus.RELEASED, 0)],
    )
    def test_nothing_to_exit_is_refused(self, status: TicketStatus, qty: int) -> None:
        with pytest.raises(NothingToExitError, match="nothing to exit"):
            exit_intent(ticket(status=status, qty=qty), est_price=1.0)
        with pytest.raises(NothingToExitError, match="holds no open position"):
            exit_plan(ticket(status=status, qty=qty), 60)


prices = st.floats(min_value=1.0, max_value=1000.0, allow_nan=False)


@st.composite
def ohlc(draw: st.DrawFn) -> tuple[float, float, float]:
    a, b, c = sorted(draw(st.lists(prices, min_size=3, max_size=3)))
    return draw(st.sampled_from([a, b, c])), c, a  # open, high, low


@pytest.mark.property
@settings(max_examples=300, deadline=None)
@given(
    bar_=ohlc(),
    entry=prices,
    risk=st.floats(0.01, 50),
    reward=st.floats(0.01, 50),
    side=st.sampled_from(list(Direction)),
)
def test_a_bar_touching_both_levels_always_exits_at_the_stop(bar_, entry, risk, reward, side):
    sign = 1 if side is Direction.LONG else -1
    stop, target = entry - sign * risk, entry + sign * reward
    o, h, lo = bar_
    hit = touched_exit(side, stop=stop, target=target, bar_open=o, bar_high=h, bar_low=lo)
    touches_stop = lo <= stop if side is Direction.LONG else h >= stop
    touches_target = h >= target if side is Direction.LONG else lo <= target
    opens_between = min(stop, target) < o < max(stop, target)
    if opens_between and touches_stop:
        assert hit == ExitTrigger(ExitReason.STOP, stop)  # both touched: the stop
    elif opens_between and touches_target:
        assert hit == ExitTrigger(ExitReason.TARGET, target)
    elif opens_between:
        assert hit is None
    else:
        assert hit is not None and hit.underlying == o  # a gap through a level: at the open
    if hit is not None:
        assert lo <= hit.underlying <= h  # an exit price the bar actually traded


@pytest.mark.property
@settings(max_examples=200, deadline=None)
@given(
    direction=st.sampled_from(list(Direction)),
    option=st.booleans(),
    qty=st.integers(1, 10_000),
    price=st.floats(0.01, 2000.0),
)
def test_an_exit_never_opens_or_enlarges_a_position(direction, option, qty, price):
    held = ticket(
        direction=direction,
        instrument=Instrument.OPTION if option else Instrument.EQUITY,
        symbol=PUT if option else "SPY",
        qty=qty,
    )
    intent = exit_intent(held, est_price=price)
    assert intent.qty == held.qty
    fill = Fill(
        fill_id="f-1",
        client_order_id=intent.client_order_id,
        symbol=intent.symbol,
        side=intent.side,
        qty=intent.qty,
        price=price,
        ts=OPEN + timedelta(minutes=5),
    )
    after = apply_fill(held, fill, mark=None, purpose=OrderPurpose.EXIT).ticket
    assert after.qty == 0 and after.status is TicketStatus.CLOSED
    assert after.direction is held.direction
