"""The stream emulator speaks the vendor's wire format: checked frame by frame with a plain
``websockets`` client, and end to end with the real ``massive.WebSocketClient`` parsing it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import massive
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

from maxtrader.data.push import parse_minute_aggregates
from maxtrader.domain.models import Bar
from maxtrader.emulators.massive_stream import MassiveStreamEmulator, StreamStats

KEY = "stream-key"
WAIT = 5.0
OPEN = datetime(2024, 6, 3, 13, 30, tzinfo=UTC)


def _bar(symbol: str, minute: int, *, volume: float = 100, vwap: float | None = None) -> Bar:
    price = 100.0 + minute
    return Bar(symbol=symbol, ts=OPEN + timedelta(minutes=minute), open=price, high=price + 1,
               low=price - 1, close=price + 0.5, volume=volume, vwap=vwap)  # fmt: skip


@pytest.fixture
def emulator() -> Iterator[MassiveStreamEmulator]:
    with MassiveStreamEmulator(api_key=KEY) as emu:
        yield emu


async def _recv(ws: ClientConnection) -> list[dict[str, Any]]:
    frame = await asyncio.wait_for(ws.recv(), WAIT)
    events = json.loads(frame)
    assert isinstance(events, list)  # every frame is a JSON array
    return events


async def _send(ws: ClientConnection, action: str, params: str) -> list[dict[str, Any]]:
    await ws.send(json.dumps({"action": action, "params": params}))
    return await _recv(ws)


def _status(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    assert all(e["ev"] == "status" for e in events)
    return [(e["status"], e["message"]) for e in events]


def test_the_handshake_frame_by_frame(emulator: MassiveStreamEmulator) -> None:
    async def session() -> None:
        async with connect(f"ws://{emulator.feed}/stocks") as ws:
            assert _status(await _recv(ws)) == [("connected", "Connected Successfully")]
            assert _status(await _send(ws, "subscribe", "AM.SPY")) == [("error", "not authorized")]
            assert _status(await _send(ws, "auth", "nope")) == [
                ("auth_failed", "authentication failed")
            ]
            assert _status(await _send(ws, "auth", KEY)) == [("auth_success", "authenticated")]
            assert _status(await _send(ws, "subscribe", "AM.SPY, AM.QQQ")) == [
                ("success", "subscribed to: AM.SPY"),
                ("success", "subscribed to: AM.QQQ"),
            ]
            assert _status(await _send(ws, "unsubscribe", "AM.QQQ")) == [
                ("success", "unsubscribed from: AM.QQQ")
            ]
            assert _status(await _send(ws, "dance", "")) == [("error", "unknown action 'dance'")]
            await ws.send("{not json")
            assert _status(await _recv(ws)) == [("error", "Invalid message format")]

    asyncio.run(session())
    stats = emulator.stats()
    assert (stats.connections, stats.auth_failures, stats.auth_successes) == (1, 1, 1)


def test_an_unknown_market_is_refused(emulator: MassiveStreamEmulator) -> None:
    async def session() -> None:
        async with connect(f"ws://{emulator.feed}/bonds") as ws:
            await ws.recv()

    with pytest.raises(ConnectionClosed) as closed:
        asyncio.run(session())
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_am_events_carry_the_day_totals_and_pass_the_push_model(
    emulator: MassiveStreamEmulator,
) -> None:
    bars = [_bar("SPY", 0, volume=100, vwap=100.2), _bar("SPY", 1, volume=300, vwap=101.4)]

    async def session() -> list[dict[str, Any]]:
        async with connect(f"ws://{emulator.feed}/stocks") as ws:
            await _recv(ws)
            await _send(ws, "auth", KEY)
            await _send(ws, "subscribe", "AM.*")
            await asyncio.to_thread(emulator.publish, bars, one_frame=True)
            return await _recv(ws)

    events = asyncio.run(session())
    parsed = parse_minute_aggregates(events)
    assert [a.to_bar() for a in parsed] == bars
    second = events[1]
    assert second["av"] == 400  # the day's volume so far
    assert second["op"] == bars[0].open  # the day's open
    assert second["a"] == pytest.approx((100.2 * 100 + 101.4 * 300) / 400)  # the day's VWAP
    assert second["e"] - second["s"] == 60_000


def test_unwanted_events_are_held_and_released_on_subscribe(
    emulator: MassiveStreamEmulator,
) -> None:
    assert emulator.publish([_bar("SPY", 0), _bar("QQQ", 0), _bar("SPY", 1)]) == 0
    assert emulator.stats().held == 3

    async def session() -> list[dict[str, Any]]:
        async with connect(f"ws://{emulator.feed}/stocks") as ws:
            await _recv(ws)
            await _send(ws, "auth", KEY)
            assert _status(await _send(ws, "subscribe", "AM.SPY"))[0][0] == "success"
            return await _recv(ws)  # the backlog, in order, right after the acknowledgement

    burst = asyncio.run(session())
    assert [(e["sym"], e["s"]) for e in burst] == [
        ("SPY", int(_bar("SPY", 0).ts.timestamp() * 1000)),
        ("SPY", int(_bar("SPY", 1).ts.timestamp() * 1000)),
    ]
    assert emulator.stats().held == 1  # QQQ still waits for a subscriber


def _subscribed_session(number: int) -> Callable[[StreamStats], bool]:
    return lambda s: s.auth_successes >= number and "AM.SPY" in s.live_topics


def _at_least(items: list[Any], count: int) -> Callable[[], bool]:
    return lambda: len(items) >= count


def test_the_real_client_parses_the_stream_and_sees_drop_and_clean_close(
    emulator: MassiveStreamEmulator,
) -> None:
    received: list[Any] = []
    outcome: list[str] = []
    arrived = threading.Condition()

    def run_client() -> None:
        client = massive.WebSocketClient(api_key=KEY, feed=emulator.feed, market="stocks",
                                         secure=False, subscriptions=["AM.SPY"],
                                         max_reconnects=0)  # fmt: skip

        async def handle(messages: list[Any]) -> None:
            with arrived:
                received.extend(messages)
                arrived.notify_all()

        try:
            asyncio.run(client.connect(handle))
            outcome.append("returned")
        except ConnectionClosedError:
            outcome.append("dropped")

    for end in ("drop", "close"):
        worker = threading.Thread(target=run_client)
        worker.start()
        sessions = emulator.stats().auth_successes + 1
        assert emulator.wait_until(_subscribed_session(sessions), WAIT)
        count = len(received) + 1
        emulator.publish([_bar("SPY", count - 1)])
        with arrived:  # in the client's hands before the end (an abort discards unread data)
            assert arrived.wait_for(_at_least(received, count), WAIT)
        getattr(emulator, end)()
        worker.join(WAIT)
        assert not worker.is_alive()
    assert outcome == ["dropped", "returned"]  # 1006 raises (no retries left); 1000 returns
    assert [m.symbol for m in received] == ["SPY", "SPY"]
    assert received[0].close == _bar("SPY", 0).close
    assert received[0].start_timestamp == int(OPEN.timestamp() * 1000)


def test_events_go_to_every_subscribed_connection(emulator: MassiveStreamEmulator) -> None:
    async def session() -> list[list[dict[str, Any]]]:
        async with (
            connect(f"ws://{emulator.feed}/stocks") as one,
            connect(f"ws://{emulator.feed}/stocks") as two,
        ):
            for ws, topic in ((one, "AM.SPY"), (two, "AM.*")):
                await _recv(ws)
                await _send(ws, "auth", KEY)
                await _send(ws, "subscribe", topic)
            sent = await asyncio.to_thread(emulator.publish, [_bar("SPY", 0), _bar("QQQ", 0)])
            assert sent == 2
            return [await _recv(one), await _recv(two), await _recv(two)]

    first, second, third = asyncio.run(session())
    assert [e["sym"] for e in first + second + third] == ["SPY", "SPY", "QQQ"]
    assert emulator.stats().held == 0


def test_not_started_is_a_clear_error() -> None:
    emu = MassiveStreamEmulator()
    with pytest.raises(RuntimeError, match="not started"):
        _ = emu.feed
    with pytest.raises(RuntimeError, match="not started"):
        emu.publish([_bar("SPY", 0)])
    emu.stop()  # stopping what never started is harmless


def test_stopping_closes_the_clients(emulator: MassiveStreamEmulator) -> None:
    async def session() -> None:
        async with connect(f"ws://{emulator.feed}/stocks") as ws:
            await _recv(ws)
            await asyncio.to_thread(emulator.stop)
            await asyncio.wait_for(ws.recv(), WAIT)

    with pytest.raises(ConnectionClosed) as closed:
        asyncio.run(session())
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


def test_a_stopped_emulator_refuses_connections() -> None:
    with MassiveStreamEmulator() as emu:
        feed = emu.feed

    async def session() -> None:
        async with connect(f"ws://{feed}/stocks", open_timeout=WAIT):
            pass

    with pytest.raises((OSError, InvalidStatus)):
        asyncio.run(session())
