"""SQS records shaped as Lambda delivers them, and batch-failure answers read as Lambda does."""

from __future__ import annotations

import hashlib

from maxtrader.simulate.sqs_delivery import failed_ids, sqs_event

ARN = "arn:aws:sqs:us-east-1:123456789012:maxtrader-staging-bars.fifo"


def _message(n: int) -> dict[str, object]:
    return {"MessageId": f"m{n}", "ReceiptHandle": f"r{n}", "Body": f'{{"n": {n}}}',
            "Attributes": {"MessageGroupId": "SPY", "MessageDeduplicationId": f"d{n}",
                           "ApproximateReceiveCount": 1, "SequenceNumber": str(n)}}  # fmt: skip


def test_a_record_has_every_field_lambda_sets() -> None:
    event = sqs_event([_message(1), _message(2)], ARN, "us-east-1")
    assert [r["messageId"] for r in event["Records"]] == ["m1", "m2"]
    record = event["Records"][0]
    assert set(record) == {"messageId", "receiptHandle", "body", "attributes", "messageAttributes",
                           "md5OfBody", "eventSource", "eventSourceARN", "awsRegion"}  # fmt: skip
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == ARN
    assert record["attributes"]["MessageGroupId"] == "SPY"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"  # strings, as Lambda sends
    assert record["md5OfBody"] == hashlib.md5(b'{"n": 1}').hexdigest()  # noqa: S324


def test_the_powertools_event_model_parses_the_event() -> None:
    from aws_lambda_powertools.utilities.data_classes import SQSEvent

    parsed = SQSEvent(sqs_event([_message(3)], ARN, "us-east-1"))
    record = next(iter(parsed.records))
    assert record.body == '{"n": 3}' and record.attributes.message_group_id == "SPY"


def test_batch_item_failures_name_only_known_records() -> None:
    records = sqs_event([_message(1), _message(2)], ARN, "us-east-1")["Records"]
    answer = {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "other"}]}
    assert failed_ids(answer, records) == {"m2"}
    assert failed_ids({"batchItemFailures": []}, records) == set()
    assert failed_ids(None, records) == set()
