"""The replayed market: what the emulators hold before the day, and what each minute adds.

    market = ReplayMarket(day, bars, vix_daily, vix_minutes, rules)
    market.prepare(alpaca, massive)       # history, daily VIX, the option chain
    market.feed(alpaca, massive, closed)  # the bars that just closed

The Massive emulator serves the prior sessions' minute and daily bars and the daily VIX from the
start (the REST history a pre-market run reads), and the day's bars and VIX minutes only as they
close: its "latest" is what has been fed, so nothing can read a minute before it ends. The Alpaca
emulator fills resting orders from each bar as it closes, and lists the day's option chain
(strikes around the day's range, calls and puts, at the nearest expiry) requoted at every bar
with the backtester's model (``backtest_quote``: Black-Scholes at the bar's close with the
implied vol of the latest VIX print fed, the prior daily close before any), on the cent grid a
broker quotes on (bid down, ask up to the cent). The backtester prices with the regime's VIX
(the readings live recorded), which on a flat intraday VIX is that same print; what is left
between the two is the model's sub-cent precision, which moves an entry's premium by less than
a cent a contract (the parity check names it "sizing inputs (equity, quotes) differed" when it
decides a limit; the model quoting on the grid itself would close it).

A daily VIX file gives one value per day: ``constant_vix_minutes`` turns it into the intraday
prints a live feed would have shown, flat at the prior session's close (the value the day's
regime is classified from, and what ``maxtrader backtest`` with a daily file assumes), from an
hour before the open (pre-market and the first regime ticks read it) to the close.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from maxtrader.config.strategies import OptionRules
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Bar, OptionRight
from maxtrader.domain.options import (
    OptionContract,
    backtest_quote,
    nearest_expiry,
    occ_symbol,
)
from maxtrader.emulators.alpaca import AlpacaEmulator
from maxtrader.emulators.massive import MassiveEmulator

VIX = "I:VIX"
STRIKE_MARGIN = 2  # strikes listed beyond the day's range, each side (each is requoted per bar)


@dataclass
class ReplayMarket:
    day: date
    bars: Mapping[str, Sequence[Bar]]  # every symbol's bars: history and the day
    vix_daily: Mapping[date, float]
    vix_minutes: Sequence[Bar]  # the day's VIX minute bars (I:VIX, from before the open)
    rules: OptionRules
    calendar: MarketCalendar
    _vix_fed: int = field(default=0, init=False)
    _vix_now: float | None = field(default=None, init=False)  # the latest print fed

    @property
    def day_vix(self) -> float | None:
        """The prior session's close: the VIX the day's regime and option prices start from."""
        prior = [d for d in self.vix_daily if d < self.day]
        return self.vix_daily[max(prior)] if prior else None

    def day_bars(self) -> dict[str, list[Bar]]:
        return {s: [b for b in bars if _ny_day(b) == self.day] for s, bars in self.bars.items()}

    def prepare(self, alpaca: AlpacaEmulator, massive: MassiveEmulator, first: datetime) -> None:
        """The state of the world before the day's first step at ``first``."""
        for bars in self.bars.values():
            history = [b for b in bars if _ny_day(b) < self.day]
            massive.add_bars(history)
            massive.add_bars(_daily(history), timespan="day")
        vix = [_daily_vix(d, v) for d, v in sorted(self.vix_daily.items()) if d < self.day]
        massive.add_bars(vix, timespan="day")
        self.feed_vix(massive, first)
        self._list_options(alpaca)

    def feed_vix(self, massive: MassiveEmulator, at: datetime) -> None:
        """The VIX minutes closed by ``at`` (the index prints before the open too: the
        pre-market run and the first regime ticks read it)."""
        fresh = []
        while (
            self._vix_fed < len(self.vix_minutes)
            and self.vix_minutes[self._vix_fed].closed_at <= at
        ):
            fresh.append(self.vix_minutes[self._vix_fed])
            self._vix_fed += 1
        if fresh:
            massive.add_bars(fresh)
            self._vix_now = fresh[-1].close

    @property
    def quote_vix(self) -> float | None:
        """The VIX options are priced with now: the latest print fed, else the prior close."""
        return self._vix_now if self._vix_now is not None else self.day_vix

    def feed(self, alpaca: AlpacaEmulator, massive: MassiveEmulator, closed: Sequence[Bar]) -> int:
        """The bars closing now, to both emulators; the number of orders they filled."""
        if not closed:
            return 0
        massive.add_bars(list(closed))
        return sum(len(alpaca.feed_bar(bar)) for bar in closed)

    def _list_options(self, alpaca: AlpacaEmulator) -> None:
        if self.quote_vix is None:
            return  # no option can be priced: entries find no tradeable contract, as in backtest
        expiry = nearest_expiry(self.day, self.calendar, min_dte=self.rules.min_dte)

        def pricer(contract: OptionContract, bar: Bar) -> tuple[float, float]:
            return self.quote(contract, bar)

        alpaca.option_pricer = pricer
        for symbol, bars in self.day_bars().items():
            if not bars:
                continue
            low = math.floor(min(b.low for b in bars)) - STRIKE_MARGIN
            high = math.ceil(max(b.high for b in bars)) + STRIKE_MARGIN
            for strike in range(low, high + 1):
                for right in (OptionRight.CALL, OptionRight.PUT):
                    contract = OptionContract(
                        symbol=occ_symbol(symbol, expiry, right, float(strike)),
                        underlying=symbol,
                        right=right,
                        strike=float(strike),
                        expiry=expiry,
                    )
                    alpaca.list_option(contract)
                    bid, ask = pricer(contract, _at_open(bars[0]))
                    alpaca.set_option_quote(contract.symbol, bid=bid, ask=ask, at=bars[0].ts)

    def quote(self, contract: OptionContract, bar: Bar) -> tuple[float, float]:
        """(bid, ask) of ``contract`` when ``bar`` closes: the backtester's quote at the VIX
        printing now, shown on the cent grid as a broker shows it (bid down, ask up: never a
        better price than the model's). Off the grid, an entry's limit "at the ask" would be
        rounded to the nearest cent when sent and could rest below the ask, never filled."""
        vix = self.quote_vix
        if vix is None:
            raise InvalidInputError("no VIX to price options with")
        quote = backtest_quote(
            contract,
            spot=bar.close,
            vix=vix,
            now=bar.closed_at,
            calendar=self.calendar,
            rules=self.rules,
        )
        return on_cent_grid(quote.bid, down=True), on_cent_grid(quote.ask, down=False)


