"""The execute function end to end: SQS FIFO events -> Powertools batch + idempotency -> the real
alpaca-py client against the emulator, state on moto server. Exactly one order per signal."""

from __future__ import annotations

import time
from datetime import timedelta

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from maxtrader.domain.models import AuditKind
from maxtrader.domain.safety.state import BreakerName, TicketStatus
from maxtrader.emulators.alpaca import Fault
from maxtrader.trading.signal_message import SignalMessage
from tests.support.alpaca_env import make_broker
from tests.support.execute_harness import ExecuteContext, ExecuteStage, HookedBroker, sqs_record
from tests.support.execution import Crash, broker_answers, message

pytest_plugins = ("tests.support.alpaca_fixtures", "tests.support.execute_fixtures")


@pytest.fixture
def stage(execute_stage: ExecuteStage) -> ExecuteStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return execute_stage


pytestmark = [
    pytest.mark.xdist_group("cdk"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def big_risk(minute: int = 0) -> SignalMessage:
    """A signal sized to 10 shares of SPY at 500 (risk 50 a share, the 500 budget)."""
    return message(minute=-minute, risk=50.0)


def test_one_signal_becomes_one_bracket_order_at_the_emulator(stage: ExecuteStage) -> None:
    msg = big_risk()
    answer = stage.invoke(sqs_record(msg))
    assert answer == {"batchItemFailures": []}
    [(coid, order)] = stage.entry_orders().items()
    assert coid == f"mt-{msg.signal.id}-entry" and order["qty"] == 10
    legs = [o for o in stage.emulator.book.orders.values() if o.parent_id == order["id"]]
    assert sorted(leg.type for leg in legs) == ["limit", "stop"]  # the bracket
    ticket = stage.store().ticket(coid)
    assert ticket is not None and ticket.status is TicketStatus.CONFIRMED
    assert ticket.broker_order_id == order["id"]
    kinds = [r.kind for r in stage.audit()]
    assert AuditKind.VERDICT in kinds and AuditKind.BROKER_RESPONSE in kinds
    [item] = stage.idempotency_items()
    assert item["id"]["S"].startswith("maxtrader-execute-signal#")
    assert item["status"]["S"] == "COMPLETED"


def test_redeliveries_in_one_batch_and_later_give_one_order(stage: ExecuteStage) -> None:
    msg = big_risk()
    answer = stage.invoke(sqs_record(msg), sqs_record(msg, receive_count=2))
    assert answer == {"batchItemFailures": []}
    assert stage.invoke(sqs_record(msg, receive_count=3)) == {"batchItemFailures": []}
    assert len(stage.entry_orders()) == 1
    assert stage.emulator.count("submit_order") == 1  # the replays never reached the broker


def test_the_idempotency_key_is_the_signal_id_not_the_message_body(stage: ExecuteStage) -> None:
    # A signal published again (the signals function re-ran) carries a new decision time and
    # price: the same signal, so Powertools answers from its one record and nothing is sent.
    msg = big_risk()
    again = msg.model_copy(
        update={"decided_at": msg.decided_at + timedelta(seconds=2), "last_price": 501.0}
    )
    assert stage.invoke(sqs_record(msg)) == {"batchItemFailures": []}
    assert stage.invoke(sqs_record(again, receive_count=2)) == {"batchItemFailures": []}
    assert len(stage.idempotency_items()) == 1  # keyed on the body, there would be two
    assert stage.emulator.count("submit_order") == 1 and len(stage.entry_orders()) == 1


def test_a_timeout_after_the_broker_accepted_gives_no_second_order(stage: ExecuteStage) -> None:
    stage.emulator.inject("submit_order", Fault.timeout_after_accept())
    msg = big_risk()
    assert stage.invoke(sqs_record(msg)) == {"batchItemFailures": []}
    assert stage.emulator.count("submit_order") == 1
    assert stage.emulator.count("order_by_client_id") == 1
    [(coid, order)] = stage.entry_orders().items()
    ticket = stage.store().ticket(coid)
    assert ticket is not None and ticket.status is TicketStatus.CONFIRMED
    assert ticket.broker_order_id == order["id"]


def test_a_reused_client_order_id_answered_422_is_resolved_by_lookup(
    stage: ExecuteStage,
) -> None:
    # The first send lands but its answer is lost; the broker's first lookup answers a stale
    # 404; the resend is refused 422; the second lookup finds the order.
    stage.emulator.inject("submit_order", Fault.timeout_after_accept())
    not_found = '{"code": 40410000, "message": "order not found"}'
    stage.emulator.inject("order_by_client_id", Fault.body(404, not_found))
    msg = big_risk()
    assert stage.invoke(sqs_record(msg)) == {"batchItemFailures": []}
    assert stage.emulator.count("submit_order") == 2 and len(stage.entry_orders()) == 1
    [(coid, _)] = stage.entry_orders().items()
    ticket = stage.store().ticket(coid)
    assert ticket is not None and ticket.status is TicketStatus.CONFIRMED  # not released
    [answers] = broker_answers(stage.store())
    assert "DuplicateClientOrderIdError" in [a["answer"] for a in answers]
    # The 422 is not counted: the one error toward the breaker is the lost answer.
    assert len(stage.store().breaker(BreakerName.ERROR_RATE).events) == 1


def test_a_lambda_rerun_after_a_timeout_gives_no_second_order(
    stage: ExecuteStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """powertools-lambda-python #8049: the Lambda dies after the broker accepted; its
    idempotency record stays INPROGRESS; once that expires the signal runs again. The
    reserved ticket and the lookup by client_order_id are the last guard."""
    hooked = HookedBroker(make_broker(stage.emulator))

    def die(_: object) -> None:
        raise Crash  # the Lambda's timeout: nothing after this line runs

    hooked.after_submit = die
    monkeypatch.setattr(stage.handler.factory, "broker", lambda: hooked)
    msg = big_risk()
    context = ExecuteContext(remaining_ms=30_000)
    before_ms = int(time.time() * 1000)  # Powertools dates its record on the wall clock
    with pytest.raises(Crash):
        stage.invoke(sqs_record(msg), context=context)
    after_ms = int(time.time() * 1000) + 1
    [item] = stage.idempotency_items()
    assert item["status"]["S"] == "INPROGRESS"
    # The registered Lambda context dates the record's end: the dead run's remaining time. An
    # unregistered one leaves no in-progress expiry, and the record blocks the signal for an hour.
    expires = int(item["in_progress_expiration"]["N"])
    assert before_ms + context.remaining_ms <= expires <= after_ms + context.remaining_ms
    [(coid, _)] = stage.entry_orders().items()
    ticket = stage.store().ticket(coid)
    assert ticket is not None and ticket.status is TicketStatus.RESERVED

    # Redelivered while the record is still in progress: Powertools refuses, and the batch
    # (all of it failed) fails the invocation: SQS delivers it again later.
    with pytest.raises(BatchProcessingError, match="IdempotencyAlreadyInProgressError"):
        stage.invoke(sqs_record(msg, receive_count=2))
    assert stage.emulator.count("submit_order") == 1

    # The dead Lambda's time is over: the record expires and Powertools runs the signal again.
    boto3.client("dynamodb").update_item(
        TableName=stage.env.idempotency_table,
        Key={"id": item["id"]},
        UpdateExpression="SET in_progress_expiration = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )
    assert stage.invoke(sqs_record(msg, receive_count=3)) == {"batchItemFailures": []}
    assert stage.emulator.count("submit_order") == 1  # the lookup found it: no resend
    assert len(stage.entry_orders()) == 1
    confirmed = stage.store().ticket(coid)
    assert confirmed is not None and confirmed.status is TicketStatus.CONFIRMED


def test_a_malformed_message_fails_its_record_and_only_its_group(stage: ExecuteStage) -> None:
    good = big_risk()
    bad = sqs_record(good)
    bad["body"] = '{"version": 2, "kind": "signal"}'
    bad["attributes"]["MessageGroupId"] = "QQQ"
    answer = stage.invoke(bad, sqs_record(good))
    assert answer == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    assert len(stage.entry_orders()) == 1


def test_five_broker_rejects_trip_the_error_rate_breaker_and_page_once(
    stage: ExecuteStage,
) -> None:
    reject = '{"code": 40310000, "message": "insufficient buying power"}'
    stage.emulator.inject("submit_order", Fault.body(403, reject), times=5)
    signals = [message(minute=-n, risk=50.0, decided_at=stage.clock.now()) for n in range(6)]
    for msg in signals[:5]:
        assert stage.invoke(sqs_record(msg)) == {"batchItemFailures": []}
    breaker = stage.store().breaker(BreakerName.ERROR_RATE)
    assert breaker.paused(stage.clock.now())
    subjects = [m["Subject"] for m in stage.topic.delivered()]
    assert len([s for s in subjects if "error_rate tripped" in s]) == 1  # through SNS, once
    assert stage.invoke(sqs_record(signals[5])) == {"batchItemFailures": []}
    assert stage.emulator.count("submit_order") == 5  # the paused breaker sent nothing more
    assert stage.entry_orders() == {}
