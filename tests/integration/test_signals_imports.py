"""The signals path loads no pandas/numpy, nor alpaca: a fresh interpreter imports the handler,
handles a bars-queue event and a poll (the real massive client against the emulator, on moto),
then lists what it loaded."""

from __future__ import annotations

from datetime import timedelta

from maxtrader.emulators.massive import MassiveEmulator
from maxtrader.ingest import deduplication_id, encode_bar_message
from tests.support.cold_handler import handle_cold
from tests.support.signals_stage import SignalsStage, poll_event, sqs_event, sqs_record
from tests.support.signals_world import DAY, minute, session_bars, session_of

pytest_plugins = ("tests.support.signals_fixtures",)
HEAVY = ("pandas", "numpy", "alpaca", "pyarrow", "exchange_calendars")


def test_a_bars_event_and_a_poll_load_no_pandas_numpy_or_alpaca(
    signals_stage: SignalsStage, massive: MassiveEmulator
) -> None:
    session = session_of(DAY)
    massive.add_bars(session_bars("SPY", DAY - timedelta(days=1)) + session_bars("SPY", DAY))
    massive.add_bars(session_bars("QQQ", DAY - timedelta(days=1)) + session_bars("QQQ", DAY))
    bar = minute("SPY", DAY, 2)
    arn = "arn:aws:sqs:us-east-1:123456789012:b.fifo"
    record = sqs_record(encode_bar_message(bar), group="SPY", dedup=deduplication_id(bar),
                        queue_arn=arn)  # fmt: skip
    now = session.open + timedelta(minutes=6)
    result = handle_cold(
        "signals", [sqs_event([record]), poll_event(now)], now, watch=(*HEAVY, "boto3", "massive")
    )
    bars_answer, poll_answer = result["answers"]
    assert bars_answer == {"batchItemFailures": []}
    assert poll_answer["stepped"] == 2 + 5  # SPY 3..4 after the pushed 0..2; QQQ 0..4
    assert result["loaded"] == ["boto3", "massive"]  # the watch list works; nothing heavy
