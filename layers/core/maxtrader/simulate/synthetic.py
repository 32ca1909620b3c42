"""A deterministic, documented-as-synthetic trading session for ``maxtrader simulate``.

    session = synthetic_session(date(2024, 6, 12))   # seeded: the same bars every run
    session.bars["SPY"]       # the day's 1-minute bars (09:30 .. close), then history days
    session.vix_daily         # daily VIX closes (the regime of the day is the prior close's)

These bars are NOT market data. They are generated so that a replay exercises the whole system:

- volume and volatility follow the intraday U shape real index ETFs show (heavy at the open and
  into the close, quiet at lunch): per-minute sigma and volume scale with ``u_shape(minute)``;
- the price follows a scripted path plus seeded noise (an AR(1) deviation, so the path's shape
  survives the noise), its trades in the first hour: an opening drive and give-back (a wide
  band), a flush well below the session VWAP that reverts to it (a long entry that reaches its
  target), then a spike above the upper band that re-enters it and keeps rising (a short entry
  that is stopped out); the rest of the day drifts;
- SPY and QQQ move together (QQQ with a higher beta and mostly shared noise, on a slightly
  warped clock, ``TIME_WARP``): both long on the same bar, where the second order of the pair
  meets the safety layer's spacing rule (``min_seconds_between_trades``: at least one
  rejection), and short two minutes apart, both accepted;
- the VIX sits in the ULTRA_LOW_VOL band, so the regime routes the day to VWAP mean reversion;
  the day's intraday prints are flat at the prior session's close, as a daily VIX file gives
  them (``vix_minutes``), so live and the backtester price options with the same VIX.

``history_days`` prior sessions (same generator, other seeds, no episodes) give the strategies
and the backtester the prior-session context some of them read.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Bar
from maxtrader.simulate.market import constant_vix_minutes

DEFAULT_DAY = date(2024, 6, 12)  # a regular Wednesday session
DEFAULT_SEED = 20240612
SYMBOLS: dict[str, tuple[float, float, float]] = {
    # symbol: (price at the open, beta to the scripted path, base volume per minute)
    "SPY": (530.0, 1.0, 60_000.0),
    "QQQ": (455.0, 1.25, 45_000.0),
}
VIX_LEVEL = 11.6  # ULTRA_LOW_VOL (below 13): VWAP mean reversion trades the day
BASE_SIGMA = 0.00022  # per-minute return sigma at lunch (the U shape's floor)

# The day's scripted path: (minutes after the open, offset from the open in percent).
# Linear in between; the noise rides on it. The day's trades come in the first hour, before the
# drills' fixed windows (throttling at 11:00, the kill switch 12:00-13:00, the drift's safe mode
# from 15:00), so a drilled day trades as an undrilled one does; the rest of the day drifts.
EPISODES: tuple[tuple[int, float], ...] = (
    (0, 0.0),
    (15, 0.60),  # the opening drive
    (35, 0.10),  # and its give-back: a wide band early
    (40, -0.45),  # the flush: far below the VWAP band
    (41, -0.46),
    (42, -0.30),  # back inside the band: the longs' signal bar (SPY and QQQ together)
    (50, 0.20),  # reverts to VWAP: the long's target
    (51, 0.22),
    (54, 1.10),  # a spike far above the upper band
    (55, 1.08),
    (57, 0.85),  # back inside: the shorts' signal bars (QQQ's later, see TIME_WARP)
    (70, 1.40),  # the rally resumes: the shorts' stops
    (150, 1.10),
    (260, 1.30),
    (390, 1.20),
)
# Each symbol's clock on the script: (minute, scripted minute), linear in between. QQQ's flush
# runs half a minute ahead of SPY's (its higher beta would re-enter the band a bar later), so
# the longs signal on the same bar; QQQ then steps back into the flush for a minute (the bar
# after its signal dips, so a limit at the signal's ask is met, as a live entry needs); its
# spike runs two minutes behind SPY's, so the shorts do not share a bar.
TIME_WARP: dict[str, tuple[tuple[int, float], ...]] = {
    "QQQ": ((0, 0.0), (30, 30.5), (42, 42.5), (43, 41.6), (46, 46.5), (52, 50.0), (390, 388.0)),
}
FLAT: tuple[tuple[int, float], ...] = ((0, 0.0), (390, 0.0))


@dataclass(frozen=True)
class SyntheticSession:
    day: date
    bars: dict[str, list[Bar]]
    vix_daily: dict[date, float]
    vix_minutes: list[Bar] = field(default_factory=list)  # I:VIX minute bars of the day
    seed: int = DEFAULT_SEED

    @property
    def day_bars(self) -> dict[str, list[Bar]]:
        """The replayed day's bars only (history excluded)."""
        return {s: [b for b in bars if b.ts.date() == self.day] for s, bars in self.bars.items()}


