"""The Alpaca emulator and the real adapter wired together, for the tests of the order path.

The fixtures (``alpaca_clock``, ``alpaca``, ``broker``) are in ``alpaca_fixtures.py``: a test
module takes them with ``pytest_plugins = ("tests.support.alpaca_fixtures",)``; or build them
with ``start_emulator`` / ``make_broker``. Time is a FixedClock on Monday
2024-06-03 10:00 New York; the calendar is that week's five regular sessions (no
exchange_calendars import, so no pandas cost beyond alpaca-py's own).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import Bar, OptionRight
from maxtrader.domain.options import OptionContract, occ_symbol
from maxtrader.emulators.alpaca import AlpacaEmulator

KEY, SECRET = "test-key-id", "test-secret-key-never-logged"
RESPONSES = Path(__file__).resolve().parent / "alpaca_responses"
START = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)  # 10:00 New York
WEEK = MarketCalendar(
    Session(
        day=date(2024, 6, d),
        open=datetime(2024, 6, d, 13, 30, tzinfo=UTC),
        close=datetime(2024, 6, d, 20, 0, tzinfo=UTC),
    )
    for d in range(3, 8)
)
TEST_TIMEOUT = 0.5  # seconds: a hung emulator request fails the call quickly


def recorded(name: str) -> Any:
    return json.loads((RESPONSES / name).read_text())


def bar(ts: datetime, ohlc: tuple[float, float, float, float], symbol: str = "SPY") -> Bar:
    o, h, low, c = ohlc
    return Bar(symbol=symbol, ts=ts, open=o, high=h, low=low, close=c, volume=1000)


def minute(n: int) -> datetime:
    """The start of the n-th minute after START."""
    return START + timedelta(minutes=n)


def contract(strike: float, right: OptionRight = OptionRight.CALL, expiry: date = date(2024, 6, 5),
             underlying: str = "SPY") -> OptionContract:  # fmt: skip
    return OptionContract(
        symbol=occ_symbol(underlying, expiry, right, strike),
        underlying=underlying,
        right=right,
        strike=strike,
        expiry=expiry,
    )


def start_emulator(clock: FixedClock, **kwargs: Any) -> AlpacaEmulator:
    emulator = AlpacaEmulator(clock=clock, calendar=WEEK, api_key=KEY, secret_key=SECRET, **kwargs)
    emulator.start()
    return emulator


def make_broker(emulator: AlpacaEmulator, **kwargs: Any) -> AlpacaBroker:
    options: dict[str, Any] = {"timeout": TEST_TIMEOUT, "sleep": lambda _s: None}
    options.update(kwargs)
    return AlpacaBroker(KEY, SECRET, url_override=emulator.base_url, **options)
