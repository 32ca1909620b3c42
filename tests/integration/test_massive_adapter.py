"""The real ``massive.RESTClient`` (through MassiveMarketData) against the local emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from maxtrader.adapters.massive_market_data import MassiveMarketData
from maxtrader.data import load_bars, load_vix_daily
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar
from maxtrader.emulators.massive import MassiveEmulator

KEY = "emulator-key"
DAY1, DAY2 = date(2024, 3, 26), date(2024, 3, 27)


def _minute_bars(day: date, count: int, symbol: str = "SPY") -> list[Bar]:
    """``count`` one-minute bars from 08:00 UTC (04:00 New York, pre-market) on ``day``."""
    start = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
    bars = []
    for i in range(count):
        price = 500 + (i % 17) * 0.25
        bars.append(Bar(symbol=symbol, ts=start + timedelta(minutes=i), open=price,
                        high=price + 0.5, low=price - 0.5, close=price + 0.25, volume=100 + i,
                        vwap=price + 0.1))  # fmt: skip
    return bars


@pytest.fixture
def emulator() -> Iterator[MassiveEmulator]:
    with MassiveEmulator(api_key=KEY) as emu:
        yield emu


def _source(emu: MassiveEmulator, **kwargs: object) -> MassiveMarketData:
    return MassiveMarketData(KEY, base_url=emu.base_url, **kwargs)  # type: ignore[arg-type]


def test_minute_bars_follow_every_page(emulator: MassiveEmulator) -> None:
    recorded = _minute_bars(DAY1, 700) + _minute_bars(DAY2, 650)
    emulator.add_bars(recorded)
    emulator.add_bars(_minute_bars(DAY1, 50, symbol="QQQ"))
    got = _source(emulator, page_limit=200).minute_bars("SPY", DAY1, DAY2)
    assert got == recorded
    assert len(emulator.requests) == 7  # ceil(1350 / 200)
    first = emulator.requests[0]
    assert first.startswith("/v2/aggs/ticker/SPY/range/1/minute/2024-03-26/2024-03-27?")
    assert "adjusted=false" in first and "sort=asc" in first and "limit=200" in first
    assert all("cursor=" in r for r in emulator.requests[1:])


def test_dates_are_whole_new_york_days_and_instants_are_exact(emulator: MassiveEmulator) -> None:
    recorded = _minute_bars(DAY1, 100) + _minute_bars(DAY2, 100)
    emulator.add_bars(recorded)
    source = _source(emulator)
    assert source.minute_bars("SPY", DAY2, DAY2) == recorded[100:]
    lo, hi = recorded[10].ts, recorded[20].ts
    assert source.minute_bars("SPY", lo, hi) == recorded[10:20]  # [lo, hi), as the port reads
    lo_ms, hi_ms = int(lo.timestamp() * 1000), int(hi.timestamp() * 1000)
    assert f"/minute/{lo_ms}/{hi_ms - 1}?" in emulator.requests[-1]
    asked = len(emulator.requests)
    assert source.minute_bars("SPY", lo, lo) == []  # an empty range asks nothing
    assert len(emulator.requests) == asked
    assert source.minute_bars("SPY", date(2024, 3, 28), date(2024, 3, 29)) == []
    with pytest.raises(DataError, match="naive datetime"):
        source.minute_bars("SPY", datetime(2024, 3, 26), hi)


def test_shared_spy_day_round_trips(emulator: MassiveEmulator, shared_data: Path) -> None:
    loaded = load_bars(shared_data / "dawsh2_ADMF-PC" / "SPY_1m.parquet", rth_only=False)
    day = date(2025, 3, 26)  # a day with extended hours in the file
    recorded = [b for b in loaded.only() if b.ts.date() in (day, day + timedelta(days=1))]
    emulator.add_bars(recorded)
    got = _source(emulator, page_limit=5000).minute_bars("SPY", day, day)
    assert got and got == [b for b in recorded if b.ts.astimezone(NEW_YORK).date() == day]


def test_vix_daily_from_index_aggregates(emulator: MassiveEmulator, shared_data: Path) -> None:
    cboe = load_vix_daily(
        shared_data / "noodles-rice_vix_dashboard" / "VIX_History_to_2025-04-30.csv"
    )
    days = [d for d in cboe if d >= date(2025, 1, 1)]
    aggs = []
    for d in days:
        start_ny = datetime(d.year, d.month, d.day, tzinfo=NEW_YORK)
        c = cboe[d]
        aggs.append({"t": int(start_ny.timestamp() * 1000), "o": c, "h": c, "l": c, "c": c})
    emulator.add_aggs("I:VIX", aggs, timespan="day")
    got = _source(emulator, page_limit=30).vix_daily(days[0], days[-1])
    assert got == {d: cboe[d] for d in days}
    assert "/v2/aggs/ticker/I:VIX/range/1/day/" in emulator.requests[0]


def test_wrong_key_is_a_data_error(emulator: MassiveEmulator) -> None:
    emulator.add_bars(_minute_bars(DAY1, 10))
    source = MassiveMarketData("not-the-key", base_url=emulator.base_url)
    with pytest.raises(DataError, match="the server refused: Unknown API Key"):
        source.minute_bars("SPY", DAY1, DAY1)
    with pytest.raises(DataError, match="no Massive API key"):
        MassiveMarketData("", base_url=emulator.base_url)


@pytest.mark.faults
def test_throttling_is_retried_by_the_client(emulator: MassiveEmulator) -> None:
    recorded = _minute_bars(DAY1, 30)
    emulator.add_bars(recorded)
    emulator.inject(429, {"status": "ERROR", "error": "slow down"}, times=2)
    assert _source(emulator, retries=3).minute_bars("SPY", DAY1, DAY1) == recorded
    assert len(emulator.requests) == 3


@pytest.mark.faults
@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, {"status": "ERROR"}, "failed after retries: too many 500 error responses"),
        (200, b"<html>gateway</html>", "the server's answer is not JSON"),
        (200, b"[1, 2]", "the server's answer is a list, not an object"),
        (200, {"status": "ERROR", "error": "plan too small"}, "status ERROR: plan too small"),
        (200, {"status": "OK", "results": {"t": 1}}, "page 1: 'results' is not a list"),
        (200, {"status": "OK", "results": [{"t": 1711440000000, "o": 1, "h": 2, "l": 1}]},
         "page 1, result 0: missing field\\(s\\) c"),
        (200, {"status": "OK", "results": [{"t": "soon", "o": 1, "h": 2, "l": 1, "c": 1}]},
         "field 't' is not epoch milliseconds"),
        (200, {"status": "OK", "results": [{"t": 1711440000000, "o": 1, "h": 1, "l": 2, "c": 1}]},
         "high \\(1.0\\) is below low \\(2.0\\)"),
        (404, {"status": "NOT_FOUND", "message": "no such ticker"}, "refused: no such ticker"),
    ],
)  # fmt: skip
def test_bad_answers_become_data_errors(
    emulator: MassiveEmulator, status: int, body: bytes | dict[str, object], message: str
) -> None:
    emulator.inject(status, body, times=3)
    with pytest.raises(DataError, match=message):
        _source(emulator, retries=1).minute_bars("SPY", DAY1, DAY1)


@pytest.mark.faults
def test_a_next_url_that_repeats_itself_is_a_loop(emulator: MassiveEmulator) -> None:
    page = {
        "status": "OK",
        "results": [{"t": 1711440000000, "o": 1, "h": 2, "l": 1, "c": 1.5, "v": 3}],
        "next_url": f"{emulator.base_url}/v2/aggs/ticker/SPY/range/1/minute/2024-03-26/"
        "2024-03-26?cursor=abc",
    }
    emulator.inject(200, page, times=3)
    with pytest.raises(DataError, match="next_url repeats itself"):
        _source(emulator).minute_bars("SPY", DAY1, DAY1)


@pytest.mark.faults
def test_a_server_that_never_answers_times_out(emulator: MassiveEmulator) -> None:
    emulator.stall(times=5)
    source = MassiveMarketData(KEY, base_url=emulator.base_url, retries=0, timeout=0.3)
    with pytest.raises(DataError, match=r"failed after retries: .*[Rr]ead timed out"):
        source.minute_bars("SPY", DAY1, DAY1)


@pytest.mark.faults
def test_unreachable_server_is_a_data_error() -> None:
    with MassiveEmulator(api_key=KEY) as emu:
        base = emu.base_url
    source = MassiveMarketData(KEY, base_url=base, retries=0, timeout=2)
    with pytest.raises(DataError, match=f"{base} failed"):
        source.minute_bars("SPY", DAY1, DAY1)


def test_unsupported_spans_are_refused_before_any_request(emulator: MassiveEmulator) -> None:
    source = _source(emulator)
    with pytest.raises(DataError, match="timespan 'week'"):
        source.aggregates("SPY", 1, "week", DAY1, DAY2)
    with pytest.raises(DataError, match="longer than a day"):
        source.aggregates("SPY", 2, "day", DAY1, DAY2)
    with pytest.raises(DataError, match="start 2024-03-27 is after end 2024-03-26"):
        source.minute_bars("SPY", DAY2, DAY1)
    assert emulator.requests == []
