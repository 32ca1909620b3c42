"""A bars-queue batch's records share one session read (signals/batch_reads.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import pytest

from maxtrader.adapters.memory_session_store import InMemorySessionStore
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.ports import SessionSnapshot
from maxtrader.ingest import encode_bar_message
from maxtrader.signals.batch_reads import BatchReads
from tests.support.signals_world import CALENDAR, DAY, minute, session_of

TRADED = frozenset({"SPY", "QQQ"})


class Reads(InMemorySessionStore):
    """The memory store, listing each read; reads holding ``unreadable`` fail."""

    def __init__(self, unreadable: str = "") -> None:
        super().__init__()
        self.unreadable = unreadable
        self.reads: list[list[str]] = []

    def read_session(self, day: date, symbols: Iterable[str]) -> SessionSnapshot:
        wanted = sorted(symbols)
        self.reads.append(wanted)
        if self.unreadable in wanted:
            raise StateUnavailableError(f"item STRATEGIES/{self.unreadable}: bad shape")
        return super().read_session(day, wanted)


def records(*bodies: Any) -> list[dict[str, Any]]:
    return [{"body": b} for b in bodies]


def body(symbol: str, i: int, day: date = DAY) -> str:
    return encode_bar_message(minute(symbol, day, i))


def test_the_plan_holds_the_traded_symbols_of_each_session_day_of_the_batch() -> None:
    previous = DAY - timedelta(days=1)
    premarket = minute("SPY", DAY, -30)  # 09:00 New York: no session then
    batch = records(body("SPY", 0), body("QQQ", 0), body("SPY", 1), body("QQQ", 5, previous),
                    body("IWM", 0), encode_bar_message(premarket), "not json", 7, None)  # fmt: skip
    store = Reads()
    reads = BatchReads.planned(store, CALENDAR, TRADED, batch)
    reads.read(DAY, ["SPY"])
    reads.read(previous, ["QQQ"])
    assert store.reads == [["QQQ", "SPY"], ["QQQ"]]  # IWM is not traded; no session at 09:00


@pytest.mark.parametrize("batch", [None, {"Records": 1}, [1, "x", {"nobody": 1}]])
def test_a_batch_of_another_shape_plans_nothing(batch: object) -> None:
    store = Reads()
    BatchReads.planned(store, CALENDAR, TRADED, batch).read(DAY, ["SPY"])
    assert store.reads == [["SPY"]]  # a read of its own


def test_each_symbol_s_first_read_is_the_shared_one_its_next_reads_its_own() -> None:
    store = Reads()
    reads = BatchReads.planned(store, CALENDAR, TRADED, records(body("SPY", 0), body("QQQ", 0)))
    first = reads.read(DAY, ["SPY"])
    assert reads.read(DAY, ["QQQ"]) is first  # the same read served both
    reads.read(DAY, ["SPY"])  # SPY again: its states moved with its first record
    reads.read(DAY, ["IWM"])  # never planned
    assert store.reads == [["QQQ", "SPY"], ["SPY"], ["IWM"]]
    assert first.symbols == {"SPY", "QQQ"} and first.day == session_of(DAY).day


def test_a_failed_shared_read_fails_no_record_each_reads_its_own() -> None:
    store = Reads(unreadable="QQQ")
    reads = BatchReads.planned(store, CALENDAR, TRADED, records(body("SPY", 0), body("QQQ", 0)))
    assert reads.read(DAY, ["SPY"]).symbols == {"SPY"}  # served, though QQQ is unreadable
    with pytest.raises(StateUnavailableError, match="STRATEGIES/QQQ"):
        reads.read(DAY, ["QQQ"])
    assert store.reads == [["QQQ", "SPY"], ["SPY"], ["QQQ"]]