def on_cent_grid(price: float, *, down: bool) -> float:
    """``price`` moved to a whole cent (1e-9: a price already on a cent stays where it is)."""
    cents = price * 100.0
    whole = math.floor(cents + 1e-9) if down else math.ceil(cents - 1e-9)
    return round(whole / 100.0, 2)


def _ny_day(bar: Bar) -> date:
    return bar.ts.astimezone(NEW_YORK).date()


def _at_open(bar: Bar) -> Bar:
    """The first bar seen as a quote at the open (its open price, the open instant)."""
    price = bar.open
    return bar.model_copy(
        update={
            "close": price,
            "high": max(bar.high, price),
            "low": min(bar.low, price),
            "ts": bar.ts - timedelta(minutes=1),
        }
    )


def _daily(bars: Sequence[Bar]) -> list[Bar]:
    by_day: dict[date, list[Bar]] = {}
    for bar in bars:
        by_day.setdefault(_ny_day(bar), []).append(bar)
    out = []
    for day, group in sorted(by_day.items()):
        first = group[0]
        out.append(
            Bar(
                symbol=first.symbol,
                ts=_midnight(day),
                open=first.open,
                high=max(b.high for b in group),
                low=min(b.low for b in group),
                close=group[-1].close,
                volume=sum(b.volume for b in group),
                minutes=1440,
            )
        )
    return out


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=NEW_YORK)


def _daily_vix(day: date, close: float) -> Bar:
    return Bar(
        symbol=VIX,
        ts=_midnight(day),
        open=close,
        high=close,
        low=close,
        close=close,
        volume=0,
        minutes=1440,
    )


def _minute_vix(ts: datetime, value: float) -> Bar:
    return Bar(symbol=VIX, ts=ts, open=value, high=value, low=value, close=value, volume=0)


PRE_OPEN_VIX_MINUTES = 60  # the index prints from 08:30 New York in the replay


def constant_vix_minutes(session_open: datetime, minutes: int, value: float) -> list[Bar]:
    """The intraday prints of a day known by one daily value: the index held at ``value`` (the
    prior close) every minute from an hour before the open to the close."""
    return [
        _minute_vix(session_open + timedelta(minutes=m), value)
        for m in range(-PRE_OPEN_VIX_MINUTES, minutes)
    ]
