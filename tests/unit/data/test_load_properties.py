"""Invariants of load_bars on generated files: order, uniqueness and regular hours."""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.data import load_bars
from maxtrader.domain.clock import NEW_YORK

# 2024-06-03 .. 2024-06-09: five full sessions (no holiday, no early close) and a weekend.
FIRST_DAY = datetime(2024, 6, 3, 4, 0, tzinfo=NEW_YORK)
MINUTES = st.integers(0, 6 * 24 * 60 + 16 * 60 - 1)


def _in_regular_hours(ts: datetime) -> bool:
    local = ts.astimezone(NEW_YORK)
    return local.weekday() < 5 and time(9, 30) <= local.time() < time(16, 0)


@pytest.mark.property
@settings(max_examples=40, deadline=None)
@given(
    offsets=st.lists(MINUTES, min_size=1, max_size=60, unique=True),
    repeats=st.lists(st.integers(0, 59), max_size=20),
    rnd=st.randoms(use_true_random=False),
    crlf=st.booleans(),
)
def test_sorted_unique_and_regular_hours_whatever_the_file_order(
    offsets: list[int], repeats: list[int], rnd: random.Random, crlf: bool
) -> None:
    stamps = [FIRST_DAY + timedelta(minutes=m) for m in offsets]
    rows = [f"{ts.astimezone(UTC).isoformat()},10,11,9,10.5,{i}" for i, ts in enumerate(stamps)]
    duplicated = rows + [rows[i % len(rows)] for i in repeats]
    rnd.shuffle(duplicated)
    newline = "\r\n" if crlf else "\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "SPY_1m.csv"
        path.write_text("timestamp,open,high,low,close,volume" + newline + newline.join(duplicated))
        loaded = load_bars(path, minutes=1)

    expected = sorted(ts.astimezone(UTC) for ts in stamps if _in_regular_hours(ts))
    got = loaded.bars.get("SPY", [])
    assert [b.ts for b in got] == expected
    assert loaded.report.duplicates_dropped == len(repeats)
    assert loaded.report.outside_rth_dropped == len(stamps) - len(expected)
    # the volume column carried each row's identity: every bar is its own row's
    by_ts = {ts.astimezone(UTC): i for i, ts in enumerate(stamps)}
    assert all(b.volume == by_ts[b.ts] for b in got)
