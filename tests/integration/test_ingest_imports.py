"""The ingest path loads no pandas/numpy (nor the broker or vendor SDKs): a fresh interpreter
imports the handler and handles one real request against moto, then lists what it loaded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from maxtrader.runtime import factory
from tests.support.ingest_events import (
    OPEN,
    IngestStage,
    body_of,
    handle_in_fresh_interpreter,
    minute_bar,
    signed_event,
)

HEAVY = ("pandas", "numpy", "alpaca", "massive", "exchange_calendars", "pyarrow")


def test_handling_a_request_loads_no_pandas_numpy_or_sdks(
    aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory.clear()
    stage = IngestStage(monkeypatch)  # the environment the child inherits
    now = OPEN + timedelta(minutes=5)
    statuses, loaded = handle_in_fresh_interpreter(
        [signed_event(body_of(minute_bar("SPY", 1)), now)], now, watch=(*HEAVY, "boto3")
    )
    assert statuses == [200]
    assert len(stage.stored_bars()) == 1
    assert loaded == ["boto3"]  # the watch list works: boto3 is loaded, the heavy ones are not