def u_shape(minute: int, minutes: int = 390) -> float:
    """The intraday intensity profile: 1 at midday, ~3.4 at the open, ~2.6 at the close."""
    x = (minute - minutes * 0.55) / (minutes * 0.5)  # the trough sits a little after midday
    return 1.0 + 2.4 * x * x * (1.0 if x < 0 else 0.75)


def synthetic_session(
    day: date = DEFAULT_DAY,
    *,
    seed: int = DEFAULT_SEED,
    symbols: tuple[str, ...] = ("SPY", "QQQ"),
    history_days: int = 5,
    calendar: MarketCalendar | None = None,
) -> SyntheticSession:
    cal = calendar or MarketCalendar.xnys()
    session = cal.session(day)
    if session is None:
        raise InvalidInputError(f"{day} is not an XNYS session (the synthetic day needs one)")
    unknown = [s for s in symbols if s not in SYMBOLS]
    if unknown:
        raise InvalidInputError(f"no synthetic profile for {unknown} (have {sorted(SYMBOLS)})")
    history = cal.previous_sessions(day, history_days)
    bars: dict[str, list[Bar]] = {s: [] for s in symbols}
    vix_daily: dict[date, float] = {}
    for n, past in enumerate([*history, session]):
        is_day = past.day == day
        rng = random.Random(seed * 1000 + n)  # noqa: S311 - reproducible data, not security
        drift = 1.0 + 0.0015 * (n - len(history))  # a gentle multi-day rise into the day
        path = _day_path(past, symbols, rng, EPISODES if is_day else FLAT, drift)
        for symbol in symbols:
            bars[symbol].extend(path[symbol])
        vix_daily[past.day] = round(VIX_LEVEL + 0.3 * math.sin(n), 2)
    # The day's prints held at the prior close: the regime live classifies from them, the option
    # quotes live sizes from and the backtester's daily-VIX regime all see the same value.
    prior_close = vix_daily[history[-1].day] if history else VIX_LEVEL
    vix_minutes = constant_vix_minutes(session.open, _minutes(session), prior_close)
    return SyntheticSession(day, bars, vix_daily, vix_minutes, seed)


def _minutes(session: Session) -> int:
    return int((session.close - session.open).total_seconds() // 60)


def _anchor(script: tuple[tuple[int, float], ...], minute: float) -> float:
    for (m0, p0), (m1, p1) in itertools.pairwise(script):
        if m0 <= minute <= m1:
            return (p0 + (p1 - p0) * (minute - m0) / (m1 - m0)) / 100.0
    return script[-1][1] / 100.0


def _warp(points: tuple[tuple[int, float], ...] | None, minute: int) -> float:
    if points is None:
        return float(minute)
    for (m0, s0), (m1, s1) in itertools.pairwise(points):
        if m0 <= minute <= m1:
            return s0 + (s1 - s0) * (minute - m0) / (m1 - m0)
    return float(minute)


def _day_path(
    session: Session,
    symbols: tuple[str, ...],
    rng: random.Random,
    script: tuple[tuple[int, float], ...],
    drift: float,
) -> dict[str, list[Bar]]:
    minutes = _minutes(session)
    out: dict[str, list[Bar]] = {s: [] for s in symbols}
    shared = 0.0
    own = dict.fromkeys(symbols, 0.0)
    previous = {s: SYMBOLS[s][0] * drift for s in symbols}
    for m in range(minutes):
        intensity = u_shape(m, minutes)
        sigma = BASE_SIGMA * math.sqrt(intensity)
        shared = 0.85 * shared + rng.gauss(0.0, sigma)
        for s in symbols:
            open_price, beta, volume = SYMBOLS[s]
            own[s] = 0.85 * own[s] + rng.gauss(0.0, sigma * 0.35)
            at = _warp(TIME_WARP.get(s), m)
            close = open_price * drift * (1.0 + beta * (_anchor(script, at) + shared) + own[s])
            bar_open = previous[s]
            wick = open_price * sigma * (0.4 + rng.random())
            high = max(bar_open, close) + wick * rng.random()
            low = min(bar_open, close) - wick * rng.random()
            qty = round(volume * intensity * rng.lognormvariate(0.0, 0.25))
            typical = (high + low + close) / 3.0
            out[s].append(
                Bar(
                    symbol=s,
                    ts=session.open + timedelta(minutes=m),
                    open=round(bar_open, 2),
                    high=round(high, 2),
                    low=round(low, 2),
                    close=round(close, 2),
                    volume=qty,
                    vwap=round(min(max(typical, low), high), 2),
                )
            )
            previous[s] = close
    return out
